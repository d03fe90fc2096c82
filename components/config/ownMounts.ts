// The paths the package mounts in the main container of each pod that has extension points: an extra
// mount (extraVolumeMounts) at one of them is refused by the API server ("must be unique"), mid-update,
// or, in the worker pod template, when every task's pod is created. Mirrors airflowPod.ts,
// metadataDatabase.ts and gitSync.ts; the object-validation tests compare it with the rendered pods.
import { copiesImageDags } from "../ephemeralStorage";
import { mountPathIssues } from "../kubernetesObjects";
import type { ConfigIssue } from "./rules";
import type { StackConfig } from "./schema";

/** Whether production's Airflow pods read DAGs from the shared claim (not from the image, a sidecar or bundles). */
export function dagsFromClaim(c: StackConfig): boolean {
    return c.gitSync.enabled ? c.gitSync.mode === "cronjob" : !c.dagsInImage && !c.images.build.enabled && c.dagBundles.length === 0;
}

/** The sections with extraVolumeMounts and the main container they go to. */
type MountSection = "scheduler" | "apiServer" | "dagProcessor" | "triggerer" | "workers" | "database" | "gitSync";

/** Each section's main container's own mount paths, for the pods this config renders. */
export function ownMountPaths(c: StackConfig): Partial<Record<MountSection, string[]>> {
    if (c.architecture === "standalone") return {};
    // DAGs at /opt/airflow/dags: from the claim, or the git-sync sidecar's checkout.
    const dags = dagsFromClaim(c) || (c.gitSync.enabled && c.gitSync.mode === "sidecar") ? ["/opt/airflow/dags"] : [];
    const airflow = (readsDags: boolean, ...more: (string | false)[]) => [
        "/tmp",
        "/home/airflow/sandbox",
        ...(readsDags ? dags : []),
        "/opt/airflow/logs",
        ...more.filter((p): p is string => p !== false),
    ];
    const bundleKeys = c.dagBundles.some((b) => b.auth === "ssh") && "/etc/airflow/dag-bundles";
    return {
        scheduler: airflow(true, "/opt/airflow/pod_templates"),
        apiServer: airflow(false, c.ui.webserverConfig !== undefined && "/etc/airflow/fab"),
        dagProcessor: airflow(true, bundleKeys),
        triggerer: airflow(true),
        workers: airflow(true, bundleKeys, copiesImageDags(c) && "/opt/dags"),
        ...(c.database.mode === "internal" ? { database: ["/var/lib/postgresql/data", "/var/run/postgresql", "/tmp"] } : {}),
        ...(c.gitSync.enabled && c.gitSync.mode === "cronjob" ? { gitSync: ["/opt/airflow/dags", "/tmp", ...(c.gitSync.auth !== "none" ? ["/etc/git-secret"] : [])] } : {}),
    };
}

/** extraVolumeMounts at a path the package mounts in the same container, or at the path of an earlier extra mount. */
export function extraMountPaths(c: StackConfig): ConfigIssue[] {
    const own = ownMountPaths(c);
    return (Object.keys(own) as MountSection[]).flatMap((section) => mountPathIssues(c[section].extraVolumeMounts, own[section] ?? [], [section, "extraVolumeMounts"]));
}
