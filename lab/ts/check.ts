// End-to-end check of rendered Kubernetes objects against the local lab (lab/up.sh) or the
// cluster in AIRFLOW_LAB_KUBECONFIG. Used by lab/check.sh and by the mocha e2e suite.
//
// Steps: load -> (create namespace) -> server-side apply with strict field validation ->
// wait for workloads -> re-apply and assert no-op -> delete and assert nothing is left.
// Each step is one function below; runCheck runs them in order and cleans up when one fails.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CheckError, FIELD_MANAGER, isExternalCluster, kubectl, LAB_DIR, labVolumes, sleepSync } from "./kubectl";
import { namespaceLeftovers, retainedClaims } from "./leftovers";
import { getLive, isNamespaced, KObject, loadObjects, ref, writeList } from "./objects";
import { diagnostics, readiness, WAITED_KINDS } from "./readiness";
import { compareLive } from "./reapply";

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

/** One run of the check: its settings and what it has found so far. */
type Run = {
    options: CheckOptions;
    log: (line: string) => void;
    readyTimeout: number;
    deleteTimeout: number;
    timings: StepTiming[];
    warnings: string[];
};

/** The objects of the run, where they live, and what the run has done to the cluster (for the clean-up). */
type Target = {
    objects: KObject[];
    namespace: string;
    /** The file holds the Namespace object itself. */
    nsInFile: boolean;
    tmp: string;
    /** The objects as one JSON stream (writeList), the file every apply uses. */
    listFile: string;
    createdNamespace: boolean;
    applied: boolean;
};

export function runCheck(file: string, options: CheckOptions = {}): CheckResult {
    const run: Run = {
        options,
        log: options.log ?? ((l: string) => process.stderr.write(l + "\n")),
        readyTimeout: options.readyTimeoutSec ?? Number(process.env.LAB_READY_TIMEOUT || 180),
        deleteTimeout: options.deleteTimeoutSec ?? Number(process.env.LAB_DELETE_TIMEOUT || 120),
        timings: [],
        warnings: [],
    };
    const t0 = Date.now();
    const loaded = timed(run, "load", () => load(run, file));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "airflow-lab-check-"));
    const target: Target = { ...loaded, tmp, listFile: writeList(tmp, "objects.json", loaded.objects), createdNamespace: false, applied: false };
    try {
        // storage for claims (lab only: the external cluster brings its own provisioner)
        if (!isExternalCluster()) provideVolumes(target.objects);
        prepareNamespace(run, target);
        timed(run, "apply", () => apply(run, target));
        timed(run, "wait ready", () => waitUntilReady(run, target));
        timed(run, "re-apply (must be a no-op)", () => reapplyIsNoop(run, target));
        timed(run, "delete", () => deleteObjects(run, target));
        if (target.nsInFile || target.createdNamespace) timed(run, "delete namespace", () => deleteNamespace(run, target.namespace));
        target.applied = false;
        target.createdNamespace = false;
        // hand the volumes our claims used back to the lab's pool
        if (!isExternalCluster()) spawnSync("bash", [path.join(LAB_DIR, "pvs.sh"), "0"], { encoding: "utf8" });
    } catch (e) {
        if (!options.keepOnFailure && process.env.LAB_KEEP_ON_FAILURE !== "1") {
            try {
                cleanUp(run, target);
            } catch {
                /* best effort */
            }
        }
        throw e;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    run.timings.push({ step: "total", seconds: (Date.now() - t0) / 1000 });
    run.log(`timings: ${run.timings.map((t) => `${t.step} ${t.seconds.toFixed(1)}s`).join(" | ")}`);
    return { namespace: target.namespace, objects: target.objects.length, timings: run.timings, warnings: run.warnings };
}

/** Runs one step, logging its start and recording its duration (not recorded when it fails). */
function timed<T>(run: Run, name: string, step: () => T): T {
    const start = Date.now();
    run.log(`--> ${name}`);
    const result = step();
    const seconds = (Date.now() - start) / 1000;
    run.timings.push({ step: name, seconds });
    run.log(`    ${name}: ${seconds.toFixed(1)}s`);
    return result;
}

/** Loads the file and places every namespaced object in the check's namespace. */
function load(run: Run, file: string): Pick<Target, "objects" | "namespace" | "nsInFile"> {
    kubectl(["get", "--raw", "/readyz"]);
    const objects = loadObjects(file);
    const nsObjects = objects.filter((o) => o.kind === "Namespace" && o.apiVersion === "v1");
    const namespaced = objects.filter((o) => o.kind !== "Namespace" && isNamespaced(o));
    const namespace = run.options.namespace || theNamespace(nsObjects, namespaced);
    for (const o of namespaced) {
        if (!o.metadata.namespace) o.metadata.namespace = namespace;
        if (o.metadata.namespace !== namespace) throw new CheckError("load", `${ref(o)} is not in namespace ${namespace}`);
    }
    const counts = new Map<string, number>();
    for (const o of objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
    run.log(`    ${objects.length} objects for namespace ${namespace}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}`);
    return { objects, namespace, nsInFile: nsObjects.some((o) => o.metadata.name === namespace) };
}

/** The one namespace the file names (a Namespace object, or its objects' namespace); fails when it names none or several. */
function theNamespace(nsObjects: KObject[], namespaced: KObject[]): string {
    const inFile = namespaced.map((o) => o.metadata.namespace).filter((n): n is string => !!n);
    const candidates = new Set([...nsObjects.map((o) => o.metadata.name), ...inFile]);
    if (candidates.size !== 1) throw new CheckError("load", `cannot tell the namespace (found: ${[...candidates].join(", ") || "none"}); pass it explicitly`);
    return [...candidates][0];
}

/** Enough free PersistentVolumes in the lab's pool for the claims the objects make, plus two. */
function provideVolumes(objects: KObject[]): void {
    let claims = objects.filter((o) => o.kind === "PersistentVolumeClaim").length;
    for (const o of objects.filter((x) => x.kind === "StatefulSet")) {
        claims += (o.spec?.replicas ?? 1) * ((o.spec?.volumeClaimTemplates as unknown[] | undefined)?.length ?? 0);
    }
    if (claims > 0) labVolumes(claims + 2);
}

/** Waits for an earlier run's namespace to go, then creates it unless the file holds it. */
function prepareNamespace(run: Run, target: Target): void {
    const { namespace } = target;
    const phase = () => kubectl(["get", "namespace", namespace, "--ignore-not-found", "-o", "jsonpath={.status.phase}"]).stdout.trim();
    if (phase() === "Terminating") {
        run.log(`    namespace ${namespace} is still terminating (earlier run): waiting up to ${run.deleteTimeout}s`);
        const until = Date.now() + run.deleteTimeout * 1000;
        while (phase() === "Terminating" && Date.now() < until) sleepSync(1000);
    }
    const exists = phase() !== "";
    if (!exists && !target.nsInFile) {
        timed(run, "create namespace", () => kubectl(["create", "namespace", namespace]));
        target.createdNamespace = true;
    } else if (phase() === "Terminating") {
        throw new CheckError("namespace", `namespace ${namespace} is still terminating from an earlier run`);
    }
}

/** The server-side apply of a file, with strict field validation. */
function applyArgs(file: string): string[] {
    return ["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "--validate=strict", "-f", file];
}

/** Applies the objects; the API server's warnings are kept, its rejection fails the step. */
function apply(run: Run, target: Target): void {
    target.applied = true;
    const r = kubectl(applyArgs(target.listFile), { allowFail: true });
    const warn = r.stderr.split("\n").filter((l) => /^Warning:/i.test(l));
    run.warnings.push(...warn);
    for (const w of warn) run.log(`    API server ${w}`);
    if (r.code !== 0) {
        const errs = r.stderr.split("\n").filter((l) => l.trim() && !/^Warning:/i.test(l));
        throw new CheckError("apply", `the API server rejected the objects:\n${errs.join("\n")}`);
    }
}

/** Polls the workloads and claims until every one is ready; fails at once when one has failed for good. */
function waitUntilReady(run: Run, target: Target): void {
    const tracked = target.objects.filter((o) => WAITED_KINDS.has(o.kind));
    const deadline = Date.now() + run.readyTimeout * 1000;
    let last = "";
    for (;;) {
        const pending = notReady(tracked, target);
        if (pending.length === 0) break;
        const now = pending.join(", ");
        if (now !== last) run.log(`    waiting for: ${now}`);
        last = now;
        if (Date.now() > deadline) {
            throw new CheckError("wait", `not ready after ${run.readyTimeout}s: ${now}\n${diagnostics(target.namespace)}`);
        }
        sleepSync(1000);
    }
    run.log(`    ${tracked.length} workloads/claims ready`);
}

/** The tracked objects not ready yet, each with what it is waiting for. */
function notReady(tracked: KObject[], target: Target): string[] {
    const live = getLive(tracked, target.tmp);
    const pending: string[] = [];
    for (let i = 0; i < tracked.length; i++) {
        const l = live[i];
        if (!l) throw new CheckError("wait", `${ref(tracked[i])} disappeared after apply`);
        const rd = readiness(tracked[i].kind, l);
        if (rd.failed) throw new CheckError("wait", `${ref(tracked[i])}: ${rd.failed}\n${diagnostics(target.namespace)}`);
        if (!rd.ready) pending.push(`${ref(tracked[i])} (${rd.detail})`);
    }
    return pending;
}

/** Applies the same objects again (or the test hook's file) and fails when any object changed. */
function reapplyIsNoop(run: Run, target: Target): void {
    const before = getLive(target.objects, target.tmp);
    const r = kubectl(applyArgs(reapplyFile(run, target)), { allowFail: true });
    if (r.code !== 0) throw new CheckError("re-apply", `second apply failed:\n${r.stderr.trim()}`);
    const after = getLive(target.objects, target.tmp);
    const { changed, statusOnly } = compareLive(target.objects, before, after);
    if (changed.length > 0) throw new CheckError("re-apply", `re-applying the same objects changed them:\n  ${changed.join("\n  ")}`);
    run.log(`    no object changed (${statusOnly} had status-only updates from controllers meanwhile)`);
}

/** The file the re-apply applies: the objects' own, or the test hook's (placed in the same namespace). */
function reapplyFile(run: Run, target: Target): string {
    if (!run.options.reapplyFile) return target.listFile;
    const other = loadObjects(run.options.reapplyFile);
    for (const o of other) if (o.kind !== "Namespace" && !o.metadata.namespace && isNamespaced(o)) o.metadata.namespace = target.namespace;
    return writeList(target.tmp, "reapply.json", other);
}

/** Deletes every object but the Namespace and fails unless the namespace is then empty (claims kept by policy aside, when allowed). */
function deleteObjects(run: Run, target: Target): void {
    const { namespace } = target;
    const toDelete = target.objects.filter((o) => o.kind !== "Namespace");
    const delFile = writeList(target.tmp, "delete.json", [...toDelete].reverse());
    kubectl(["delete", "-f", delFile, "--ignore-not-found", "--wait=true", `--timeout=${run.deleteTimeout}s`]);
    const retained = retainedClaims(target.objects);
    let left = leftoversAfterDelete(run, namespace, retained);
    if (left.length > 0 && onlyRetained(left, retained)) {
        acceptRetained(run, left, retained);
        left = [];
    }
    if (left.length > 0) throw new CheckError("delete", `namespace ${namespace} is not empty ${run.deleteTimeout}s after deleting every object: ${left.join(", ")}`);
    const accepted = run.warnings.some((w) => w.startsWith("kept after delete"));
    run.log(`    namespace ${namespace} holds none of our objects any more${accepted ? " (apart from the accepted retained claims)" : ""}`);
}

const withoutTerminating = (leftover: string) => leftover.replace(/ \(terminating\)$/, "");

function onlyRetained(left: string[], retained: Map<string, string>): boolean {
    return left.length > 0 && left.every((x) => retained.has(withoutTerminating(x)));
}

/** Polls the namespace until it is empty, the delete timeout passes, or only retained claims have stayed for 5 polls. */
function leftoversAfterDelete(run: Run, namespace: string, retained: Map<string, string>): string[] {
    const deadline = Date.now() + run.deleteTimeout * 1000;
    let left = namespaceLeftovers(namespace);
    let lastLeft = "";
    let settled = 0;
    while (left.length > 0 && Date.now() < deadline) {
        // claims a StatefulSet retains by policy never go away: stop waiting once only they are left
        settled = onlyRetained(left, retained) ? settled + 1 : 0;
        if (settled >= 5) break;
        const now = left.join(", ");
        if (now !== lastLeft) run.log(`    still in ${namespace}: ${now}`);
        lastLeft = now;
        sleepSync(1000);
        left = namespaceLeftovers(namespace);
    }
    return left;
}

/** Claims kept by a StatefulSet's retention policy: a warning when allowed, else the step fails. */
function acceptRetained(run: Run, left: string[], retained: Map<string, string>): void {
    const why = [...new Set(left.map((x) => retained.get(withoutTerminating(x))))].join("; ");
    const msg = `kept after delete: ${left.join(", ")} (${why})`;
    const allow = run.options.allowRetainedPvcs ?? process.env.LAB_ALLOW_RETAINED_PVCS === "1";
    if (!allow) {
        throw new CheckError(
            "delete",
            `${msg}. Set persistentVolumeClaimRetentionPolicy.whenDeleted: Delete, or accept this with LAB_ALLOW_RETAINED_PVCS=1 / --allow-retained-pvcs`,
        );
    }
    run.warnings.push(msg);
    run.log(`    WARNING ${msg}; accepted (they go with the namespace)`);
}

/** Deletes the namespace and fails when it is still there after the delete timeout. */
function deleteNamespace(run: Run, namespace: string): void {
    kubectl(["delete", "namespace", namespace, "--wait=true", `--timeout=${run.deleteTimeout}s`], { allowFail: true });
    const gone = kubectl(["get", "namespace", namespace, "--ignore-not-found", "-o", "json"]).stdout.trim();
    if (gone) {
        const ns = JSON.parse(gone) as KObject;
        throw new CheckError("delete", `namespace ${namespace} still exists ${run.deleteTimeout}s after deletion: ${JSON.stringify(ns.status)}`);
    }
}

/** After a failed step: deletes what the run applied, and the namespace when the run created it or the file holds it. */
function cleanUp(run: Run, target: Target): void {
    if (!target.applied && !target.createdNamespace) return;
    run.log(`    cleaning up namespace ${target.namespace} after failure`);
    kubectl(["delete", "-f", target.listFile, "--ignore-not-found", "--wait=false"], { allowFail: true });
    if (target.createdNamespace || target.nsInFile) kubectl(["delete", "namespace", target.namespace, "--ignore-not-found", "--wait=false"], { allowFail: true });
}
