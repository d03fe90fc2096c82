// Level 2 of the lab, issue 21 (deliverables 3-5): database snapshots and their restore, and key
// rotation by keys.generation, on the lab's real node. The production stack is deployed with
// database.backup on; a connection is stored and a DAG run recorded; keys.generation goes 0 -> 1
// while a task runs (the task must finish on its first try, a token issued before must still sign
// in, and the connection must be readable with the new key alone); a snapshot is taken with the
// repository's command, the database's volume wiped, and `npm run db:restore` brings the run
// history and the connection back. Then the standalone architecture: snapshot, wipe, restore.
// Run (lab up with --node first): node_modules/.bin/mocha --no-config --require ts-node/register/transpile-only --timeout 1200000 test-e2e/airflow/reliability.e2e.ts
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { kubectl, kubectlBinary, labKubeconfig, labVolumes, namespaceLeftovers, REPO_DIR } from "../../lab/ts";
import { pods, secretValue, seconds, uiServiceUrl, waitFor, waitReady } from "../../lab/ts/airflow/cluster";
import { AirflowApi } from "../../lab/ts/airflow/airflowApi";
import { deploy, deployPath, destroy, labStackOverrides, stackExport, writeStackConfig } from "../../lab/ts/airflow/deploy";
import { migrationJobs, psql, readConnection, runToEnd, schemaRevision } from "../../lab/ts/airflow/probes";

const log = (line: string) => process.stdout.write(`      ${line}\n`);

/** The keys Secret (airflow-keys, then airflow-keys-g<N> from keys.generation 1). */
const keysSecret = (namespace: string) =>
    kubectl(["get", "secret", "-n", namespace, "-l", "app.kubernetes.io/component=keys", "-o", "jsonpath={.items[*].metadata.name}"]).stdout.trim();
const apiFor = (namespace: string) => new AirflowApi(uiServiceUrl(namespace), "admin", secretValue(namespace, keysSecret(namespace), "admin-password"));

/** `npm run db:restore -- <args>` against the lab cluster; returns its output, throws when it fails. */
function dbRestore(args: string[]): string {
    const r = spawnSync(path.join(REPO_DIR, "node_modules", ".bin", "ts-node"), ["--transpile-only", "scripts/dbRestore.ts", ...args], {
        cwd: REPO_DIR,
        encoding: "utf8",
        env: { ...process.env, KUBECTL: kubectlBinary(), KUBECONFIG: labKubeconfig() },
        timeout: 900_000,
    });
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
    log(
        `npm run db:restore -- ${args.join(" ")}:\n${out
            .split("\n")
            .map((l) => `        ${l}`)
            .join("\n")}`,
    );
    if (r.status !== 0) throw new Error(`db:restore ${args.join(" ")} failed (exit ${r.status}):\n${out}`);
    return out;
}

/** Deletes a StatefulSet pod's data claim while the pod is stopped: Postgres starts again on an empty volume. */
async function wipeClaim(namespace: string, statefulSet: string, claim: string): Promise<void> {
    kubectl(["scale", "statefulset", statefulSet, "-n", namespace, "--replicas=0"]);
    await waitFor(`${statefulSet}'s pod to stop`, 180, async () => (pods(namespace).some((p) => p.metadata.name === `${statefulSet}-0`) ? undefined : true));
    const pv = kubectl(["get", "pvc", claim, "-n", namespace, "-o", "jsonpath={.spec.volumeName}"]).stdout.trim();
    kubectl(["delete", "pvc", claim, "-n", namespace, "--wait=true", "--timeout=120s"]);
    // the lab's volumes are kept when released; lab/pvs.sh empties released ones and makes them available
    labVolumes(8);
    kubectl(["scale", "statefulset", statefulSet, "-n", namespace, "--replicas=1"]);
    const fresh = await waitFor(`a new ${claim}`, 180, async () => {
        const r = kubectl(["get", "pvc", claim, "-n", namespace, "-o", "jsonpath={.status.phase} {.spec.volumeName}"], { allowFail: true });
        return r.code === 0 && r.stdout.startsWith("Bound") ? r.stdout.split(" ")[1] : undefined;
    });
    log(`wiped ${claim}: volume ${pv} released and emptied; the pod started on ${fresh}`);
}

/** A Job with the pod template of Job `from` (its own labels kept, the controller's dropped), `edit` applied; waits for it, returns its pods' logs. */
function runJobLike(namespace: string, from: string, name: string, edit: (spec: any) => void): string {
    const job = JSON.parse(kubectl(["get", "job", from, "-n", namespace, "-o", "json"]).stdout);
    const template = job.spec.template;
    for (const key of ["controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"]) delete template.metadata.labels[key];
    edit(template.spec);
    const manifest = { apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace, labels: job.metadata.labels }, spec: { backoffLimit: 0, template } };
    kubectl(["create", "-f", "-"], { input: JSON.stringify(manifest) });
    const done = kubectl(["wait", `job/${name}`, "-n", namespace, "--for=condition=complete", "--timeout=600s"], { allowFail: true, timeoutMs: 620_000 });
    const logs = kubectl(["logs", `job/${name}`, "-n", namespace, "--all-containers", "--tail=200"], { allowFail: true }).stdout;
    if (done.code !== 0) throw new Error(`job ${name} did not complete:\n${logs.slice(-4000)}`);
    return logs;
}

const CONTROL_PLANE = ["scheduler", "api-server", "dag-processor", "triggerer"];
/** Scales the control plane's Deployments to `replicas` (a number, or each one's from a previous call); returns what they had. */
function scaleControlPlane(namespace: string, replicas: number | Record<string, number>): Record<string, number> {
    const had: Record<string, number> = {};
    for (const d of CONTROL_PLANE) {
        had[d] = Number(kubectl(["get", "deployment", `airflow-${d}`, "-n", namespace, "-o", "jsonpath={.spec.replicas}"]).stdout);
        kubectl(["scale", "deployment", `airflow-${d}`, "-n", namespace, `--replicas=${typeof replicas === "number" ? replicas : replicas[d]}`]);
    }
    return had;
}

/** `<op> <urn>` of each step of a Pulumi update, from its event log (none on the render path). */
function updateOps(eventLog: string | undefined): string[] {
    if (!eventLog) return [];
    return fs
        .readFileSync(eventLog, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).resOutputsEvent?.metadata)
        .filter((m) => m && m.op !== "same")
        .map((m) => `${m.op} ${m.urn}`);
}

describe("reliability on the lab's real node: database snapshots and restore, key rotation (issue 21)", function () {
    this.bail(true);
    const via = deployPath();
    const NS = "airflow-reliab";
    const CONN = "lab_secret_conn";
    const CONN_PASSWORD = `before-rotation-${Date.now()}`;
    const overrides = (generation: number) => ({
        ...labStackOverrides("dags-v2"),
        namespace: NS,
        database: { storageClassName: "lab", storageSize: "2Gi", backup: { enabled: true, retain: 2, storageSize: "1Gi" } },
        keys: { generation },
    });
    let configFile = "";
    let api: AirflowApi;
    let historyRun = "";
    let firstKey = "";

    before(() => log(`deploy path: ${via.path} (${via.why})`));

    it("deploys with database.backup on: the first migration finds no schema to keep", async function () {
        configFile = writeStackConfig("lab-reliability", overrides(0));
        labVolumes(8);
        deploy("lab-reliability", configFile, via.path, log);
        await waitReady(NS, 600);
        api = apiFor(NS);
        await waitFor("a healthy API server", 180, async () => ((await api.health()).scheduler?.status === "healthy" ? true : undefined));
        const job = migrationJobs(NS)[0];
        assert.ok(job, "a migration Job");
        const check = kubectl(["logs", "-n", NS, job, "-c", "schema-check"]).stdout.trim();
        const snapshot = kubectl(["logs", "-n", NS, job, "-c", "snapshot"]).stdout.trim();
        log(`${job}: schema-check "${check.split("\n").pop()}"; snapshot "${snapshot}"`);
        assert.match(check, /schema check: pending/);
        assert.match(snapshot, /no Airflow schema in the database yet: nothing to snapshot/);
    });

    it("stores a connection (encrypted with the Fernet key) and records a DAG run", async function () {
        await api.request("POST", "/api/v2/connections", { connection_id: CONN, conn_type: "http", host: "example.invalid", login: "lab", password: CONN_PASSWORD });
        const stored = psql(NS, "airflow-postgres-0", `select is_encrypted || ' ' || (password = '${CONN_PASSWORD}') from connection where conn_id = '${CONN}'`);
        assert.strictEqual(stored, "true false", "stored encrypted, not as its text");
        await waitFor("lab_added to be parsed", 240, async () => ((await api.get("/api/v2/dags/lab_added")).dag_id ? true : undefined));
        await api.unpause("lab_added");
        historyRun = `lab-history-${Date.now()}`;
        await api.trigger("lab_added", historyRun);
        assert.strictEqual(await runToEnd(api, "lab_added", historyRun, 300), "success");
        firstKey = secretValue(NS, keysSecret(NS), "fernet-key");
        assert.ok(!firstKey.includes(","), "generation 0: one key");
    });

    it("snapshots before a migration that changes the schema (the database taken back to Airflow 3.2.0's schema, then the migration Job again)", async function () {
        const migration = migrationJobs(NS)[0].split("/")[1];
        const replicas = scaleControlPlane(NS, 0);
        await waitFor("the control plane to stop", 240, async () =>
            pods(NS).some((p) => CONTROL_PLANE.includes(p.metadata.labels?.["app.kubernetes.io/component"] ?? "")) ? undefined : true,
        );
        const head = schemaRevision(NS, "airflow-postgres-0");
        const downgrade = runJobLike(NS, migration, "lab-downgrade", (spec) => {
            spec.initContainers = undefined;
            spec.containers[0].args = ["bash", "-c", "airflow db downgrade --to-version 3.2.0 --yes"];
        });
        const older = schemaRevision(NS, "airflow-postgres-0");
        log(`schema ${head} taken down to ${older} (3.2.0): ${downgrade.trim().split("\n").slice(-2).join(" | ")}`);
        assert.notStrictEqual(older, head);
        const again = runJobLike(NS, migration, "lab-migrate-again", () => {});
        const snapshotLine = again.split("\n").find((l) => l.startsWith("snapshot airflow-"));
        log(`the migration Job again: "${again.split("\n").find((l) => l.startsWith("schema check:"))}"; "${snapshotLine}"`);
        assert.match(snapshotLine ?? "", new RegExp(`^snapshot airflow-\\d{8}T\\d{6}Z-g0-pre-migration-${older}\\.dump: \\d+ bytes, schema revision ${older}$`));
        assert.strictEqual(schemaRevision(NS, "airflow-postgres-0"), head, "migrated back to the image's schema");
        scaleControlPlane(NS, replicas);
        await waitReady(NS, 600);
        for (const j of ["lab-downgrade", "lab-migrate-again"]) kubectl(["delete", "job", j, "-n", NS, "--wait=false"]);
        api = apiFor(NS);
        assert.strictEqual((await waitFor("the API after the migration", 240, async () => api.dagRun("lab_added", historyRun))).state, "success");
    });

    it("rotates the keys (keys.generation 1) while a task runs: the task finishes on its first try, a token from before still works, the connection reads with the new key alone", async function () {
        const tokenBefore = (
            (await (
                await fetch(`${api.baseUrl}/auth/token`, {
                    method: "POST",
                    headers: { "content-type": "application/json" },
                    body: JSON.stringify({ username: "admin", password: secretValue(NS, keysSecret(NS), "admin-password") }),
                })
            ).json()) as { access_token: string }
        ).access_token;
        const runId = `lab-rotation-${Date.now()}`;
        await api.request("POST", "/api/v2/dags/lab_added/dagRuns", { dag_run_id: runId, logical_date: null, conf: { sleep: 150 } });
        await waitFor("the task to be running", 180, async () => ((await api.taskInstances("lab_added", runId)).some((t) => t.state === "running") ? true : undefined));
        const t = Date.now();
        configFile = writeStackConfig("lab-reliability", overrides(1));
        const events = deploy("lab-reliability", configFile, via.path, log);
        log(`update with keys.generation 1 (rolled out, rotate-fernet-key done): ${seconds(t).toFixed(1)}s`);
        const keys = secretValue(NS, keysSecret(NS), "fernet-key").split(",");
        assert.strictEqual(keys.length, 2, "two keys during the overlap");
        assert.strictEqual(keys[1], firstKey, "the previous key second");
        assert.notStrictEqual(keys[0], firstKey, "a new key first");
        assert.strictEqual(keysSecret(NS), "airflow-keys-g1", "one keys Secret, the new generation's");
        const replaced = updateOps(events).filter((o) => o.startsWith("replace ") && /Deployment|StatefulSet/.test(o));
        assert.deepStrictEqual(replaced, [], "the workloads roll, none is replaced (deleted first)");
        const rotation = kubectl(["get", "job", "airflow-rotate-keys-g1", "-n", NS, "-o", "jsonpath={.status.succeeded}"]).stdout;
        assert.strictEqual(rotation, "1", "rotate-fernet-key completed");
        const state = await runToEnd(api, "lab_added", runId, 420);
        const tis = await api.taskInstances("lab_added", runId);
        log(`run across the rotation: ${state}; ${tis.map((ti) => `${ti.task_id} ${ti.state} (try ${ti.try_number})`).join(", ")}`);
        assert.deepStrictEqual([state, tis.map((ti) => ti.try_number)], ["success", [1]], "no task failed or retried");
        const withOldToken = await fetch(`${api.baseUrl}/api/v2/dags?limit=1`, { headers: { authorization: `Bearer ${tokenBefore}` } });
        assert.strictEqual(withOldToken.status, 200, "a sign-in from before the rotation is still accepted");
        const newOnly = readConnection(NS, CONN, { fernetKeys: keys[0] });
        const oldOnly = readConnection(NS, CONN, { fernetKeys: keys[1] });
        log(`the connection with the new key alone: ${JSON.stringify(newOnly.stdout.trim())}; with the old key alone: ${JSON.stringify(oldOnly.stdout.trim().split("\n").pop())}`);
        assert.strictEqual(newOnly.stdout.trim().split("\n").pop(), CONN_PASSWORD, "re-encrypted with the new key");
        assert.notStrictEqual(oldOnly.stdout.trim().split("\n").pop(), CONN_PASSWORD, "no longer readable with the old key alone");
        if (via.path === "pulumi") {
            const state = stackExport("lab-reliability");
            for (const key of keys) assert.ok(!state.includes(key), "no Fernet key in the Pulumi state in plain text");
            log(`pulumi stack export: ${state.length} bytes, neither Fernet key in plain text`);
        }
    });

    it("takes a snapshot with npm run db:restore, survives a wiped database volume, and restores the run history and the connection", async function () {
        const taken = dbRestore(["--namespace", NS, "--snapshot-now"]);
        assert.match(taken, /snapshot airflow-\d{8}T\d{6}Z-g1-manual-[0-9a-f]+\.dump: \d+ bytes/);
        const runsBefore = psql(NS, "airflow-postgres-0", "select count(*) from dag_run");
        await wipeClaim(NS, "airflow-postgres", "data-airflow-postgres-0");
        await waitFor("Postgres to answer on the empty volume", 180, async () => (psql(NS, "airflow-postgres-0", "select 1") === "1" ? true : undefined));
        assert.strictEqual(psql(NS, "airflow-postgres-0", "select to_regclass('public.dag_run') is null"), "t", "the database is empty");
        const t = Date.now();
        const restored = dbRestore(["--namespace", NS]);
        assert.match(restored, /restored airflow-\S+-g1-manual-\S+\.dump: schema revision [0-9a-f]+/);
        assert.strictEqual(psql(NS, "airflow-postgres-0", "select count(*) from dag_run"), runsBefore, "every run back");
        // the control plane is back and serves the history (its pods crashed on the empty database, then restarted)
        for (const p of pods(NS).filter((p) => (p.status.containerStatuses ?? []).some((c: any) => !c.ready) && p.status.phase === "Running")) {
            kubectl(["delete", "pod", "-n", NS, p.metadata.name, "--wait=false"]);
        }
        await waitReady(NS, 600);
        api = apiFor(NS);
        const run = await waitFor("the API to serve the restored history", 240, async () => api.dagRun("lab_added", historyRun));
        log(`restore to the API serving the history: ${seconds(t).toFixed(1)}s; ${historyRun}: ${run.state}`);
        assert.strictEqual(run.state, "success");
        assert.strictEqual(readConnection(NS, CONN).stdout.trim().split("\n").pop(), CONN_PASSWORD, "the connection is back and readable");
        const rerun = `lab-after-restore-${Date.now()}`;
        await api.trigger("lab_added", rerun);
        assert.strictEqual(await runToEnd(api, "lab_added", rerun, 300), "success", "Airflow runs on the restored database");
        const listed = dbRestore(["--namespace", NS, "--snapshot", "none"]);
        assert.ok((listed.match(/^ {2}airflow-\S+\.dump$/gm) ?? []).length <= 2, "at most database.backup.retain snapshots");
    });

    it("destroys the stack", async function () {
        destroy("lab-reliability", via.path, configFile, NS);
        kubectl(["delete", "namespace", NS, "--ignore-not-found", "--timeout=180s"], { timeoutMs: 200_000 });
        assert.deepStrictEqual(namespaceLeftovers(NS), []);
    });

    it("standalone: a snapshot, a wiped data volume, and the restore at the pod's start bring the run history back", async function () {
        const SNS = "airflow-reliab-standalone";
        const file = writeStackConfig(
            "lab-reliability-standalone",
            { ...labStackOverrides("dags-v2", "standalone"), namespace: SNS, database: { backup: { enabled: true, retain: 2, storageSize: "1Gi" } } },
            "Pulumi.local-standalone.yaml",
        );
        labVolumes(8);
        deploy("lab-reliability-standalone", file, via.path, log);
        await waitReady(SNS, 600);
        const sapi = apiFor(SNS);
        await waitFor("lab_added to be parsed", 240, async () => ((await sapi.get("/api/v2/dags/lab_added")).dag_id ? true : undefined));
        await sapi.unpause("lab_added");
        const runId = `lab-standalone-history-${Date.now()}`;
        await sapi.trigger("lab_added", runId);
        assert.strictEqual(await runToEnd(sapi, "lab_added", runId, 300), "success");
        assert.match(dbRestore(["--namespace", SNS, "--snapshot-now"]), /snapshot airflow-\S+-g0-manual-\S+\.dump/);
        await wipeClaim(SNS, "airflow", "data-airflow-0");
        await waitReady(SNS, 600);
        const wiped = apiFor(SNS);
        await waitFor("the empty database to be migrated", 240, async () => ((await wiped.health()).metadatabase?.status === "healthy" ? true : undefined));
        assert.strictEqual(psql(SNS, "airflow-0", "select count(*) from dag_run"), "0", "the history is gone with the volume");
        const t = Date.now();
        const restored = dbRestore(["--namespace", SNS]);
        assert.match(restored, /restored airflow-\S+\.dump: schema revision/);
        await waitReady(SNS, 600);
        const after = apiFor(SNS);
        const run = await waitFor("the restored run", 240, async () => after.dagRun("lab_added", runId));
        log(`standalone restore to the run served: ${seconds(t).toFixed(1)}s (${run.state})`);
        assert.strictEqual(run.state, "success");
        destroy("lab-reliability-standalone", via.path, file, SNS);
        kubectl(["delete", "namespace", SNS, "--ignore-not-found", "--timeout=180s"], { timeoutMs: 200_000 });
    });
});
