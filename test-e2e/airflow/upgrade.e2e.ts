// Level 2, issue 21: an Airflow minor upgrade in place, for the production architecture and the
// standalone one. The stack is deployed at the previous release (AIRFLOW_LAB_PREVIOUS of
// lab/images.sh, e.g. 3.2.2: its own stand-in, base and DAG image, from PyPI), a connection stored and
// a run recorded, a task left running; then one `pulumi up` to the current release (airflowVersion and
// the image). What must hold: the schema migrated once (production: one new migration Job, with the
// snapshot database.backup takes before it), the run history and the connection kept (read with the
// same Fernet key), the task that was running across the upgrade ends in success by Airflow's rules
// (production: on its worker pod; standalone: the pod is replaced, so its retry), and the API server
// answers throughout (production) or is back within a measured time (standalone: one pod).
// Run (lab up with --node, images built with AIRFLOW_LAB_IMAGES=lab AIRFLOW_LAB_PREVIOUS=3.2.2 first):
//   node_modules/.bin/mocha --no-config --require ts-node/register/transpile-only --timeout 1800000 test-e2e/airflow/upgrade.e2e.ts
import * as assert from "assert";
import { kubectl, labVolumes, namespaceLeftovers } from "../../lab/ts";
import { apiFor, labImages, seconds, waitFor, waitReady } from "../../lab/ts/airflow/cluster";
import { deploy, deployPath, destroy, labStackOverrides, writeStackConfig } from "../../lab/ts/airflow/deploy";
import { migrationJobs, ONE_RETRY, readConnection, runToEnd, SCHEDULER_SHELL, schemaRevision, STANDALONE_SHELL, whileServing } from "../../lab/ts/airflow/probes";

const log = (line: string) => process.stdout.write(`      ${line}\n`);
const CURRENT = "3.3.2";

/** What differs between the two architectures in this scenario. */
const ARCHITECTURES = {
    production: {
        ns: "airflow-upgrade",
        stack: "lab-upgrade",
        template: undefined,
        databasePod: "airflow-postgres-0",
        shell: SCHEDULER_SHELL,
        // the snapshot before a migration that changes the schema is the migration Job's
        backup: { backup: { enabled: true, retain: 2, storageSize: "1Gi" } },
    },
    standalone: {
        ns: "airflow-upgrade-standalone",
        stack: "lab-upgrade-standalone",
        template: "Pulumi.local-standalone.yaml",
        databasePod: "airflow-0",
        shell: STANDALONE_SHELL,
        backup: {},
    },
};

function upgradeInPlace(architecture: keyof typeof ARCHITECTURES): void {
    const a = ARCHITECTURES[architecture];
    describe(`${architecture}: an Airflow minor upgrade in place, on the lab's real node (level 2)`, function () {
        this.bail(true);
        const via = deployPath();
        const images = labImages();
        const previous = images.PREVIOUS_AIRFLOW_VERSION;
        const conn = "lab_upgrade_conn";
        const connPassword = `before-upgrade-${Date.now()}`;
        // the previous release: lab-built by digest; the current: the DAG image with the lab's test DAGs,
        // engine-built on the engine path (lab/images.sh's LAB_PROJECT_IMAGES), else lab-built
        const stackFor = (airflowVersion: string, image: string) => ({
            ...labStackOverrides(image, architecture),
            namespace: a.ns,
            airflowVersion,
            extraEnv: ONE_RETRY,
            database: a.backup,
        });
        let configFile = "";
        let historyRun = "";
        let runningRun = "";
        let revisionBefore = "";
        let upgradeEnded = 0;

        before(function () {
            if (!previous || !images.PREVIOUS_DAGS_V2) {
                log("upgrade skipped: no images of a previous Airflow release (build them with AIRFLOW_LAB_IMAGES=lab AIRFLOW_LAB_PREVIOUS=3.2.2 bash lab/images.sh)");
                this.skip();
            }
            log(`deploy path: ${via.path} (${via.why}); ${previous} -> ${CURRENT}`);
        });

        after(function () {
            if (configFile) destroy(a.stack, via.path, configFile, a.ns);
        });

        it("deploys the previous release, stores a connection, records a run and leaves a task running", async function () {
            configFile = writeStackConfig(a.stack, stackFor(previous, images.PREVIOUS_DAGS_V2), a.template);
            labVolumes(8); // volumes released by earlier specs are recycled (the lab's PVs are retained)
            deploy(a.stack, configFile, via.path, log);
            await waitReady(a.ns, 600);
            const api = apiFor(a.ns);
            const version = (await api.get("/api/v2/version")).version;
            revisionBefore = schemaRevision(a.ns, a.databasePod);
            log(`the API server reports Airflow ${version}; schema revision ${revisionBefore}`);
            assert.strictEqual(version, previous);
            await api.request("POST", "/api/v2/connections", { connection_id: conn, conn_type: "http", host: "example.invalid", login: "lab", password: connPassword });
            await waitFor("lab_added to be parsed", 240, async () => ((await api.get("/api/v2/dags/lab_added")).dag_id ? true : undefined));
            await api.unpause("lab_added");
            historyRun = `lab-before-upgrade-${Date.now()}`;
            await api.trigger("lab_added", historyRun);
            assert.strictEqual(await runToEnd(api, "lab_added", historyRun, 300), "success");
            runningRun = `lab-across-upgrade-${Date.now()}`;
            await api.trigger("lab_added", runningRun, { sleep: 60 });
            await waitFor("the task to be running", 180, async () => ((await api.taskInstances("lab_added", runningRun)).some((t) => t.state === "running") ? true : undefined));
        });

        it("upgrades in place with one pulumi up: the schema migrated once, the API back within a measured time", async function () {
            const before = migrationJobs(a.ns);
            configFile = writeStackConfig(a.stack, stackFor(CURRENT, "dags-v2"), a.template);
            const t = Date.now();
            const { result, failed, polls, lastFailedSec } = whileServing(a.ns, () => deploy(a.stack, configFile, via.path, log));
            if (result instanceof Error) throw result;
            upgradeEnded = Date.now();
            log(
                `upgrade ${previous} -> ${CURRENT}: pulumi up ${seconds(t).toFixed(1)} s; health polls not 200: ${failed} of ${polls}${lastFailedSec === undefined ? "" : ` (the last ${lastFailedSec.toFixed(1)} s after the start)`}`,
            );
            await waitReady(a.ns, 600);
            const api = apiFor(a.ns);
            const version = await waitFor(`the API server to report ${CURRENT}`, 300, async () => {
                const v = (await api.get("/api/v2/version")).version;
                return v === CURRENT ? v : undefined;
            });
            const revisionAfter = schemaRevision(a.ns, a.databasePod);
            log(`the API server reports Airflow ${version} ${seconds(t).toFixed(1)} s after the update started; schema revision ${revisionBefore} -> ${revisionAfter}`);
            if (architecture === "production") {
                assert.strictEqual(failed, 0, "rolling updates keep a ready API server pod");
                const added = migrationJobs(a.ns).filter((j) => !before.includes(j));
                assert.strictEqual(added.length, 1, "one new migration Job");
                const snapshot = kubectl(["logs", "-n", a.ns, added[0], "-c", "snapshot"]).stdout.trim();
                log(`${added[0]}: snapshot "${snapshot.split("\n").pop()}"`);
                assert.match(
                    snapshot,
                    revisionAfter === revisionBefore ? /schema is current/ : new RegExp(`snapshot airflow-\\d{8}T\\d{6}Z-g0-pre-migration-${revisionBefore}\\.dump: \\d+ bytes`),
                );
            } else {
                assert.deepStrictEqual(migrationJobs(a.ns), [], "the standalone pod migrates at its start");
                const ended = kubectl(["logs", "-n", a.ns, "airflow-0", "-c", "airflow"])
                    .stdout.split("\n")
                    .find((l) => /jobs of the previous pod ended/.test(l));
                log(`the new pod, before its scheduler started: "${ended}"`);
                assert.match(ended ?? "", /^[1-9]\d* Airflow jobs of the previous pod ended$/);
            }
        });

        it("keeps the run history and the connection, and the task that was running ends in success", async function () {
            const api = apiFor(a.ns);
            assert.strictEqual((await api.dagRun("lab_added", historyRun)).state, "success", "the run from before the upgrade is kept");
            const password = readConnection(a.ns, conn, { at: a.shell }).stdout.trim().split("\n").pop();
            assert.strictEqual(password, connPassword, "the connection reads back with the kept Fernet key");
            const state = await runToEnd(api, "lab_added", runningRun, 900);
            const tis = await api.taskInstances("lab_added", runningRun);
            log(`the run across the upgrade: ${state}; ${tis.map((ti) => `${ti.task_id} ${ti.state} (try ${ti.try_number})`).join(", ")}`);
            assert.strictEqual(state, "success");
            if (architecture === "standalone") {
                // the new pod ended the old pod's jobs: its scheduler's first orphan check, not the one 300 s later, reset the task
                const next = tis.find((ti) => ti.try_number === 2)?.start_date;
                const after = next ? (Date.parse(next) - upgradeEnded) / 1000 : Number.NaN;
                log(`the task's try 2 started ${after.toFixed(1)} s after pulumi up ended`);
                assert.ok(after < 120, "the task is scheduled again at the new scheduler's start, not after orphaned_tasks_check_interval (300 s)");
            }
            // production: the worker pod is not touched by the upgrade; standalone: its process dies with the pod
            assert.ok(
                tis.every((ti) => ti.try_number <= (architecture === "production" ? 1 : 2)),
                "no retry beyond what the architecture implies",
            );
            const fresh = `lab-after-upgrade-${Date.now()}`;
            await api.trigger("lab_added", fresh);
            assert.strictEqual(await runToEnd(api, "lab_added", fresh, 300), "success", "a new run on the new release");
        });

        it("destroys the stack and leaves the namespace empty", function () {
            destroy(a.stack, via.path, configFile, a.ns);
            configFile = "";
            kubectl(["delete", "namespace", a.ns, "--ignore-not-found", "--timeout=180s"], { timeoutMs: 200_000 });
            assert.deepStrictEqual(namespaceLeftovers(a.ns), []);
        });
    });
}

upgradeInPlace("production");
upgradeInPlace("standalone");
