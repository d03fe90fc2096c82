// Airflow metrics for Prometheus: every Airflow process (worker pods included) sends StatsD over UDP
// to one prometheus statsd-exporter Deployment, which maps the dotted names to labelled Prometheus
// metrics and serves them on /metrics; a Service exposes it for scraping, and with
// `metrics.serviceMonitor` a Prometheus Operator ServiceMonitor points Prometheus at it.
//
// Why StatsD and not OpenTelemetry (`[metrics] otel_on`): StatsD is the metric path Airflow has
// documented longest, with a stable set of names, and its exporter is one small stateless pod that
// needs nothing else in the cluster. OpenTelemetry needs a collector (another component to deploy and
// operate) before Prometheus sees anything. Short-lived worker pods cannot be scraped themselves, so
// either way the metrics must be pushed to something long-lived; the exporter is the smallest such thing.
import * as crypto from "crypto";
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import * as yaml from "js-yaml";
import type { StackConfig } from "./config";
import { withEphemeralStorage } from "./ephemeralStorage";
import { AddOnArgs, awaitedWorkloadService, httpProbe, isolatedPodSpec, labels, restrictedContainer, selectorLabels } from "./podParts";

export const STATSD_PORT = 9125;
export const METRICS_PORT = 9102;
/** The exporter image's user (nobody). */
export const STATSD_EXPORTER_UID = 65534;
const MAPPING_DIR = "/etc/statsd-exporter";

/**
 * Airflow's StatsD names (prefix `airflow`) as Prometheus metrics with labels: DAG, task, state, pool
 * and file become labels instead of parts of the name. Names not listed fall back to the exporter's
 * default (dots to underscores).
 */
export const AIRFLOW_STATSD_MAPPINGS = [
    { match: "airflow.dagrun.duration.*.*", name: "airflow_dagrun_duration", labels: { state: "$1", dag_id: "$2" } },
    { match: "airflow.dagrun.schedule_delay.*", name: "airflow_dagrun_schedule_delay", labels: { dag_id: "$1" } },
    { match: "airflow.dag.*.*.duration", name: "airflow_task_duration", labels: { dag_id: "$1", task_id: "$2" } },
    { match: "airflow.ti.start.*.*", name: "airflow_ti_start", labels: { dag_id: "$1", task_id: "$2" } },
    { match: "airflow.ti.finish.*.*.*", name: "airflow_ti_finish", labels: { dag_id: "$1", task_id: "$2", state: "$3" } },
    { match: "airflow.pool.*.*", name: "airflow_pool_${1}", labels: { pool: "$2" } },
    { match: "airflow.dag_processing.last_duration.*", name: "airflow_dag_processing_last_duration", labels: { file: "$1" } },
    { match: "airflow.dag_processing.last_run.seconds_ago.*", name: "airflow_dag_processing_last_run_seconds_ago", labels: { file: "$1" } },
];

export interface StatsdExporterArgs extends AddOnArgs {
    /** The metrics section: the exporter's image and resources, and whether a ServiceMonitor (the Prometheus Operator's CRDs must exist) scrapes it, how often. */
    metrics: StackConfig["metrics"];
}

/** The statsd-exporter Deployment, its mapping ConfigMap, its Service and optionally a ServiceMonitor. */
export class StatsdExporter extends pulumi.ComponentResource {
    /** In-cluster host name Airflow sends StatsD to. */
    readonly host: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;

    constructor(name: string, args: StatsdExporterArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("StatsdExporter"), name, {}, withLegacyType("StatsdExporter", opts));
        const component = "statsd";
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: labels(args.instance, component) });

        const mappings = yaml.dump({ mappings: AIRFLOW_STATSD_MAPPINGS }, { lineWidth: -1 });
        const mappingConfig = new k8s.core.v1.ConfigMap(`${name}-mappings`, { metadata: meta(`${name}-mappings`), data: { "mappings.yml": mappings } }, { parent: this });

        const podSpec: k8s.types.input.core.v1.PodSpec = withEphemeralStorage({
            ...isolatedPodSpec(STATSD_EXPORTER_UID, args.images.pullSecrets),
            containers: [
                restrictedContainer(
                    {
                        name: "statsd-exporter",
                        image: args.metrics.image,
                        imagePullPolicy: args.images.pullPolicy,
                        args: [`--statsd.listen-udp=:${STATSD_PORT}`, `--web.listen-address=:${METRICS_PORT}`, `--statsd.mapping-config=${MAPPING_DIR}/mappings.yml`],
                        ports: [
                            { name: "statsd", containerPort: STATSD_PORT, protocol: "UDP" },
                            { name: "metrics", containerPort: METRICS_PORT },
                        ],
                        volumeMounts: [{ name: "mappings", mountPath: MAPPING_DIR, readOnly: true }],
                        readinessProbe: httpProbe("/metrics", "metrics", 10, 3),
                        livenessProbe: httpProbe("/metrics", "metrics", 30, 5),
                    },
                    args.metrics.resources,
                ),
            ],
            volumes: [{ name: "mappings", configMap: { name: mappingConfig.metadata.name } }],
        });
        new k8s.apps.v1.Deployment(
            name,
            {
                metadata: meta(name),
                spec: {
                    replicas: 1,
                    selector: { matchLabels: selectorLabels(args.instance, component) },
                    template: {
                        // The exporter reads its mappings at start-up: a change restarts it.
                        metadata: { labels: labels(args.instance, component), annotations: { "airflow.apache.org/statsd-mappings-sha256": crypto.createHash("sha256").update(mappings).digest("hex") } },
                        spec: podSpec,
                    },
                },
            },
            { parent: this },
        );
        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: awaitedWorkloadService(meta(name)),
                spec: {
                    selector: selectorLabels(args.instance, component),
                    ports: [
                        { name: "statsd", port: STATSD_PORT, targetPort: "statsd", protocol: "UDP" },
                        { name: "metrics", port: METRICS_PORT, targetPort: "metrics" },
                    ],
                },
            },
            { parent: this },
        );
        this.serviceName = service.metadata.name;
        this.host = pulumi.interpolate`${service.metadata.name}.${args.namespace}.svc`;

        if (args.metrics.serviceMonitor) {
            new k8s.apiextensions.CustomResource(
                name,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "ServiceMonitor",
                    metadata: meta(name),
                    spec: {
                        selector: { matchLabels: selectorLabels(args.instance, component) },
                        endpoints: [{ port: "metrics", path: "/metrics", interval: args.metrics.scrapeInterval }],
                    },
                },
                { parent: this },
            );
        }
        this.registerOutputs({ host: this.host, serviceName: this.serviceName });
    }
}
