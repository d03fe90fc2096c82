// When the objects a check applied are ready (or have failed for good), and what to show when not.
import { kubectl } from "./kubectl";
import type { KObject } from "./objects";

export type Readiness = { ready: boolean; failed?: string; detail: string };

export function readiness(kind: string, o: KObject): Readiness {
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
            const ok =
                observed >= gen && (s.readyReplicas ?? 0) === want && (s.availableReplicas ?? s.readyReplicas ?? 0) === want && (!rolling || (s.updatedReplicas ?? 0) === want);
            return { ready: ok, detail: `${s.readyReplicas ?? 0}/${want} ready` };
        }
        case "DaemonSet": {
            const ok =
                observed >= gen && (s.desiredNumberScheduled ?? 0) > 0 && s.numberReady === s.desiredNumberScheduled && s.updatedNumberScheduled === s.desiredNumberScheduled;
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

export const WAITED_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "PersistentVolumeClaim"]);

export function diagnostics(namespace: string): string {
    const pods = kubectl(["get", "pods", "-n", namespace, "-o", "wide"], { allowFail: true }).stdout;
    const pvcs = kubectl(["get", "pvc", "-n", namespace], { allowFail: true }).stdout;
    const events = kubectl(["get", "events", "-n", namespace, "--sort-by=.lastTimestamp", "--field-selector", "type!=Normal"], { allowFail: true }).stdout;
    return `pods:\n${pods}\npvcs:\n${pvcs}\nwarning events:\n${events.split("\n").slice(-25).join("\n")}`;
}
