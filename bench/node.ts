// npm run bench:node [-- --runs 5] [-- --only package|chart]
//
// This package against the official Apache Airflow chart on the level-2 lab's real node (lab/up.sh
// --node: a real kubelet and containerd), both running the images lab/images.sh built (the DAG image
// with the lab's test DAGs, by digest), alternating in one run with a floor pod; the round order
// rotates and each figure is the median of the runs (default 5):
//  - cold deploy: `pulumi up` (the real engine), or the chart's Postgres stand-in applied and `helm
//    install --wait --wait-for-jobs` with bench/chart-values.yaml + bench/chart-node-values.yaml, each
//    timed to its command's end, to a healthy API server (/api/v2/monitor/health) and to the first
//    successful task of the same one-task DAG (lab_added) through the KubernetesExecutor;
//  - trigger to success of that DAG, beside the floor: a plain pod of the same image running
//    `python -c` to Succeeded on the same node, right after it; where those seconds go, from the task
//    instance's and DAG run's timestamps and the worker pod's events;
//  - teardown: `pulumi destroy`, or `helm uninstall --wait` and the namespace delete, to the namespace gone.
// Needs the lab's images (lab/images.sh), the Pulumi CLI with the kubernetes and random plugins, helm
// (lab/toolchain.sh --helm) and AIRFLOW_CHART (the chart's directory or .tgz); says which is missing
// and exits 2 without them. Starts and ends with the lab stopped.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { medianCriticalPath } from "../scripts/critical-path";
import { median } from "../tools/median";
import { kubectl, LAB_DIR, labCacheDir, labKubeconfig, labVolumes, REPO_DIR } from "../lab/ts";
import { AirflowApi } from "../lab/ts/airflow/airflowApi";
import { apiFor, labImages, seconds, sleep, waitFor, waitReady } from "../lab/ts/airflow/cluster";
import { deploy, deployPath, destroy, labStackOverrides, removeStack, writeStackConfig } from "../lab/ts/airflow/deploy";

const argv = process.argv.slice(2);
const RUNS = argv.includes("--runs") ? Number(argv[argv.indexOf("--runs") + 1]) : 5;
/** `--only <tool>`: one tool's rounds (to look into one side's figures; the ratios need both). */
const ONLY = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : undefined;
const NS = "airflow-local";
const STACK = "lab-bench-node";
const DAG = "lab_added";
const log = (l: string) => process.stderr.write(`[bench:node] ${new Date().toISOString().slice(11, 19)} ${l}\n`);

type Tool = "package" | "chart";
type Measure = "deployed" | "healthyApi" | "firstTask" | "triggerToSuccess" | "floorPod" | "teardown";
const MEASURES: Record<Measure, string> = {
    deployed: "cold deploy, command done (`pulumi up`; chart: Postgres stand-in applied + `helm install --wait --wait-for-jobs`)",
    healthyApi: "cold deploy to a healthy API server",
    firstTask: "cold deploy to the first successful task of `lab_added`",
    triggerToSuccess: "trigger to success of `lab_added` (one task, KubernetesExecutor)",
    floorPod: "floor pod of the same image (`python -c`) to Succeeded, right after",
    teardown: "teardown to the namespace gone (`pulumi destroy`; chart: `helm uninstall --wait` + namespace delete)",
};
const times: Record<Tool, Record<Measure, number[]>> = {
    package: { deployed: [], healthyApi: [], firstTask: [], triggerToSuccess: [], floorPod: [], teardown: [] },
    chart: { deployed: [], healthyApi: [], firstTask: [], triggerToSuccess: [], floorPod: [], teardown: [] },
};
/** Per tool and run: where trigger-to-success went, phase → seconds. */
const phases: Record<Tool, Record<string, number>[]> = { package: [], chart: [] };
const eventLogs: { seconds: number; file: string }[] = [];
/** The event logs of the package's `pulumi destroy`s, with the teardown each measured. */
const destroyLogs: { seconds: number; file: string }[] = [];
/** Rounds that failed, with why (their figures are left out). */
const failures: string[] = [];
/** The package's last task log, each event at its offset from the trigger (the chart's log leaves with its worker pod). */
let taskTimeline: string[] = [];

function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): { code: number; out: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: labKubeconfig() } });
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
    if ((r.status !== 0 || r.error) && !opts.allowFail) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.error?.message ?? out.slice(-3000)}`);
    return { code: r.status ?? 1, out };
}

function helmBinary(): string | undefined {
    const built = path.join(labCacheDir(), "bin", "helm");
    if (fs.existsSync(built)) return built;
    return spawnSync("helm", ["version"], { encoding: "utf8" }).status === 0 ? "helm" : undefined;
}

function missing(): string | undefined {
    const via = deployPath();
    if (via.path !== "pulumi") return `the Pulumi CLI with the kubernetes and random plugins: ${via.why}`;
    if (!helmBinary()) return "helm (lab/toolchain.sh --helm builds it)";
    if (!process.env.AIRFLOW_CHART || !fs.existsSync(process.env.AIRFLOW_CHART)) return "the chart: AIRFLOW_CHART must name its directory or .tgz";
    try {
        labImages();
    } catch (e) {
        return (e as Error).message;
    }
    return undefined;
}

function namespaceGone(): void {
    kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=300s"], { timeoutMs: 320_000 });
}

/** The chart's database: the lab's Postgres image (the package's own database runs the same), one replica on a claim. */
function chartPostgres(image: string, password: string): any[] {
    const labels = { "app.kubernetes.io/name": "bench-postgres" };
    return [
        { apiVersion: "v1", kind: "Secret", metadata: { name: "bench-postgres", namespace: NS }, type: "Opaque", stringData: { password } },
        {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "bench-postgres", namespace: NS },
            spec: { selector: labels, ports: [{ name: "postgres", port: 5432, targetPort: 5432 }] },
        },
        {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "bench-postgres", namespace: NS },
            spec: {
                serviceName: "bench-postgres",
                replicas: 1,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: {
                        securityContext: { runAsUser: 999, runAsGroup: 999, fsGroup: 999 },
                        containers: [
                            {
                                name: "postgres",
                                image,
                                imagePullPolicy: "IfNotPresent",
                                env: [
                                    { name: "POSTGRES_USER", value: "airflow" },
                                    { name: "POSTGRES_DB", value: "airflow" },
                                    { name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: "bench-postgres", key: "password" } } },
                                    { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
                                ],
                                ports: [{ containerPort: 5432 }],
                                readinessProbe: { exec: { command: ["pg_isready", "-U", "airflow", "-d", "airflow", "-h", "127.0.0.1"] }, periodSeconds: 2 },
                                volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }],
                            },
                        ],
                    },
                },
                volumeClaimTemplates: [
                    { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "lab", resources: { requests: { storage: "2Gi" } } } },
                ],
            },
        },
    ];
}

/** helm's arguments for the chart on the node: both values files, and per run the image by digest and the generated passwords. */
function chartArgs(image: string, dbPassword: string, adminPassword: string): { args: string[]; values: string } {
    const [repository, digest] = image.split("@");
    // --values file (not --set) for the passwords: helm keeps values in its release Secret either way,
    // but not on a command line other processes can read
    const values = yaml({
        images: { airflow: { repository, digest, pullPolicy: "IfNotPresent" } },
        // the executor builds the worker's image as `<repository>:<tag>` and ignores images.airflow.digest:
        // the digest reference split at its colon gives the same image by digest
        config: { kubernetes_executor: { worker_container_repository: `${repository}@sha256`, worker_container_tag: digest.replace(/^sha256:/, "") } },
        data: { metadataConnection: { user: "airflow", pass: dbPassword, host: "bench-postgres", port: 5432, db: "airflow", sslmode: "disable" } },
        createUserJob: { defaultUser: { password: adminPassword } },
    });
    const args = [
        "airflow",
        process.env.AIRFLOW_CHART!,
        "-n",
        NS,
        "-f",
        path.join(REPO_DIR, "bench", "chart-values.yaml"),
        "-f",
        path.join(REPO_DIR, "bench", "chart-node-values.yaml"),
    ];
    return { args, values };
}

function yaml(o: unknown): string {
    return JSON.stringify(o); // JSON is YAML
}

function chartApi(adminPassword: string): AirflowApi {
    const svc = JSON.parse(kubectl(["get", "service", "airflow-api-server", "-n", NS, "-o", "json"]).stdout);
    return new AirflowApi(`http://${svc.spec.clusterIP}:${svc.spec.ports[0].port}`, "admin", adminPassword);
}

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : NaN);

/** Where trigger-to-success went: the DAG run's and task instance's timestamps and the worker pod's events. */
function breakdown(trigger: number, seen: number, run: any, ti: any): Record<string, number> {
    const events = JSON.parse(kubectl(["get", "events", "-n", NS, "-o", "json"]).stdout).items as any[];
    const pod = ti.hostname;
    const of = (reason: string) => {
        const e = events.find((x) => x.involvedObject?.name === pod && x.reason === reason && (reason !== "Started" || x.involvedObject?.fieldPath?.includes("base")));
        return e ? ms(e.eventTime ?? e.firstTimestamp) : NaN;
    };
    const points: [string, number][] = [
        ["trigger → DAG run queued (API)", ms(run.queued_at)],
        ["→ DAG run running (scheduler loop)", ms(run.start_date)],
        ["→ task queued (scheduler)", ms(ti.queued_when)],
        ["→ worker pod bound to the node (executor + kube-scheduler)", of("Scheduled")],
        ["→ container started (kubelet, containerd)", of("Started")],
        ["→ task running (interpreter, task SDK, execution API)", ms(ti.start_date)],
        ["→ task done (the task, its last API calls)", ms(ti.end_date)],
        ["→ DAG run success (scheduler loop)", ms(run.end_date)],
        ["→ seen by the bench (polls every 0.25 s)", seen],
    ];
    const out: Record<string, number> = {};
    let last = trigger;
    for (const [name, at] of points) {
        if (Number.isNaN(at)) continue;
        out[name] = (at - last) / 1000;
        last = at;
    }
    return out;
}

/** waitFor, polling every 0.25 s: the two latencies compared are a few seconds each. */
async function poll<T>(what: string, timeoutSec: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutSec * 1000;
    for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutSec}s waiting for ${what}`);
        await sleep(250);
    }
}

/** The task's log events (the task SDK's structured log) with their offsets from the trigger, in seconds. */
async function timeline(client: AirflowApi, runId: string, ti: any, trigger: number): Promise<string[]> {
    try {
        const body = await client.get(`/api/v2/dags/${DAG}/dagRuns/${encodeURIComponent(runId)}/taskInstances/${ti.task_id}/logs/${ti.try_number}?full_content=true`);
        const entries = (Array.isArray(body.content) ? body.content : []) as { timestamp?: string; event?: string; logger?: string }[];
        return entries
            .filter((e) => e.timestamp)
            .map(
                (e) =>
                    `${((Date.parse(e.timestamp!) - trigger) / 1000).toFixed(2).padStart(6)} s  ${e.logger ? `${e.logger}: ` : ""}${String(e.event).split("\n")[0].slice(0, 160)}`,
            );
    } catch (e) {
        return [`(no task log: ${(e as Error).message.slice(0, 200)})`];
    }
}

/** Runs a pod of each image once, so every tool starts with the images in the node's cache. */
async function prePull(images: string[]): Promise<void> {
    kubectl(["create", "namespace", "bench-pull"]);
    images.forEach((image, i) =>
        kubectl(["run", `pull-${i}`, "-n", "bench-pull", "--image", image, "--restart=Never", "--image-pull-policy=IfNotPresent", "--command", "--", "true"]),
    );
    await waitFor("the images pulled", 300, async () => {
        const list = JSON.parse(kubectl(["get", "pods", "-n", "bench-pull", "-o", "json"]).stdout).items as any[];
        return list.every((p) => (p.status.containerStatuses ?? []).some((c: any) => c.imageID)) ? true : undefined;
    });
    kubectl(["delete", "namespace", "bench-pull", "--wait=true", "--timeout=120s"], { timeoutMs: 140_000 });
}

async function floorPod(image: string): Promise<number> {
    const name = `floor-${Date.now()}`;
    const t = Date.now();
    kubectl(["run", name, "-n", NS, "--image", image, "--restart=Never", "--image-pull-policy=IfNotPresent", "--command", "--", "python", "-c", "print('floor')"]);
    await poll("the floor pod to complete", 120, async () => (kubectl(["get", "pod", name, "-n", NS, "-o", "jsonpath={.status.phase}"]).stdout === "Succeeded" ? true : undefined));
    const s = seconds(t);
    kubectl(["delete", "pod", name, "-n", NS, "--wait=false"]);
    return s;
}

/** Healthy API, DAG parsed, one run triggered to success; records the figures from `start`. */
async function toFirstTask(tool: Tool, start: number, api: () => AirflowApi, image: string, round: number): Promise<void> {
    await waitReady(NS, 900);
    const client = await waitFor("the API server's address", 120, async () => api());
    await waitFor("a healthy API", 300, async () => ((await client.health()).scheduler?.status === "healthy" ? true : undefined));
    times[tool].healthyApi.push(seconds(start));
    await waitFor(`${DAG} parsed`, 300, async () => ((await client.get(`/api/v2/dags/${DAG}`)).dag_id ? true : undefined));
    await client.unpause(DAG);
    const runId = `bench-${tool}-${round}`;
    const trigger = Date.now();
    await client.trigger(DAG, runId);
    const run = await poll("the run to succeed", 300, async () => {
        const r = await client.dagRun(DAG, runId);
        if (r.state === "failed") throw new Error(`${tool}: ${DAG} run failed`);
        return r.state === "success" ? r : undefined;
    });
    const seen = Date.now();
    times[tool].triggerToSuccess.push((seen - trigger) / 1000);
    times[tool].firstTask.push(seconds(start));
    const [ti] = await client.taskInstances(DAG, runId);
    phases[tool].push(breakdown(trigger, seen, run, ti));
    if (tool === "package") taskTimeline = await timeline(client, runId, ti, trigger);
    times[tool].floorPod.push(await floorPod(image));
}

async function runPackage(image: string, round: number): Promise<void> {
    const config = writeStackConfig(STACK, labStackOverrides(image));
    const t = Date.now();
    const events = deploy(STACK, config, "pulumi", log) ?? "";
    times.package.deployed.push(seconds(t));
    eventLogs.push({ seconds: seconds(t), file: events });
    await toFirstTask("package", t, () => apiFor(NS), image, round);
    const d = Date.now();
    const destroyEvents = destroy(STACK, "pulumi", config, NS, true) ?? "";
    namespaceGone();
    times.package.teardown.push(seconds(d));
    destroyLogs.push({ seconds: seconds(d), file: destroyEvents });
    removeStack(STACK);
}

async function runChart(images: Record<string, string>, round: number): Promise<void> {
    const helm = helmBinary()!;
    const dbPassword = crypto.randomBytes(18).toString("hex");
    const adminPassword = crypto.randomBytes(18).toString("hex");
    const { args, values } = chartArgs(images.DAGS_V2, dbPassword, adminPassword);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-node-"));
    const valuesFile = path.join(dir, "run-values.yaml");
    fs.writeFileSync(valuesFile, values, { mode: 0o600 });
    try {
        const t = Date.now();
        kubectl(["create", "namespace", NS]);
        kubectl(["apply", "--server-side", "--field-manager=bench-node", "-f", "-"], {
            input: chartPostgres(images.POSTGRES, dbPassword)
                .map((o) => JSON.stringify(o))
                .join("\n"),
        });
        // the database is up before the chart starts, as the package's own order has it (Postgres Ready,
        // then the migration): the chart starts every pod at once, and in the first trial run those that
        // tried the database while it initialised waited out a TCP connect timeout (2 min 19 s)
        kubectl(["rollout", "status", "statefulset/bench-postgres", "-n", NS, "--timeout=300s"], { timeoutMs: 320_000 });
        sh(helm, ["install", ...args, "-f", valuesFile, "--wait", "--wait-for-jobs", "--timeout", "15m"]);
        times.chart.deployed.push(seconds(t));
        await toFirstTask("chart", t, () => chartApi(adminPassword), images.DAGS_V2, round);
        const d = Date.now();
        sh(helm, ["uninstall", "airflow", "-n", NS, "--wait", "--timeout", "5m"]);
        // the stand-in for the chart's Postgres subchart goes as helm --wait would take the subchart:
        // its pod gone before the namespace (left to the namespace, the StatefulSet re-creates the pod
        // the namespace controller deletes, is refused, and backs off: 67 s in one trial round)
        kubectl(["delete", "statefulset/bench-postgres", "-n", NS, "--cascade=foreground", "--wait=true", "--timeout=300s"], { timeoutMs: 320_000 });
        namespaceGone();
        times.chart.teardown.push(seconds(d));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function table(): string {
    const f = (xs: number[]) => (xs.length ? `${median(xs).toFixed(1)} s (${xs.map((x) => x.toFixed(1)).join(", ")})` : "–");
    const ratio = (a: number[], b: number[]) => (a.length && b.length ? (median(a) / median(b)).toFixed(2) : "–");
    const lines = [
        "| measure | this package | chart (helm) | package ÷ chart |",
        "|---|---:|---:|---:|",
        ...(Object.keys(MEASURES) as Measure[]).map((m) => `| ${MEASURES[m]} | ${f(times.package[m])} | ${f(times.chart[m])} | ${ratio(times.package[m], times.chart[m])} |`),
        "",
        `Trigger to success ÷ the floor pod: package ${ratio(times.package.triggerToSuccess, times.package.floorPod)}, chart ${ratio(times.chart.triggerToSuccess, times.chart.floorPod)}.`,
        "",
        "Where trigger to success went (medians of the runs, seconds; server timestamps in ms, pod events in whole seconds):",
        "",
        "| phase | this package | chart |",
        "|---|---:|---:|",
    ];
    const names = [...new Set([...phases.package, ...phases.chart].flatMap((p) => Object.keys(p)))];
    const m = (tool: Tool, n: string) => {
        const xs = phases[tool].map((p) => p[n]).filter((x) => x !== undefined);
        return xs.length ? median(xs).toFixed(2) : "–";
    };
    for (const n of names) lines.push(`| ${n} | ${m("package", n)} | ${m("chart", n)} |`);
    if (failures.length) lines.push("", `Failed rounds (left out): ${failures.join("; ")}`);
    lines.push("", "The package's task log of its last run, each event at its offset from the trigger:", "", "```", ...taskTimeline, "```");
    return lines.join("\n");
}

async function main(): Promise<void> {
    const lack = missing();
    if (lack) {
        process.stderr.write(`bench:node needs ${lack}\n`);
        process.exit(2);
    }
    const images = labImages();
    const order = (["package", "chart"] as Tool[]).filter((t) => !ONLY || t === ONLY);
    if (!order.length) throw new Error(`--only ${ONLY}: allowed are package and chart`);
    let criticalPath = "";
    sh("bash", [path.join(LAB_DIR, "down.sh")]);
    try {
        sh("bash", [path.join(LAB_DIR, "up.sh"), "--node"]);
        await prePull([images.DAGS_V2, images.POSTGRES, images.BASE]);
        for (let round = 0; round < RUNS; round++) {
            const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
            for (const tool of rotated) {
                labVolumes(8); // each tool starts from the same free pool
                log(`round ${round + 1}/${RUNS}: ${tool}`);
                const before = Object.fromEntries((Object.keys(MEASURES) as Measure[]).map((m) => [m, times[tool][m].length]));
                const phasesBefore = phases[tool].length;
                try {
                    if (tool === "package") await runPackage(images.DAGS_V2, round);
                    else await runChart(images, round);
                    log(`${tool}: ${(Object.keys(MEASURES) as Measure[]).map((m) => `${m} ${times[tool][m].at(-1)?.toFixed(1)}`).join(", ")}`);
                } catch (e) {
                    // a failed round is reported, its partial figures dropped, and the next one starts clean
                    failures.push(`round ${round + 1}, ${tool}: ${(e as Error).message.split("\n").slice(0, 6).join(" ")}`);
                    log(`FAILED ${failures.at(-1)}`);
                    for (const m of Object.keys(MEASURES) as Measure[]) times[tool][m].length = before[m];
                    phases[tool].length = phasesBefore;
                    if (tool === "package") {
                        try {
                            destroy(STACK, "pulumi", writeStackConfig(STACK, labStackOverrides(images.DAGS_V2)), NS);
                        } catch {
                            removeStack(STACK);
                        }
                    } else sh(helmBinary()!, ["uninstall", "airflow", "-n", NS, "--wait", "--timeout", "5m"], { allowFail: true });
                    namespaceGone();
                }
            }
        }
        criticalPath = [
            medianCriticalPath("pulumi up", eventLogs),
            medianCriticalPath("pulumi destroy", destroyLogs, (s) => `teardown ${s.toFixed(1)} s, the namespace's own deletion included`),
        ]
            .filter(Boolean)
            .join("\n");
    } finally {
        sh("bash", [path.join(LAB_DIR, "down.sh")], { allowFail: true });
    }
    const pulumiVersion = sh("pulumi", ["version"]).out.trim();
    process.stdout.write(
        `Medians of ${RUNS} rounds on the level-2 lab (real node); ${pulumiVersion}, helm ${sh(helmBinary()!, ["version", "--short"]).out.trim()}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}.\n\n${table()}\n\n${criticalPath}\n`,
    );
}

main().catch((e) => {
    log(`failed: ${(e as Error).stack ?? e}`);
    sh("bash", [path.join(LAB_DIR, "down.sh")], { allowFail: true });
    process.exit(1);
});
