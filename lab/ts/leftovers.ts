// What is left in a namespace after its objects were deleted, and which claims a StatefulSet keeps by policy.
import { CheckError, kubectl } from "./kubectl";
import { apiResources, KObject } from "./objects";

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
export function retainedClaims(objects: KObject[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const o of objects.filter((x) => x.kind === "StatefulSet")) {
        const policy = o.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? "Retain";
        if (policy === "Delete") continue;
        const templates = (o.spec?.volumeClaimTemplates ?? []) as KObject[];
        for (let i = 0; i < (o.spec?.replicas ?? 1); i++) {
            for (const t of templates) {
                out.set(
                    `PersistentVolumeClaim/${t.metadata.name}-${o.metadata.name}-${i}`,
                    `StatefulSet ${o.metadata.name} has persistentVolumeClaimRetentionPolicy.whenDeleted=${policy}`,
                );
            }
        }
    }
    return out;
}
