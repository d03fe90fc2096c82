// npm run bench:deploy [-- --runs 3]
//
// Deploy speed side by side on the level-1 lab (lab/up.sh: a real kube-apiserver, controllers and
// scheduler, kwok's fake nodes, so no image is pulled and no container runs): the `local` stack
// through the real Pulumi engine and providers, beside
//  - the floor any tool is held to: the same objects (scripts/render.ts) applied in one kubectl
//    server-side apply and waited for with kubectl (no ordering, no migration-before-workload rule);
//  - the official Apache Airflow chart through helm, with bench/chart-values.yaml, when AIRFLOW_CHART
//    names it (a directory or .tgz, e.g. from `helm pull apache-airflow/airflow --version 1.22.0`)
//    and helm is on PATH or built by `lab/toolchain.sh --helm`. Otherwise its column says why.
// Steps: cold deploy to ready, a no-op check, teardown (namespace gone). The tools alternate within a
// round, the round order rotates, and each figure is the median of the runs (default 3). Beside each
// no-op preview, one of an empty Node.js program (with and without tools/preload.js): the part of a
// preview no program avoids; and one of the package with the CLI's automatic debug log unable to
// start, which shows what that log costs. Ends with the critical path of the median `pulumi up`
// (scripts/critical-path.ts).
// Needs the Pulumi CLI with the kubernetes and random plugins; says so and exits 2 without them.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { criticalPathReport } from "../scripts/critical-path";
import { median } from "../tools/median";
import { kubectl, LAB_DIR, labCacheDir, labKubeconfig, labVolumes, REPO_DIR } from "../lab/ts";
import { deploy, deployPath, destroy, emptyProgramPreview, noopPreview, renderObjects, writeStackConfig } from "../lab/ts/airflow/deploy";

const argv = process.argv.slice(2);
const RUNS = argv.includes("--runs") ? Number(argv[argv.indexOf("--runs") + 1]) : 3;
const NS = "airflow-local";
const STACK = "lab-bench";
const log = (l: string) => process.stderr.write(`[bench:deploy] ${l}\n`);

type Tool = "pulumi" | "floor" | "chart";
type Step = "deploy" | "noop" | "teardown";
const times: Record<Tool, Record<Step, number[]>> = {
    pulumi: { deploy: [], noop: [], teardown: [] },
    floor: { deploy: [], noop: [], teardown: [] },
    chart: { deploy: [], noop: [], teardown: [] },
};
const eventLogs: { seconds: number; file: string }[] = [];
/** No-op previews of an empty Node.js program, beside the package's: the fixed cost of any program. */
const emptyProgram = { shipped: [] as number[], preloaded: [] as number[] };
/** The package's no-op preview with the CLI's automatic debug log unable to start: what that log costs. */
const withoutAutomaticLog: number[] = [];

/** Runs helm, pulumi or a lab script against the lab's cluster. */
function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): { code: number; out: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: labKubeconfig() } });
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
    if ((r.status !== 0 || r.error) && !opts.allowFail) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.error?.message ?? out.slice(-3000)}`);
    return { code: r.status ?? 1, out };
}

function timed(fn: () => void): number {
    const t = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t) / 1e9;
}


function namespaceGone(): void {
    kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=300s"], { timeoutMs: 320_000 });
}

function helmBinary(): string | undefined {
    const built = path.join(labCacheDir(), "bin", "helm");
    if (fs.existsSync(built)) return built;
    return spawnSync("helm", ["version"], { encoding: "utf8" }).status === 0 ? "helm" : undefined;
}

function chartSkipReason(): string | undefined {
    if (!helmBinary()) return "helm is not installed (lab/toolchain.sh --helm builds it)";
    const chart = process.env.AIRFLOW_CHART;
    if (!chart) return "AIRFLOW_CHART is not set (the official chart is not reachable from this machine; `helm pull apache-airflow/airflow --version 1.22.0` where it is)";
    if (!fs.existsSync(chart)) return `AIRFLOW_CHART=${chart} does not exist`;
    return undefined;
}

const tools: Record<Tool, (config: string, objectsFile: string) => void> = {
    pulumi(config) {
        const started = process.hrtime.bigint();
        let events = "";
        times.pulumi.deploy.push(timed(() => (events = deploy(STACK, config, "pulumi", () => undefined) ?? "")));
        eventLogs.push({ seconds: Number(process.hrtime.bigint() - started) / 1e9, file: events });
        times.pulumi.noop.push(noopPreview(STACK));
        withoutAutomaticLog.push(noopPreview(STACK, true));
        emptyProgram.shipped.push(emptyProgramPreview(false));
        emptyProgram.preloaded.push(emptyProgramPreview(true));
        times.pulumi.teardown.push(timed(() => destroy(STACK, "pulumi", config, NS)));
    },
    floor(_config, objectsFile) {
        times.floor.deploy.push(
            timed(() => {
                kubectl(["apply", "--server-side", "--field-manager=bench-floor", "-f", objectsFile]);
                kubectl(["wait", "-n", NS, "--for=condition=available", "deployment", "--all", "--timeout=600s"], { timeoutMs: 620_000 });
                kubectl(["wait", "-n", NS, "--for=jsonpath={.status.readyReplicas}=1", "statefulset", "--all", "--timeout=600s"], { timeoutMs: 620_000 });
                kubectl(["wait", "-n", NS, "--for=condition=complete", "job", "--all", "--timeout=600s"], { timeoutMs: 620_000 });
            }),
        );
        times.floor.noop.push(timed(() => kubectl(["apply", "--server-side", "--field-manager=bench-floor", "--dry-run=server", "-f", objectsFile])));
        times.floor.teardown.push(timed(namespaceGone));
    },
    chart() {
        const helm = helmBinary()!;
        const args = ["airflow", process.env.AIRFLOW_CHART!, "-n", NS, "-f", path.join(REPO_DIR, "bench", "chart-values.yaml")];
        times.chart.deploy.push(timed(() => sh(helm, ["install", ...args, "--create-namespace", "--wait", "--wait-for-jobs", "--timeout", "10m"])));
        times.chart.noop.push(timed(() => sh(helm, ["upgrade", ...args, "--dry-run=server"])));
        times.chart.teardown.push(
            timed(() => {
                sh(helm, ["uninstall", "airflow", "-n", NS, "--wait", "--timeout", "5m"]);
                namespaceGone();
            }),
        );
    },
};

function table(chartSkipped: string | undefined): string {
    const f = (xs: number[]) => (xs.length ? `${median(xs).toFixed(2)} s (${xs.map((x) => x.toFixed(1)).join(", ")})` : "–");
    const ratio = (a: number[], b: number[]) => (a.length && b.length ? (median(a) / median(b)).toFixed(2) : "–");
    const what: Record<Step, [string, string, string]> = {
        deploy: ["cold deploy to ready", "`pulumi up`", "`helm install --wait --wait-for-jobs`"],
        noop: ["no-op check", "`pulumi preview --expect-no-changes`", "`helm upgrade --dry-run=server`"],
        teardown: ["teardown, namespace gone", "`pulumi destroy`", "`helm uninstall --wait` + namespace delete"],
    };
    const lines = [
        "| step | this package: median (runs) | floor (kubectl) | chart (helm) | package ÷ chart | package ÷ floor |",
        "|---|---:|---:|---:|---:|---:|",
        ...(["deploy", "noop", "teardown"] as Step[]).map(
            (s) => `| ${what[s][0]} (${what[s][1]}; ${what[s][2]}) | ${f(times.pulumi[s])} | ${f(times.floor[s])} | ${f(times.chart[s])} | ${ratio(times.pulumi[s], times.chart[s])} | ${ratio(times.pulumi[s], times.floor[s])} |`,
        ),
    ];
    lines.push(
        "",
        `No-op preview of an empty Node.js program on the same CLI, backend and node_modules (the fixed cost of any program): ${f(emptyProgram.shipped)} with the SDK as it loads, ${f(emptyProgram.preloaded)} with this package's tools/preload.js.`,
    );
    lines.push(
        "",
        `The package's no-op preview with the CLI's automatic debug log unable to start (a diagnostic: the CLI has no switch for it): ${f(withoutAutomaticLog)}.`,
    );
    if (chartSkipped) lines.push("", `chart column skipped: ${chartSkipped}`);
    return lines.join("\n");
}

function main(): void {
    const via = deployPath();
    if (via.path !== "pulumi") {
        process.stderr.write(`bench:deploy needs the Pulumi CLI with the kubernetes and random plugins: ${via.why}\n`);
        process.exit(2);
    }
    const chartSkipped = chartSkipReason();
    if (chartSkipped) log(`chart: ${chartSkipped}`);
    const order: Tool[] = ["pulumi", "floor", ...(chartSkipped ? [] : ["chart" as Tool])];
    sh("bash", [path.join(LAB_DIR, "down.sh")]);
    sh("bash", [path.join(LAB_DIR, "up.sh")]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-deploy-"));
    let criticalPath = "";
    try {
        const config = writeStackConfig(STACK, {});
        const objectsFile = path.join(dir, "objects.json");
        // holds Secret values: readable by this user only, removed at the end
        fs.writeFileSync(objectsFile, renderObjects(config).map((o) => JSON.stringify(o)).join("\n"), { mode: 0o600 });
        namespaceGone();
        for (let round = 0; round < RUNS; round++) {
            const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
            for (const tool of rotated) {
                labVolumes(8); // each tool starts from the same free pool
                log(`round ${round + 1}/${RUNS}: ${tool}`);
                tools[tool](config, objectsFile);
            }
        }
        // before lab/down.sh, which removes the event logs with the rest of the lab's run state
        const medianUp = [...eventLogs].sort((a, b) => a.seconds - b.seconds)[Math.floor(eventLogs.length / 2)];
        criticalPath = `Critical path of the median \`pulumi up\` (${medianUp.seconds.toFixed(1)} s; engine events in whole seconds):\n\n${criticalPathReport(medianUp.file).split("\n\n")[1]}`;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        sh("bash", [path.join(LAB_DIR, "down.sh")], { allowFail: true });
    }
    const pulumiVersion = sh("pulumi", ["version"]).out.trim();
    process.stdout.write(
        `Medians of ${RUNS} rounds on the level-1 lab (kwok); ${pulumiVersion}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}.\n\n${table(chartSkipped)}\n\n${criticalPath}`,
    );
}

main();
