// Deploys a stack config to the lab cluster, the way a user would: through the real Pulumi engine
// when the `pulumi` CLI and the kubernetes and random plugins are installed, else through the
// objects the program renders (scripts/render.ts) with strict server-side apply. Says which.
import { spawnSync, SpawnSyncOptions } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { kubectl, labCacheDir, labContext, labKubeconfig, REPO_DIR, sleepSync } from "../kubectl";
import { contextId } from "../localTarget";
import { pulumiHome } from "../../../tools/pulumiSandbox";
import { recoverStack } from "../../../scripts/stackRecover";
import { labImages, labServesUpstream } from "./cluster";
import { LabDags, labDockerHost, labImageSections } from "./engineImages";

export type DeployPath = "pulumi" | "render";

/**
 * The deploy state (Pulumi backend and passphrase, the render's secrets and object list): the lab's under
 * its run directory (lab/down.sh removes it with the lab); a user's context's (AIRFLOW_LAB_CONTEXT) under
 * contexts/, one directory per context, so it outlives the lab and two clusters never share state.
 */
export const deployStateDir = (): string => {
    const context = labContext();
    return context ? path.join(labCacheDir(), "contexts", contextId(context), "deploy") : path.join(labCacheDir(), "run", "deploy");
};
const STATE_DIR = deployStateDir;
/** The lab's Pulumi home: its plugin cache and the CLI's automatic logs. */
const PULUMI_HOME = () => path.join(STATE_DIR(), "pulumi-home");

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { allowFail?: boolean } = {}): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...opts });
    if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
    const res = { code: r.status ?? 1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
    if (res.code !== 0 && !opts.allowFail) {
        throw new Error(`${cmd} ${args.join(" ")} failed (exit ${res.code}):\n${(res.stderr || res.stdout).trim().slice(-4000)}`);
    }
    return res;
}

/** Which path deploys: the Pulumi engine if its CLI and both provider plugins are installed. */
export function deployPath(): { path: DeployPath; why: string } {
    if (process.env.AIRFLOW_LAB_DEPLOY === "render") return { path: "render", why: "AIRFLOW_LAB_DEPLOY=render" };
    const version = spawnSync("pulumi", ["version"], { encoding: "utf8" });
    if (version.error || version.status !== 0) return { path: "render", why: "the pulumi CLI is not installed" };
    const plugins = spawnSync("pulumi", ["plugin", "ls", "--json"], { encoding: "utf8" });
    const names = plugins.status === 0 ? (JSON.parse(plugins.stdout || "[]") as { name: string; kind: string }[]).filter((p) => p.kind === "resource").map((p) => p.name) : [];
    const missing = ["kubernetes", "random"].filter((n) => !names.includes(n));
    if (missing.length) return { path: "render", why: `pulumi ${version.stdout.trim()} is installed but not the ${missing.join(" and ")} plugin` };
    return { path: "pulumi", why: `pulumi ${version.stdout.trim()} with the kubernetes and random plugins` };
}

/**
 * What the lab changes in the committed local stacks: the project images, built by the stack itself
 * through images.build on the engine path with the docker plugin, else the ones lab/images.sh built
 * (see engineImages.ts), with the DAGs inside the DAG image. `dags` names the DAG image (the
 * repository's DAGs by default), or is a prebuilt image reference deployed as it is. The upstream
 * images (Postgres, the setup image) keep the package's defaults, which the node pulls through the
 * lab's registry mirror; only an images.env from before the mirror names them.
 */
export function labStackOverrides(dags: LabDags | string = "dags", architecture: "production" | "standalone" = "production"): Record<string, unknown> {
    const images = labImages();
    const sections = dags.includes("/")
        ? { images: { airflow: dags, ...(images.TASK_EXAMPLE ? { taskImages: { example: images.TASK_EXAMPLE } } : {}) } }
        : labImageSections(dags as LabDags);
    return {
        dagsInImage: dags !== "none",
        // the scenario runs the worker pod clean-up by hand right after a run: no minimum age
        ...(architecture === "production" ? { retention: { workerPods: { minCompletedMinutes: 0 } } } : {}),
        ...sections,
        images: {
            ...sections.images,
            ...(labServesUpstream("postgres") ? {} : { postgres: images.POSTGRES }),
            // needs only sh, mkdir and chmod
            ...(labServesUpstream("setup") ? {} : { setup: images.BASE ?? images.AIRFLOW_UPSTREAM }),
        },
    };
}

/**
 * A stack config file: a committed stack file (`Pulumi.local.yaml`) with lab overrides deep-merged into its
 * `airflow:` keys, and `kubernetes:context` when the cluster is a context (AIRFLOW_LAB_CONTEXT), so the
 * engine's provider deploys there whatever the kubeconfig's current context.
 */
export function writeStackConfig(name: string, overrides: Record<string, unknown>, baseFile = "Pulumi.local.yaml"): string {
    const base = yaml.load(fs.readFileSync(path.join(REPO_DIR, baseFile), "utf8")) as { config: Record<string, unknown> };
    const config = { ...base.config };
    for (const [key, value] of Object.entries(overrides)) {
        const full = `airflow:${key}`;
        const current = config[full];
        // an undefined value removes the committed file's key (images.airflow where the stack builds its images)
        const merged = isPlainObject(value)
            ? Object.fromEntries(Object.entries({ ...(isPlainObject(current) ? current : {}), ...value }).filter(([, v]) => v !== undefined))
            : value;
        if (merged === undefined) delete config[full];
        else config[full] = merged;
    }
    const context = labContext();
    if (context) config["kubernetes:context"] = context;
    fs.mkdirSync(STATE_DIR(), { recursive: true });
    const file = path.join(STATE_DIR(), `Pulumi.${name}.yaml`);
    fs.writeFileSync(file, yaml.dump({ config }, { lineWidth: -1 }));
    return file;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

function pulumiEnv(): NodeJS.ProcessEnv {
    const dir = STATE_DIR();
    fs.mkdirSync(path.join(dir, "backend"), { recursive: true });
    const passFile = path.join(dir, "passphrase");
    if (!fs.existsSync(passFile)) fs.writeFileSync(passFile, crypto.randomBytes(24).toString("hex"), { mode: 0o600 });
    // the installed providers (docker too, where it is: the stacks that build images start it) plus
    // stand-ins for those not installed: the CLI would otherwise try to download them before every command
    const home = PULUMI_HOME();
    const problem = pulumiHome(home);
    if (problem) throw new Error(problem);
    return {
        ...process.env,
        PULUMI_HOME: home,
        PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}`,
        PULUMI_CONFIG_PASSPHRASE_FILE: passFile,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        // --event-log is one of the CLI's debug commands
        PULUMI_DEBUG_COMMANDS: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        KUBECONFIG: labKubeconfig(),
        // the docker provider builds with the lab's dockerd (images.build)
        DOCKER_HOST: labDockerHost(),
    };
}

let programChecked = false;
/**
 * Builds bin/ when a source is newer (as program.js would otherwise compile in memory on every
 * command): the lab deploys and measures the program as `npm ci` leaves it, precompiled.
 */
function ensureProgramBuilt(): void {
    if (programChecked) return;
    programChecked = true;
    const { programBuildIsFresh } = require("../../../tools/programBuild") as { programBuildIsFresh(root: string): boolean };
    if (!programBuildIsFresh(REPO_DIR)) run("npm", ["run", "build:program"], { cwd: REPO_DIR });
}

/** The pulumi CLI with the lab's backend, passphrase, kubeconfig and dockerd. */
export function pulumi(args: string[], allowFail = false, cwd = REPO_DIR) {
    ensureProgramBuilt();
    return run("pulumi", [...args, "--non-interactive"], { cwd, env: pulumiEnv(), allowFail });
}

/**
 * After a `pulumi up` or `destroy` that was killed (the CLI's SIGKILL, a machine that stopped): a lock
 * left by a process of this host that no longer runs is cancelled (`pulumi cancel`), then
 * scripts/stackRecover.ts settles the pending operations: Kubernetes creates are imported by their
 * object's name (the killed update may have created them; the provider refuses to create an object
 * that exists), the rest cleared. The steps docs/operations.md gives a user, run only when needed.
 */
function recoverInterrupted(stack: string, log: (l: string) => void): void {
    const locks = path.join(STATE_DIR(), "backend", ".pulumi", "locks");
    const held = (fs.existsSync(locks) ? (fs.readdirSync(locks, { recursive: true }) as string[]) : [])
        .filter((f) => f.endsWith(".json") && path.basename(path.dirname(f)) === stack)
        .map((f) => JSON.parse(fs.readFileSync(path.join(locks, f), "utf8")) as { pid: number; hostname: string });
    const running = held.filter((l) => l.hostname !== os.hostname() || processRuns(l.pid));
    // an update that still runs holds its pending operations: they are its own, not left by a crash
    if (running.length) throw new Error(`stack ${stack} is being updated by pid ${running.map((l) => l.pid).join(", ")}: wait for it or stop it first`);
    if (held.length) {
        log(`the stack's lock was left by a pulumi process that no longer runs (pid ${held.map((l) => l.pid).join(", ")}): pulumi cancel`);
        pulumi(["cancel", "--yes", "--stack", stack]);
    }
    recoverStack(
        stack,
        (args) => {
            const r = pulumi(args, true);
            return { status: r.code, stdout: r.stdout, stderr: r.stderr };
        },
        (l) => (/no pending operations/.test(l) ? undefined : log(l)),
    );
}

function processRuns(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** How the lab runs the pulumi CLI (its environment and directory), for a caller that must run it asynchronously. */
export function pulumiInvocation(args: string[]): { command: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string } {
    ensureProgramBuilt();
    return { command: "pulumi", args: [...args, "--non-interactive"], env: pulumiEnv(), cwd: REPO_DIR };
}

export function ensureStack(stack: string): void {
    const ls = pulumi(["stack", "ls", "--json"]);
    const exists = (JSON.parse(ls.stdout || "[]") as { name: string }[]).some((s) => s.name === stack);
    if (!exists) {
        // Lab stacks are `lab-*` (their Pulumi.lab-*.yaml files are git-ignored), so `stack init`
        // never touches a committed stack file; one left by an earlier lab (its salt belongs to that
        // lab's passphrase) goes first.
        if (!stack.startsWith("lab-")) throw new Error(`lab stacks are named lab-*, not ${stack}`);
        fs.rmSync(path.join(REPO_DIR, `Pulumi.${stack}.yaml`), { force: true });
        pulumi(["stack", "init", stack]);
    }
}

/**
 * The lab cluster's `default/kubernetes` EndpointSlice, as JSON; undefined on the level-1 lab, whose API
 * server listens on loopback, an address no EndpointSlice may hold (it runs without the endpoint
 * reconciler), so the render keeps its mocked slice.
 */
function kubernetesApiSlice(): string | undefined {
    const r = kubectl(["get", "endpointslice", "kubernetes", "-n", "default", "-o", "json"], { allowFail: true });
    if (r.code === 0) return r.stdout;
    if (/NotFound/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get endpointslice kubernetes -n default failed: ${r.stderr.trim()}`);
}

/** The objects the program renders for a stack config (scripts/render.ts), Secrets included. */
export function renderObjects(configFile: string): any[] {
    const secretsFile = path.join(STATE_DIR(), "render-secrets.json");
    const r = run(path.join(REPO_DIR, "node_modules", ".bin", "ts-node"), ["--transpile-only", "scripts/render.ts", "--config", configFile], {
        cwd: REPO_DIR,
        // the random provider's stand-in keeps its values like Pulumi state; the Kubernetes API's endpoint is
        // the lab cluster's own, as the engine reads it (the NetworkPolicies let the scheduler reach it)
        env: { ...process.env, AIRFLOW_RENDER_SECRETS_FILE: secretsFile, AIRFLOW_RENDER_KUBERNETES_API: kubernetesApiSlice() },
    });
    return JSON.parse(r.stdout);
}

/**
 * Strict server-side apply of `file`. A Job's pod template is immutable: where a Job of the same name
 * exists with another template (a name the program leaves to the provider, which replaces such a Job
 * under a new one), the old Job is deleted and the apply made again, as the engine's replacement would.
 */
function applyReplacingJobs(file: string, batch: any[]): void {
    const args = ["apply", "--server-side", "--force-conflicts", "--field-manager=airflow-lab", "--validate=strict", "-f", file];
    const first = kubectl(args, { allowFail: true });
    if (first.code === 0) return;
    const immutable = [...first.stderr.matchAll(/The Job "([^"]+)" is invalid: spec\.template/g)].map((m) => m[1]);
    const jobs = batch.filter((o) => o.kind === "Job" && immutable.includes(o.metadata.name));
    if (!jobs.length) throw new Error(`kubectl apply failed (exit ${first.code}):\n${first.stderr.trim()}`);
    for (const j of jobs) kubectl(["delete", "job", j.metadata.name, "-n", j.metadata.namespace, "--wait=true", "--timeout=120s"]);
    kubectl(args);
}

/**
 * Waits for Job `name` to complete, as the engine's await does, and fails as soon as it has failed
 * (its backoff limit reached, its deadline passed), with its pods' termination messages and logs.
 */
function waitJob(namespace: string, name: string, timeoutSec: number): void {
    const deadline = Date.now() + timeoutSec * 1000;
    for (;;) {
        const job = JSON.parse(kubectl(["get", "job", name, "-n", namespace, "-o", "json"]).stdout);
        const condition = (type: string) => (job.status?.conditions ?? []).find((c: any) => c.type === type && c.status === "True");
        if (condition("Complete")) return;
        const failed = condition("Failed");
        if (failed || Date.now() > deadline) {
            const podList = JSON.parse(kubectl(["get", "pods", "-n", namespace, "-l", `job-name=${name}`, "-o", "json"]).stdout).items as any[];
            const messages = podList.flatMap((p) => (p.status.containerStatuses ?? []).map((c: any) => c.state?.terminated?.message).filter(Boolean));
            const logs = kubectl(["logs", `job/${name}`, "-n", namespace, "--tail=40"], { allowFail: true });
            throw new Error(
                `Job ${name} ${failed ? `failed: ${failed.reason}: ${failed.message}` : `did not complete in ${timeoutSec}s`}\n${messages.join("\n")}\n${logs.stdout}${logs.stderr}`,
            );
        }
        sleepSync(1000);
    }
}

function refOf(o: any): string {
    return `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

/**
 * Deploys (or updates) stack `stack` from `configFile`; returns when the update reports done, with
 * the engine's event log file on the Pulumi path.
 */
export function deploy(stack: string, configFile: string, via: DeployPath, log: (l: string) => void): string | undefined {
    if (via === "pulumi") {
        ensureStack(stack);
        recoverInterrupted(stack, log);
        // the engine's event log: scripts/critical-path.ts turns it into a per-resource timeline
        const events = path.join(STATE_DIR(), `${stack}-up-${Date.now()}.events.jsonl`);
        const up = pulumi(["up", "--yes", "--skip-preview", "--stack", stack, "--config-file", configFile, "--suppress-progress", "--event-log", events]);
        log(`event log: ${events}`);
        log(
            up.stdout
                .split("\n")
                .filter((l) => /Resources:|Duration:|[0-9]+ (created|updated|deleted|replaced|unchanged)/.test(l))
                .join(" ")
                .replace(/\s+/g, " ")
                .trim(),
        );
        return events;
    }
    const objects = renderObjects(configFile);
    const dir = STATE_DIR();
    const file = path.join(dir, `${stack}.objects.json`);
    const before: any[] = fs.existsSync(`${file}.refs`) ? JSON.parse(fs.readFileSync(`${file}.refs`, "utf8")) : [];
    // The program's order, as the engine would follow its dependsOn: storage, database and config
    // first, then the storage preparation Job (the claims' roots made writable), then the other
    // one-shot Jobs (migrations, git-sync's first sync onto the claim), then the workloads and FAB's
    // admin Job.
    // Like the engine's state, what this deploy creates is recorded before it is applied: a failed
    // update's objects (a Job that failed) are deleted by the next update that no longer renders them.
    const refsOf = (list: any[]) => list.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } }));
    const attempted = new Set(before.map(refOf));
    fs.writeFileSync(`${file}.refs`, JSON.stringify([...before, ...refsOf(objects.filter((o) => !attempted.has(refOf(o))))]));
    const isStorageJob = (o: any) => o.kind === "Job" && o.metadata.labels?.["app.kubernetes.io/component"] === "storage";
    // FAB's admin Job runs after the migrations, beside the workloads, as the engine's dependsOn orders it
    const isAdminJob = (o: any) => o.kind === "Job" && /-admin-[0-9a-f]{10}$/.test(o.metadata.name);
    const phase = (o: any) => (isStorageJob(o) ? 1 : isAdminJob(o) ? 3 : o.kind === "Job" ? 2 : ["Deployment", "CronJob"].includes(o.kind) ? 3 : 0);
    try {
        for (const p of [0, 1, 2, 3]) {
            const batch = objects.filter((o) => phase(o) === p);
            if (!batch.length) continue;
            fs.writeFileSync(file, batch.map((o) => JSON.stringify(o)).join("\n"), { mode: 0o600 });
            applyReplacingJobs(file, batch);
            const ns = (kind: string) => batch.filter((o) => o.kind === kind).map((o) => [o.metadata.namespace, o.metadata.name] as const);
            for (const [namespace, name] of ns("StatefulSet")) {
                kubectl(["rollout", "status", `statefulset/${name}`, "-n", namespace, "--timeout=600s"], { timeoutMs: 620_000 });
            }
            for (const [namespace, name] of ns("Job")) waitJob(namespace, name, 600);
        }
    } finally {
        fs.rmSync(file, { force: true }); // holds Secret values
    }
    // what Pulumi would delete: objects of the previous render that this one no longer has
    const now = new Set(objects.map(refOf));
    const gone = before.filter((o) => !now.has(refOf(o)));
    if (gone.length) {
        kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], { input: gone.map((o) => JSON.stringify(o)).join("\n") });
        log(`deleted ${gone.map((o) => `${o.kind} ${o.metadata.name}`).join(", ")} (gone from the render)`);
    }
    fs.writeFileSync(`${file}.refs`, JSON.stringify(refsOf(objects)));
    log(`applied ${objects.length} rendered objects (strict server-side apply)`);
    return undefined;
}

/**
 * Seconds of a `pulumi preview --expect-no-changes` of a deployed stack (fails on any change).
 * `withoutAutomaticLog`, a diagnostic only: the CLI (since v3.249) writes every engine step, with its
 * properties, to an automatic debug log in $PULUMI_HOME/logs and has no switch for it; with a file in
 * that directory's place it cannot start that log, which shows what the log costs.
 */
export function noopPreview(stack: string, withoutAutomaticLog = false): number {
    const configFile = path.join(STATE_DIR(), `Pulumi.${stack}.yaml`);
    const logs = path.join(PULUMI_HOME(), "logs");
    if (withoutAutomaticLog) {
        fs.rmSync(logs, { recursive: true, force: true });
        fs.writeFileSync(logs, "");
    }
    try {
        const t = Date.now();
        pulumi(["preview", "--expect-no-changes", "--stack", stack, "--config-file", configFile]);
        return (Date.now() - t) / 1000;
    } finally {
        if (withoutAutomaticLog) fs.rmSync(logs, { force: true });
    }
}

/**
 * Seconds of a no-op preview of an empty Node.js program (it only loads @pulumi/pulumi), with the
 * same CLI, backend and node_modules as this program: what any Node.js program pays before its first
 * resource. `preload`: with this package's tools/preload.js, as its Pulumi.yaml has it. `oneObject`:
 * the same program with one ConfigMap through the kubernetes provider (in the namespace `default`):
 * what the provider's start adds before any resource of this package.
 */
export function emptyProgramPreview(preload: boolean, oneObject = false): number {
    const stack = `lab-empty${preload ? "-preload" : ""}${oneObject ? "-one" : ""}`;
    const dir = path.join(STATE_DIR(), stack);
    if (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
        fs.mkdirSync(dir, { recursive: true });
        const options = { typescript: false, ...(preload ? { nodeargs: `--require ${path.join(REPO_DIR, "tools", "preload.js")}` } : {}) };
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.dump({ name: stack, runtime: { name: "nodejs", options }, main: "index.js" }));
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: stack, private: true, main: "index.js" }));
        const one =
            'const k8s = require("@pulumi/kubernetes");\nnew k8s.core.v1.ConfigMap("one", { metadata: { name: "bench-one-object", namespace: "default" }, data: { a: "b" } });\n';
        fs.writeFileSync(path.join(dir, "index.js"), `require("@pulumi/pulumi");\n${oneObject ? one : ""}`);
        fs.symlinkSync(path.join(REPO_DIR, "node_modules"), path.join(dir, "node_modules"));
        pulumi(["stack", "init", stack], false, dir);
        pulumi(["up", "--yes", "--skip-preview", "--stack", stack], false, dir);
    }
    const t = Date.now();
    pulumi(["preview", "--expect-no-changes", "--stack", stack], false, dir);
    return (Date.now() - t) / 1000;
}

/** `pulumi stack export` of a lab stack (the engine path): the state as the backend keeps it. */
export function stackExport(stack: string): string {
    return pulumi(["stack", "export", "--stack", stack]).stdout;
}

/**
 * Destroys stack `stack`: everything it deployed, namespace last; then removes the stack unless
 * `keepStack` (a benchmark times the destroy alone and calls removeStack after).
 */
export function destroy(stack: string, via: DeployPath, configFile: string, namespace: string, keepStack = false): string | undefined {
    if (via === "pulumi") {
        recoverInterrupted(stack, (l) => process.stderr.write(`[lab] ${l}\n`));
        // the engine's event log, as for deploy(): scripts/critical-path.ts reads the deletes too
        const events = path.join(STATE_DIR(), `${stack}-destroy-${Date.now()}.events.jsonl`);
        pulumi(["destroy", "--yes", "--skip-preview", "--stack", stack, "--config-file", configFile, "--suppress-progress", "--event-log", events]);
        if (!keepStack) removeStack(stack);
        return events;
    }
    const refs = path.join(STATE_DIR(), `${stack}.objects.json.refs`);
    kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--timeout=180s"]);
    fs.rmSync(refs, { force: true });
    return undefined;
}

/**
 * `pulumi preview --json --diff` of deployed stack `stack` with the config of `configFile` (the
 * pull-request workflow's preview): the engine's JSON on stdout, and its exit code (non-zero when
 * the preview failed). `showSecrets` adds --show-secrets (the JSON then holds secret plaintexts).
 */
export function previewJson(stack: string, configFile: string, showSecrets = false): { code: number; json: string; stderr: string } {
    const args = ["preview", "--json", "--diff", "--stack", stack, "--config-file", configFile, ...(showSecrets ? ["--show-secrets"] : [])];
    const r = pulumi(args, true);
    return { code: r.code, json: r.stdout, stderr: r.stderr };
}

/** Removes Pulumi stack `stack` (after destroy). */
export function removeStack(stack: string): void {
    pulumi(["stack", "rm", "--yes", "--force", stack], true);
}

/** One step of a preview: what the engine would do to a resource. */
export interface PreviewStep {
    op: string;
    type: string;
    name: string;
    /** The properties whose change causes the step (the provider's detailed diff, else the engine's). */
    diffs: string[];
}

/** The steps of `pulumi preview --json` of a deployed stack with `configFile` (the CLI lists no `same` step), and those that change something. */
export function previewSteps(stack: string, configFile: string, cwd = REPO_DIR): { steps: PreviewStep[]; changes: PreviewStep[] } {
    const r = pulumi(["preview", "--json", "--stack", stack, "--config-file", configFile], false, cwd);
    const out = JSON.parse(r.stdout) as { steps?: { op: string; urn: string; diffs?: string[]; detailedDiff?: Record<string, unknown> }[] };
    const steps = (out.steps ?? []).map((s) => {
        const [type, name] = s.urn.split("::").slice(-2);
        return { op: s.op, type: type.split("$").at(-1)!, name, diffs: Object.keys(s.detailedDiff ?? {}).length ? Object.keys(s.detailedDiff!) : (s.diffs ?? []) };
    });
    // reads (a StackReference, a looked-up object) change nothing, as for `--expect-no-changes`
    return { steps, changes: steps.filter((s) => !["same", "read"].includes(s.op) && s.type !== "pulumi:pulumi:Stack") };
}

/** The images a stack built (docker Image resources): name -> repoDigest, from its state. */
export function stackImages(stack: string): Record<string, string> {
    const state = JSON.parse(pulumi(["stack", "export", "--stack", stack]).stdout);
    const images = (state.deployment.resources ?? []).filter((r: any) => r.type === "docker:index/image:Image");
    return Object.fromEntries(images.map((r: any) => [r.urn.split("::").at(-1), r.outputs.repoDigest]));
}
