// Ephemeral storage: every container's requests and limits of `ephemeral-storage`, sized from the
// disk-backed emptyDirs it mounts, and the config check of a size the user sets instead.
//
// What the kubelet counts (and evicts for): a container's own writes (its logs and writable layer)
// against its limit, and the whole pod's (every disk-backed emptyDir plus each container's own writes)
// against the sum of its containers' limits. So each container's request and limit is the sum of the
// sizeLimits of the disk-backed emptyDirs it mounts plus CONTAINER_EPHEMERAL_ALLOWANCE: the pod's sum
// then covers every emptyDir filled to its sizeLimit (where the emptyDir's own eviction applies first)
// and every container's logs, and the scheduler places the pod only where that much disk is free.
// Memory-backed emptyDirs (`medium: Memory`) count toward memory and are left out; an emptyDir without
// a sizeLimit has no size to add.
//
// No imports from components but types: the config (components/config/) reads this module before any component exists.
import type { StackConfig } from "./config/schema";
import { quantityValue } from "./formats";
import type * as k8s from "./kubernetes";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;

/** The resource name in a container's requests and limits. */
export const EPHEMERAL_STORAGE = "ephemeral-storage";

/**
 * What a container writes outside its volumes: its log files, which the kubelet rotates at 10Mi and
 * keeps 5 of (containerLogMaxSize, containerLogMaxFiles; up to 50Mi, a little more between rotation
 * checks), and its writable layer, which holds next to nothing because every root filesystem here is
 * read-only. 128Mi covers both with room for a burst of logs before the next rotation.
 */
export const CONTAINER_EPHEMERAL_ALLOWANCE = "128Mi";

/** Sizes of the emptyDirs the package's pods bring that no config key sizes. */
export const FIXED_SCRATCH_SIZES = {
    /** Workers' copy of the DAG image's DAG folder (for tasks in task images). */
    imageDags: "256Mi",
    /** Postgres' socket directory and /tmp. */
    postgresRun: "64Mi",
    postgresTmp: "256Mi",
    /** The retention CronJobs' /tmp and HOME (and their logs, when logs go to a bucket only). */
    retention: "256Mi",
    /**
     * git-sync's /tmp and the sidecar's `dags` checkout, as components/gitSync.ts sizes them (the
     * ephemeral-storage tests compare these with the rendered pods).
     */
    gitSyncTmp: "256Mi",
    gitSyncDags: "1Gi",
} as const;

/** A quantity in bytes (0 for none). */
function bytes(q: string | number | undefined): number {
    return q === undefined ? 0 : (quantityValue(String(q)) ?? 0);
}

const UNITS: [string, number][] = [
    ["Gi", 2 ** 30],
    ["Mi", 2 ** 20],
    ["Ki", 2 ** 10],
];

/** Bytes as the largest binary unit that divides them exactly (2Gi, 2176Mi), else plain bytes. */
export function formatBytes(n: number): string {
    const whole = Math.ceil(n);
    const [suffix, size] = UNITS.find(([, size]) => whole % size === 0 && whole >= size) ?? ["", 1];
    return `${whole / size}${suffix}`;
}

/** Size of each disk-backed emptyDir of a pod that has a sizeLimit, by volume name. */
function diskEmptyDirs(volumes: Volume[]): Map<string, number> {
    return new Map(
        volumes.flatMap((v) => {
            const e = v.emptyDir as { medium?: string; sizeLimit?: string | number } | undefined;
            return e && e.medium !== "Memory" && e.sizeLimit !== undefined ? [[v.name as string, bytes(e.sizeLimit)] as [string, number]] : [];
        }),
    );
}

/** The sum of the sizes of the named volumes that are sized disk-backed emptyDirs (each counted once). */
function mountedSum(names: Iterable<string>, sizes: Map<string, number>): number {
    return [...new Set(names)].reduce((sum, name) => sum + (sizes.get(name) ?? 0), 0);
}

/**
 * A container with ephemeral-storage requests and limits where it has none: the disk-backed
 * emptyDirs it mounts plus the allowance. A value the user set is kept (a request alone raises the
 * limit to it; a limit alone caps the request).
 */
function withContainerEphemeralStorage(c: Container, sizes: Map<string, number>): Container {
    const floor = mountedSum(((c.volumeMounts ?? []) as { name: string }[]).map((m) => m.name), sizes) + bytes(CONTAINER_EPHEMERAL_ALLOWANCE);
    const resources = (c.resources ?? {}) as { requests?: Record<string, unknown>; limits?: Record<string, unknown>; claims?: unknown };
    const request = resources.requests?.[EPHEMERAL_STORAGE] as string | number | undefined;
    const limit = resources.limits?.[EPHEMERAL_STORAGE] as string | number | undefined;
    const ownRequest = request ?? (limit !== undefined ? formatBytes(Math.min(floor, bytes(limit))) : formatBytes(floor));
    const ownLimit = limit ?? formatBytes(Math.max(floor, bytes(ownRequest)));
    return {
        ...c,
        resources: {
            ...resources,
            requests: { ...resources.requests, [EPHEMERAL_STORAGE]: ownRequest },
            limits: { ...resources.limits, [EPHEMERAL_STORAGE]: ownLimit },
        } as Container["resources"],
    };
}

/**
 * A finished pod spec with ephemeral-storage requests and limits on every container and init container
 * (git-sync and other native sidecars included). Apply it once, to the spec as the pod gets it.
 */
export function withEphemeralStorage(spec: PodSpec): PodSpec {
    const sizes = diskEmptyDirs((spec.volumes ?? []) as Volume[]);
    return mapPodContainers(spec, (c) => withContainerEphemeralStorage(c, sizes));
}

/** The pod spec with every container, init containers included, passed through `f`. */
export function mapPodContainers(spec: PodSpec, f: (c: Container) => Container): PodSpec {
    const each = (list: unknown) => (list as Container[] | undefined)?.map(f);
    return {
        ...spec,
        ...(spec.initContainers !== undefined ? { initContainers: each(spec.initContainers) } : {}),
        containers: each(spec.containers)!,
    };
}

// ---- the config check: a size the user sets must hold the emptyDirs its containers mount ----

type ExtensionSection = Pick<StackConfig["scheduler"], "extraVolumes" | "extraVolumeMounts" | "extraContainers" | "extraInitContainers">;

/** One container (or kind of container) whose ephemeral storage a config key sets. */
export interface EphemeralStorageFloor {
    /** Path of the limit in the config (`scheduler.resources.limits.ephemeralStorage`). */
    path: (string | number)[];
    /** The disk-backed emptyDirs its containers mount, at most, in bytes, with what they are. */
    bytes: number;
    volumes: string[];
    /** The limit the user set there, if any. */
    limit?: string | number;
}

/** The emptyDirs one pod has, by name, and the ones its main container mounts. */
interface PodScratch {
    sizes: Map<string, number>;
    main: string[];
}

/** Whether worker pods copy the DAG image's DAG folder in (DAGs in the image, and tasks that may run in task images). */
export function copiesImageDags(c: StackConfig): boolean {
    const taskImages = Object.keys(c.images.tasks).length + Object.keys(c.images.taskImages).length > 0;
    return !c.gitSync.enabled && (c.dagsInImage || c.images.build.enabled) && taskImages;
}

/**
 * For each config key that sets a container's ephemeral-storage limit, the disk-backed emptyDirs the
 * containers it sizes mount (the largest sum where one key sizes several, as scheduler.resources does
 * the scheduler and the migration Job). Only the components the architecture runs; the
 * ephemeral-storage tests check these against the rendered pods.
 */
export function ephemeralStorageFloors(c: StackConfig): EphemeralStorageFloor[] {
    const standalone = c.architecture === "standalone";
    const logsOnEmptyDir = c.logging.remoteBaseLogFolder !== undefined && c.storage.logsClaimName === undefined;
    const sidecar = c.gitSync.enabled && (standalone || c.gitSync.mode === "sidecar");
    const copyImageDags = copiesImageDags(c);
    /** A pod whose main container mounts every one of these (sized) emptyDirs. */
    const scratchPod = (entries: [string, string | number | undefined][]): PodScratch => {
        const sizes = new Map(entries.filter(([, size]) => size !== undefined).map(([name, size]) => [name, bytes(size)]));
        return { sizes, main: [...sizes.keys()] };
    };
    /** An Airflow pod's own emptyDirs: tmp and HOME, logs when they only go to a bucket, the git-sync sidecar's DAGs. */
    const airflowPod = (scratch: { tmpSize: string; homeSize: string }, o: { readsDags: boolean; logs: boolean; imageDags?: boolean }) =>
        scratchPod([
            ["tmp", scratch.tmpSize],
            ["home", scratch.homeSize],
            ["logs", o.logs ? scratch.tmpSize : undefined],
            ["dags", o.readsDags && sidecar ? FIXED_SCRATCH_SIZES.gitSyncDags : undefined],
            ["image-dags", o.imageDags ? FIXED_SCRATCH_SIZES.imageDags : undefined],
        ]);
    const postgresPod = () =>
        scratchPod([
            ["postgres-run", FIXED_SCRATCH_SIZES.postgresRun],
            ["postgres-tmp", FIXED_SCRATCH_SIZES.postgresTmp],
        ]);

    const floors: EphemeralStorageFloor[] = [];
    /**
     * The key's floor: the largest sum of the main containers it sizes. The first pod is the section's
     * own, with its extension points (extra volumes mounted on the main container, sidecars and init
     * containers the user sized); any other (the migration Job) has none.
     */
    const section = (path: string[], resources: { limits: { ephemeralStorage?: string } }, pods: PodScratch[], ext?: ExtensionSection) => {
        const extraVolumes = ext ? diskEmptyDirs(ext.extraVolumes as unknown as Volume[]) : new Map<string, number>();
        const own = pods[0] ? new Map([...pods[0].sizes, ...extraVolumes]) : extraVolumes;
        const sum = (names: string[], sizes: Map<string, number>) => ({ bytes: mountedSum(names, sizes), volumes: [...new Set(names)].filter((n) => sizes.has(n)) });
        const sums = pods.map((pod, i) => (i === 0 ? sum([...pod.main, ...(ext?.extraVolumeMounts.map((m) => m.name) ?? [])], own) : sum(pod.main, pod.sizes)));
        const largest = sums.reduce((a, b) => (b.bytes > a.bytes ? b : a), { bytes: 0, volumes: [] as string[] });
        floors.push({ path: [...path, "resources", "limits", "ephemeralStorage"], ...largest, limit: resources.limits.ephemeralStorage });
        for (const key of ["extraContainers", "extraInitContainers"] as const) {
            ext?.[key].forEach((container, i) => {
                const limit = container.resources?.limits?.[EPHEMERAL_STORAGE];
                if (limit !== undefined) floors.push({ path: [...path, key, i, "resources", "limits", EPHEMERAL_STORAGE], ...sum((container.volumeMounts ?? []).map((m) => m.name), own), limit });
            });
        }
    };

    if (standalone) {
        section(["standalone"], c.standalone.resources, [airflowPod(c.standalone, { readsDags: true, logs: false })]);
        section(["database"], c.database.resources, [postgresPod()]);
    } else {
        // The migration Job runs with the scheduler's resources and scratch sizes, its logs on an emptyDir.
        section(["scheduler"], c.scheduler.resources, [airflowPod(c.scheduler, { readsDags: true, logs: logsOnEmptyDir }), airflowPod(c.scheduler, { readsDags: false, logs: true })], c.scheduler);
        section(["apiServer"], c.apiServer.resources, [airflowPod(c.apiServer, { readsDags: false, logs: logsOnEmptyDir })], c.apiServer);
        section(["dagProcessor"], c.dagProcessor.resources, [airflowPod(c.dagProcessor, { readsDags: true, logs: logsOnEmptyDir })], c.dagProcessor);
        section(["triggerer"], c.triggerer.resources, [airflowPod(c.triggerer, { readsDags: true, logs: logsOnEmptyDir })], c.triggerer);
        section(["workers"], c.workers.resources, [airflowPod(c.workers, { readsDags: true, logs: logsOnEmptyDir, imageDags: copyImageDags })], c.workers);
        if (c.database.mode === "internal") section(["database"], c.database.resources, [postgresPod()], c.database);
        if (c.database.pgbouncer.enabled) section(["database", "pgbouncer"], c.database.pgbouncer.resources, []);
        if (c.metrics.enabled) section(["metrics"], c.metrics.resources, []);
        const retention = { tmpSize: FIXED_SCRATCH_SIZES.retention, homeSize: FIXED_SCRATCH_SIZES.retention };
        if (c.retention.logs.enabled && !logsOnEmptyDir) section(["retention", "logs"], c.retention.logs.resources, [airflowPod(retention, { readsDags: false, logs: false })]);
        if (c.retention.workerPods.enabled) section(["retention", "workerPods"], c.retention.workerPods.resources, [airflowPod(retention, { readsDags: false, logs: logsOnEmptyDir })]);
        if (c.retention.database.enabled) section(["retention", "database"], c.retention.database.resources, [airflowPod(retention, { readsDags: false, logs: logsOnEmptyDir })]);
    }
    if (c.gitSync.enabled) {
        // The CronJob's pod (with the section's extension points) or the sidecar in the Airflow pods.
        const gitSyncPod = scratchPod([
            ["git-sync-tmp", FIXED_SCRATCH_SIZES.gitSyncTmp],
            ["dags", sidecar ? FIXED_SCRATCH_SIZES.gitSyncDags : undefined],
        ]);
        section(["gitSync"], c.gitSync.resources, [gitSyncPod], sidecar ? undefined : c.gitSync);
    }
    return floors;
}

/** Limits the user set below the emptyDirs their containers mount: the kubelet would evict the pod before an emptyDir is full. */
export function ephemeralStorageProblems(c: StackConfig): { path: (string | number)[]; input: string | number; message: string }[] {
    return ephemeralStorageFloors(c).flatMap((f) =>
        f.limit !== undefined && bytes(f.limit) < f.bytes
            ? [
                  {
                      path: f.path,
                      input: f.limit,
                      message:
                          `must be at least ${formatBytes(f.bytes)}, the emptyDirs the container mounts (${f.volumes.join(", ")}), which count toward it ` +
                          `(and ${CONTAINER_EPHEMERAL_ALLOWANCE} more for its logs is advised); raise it, shrink those volumes, or leave it out to have it sized from them`,
                  },
              ]
            : [],
    );
}
