// npm run db:restore -- --namespace <ns> [--instance airflow] [--snapshot latest|<file>|none] [--snapshot-now] [--context <ctx>]
//
// Restores the metadata database from a snapshot of database.backup (docs/operations.md), or takes
// one now, with kubectl (from PATH, or $KUBECTL; the cluster of $KUBECONFIG or --context).
// - production: the Airflow Deployments are scaled to zero (nothing writes during the restore), the
//   package's restore CronJob runs as a Job with SNAPSHOT set, and the Deployments get their replicas
//   back, whatever happened;
// - standalone: the restore request is written onto the snapshot claim and the pod deleted; its
//   restore init container restores before Postgres and Airflow start.
// `--snapshot none` lists the snapshots; `--snapshot-now` takes one (nothing is stopped).
import { spawnSync } from "child_process";

export interface RestoreOptions {
    namespace: string;
    instance: string;
    /** `latest`, a snapshot's file name, or `none` (list only). */
    snapshot: string;
    /** Take a snapshot instead of restoring. */
    snapshotNow: boolean;
    context?: string;
    /** Seconds to wait for the Job or the pod. */
    timeoutSec: number;
    log: (line: string) => void;
}

const CONTROL_PLANE = ["scheduler", "api-server", "dag-processor", "triggerer"];
const SNAPSHOT_NAME = /^(latest|none|airflow-[0-9TZ]+-g[0-9]+-[a-z-]+-[0-9a-z+]+\.dump)$/;

function kubectl(o: Pick<RestoreOptions, "context">, args: string[], input?: string, allowFail = false): string {
    const r = spawnSync(process.env.KUBECTL || "kubectl", [...(o.context ? ["--context", o.context] : []), ...args], { encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw new Error(`could not run kubectl: ${r.error.message}`);
    if (r.status !== 0 && !allowFail) throw new Error(`kubectl ${args.join(" ")} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
    return r.stdout ?? "";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a Job made from CronJob `cronJob` (its env extended by `env`); returns its log, throws when it fails. */
async function runJobFrom(o: RestoreOptions, cronJob: string, env: Record<string, string>): Promise<string> {
    const job = `${cronJob}-${Date.now().toString(36)}`.slice(0, 63);
    const manifest = JSON.parse(kubectl(o, ["create", "job", job, "-n", o.namespace, `--from=cronjob/${cronJob}`, "--dry-run=client", "-o", "json"]));
    for (const c of manifest.spec.template.spec.containers) {
        c.env = [...(c.env ?? []).filter((e: { name: string }) => !(e.name in env)), ...Object.entries(env).map(([name, value]) => ({ name, value }))];
    }
    kubectl(o, ["create", "-f", "-"], JSON.stringify(manifest));
    o.log(
        `job/${job} created from cronjob/${cronJob}${
            Object.keys(env).length
                ? ` with ${Object.entries(env)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(" ")}`
                : ""
        }`,
    );
    const deadline = Date.now() + o.timeoutSec * 1000;
    for (;;) {
        const status = JSON.parse(kubectl(o, ["get", "job", job, "-n", o.namespace, "-o", "json"])).status ?? {};
        const done = (type: string) => (status.conditions ?? []).some((c: { type: string; status: string }) => c.type === type && c.status === "True");
        if (done("Complete") || done("Failed") || Date.now() > deadline) {
            const logs = kubectl(o, ["logs", `job/${job}`, "-n", o.namespace, "--all-containers"], undefined, true).trim();
            if (done("Complete")) return logs;
            throw new Error(`job/${job} ${done("Failed") ? "failed" : `did not finish in ${o.timeoutSec}s`}:\n${logs}`);
        }
        await sleep(2000);
    }
}

/** The control plane's Deployments and their replicas. */
function controlPlane(o: RestoreOptions): { name: string; replicas: number }[] {
    const list = JSON.parse(kubectl(o, ["get", "deployments", "-n", o.namespace, "-l", `app.kubernetes.io/instance=${o.instance}`, "-o", "json"])).items as any[];
    return list
        .filter((d) => CONTROL_PLANE.includes(d.metadata.labels?.["app.kubernetes.io/component"]))
        .map((d) => ({ name: d.metadata.name as string, replicas: (d.spec.replicas ?? 1) as number }));
}

async function waitNoPods(o: RestoreOptions): Promise<void> {
    const selector = `app.kubernetes.io/instance=${o.instance},app.kubernetes.io/component in (${CONTROL_PLANE.join(",")})`;
    const deadline = Date.now() + o.timeoutSec * 1000;
    while (JSON.parse(kubectl(o, ["get", "pods", "-n", o.namespace, "-l", selector, "-o", "json"])).items.length > 0) {
        if (Date.now() > deadline) throw new Error(`the control plane's pods did not stop in ${o.timeoutSec}s`);
        await sleep(2000);
    }
}

async function production(o: RestoreOptions): Promise<string> {
    if (o.snapshotNow) return runJobFrom(o, `${o.instance}-db-snapshot`, {});
    if (o.snapshot === "none") return runJobFrom(o, `${o.instance}-db-restore`, { SNAPSHOT: "none" });
    const deployments = controlPlane(o);
    o.log(`stopping ${deployments.map((d) => `${d.name} (${d.replicas})`).join(", ")}`);
    try {
        for (const d of deployments) kubectl(o, ["scale", "deployment", d.name, "-n", o.namespace, "--replicas=0"]);
        await waitNoPods(o);
        return await runJobFrom(o, `${o.instance}-db-restore`, { SNAPSHOT: o.snapshot });
    } finally {
        for (const d of deployments) kubectl(o, ["scale", "deployment", d.name, "-n", o.namespace, `--replicas=${d.replicas}`]);
        o.log(`started ${deployments.map((d) => d.name).join(", ")} again`);
    }
}

async function standalone(o: RestoreOptions): Promise<string> {
    const pod = `${o.instance}-0`;
    const exec = (script: string) => kubectl(o, ["exec", "-n", o.namespace, pod, "-c", "postgres", "--", "sh", "-c", script]);
    if (o.snapshotNow) return exec("sh /opt/db-backup/snapshot.sh manual");
    if (o.snapshot === "none") return exec("SNAPSHOT=none sh /opt/db-backup/restore.sh");
    // SNAPSHOT_NAME allows no quote or shell character
    exec(`printf '%s' '${o.snapshot}' > /backups/restore-request`);
    const uid = kubectl(o, ["get", "pod", pod, "-n", o.namespace, "-o", "jsonpath={.metadata.uid}"]);
    o.log(`restore of ${o.snapshot} requested; restarting ${pod}`);
    kubectl(o, ["delete", "pod", pod, "-n", o.namespace, "--wait=false"]);
    const deadline = Date.now() + o.timeoutSec * 1000;
    for (;;) {
        await sleep(2000);
        const p = JSON.parse(kubectl(o, ["get", "pod", pod, "-n", o.namespace, "-o", "json"], undefined, true) || "{}");
        if (!p.metadata || p.metadata.uid === uid) continue;
        const init = (p.status?.initContainerStatuses ?? []).find((c: any) => c.name === "db-restore");
        const terminated = init?.state?.terminated ?? init?.lastState?.terminated;
        if (terminated) {
            const logs = kubectl(o, ["logs", pod, "-n", o.namespace, "-c", "db-restore", ...(init.state?.terminated ? [] : ["--previous"])], undefined, true).trim();
            if (terminated.exitCode === 0) return logs;
            throw new Error(`the restore in ${pod} failed (exit ${terminated.exitCode}):\n${logs}`);
        }
        if (Date.now() > deadline) throw new Error(`the restore in ${pod} did not finish in ${o.timeoutSec}s`);
    }
}

/** Restores (or lists, or takes) a snapshot; returns the log of what ran. */
export async function restoreDatabase(o: RestoreOptions): Promise<string> {
    if (!SNAPSHOT_NAME.test(o.snapshot))
        throw new Error(`--snapshot must be latest, none or a snapshot's file name (airflow-<time>-g<generation>-<reason>-<revision>.dump), got ${JSON.stringify(o.snapshot)}`);
    const restoreJob = kubectl(o, ["get", "cronjob", `${o.instance}-db-restore`, "-n", o.namespace, "-o", "name"], undefined, true).trim();
    if (restoreJob) return production(o);
    const component = kubectl(
        o,
        ["get", "statefulset", o.instance, "-n", o.namespace, "-o", "jsonpath={.metadata.labels.app\\.kubernetes\\.io/component}"],
        undefined,
        true,
    ).trim();
    if (component === "standalone") return standalone(o);
    throw new Error(
        `no snapshots in namespace ${o.namespace}: neither cronjob/${o.instance}-db-restore (production) nor the standalone statefulset/${o.instance}; set database.backup.enabled: true`,
    );
}

function parseArgs(argv: string[]): RestoreOptions {
    const o: RestoreOptions = { namespace: "", instance: "airflow", snapshot: "latest", snapshotNow: false, timeoutSec: 3600, log: (l) => process.stderr.write(`${l}\n`) };
    for (let i = 0; i < argv.length; i++) {
        const value = () => {
            const v = argv[++i];
            if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
            return v;
        };
        switch (argv[i]) {
            case "--namespace":
                o.namespace = value();
                break;
            case "--instance":
                o.instance = value();
                break;
            case "--snapshot":
                o.snapshot = value();
                break;
            case "--snapshot-now":
                o.snapshotNow = true;
                break;
            case "--context":
                o.context = value();
                break;
            case "--timeout":
                o.timeoutSec = Number(value());
                break;
            default:
                throw new Error(
                    `unknown argument ${argv[i]} (usage: npm run db:restore -- --namespace <ns> [--instance airflow] [--snapshot latest|<file>|none] [--snapshot-now] [--context <ctx>])`,
                );
        }
    }
    if (!o.namespace) throw new Error("--namespace is required: the namespace of the deployment (airflow:namespace)");
    return o;
}

if (require.main === module) {
    (async () => {
        const o = parseArgs(process.argv.slice(2));
        process.stdout.write(`${await restoreDatabase(o)}\n`);
    })().catch((e) => {
        process.stderr.write(`db:restore: ${e instanceof Error ? e.message : e}\n`);
        process.exit(1);
    });
}
