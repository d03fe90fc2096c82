// Level 2, updates interrupted or unable to succeed, through the real Pulumi engine: a `pulumi up`
// killed mid-deploy, an image that cannot be pulled, a migration whose database refuses the connection. Each must fail the update at a deadline the
// stack sets, saying which pod and why, while the Airflow already running keeps serving; the next
// update with a good config converges. Runs after the scenario, on its lab.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import { kubectl, namespaceLeftovers } from "../../lab/ts";
import { apiFor, labImages, pods, waitFor, waitReady } from "../../lab/ts/airflow/cluster";
import { deploy, deployPath, destroy, labStackOverrides, pulumiInvocation, writeStackConfig } from "../../lab/ts/airflow/deploy";
import { deployedImages } from "../../lab/ts/airflow/engineImages";
import { whileServing } from "../../lab/ts/airflow/probes";

const log = (line: string) => process.stdout.write(`      ${line}\n`);
const NS = "airflow-faults";
const STACK = "lab-faults";
const ROLLOUT_MINUTES = 2;

/** A digest no registry has: what a typo'd or garbage-collected image looks like. */
const MISSING_DIGEST = `sha256:${"0".repeat(64)}`;

/** Starts `pulumi up` of `configFile` and kills it (SIGKILL) once `moment` holds. */
async function killUpWhen(configFile: string, what: string, moment: () => boolean): Promise<void> {
    const up = pulumiInvocation(["up", "--yes", "--skip-preview", "--stack", STACK, "--config-file", configFile, "--suppress-progress"]);
    const cli = spawn(up.command, up.args, { cwd: up.cwd, env: up.env, stdio: "ignore" });
    await waitFor(what, 300, async () => (moment() ? true : undefined));
    cli.kill("SIGKILL");
    await new Promise((r) => cli.once("exit", r));
}

/** The next deploy after a killed one: its lines, after checking that the left lock was cancelled. */
function deployAfterKill(configFile: string): string[] {
    const lines: string[] = [];
    deploy(STACK, configFile, deployPath().path, (l) => {
        lines.push(l);
        log(l);
    });
    assert.ok(
        lines.some((l) => /pulumi cancel/.test(l)),
        "the left lock was cancelled",
    );
    return lines;
}

function assertNoChanges(configFile: string): void {
    const preview = pulumiInvocation(["preview", "--stack", STACK, "--config-file", configFile, "--expect-no-changes", "--suppress-progress"]);
    const p = spawnSync(preview.command, preview.args, { cwd: preview.cwd, env: preview.env, encoding: "utf8" });
    assert.strictEqual(p.status, 0, `the preview after the recovery expects no changes:\n${String(p.stdout).slice(-2000)}`);
}

describe("updates that cannot succeed, on the lab's real node (level 2)", function () {
    this.bail(true);
    const via = deployPath();
    const images = labImages();
    const base = { ...labStackOverrides(), namespace: NS, rolloutTimeoutMinutes: ROLLOUT_MINUTES };
    let configFile = "";

    before(function () {
        if (via.path !== "pulumi") {
            log(`fault checks skipped: they need the Pulumi engine's deadlines (${via.why})`);
            this.skip();
        }
    });

    after(function () {
        if (configFile) destroy(STACK, via.path, configFile, NS);
    });

    it("a pulumi up killed (SIGKILL) in the middle of the first deploy: the next up converges, nothing duplicated, nothing left pending", async function () {
        configFile = writeStackConfig(STACK, base);
        // ensureStack and the program build happen in deploy(); here the stack must exist first
        const inv = pulumiInvocation(["stack", "init", STACK]);
        spawnSync(inv.command, inv.args, { cwd: inv.cwd, env: inv.env, encoding: "utf8" });
        // killed once the database exists and the migration has started: the middle of the deploy
        await killUpWhen(configFile, "the migration Job of the first deploy", () =>
            kubectl(["get", "jobs", "-n", NS, "-o", "name"], { allowFail: true }).stdout.includes("migrate"),
        );
        log(`pulumi up killed with ${kubectl(["get", "all", "-n", NS, "-o", "name"]).stdout.trim().split("\n").length} objects in ${NS}`);
        const lines = deployAfterKill(configFile);
        assert.ok(
            lines.some((l) => /adopting the \d+ Kubernetes objects/.test(l)),
            "the objects the killed update was creating were adopted",
        );
        await waitReady(NS, 600);
        const jobs = kubectl(["get", "jobs", "-n", NS, "-o", "name"]).stdout.trim().split("\n");
        // one of each Job: the one the killed update created was adopted, none left beside a new one
        for (const kind of ["migrate", "storage-prepare-share"]) {
            const some = jobs.filter((j) => j.includes(kind));
            assert.ok(some.length <= 1, `at most one ${kind} Job: ${some.join(", ")}`);
        }
        assert.strictEqual(jobs.filter((j) => j.includes("migrate")).length, 1, `one migration Job: ${jobs.join(", ")}`);
        for (const d of ["airflow-scheduler", "airflow-api-server", "airflow-dag-processor", "airflow-triggerer"]) {
            const rs = JSON.parse(kubectl(["get", "replicasets", "-n", NS, "-o", "json"]).stdout).items.filter((r: any) => r.metadata.ownerReferences?.[0]?.name === d);
            assert.strictEqual(rs.length, 1, `${d}: one ReplicaSet`);
        }
        assertNoChanges(configFile);
    });

    it("an extra container whose image cannot be pulled: the update fails within the rollout deadline naming the pod and the pull error; the old pod keeps serving", async function () {
        // a repository the lab registry has, at a digest it does not
        const bad = `${images.PAUSE.split("@")[0]}@${MISSING_DIGEST}`;
        const file = writeStackConfig(STACK, { ...base, apiServer: { extraContainers: [{ name: "missing", image: bad, command: ["sleep", "infinity"] }] } });
        const t = Date.now();
        const { result, failed, polls } = whileServing(NS, () => deploy(STACK, file, via.path, log));
        const seconds = (Date.now() - t) / 1000;
        assert.ok(result instanceof Error, "the update failed");
        assert.ok(polls > 10, `the health was polled throughout (${polls} polls)`);
        const message = result.message;
        log(`failed after ${seconds.toFixed(0)} s; health polls failed: ${failed} of ${polls}`);
        log(
            message
                .split("\n")
                .filter((l) => /airflow-api-server|ImagePull|ErrImage/.test(l))
                .slice(0, 4)
                .join("\n      "),
        );
        assert.ok(seconds < ROLLOUT_MINUTES * 60 + 120, `failed within the ${ROLLOUT_MINUTES}-minute deadline plus the engine's start (${seconds.toFixed(0)} s)`);
        assert.match(message, /airflow-api-server-[a-z0-9]+-[a-z0-9]+/, "the error names the pod");
        assert.match(message, /ErrImagePull|ImagePullBackOff/, "the error says why");
        assert.strictEqual(failed, 0, "the API server answered healthy all along (the old pod kept serving)");
        const ready = pods(NS, "app.kubernetes.io/component=api-server").filter((p) => (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"));
        assert.ok(ready.length >= 1, "an api-server pod is still Ready");
    });

    it("the next update with the good config converges", async function () {
        configFile = writeStackConfig(STACK, base);
        deploy(STACK, configFile, via.path, log);
        await waitReady(NS, 600);
        const stuck = pods(NS).filter((p) => p.spec.containers.some((c) => c.image.endsWith(MISSING_DIGEST)));
        assert.deepStrictEqual(
            stuck.map((p) => p.metadata.name),
            [],
            "no pod of the failed update is left",
        );
    });

    it("a migration whose database refuses the connection: the update fails with the migration's log lines, and the running Airflow keeps serving", async function () {
        kubectl(["create", "secret", "generic", "refusing-db", "-n", NS, "--from-literal=connection=postgresql+psycopg2://airflow:airflow@127.0.0.1:1/airflow"]);
        const file = writeStackConfig(STACK, {
            ...base,
            // the internal Postgres's sizing keys are refused with an external database: unset them
            database: { mode: "external", externalSecretName: "refusing-db", storageSize: undefined, storageClassName: undefined },
        });
        const t = Date.now();
        const { result, failed, polls } = whileServing(NS, () => deploy(STACK, file, via.path, log));
        const seconds = (Date.now() - t) / 1000;
        assert.ok(result instanceof Error, "the update failed");
        log(`failed after ${seconds.toFixed(0)} s; health polls failed: ${failed} of ${polls}`);
        const lines = result.message.split("\n").filter((l) => /refused|OperationalError|127\.0\.0\.1.*1\b/.test(l));
        log(lines.slice(0, 3).join("\n      "));
        assert.ok(lines.length > 0, `the error carries the migration's own log lines:\n${result.message.slice(-3000)}`);
        assert.match(result.message, /migrate/, "the error names the migration Job");
        assert.strictEqual(failed, 0, "the API server answered healthy all along");
        const postgres = pods(NS, "app.kubernetes.io/component=postgres");
        assert.ok(postgres.length === 1, "the internal database still runs (nothing was deleted by the failed update)");
    });

    it("the next update with the good config converges again", async function () {
        configFile = writeStackConfig(STACK, base);
        deploy(STACK, configFile, via.path, log);
        await waitReady(NS, 600);
        const api = apiFor(NS);
        await waitFor("a healthy API server", 120, async () => ((await api.health()).scheduler?.status === "healthy" ? true : undefined));
        kubectl(["delete", "secret", "refusing-db", "-n", NS]);
    });

    it("a pulumi up killed (SIGKILL) in the middle of an upgrade (a new DAG image rolling out): the next up converges on the new image", async function () {
        const previousImage = deployedImages(NS).airflow;
        configFile = writeStackConfig(STACK, { ...labStackOverrides("dags-v2"), namespace: NS, rolloutTimeoutMinutes: ROLLOUT_MINUTES });
        const generation = () => Number(kubectl(["get", "deployment", "airflow-scheduler", "-n", NS, "-o", "jsonpath={.metadata.generation}"]).stdout);
        const before = generation();
        await killUpWhen(configFile, "the upgrade's rollout to start", () => generation() > before);
        log("pulumi up killed while the scheduler Deployment rolled to the new DAG image");
        deployAfterKill(configFile);
        await waitReady(NS, 600);
        const live = pods(NS).filter(
            (p) => !p.metadata.labels?.["job-name"] && /scheduler|api-server|dag-processor|triggerer/.test(p.metadata.name) && !p.metadata.deletionTimestamp,
        );
        const running = [...new Set(live.map((p) => p.spec.containers[0].image))];
        const wanted = deployedImages(NS).airflow;
        assert.notStrictEqual(wanted, previousImage, "the scheduler's Deployment names the new image");
        assert.deepStrictEqual(running, [wanted], "every Airflow pod runs the new image");
        assertNoChanges(configFile);
    });

    it("destroys the stack and leaves the namespace empty", function () {
        destroy(STACK, via.path, configFile, NS);
        configFile = "";
        assert.deepStrictEqual(namespaceLeftovers(NS), []);
    });
});
