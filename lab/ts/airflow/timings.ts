// `npm run lab:timings`: the level-2 lab's figures, medians of N runs (default 3), with the lab's
// toolchain and images already built (lab/e2e-airflow.sh or npm run local builds them):
//   warm lab up, deploy to a healthy API, DAG added (new DAG image rolled out) to DAG parsed,
//   trigger to success of a one-task DAG beside the floor (a plain pod of the same image to
//   Completed on the same node), the lab's CPU and memory idle and during a run, and (Pulumi engine
//   path) a no-op `pulumi preview --expect-no-changes` of the deployed stack and one of an empty
//   Node.js program (medians of 5 per round); push to parsed for each DAG source from git: the DAG
//   bundle (refreshInterval 10 s) and, when a git-sync image was built (AIRFLOW_LAB_GIT_SYNC), the
//   git-sync CronJob (every minute) and sidecar (period 10 s).
// Each round starts from a stopped lab and ends with it stopped again.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { median } from "../../../tools/median";
import { kubectl, LAB_DIR, labCacheDir } from "../kubectl";
import { apiFor, labImages, seconds, sleep, waitFor, waitReady } from "./cluster";
import { deployedImages } from "./engineImages";
import {
    BUNDLE_SECRET,
    bundleStackOverrides,
    dagPresent,
    GIT_SYNC_NS,
    GIT_SYNC_SECRETS,
    gitSyncCronJob,
    gitSyncSidecar,
    gitSyncStackOverrides,
    parsedAt,
    pushToListed,
    VersionedRepo,
} from "./dagsFromGit";
import { deploy, deployPath, destroy, emptyProgramPreview, labStackOverrides, noopPreview, writeStackConfig } from "./deploy";
import { GitServer, GitWorkspace, gitCredentialSecret, startGitServer } from "./gitServer";

const NS = "airflow-local";
const rounds = Number(process.env.LAB_TIMING_ROUNDS || 3);
const log = (l: string) => process.stderr.write(`[timings] ${l}\n`);

function sh(script: string, ...args: string[]): number {
    const t = Date.now();
    const r = spawnSync("bash", [path.join(LAB_DIR, script), ...args], { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) throw new Error(`lab/${script} failed`);
    return seconds(t);
}

/** CPU (cores in use) and memory (MiB) of the lab: its daemons plus every pod, over `windowSec`. */
async function labUsage(windowSec: number): Promise<{ cores: number; memMiB: number }> {
    const run = path.join(labCacheDir(), "run");
    const pids = fs
        .readdirSync(run)
        .filter((f) => f.endsWith(".pid"))
        .map((f) => fs.readFileSync(path.join(run, f), "utf8").trim());
    const ticks = () => {
        let total = 0;
        for (const pid of pids) {
            try {
                const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
                total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
            } catch {
                /* exited */
            }
        }
        const pods = Number(fs.readFileSync("/sys/fs/cgroup/cpuacct/kubepods/cpuacct.usage", "utf8")) / 1e9; // seconds
        return total / 100 + pods;
    };
    const rss = () =>
        pids.reduce((sum, pid) => {
            try {
                const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
                return sum + (m ? Number(m[1]) * 1024 : 0);
            } catch {
                return sum;
            }
        }, 0) + Number(fs.readFileSync("/sys/fs/cgroup/memory/kubepods/memory.usage_in_bytes", "utf8"));
    const c0 = ticks();
    const t0 = Date.now();
    await sleep(windowSec * 1000);
    return { cores: (ticks() - c0) / seconds(t0), memMiB: rss() / 2 ** 20 };
}

async function floorPod(image: string): Promise<number> {
    const name = `floor-${Date.now()}`;
    const t = Date.now();
    kubectl(["run", name, "-n", NS, "--image", image, "--restart=Never", "--image-pull-policy=IfNotPresent", "--command", "--", "python", "-c", "print('floor')"]);
    await waitFor("the floor pod to complete", 120, async () =>
        kubectl(["get", "pod", name, "-n", NS, "-o", "jsonpath={.status.phase}"]).stdout === "Succeeded" ? true : undefined,
    );
    const s = seconds(t);
    kubectl(["delete", "pod", name, "-n", NS, "--wait=false"]);
    return s;
}

/** Push to listed for git-sync's CronJob mode (every minute) and sidecar mode (every 10 s), each on a fresh deploy. */
async function gitSyncLatencies(server: GitServer, via: ReturnType<typeof deployPath>["path"]): Promise<Record<string, number>> {
    const work = new GitWorkspace(server, "sync");
    work.commit({ "dags/lab_first.py": "" }, "first commit");
    kubectl(["create", "namespace", GIT_SYNC_NS]);
    gitCredentialSecret(GIT_SYNC_NS, GIT_SYNC_SECRETS.https, server, "https");
    gitCredentialSecret(GIT_SYNC_NS, GIT_SYNC_SECRETS.ssh, server, "ssh");
    const m: Record<string, number> = {};
    let file = "";
    for (const [key, settings] of [
        ["gitSyncCronJobPushToParsed", gitSyncCronJob(server, "sync")],
        ["gitSyncSidecarPushToParsed", gitSyncSidecar(server, "sync")],
    ] as const) {
        file = writeStackConfig("lab-timings-git", gitSyncStackOverrides(settings));
        deploy("lab-timings-git", file, via, log);
        await waitReady(GIT_SYNC_NS, 600);
        const api = apiFor(GIT_SYNC_NS);
        await waitFor("a healthy API", 300, async () => ((await api.health()).scheduler?.status === "healthy" ? true : undefined));
        const id = `lab_timing_${key.startsWith("gitSyncCron") ? "cron" : "sidecar"}`;
        m[key] = await pushToListed(api, work, id);
        if (!(await dagPresent(api, id))) throw new Error(`${id} is not listed`);
    }
    destroy("lab-timings-git", via, file, GIT_SYNC_NS);
    return m;
}

async function round(i: number): Promise<Record<string, number>> {
    const m: Record<string, number> = {};
    const images = labImages();
    sh("down.sh");
    m.labUp = sh("up.sh", "--node");
    sh("pvs.sh", "8");
    const via = deployPath();
    const t = Date.now();
    deploy("lab-timings", writeStackConfig("lab-timings", labStackOverrides("dags")), via.path, log);
    await waitReady(NS, 900);
    const api = apiFor(NS);
    await waitFor("a healthy API", 300, async () => ((await api.health()).scheduler?.status === "healthy" ? true : undefined));
    m.deployToHealthyApi = seconds(t);
    // a preview is short and noisy beside a running Airflow: the round's figure is the median of 5
    if (via.path === "pulumi") {
        m.noopPreview = median([1, 2, 3, 4, 5].map(() => noopPreview("lab-timings")));
        // beside it, an empty Node.js program with the package's preload: the part no program avoids
        m.emptyProgramPreview = median([1, 2, 3, 4, 5].map(() => emptyProgramPreview(true)));
    }
    await waitFor("example_task_images parsed", 300, async () => ((await api.get("/api/v2/dags/example_task_images")).dag_id ? true : undefined));
    const idle = await labUsage(30);
    m.idleCores = idle.cores;
    m.idleMemMiB = idle.memMiB;
    // DAG added: the new DAG image rolled out (with a DAG bundle beside it), until the API lists the new DAG
    const server = await startGitServer(images.GIT_SERVER, ["dags", "sync"]);
    const repo = new VersionedRepo(new GitWorkspace(server, "dags"));
    repo.push();
    gitCredentialSecret(NS, BUNDLE_SECRET, server, "ssh");
    deploy("lab-timings", writeStackConfig("lab-timings", { ...labStackOverrides("dags-v2"), ...bundleStackOverrides(server) }), via.path, log);
    const rolled = Date.now();
    await waitReady(NS, 600);
    await waitFor("lab_added parsed", 300, async () => ((await api.get("/api/v2/dags/lab_added")).dag_id ? true : undefined));
    m.dagAddedToParsed = seconds(rolled);
    // trigger to success of a one-task DAG, and the CPU and memory while it runs
    await api.unpause("lab_added");
    const usage = labUsage(8);
    const t1 = Date.now();
    await api.trigger("lab_added", `timing-${i}`);
    await waitFor("the run to succeed", 300, async () => ((await api.dagRun("lab_added", `timing-${i}`)).state === "success" ? true : undefined));
    m.oneTaskRun = seconds(t1);
    const busy = await usage;
    m.runCores = busy.cores;
    m.runMemMiB = busy.memMiB;
    m.floorPod = await floorPod(deployedImages(NS).airflow);
    await parsedAt(api, repo.head.sha, Date.now(), 300);
    m.bundlePushToParsed = await parsedAt(api, repo.push().sha, Date.now());
    if (images.GIT_SYNC) Object.assign(m, await gitSyncLatencies(server, via.path));
    log(`round ${i}: ${JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v.toFixed(2))])))}`);
    return m;
}

(async () => {
    const results: Record<string, number>[] = [];
    try {
        for (let i = 1; i <= rounds; i++) results.push(await round(i));
    } finally {
        sh("down.sh");
    }
    const keys = Object.keys(results[0]);
    const rows = keys.map((k) => `| ${k} | ${median(results.map((r) => r[k])).toFixed(2)} | ${results.map((r) => r[k].toFixed(2)).join(", ")} |`);
    process.stdout.write(`| measure (${deployPath().path} deploy path) | median of ${rounds} | runs |\n|---|---|---|\n${rows.join("\n")}\n`);
})().catch((e) => {
    log(`failed: ${(e as Error).message}`);
    process.exit(1);
});
