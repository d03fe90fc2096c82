// Level 2, DAGs from git-sync: the architecture the package grew from (a CronJob syncing a git
// repository onto the shared DAG volume), then git-sync as a sidecar of every DAG-reading pod, both
// against the lab's git server and on the lab's volumes, which ignore fsGroup as NFS does. Runs
// when a git-sync build was handed to the lab (AIRFLOW_LAB_GIT_SYNC, see lab/README.md); no
// registry this machine reaches serves git-sync, and nothing in the project builds it.
import * as assert from "assert";
import * as fs from "fs";
import { kubectl, labVolumes, namespaceLeftovers } from "../../lab/ts";
import { AirflowApi } from "../../lab/ts/airflow/airflowApi";
import { apiFor, labImages, Pod, pods, seconds, waitFor, waitReady } from "../../lab/ts/airflow/cluster";
import { deploy, deployPath, destroy, writeStackConfig } from "../../lab/ts/airflow/deploy";
import { dagPresent, GIT_SYNC_NS, GIT_SYNC_SECRETS, gitSyncCronJob, gitSyncSidecar, gitSyncStackOverrides, pushToListed, VERSIONED_DAG } from "../../lab/ts/airflow/dagsFromGit";
import { runEnd, startRun } from "../../lab/ts/airflow/runs";
import { GitServer, GitWorkspace, gitCredentialSecret, startGitServer } from "../../lab/ts/airflow/gitServer";
import { median } from "../../tools/median";

const log = (line: string) => process.stdout.write(`      ${line}\n`);

describe("DAGs from git-sync on the lab's real node (level 2)", function () {
    this.bail(true);
    const images = labImages();
    const via = deployPath();
    const NS = GIT_SYNC_NS;
    const STACK = "lab-git-sync";
    const timings: Record<string, number> = {};
    let server: GitServer;
    let work: GitWorkspace;
    let api: AirflowApi;
    let configFile = "";
    const cronSamples: number[] = [];
    const sidecarSamples: number[] = [];

    before(async function () {
        if (!images.GIT_SYNC) {
            log(
                "git-sync part skipped: no git-sync image (build git-sync from kubernetes/git-sync outside the repository and set AIRFLOW_LAB_GIT_SYNC to the binary; lab/README.md)",
            );
            this.skip();
        }
        log(`git-sync image ${images.GIT_SYNC}; deploy path: ${via.path}`);
        server = await startGitServer(images.GIT_SERVER, ["dags", "sync"]);
        work = new GitWorkspace(server, "sync");
        work.commit({ "dags/lab_versioned.py": VERSIONED_DAG, "dags/marker.txt": "c1\n" }, "lab_versioned, marker c1");
        kubectl(["create", "namespace", NS]);
        gitCredentialSecret(NS, GIT_SYNC_SECRETS.https, server, "https");
        gitCredentialSecret(NS, GIT_SYNC_SECRETS.wrong, server, "https", true);
        gitCredentialSecret(NS, GIT_SYNC_SECRETS.ssh, server, "ssh");
    });

    after(function () {
        if (!server) return; // skipped
        if (cronSamples.length) timings.gitSyncCronJobPushToParsed = median(cronSamples);
        if (sidecarSamples.length) timings.gitSyncSidecarPushToParsed = median(sidecarSamples);
        log(
            `git-sync timings: ${JSON.stringify(timings)} (samples: CronJob ${cronSamples.map((x) => x.toFixed(1)).join(", ")}; sidecar ${sidecarSamples.map((x) => x.toFixed(1)).join(", ")})`,
        );
        const out = process.env.AIRFLOW_LAB_TIMINGS_FILE;
        if (out && fs.existsSync(out)) fs.writeFileSync(out, JSON.stringify({ ...JSON.parse(fs.readFileSync(out, "utf8")), ...timings }, null, 2));
    });

    it("CronJob mode over smart HTTP: the first-sync Job at deploy brings the DAGs, every pod Ready", async function () {
        configFile = writeStackConfig(STACK, gitSyncStackOverrides(gitSyncCronJob(server, "sync")));
        labVolumes(8);
        const t = Date.now();
        deploy(STACK, configFile, via.path, log);
        await waitReady(NS, 600);
        api = apiFor(NS);
        await waitFor("lab_versioned to be parsed", 300, async () => ((await dagPresent(api, "lab_versioned")) ? true : undefined));
        log(`deploy to lab_versioned parsed: ${seconds(t).toFixed(1)}s`);
        const jobs = JSON.parse(kubectl(["get", "jobs", "-n", NS, "-o", "json"]).stdout).items as any[];
        const initial = jobs.find((j) => /^airflow-git-sync-initial-/.test(j.metadata.name));
        assert.ok(initial?.status?.succeeded === 1, `the first-sync Job succeeded: ${JSON.stringify(initial?.status)}`);
    });

    it("CronJob mode: a pushed DAG appears within the schedule plus parsing and runs through the KubernetesExecutor, while a task reading its files sees a sync land", async function () {
        // a run that reads marker.txt for 80 s: at least one sync swaps the checkout under it
        const longRun = `lab-sync-read-${Date.now()}`;
        await startRun(api, "lab_versioned", longRun, { sleep: 80 });
        await waitFor("the reading task to be running", 180, async () =>
            (await api.taskInstances("lab_versioned", longRun)).some((t) => t.task_id === "first" && t.state === "running") ? true : undefined,
        );
        for (const [i, id] of ["lab_pushed_a", "lab_pushed_b"].entries()) {
            cronSamples.push(await pushToListed(api, work, id, { "dags/marker.txt": `c${i + 2}\n` }));
        }
        log(`CronJob (every minute) push to parsed: ${cronSamples.map((x) => x.toFixed(1)).join(", ")}s`);
        const runId = `lab-sync-pushed-${Date.now()}`;
        await startRun(api, "lab_pushed_b", runId);
        assert.strictEqual(await runEnd(api, "lab_pushed_b", runId, 300), "success", "the workers read the pushed DAG from the claim");
        assert.strictEqual(await runEnd(api, "lab_versioned", longRun, 300), "success", "the task reading its files through the sync succeeded");
        const log1 = await api.taskLog("lab_versioned", longRun, "first", 1);
        const seen = /first read markers (\[[^\]]*\])/.exec(log1)?.[1];
        log(`the reading task saw markers ${seen} while syncs landed`);
        assert.ok(seen && seen !== "['c1']", `a sync landed while the task read (markers ${seen})`);
    });

    it("CronJob mode: a DAG deleted in git disappears", async function () {
        const t = Date.now();
        work.commit({ "dags/lab_pushed_a.py": null }, "remove lab_pushed_a");
        await waitFor("lab_pushed_a to disappear", 240, async () => ((await dagPresent(api, "lab_pushed_a")) ? undefined : true));
        cronSamples.push(seconds(t));
        log(`deleted DAG gone after ${seconds(t).toFixed(1)}s`);
        assert.ok(await dagPresent(api, "lab_pushed_b"), "the others stay");
    });

    it("a wrong credential fails the update with git-sync's own error, and the running Airflow keeps serving", async function () {
        const wrong = writeStackConfig(STACK, gitSyncStackOverrides({ ...gitSyncCronJob(server, "sync"), credentialsSecretName: GIT_SYNC_SECRETS.wrong }));
        let error = "";
        try {
            deploy(STACK, wrong, via.path, log);
        } catch (e) {
            error = (e as Error).message;
        }
        log(`update with a wrong password: ${error.split("\n").find((l) => /auth|401|denied|fatal/i.test(l)) ?? error.slice(0, 300)}`);
        assert.ok(error, "the update failed");
        assert.match(error, /Authentication failed|401|could not read Username/i, `git-sync's error is in the message:\n${error.slice(-2000)}`);
        assert.strictEqual((await api.health()).scheduler?.status, "healthy", "the scheduler still runs");
        assert.ok(await dagPresent(api, "lab_pushed_b"), "the DAGs synced before stay served");
        // back to the working credential (the stack file was rewritten with the wrong one): the update succeeds again
        configFile = writeStackConfig(STACK, gitSyncStackOverrides(gitSyncCronJob(server, "sync")));
        deploy(STACK, configFile, via.path, log);
    });

    it("sidecar mode over SSH: every DAG-reading pod syncs, a pushed commit reaches them within the period, and finished workers report no failed container", async function () {
        configFile = writeStackConfig(STACK, gitSyncStackOverrides(gitSyncSidecar(server, "sync")));
        deploy(STACK, configFile, via.path, log);
        await waitReady(NS, 600);
        await waitFor("lab_pushed_b to be served after the switch", 300, async () => ((await dagPresent(api, "lab_pushed_b")) ? true : undefined));
        // every DAG-reading pod of the new rollout (the CronJob mode's pods may still be terminating)
        await waitFor("the DAG readers to run the git-sync sidecar", 180, async () => {
            const readers = ["scheduler", "dag-processor", "triggerer"].map((r) => pods(NS, `app.kubernetes.io/component=${r}`).filter((x) => !x.metadata.deletionTimestamp));
            const synced = (x: Pod) => (x.status.initContainerStatuses ?? []).some((c: any) => c.name === "git-sync" && c.state?.running);
            return readers.every((list) => list.length > 0 && list.every(synced)) ? true : undefined;
        });
        for (const id of ["lab_pushed_c", "lab_pushed_d", "lab_pushed_e"]) sidecarSamples.push(await pushToListed(api, work, id));
        log(`sidecar (period 10s) push to parsed: ${sidecarSamples.map((x) => x.toFixed(1)).join(", ")}s`);
        const runId = `lab-sidecar-${Date.now()}`;
        await startRun(api, "lab_pushed_e", runId);
        assert.strictEqual(await runEnd(api, "lab_pushed_e", runId, 300), "success", "the worker synced the pushed DAG once and ran it");
        const finished = pods(NS, "kubernetes_executor=True").filter((p) => ["Succeeded", "Failed"].includes(p.status.phase));
        const bad = finished.flatMap((p) =>
            [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])]
                .filter((c: any) => c.state?.terminated && c.state.terminated.exitCode !== 0)
                .map((c: any) => `${p.metadata.name}/${c.name}: exit ${c.state.terminated.exitCode} (${c.state.terminated.reason})`),
        );
        log(`finished worker pods: ${finished.length}; containers that did not exit 0: ${bad.join(", ") || "none"}`);
        assert.deepStrictEqual(bad, []);
    });

    it("destroys the git-sync stack and leaves the namespace empty but for the lab's Secrets", async function () {
        destroy(STACK, via.path, configFile, NS);
        kubectl(["delete", "secret", "-n", NS, ...Object.values(GIT_SYNC_SECRETS), "--ignore-not-found"]);
        const left = await waitFor("the stack's objects to be gone", 180, async () => {
            const l = namespaceLeftovers(NS);
            return l.length ? undefined : l;
        }).catch(() => namespaceLeftovers(NS));
        assert.deepStrictEqual(left, []);
        kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=false"]);
    });
});
