// Housekeeping for the production control plane: three CronJobs in the Airflow image, built from the
// same pod pieces as every Airflow process (non-root, read-only root, the sandbox, limits).
// - log cleanup: deletes task and component log files older than N days from the shared log claim
//   (Airflow never deletes them; a busy deployment fills the claim in weeks);
// - worker pod clean-up: `airflow kubernetes cleanup-pods` deletes finished worker pods the executor
//   left behind (its scheduler stopped before deleting them);
// - database cleanup: `airflow db clean` of metadata rows older than N days (task instances, DAG runs,
//   XComs, jobs, log entries, ...), straight to the database like the migration Job.
// All three are `concurrencyPolicy: Forbid`: a slow run is never overlapped by the next one.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AIRFLOW_ENV } from "./airflowSettings";
import { AirflowPodFactory, LOGS_MOUNT } from "./airflowPod";
import { NO_ENV, NO_POD_EXTENSIONS, StackConfig } from "./config";
import type { MetadataConnection } from "./controlPlane/args";
import { FIXED_SCRATCH_SIZES, withEphemeralStorage } from "./ephemeralStorage";
import { COMPONENT } from "./names";
import { labels, secretEnv } from "./podParts";

export interface RetentionArgs {
    /** Builds the pods (image, env, mounts, security) exactly as for the other Airflow processes. */
    factory: AirflowPodFactory;
    namespace: pulumi.Input<string>;
    instance: string;
    retention: StackConfig["retention"];
    /** Logs are on the shared claim (not only in a bucket): only then is there anything to clean. */
    logsOnClaim: boolean;
    /** ServiceAccount of the pods (no token). */
    serviceAccountName: pulumi.Input<string>;
    /** The database directly (not through PgBouncer): `db clean` runs long transactions. */
    database: MetadataConnection;
    parent: pulumi.Resource;
    /** The migration Job: the schema must be current before `db clean` touches it. */
    migration: pulumi.Resource;
    /** What prepares the shared volumes: the log clean-up works on the log volume. */
    storageReady: pulumi.Resource[];
    /** ServiceAccount allowed to list and delete pods (with a token): the worker pod clean-up. */
    podCleanerAccountName?: pulumi.Input<string>;
}

/** Shell lines deleting log files older than `days` and the empty folders they leave (an hour old, so a task's new folder stays). */
export function logCleanupScript(days: number): string[] {
    return [
        "set -eu",
        `deleted=$(find ${LOGS_MOUNT} -mindepth 1 -type f -mmin +${days * 24 * 60} -print -delete | wc -l)`,
        `find ${LOGS_MOUNT} -mindepth 1 -type d -empty -mmin +60 -delete`,
        `echo "deleted $deleted log files older than ${days} days"`,
    ];
}

/** Shell lines running `airflow db clean` for rows older than `days`, computed at run time. */
export function databaseCleanupScript(r: StackConfig["retention"]["database"]): string[] {
    const flags = ["--yes", ...(r.skipArchive ? ["--skip-archive"] : []), ...(r.dryRun ? ["--dry-run"] : [])];
    return [
        "set -euo pipefail",
        `before="$(date -u -d "@$(( $(date +%s) - ${r.days} * 86400 ))" +%Y-%m-%dT%H:%M:%S+00:00)"`,
        `airflow db clean --clean-before-timestamp "$before" ${flags.join(" ")}`,
    ];
}

/** No config section of their own beyond resources: no extra env, default scheduling, small scratch. */
const SETTINGS = { ...NO_POD_EXTENSIONS, ...NO_ENV, tmpSize: FIXED_SCRATCH_SIZES.retention, homeSize: FIXED_SCRATCH_SIZES.retention };

/**
 * One maintenance CronJob. Each waits only for what it uses, so the two that never touch the database
 * are not held behind the migrations (on `up`, and on every preview, where each wait is a round trip
 * to the engine).
 */
function cronJob(
    name: string,
    args: RetentionArgs,
    component: string,
    schedule: string,
    spec: k8s.types.input.core.v1.PodSpec,
    dependsOn: pulumi.Resource[],
): k8s.batch.v1.CronJob {
    return new k8s.batch.v1.CronJob(
        `${name}-${component}`,
        {
            metadata: { name: `${name}-${component}`, namespace: args.namespace, labels: labels(args.instance, component) },
            spec: {
                schedule,
                concurrencyPolicy: "Forbid",
                // A run missed by more than this (controller down, cluster upgrade) waits for the next one.
                startingDeadlineSeconds: 600,
                successfulJobsHistoryLimit: 1,
                failedJobsHistoryLimit: 3,
                jobTemplate: {
                    metadata: { labels: labels(args.instance, component) },
                    spec: {
                        backoffLimit: 2,
                        activeDeadlineSeconds: 3 * 3600,
                        ttlSecondsAfterFinished: 24 * 3600,
                        template: { metadata: { labels: labels(args.instance, component) }, spec: withEphemeralStorage(spec) },
                    },
                },
            },
        },
        { parent: args.parent, dependsOn },
    );
}

function logCleanup(name: string, args: RetentionArgs): k8s.batch.v1.CronJob {
    const logs = args.retention.logs;
    const spec = args.factory.podSpec({
        component: "log-cleanup",
        shellScript: logCleanupScript(logs.days),
        // Files only: no database, no keys.
        role: "worker",
        readsDags: false,
        resources: logs.resources,
        settings: SETTINGS,
        serviceAccountName: args.serviceAccountName,
        restartPolicy: "Never",
    });
    return cronJob(name, args, "log-cleanup", logs.schedule, spec, args.storageReady);
}

function workerPodCleanup(name: string, args: RetentionArgs, accountName: pulumi.Input<string>): k8s.batch.v1.CronJob {
    const pods = args.retention.workerPods;
    const spec = args.factory.podSpec({
        component: COMPONENT.workerCleanup,
        args: ["kubernetes", "cleanup-pods", "--namespace", "$(POD_NAMESPACE)", "--min-completed-minutes", String(pods.minCompletedMinutes)],
        extraEnv: [{ name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
        // The Kubernetes API only: no database, no keys.
        role: "worker",
        readsDags: false,
        resources: pods.resources,
        settings: SETTINGS,
        serviceAccountName: accountName,
        automountServiceAccountToken: true,
        restartPolicy: "Never",
    });
    return cronJob(name, args, COMPONENT.workerCleanup, pods.schedule, spec, []);
}

function databaseCleanup(name: string, args: RetentionArgs): k8s.batch.v1.CronJob {
    const db = args.retention.database;
    const spec = args.factory.podSpec({
        component: "db-clean",
        shellScript: databaseCleanupScript(db),
        role: "control-plane",
        readsDags: false,
        resources: db.resources,
        settings: SETTINGS,
        serviceAccountName: args.serviceAccountName,
        restartPolicy: "Never",
        extraEnv: [secretEnv(AIRFLOW_ENV.sqlAlchemyConn, args.database.secretName, args.database.secretKey)],
    });
    return cronJob(name, args, "db-clean", db.schedule, spec, [args.migration]);
}

/** The retention CronJobs of the production control plane (each only when enabled). */
export function retentionCronJobs(name: string, args: RetentionArgs): k8s.batch.v1.CronJob[] {
    const r = args.retention;
    return [
        ...(r.logs.enabled && args.logsOnClaim ? [logCleanup(name, args)] : []),
        ...(r.workerPods.enabled && args.podCleanerAccountName !== undefined ? [workerPodCleanup(name, args, args.podCleanerAccountName)] : []),
        ...(r.database.enabled ? [databaseCleanup(name, args)] : []),
    ];
}
