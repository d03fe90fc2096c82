// Constants of the stack config: default versions and images, the resource defaults of each kind of
// container, the names each pod uses itself, secret keys and Filestore's limits. No imports but types.
import type { OwnPodNames } from "../kubernetesObjects";

export const DEFAULT_AIRFLOW_VERSION = "3.3.2";
/** git-sync's image; every flag the package passes was checked against this release's main.go. */
export const DEFAULT_GIT_SYNC_IMAGE = "registry.k8s.io/git-sync/git-sync:v4.7.1";

/** Issues with this param never print the offending value (it may be a secret). */
export const REDACT = { redact: true } as const;

/** Name parts that say a variable holds a secret (split on `_`): DB_PASSWORD, API_TOKEN, FERNET_KEY. */
export const SECRET_NAME_PARTS = ["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "KEY", "APIKEY"];

/** Secret config keys, read with requireSecret rather than validated as plain values. */
export const SECRET_CONFIG_KEYS = ["registryPassword"] as const;

export interface ResourceDefaults {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

/** The triggerer, workers, the database and the retention Job that runs `db clean`. */
export const SMALL: ResourceDefaults = { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } };
/** The scheduler, API server and dag-processor. */
export const MEDIUM: ResourceDefaults = { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } };
/** Helpers beside Airflow: git-sync, PgBouncer, the statsd-exporter, the log clean-up, and a user's extra container that names none. */
export const SIDECAR: ResourceDefaults = { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } };

// The names each pod uses itself (components/airflowPod.ts, metadataDatabase.ts, gitSync.ts): an
// extension may not reuse them, and an extra mount may name one of the volumes. A test checks the
// rendered pods against these lists.
export const AIRFLOW_POD_VOLUMES = [
    "tmp",
    "home",
    "dags",
    "logs",
    "pod-template",
    "simple-auth-passwords",
    "image-dags",
    "git-sync-tmp",
    "git-secret",
    "webserver-config",
    "dag-bundle-keys",
    "jwt-keys",
];
export const AIRFLOW_INIT_CONTAINERS = ["git-sync", "simple-auth-passwords", "dags"];
export const OWN_POD_NAMES = {
    airflow: (main: string): OwnPodNames => ({ volumes: AIRFLOW_POD_VOLUMES, containers: [main, ...AIRFLOW_INIT_CONTAINERS] }),
    postgres: { volumes: ["data", "postgres-run", "postgres-tmp"], containers: ["postgres"] } as OwnPodNames,
    gitSync: { volumes: ["dags", "git-sync-tmp", "git-secret"], containers: ["git-sync"] } as OwnPodNames,
};

/** Airflow reserves `example_dags`; `dags-folder` is the DAG image's own bundle (Airflow's default name for it). */
export const RESERVED_BUNDLE_NAMES = ["dags-folder", "example_dags"];

/** Smallest and largest capacity (GiB) Filestore accepts per tier (63.9 TiB for BASIC, 100 TiB ZONAL/REGIONAL, 10 TiB ENTERPRISE). */
export const filestoreCapacityGb: Record<string, [number, number]> = {
    BASIC_HDD: [1024, 65433],
    BASIC_SSD: [2560, 65433],
    ZONAL: [1024, 102400],
    REGIONAL: [1024, 102400],
    ENTERPRISE: [1024, 10240],
};

/** The connection Airflow's remote log handler for a folder's scheme uses by default. */
export function defaultRemoteConnId(remoteBaseLogFolder: string | undefined): string | undefined {
    const scheme = remoteBaseLogFolder?.split("://")[0];
    return scheme === undefined ? undefined : { gs: "google_cloud_default", s3: "aws_default", wasb: "wasb_default" }[scheme];
}
