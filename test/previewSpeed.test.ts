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

        it("compiles in memory when a source in a folder of components/ changed after the build", () => {
            fs.mkdirSync(path.join(dir, "components", "config"));
            fs.writeFileSync(path.join(dir, "components", "config", "rules.ts"), "export const rules: string[] = [];\n");
            for (const file of ["index.ts", "components/part.ts"]) touch(file, new Date(Date.now() - 120_000));
            touch("bin/index.js", new Date(Date.now() - 60_000));
            const r = load();
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout.trim(), "index.ts, compiled in memory");
        });

        it("defers the SDK parts itself, for a run without the preload: the program it loads gets the SDK without the TypeScript compiler", () => {
            fs.writeFileSync(
                path.join(dir, "bin", "index.js"),
                'require("@pulumi/pulumi");\nmodule.exports = Object.keys(require.cache).some((f) => /[\\\\/]node_modules[\\\\/]typescript[\\\\/]/.test(f)) ? "typescript loaded" : "typescript deferred";\n',
            );
            touch("bin/index.js", new Date(Date.now() + 60_000));
            const r = load();
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout.trim(), "typescript deferred");
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
            const files = () => Object.keys(require.cache).map((file) => file.split(require("path").sep).join("/"));
            const inMemory = (re) => files().some((file) => re.test(file));
            const heavy = () => ({
                typescript: inMemory(/node_modules\\/typescript\\//),
                arborist: inMemory(/node_modules\\/@npmcli\\/arborist\\//),
                automation: inMemory(/@pulumi\\/pulumi\\/automation\\//),
                openTelemetrySdk: inMemory(/@opentelemetry\\/sdk-trace-node\\//),
            });
            const atStart = heavy();
            const filesAtStart = files().filter((file) => file.includes("/node_modules/")).sort();
            const bytesAtStart = filesAtStart.reduce((n, file) => n + require("fs").statSync(file).size, 0);
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
                    filesAtStart,
                    bytesAtStart,
                    atEnd: heavy(),
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

        it("is in place before the harness loads the SDK: node started with Pulumi.yaml's nodeargs, as the language host starts it, loads the SDK without the TypeScript compiler", () => {
            const project = yaml.load(read("Pulumi.yaml")) as any;
            const nodeargs = String(project.runtime.options.nodeargs ?? "").split(/\s+/).filter(Boolean);
            // what the harness loads first (its tracing module), then the SDK; the language host starts node in the project directory
            const sdkLoad = 'require("@pulumi/pulumi/cmd/run/tracing"); require("@pulumi/pulumi"); console.log(Object.keys(require.cache).some((f) => /[\\\\/]node_modules[\\\\/]typescript[\\\\/]/.test(f)))';
            const run = (args: string[]) => spawnSync(process.execPath, [...args, "-e", sdkLoad], { cwd: root, encoding: "utf8" });
            const withNodeargs = run(nodeargs);
            assert.strictEqual(withNodeargs.status, 0, withNodeargs.stderr);
            assert.strictEqual(withNodeargs.stdout.trim(), "false", `node ${nodeargs.join(" ")}: the SDK loaded the TypeScript compiler`);
            // the control: without them, this SDK does load it
            assert.strictEqual(run([]).stdout.trim(), "true");
        });

        it("keeps the TypeScript compiler, npm's Arborist, the Automation API and the OpenTelemetry SDK out of memory until used", () => {
            const all = { typescript: true, arborist: true, automation: true, openTelemetrySdk: true };
            assert.deepStrictEqual(eager.atStart, all, "this SDK loads them eagerly");
            assert.deepStrictEqual(deferred.atStart, { typescript: false, arborist: false, automation: false, openTelemetrySdk: false });
            // what a start then reads is less, and nothing an eager start does not read
            assert.deepStrictEqual(
                deferred.filesAtStart.filter((f: string) => !eager.filesAtStart.includes(f)),
                [],
                "the deferral loads dependencies of its own",
            );
            assert.ok(deferred.bytesAtStart < eager.bytesAtStart / 2, `${deferred.bytesAtStart} bytes of modules at start, eagerly ${eager.bytesAtStart}`);
        });

        it("loads each on first use, with the same results as an eager load", () => {
            // each use loaded the real module: what an eager start had in memory is there after use
            assert.deepStrictEqual(deferred.atEnd, eager.atStart);
            assert.deepStrictEqual(deferred.loadedOnUse, deferred.deferred, "a deferred module no use above loads");
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

    describe("type-checking stays in CI", () => {
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-run-"));
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("tsconfig.json, the config the CI's type-check reads, reports a type error in a component", () => {
            fs.copyFileSync(path.join(root, "tsconfig.json"), path.join(dir, "tsconfig.json"));
            fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
            fs.mkdirSync(path.join(dir, "components"));
            fs.writeFileSync(path.join(dir, "index.ts"), 'import { replicas } from "./components/part";\nexport = replicas;\n');
            fs.writeFileSync(path.join(dir, "components", "part.ts"), 'export const replicas: number = "two";\n');
            const r = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "--noEmit", "-p", "."], { cwd: dir, encoding: "utf8" });
            assert.notStrictEqual(r.status, 0, r.stdout);
            assert.match(r.stdout, /components\/part\.ts.*error TS2322/);
        });

        // .ci/run with every tool it calls replaced by a stub that logs its command line (and fails the
        // type-check when asked): what CI runs, in which order, and whether a type error stops it.
        const runCi = (failTypeCheck: boolean, env: NodeJS.ProcessEnv = {}) => {
            fs.mkdirSync(path.join(dir, ".ci"));
            fs.copyFileSync(path.join(root, ".ci", "run"), path.join(dir, ".ci", "run"));
            const stubs = path.join(dir, "stubs");
            fs.mkdirSync(stubs);
            const log = path.join(dir, "commands.log");
            for (const tool of ["npm", "npx", "shellcheck"]) {
                const stub = `#!/bin/sh\necho "${tool} $*" >> "${log}"\n${tool === "npx" && failTypeCheck ? 'case "$1" in tsc) exit 2;; esac\n' : ""}exit 0\n`;
                fs.writeFileSync(path.join(stubs, tool), stub, { mode: 0o755 });
            }
            const r = spawnSync("bash", [path.join(dir, ".ci", "run")], {
                cwd: dir,
                encoding: "utf8",
                env: { ...process.env, AIRFLOW_LAB_CACHE: path.join(dir, "no-lab-cache"), PATH: `${stubs}:/usr/bin:/bin`, ...env },
            });
            const commands = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
            return { status: r.status, commands, output: r.stdout + r.stderr };
        };
        const isTests = (command: string) => command === "npm test" || /^npx mocha\b/.test(command);
        /** The project a command type-checks (`npx tsc --noEmit -p <project>`, in any order), if it is one. */
        const typeChecked = (command: string) => (/^npx tsc\b/.test(command) && /\s--noEmit\b/.test(command) ? /\s(?:-p|--project)\s+(\S+)/.exec(command)?.[1] : undefined);

        it(".ci/run type-checks the program, tools and tests, and the e2e specs, before it runs the tests", () => {
            const ci = runCi(false);
            assert.strictEqual(ci.status, 0, ci.output);
            const tests = ci.commands.findIndex(isTests);
            assert.ok(tests >= 0, `no test run: ${ci.commands.join("; ")}`);
            const checkedBefore = ci.commands.slice(0, tests).map(typeChecked);
            for (const project of [".", "test-e2e"]) {
                assert.ok(checkedBefore.includes(project), `no type-check of ${project} before the tests: ${ci.commands.join("; ")}`);
            }
        });

        it(".ci/run lints the workflows with actionlint from the lab's tool cache when it is there, and says so in one line when not", () => {
            fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
            fs.writeFileSync(path.join(dir, ".github", "workflows", "preview.yml"), "on: push\n");
            const skipped = runCi(false);
            assert.strictEqual(skipped.status, 0, skipped.output);
            assert.match(skipped.output, /actionlint is not installed \(bash tools\/actionlint\.sh --install builds it\): skipping the workflow lint/);
            fs.rmSync(path.join(dir, ".ci"), { recursive: true });
            fs.rmSync(path.join(dir, "stubs"), { recursive: true });
            fs.rmSync(path.join(dir, "commands.log"));
            const cache = path.join(dir, "cache");
            fs.mkdirSync(path.join(cache, "bin"), { recursive: true });
            const log = path.join(dir, "actionlint.log");
            fs.writeFileSync(path.join(cache, "bin", "actionlint"), `#!/bin/sh\necho "actionlint $*" >> "${log}"\n[ "$*" = -version ] && exit 0\nexit 1\n`, { mode: 0o755 });
            const failed = runCi(false, { AIRFLOW_LAB_CACHE: cache });
            assert.deepStrictEqual(fs.readFileSync(log, "utf8").trim().split("\n"), ["actionlint -version", "actionlint .github/workflows/preview.yml"]);
            assert.notStrictEqual(failed.status, 0, "a workflow actionlint rejects fails CI");
            assert.ok(!failed.commands.some(isTests), "and nothing after it runs");
        });

        it(".ci/run stops at a type error: the tests do not run and CI fails", () => {
            const ci = runCi(true);
            assert.notStrictEqual(ci.status, 0, ci.output);
            assert.ok(ci.commands.some((command) => typeChecked(command) !== undefined), ci.commands.join("; "));
            assert.ok(!ci.commands.some(isTests), `tests ran after a failed type-check: ${ci.commands.join("; ")}`);
        });
    });
});
