// The parts of a deployment, by the name each carries as its `app.kubernetes.io/component` label and
// as the suffix of its objects' names (`<instance>-api-server`).

/** The Airflow processes and jobs of the production control plane. */
export const COMPONENT = {
    scheduler: "scheduler",
    apiServer: "api-server",
    dagProcessor: "dag-processor",
    triggerer: "triggerer",
    /** The KubernetesExecutor's worker pods. */
    worker: "worker",
    /** The migration Job. */
    migrate: "migrate",
    /** The worker pod clean-up CronJob. */
    workerCleanup: "worker-cleanup",
} as const;
export type ComponentName = (typeof COMPONENT)[keyof typeof COMPONENT];

/** Pulumi type tokens: `<package>:index:<class>`, one package prefix for every component of this package. */
export const TYPE_PREFIX = "airflow-kubernetes:index:";
/** The prefix the sub-components had before; an alias adopts resources registered under it. */
export const LEGACY_TYPE_PREFIX = "airflow:index:";
