// npm run bench [-- --runs 5] [-- --no-preview]
//
// Medians of N runs (default 5, after one warm-up) of:
//  (a) evaluating the production and standalone stacks under Pulumi's mocks (the real program code,
//      the engine and providers mocked): from constructing the component to the last registration;
//  (b) the same as the deployment grows: 1, 10 and 50 built task images in one stack, and 1, 10 and
//      50 AirflowOnKubernetes instances in one program, to show the cost per resource stays flat;
//  (c) with the Pulumi CLI on PATH (and the kubernetes and random plugins installed): a real
//      `pulumi preview` of this program, objects rendered to files (kubernetes:renderYamlToDirectory,
//      no cluster), the program as Pulumi.yaml runs it (precompiled to bin/ by npm ci), and for
//      comparison index.ts compiled by the language host on each run, transpile-only or type-checked,
//      and bin/ required directly, without what Pulumi.yaml's preload and program.js add (the
//      deferral of the SDK parts a deployment never calls, V8's own stack formatting);
//  (d) the start-up on its own, in a fresh Node.js process: the SDKs as the harness and a program
//      load them (the harness's tracing module, @pulumi/pulumi, @pulumi/kubernetes, @pulumi/random),
//      and as this program loads them (tools/deferPulumiExtras.js installed, only the Kubernetes API
//      groups of components/kubernetes.ts).
// Prints one Markdown table; the README's benchmark section is a copy of it.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { performance } from "perf_hooks";
import * as yaml from "js-yaml";
import { AirflowOnKubernetes } from "../components/airflowOnKubernetes";
import type { AirflowOnKubernetesArgs } from "../components/airflowOnKubernetesArgs";
import { installMocks, settle } from "../tools/render/mocks";
import { renderStack } from "../tools/render/render";
import { median } from "../tools/median";
import { pulumiSandbox, run } from "../tools/pulumiSandbox";

const root = path.join(__dirname, "..");
const argv = process.argv.slice(2);
const RUNS = argv.includes("--runs") ? Number(argv[argv.indexOf("--runs") + 1]) : 5;
const PREVIEW = !argv.includes("--no-preview");

interface Row {
    section: string;
    case: string;
    resources: number | string;
    median: number;
    unit: "ms" | "s";
}
const rows: Row[] = [];

/** One warm-up, then RUNS timed runs; returns the median in ms and the last run's result. */
async function measure<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
    let result = await fn();
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
        const start = performance.now();
        result = await fn();
        times.push(performance.now() - start);
    }
    return { ms: median(times), result };
}

function progress(message: string): void {
    process.stderr.write(`bench: ${message}\n`);
}

async function mocks(): Promise<void> {
    for (const [label, config] of [
        ["production stack (default config)", {}],
        ["standalone stack", { architecture: "standalone" }],
    ] as const) {
        progress(label);
        const { ms, result } = await measure(() => renderStack(config));
        rows.push({ section: "(a) evaluation under mocks", case: label, resources: result.resources.length, median: ms, unit: "ms" });
    }
}

async function instances(n: number): Promise<number> {
    const recorded = installMocks();
    for (let i = 0; i < n; i++) {
        new AirflowOnKubernetes(n === 1 ? "airflow" : `airflow-${i}`, { namespace: `team-${i}` } as AirflowOnKubernetesArgs);
    }
    await settle();
    return recorded.length;
}

async function growth(): Promise<void> {
    for (const n of [1, 10, 50]) {
        progress(`${n} task images`);
        const tasks = Object.fromEntries(Array.from({ length: n }, (_, i) => [`task-${i}`, { context: "images/tasks/example" }]));
        const { ms, result } = await measure(() => renderStack({ images: { tasks }, registry: { server: "registry.example.com/airflow" } }));
        rows.push({ section: "(b) growth under mocks", case: `${n} built task image${n === 1 ? "" : "s"}`, resources: result.resources.length, median: ms, unit: "ms" });
    }
    for (const n of [1, 10, 50]) {
        progress(`${n} component instances`);
        const { ms, result } = await measure(() => instances(n));
        rows.push({ section: "(b) growth under mocks", case: `${n} AirflowOnKubernetes instance${n === 1 ? "" : "s"} in one program`, resources: result, median: ms, unit: "ms" });
    }
}

type Variant = "precompiled" | "eager" | "transpile-only" | "type-check";

/** A project directory in `dir` running this program (links to the sources), one stack per config. */
function previewProject(dir: string, variant: Variant): string {
    const project = path.join(dir, variant);
    fs.mkdirSync(project, { recursive: true });
    for (const f of ["index.ts", "program.js", "bin", "components", "node_modules", "package.json", "tools", "tsconfig.json", "tsconfig.pulumi.json"]) {
        fs.symlinkSync(path.join(root, f), path.join(project, f));
    }
    const pulumiYaml = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as any;
    if (variant === "precompiled" || variant === "eager") {
        if (variant === "eager") {
            // bin/ without program.js or the preload: every part of the SDK loaded up front, the
            // harness's source-map-support kept
            fs.writeFileSync(path.join(project, "eager.js"), 'module.exports = require("./bin/index.js");\n');
            pulumiYaml.main = "eager.js";
            delete pulumiYaml.runtime.options.nodeargs;
        }
    } else {
        // the language host compiles index.ts itself on every run: transpile-only (noCheck) or type-checked
        pulumiYaml.main = "index.ts";
        pulumiYaml.runtime.options = { typescript: true };
        if (variant === "transpile-only") {
            fs.writeFileSync(path.join(project, "tsconfig.transpile.json"), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { noCheck: true } }));
            pulumiYaml.runtime.options.tsconfig = "tsconfig.transpile.json";
        }
    }
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), yaml.dump(pulumiYaml));
    return project;
}

function previews(): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airflow-bench-"));
    try {
        const sandbox = pulumiSandbox(dir);
        if (typeof sandbox === "string") {
            rows.push({ section: "(c) pulumi preview, no cluster", case: `skipped: ${sandbox}`, resources: "", median: NaN, unit: "s" });
            return;
        }
        const cases: [Variant, string, Record<string, string>][] = [
            ["precompiled", "production", {}],
            ["precompiled", "standalone", { "airflow:architecture": "standalone" }],
            ["eager", "production", {}],
            ["transpile-only", "production", {}],
            ["type-check", "production", {}],
        ];
        const projects = new Map<string, string>();
        for (const [variant, stack, config] of cases) {
            progress(`pulumi preview, ${variant}, ${stack}`);
            const project = projects.get(variant) ?? previewProject(dir, variant);
            projects.set(variant, project);
            // One backend: stack names are unique per project, so the variant is part of the name.
            const name = `${variant}-${stack}`;
            run("pulumi", ["stack", "init", name, "--non-interactive"], project, sandbox.env);
            for (const [key, value] of Object.entries({ ...config, "kubernetes:renderYamlToDirectory": path.join(project, `rendered-${stack}`) })) {
                run("pulumi", ["config", "set", "--stack", name, key, value], project, sandbox.env);
            }
            const times: number[] = [];
            let resources = 0;
            for (let i = 0; i <= RUNS; i++) {
                const start = performance.now();
                const out = JSON.parse(run("pulumi", ["preview", "--stack", name, "--non-interactive", "--json"], project, sandbox.env));
                if (i > 0) times.push((performance.now() - start) / 1000);
                resources = out.steps.length;
            }
            const label = {
                precompiled: "as configured: precompiled (program.js runs bin/)",
                eager: "bin/ required directly: no preload, SDK extras loaded eagerly, stacks through source-map-support",
                "transpile-only": "index.ts transpiled by the language host on each run",
                "type-check": "index.ts type-checked by the language host on each run",
            }[variant];
            rows.push({ section: "(c) pulumi preview, no cluster", case: `${stack}: ${label}`, resources: `${resources} steps`, median: median(times), unit: "s" });
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** (d): the SDKs' load time in fresh processes, measured inside each (Node.js's own start excluded). */
function sdkLoad(): void {
    // the harness loads its tracing module before the program
    const kubernetes = (asProgram: boolean) => (asProgram ? path.join(root, "bin", "components", "kubernetes.js") : "@pulumi/kubernetes");
    const script = (asProgram: boolean) => `
        ${asProgram ? `require(${JSON.stringify(path.join(root, "tools", "deferPulumiExtras.js"))}).install();` : ""}
        const start = process.hrtime.bigint();
        for (const m of ["@pulumi/pulumi/cmd/run/tracing", "@pulumi/pulumi", ${JSON.stringify(kubernetes(asProgram))}, "@pulumi/random"]) require(m);
        console.log(JSON.stringify({ ms: Number(process.hrtime.bigint() - start) / 1e6, modules: Object.keys(require.cache).length }));`;
    const times = { eager: [] as number[], deferred: [] as number[] };
    const modules = { eager: 0, deferred: 0 };
    progress("SDK load, eager and deferred, alternating");
    for (let i = 0; i <= RUNS; i++) {
        for (const mode of ["eager", "deferred"] as const) {
            const r = spawnSync(process.execPath, ["-e", script(mode === "deferred")], { cwd: root, encoding: "utf8" });
            if (r.status !== 0) throw new Error(r.stderr);
            const out = JSON.parse(r.stdout);
            if (i > 0) times[mode].push(out.ms);
            modules[mode] = out.modules;
        }
    }
    const section = "(d) loading the SDKs (harness tracing, @pulumi/pulumi, kubernetes, random)";
    rows.push({ section, case: "as the SDKs load", resources: `${modules.eager} modules`, median: median(times.eager), unit: "ms" });
    rows.push({ section, case: "as this program loads them (deferral, the API groups it uses)", resources: `${modules.deferred} modules`, median: median(times.deferred), unit: "ms" });
}

function table(): string {
    const lines = ["| | case | resources | median |", "|---|---|---:|---:|"];
    for (const r of rows) {
        const value = Number.isNaN(r.median) ? "–" : r.unit === "ms" ? `${r.median.toFixed(0)} ms` : `${r.median.toFixed(1)} s`;
        const perResource = r.unit === "ms" && typeof r.resources === "number" ? ` (${(r.median / r.resources).toFixed(1)} ms per resource)` : "";
        lines.push(`| ${r.section} | ${r.case} | ${r.resources} | ${value}${perResource} |`);
    }
    return lines.join("\n");
}

async function main(): Promise<void> {
    await mocks();
    await growth();
    // bin/ as npm ci builds it, fresh (or program.js would compile in memory), for (c) and (d)
    run("npm", ["run", "build:program"], root);
    if (PREVIEW) previews();
    sdkLoad();
    const cpus = os.cpus();
    process.stdout.write(
        `Medians of ${RUNS} runs after a warm-up; Node.js ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? "CPU"}` +
            `${PREVIEW ? `, ${run("pulumi", ["version"], root).trim() || "no pulumi CLI"}` : ""}.\n\n${table()}\n`,
    );
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
