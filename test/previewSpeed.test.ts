// `pulumi preview` runs the program precompiled (fast) and never stale, while type-checking stays in CI.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import * as yaml from "js-yaml";

const root = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const tsconfig = (file: string) => ts.parseConfigFileTextToJson(file, read(file)).config;

describe("preview speed", () => {
    it("runs program.js, which loads the program precompiled to bin/ by npm ci (no TypeScript compile on a preview)", () => {
        const project = yaml.load(read("Pulumi.yaml")) as any;
        assert.strictEqual(project.main, "program.js");
        assert.strictEqual(project.runtime.options.typescript, false, "the language host must not register ts-node");
        const program = tsconfig("tsconfig.pulumi.json");
        assert.strictEqual(program.compilerOptions.outDir, "bin");
        assert.deepStrictEqual(program.files, ["index.ts"]);
        assert.strictEqual(program.compilerOptions.noCheck, true);
        const scripts = JSON.parse(read("package.json")).scripts;
        assert.match(scripts["build:program"], /tsc -p tsconfig\.pulumi\.json/);
        assert.match(scripts.prepare, /npm run build:program/, "npm ci builds it");
    });

    describe("program.js", () => {
        let dir: string;
        // as the Node.js harness runs it: source-map-support installed first
        const load = () =>
            spawnSync(process.execPath, ["-e", "require('source-map-support/register'); console.log(require('./program.js')); console.error(`stacks: ${typeof Error.prepareStackTrace}`)"], {
                cwd: dir,
                encoding: "utf8",
            });
        const touch = (file: string, when: Date) => fs.utimesSync(path.join(dir, file), when, when);
        beforeEach(() => {
            // a project of the same shape whose "program" is a string, so no engine is needed
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "program-js-"));
            fs.mkdirSync(path.join(dir, "tools"));
            for (const f of ["program.js", "tools/programBuild.js", "tools/deferPulumiExtras.js", "tsconfig.json", "tsconfig.pulumi.json"]) fs.copyFileSync(path.join(root, f), path.join(dir, f));
            fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
            fs.mkdirSync(path.join(dir, "components"));
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(path.join(dir, "components", "part.ts"), 'export const from: string = "index.ts, compiled in memory";\n');
            fs.writeFileSync(path.join(dir, "index.ts"), 'import { from } from "./components/part";\nexport = from;\n');
            fs.writeFileSync(path.join(dir, "bin", "index.js"), 'module.exports = "bin/index.js";\n');
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("loads bin/index.js when it is newer than every source, silently", () => {
            touch("bin/index.js", new Date(Date.now() + 60_000));
            const r = load();
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout.trim(), "bin/index.js");
            // bin/ has no source maps: V8 formats stack traces, not source-map-support
            assert.strictEqual(r.stderr, "stacks: undefined\n");
        });

        it("compiles index.ts in memory, and says so, when a component changed after the build", () => {
            touch("bin/index.js", new Date(Date.now() - 60_000));
            const r = load();
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout.trim(), "index.ts, compiled in memory");
            assert.match(r.stderr, /older than the TypeScript sources.*npm run build:program/);
        });

        it("compiles in memory when there is no build at all", () => {
            fs.rmSync(path.join(dir, "bin"), { recursive: true });
            const r = load();
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout.trim(), "index.ts, compiled in memory");
        });
    });

    describe("the SDK parts a deployment never calls (tools/deferPulumiExtras.js)", () => {
        // Runs in a fresh Node.js process with the program's dependencies: loads the SDKs the program
        // loads, records which heavy modules are in memory, then uses each deferred part for real.
        const probe = `
            const report = process.argv[1] === "defer" ? require(${JSON.stringify(path.join(root, "tools", "deferPulumiExtras.js"))}).install() : undefined;
            const tracing = require("@pulumi/pulumi/cmd/run/tracing"); // as the harness loads it, first
            const pulumi = require("@pulumi/pulumi");
            require("@pulumi/kubernetes");
            require("@pulumi/random");
            const inMemory = (re) => Object.keys(require.cache).some((file) => re.test(file.split(require("path").sep).join("/")));
            const atStart = {
                typescript: inMemory(/node_modules\\/typescript\\//),
                arborist: inMemory(/node_modules\\/@npmcli\\/arborist\\//),
                automation: inMemory(/@pulumi\\/pulumi\\/automation\\//),
                openTelemetrySdk: inMemory(/@opentelemetry\\/sdk-trace-node\\//),
            };
            (async () => {
                const automation = Object.keys(pulumi.automation).sort();
                const closure = await pulumi.runtime.serializeFunction(() => 6 * 7);
                const codePaths = await pulumi.runtime.computeCodePaths();
                // --tracing: spans go to a port nothing listens on (loopback); the exporter drops them
                tracing.start("http://127.0.0.1:9/api/v2/spans");
                tracing.newSpan("probe").end();
                const otel = require("@opentelemetry/api");
                const tracerProvider = otel.trace.getTracerProvider().getDelegate().constructor.name;
                tracing.stop();
                console.log(JSON.stringify({
                    atStart,
                    deferred: report && report.deferred.slice().sort(),
                    loadedOnUse: report && report.loaded.slice().sort(),
                    automation,
                    closure: closure.text,
                    tracerProvider,
                    codePaths: [...codePaths.keys()].map((p) => require("path").relative(process.cwd(), p)).sort(),
                }));
            })().catch((e) => { console.error(e); process.exit(1); });`;
        let dir: string;
        const runProbe = (mode: "defer" | "eager") => {
            const r = spawnSync(process.execPath, ["-e", probe, mode], { cwd: dir, encoding: "utf8" });
            assert.strictEqual(r.status, 0, r.stderr);
            return JSON.parse(r.stdout);
        };
        let deferred: any;
        let eager: any;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "defer-sdk-"));
            fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "probe", dependencies: { "js-yaml": "*" } }));
            fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
            deferred = runProbe("defer");
            eager = runProbe("eager");
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("is preloaded before the harness (Pulumi.yaml's nodeargs), and program.js installs it too", () => {
            const project = yaml.load(read("Pulumi.yaml")) as any;
            assert.strictEqual(project.runtime.options.nodeargs, "--require ./tools/preload.js");
            assert.match(read("tools/preload.js"), /require\("\.\/deferPulumiExtras"\)\.install\(\);/);
            const program = read("program.js");
            const install = program.indexOf('require("./tools/deferPulumiExtras").install()');
            assert.ok(install > 0 && program.indexOf("require(", 0) === install, "the first require of program.js");
        });

        it("keeps the TypeScript compiler, npm's Arborist, the Automation API and the OpenTelemetry SDK out of memory until used", () => {
            const all = { typescript: true, arborist: true, automation: true, openTelemetrySdk: true };
            assert.deepStrictEqual(eager.atStart, all, "this SDK loads them eagerly");
            assert.deepStrictEqual(deferred.atStart, { typescript: false, arborist: false, automation: false, openTelemetrySdk: false });
            const openTelemetry = ["exporter-zipkin", "instrumentation", "instrumentation-grpc", "resources", "sdk-trace-base", "sdk-trace-node"].map((m) => `@opentelemetry/${m}`);
            assert.deepStrictEqual(deferred.deferred, ["../../typescript-shim", "./automation", "@npmcli/arborist", ...openTelemetry, "normalize-package-data"]);
        });

        it("loads each on first use, with the same results as an eager load", () => {
            assert.deepStrictEqual(deferred.loadedOnUse, deferred.deferred);
            assert.ok(deferred.automation.includes("LocalWorkspace"));
            assert.deepStrictEqual(deferred.automation, eager.automation);
            assert.match(deferred.closure, /6 \* 7/);
            assert.strictEqual(deferred.closure, eager.closure);
            assert.ok(deferred.codePaths.includes(path.join("node_modules", "js-yaml")), deferred.codePaths.join(", "));
            assert.deepStrictEqual(deferred.codePaths, eager.codePaths);
            assert.strictEqual(deferred.tracerProvider, "NodeTracerProvider");
            assert.strictEqual(deferred.tracerProvider, eager.tracerProvider);
        });
    });

    it("keeps type-checking in CI: tsconfig.json checks, and .ci/run runs it before the tests", () => {
        assert.strictEqual(tsconfig("tsconfig.json").compilerOptions.noCheck, undefined);
        const ci = read(".ci/run");
        assert.ok(ci.indexOf("npx tsc --noEmit -p .") >= 0 && ci.indexOf("npx tsc --noEmit -p .") < ci.indexOf("npm test"));
    });
});
