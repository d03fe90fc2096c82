// Level 2, issue 21: an Airflow minor upgrade in place, production architecture. The stack is deployed
// at the previous release (AIRFLOW_LAB_PREVIOUS of lab/images.sh, e.g. 3.2.2: its own stand-in, base
// and DAG image, from PyPI), a connection stored and a run recorded, a task left running; then one
// `pulumi up` to the current release (airflowVersion and the image). What must hold: one new
// migration Job, the run history and the connection kept (read with the same Fernet key), the task
// that was running across the upgrade ends in success by Airflow's rules, and the API server answers
// throughout or is back within a measured time.
// Run (lab up with --node, images built with AIRFLOW_LAB_IMAGES=lab AIRFLOW_LAB_PREVIOUS=3.2.2 first):
//   node_modules/.bin/mocha --no-config --require ts-node/register/transpile-only --timeout 1800000 test-e2e/airflow/upgrade.e2e.ts
import * as assert from "assert";
import { kubectl, labVolumes, namespaceLeftovers } from "../../lab/ts";
import { apiFor, labImages, seconds, waitFor, waitReady } from "../../lab/ts/airflow/cluster";
import { deploy, deployPath, destroy, labStackOverrides, writeStackConfig } from "../../lab/ts/airflow/deploy";
import { ONE_RETRY, readConnection, runToEnd, whileServing } from "../../lab/ts/airflow/probes";

const log = (line: string) => process.stdout.write(`      ${line}\n`);
const NS = "airflow-upgrade";
const STACK = "lab-upgrade";
const CONN = "lab_upgrade_conn";
const CONN_PASSWORD = `before-upgrade-${Date.now()}`;

const migrationJobs = () =>
    kubectl(["get", "jobs", "-n", NS, "-o", "name"])
        .stdout.split("\n")
        .filter((j) => j.startsWith("job.batch/airflow-migrate-"));

describe("an Airflow minor upgrade in place, on the lab's real node (level 2)", function () {
    this.bail(true);
    const via = deployPath();
    const images = labImages();
    const previous = images.PREVIOUS_AIRFLOW_VERSION;
    const current = "3.3.2";
    const stackFor = (airflowVersion: string, image: string) => ({ ...labStackOverrides(image), namespace: NS, airflowVersion, extraEnv: ONE_RETRY });
    let configFile = "";
    let historyRun = "";
    let runningRun = "";

    before(function () {
        if (!previous || !images.PREVIOUS_DAGS_V2 || !images.DAGS_V2) {
            log("upgrade skipped: no images of a previous Airflow release (build them with AIRFLOW_LAB_IMAGES=lab AIRFLOW_LAB_PREVIOUS=3.2.2 bash lab/images.sh)");
            this.skip();
        }
        log(`deploy path: ${via.path} (${via.why}); ${previous} -> ${current}`);
    });

    after(function () {
        if (configFile) destroy(STACK, via.path, configFile, NS);
    });

    it(`deploys the previous release, stores a connection, records a run and leaves a task running`, async function () {
        configFile = writeStackConfig(STACK, stackFor(previous, images.PREVIOUS_DAGS_V2));
        labVolumes(8); // volumes released by earlier specs are recycled (the lab's PVs are retained)
        deploy(STACK, configFile, via.path, log);
        await waitReady(NS, 600);
        const api = apiFor(NS);
        const version = (await api.get("/api/v2/version")).version;
        log(`the API server reports Airflow ${version}`);
        assert.strictEqual(version, previous);
        await api.request("POST", "/api/v2/connections", { connection_id: CONN, conn_type: "http", host: "example.invalid", login: "lab", password: CONN_PASSWORD });
        await waitFor("lab_added to be parsed", 240, async () => ((await api.get("/api/v2/dags/lab_added")).dag_id ? true : undefined));
        await api.unpause("lab_added");
        historyRun = `lab-before-upgrade-${Date.now()}`;
        await api.trigger("lab_added", historyRun);
        assert.strictEqual(await runToEnd(api, "lab_added", historyRun, 300), "success");
        runningRun = `lab-across-upgrade-${Date.now()}`;
        await api.trigger("lab_added", runningRun, { sleep: 60 });
        await waitFor("the task to be running", 180, async () => ((await api.taskInstances("lab_added", runningRun)).some((t) => t.state === "running") ? true : undefined));
    });

    it(`upgrades in place with one pulumi up: one new migration, the API back within a measured time`, async function () {
        const before = migrationJobs();
        configFile = writeStackConfig(STACK, stackFor(current, images.DAGS_V2));
        const t = Date.now();
        const { result, failed, polls, lastFailedSec } = whileServing(NS, () => deploy(STACK, configFile, via.path, log));
        if (result instanceof Error) throw result;
        log(
            `upgrade ${previous} -> ${current}: pulumi up ${seconds(t).toFixed(1)} s; health polls not 200: ${failed} of ${polls}${lastFailedSec === undefined ? "" : ` (the last ${lastFailedSec.toFixed(1)} s after the start)`}`,
        );
        await waitReady(NS, 600);
        const api = apiFor(NS);
        const version = await waitFor(`the API server to report ${current}`, 300, async () => {
            const v = (await api.get("/api/v2/version")).version;
            return v === current ? v : undefined;
        });
        log(`the API server reports Airflow ${version} ${seconds(t).toFixed(1)} s after the update started`);
        const after = migrationJobs();
        log(`migration Jobs: before ${before.join(", ")}; after ${after.join(", ")}`);
        assert.strictEqual(after.filter((j) => !before.includes(j)).length, 1, "one new migration Job");
    });

    it("keeps the run history and the connection, and the task that was running ends in success", async function () {
        const api = apiFor(NS);
        assert.strictEqual((await api.dagRun("lab_added", historyRun)).state, "success", "the run from before the upgrade is kept");
        const password = readConnection(NS, CONN).stdout.trim().split("\n").pop();
        assert.strictEqual(password, CONN_PASSWORD, "the connection reads back with the kept Fernet key");
        const state = await runToEnd(api, "lab_added", runningRun, 600);
        const tis = await api.taskInstances("lab_added", runningRun);
        log(`the run across the upgrade: ${state}; ${tis.map((ti) => `${ti.task_id} ${ti.state} (try ${ti.try_number})`).join(", ")}`);
        assert.strictEqual(state, "success");
        const fresh = `lab-after-upgrade-${Date.now()}`;
        await api.trigger("lab_added", fresh);
        assert.strictEqual(await runToEnd(api, "lab_added", fresh, 300), "success", "a new run on the new release");
    });

    it("destroys the stack and leaves the namespace empty", function () {
        destroy(STACK, via.path, configFile, NS);
        configFile = "";
        assert.deepStrictEqual(namespaceLeftovers(NS), []);
    });
});
