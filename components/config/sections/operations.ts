// Housekeeping and observability (production): the retention CronJobs and the metrics exporter.
import { z } from "zod";
import { dnsLabel } from "../../kubernetesObjects";
import { SIDECAR, SMALL } from "../constants";
import { cron, imageRef, resources } from "../fields";

export const operationsSections = {
    /** Housekeeping CronJobs (production): old task and component logs, old metadata rows. */
    retention: z
        .strictObject({
            /** Deletes log files older than `days` from the shared log claim (only when logs are on the claim). */
            logs: z
                .strictObject({
                    enabled: z.boolean().default(true),
                    days: z.int().min(1).max(3650).default(15),
                    schedule: cron.default("0 3 * * *"),
                    resources: resources(SIDECAR),
                })
                .prefault({}),
            /**
             * `airflow kubernetes cleanup-pods`: deletes finished worker pods the executor left behind. A
             * scheduler that stops between a task's end and its pod's deletion (a restart, an eviction)
             * leaves the pod, and its successor does not adopt finished pods (seen in the lab).
             */
            workerPods: z
                .strictObject({
                    enabled: z.boolean().default(true),
                    schedule: cron.default("*/15 * * * *"),
                    /** Keep finished pods at least this long (failed pods kept for debugging stay this long too). */
                    minCompletedMinutes: z
                        .int()
                        .min(0)
                        .max(7 * 24 * 60)
                        .default(30),
                    resources: resources({ requests: { cpu: "50m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } }),
                })
                .prefault({}),
            /** `airflow db clean` of rows older than `days` (task instances, DAG runs, logs, XComs, jobs, ...). */
            database: z
                .strictObject({
                    enabled: z.boolean().default(true),
                    days: z.int().min(1).max(3650).default(90),
                    schedule: cron.default("30 3 * * *"),
                    /** Only report what would be deleted (`--dry-run`). */
                    dryRun: z.boolean().default(false),
                    /** Delete without copying the rows into _airflow_deleted__* archive tables first (`--skip-archive`). */
                    skipArchive: z.boolean().default(true),
                    resources: resources(SMALL),
                })
                .prefault({}),
        })
        .prefault({}),

    /**
     * How long `pulumi up` waits for a Deployment or the standalone StatefulSet to roll out before it
     * fails, naming the pods and why (an image that cannot be pulled, a crash loop); Kubernetes marks
     * a Deployment's rollout failed at the same deadline. The old pods keep serving meanwhile.
     */
    rolloutTimeoutMinutes: z.int().min(1).max(120).default(10),

    /**
     * Metrics (production): Airflow's StatsD metrics into a prometheus statsd-exporter Deployment, a
     * Service to scrape, and optionally a Prometheus Operator ServiceMonitor.
     */
    metrics: z
        .strictObject({
            enabled: z.boolean().default(false),
            image: imageRef.default("quay.io/prometheus/statsd-exporter:v0.28.0"),
            /** A monitoring.coreos.com/v1 ServiceMonitor for the Prometheus Operator (its CRDs must exist). */
            serviceMonitor: z.boolean().default(false),
            /** Scrape interval of the ServiceMonitor. */
            scrapeInterval: z
                .string()
                .regex(/^\d+(s|m)$/, "must be a duration such as 30s or 1m")
                .default("30s"),
            /** Namespace of the Prometheus pods: the NetworkPolicy lets them scrape the exporter. */
            scraperNamespace: dnsLabel.default("monitoring"),
            resources: resources(SIDECAR),
        })
        .prefault({}),
};
