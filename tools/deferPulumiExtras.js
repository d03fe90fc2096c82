// Loading @pulumi/pulumi also loads, eagerly, three things a deployment of this program never calls:
// the TypeScript compiler (for serializing JavaScript closures), npm's Arborist (for finding a
// closure's package dependencies) and the Automation API. Together they are most of the SDK's start-up
// cost (`npm run bench`, row (d)), paid on every `pulumi preview`. install() makes those three
// requires return a stand-in that loads the real module on first use, so behaviour is unchanged and
// only the cost moves to the (rare) program that does use them. When a future SDK loads them from
// elsewhere, nothing matches and everything loads as before: slower, never wrong.
// Plain JavaScript: program.js installs it before anything else is loaded.
"use strict";
const Module = require("module");
const path = require("path");

/** [file inside @pulumi/pulumi that requires it, the request] */
const DEFERRED = [
    ["index.js", "./automation"],
    [path.join("runtime", "closure", "parseFunction.js"), "../../typescript-shim"],
    [path.join("runtime", "closure", "codePaths.js"), "@npmcli/arborist"],
    [path.join("runtime", "closure", "codePaths.js"), "normalize-package-data"],
];
const SDK_DIR = `${path.sep}node_modules${path.sep}@pulumi${path.sep}pulumi${path.sep}`;

let installed = false;

/** Which modules were deferred and which of them a later use has loaded since. */
const report = { deferred: [], loaded: [] };

function isDeferred(request, parent) {
    const file = parent && parent.filename;
    if (!file) return false;
    const at = file.lastIndexOf(SDK_DIR);
    if (at < 0) return false;
    const inside = file.slice(at + SDK_DIR.length);
    return DEFERRED.some(([from, req]) => from === inside && req === request);
}

/**
 * A stand-in for a module that loads it at the first property access. It answers `__esModule`
 * without loading, so TypeScript's import helpers hand the stand-in itself to the SDK instead of
 * copying the module's properties (which would load it); `default` then means what those helpers
 * would have made it mean.
 */
function deferredModule(name, load) {
    let real;
    const target = () => {
        if (real === undefined) {
            real = load();
            report.loaded.push(name);
        }
        return real;
    };
    return new Proxy(Object.create(null), {
        get(_, key) {
            if (key === "__esModule") return true;
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

/** Installs the deferral; idempotent. Call before @pulumi/pulumi is first required. */
function install() {
    if (installed) return report;
    installed = true;
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
        if (!isDeferred(request, parent)) return load.apply(this, arguments);
        report.deferred.push(request);
        return deferredModule(request, () => load.call(this, request, parent, isMain));
    };
    return report;
}

module.exports = { install };
