// What the Airflow control plane takes: its sections of the validated stack config, as the schema
// gives them, and what other components made (images, the database connection, the volumes).
import * as k8s from "../kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import type { DagBundlePodParts } from "../dagBundles";
import { labels } from "../podParts";

/** The control plane's sections of the stack config. */
export type ControlPlaneConfig = Pick<
    StackConfig,
    | "airflowVersion"
    | "keys"
    | "images"
    | "scheduler"
    | "apiServer"
    | "dagProcessor"
    | "triggerer"
    | "workers"
    | "rolloutTimeoutMinutes"
    | "ui"
    | "logging"
    | "retention"
    | "extraEnv"
    | "secretEnv"
    | "envFromSecrets"
>;

/** A Secret and key holding a SQLAlchemy URI. */
export interface MetadataConnection {
    secretName: pulumi.Input<string>;
    secretKey: string;
}

export interface AirflowArgs {
    /** Namespace of every object (and of the worker pods). */
    namespace: pulumi.Input<string>;
    /** Instance label (`app.kubernetes.io/instance`). */
    instance: string;
    config: ControlPlaneConfig;
    /** Airflow image for every process; a digest-pinned reference rolls pods only when it changes. */
    image: pulumi.Input<string>;
    /**
     * The image that decides the metadata schema: Airflow and its providers without the DAGs (the base
     * image the DAG image is built FROM). The migration Job runs it and is named by it and the version,
     * so a DAG-only image change leaves the Job as it is.
     */
    schemaImage: pulumi.Input<string>;
    database: {
        /** What Airflow connects to (PgBouncer's, when there is one). */
        airflow: MetadataConnection;
        /** The database itself, when `airflow` points at PgBouncer: migrations and `db clean` go direct. */
        direct?: MetadataConnection;
        /** What must be up before migrations run: the database StatefulSet, PgBouncer. Only the migration Job waits for it. */
        ready: pulumi.Resource[];
    };
    /** Secret with Airflow's generated keys (see AirflowKeys). */
    keysSecretName: pulumi.Input<string>;
    /** The shared volumes (claims omitted when DAGs are in the image or synced by a sidecar, or logs are remote only). */
    storage: {
        dagsClaimName?: pulumi.Input<string>;
        dagsSubPath?: string;
        logsClaimName?: pulumi.Input<string>;
        logsSubPath?: string;
        /** What prepares the volumes: the workloads and CronJobs that mount them wait for it. */
        ready: pulumi.Resource[];
    };
    /** DAG folder as the processes see it. */
    dagsFolder: string;
    /** Task images published to DAG authors as the Airflow Variable `task_images` (name -> digest ref), set by a Job (taskImagesVariable.ts). */
    taskImages?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** git-sync in sidecar mode: the sidecars (and their volumes) of the pods that read DAGs, the one-time sync of worker pods. */
    dagSync?: { sidecars: k8s.types.input.core.v1.Container[]; volumes: k8s.types.input.core.v1.Volume[]; oneTime: k8s.types.input.core.v1.Container[] };
    /** Settings of the dag-processor derived from the DAG source, which the config's env knobs may override. */
    dagProcessorDefaults: Record<string, string>;
    /** DAG bundles: the list for the scheduler, API server and triggerer; connections and keys for the dag-processor and workers. */
    dagBundles?: DagBundlePodParts;
    /** StatsD host (the statsd-exporter Service) every Airflow process sends metrics to; none when omitted. */
    statsdHost?: pulumi.Input<string>;
    /** database.backup: the pre-migration snapshot's containers and volumes for the migration Job. */
    backup?: MigrationSnapshotParts;
}

/** What the migration Job adds to snapshot the database before a migration that changes the schema (see DatabaseBackup). */
export interface MigrationSnapshotParts {
    /** Builds the init containers, given the Airflow container that decides whether the schema changes. */
    initContainers(schemaCheck: k8s.types.input.core.v1.Container): k8s.types.input.core.v1.Container[];
    volumes: k8s.types.input.core.v1.Volume[];
    /** Mount of the decision's emptyDir in the Airflow schema check. */
    stateMount: k8s.types.input.core.v1.VolumeMount;
    /** The shell line the schema check runs: writes `current` or `pending`. */
    schemaCheckScript: string[];
    /** Hash of the scripts the snapshot runs (their ConfigMap is named by it): part of the Job's name. */
    scriptsHash: string;
    /** What must exist before the Job runs (the claim, the scripts' ConfigMap). */
    ready: pulumi.Resource[];
}

/** What every builder of the control plane gets: the component's name, its args, and the component as parent. */
export interface ControlPlane {
    name: string;
    args: AirflowArgs;
    parent: pulumi.Resource;
}

/** Metadata of one of the control plane's objects. */
export function meta(cp: ControlPlane, objectName: pulumi.Input<string>, component: string) {
    return { name: objectName, namespace: cp.args.namespace, labels: labels(cp.args.instance, component) };
}

/** Airflow's spelling of a boolean setting. */
export function pyBool(value: boolean): string {
    return value ? "True" : "False";
}
