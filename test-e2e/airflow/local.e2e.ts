// Level 2, `npm run local` on its two paths this machine has: the lab (run twice: the second run is a
// no-op that ends healthy, with every loopback request kept off the proxy), and a user's own cluster,
// played by the running lab under a kubeconfig context named as kind names its clusters. On that
// path the committed stack deploys as it would anywhere: the upstream image names, which the lab's
// node pulls through its registry mirror, and nothing built. Runs after the scenario, on its lab.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { kubectl, labCacheDir, labKubeconfig, LAB_DIR, REPO_DIR } from "../../lab/ts";
import { AirflowApi } from "../../lab/ts/airflow/airflowApi";
import { apiFor, pods, restrictedPod, secretValue, waitFor } from "../../lab/ts/airflow/cluster";
import { runDag } from "../../lab/ts/airflow/runs";
import { contextId } from "../../lab/ts/localTarget";
import { upstreamDefaults } from "../../lab/ts/upstreamImages";

const log = (line: string) => process.stdout.write(`      ${line}\n`);
const NS = "airflow-local";
/** An address nothing listens on: a request sent through this proxy fails. */
const DEAD_PROXY = "http://127.0.0.1:9";

/** Runs lab/local.sh with these arguments and environment; its exit code, stderr and wall time. */
function local(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stderr: string; seconds: number } {
    const t = Date.now();
    const r = spawnSync("bash", [path.join(LAB_DIR, "local.sh"), ...args], {
        cwd: REPO_DIR,
        encoding: "utf8",
        env: { ...process.env, ...env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 1_200_000,
    });
    return { code: r.status ?? 1, stderr: String(r.stderr ?? ""), seconds: (Date.now() - t) / 1000 };
}

const firstLine = (stderr: string) => stderr.split("\n").find((l) => l.includes("target:") || l.includes("nowhere to run:")) ?? "(none)";
/** The one-task DAG of the repository's DAG image, run on each path. */
const DAG = "example_hello";
const DAG_FILE = path.join(REPO_DIR, "images", "dags", "dags", `${DAG}.py`);

/** Runs DAG once through the KubernetesExecutor once it is parsed; a line with the seconds from the trigger to success and the worker pod its task named. */
async function runHello(api: AirflowApi, tag: string): Promise<string> {
    // a file new to the DAG folder is found at the dag-processor's next listing: Airflow's
    // [dag_processor] refresh_interval, 300 s, where no DAG source sets a shorter one
    const t = Date.now();
    await waitFor(`${DAG} to be parsed`, 360, async () => ((await api.get(`/api/v2/dags/${DAG}`)).dag_id ? true : undefined));
    log(`${DAG} parsed after ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const runId = `local-${tag}-${Date.now()}`;
    const took = await runDag(api, DAG, runId, 300);
    const said = String(await api.xcom(DAG, runId, "hello"));
    assert.match(said, /^hello from /);
    return `${DAG} succeeded in ${took.toFixed(1)} s (${said})`;
}

/**
 * What a user of a bare cluster does to give the deployment a DAG: a short-lived pod that mounts
 * the DAG claim the scheduler reads and writes one file there (the Airflow pods mount it read-only).
 * The pod keeps the namespace's restricted Pod Security rules (restrictedPod).
 */
async function copyDagToClaim(namespace: string, file: string): Promise<void> {
    const scheduler = pods(namespace, "app.kubernetes.io/component=scheduler")[0] as any;
    const claim = scheduler.spec.volumes.find((v: any) => v.name === "dags")?.persistentVolumeClaim?.claimName;
    assert.ok(claim, "the scheduler reads DAGs from a claim on this path");
    const image = scheduler.spec.containers[0].image;
    const name = "copy-dag";
    const pod = restrictedPod({
        name,
        namespace,
        container: name,
        image,
        command: ["bash", "-c", `printf '%s' "$DAG_SOURCE" > /dags/${path.basename(file)}`],
        env: { DAG_SOURCE: fs.readFileSync(file, "utf8") },
        volume: { volume: { name: "dags", persistentVolumeClaim: { claimName: claim } }, mountPath: "/dags" },
    });
    kubectl(["apply", "-f", "-"], { input: JSON.stringify(pod) });
    try {
        await waitFor("the DAG copied onto the claim", 120, async () => {
            const phase = kubectl(["get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}"]).stdout;
            if (phase === "Failed") throw new Error(kubectl(["logs", name, "-n", namespace], { allowFail: true }).stdout);
            return phase === "Succeeded" ? true : undefined;
        });
    } finally {
        kubectl(["delete", "pod", name, "-n", namespace, "--ignore-not-found", "--wait=false"]);
    }
}

const kubeProxyPid = () => fs.readFileSync(path.join(labCacheDir(), "run", "kube-proxy.pid"), "utf8").trim();

describe("npm run local on the lab and on a cluster of the user's (level 2)", function () {
    this.bail(true);

    it("the lab path: deploys, and a second run while everything runs is a no-op that ends healthy", function () {
        const first = local([]);
        assert.strictEqual(first.code, 0, first.stderr.slice(-4000));
        log(`${firstLine(first.stderr).trim()} (${first.seconds.toFixed(1)} s)`);
        assert.match(firstLine(first.stderr), /target: .*lab/);
        const pid = kubeProxyPid();
        // every proxy variable pointing at a dead address: loopback requests that used one would fail
        const proxies = { HTTP_PROXY: DEAD_PROXY, HTTPS_PROXY: DEAD_PROXY, http_proxy: DEAD_PROXY, https_proxy: DEAD_PROXY, NO_PROXY: "", no_proxy: "" };
        const second = local([], proxies);
        assert.strictEqual(second.code, 0, `the second run (through a dead proxy) failed:\n${second.stderr.slice(-4000)}`);
        log(`second run: ${second.seconds.toFixed(1)} s`);
        assert.strictEqual(kubeProxyPid(), pid, "kube-proxy kept running through the second run");
        assert.match(second.stderr, /API server healthy/);
        const changes = second.stderr.match(/(\d+) (created|updated|replaced|deleted)\b/g) ?? [];
        assert.deepStrictEqual(changes, [], `the second run changed nothing (${changes.join(", ")})`);
    });

    it(`the lab path: ${DAG} (from the DAG image) runs through the KubernetesExecutor`, async function () {
        log(await runHello(apiFor(NS), "lab"));
    });

    it("the lab path's stack removed again, the lab kept running", function () {
        const r = spawnSync(path.join(REPO_DIR, "node_modules", ".bin", "ts-node"), ["--transpile-only", "scripts/local.ts", "down"], {
            cwd: REPO_DIR,
            encoding: "utf8",
            timeout: 600_000,
        });
        assert.strictEqual(r.status, 0, String(r.stderr).slice(-3000));
        kubectl(["wait", "--for=delete", `namespace/${NS}`, "--timeout=300s"], { allowFail: true });
        assert.strictEqual(kubectl(["get", "namespace", NS, "--ignore-not-found", "-o", "name"]).stdout.trim(), "");
    });

    it("a kind-named context: the committed stack with the upstream image names, nothing built, every pod Ready; down removes only its namespace", async function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airflow-local-kind-"));
        const config = yaml.load(fs.readFileSync(labKubeconfig(), "utf8")) as any;
        const context = "kind-airflow-lab";
        // a user's first run: no deploy state of an earlier lab's run for this context
        fs.rmSync(path.join(labCacheDir(), "contexts", contextId(context)), { recursive: true, force: true });
        config.contexts = config.contexts.map((c: any) => ({ ...c, name: context }));
        config["current-context"] = context;
        const kubeconfig = path.join(dir, "config");
        fs.writeFileSync(kubeconfig, yaml.dump(config), { mode: 0o600 });
        // a user has kubectl on PATH; here it is the lab's
        const env = { KUBECONFIG: kubeconfig, AIRFLOW_LOCAL_PORT: "18080", PATH: `${path.join(labCacheDir(), "bin")}${path.delimiter}${process.env.PATH}` };
        try {
            const up = local([], env);
            assert.strictEqual(up.code, 0, up.stderr.slice(-4000));
            log(`${firstLine(up.stderr).trim()} (${up.seconds.toFixed(1)} s)`);
            assert.match(firstLine(up.stderr), new RegExp(`target: .*${context}`));
            const images = new Set(pods(NS).flatMap((p) => p.spec.containers.map((c) => c.image)));
            const upstream = upstreamDefaults();
            log(`images: ${[...images].sort().join(", ")}`);
            assert.ok(images.has(upstream.airflow), `the Airflow pods run ${upstream.airflow}`);
            assert.ok(images.has(upstream.postgres), `Postgres runs ${upstream.postgres}`);
            const labOnly = [...images].filter((i) => i.startsWith("127.0.0.1:") || i.includes("lab/") || i.includes("airflow-lab"));
            assert.deepStrictEqual(labOnly, [], "no lab-only image reference on a user's cluster");
            const health = await waitFor("the UI on the forwarded port", 60, async () => {
                const r = await fetch("http://127.0.0.1:18080/api/v2/monitor/health").catch(() => undefined);
                return r?.ok ? r.json() : undefined;
            });
            assert.strictEqual((health as any).scheduler.status, "healthy");
            // the DAG folder of a bare cluster starts empty: the same DAG file, written as a user would
            await copyDagToClaim(NS, DAG_FILE);
            log(await runHello(new AirflowApi("http://127.0.0.1:18080", "admin", secretValue(NS, "airflow-keys", "admin-password")), "kind"));
        } finally {
            const down = local(["down"], env);
            log(`npm run local:down on ${context}: exit ${down.code} (${down.seconds.toFixed(1)} s)`);
            assert.strictEqual(down.code, 0, down.stderr.slice(-3000));
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.strictEqual(kubectl(["get", "namespace", NS, "--ignore-not-found", "-o", "name"]).stdout.trim(), "", "down removed the namespace");
        assert.match(kubectl(["get", "nodes", "-o", "name"]).stdout, /node\//, "down kept the cluster");
    });
});
