// npm run bench:deploy [-- --runs 5]
//
// Deploy speed side by side on the level-1 lab (lab/up.sh: a real kube-apiserver, controllers and
// scheduler, kwok's fake nodes, so no image is pulled and no container runs): the `local` stack
// through the real Pulumi engine and providers, beside
//  - the floor any tool is held to: the same objects (scripts/render.ts) applied in one kubectl
//    server-side apply and waited for with kubectl (no ordering, no migration-before-workload rule);
//  - the official Apache Airflow chart through helm, with bench/chart-values.yaml, when AIRFLOW_CHART
//    names it (a directory or .tgz, e.g. from `helm pull apache-airflow/airflow --version 1.22.0`)
//    and helm is on PATH or built by `lab/toolchain.sh --helm`. Otherwise its column says why.
// Steps: cold deploy to ready, a no-op check, a one-setting change (the API server's CPU request, which
// rolls its Deployment) to ready, teardown (namespace gone). The tools alternate within a round, the
// round order rotates, and each figure is the median of the runs (default 5). What the chart's no-op
// check would change is read from helm's own dry run (its manifest against the release's). Beside each
// no-op preview, one of an empty Node.js program (with and without tools/preload.js): the part of a
// preview no program avoids; and one of the package with the CLI's automatic debug log unable to
// start, which shows what that log costs. Ends with the critical paths of the median `pulumi up`
// and `pulumi destroy` (scripts/critical-path.ts).
// Needs the Pulumi CLI with the kubernetes and random plugins; says so and exits 2 without them.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { medianCriticalPath } from "../scripts/critical-path";
import { median } from "../tools/median";
import { kubectl, LAB_DIR, labCacheDir, labKubeconfig, labVolumes, REPO_DIR } from "../lab/ts";
import { deploy, deployPath, destroy, emptyProgramPreview, noopPreview, removeStack, renderObjects, writeStackConfig } from "../lab/ts/airflow/deploy";

const argv = process.argv.slice(2);
const RUNS = argv.includes("--runs") ? Number(argv[argv.indexOf("--runs") + 1]) : 5;
const NS = "airflow-local";
const STACK = "lab-bench";
const log = (l: string) => process.stderr.write(`[bench:deploy] ${l}\n`);

type Tool = "pulumi" | "floor" | "chart";
type Step = "deploy" | "noop" | "change" | "teardown";
const STEPS: Step[] = ["deploy", "noop", "change", "teardown"];
const times: Record<Tool, Record<Step, number[]>> = {
    pulumi: { deploy: [], noop: [], change: [], teardown: [] },
    floor: { deploy: [], noop: [], change: [], teardown: [] },
    chart: { deploy: [], noop: [], change: [], teardown: [] },
};
/** The one-setting change: the API server's CPU request, 100m (Pulumi.local.yaml, bench/chart-values.yaml) to 150m. */
const CHANGED_CPU = "150m";
const changeOverrides = { apiServer: { resources: { requests: { cpu: CHANGED_CPU, memory: "256Mi" } } } };
/** What `helm upgrade` with unchanged values would change, from its dry run (first round). */
let chartNoopChanges: string | undefined;
const eventLogs: { seconds: number; file: string }[] = [];
const destroyLogs: { seconds: number; file: string }[] = [];
/** No-op previews of an empty Node.js program, beside the package's: the fixed cost of any program. */
const emptyProgram = { shipped: [] as number[], preloaded: [] as number[], oneObject: [] as number[] };
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

/** The rendered objects of a helm manifest, by kind/name, as text (comments and hook-only lines left out). */
function manifestObjects(manifest: string): Map<string, string> {
    const objects = new Map<string, string>();
    for (const doc of manifest.split(/^---\s*$/m)) {
        const body = doc
            .split("\n")
            .filter((l) => !/^\s*#/.test(l) && l.trim())
            .join("\n");
        const kind = /^kind:\s*(\S+)/m.exec(body)?.[1];
        const name = /^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*"?([^"\s]+)/m.exec(body)?.[1];
        if (kind && name) objects.set(`${kind}/${name}`, body);
    }
    return objects;
}

/** The objects a `helm upgrade` with the release's own values would change (from its dry run), with why. */
function chartNoopDiff(helm: string, args: string[]): string {
    const deployed = manifestObjects(sh(helm, ["get", "manifest", "airflow", "-n", NS]).out);
    const dry = sh(helm, ["upgrade", ...args, "--dry-run=server", "--output", "json"]).out;
    const release = JSON.parse(dry.slice(dry.indexOf("{")));
    const planned = manifestObjects(`${release.manifest}\n---\n${(release.hooks ?? []).filter((h: { events: string[] }) => h.events.some((e) => e.endsWith("-upgrade"))).map((h: { manifest: string }) => h.manifest).join("\n---\n")}`);
    const changed = [...planned].filter(([key, body]) => deployed.get(key) !== body).map(([key, body]) => {
        const before = deployed.get(key);
        if (!before) return `${key} (an upgrade hook: deleted, created and run again)`;
        const lines = new Set(before.split("\n"));
        const keys = body
            .split("\n")
            .filter((l) => !lines.has(l))
            .map((l) => l.trim().split(":")[0])
            .filter(Boolean);
        return `${key} (${[...new Set(keys)].join(", ")})`;
    });
    return changed.length ? changed.join("; ") : "nothing";
}

const tools: Record<Tool, (config: string, objectsFile: string, changed: { config: string; objectsFile: string; deployment: string }) => void> = {
    pulumi(config, _objectsFile, changed) {
        const started = process.hrtime.bigint();
        let events = "";
        times.pulumi.deploy.push(timed(() => (events = deploy(STACK, config, "pulumi", () => undefined) ?? "")));
        eventLogs.push({ seconds: Number(process.hrtime.bigint() - started) / 1e9, file: events });
        times.pulumi.noop.push(noopPreview(STACK));
        withoutAutomaticLog.push(noopPreview(STACK, true));
        emptyProgram.shipped.push(emptyProgramPreview(false));
        emptyProgram.preloaded.push(emptyProgramPreview(true));
        emptyProgram.oneObject.push(emptyProgramPreview(true, true));
        times.pulumi.change.push(timed(() => deploy(STACK, changed.config, "pulumi", () => undefined)));
        let destroyEvents = "";
        const teardown = timed(() => (destroyEvents = destroy(STACK, "pulumi", changed.config, NS, true) ?? ""));
        times.pulumi.teardown.push(teardown);
        destroyLogs.push({ seconds: teardown, file: destroyEvents });
        removeStack(STACK);
    },
    floor(_config, objectsFile, changed) {
        const apply = (file: string, dryRun = false) => kubectl(["apply", "--server-side", "--field-manager=bench-floor", ...(dryRun ? ["--dry-run=server"] : []), "-f", file]);
        times.floor.deploy.push(
            timed(() => {
                apply(objectsFile);
                kubectl(["wait", "-n", NS, "--for=condition=available", "deployment", "--all", "--timeout=600s"], { timeoutMs: 620_000 });
                kubectl(["wait", "-n", NS, "--for=jsonpath={.status.readyReplicas}=1", "statefulset", "--all", "--timeout=600s"], { timeoutMs: 620_000 });
                kubectl(["wait", "-n", NS, "--for=condition=complete", "job", "--all", "--timeout=600s"], { timeoutMs: 620_000 });
            }),
        );
        times.floor.noop.push(timed(() => apply(objectsFile, true)));
        times.floor.change.push(
            timed(() => {
                apply(changed.objectsFile);
                kubectl(["rollout", "status", `deployment/${changed.deployment}`, "-n", NS, "--timeout=600s"], { timeoutMs: 620_000 });
            }),
        );
        times.floor.teardown.push(timed(namespaceGone));
    },
    chart() {
        const helm = helmBinary()!;
        const args = ["airflow", process.env.AIRFLOW_CHART!, "-n", NS, "-f", path.join(REPO_DIR, "bench", "chart-values.yaml")];
        const wait = ["--wait", "--wait-for-jobs", "--timeout", "10m"];
        times.chart.deploy.push(timed(() => sh(helm, ["install", ...args, "--create-namespace", ...wait])));
        times.chart.noop.push(timed(() => sh(helm, ["upgrade", ...args, "--dry-run=server"])));
        chartNoopChanges ??= chartNoopDiff(helm, args);
        times.chart.change.push(timed(() => sh(helm, ["upgrade", ...args, "--set", `apiServer.resources.requests.cpu=${CHANGED_CPU}`, ...wait])));
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
    const what: Record<Step, [string, string, string, string]> = {
        deploy: ["cold deploy to ready", "`pulumi up`", "`kubectl apply --server-side` + `kubectl wait`", "`helm install --wait --wait-for-jobs`"],
        noop: ["no-op check", "`pulumi preview --expect-no-changes`", "`kubectl apply --server-side --dry-run=server`", "`helm upgrade --dry-run=server`"],
        change: ["one setting changed (API server CPU request) to ready", "`pulumi up`", "`kubectl apply --server-side` + `kubectl rollout status`", "`helm upgrade --set … --wait --wait-for-jobs`"],
        teardown: ["teardown, namespace gone", "`pulumi destroy`", "namespace delete", "`helm uninstall --wait` + namespace delete"],
    };
    const lines = [
        "| step | this package | floor | chart (helm) | package ÷ chart | package ÷ floor |",
        "|---|---:|---:|---:|---:|---:|",
        ...STEPS.map(
            (s) =>
                `| ${what[s][0]} (${what[s][1]}; floor: ${what[s][2]}; chart: ${what[s][3]}) | ${f(times.pulumi[s])} | ${f(times.floor[s])} | ${f(times.chart[s])} | ${ratio(times.pulumi[s], times.chart[s])} | ${ratio(times.pulumi[s], times.floor[s])} |`,
        ),
    ];
    lines.push(
        "",
        `No-op preview of an empty Node.js program on the same CLI, backend and node_modules (the fixed cost of any program): ${f(emptyProgram.shipped)} with the SDK as it loads, ${f(emptyProgram.preloaded)} with this package's tools/preload.js. The package's no-op preview is ${ratio(times.pulumi.noop, emptyProgram.shipped)} × the first and ${ratio(times.pulumi.noop, emptyProgram.preloaded)} × the second. The preloaded empty program with one ConfigMap through the kubernetes provider (what starting the provider adds before any of this package's resources): ${f(emptyProgram.oneObject)}, ${ratio(emptyProgram.oneObject, emptyProgram.preloaded)} × the empty program.`,
    );
    lines.push(
        "",
        `The package's no-op preview with the CLI's automatic debug log unable to start (a diagnostic: the CLI has no switch for it): ${f(withoutAutomaticLog)}.`,
    );
    lines.push(
        "",
        "What each no-op check does: `pulumi preview --expect-no-changes` runs the program and compares every resource's inputs with the stack's state (no object is sent to the cluster; it fails on any difference); the floor sends every object to the API server as a server-side dry-run apply; `helm upgrade --dry-run=server` renders the chart again with the release's values and checks the result against the API server.",
    );
    if (chartNoopChanges !== undefined) lines.push("", `What that \`helm upgrade\` would change if run for real, from its dry run against the release's manifest: ${chartNoopChanges}.`);
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
        // The level-1 lab's API server listens on loopback, which no EndpointSlice may name: it has no
        // default/kubernetes slice for the program to read, so the stack names the endpoint itself
        // (network.kubernetesApi), as on any cluster whose slice is not the address pods reach.
        const server = new URL(kubectl(["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]).stdout.trim());
        const labApi = { network: { kubernetesApi: { cidrs: [`${server.hostname}/32`], ports: [Number(server.port || 443)] } } };
        const config = writeStackConfig(STACK, labApi);
        const objectsFile = path.join(dir, "objects.json");
        // hold Secret values: readable by this user only, removed at the end
        fs.writeFileSync(objectsFile, renderObjects(config).map((o) => JSON.stringify(o)).join("\n"), { mode: 0o600 });
        const changedConfig = writeStackConfig(`${STACK}-change`, { ...labApi, ...changeOverrides });
        const changedObjects = renderObjects(changedConfig);
        const deployment = changedObjects.find((o) => o.kind === "Deployment" && o.metadata.labels?.["app.kubernetes.io/component"] === "api-server")?.metadata.name;
        if (!deployment) throw new Error("the rendered objects have no API server Deployment");
        const changed = { config: changedConfig, objectsFile: path.join(dir, "changed.json"), deployment };
        fs.writeFileSync(changed.objectsFile, changedObjects.map((o) => JSON.stringify(o)).join("\n"), { mode: 0o600 });
        namespaceGone();
        for (let round = 0; round < RUNS; round++) {
            const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
            for (const tool of rotated) {
                labVolumes(8); // each tool starts from the same free pool
                log(`round ${round + 1}/${RUNS}: ${tool}`);
                tools[tool](config, objectsFile, changed);
            }
        }
        // before lab/down.sh, which removes the event logs with the rest of the lab's run state
        criticalPath = `${medianCriticalPath("pulumi up", eventLogs)}\n${medianCriticalPath("pulumi destroy", destroyLogs)}`;
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
