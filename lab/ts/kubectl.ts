// Where the lab is (its cache, kubeconfig and scripts) and kubectl against it: the lab/up.sh cluster,
// or the one in AIRFLOW_LAB_KUBECONFIG (a file or a KUBECONFIG list), at AIRFLOW_LAB_CONTEXT when set.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A failed step of a lab check or of a kubectl call; `step` names it (load, apply, wait, re-apply, delete ...). */
export class CheckError extends Error {
    constructor(
        readonly step: string,
        message: string,
    ) {
        super(`[${step}] ${message}`);
        this.name = "CheckError";
    }
}

/** The field manager of every apply the lab makes. */
export const FIELD_MANAGER = "airflow-lab";
export const REPO_DIR = path.resolve(__dirname, "..", "..");
export const LAB_DIR = path.join(REPO_DIR, "lab");

export function labCacheDir(): string {
    return process.env.AIRFLOW_LAB_CACHE || path.join(os.homedir(), ".cache", "airflow-pulumi-lab");
}

export function isExternalCluster(): boolean {
    return !!process.env.AIRFLOW_LAB_KUBECONFIG;
}

export function labKubeconfig(): string {
    return process.env.AIRFLOW_LAB_KUBECONFIG || path.join(labCacheDir(), "kubeconfig");
}

/** The kubeconfig context of an external cluster (AIRFLOW_LAB_CONTEXT); unset: the kubeconfig's current one. */
export function labContext(): string | undefined {
    return process.env.AIRFLOW_LAB_CONTEXT || undefined;
}

/** kubectl's flags for the cluster: `--kubeconfig` for one file (a KUBECONFIG list goes in the environment), `--context` when set. */
export function kubeconfigArgs(): string[] {
    const file = labKubeconfig();
    const context = labContext();
    return [...(file.includes(path.delimiter) ? [] : ["--kubeconfig", file]), ...(context ? ["--context", context] : [])];
}

/** Loopback and the lab's cluster ranges (its Service and pod CIDRs, lab/lib.sh): never through an outbound proxy. */
export const NO_PROXY_HOSTS = ["127.0.0.1", "localhost", "::1", "10.96.0.0/16", "10.244.0.0/16"];

/** `env`'s NO_PROXY and no_proxy with `hosts` added (each once, what was there kept). */
export function withNoProxy(env: NodeJS.ProcessEnv, hosts: string[] = NO_PROXY_HOSTS): { NO_PROXY: string; no_proxy: string } {
    const add = (value: string | undefined) => {
        const have = (value ?? "")
            .split(",")
            .map((h) => h.trim())
            .filter(Boolean);
        return [...have, ...hosts.filter((h) => !have.includes(h))].join(",");
    };
    return { NO_PROXY: add(env.NO_PROXY), no_proxy: add(env.no_proxy) };
}

// Set for the whole process on import: fetch (where it honours proxy variables) and every child
// (kubectl, curl, git, pulumi) reach loopback and the cluster's addresses directly.
Object.assign(process.env, withNoProxy(process.env));

/** Recycles the lab's released PersistentVolumes and tops the pool up to `free` free ones (lab/pvs.sh). */
export function labVolumes(free: number): void {
    const r = spawnSync("bash", [path.join(LAB_DIR, "pvs.sh"), String(free)], { encoding: "utf8" });
    if (r.status !== 0) throw new CheckError("storage", `lab/pvs.sh failed: ${r.stderr}`);
}

/** kubectl built by lab/toolchain.sh (matches the lab's API server), else the one on PATH. */
export function kubectlBinary(): string {
    const built = path.join(labCacheDir(), "bin", "kubectl");
    if (!isExternalCluster() && fs.existsSync(built)) return built;
    return "kubectl";
}

export type RunResult = { code: number; stdout: string; stderr: string };

export function kubectl(args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): RunResult {
    const r = spawnSync(kubectlBinary(), [...kubeconfigArgs(), ...args], {
        env: { ...process.env, KUBECONFIG: labKubeconfig() },
        input: opts.input,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 300_000,
    });
    if (r.error) throw new CheckError("kubectl", `could not run ${kubectlBinary()}: ${r.error.message}`);
    const res = { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    if (res.code !== 0 && !opts.allowFail) {
        throw new CheckError("kubectl", `kubectl ${args.join(" ")} failed (exit ${res.code}):\n${res.stderr.trim()}`);
    }
    return res;
}

/** Runs `f` with `vars` in the environment (undefined: unset), then puts back what was there. */
export function withEnv<T>(vars: Record<string, string | undefined>, f: () => T): T {
    const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const set = (values: Record<string, string | undefined>) => {
        for (const [k, v] of Object.entries(values)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    };
    set(vars);
    try {
        return f();
    } finally {
        set(before);
    }
}

/** Blocks the (synchronous) check for `ms` milliseconds. */
export function sleepSync(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
