// Where data lives: the metadata database (and PgBouncer), the shared storage, task logs.
import { z } from "zod";
import { objectName, podExtensionProblems, podExtensionShape } from "../../kubernetesObjects";
import { defaultRemoteConnId, OWN_POD_NAMES, SIDECAR, SMALL } from "../constants";
import { cron, gcpProject, imageRef, quantity, resources, scheduling } from "../fields";
import { secretKey } from "../secretEnv";

export const dataSections = {
    /** The metadata database: a Postgres StatefulSet here (internal) or an existing connection Secret (external). */
    database: z
        .strictObject({
            /** `internal`: a Postgres StatefulSet here. `external`: an existing Secret holds the connection URI. */
            mode: z.enum(["internal", "external"]).default("internal"),
            storageSize: quantity.default("8Gi"),
            storageClassName: objectName.optional(),
            resources: resources(SMALL),
            /** external mode: Secret name and key holding a SQLAlchemy URI (postgresql+psycopg2://...). */
            externalSecretName: objectName.optional(),
            externalSecretKey: secretKey.default("connection"),
            // The internal Postgres pod's scheduling and extension points, as on every component.
            ...scheduling,
            ...podExtensionShape,
            /**
             * Snapshots of the metadata database (pg_dump, custom format) on a claim of their own: one
             * before every migration that changes the schema, one on demand (or on `schedule`), the
             * newest `retain` kept; the restore CronJob (never scheduled) puts one back. Opt-in.
             */
            backup: z
                .strictObject({
                    enabled: z.boolean().default(false),
                    /** Snapshots kept on the claim (the oldest are deleted after each new one). */
                    retain: z.int().min(1, "must be at least 1 (the snapshot just taken)").max(100, "must be at most 100").default(5),
                    /** Also take a snapshot on this cron schedule (production); otherwise only before migrations and on demand. */
                    schedule: cron.optional(),
                    /** Size of the snapshot claim (several snapshots of the database fit in it). */
                    storageSize: quantity.default("8Gi"),
                    /** StorageClass of the snapshot claim; database.storageClassName (or the cluster's default) when omitted. */
                    storageClassName: objectName.optional(),
                    /** An existing claim to keep the snapshots on (a volume outside the database's failure domain) instead of a new one. */
                    claimName: objectName.optional(),
                    /** The snapshot and restore containers (the Postgres image: pg_dump, pg_restore). */
                    resources: resources(SIDECAR),
                })
                .prefault({}),
            /**
             * PgBouncer between Airflow and the database (internal or external), for many concurrent
             * worker pods: Airflow's connection points at it; migrations and `db clean` still go direct.
             */
            pgbouncer: z
                .strictObject({
                    enabled: z.boolean().default(false),
                    /** An image with `pgbouncer` and a POSIX shell on PATH. */
                    image: imageRef.default("edoburu/pgbouncer:v1.23.1-p3"),
                    replicas: z.int().min(1).max(10).default(1),
                    /** `transaction` (Airflow's usual choice) or `session`. */
                    poolMode: z.enum(["transaction", "session"]).default("transaction"),
                    /** Client connections PgBouncer accepts (every Airflow process and worker pod holds some). */
                    maxClientConnections: z.int().min(1).max(100000).default(1000),
                    /** Server connections per database and user: what the database sees. */
                    defaultPoolSize: z.int().min(1).max(10000).default(20),
                    resources: resources(SIDECAR),
                })
                .prefault({}),
        })
        .prefault({})
        .refine((db) => db.mode !== "external" || db.externalSecretName !== undefined, {
            message: "is required when mode is external",
            path: ["externalSecretName"],
        })
        .superRefine(podExtensionProblems(OWN_POD_NAMES.postgres)),

    /** Shared ReadWriteMany storage for DAG files and task logs (production). */
    storage: z
        .strictObject({
            /** `pvc`: RWX claims on a StorageClass. `filestore`: a GCP Filestore share. `existing`: claims by name. */
            mode: z.enum(["pvc", "filestore", "existing"]).default("pvc"),
            storageClassName: objectName.optional(),
            dagsSize: quantity.default("5Gi"),
            logsSize: quantity.default("20Gi"),
            /** existing mode: claim names. The logs claim may be omitted when remote logging is on. */
            dagsClaimName: objectName.optional(),
            logsClaimName: objectName.optional(),
            /** One share with dags/ and logs/ sub-paths instead of two volumes. */
            singleShare: z.boolean().default(false),
            filestore: z
                .strictObject({
                    project: gcpProject.optional(),
                    /** Zone for BASIC_* and ZONAL tiers, region for REGIONAL and ENTERPRISE. */
                    location: z.string().regex(/^[a-z]+-[a-z]+[0-9]+(-[a-z])?$/, "must be a Google Cloud zone (europe-west1-b) or region (europe-west1)"),
                    tier: z.enum(["BASIC_HDD", "BASIC_SSD", "ZONAL", "REGIONAL", "ENTERPRISE"]).default("BASIC_HDD"),
                    capacityGb: z.int().default(1024),
                    network: z.string().default("default"),
                    shareName: z
                        .string()
                        .regex(/^[a-z][a-z0-9_]{0,15}$/, "must be a Filestore share name: lowercase, digits, '_', at most 16")
                        .default("airflow"),
                })
                .optional(),
        })
        .prefault({}),

    /** Task logs: on the shared log claim, or in a bucket (remote logging) so they stay readable after the worker pod is gone. */
    logging: z
        .strictObject({
            /** Remote task logs, e.g. gs://bucket/airflow-logs. Logs stay readable after worker pods are gone. */
            remoteBaseLogFolder: z
                .string()
                .regex(/^(gs|s3|wasb):\/\/.+/, "must be a gs://, s3:// or wasb:// URL")
                .optional(),
            /** Connection used for the bucket; by default the one of its scheme (gs, s3, wasb). */
            remoteConnId: z.string().optional(),
        })
        .prefault({})
        .transform((l) => ({ ...l, remoteConnId: l.remoteConnId ?? defaultRemoteConnId(l.remoteBaseLogFolder) })),
};
