// Level 2 of the lab: Airflow really runs. The `local` stack (production architecture) is deployed
// on the lab's real node with images built on this machine, then driven through its REST API as a
// user would: a DAG through the KubernetesExecutor, task logs after the worker pods are gone, a DAG
// added later, an image upgrade, faults, the standalone architecture, and a clean destroy.
// Run: npm run e2e:airflow (lab/e2e-airflow.sh builds what is missing and starts the lab first).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { kubectl, labCacheDir, labVolumes, namespaceLeftovers } from "../../lab/ts";
import { AirflowApi } from "../../lab/ts/airflow/airflowApi";
import { apiFor, labImages, labServesUpstream, pods, restarts, secretValue, seconds, uiServiceUrl, waitFor, waitReady } from "../../lab/ts/airflow/cluster";
import { runDag } from "../../lab/ts/airflow/runs";
import { probePolicies } from "../../lab/ts/airflow/policyProbe";
import { CHROMIUM, screenshotDagList } from "../../lab/ts/airflow/screenshot";
import { deploy, deployPath, destroy, labStackOverrides, noopPreview, writeStackConfig } from "../../lab/ts/airflow/deploy";
import { deployedImages, imageSource, imageSourceLine } from "../../lab/ts/airflow/engineImages";
import { BUNDLE, BUNDLE_REFRESH_SECONDS, BUNDLE_SECRET, bundleStackOverrides, parsedAt, VersionedRepo } from "../../lab/ts/airflow/dagsFromGit";
import { GitServer, GitWorkspace, gitCredentialSecret, startGitServer } from "../../lab/ts/airflow/gitServer";
import { median } from "../../tools/median";

const log = (line: string) => process.stdout.write(`      ${line}\n`);

/** Watches worker pods while a run goes on: name -> {task, image}. */
class WorkerWatch {
    readonly seen = new Map<string, { task: string; image: string }>();
    private timer?: NodeJS.Timeout;
    constructor(private readonly namespace: string) {}
    start(): void {
        const poll = () => {
            try {
                for (const p of pods(this.namespace, "kubernetes_executor=True")) {
                    const base = p.spec.containers.find((c) => c.name === "base");
                    this.seen.set(p.metadata.name, { task: p.metadata.labels?.task_id ?? "?", image: base?.image ?? "?" });
                }
            } catch {
                /* the next poll tries again */
            }
        };
        poll();
        this.timer = setInterval(poll, 700);
    }
    stop(): void {
        if (this.timer) clearInterval(this.timer);
    }
}

const timings: Record<string, number> = {};
describe("Airflow on the lab's real node (level 2)", function () {
    this.bail(true);
    const via = deployPath();
    const images = labImages();
    const NS = "airflow-local";
    const STANDALONE_NS = "airflow-local-standalone"; // Pulumi.local-standalone.yaml
    // The UI under a path, as behind an Ingress (the lab has no ingress controller, so the scenario
    // reaches the Service with the same base_url), and metrics on, with the exporter built here.
    const UI_HOST = "airflow.lab.internal";
    const UI_PATH = "/airflow";
    const labOverrides = (airflowImage: string) => ({
        ...labStackOverrides(airflowImage),
        // no controller publishes an address for the Ingress here: the provider must not wait for one
        ui: { ingress: { enabled: true, host: UI_HOST, pathPrefix: UI_PATH, annotations: { "pulumi.com/skipAwait": "true" } } },
        metrics: { enabled: true, ...(labServesUpstream("statsdExporter") ? {} : { image: images.STATSD_EXPORTER }) },
    });
    // The upgrade adds a DAG bundle over SSH from the lab's git server (the Secret must exist first,
    // so it comes with the second deploy, into the namespace the first one made).
    let configFile = "";
    let api: AirflowApi;
    let firstRun = "";
    let gitServer: GitServer;
    let repo: VersionedRepo;
    const bundlePushSamples: number[] = [];

    before(function () {
        log(`deploy path: ${via.path} (${via.why})`);
        log(imageSourceLine());
        log("network policies: enforced by kube-router (lab/node.sh), probed cell by cell against docs/network-policies.md");
    });

    after(function () {
        if (bundlePushSamples.length) timings.bundlePushToParsed = median(bundlePushSamples);
        log(`timings: ${JSON.stringify(timings)}`);
        const out = process.env.AIRFLOW_LAB_TIMINGS_FILE;
        if (out) fs.writeFileSync(out, JSON.stringify(timings, null, 2));
    });

    it("deploys the local stack (production architecture): every pod Ready, the API healthy", async function () {
        configFile = writeStackConfig("lab-production", labOverrides("dags"));
        labVolumes(8);
        const t = Date.now();
        deploy("lab-production", configFile, via.path, log);
        await waitReady(NS, 600);
        api = apiFor(NS, UI_PATH);
        const health = await waitFor("a healthy API server", 180, async () => {
            const h = await api.health();
            return h.metadatabase?.status === "healthy" && h.scheduler?.status === "healthy" ? h : undefined;
        });
        timings.deployToHealthyApi = seconds(t);
        log(`deploy to healthy API: ${timings.deployToHealthyApi.toFixed(1)}s; health ${JSON.stringify(health)}`);
        if (via.path === "pulumi") {
            // no perpetual diff: a second look at the deployed stack finds nothing to change
            timings.noopPreview = noopPreview("lab-production");
            log(`no-op preview (--expect-no-changes): ${timings.noopPreview.toFixed(1)}s`);
        }
    });

    it("runs example_task_images through the KubernetesExecutor: a worker pod per task, one in the task image", async function () {
        await waitFor("example_task_images to be parsed", 180, async () => ((await api.get("/api/v2/dags/example_task_images")).dag_id ? true : undefined));
        const watch = new WorkerWatch(NS);
        watch.start();
        firstRun = `lab-${Date.now()}`;
        try {
            timings.taskImagesDagRun = await runDag(api, "example_task_images", firstRun, 600);
        } finally {
            watch.stop();
        }
        const byTask = new Map([...watch.seen.values()].map((w) => [w.task, w.image]));
        log(`worker pods: ${[...watch.seen].map(([n, w]) => `${n} (${w.task}, ${w.image})`).join("; ")}`);
        assert.ok(watch.seen.size >= 2, `expected a worker pod per task, saw ${watch.seen.size}`);
        const deployed = deployedImages(NS);
        assert.strictEqual(byTask.get("crunch"), deployed.tasks.example, "crunch runs in the example task image");
        assert.strictEqual(byTask.get("summarize"), deployed.airflow, "summarize runs in the DAG image");
        const result = (await api.xcom("example_task_images", firstRun, "crunch")) as any;
        const parsed = typeof result === "string" ? JSON.parse(result.replace(/'/g, '"')) : result;
        assert.match(String(parsed.pandas), /^3\./, `crunch imported the task image's pandas 3 (the base has an older one): ${JSON.stringify(result)}`);
    });

    it("serves task logs through the API after the worker pods are gone, and leaves no worker pod behind", async function () {
        await waitFor("worker pods to be deleted", 120, async () => (pods(NS, "kubernetes_executor=True").length === 0 ? true : undefined));
        const text = await api.taskLog("example_task_images", firstRun, "summarize", 1);
        assert.match(text, /crunched 10 with pandas 3\./, `summarize's log:\n${text.slice(-2000)}`);
    });

    it("serves the UI, the REST API and the execution API under the Ingress path (through the Service, with the same base_url)", async function () {
        const ingress = JSON.parse(kubectl(["get", "ingress", "-n", NS, "-o", "json"]).stdout).items as any[];
        assert.strictEqual(ingress.length, 1, "one Ingress");
        assert.deepStrictEqual(
            ingress[0].spec.rules.map((r: any) => [r.host, r.http.paths.map((p: any) => p.path)]),
            [[UI_HOST, [UI_PATH]]],
        );
        const service = uiServiceUrl(NS);
        // everything moved under the path: the UI's page links its assets there
        const page = await fetch(`${service}${UI_PATH}/`);
        assert.strictEqual(page.status, 200, `GET ${UI_PATH}/`);
        const html = await page.text();
        assert.match(html, new RegExp(`(href|src)="(http://${UI_HOST})?${UI_PATH}/`), `the UI page refers to assets under ${UI_PATH}:\n${html.slice(0, 1500)}`);
        // (Starlette still routes a request without the root path, so only the Ingress limits what is reachable)
        // the workers reached the execution API under the path: the run above succeeded through it
        const ti = (await api.taskInstances("example_task_images", firstRun)).map((t) => `${t.task_id}:${t.state}`).sort();
        assert.deepStrictEqual(ti, ["crunch:success", "summarize:success"]);
    });

    it("exports Airflow's metrics for Prometheus: one scrape of the statsd-exporter Service has the scheduler and the run", async function () {
        const svc = JSON.parse(kubectl(["get", "service", "-n", NS, "-l", "app.kubernetes.io/component=statsd", "-o", "json"]).stdout).items[0];
        assert.ok(svc, "a statsd-exporter Service");
        const port = svc.spec.ports.find((p: any) => p.name === "metrics").port;
        const url = `http://${svc.spec.clusterIP}:${port}/metrics`;
        const text = await waitFor("the run's task metrics in a scrape", 120, async () => {
            const body = await (await fetch(url)).text();
            return /^airflow_ti_finish\{.*dag_id="example_task_images".*\} /m.test(body) ? body : undefined;
        });
        const airflowLines = text.split("\n").filter((l) => l.startsWith("airflow_"));
        log(`scrape of ${url}: ${airflowLines.length} airflow_ samples, e.g. ${airflowLines.filter((l) => /ti_finish|scheduler_heartbeat|dagrun_duration/.test(l)).slice(0, 4).join(" | ")}`);
        assert.match(text, /^airflow_scheduler_heartbeat /m, "the scheduler's heartbeat");
        assert.match(text, /^airflow_ti_finish\{dag_id="example_task_images",state="success",task_id="crunch"\} /m, "crunch's finish, mapped to labels");
    });

    it("enforces the NetworkPolicies: every allow and deny of docs/network-policies.md, by a real connection", async function () {
        const t = Date.now();
        const { table, mismatches } = await probePolicies(NS, deployedImages(NS).airflow, "monitoring");
        timings.policyProbe = seconds(t);
        log(`policy probe (${timings.policyProbe.toFixed(1)}s), observed:\n${table.split("\n").map((l) => `      ${l}`).join("\n")}`);
        assert.deepStrictEqual(mismatches, [], "observed as the table says");
    });

    it("shows the DAG list to a person signing in with a browser (headless Chromium)", async function () {
        if (!fs.existsSync(CHROMIUM)) {
            log(`no Chromium at ${CHROMIUM} (apt-get install chromium): UI check skipped`);
            this.skip();
        }
        const file = path.join(labCacheDir(), "screenshots", "dag-list.png");
        fs.mkdirSync(path.dirname(file), { recursive: true });
        // the URL people open (the Ingress's host and path), resolved to the Service as DNS would to a controller
        const text = await screenshotDagList(`http://${UI_HOST}${UI_PATH}`, "admin", secretValue(NS, "airflow-keys", "admin-password"), "example_task_images", file, `${UI_HOST}:80 ${new URL(uiServiceUrl(NS)).host}`);
        assert.match(text, /example_task_images/);
        log(`screenshot: ${file} (${fs.statSync(file).size} bytes)`);
    });

    it("had no container restarts", function () {
        assert.deepStrictEqual(restarts(NS), []);
    });

    it("upgrades to a new DAG image and adds a DAG bundle: a new migration Job, history kept, an added DAG parsed and run, a broken DAG reported", async function () {
        const jobsBefore = kubectl(["get", "jobs", "-n", NS, "-o", "name"]).stdout.trim().split("\n");
        const server = await startGitServer(images.GIT_SERVER, ["dags"]);
        gitServer = server;
        repo = new VersionedRepo(new GitWorkspace(server, "dags"));
        repo.push();
        gitCredentialSecret(NS, BUNDLE_SECRET, server, "ssh");
        log(`git server: ${server.sshUrl("dags")} (and ${server.httpUrl("dags")}); pushed ${repo.head.sha.slice(0, 10)} (marker c1)`);
        configFile = writeStackConfig("lab-production", { ...labOverrides("dags-v2"), ...bundleStackOverrides(server) });
        deploy("lab-production", configFile, via.path, log);
        const deployed = Date.now();
        await waitReady(NS, 600);
        const jobs = JSON.parse(kubectl(["get", "jobs", "-n", NS, "-o", "json"]).stdout).items as any[];
        const migrations = jobs.filter((j) => j.metadata.name.startsWith("airflow-migrate-"));
        const fresh = migrations.filter((j) => !jobsBefore.includes(`job.batch/${j.metadata.name}`));
        // a prebuilt image decides the schema itself; a built DAG image does not (its base does): no new Job
        const expected = imageSource().source === "engine" ? 0 : 1;
        assert.strictEqual(fresh.length, expected, `${expected} new migration Job for the new image (before: ${jobsBefore.join(", ")}; now: ${migrations.map((j) => j.metadata.name).join(", ")})`);
        for (const job of fresh) assert.ok((job.status.conditions ?? []).some((c: any) => c.type === "Complete" && c.status === "True"), "the new migration Job completed");
        await waitFor("the added DAG to be parsed", 300, async () => ((await api.get("/api/v2/dags/lab_added")).dag_id ? true : undefined));
        timings.dagAddedToParsed = seconds(deployed);
        log(`DAG added (new image rolled out) to DAG parsed: ${timings.dagAddedToParsed.toFixed(1)}s`);
        const kept = await api.dagRun("example_task_images", firstRun);
        assert.strictEqual(kept.state, "success", "the first run is still in the history");
        const errors = await waitFor("the import error of lab_broken.py", 120, async () => {
            const e = (await api.get("/api/v2/importErrors")).import_errors as { filename: string; stack_trace: string }[];
            return e.some((x) => x.filename.endsWith("lab_broken.py")) ? e : undefined;
        });
        assert.ok(errors.some((x) => /module_that_does_not_exist/.test(x.stack_trace)));
        timings.oneTaskDagRun = await runDag(api, "lab_added", `lab-added-${Date.now()}`, 300);
        log(`trigger to success, one-task DAG: ${timings.oneTaskDagRun.toFixed(1)}s`);
    });

    it("DAG bundles: the commit pushed before the update and later ones are parsed within the refresh interval plus parsing", async function () {
        await parsedAt(api, repo.commits[0], Date.now(), 240);
        log(`bundle ${BUNDLE}: ${repo.commits[0].slice(0, 10)} (pushed before the update) parsed`);
        const samples: number[] = [];
        for (let i = 0; i < 2; i++) {
            const t = Date.now();
            samples.push(await parsedAt(api, repo.push().sha, t));
        }
        bundlePushSamples.push(...samples);
        // what the dag-processor did meanwhile: when it fetched the bundle and when it parsed the file
        const processor = kubectl(["logs", "-n", NS, "deploy/airflow-dag-processor", "--since=150s"], { allowFail: true }).stdout.split("\n");
        log(`dag-processor, last 150 s (bundle and lab_versioned lines):\n${processor.filter((l) => /lab-repo|lab_versioned|refresh|bundle/i.test(l)).slice(-25).map((l) => `        ${l.slice(0, 240)}`).join("\n")}`);
        log(`bundle push to parsed (refreshInterval ${BUNDLE_REFRESH_SECONDS}s): ${samples.map((x) => x.toFixed(1)).join(", ")}s`);
    });

    it("DAG bundles: each run records its commit, and a run started before a push finishes on its own version", async function () {
        await api.unpause("lab_versioned");
        const before = repo.head;
        const runA = `lab-bundle-a-${Date.now()}`;
        await api.trigger("lab_versioned", runA, { sleep: 30 });
        await waitFor("run A's first task to be running", 180, async () => ((await api.taskInstances("lab_versioned", runA)).some((t) => t.task_id === "first" && t.state === "running") ? true : undefined));
        const t = Date.now();
        const after = repo.push();
        bundlePushSamples.push(await parsedAt(api, after.sha, t));
        const runB = `lab-bundle-b-${Date.now()}`;
        await runDag(api, "lab_versioned", runB, 300);
        await waitFor("run A to finish", 300, async () => (["success", "failed"].includes((await api.dagRun("lab_versioned", runA)).state) ? true : undefined));
        const record = async (runId: string) => {
            const run = (await api.dagRun("lab_versioned", runId)) as any;
            return { state: run.state, bundleVersion: run.bundle_version, first: await api.xcom("lab_versioned", runId, "first"), second: await api.xcom("lab_versioned", runId, "second") };
        };
        const a = await record(runA);
        const b = await record(runB);
        log(`run A (started at ${before.marker}, ${after.marker} pushed while it ran): ${JSON.stringify(a)}; run B: ${JSON.stringify(b)}`);
        assert.deepStrictEqual(a, { state: "success", bundleVersion: before.sha, first: before.marker, second: before.marker }, "run A ran the commit it started with, in both tasks");
        assert.deepStrictEqual(b, { state: "success", bundleVersion: after.sha, first: after.marker, second: after.marker }, "run B ran the new commit");
        // Airflow keeps one DAG version while the DAG's structure is unchanged (only marker.txt changed
        // here) and moves its bundle_version on; the commit each run ran stays on the run
        assert.strictEqual(((await api.dagRun("lab_versioned", runA)) as any).bundle_version, before.sha, "run A still records its commit after run B");
    });

    it("DAG bundles: a worker pod deleted while it clones does not poison the task's retry or the next task", async function () {
        const runId = `lab-bundle-kill-${Date.now()}`;
        await api.trigger("lab_versioned", runId);
        // the clone is the first thing the task's process does: delete the pod as soon as its container runs
        const pod = await waitFor("run's first worker pod to start", 180, async () =>
            pods(NS, "kubernetes_executor=True,dag_id=lab_versioned,task_id=first").find((p) => (p.status.containerStatuses ?? []).some((c: any) => c.state?.running)),
        );
        kubectl(["delete", "pod", "-n", NS, pod.metadata.name, "--grace-period=0", "--force", "--wait=false"]);
        log(`deleted worker pod ${pod.metadata.name} as its container started`);
        const state = await waitFor("the run to finish", 300, async () => {
            const s = (await api.dagRun("lab_versioned", runId)).state;
            return ["success", "failed"].includes(s) ? s : undefined;
        });
        const tis = await api.taskInstances("lab_versioned", runId);
        log(`task instances: ${tis.map((ti) => `${ti.task_id} ${ti.state} (try ${ti.try_number})`).join(", ")}`);
        assert.strictEqual(state, "success");
        assert.strictEqual(tis.find((ti) => ti.task_id === "first")?.try_number, 2, "first ran again after its pod was deleted");
        assert.strictEqual(await api.xcom("lab_versioned", runId, "second"), repo.head.marker);
    });

    it("completes a run whose scheduler pod is deleted while its task runs", async function () {
        await api.unpause("lab_added");
        const runId = `lab-scheduler-fault-${Date.now()}`;
        await api.trigger("lab_added", runId, { sleep: 40 });
        await waitFor("the task to be running", 180, async () => ((await api.taskInstances("lab_added", runId)).some((t) => t.state === "running") ? true : undefined));
        const scheduler = pods(NS, "app.kubernetes.io/component=scheduler").map((p) => p.metadata.name);
        kubectl(["delete", "pod", "-n", NS, ...scheduler, "--wait=false"]);
        log(`deleted ${scheduler.join(", ")} while the task runs`);
        const state = await waitFor("the run to finish", 420, async () => {
            const s = (await api.dagRun("lab_added", runId)).state;
            return ["success", "failed"].includes(s) ? s : undefined;
        });
        assert.strictEqual(state, "success");
        // The new scheduler does not adopt finished pods of its predecessor: the worker clean-up
        // CronJob deletes them (run now instead of waiting for its schedule).
        // the run can end before its pod's containers exit: the clean-up deletes finished pods only
        await waitFor("the worker pods to finish", 120, async () => (pods(NS, "kubernetes_executor=True").every((p) => ["Succeeded", "Failed"].includes(p.status.phase)) ? true : undefined));
        const leftovers = pods(NS, "kubernetes_executor=True").map((p) => `${p.metadata.name} (${p.status.phase})`);
        log(`worker pods after the scheduler fault: ${leftovers.join(", ") || "none"}`);
        const job = `lab-worker-cleanup-${Date.now()}`;
        kubectl(["create", "job", job, "-n", NS, "--from=cronjob/airflow-worker-cleanup"]);
        kubectl(["wait", `job/${job}`, "-n", NS, "--for=condition=complete", "--timeout=180s"], { timeoutMs: 200_000 });
        await waitFor("no worker pod left", 120, async () => (pods(NS, "kubernetes_executor=True").length === 0 ? true : undefined)).catch((e) => {
            throw new Error(`${e.message}: ${pods(NS, "kubernetes_executor=True").map((p) => `${p.metadata.name} ${p.status.phase}`).join(", ")}`);
        });
        kubectl(["delete", "job", job, "-n", NS, "--wait=false"]);
    });

    it("keeps the run history when the Postgres pod is deleted", async function () {
        const before = (await api.get("/api/v2/dags/~/dagRuns?limit=100")).total_entries as number;
        kubectl(["delete", "pod", "-n", NS, "-l", "app.kubernetes.io/component=postgres", "--wait=true", "--timeout=120s"]);
        await waitReady(NS, 300);
        const after = await waitFor("the API to read the database again", 180, async () => (await api.get("/api/v2/dags/~/dagRuns?limit=100")).total_entries as number);
        assert.strictEqual(after, before, "same number of runs after Postgres came back");
        assert.strictEqual((await api.dagRun("example_task_images", firstRun)).state, "success");
    });

    it("runs the retention CronJobs: old log files deleted, new ones kept, airflow db clean completes", async function () {
        const exec = (script: string) => kubectl(["exec", "-n", NS, "deploy/airflow-scheduler", "-c", "scheduler", "--", "bash", "-c", script]).stdout;
        exec('mkdir -p /opt/airflow/logs/lab-retention && touch -d "30 days ago" /opt/airflow/logs/lab-retention/old.log && touch /opt/airflow/logs/lab-retention/new.log');
        const runNow = (cron: string) => {
            const job = `lab-${cron}-${Date.now()}`.slice(0, 63);
            kubectl(["create", "job", job, "-n", NS, `--from=cronjob/${cron}`]);
            const done = kubectl(["wait", `job/${job}`, "-n", NS, "--for=condition=complete", "--timeout=300s"], { allowFail: true, timeoutMs: 320_000 });
            const logs = kubectl(["logs", `job/${job}`, "-n", NS, "--tail=5"], { allowFail: true }).stdout.trim();
            assert.strictEqual(done.code, 0, `${cron} did not complete:\n${logs}`);
            log(`${cron}: ${logs.split("\n").pop()}`);
            kubectl(["delete", "job", job, "-n", NS, "--wait=false"]);
        };
        runNow("airflow-log-cleanup");
        assert.deepStrictEqual(exec("ls /opt/airflow/logs/lab-retention").trim().split("\n"), ["new.log"]);
        runNow("airflow-db-clean");
    });

    it("destroys the production stack and leaves the namespace empty", async function () {
        destroy("lab-production", via.path, configFile, NS);
        const left = await waitFor("the namespace to be gone", 180, async () => {
            const r = kubectl(["get", "namespace", NS], { allowFail: true });
            return r.code !== 0 ? [] : undefined;
        }).catch(() => namespaceLeftovers(NS));
        assert.deepStrictEqual(left, []);
    });

    it("runs the same DAG, and the bundle's, in the standalone architecture on the same node, then destroys it", async function () {
        // the bundle's Secret comes first, so the lab makes this stack's namespace (createNamespace: false)
        kubectl(["create", "namespace", STANDALONE_NS]);
        gitCredentialSecret(STANDALONE_NS, BUNDLE_SECRET, gitServer, "ssh");
        const overrides = { ...labStackOverrides("dags", "standalone"), ...bundleStackOverrides(gitServer), createNamespace: false };
        const file = writeStackConfig("lab-standalone", overrides, "Pulumi.local-standalone.yaml");
        labVolumes(8);
        const t = Date.now();
        deploy("lab-standalone", file, via.path, log);
        await waitReady(STANDALONE_NS, 600);
        const standalone = apiFor(STANDALONE_NS);
        await waitFor("a healthy standalone API server", 180, async () => ((await standalone.health()).scheduler?.status === "healthy" ? true : undefined));
        timings.standaloneDeployToHealthyApi = seconds(t);
        await waitFor("example_task_images to be parsed", 180, async () => ((await standalone.get("/api/v2/dags/example_task_images")).dag_id ? true : undefined));
        timings.standaloneDagRun = await runDag(standalone, "example_task_images", `lab-standalone-${Date.now()}`, 300);
        // the bundle, cloned by the one pod: a run records the newest commit and reads its files
        const { sha, marker } = repo.head;
        await parsedAt(standalone, sha, Date.now(), 240);
        const runId = `lab-standalone-bundle-${Date.now()}`;
        await runDag(standalone, "lab_versioned", runId, 300);
        assert.strictEqual(((await standalone.dagRun("lab_versioned", runId)) as any).bundle_version, sha, "the run recorded the bundle's commit");
        assert.strictEqual(await standalone.xcom("lab_versioned", runId, "second"), marker);
        assert.deepStrictEqual(restarts(STANDALONE_NS), []);
        destroy("lab-standalone", via.path, file, STANDALONE_NS);
        kubectl(["delete", "secret", BUNDLE_SECRET, "-n", STANDALONE_NS, "--ignore-not-found"]);
        assert.deepStrictEqual(namespaceLeftovers(STANDALONE_NS), [], "nothing of the stack is left");
        kubectl(["delete", "namespace", STANDALONE_NS, "--ignore-not-found", "--wait=false"]);
        await waitFor("the standalone namespace to be gone", 180, async () => (kubectl(["get", "namespace", STANDALONE_NS], { allowFail: true }).code !== 0 ? true : undefined));
    });
});
