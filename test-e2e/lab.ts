// End-to-end check of rendered Kubernetes objects against the local lab (lab/up.sh) or the
// cluster in AIRFLOW_LAB_KUBECONFIG. Used by lab/check.sh and by the mocha e2e suite.
//
// Steps: load -> (create namespace) -> server-side apply with strict field validation ->
// wait for workloads -> re-apply and assert no-op -> delete and assert nothing is left.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type KObject = {
    apiVersion: string;
    kind: string;
    metadata: {
        name: string;
        namespace?: string;
        resourceVersion?: string;
        generation?: number;
        uid?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        managedFields?: ManagedFieldsEntry[];
        deletionTimestamp?: string;
        ownerReferences?: { kind: string; name: string }[];
        [key: string]: unknown;
    };
    spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    status?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    [key: string]: unknown;
};

type ManagedFieldsEntry = { manager?: string; operation?: string; time?: string; subresource?: string };

export class CheckError extends Error {
    constructor(
        readonly step: string,
        message: string,
    ) {
        super(`[${step}] ${message}`);
        this.name = "CheckError";
    }
}

export const FIELD_MANAGER = "airflow-lab";
export const REPO_DIR = path.resolve(__dirname, "..");
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
    const r = spawnSync(kubectlBinary(), ["--kubeconfig", labKubeconfig(), ...args], {
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

function kubectlJson<T>(args: string[]): T {
    return JSON.parse(kubectl([...args, "-o", "json"]).stdout) as T;
}

// ---------------------------------------------------------------------------------------------
// Loading

function flatten(value: unknown, out: KObject[], source: string): void {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
        for (const v of value) flatten(v, out, source);
        return;
    }
    if (typeof value !== "object") throw new CheckError("load", `${source}: expected Kubernetes objects, found ${typeof value}`);
    const o = value as KObject;
    if (typeof o.kind === "string" && o.kind.endsWith("List") && Array.isArray(o.items)) {
        flatten(o.items, out, source);
        return;
    }
    if (!o.apiVersion || !o.kind || !o.metadata || !o.metadata.name) {
        throw new CheckError("load", `${source}: object without apiVersion/kind/metadata.name: ${JSON.stringify(o).slice(0, 200)}`);
    }
    out.push(o);
}

/** Splits concatenated JSON values ("{...}{...}") into separate texts. */
export function splitJsonStream(text: string): string[] {
    const docs: string[] = [];
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = -1;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (inString) {
            if (escaped) escaped = false;
            else if (c === "\\") escaped = true;
            else if (c === '"') inString = false;
            continue;
        }
        if (c === '"') inString = true;
        else if (c === "{" || c === "[") {
            if (depth === 0) start = i;
            depth++;
        } else if (c === "}" || c === "]") {
            depth--;
            if (depth === 0) docs.push(text.slice(start, i + 1));
        }
    }
    return docs;
}

/** Reads a JSON array/List or a multi-document YAML file into a flat object list (file order). */
export function loadObjects(file: string): KObject[] {
    const text = fs.readFileSync(file, "utf8");
    const out: KObject[] = [];
    const trimmed = text.trimStart();
    if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
        flatten(JSON.parse(text), out, file);
    } else {
        // YAML: let kubectl parse it (no server-side validation here, that is the apply step's job).
        // kubectl prints one JSON document per object, one after the other.
        const r = kubectl(["create", "--dry-run=client", "--validate=false", "-o", "json", "-f", file]);
        for (const doc of splitJsonStream(r.stdout)) flatten(JSON.parse(doc), out, file);
    }
    if (out.length === 0) throw new CheckError("load", `${file} contains no objects`);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers

type Resource = { name: string; namespaced: boolean; group: string; kind: string };
let resourceCache: Resource[] | undefined;

function apiResources(): Resource[] {
    if (resourceCache) return resourceCache;
    const out = kubectl(["api-resources", "--no-headers", "-o", "wide"]).stdout;
    const res: Resource[] = [];
    // columns: NAME SHORTNAMES APIVERSION NAMESPACED KIND VERBS CATEGORIES (SHORTNAMES may be empty)
    for (const line of out.split("\n")) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 5) continue;
        const nsIdx = cols.findIndex((c, i) => i >= 2 && (c === "true" || c === "false"));
        if (nsIdx < 0) continue;
        const apiVersion = cols[nsIdx - 1];
        const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
        const verbs = cols[nsIdx + 2] || "";
        if (!verbs.includes("list")) continue;
        res.push({ name: cols[0], namespaced: cols[nsIdx] === "true", group, kind: cols[nsIdx + 1] });
    }
    resourceCache = res;
    return res;
}

function isNamespaced(o: KObject): boolean {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
    const r = apiResources().find((x) => x.kind === o.kind && x.group === group);
    if (!r) throw new CheckError("load", `the API server does not serve ${o.apiVersion} ${o.kind} (object ${o.metadata.name})`);
    return r.namespaced;
}

export function ref(o: KObject): string {
    return `${o.kind}/${o.metadata.namespace ? o.metadata.namespace + "/" : ""}${o.metadata.name}`;
}

function sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Writes objects as a stream of JSON documents, one per line. (Not a v1 List: kubectl cannot ask
 * the server for strict field validation of a List and would fall back to client-side validation.)
 */
function writeList(dir: string, name: string, items: KObject[]): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, items.map((o) => JSON.stringify(o)).join("\n") + "\n");
    return f;
}

/** Live objects for the given manifest objects, same order; missing ones are undefined. One kubectl call. */
function getLive(objs: KObject[], dir: string): (KObject | undefined)[] {
    const f = writeList(dir, "get.json", objs);
    const r = kubectl(["get", "-f", f, "--ignore-not-found", "-o", "json"]);
    const items = r.stdout.trim() ? flattenLive(JSON.parse(r.stdout)) : [];
    const key = (o: KObject) => `${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
    const byKey = new Map(items.map((o) => [key(o), o]));
    return objs.map((o) => byKey.get(key(o)));
}

function flattenLive(v: unknown): KObject[] {
    const o = v as KObject & { items?: KObject[] };
    return Array.isArray(o.items) ? o.items : [o];
}

// ---------------------------------------------------------------------------------------------
// Readiness

type Readiness = { ready: boolean; failed?: string; detail: string };

function readiness(kind: string, o: KObject): Readiness {
    const s = o.status || {};
    const spec = o.spec || {};
    const gen = o.metadata.generation ?? 0;
    const observed = s.observedGeneration ?? 0;
    const cond = (t: string) => ((s.conditions || []) as { type: string; status: string; reason?: string; message?: string }[]).find((c) => c.type === t);
    switch (kind) {
        case "Deployment": {
            const want = spec.replicas ?? 1;
            const ok = observed >= gen && (s.updatedReplicas ?? 0) === want && (s.availableReplicas ?? 0) === want && (s.readyReplicas ?? 0) === want && (s.replicas ?? 0) === want;
            const prog = cond("Progressing");
            if (prog && prog.status === "False" && prog.reason === "ProgressDeadlineExceeded") return { ready: false, failed: `rollout stuck: ${prog.message}`, detail: "" };
            return { ready: ok, detail: `${s.availableReplicas ?? 0}/${want} available` };
        }
        case "StatefulSet": {
            const want = spec.replicas ?? 1;
            const rolling = (spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
            const ok = observed >= gen && (s.readyReplicas ?? 0) === want && (s.availableReplicas ?? s.readyReplicas ?? 0) === want && (!rolling || (s.updatedReplicas ?? 0) === want);
            return { ready: ok, detail: `${s.readyReplicas ?? 0}/${want} ready` };
        }
        case "DaemonSet": {
            const ok = observed >= gen && (s.desiredNumberScheduled ?? 0) > 0 && s.numberReady === s.desiredNumberScheduled && s.updatedNumberScheduled === s.desiredNumberScheduled;
            return { ready: ok, detail: `${s.numberReady ?? 0}/${s.desiredNumberScheduled ?? "?"} ready` };
        }
        case "Job": {
            const failed = cond("Failed");
            if (failed && failed.status === "True") return { ready: false, failed: `job failed: ${failed.reason}: ${failed.message}`, detail: "" };
            const done = cond("Complete");
            return { ready: !!done && done.status === "True", detail: `${s.succeeded ?? 0} succeeded` };
        }
        case "PersistentVolumeClaim":
            return { ready: s.phase === "Bound", detail: `phase ${s.phase ?? "?"}` };
        default:
            return { ready: true, detail: "" };
    }
}

const WAITED_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "PersistentVolumeClaim"]);

function diagnostics(namespace: string): string {
    const pods = kubectl(["get", "pods", "-n", namespace, "-o", "wide"], { allowFail: true }).stdout;
    const pvcs = kubectl(["get", "pvc", "-n", namespace], { allowFail: true }).stdout;
    const events = kubectl(["get", "events", "-n", namespace, "--sort-by=.lastTimestamp", "--field-selector", "type!=Normal"], { allowFail: true }).stdout;
    return `pods:\n${pods}\npvcs:\n${pvcs}\nwarning events:\n${events.split("\n").slice(-25).join("\n")}`;
}

// ---------------------------------------------------------------------------------------------
// Leftovers

const IGNORED_LEFTOVER_RESOURCES = new Set(["events", "events.events.k8s.io"]);

function isIgnoredLeftover(kind: string, name: string): boolean {
    return (kind === "ConfigMap" && name === "kube-root-ca.crt") || (kind === "ServiceAccount" && name === "default");
}

/** Everything listable left in the namespace, minus what Kubernetes puts into every namespace. */
export function namespaceLeftovers(namespace: string): string[] {
    const names = apiResources()
        .filter((r) => r.namespaced)
        .map((r) => (r.group ? `${r.name}.${r.group}` : r.name))
        .filter((n) => !IGNORED_LEFTOVER_RESOURCES.has(n));
    const r = kubectl(["get", names.join(","), "-n", namespace, "--ignore-not-found", "-o", "json"], { allowFail: true });
    if (r.code !== 0) {
        if (/not found/.test(r.stderr)) return [];
        throw new CheckError("delete", `listing namespace ${namespace} failed: ${r.stderr.trim()}`);
    }
    if (!r.stdout.trim()) return [];
    const list = JSON.parse(r.stdout) as { items: KObject[] };
    const seen = new Set<string>();
    const out: string[] = [];
    for (const o of list.items) {
        if (isIgnoredLeftover(o.kind, o.metadata.name)) continue;
        const id = `${o.kind}/${o.metadata.name}`;
        if (!seen.has(id)) {
            seen.add(id);
            out.push(id + (o.metadata.deletionTimestamp ? " (terminating)" : ""));
        }
    }
    return out;
}

/** PVC name -> reason, for claims that StatefulSets in the manifest keep when they are deleted. */
function retainedClaims(objects: KObject[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const o of objects.filter((x) => x.kind === "StatefulSet")) {
        const policy = o.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? "Retain";
        if (policy === "Delete") continue;
        const templates = (o.spec?.volumeClaimTemplates ?? []) as KObject[];
        for (let i = 0; i < (o.spec?.replicas ?? 1); i++) {
            for (const t of templates) {
                out.set(`PersistentVolumeClaim/${t.metadata.name}-${o.metadata.name}-${i}`, `StatefulSet ${o.metadata.name} has persistentVolumeClaimRetentionPolicy.whenDeleted=${policy}`);
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Re-apply comparison

function ourApplyEntry(o: KObject): string {
    const e = (o.metadata.managedFields || []).filter((m) => m.manager === FIELD_MANAGER && m.operation === "Apply" && !m.subresource);
    return JSON.stringify(e.map((m) => m.time));
}

function withoutVolatile(o: KObject): unknown {
    const copy = JSON.parse(JSON.stringify(o)) as KObject;
    delete copy.status;
    delete copy.metadata.resourceVersion;
    delete copy.metadata.managedFields;
    return copy;
}

function diffPaths(a: unknown, b: unknown, p = "", out: string[] = []): string[] {
    if (out.length > 20) return out;
    if (JSON.stringify(a) === JSON.stringify(b)) return out;
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
        const ao = a as Record<string, unknown>;
        const bo = b as Record<string, unknown>;
        for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) diffPaths(ao[k], bo[k], `${p}.${k}`, out);
        return out;
    }
    out.push(`${p || "."}: ${JSON.stringify(a)?.slice(0, 120)} -> ${JSON.stringify(b)?.slice(0, 120)}`);
    return out;
}

// ---------------------------------------------------------------------------------------------
// The check

export type CheckOptions = {
    /** Namespace the objects live in; default: the Namespace object in the file, or the objects' namespace. */
    namespace?: string;
    readyTimeoutSec?: number;
    deleteTimeoutSec?: number;
    /** Print progress (default true). */
    log?: (line: string) => void;
    /** Keep the objects when a step fails (default: clean up). */
    keepOnFailure?: boolean;
    /**
     * Accept PersistentVolumeClaims of StatefulSets whose persistentVolumeClaimRetentionPolicy keeps
     * them on deletion (the default): reported as a warning, removed with the namespace. Default false
     * (env LAB_ALLOW_RETAINED_PVCS=1).
     */
    allowRetainedPvcs?: boolean;
    /** Test hook: re-apply this file instead of the original (must then be detected as a change). */
    reapplyFile?: string;
};

export type StepTiming = { step: string; seconds: number };
export type CheckResult = { namespace: string; objects: number; timings: StepTiming[]; warnings: string[] };

export function runCheck(file: string, options: CheckOptions = {}): CheckResult {
    const log = options.log ?? ((l: string) => process.stderr.write(l + "\n"));
    const readyTimeout = options.readyTimeoutSec ?? Number(process.env.LAB_READY_TIMEOUT || 180);
    const deleteTimeout = options.deleteTimeoutSec ?? Number(process.env.LAB_DELETE_TIMEOUT || 120);
    const timings: StepTiming[] = [];
    const warnings: string[] = [];
    const t0 = Date.now();
    let stepStart = Date.now();
    const step = (name: string) => {
        stepStart = Date.now();
        log(`--> ${name}`);
    };
    const done = (name: string) => {
        const seconds = (Date.now() - stepStart) / 1000;
        timings.push({ step: name, seconds });
        log(`    ${name}: ${seconds.toFixed(1)}s`);
    };

    // load
    step("load");
    kubectl(["get", "--raw", "/readyz"]);
    const objects = loadObjects(file);
    const nsObjects = objects.filter((o) => o.kind === "Namespace" && o.apiVersion === "v1");
    const namespaced = objects.filter((o) => o.kind !== "Namespace" && isNamespaced(o));
    const inFile = new Set(namespaced.map((o) => o.metadata.namespace).filter((n): n is string => !!n));
    let namespace = options.namespace;
    if (!namespace) {
        const candidates = new Set([...nsObjects.map((o) => o.metadata.name), ...inFile]);
        if (candidates.size !== 1) throw new CheckError("load", `cannot tell the namespace (found: ${[...candidates].join(", ") || "none"}); pass it explicitly`);
        namespace = [...candidates][0];
    }
    for (const o of namespaced) {
        if (!o.metadata.namespace) o.metadata.namespace = namespace;
        if (o.metadata.namespace !== namespace) throw new CheckError("load", `${ref(o)} is not in namespace ${namespace}`);
    }
    const nsInFile = nsObjects.some((o) => o.metadata.name === namespace);
    const counts = new Map<string, number>();
    for (const o of objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
    log(`    ${objects.length} objects for namespace ${namespace}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}`);
    done("load");

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "airflow-lab-check-"));
    const listFile = writeList(tmp, "objects.json", objects);
    let createdNamespace = false;
    let applied = false;

    const cleanup = () => {
        if (!applied && !createdNamespace) return;
        log(`    cleaning up namespace ${namespace} after failure`);
        kubectl(["delete", "-f", listFile, "--ignore-not-found", "--wait=false"], { allowFail: true });
        if (createdNamespace || nsInFile) kubectl(["delete", "namespace", namespace!, "--ignore-not-found", "--wait=false"], { allowFail: true });
    };

    try {
        // storage for claims (lab only: the external cluster brings its own provisioner)
        if (!isExternalCluster()) {
            let claims = objects.filter((o) => o.kind === "PersistentVolumeClaim").length;
            for (const o of objects.filter((x) => x.kind === "StatefulSet")) {
                claims += (o.spec?.replicas ?? 1) * ((o.spec?.volumeClaimTemplates as unknown[] | undefined)?.length ?? 0);
            }
            if (claims > 0) labVolumes(claims + 2);
        }

        // namespace
        const nsPhase = () => kubectl(["get", "namespace", namespace!, "--ignore-not-found", "-o", "jsonpath={.status.phase}"]).stdout.trim();
        if (nsPhase() === "Terminating") {
            log(`    namespace ${namespace} is still terminating (earlier run): waiting up to ${deleteTimeout}s`);
            const until = Date.now() + deleteTimeout * 1000;
            while (nsPhase() === "Terminating" && Date.now() < until) sleep(1000);
        }
        const exists = nsPhase() !== "";
        if (!exists && !nsInFile) {
            step("create namespace");
            kubectl(["create", "namespace", namespace]);
            createdNamespace = true;
            done("create namespace");
        } else if (nsPhase() === "Terminating") {
            throw new CheckError("namespace", `namespace ${namespace} is still terminating from an earlier run`);
        }

        // apply
        step("apply");
        applied = true;
        const applyArgs = ["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "--validate=strict", "-f", listFile];
        const r = kubectl(applyArgs, { allowFail: true });
        const warn = r.stderr.split("\n").filter((l) => /^Warning:/i.test(l));
        warnings.push(...warn);
        for (const w of warn) log(`    API server ${w}`);
        if (r.code !== 0) {
            const errs = r.stderr.split("\n").filter((l) => l.trim() && !/^Warning:/i.test(l));
            throw new CheckError("apply", `the API server rejected the objects:\n${errs.join("\n")}`);
        }
        done("apply");

        // wait
        step("wait ready");
        const tracked = objects.filter((o) => WAITED_KINDS.has(o.kind));
        const deadline = Date.now() + readyTimeout * 1000;
        let last = "";
        for (;;) {
            const live = getLive(tracked, tmp);
            const pending: string[] = [];
            for (let i = 0; i < tracked.length; i++) {
                const l = live[i];
                if (!l) throw new CheckError("wait", `${ref(tracked[i])} disappeared after apply`);
                const rd = readiness(tracked[i].kind, l);
                if (rd.failed) throw new CheckError("wait", `${ref(tracked[i])}: ${rd.failed}\n${diagnostics(namespace)}`);
                if (!rd.ready) pending.push(`${ref(tracked[i])} (${rd.detail})`);
            }
            if (pending.length === 0) break;
            const now = pending.join(", ");
            if (now !== last) log(`    waiting for: ${now}`);
            last = now;
            if (Date.now() > deadline) {
                throw new CheckError("wait", `not ready after ${readyTimeout}s: ${now}\n${diagnostics(namespace)}`);
            }
            sleep(1000);
        }
        log(`    ${tracked.length} workloads/claims ready`);
        done("wait ready");

        // re-apply
        step("re-apply (must be a no-op)");
        const before = getLive(objects, tmp);
        let reapplyArgs = applyArgs;
        if (options.reapplyFile) {
            const other = loadObjects(options.reapplyFile);
            for (const o of other) if (o.kind !== "Namespace" && !o.metadata.namespace && isNamespaced(o)) o.metadata.namespace = namespace;
            reapplyArgs = [...applyArgs.slice(0, -1), writeList(tmp, "reapply.json", other)];
        }
        const r2 = kubectl(reapplyArgs, { allowFail: true });
        if (r2.code !== 0) throw new CheckError("re-apply", `second apply failed:\n${r2.stderr.trim()}`);
        const after = getLive(objects, tmp);
        const changed: string[] = [];
        let statusOnly = 0;
        for (let i = 0; i < objects.length; i++) {
            const b = before[i];
            const a = after[i];
            if (!b || !a) {
                changed.push(`${ref(objects[i])}: missing ${!b ? "before" : "after"} re-apply`);
                continue;
            }
            if (b.metadata.resourceVersion === a.metadata.resourceVersion) continue;
            const paths = diffPaths(withoutVolatile(b), withoutVolatile(a));
            if (paths.length > 0) {
                changed.push(`${ref(objects[i])} changed: ${paths.join("; ")}`);
            } else if (ourApplyEntry(b) !== ourApplyEntry(a)) {
                changed.push(`${ref(objects[i])}: the re-apply was recorded as a write by ${FIELD_MANAGER}`);
            } else {
                statusOnly++;
            }
        }
        if (changed.length > 0) throw new CheckError("re-apply", `re-applying the same objects changed them:\n  ${changed.join("\n  ")}`);
        log(`    no object changed (${statusOnly} had status-only updates from controllers meanwhile)`);
        done("re-apply (must be a no-op)");

        // delete
        step("delete");
        const toDelete = objects.filter((o) => o.kind !== "Namespace");
        const delFile = writeList(tmp, "delete.json", [...toDelete].reverse());
        kubectl(["delete", "-f", delFile, "--ignore-not-found", "--wait=true", `--timeout=${deleteTimeout}s`]);
        const retained = retainedClaims(objects);
        const onlyRetained = (l: string[]) => l.length > 0 && l.every((x) => retained.has(x.replace(/ \(terminating\)$/, "")));
        const delDeadline = Date.now() + deleteTimeout * 1000;
        let left = namespaceLeftovers(namespace);
        let lastLeft = "";
        let settled = 0;
        while (left.length > 0 && Date.now() < delDeadline) {
            // claims a StatefulSet retains by policy never go away: stop waiting once only they are left
            settled = onlyRetained(left) ? settled + 1 : 0;
            if (settled >= 5) break;
            const now = left.join(", ");
            if (now !== lastLeft) log(`    still in ${namespace}: ${now}`);
            lastLeft = now;
            sleep(1000);
            left = namespaceLeftovers(namespace);
        }
        if (left.length > 0 && onlyRetained(left)) {
            const why = [...new Set(left.map((x) => retained.get(x.replace(/ \(terminating\)$/, ""))))].join("; ");
            const msg = `kept after delete: ${left.join(", ")} (${why})`;
            const allow = options.allowRetainedPvcs ?? process.env.LAB_ALLOW_RETAINED_PVCS === "1";
            if (!allow) {
                throw new CheckError("delete", `${msg}. Set persistentVolumeClaimRetentionPolicy.whenDeleted: Delete, or accept this with LAB_ALLOW_RETAINED_PVCS=1 / --allow-retained-pvcs`);
            }
            warnings.push(msg);
            log(`    WARNING ${msg}; accepted (they go with the namespace)`);
            left = [];
        }
        if (left.length > 0) throw new CheckError("delete", `namespace ${namespace} is not empty ${deleteTimeout}s after deleting every object: ${left.join(", ")}`);
        log(`    namespace ${namespace} holds none of our objects any more${warnings.some((w) => w.startsWith("kept after delete")) ? " (apart from the accepted retained claims)" : ""}`);
        done("delete");

        if (nsInFile || createdNamespace) {
            step("delete namespace");
            kubectl(["delete", "namespace", namespace, "--wait=true", `--timeout=${deleteTimeout}s`], { allowFail: true });
            const gone = kubectl(["get", "namespace", namespace, "--ignore-not-found", "-o", "json"]).stdout.trim();
            if (gone) {
                const ns = JSON.parse(gone) as KObject;
                throw new CheckError("delete", `namespace ${namespace} still exists ${deleteTimeout}s after deletion: ${JSON.stringify(ns.status)}`);
            }
            done("delete namespace");
        }
        applied = false;
        createdNamespace = false;
        if (!isExternalCluster()) {
            // hand the volumes our claims used back to the lab's pool
            spawnSync("bash", [path.join(LAB_DIR, "pvs.sh"), "0"], { encoding: "utf8" });
        }
    } catch (e) {
        if (!options.keepOnFailure && process.env.LAB_KEEP_ON_FAILURE !== "1") {
            try {
                cleanup();
            } catch {
                /* best effort */
            }
        }
        throw e;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    const total = (Date.now() - t0) / 1000;
    timings.push({ step: "total", seconds: total });
    log(`timings: ${timings.map((t) => `${t.step} ${t.seconds.toFixed(1)}s`).join(" | ")}`);
    return { namespace, objects: objects.length, timings, warnings };
}
