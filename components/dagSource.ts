// Where the DAGs come from, as the processes see it: the image, the shared claim, git-sync (a CronJob
// onto the claim, or a sidecar in every DAG-reading pod) or DAG bundles, and how often they change.
import { DAGS_MOUNT, IMAGE_DAGS_FOLDER } from "./airflowPod";
import { DERIVED_AIRFLOW_ENV } from "./airflowSettings";
import type { StackConfig } from "./config";
import { dagBundlePodParts, DagBundlePodParts } from "./dagBundles";
import { cronShortestGapSeconds } from "./formats";
import { GIT_SYNC_LINK, GitSyncConfig, gitSyncSidecar } from "./gitSync";

/** The DAGs come in the image (the DAG image's folder, the `dags-folder` bundle beside any git bundles). */
export function dagsInImage(c: StackConfig): boolean {
    return c.dagsInImage || c.images.build.enabled;
}

/** git-sync runs as a sidecar of every DAG-reading pod: in sidecar mode, and always in the standalone pod, which has no shared claim. */
export function gitSyncAsSidecar(c: StackConfig): boolean {
    return c.gitSync.mode === "sidecar" || c.architecture === "standalone";
}

/** Where the Airflow processes find DAG files. */
export function dagsFolderFor(c: StackConfig): string {
    if (c.gitSync.enabled) {
        // git-sync publishes each checkout atomically as the `repo` link.
        return [DAGS_MOUNT, GIT_SYNC_LINK, c.gitSync.subPath].filter(Boolean).join("/");
    }
    if (dagsInImage(c) || c.architecture === "standalone") {
        return IMAGE_DAGS_FOLDER;
    }
    return DAGS_MOUNT;
}

/** Airflow's own `[dag_processor] refresh_interval`: the dag-processor never looks for new files less often. */
export const AIRFLOW_DEFAULT_REFRESH_INTERVAL = 300;
/** Airflow's own `[dag_processor] min_file_process_interval`: a known file is never re-parsed less often. */
export const AIRFLOW_DEFAULT_MIN_FILE_PROCESS_INTERVAL = 30;

/**
 * How often, in seconds, the DAG source changes the files the dag-processor reads: the git-sync
 * CronJob's shortest gap between runs, the sidecar's period, or the shortest refresh interval of the
 * DAG bundles; undefined when the DAGs only change with a deployment (the DAG image).
 */
export function dagSourcePeriodSeconds(c: StackConfig): number | undefined {
    const periods: number[] = [];
    if (c.gitSync.enabled) {
        periods.push(gitSyncAsSidecar(c) ? Number(c.gitSync.period.slice(0, -1)) * (c.gitSync.period.endsWith("m") ? 60 : 1) : cronShortestGapSeconds(c.gitSync.schedule));
    }
    periods.push(...c.dagBundles.map((b) => b.refreshInterval));
    return periods.length ? Math.min(...periods) : undefined;
}

/**
 * The dag-processor's timing, from the DAG source's period, never slower than Airflow's defaults:
 * `[dag_processor] refresh_interval` (how often it lists each bundle's files for new and deleted
 * ones) and `min_file_process_interval` (how often it re-parses a file it knows: a bundle's new
 * commit, or a file git-sync changed, is parsed then, so with Airflow's 30 s a 10 s refresh interval
 * would still wait up to 30 s for the parse, as seen on the lab). A change lands within one period
 * plus parsing; a daily sync gains nothing from daily listing, so the defaults stay the ceiling.
 */
export function dagProcessorDefaults(c: StackConfig): Record<string, string> {
    const period = dagSourcePeriodSeconds(c);
    if (period === undefined) return {};
    const atMost = (ceiling: number) => String(Math.max(1, Math.min(Math.ceil(period), ceiling)));
    return {
        [DERIVED_AIRFLOW_ENV.dagProcessorRefreshInterval]: atMost(AIRFLOW_DEFAULT_REFRESH_INTERVAL),
        [DERIVED_AIRFLOW_ENV.dagProcessorMinFileProcessInterval]: atMost(AIRFLOW_DEFAULT_MIN_FILE_PROCESS_INTERVAL),
    };
}

/** What the DAG source puts into the Airflow pods. */
export interface DagSourceParts {
    dagsFolder: string;
    /** The gitSync section, when git-sync is on (the schema requires its repo then). */
    git?: GitSyncConfig;
    /** git-sync as a sidecar (and once, in worker pods), when it runs as one. */
    sidecar?: ReturnType<typeof gitSyncSidecar>;
    /** DAG bundles: the list for every Airflow process, connections and keys for those that clone. */
    dagBundles?: DagBundlePodParts;
    dagProcessorDefaults: Record<string, string>;
}

export function dagSourceParts(c: StackConfig): DagSourceParts {
    const git = c.gitSync.enabled && c.gitSync.repo ? { ...c.gitSync, repo: c.gitSync.repo } : undefined;
    return {
        dagsFolder: dagsFolderFor(c),
        git,
        sidecar: git && gitSyncAsSidecar(c) ? gitSyncSidecar(git, c.images) : undefined,
        dagBundles: c.dagBundles.length ? dagBundlePodParts(c.dagBundles, dagsInImage(c)) : undefined,
        dagProcessorDefaults: dagProcessorDefaults(c),
    };
}
