// Loading @pulumi/pulumi also loads, eagerly, three things a deployment of this program never calls:
// the TypeScript compiler (for serializing JavaScript closures), npm's Arborist (for finding a
// closure's package dependencies) and the Automation API. Together they are most of the SDK's start-up
// cost (`npm run bench`, row (d)), paid on every `pulumi preview`. The SDK's Node.js harness, which
// runs the program, also loads the OpenTelemetry SDK and exporter, used only when the engine asks for
// tracing (`pulumi --tracing`). install() makes those requires return a stand-in that loads the real
// module on first use, so behaviour is unchanged and only the cost moves to the (rare) run that uses
// them. When a future SDK loads them from elsewhere, nothing matches and everything loads as before:
// slower, never wrong.
// The tracing modules get a stand-in per function or class the harness takes out of them; the tests
// start tracing through them with the SDK this repository pins (test/previewSpeed.test.ts).
// Plain JavaScript: tools/preload.js installs it before the harness loads (Pulumi.yaml's nodeargs, or a
// consumer's through @airflow-pulumi/airflow-kubernetes/preload), and program.js again (a no-op then)
// for a run without the preload.
"use strict";
const Module = require("module");
const path = require("path");

const TRACING = path.join("cmd", "run", "tracing.js");
/**
 * [file inside @pulumi/pulumi that requires it, the request, how the file uses it]: "module" when it
 * keeps the module object, "functions" when it takes functions and classes out of it as it loads.
 */
const DEFERRED = [
    ["index.js", "./automation", "module"],
    [path.join("runtime", "closure", "parseFunction.js"), "../../typescript-shim", "module"],
    [path.join("runtime", "closure", "codePaths.js"), "@npmcli/arborist", "module"],
    [path.join("runtime", "closure", "codePaths.js"), "normalize-package-data", "module"],
    [TRACING, "@opentelemetry/resources", "functions"],
    [TRACING, "@opentelemetry/sdk-trace-base", "functions"],
    [TRACING, "@opentelemetry/exporter-zipkin", "functions"],
    [TRACING, "@opentelemetry/instrumentation-grpc", "functions"],
    [TRACING, "@opentelemetry/sdk-trace-node", "functions"],
    [TRACING, "@opentelemetry/instrumentation", "functions"],
];
const SDK_DIR = `${path.sep}node_modules${path.sep}@pulumi${path.sep}pulumi${path.sep}`;

let installed = false;

/** Which modules were deferred and which of them a later use has loaded since. */
const report = { deferred: [], loaded: [] };

/** How `parent` uses `request` when it is deferred ("module" or "functions"), else undefined. */
function deferral(request, parent) {
    const file = parent && parent.filename;
    if (!file) return undefined;
    const at = file.lastIndexOf(SDK_DIR);
    if (at < 0) return undefined;
    const inside = file.slice(at + SDK_DIR.length);
    const match = DEFERRED.find(([from, req]) => from === inside && req === request);
    return match && match[2];
}

/** Loads the module on the first call, and reports it. */
function lazy(name, load) {
    let real;
    return () => {
        if (real === undefined) {
            real = load();
            report.loaded.push(name);
        }
        return real;
    };
}

/**
 * A stand-in for a module that loads it at the first property access. It answers `__esModule`
 * without loading, so TypeScript's import helpers hand the stand-in itself to the SDK instead of
 * copying the module's properties (which would load it); `default` then means what those helpers
 * would have made it mean. For a module whose functions and classes are taken out of it as its user
 * loads (`const { Exporter } = require(...)`, use "functions"), each property is a stand-in function
 * that loads the module when it is called or constructed.
 */
function deferredModule(name, load, use) {
    const target = lazy(name, load);
    return new Proxy(Object.create(null), {
        get(_, key) {
            if (key === "__esModule") return true;
            if (use === "functions") return deferredFunction(() => target()[key]);
            const mod = target();
            if (key === "default" && !(mod && mod.__esModule)) return mod;
            return mod[key];
        },
        set(_, key, value) {
            target()[key] = value;
            return true;
        },
        has: (_, key) => key in target(),
        ownKeys: () => Reflect.ownKeys(target()),
        getOwnPropertyDescriptor(_, key) {
            const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
            // A proxy may not report a non-configurable property its (empty) target lacks.
            if (descriptor) descriptor.configurable = true;
            return descriptor;
        },
    });
}

/** A function or class that `real()` gives on the first call, construction or property read. */
function deferredFunction(real) {
    return new Proxy(function deferredFunction() {}, {
        apply: (_, self, args) => Reflect.apply(real(), self, args),
        construct: (_, args) => Reflect.construct(real(), args),
        get: (_, k) => real()[k],
    });
}

/** Installs the deferral; idempotent. Call before @pulumi/pulumi is first required. */
function install() {
    if (installed) return report;
    installed = true;
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
        const use = deferral(request, parent);
        if (!use) return load.apply(this, arguments);
        report.deferred.push(request);
        return deferredModule(request, () => load.call(this, request, parent, isMain), use);
    };
    return report;
}

module.exports = { install };
