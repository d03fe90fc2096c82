// The long-running processes: the scheduler, API server, dag-processor and triggerer Deployments.
// They start after the migrations (the engine's order: no pod waits in an init container) and after
// the shared volumes are prepared.
import * as crypto from "crypto";
import * as k8s from "../kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AIRFLOW_ENV } from "../airflowSettings";
import { simpleAuthUsers } from "../airflowAdmin";
import { AirflowPodFactory, API_PORT, POD_TEMPLATE_DIR, SCHEDULER_HEALTH_PORT } from "../airflowPod";
import type { PodExtensionSettings, WorkloadSettings } from "../config";
import { COMPONENT } from "../names";
import {
    execProbe,
    executionApiStartupProbe,
    extendPodSpec,
    httpProbe,
    keyGenerationAnnotation,
    podMetadata,
    READINESS_PROBE_PERIOD,
    rolloutTimeouts,
    selectorLabels,
    spreadOverNodes,
    startupProbe,
} from "../podParts";
import { ControlPlane, meta } from "./args";
import type { ApiUrls } from "./env";
import type { Identities } from "./identities";
import type { WebserverConfigParts } from "./migration";
import type { WorkerPodTemplate } from "./podTemplate";

type PodSpec = k8s.types.input.core.v1.PodSpec;

/** What the workloads are built from. */
export interface WorkloadParts {
    factory: AirflowPodFactory;
    ids: Identities;
    podTemplate: WorkerPodTemplate;
    webserverConfig: WebserverConfigParts;
    urls: ApiUrls;
    migration: k8s.batch.v1.Job;
    /** The Job that sets the task_images Variable, when there are task images: the dag-processor waits for it. */
    taskImagesVariable?: k8s.batch.v1.Job;
}

/** Fewest and most replicas a component runs with (the autoscaler's range for an autoscaled API server). */
export function replicaRange(cp: ControlPlane, component: string, w: WorkloadSettings): { min: number; max: number } {
    const autoscaling = cp.args.config.apiServer.autoscaling;
    return component === COMPONENT.apiServer && autoscaling.enabled ? { min: autoscaling.minReplicas, max: autoscaling.maxReplicas } : { min: w.replicas, max: w.replicas };
}

/** A Deployment of one component, with the component's extension points (extraVolumes, extraContainers, affinity, ...) on its pods. */
function deployment(
    cp: ControlPlane,
    parts: WorkloadParts,
    component: string,
    w: WorkloadSettings & PodExtensionSettings,
    spec: PodSpec,
    more: { dependsOn?: pulumi.Resource[]; annotations?: Record<string, pulumi.Input<string>> } = {},
): k8s.apps.v1.Deployment {
    const podSpec = extendPodSpec(spec, w, component);
    // Replicas of the serving components land on different nodes where they can (a node loss keeps
    // one), unless the component's own spread or affinity says otherwise.
    const serving = component === COMPONENT.apiServer || component === COMPONENT.scheduler;
    const spread = serving && replicaRange(cp, component, w).max > 1 && podSpec.topologySpreadConstraints === undefined && w.affinity === undefined;
    const autoscaled = component === COMPONENT.apiServer && cp.args.config.apiServer.autoscaling.enabled;
    const name = `${cp.name}-${component}`;
    // Env from a Secret is read at start: a key rotation restarts the pods (rolling, never the last ready one).
    const annotations = { ...keyGenerationAnnotation(cp.args.config.keys.generation), ...more.annotations };
    return new k8s.apps.v1.Deployment(
        name,
        {
            metadata: meta(cp, name, component),
            spec: {
                // An autoscaled Deployment has no replica count here: `pulumi up` never resets the HPA's choice.
                ...(autoscaled ? {} : { replicas: w.replicas }),
                progressDeadlineSeconds: cp.args.config.rolloutTimeoutMinutes * 60,
                selector: { matchLabels: selectorLabels(cp.args.instance, component) },
                template: {
                    metadata: podMetadata(cp.args.instance, component, w, annotations),
                    spec: spread ? { ...podSpec, topologySpreadConstraints: spreadOverNodes(cp.args.instance, component) } : podSpec,
                },
            },
        },
        {
            parent: cp.parent,
            dependsOn: [parts.migration, ...cp.args.storage.ready, ...(more.dependsOn ?? [])],
            customTimeouts: rolloutTimeouts(cp.args.config.rolloutTimeoutMinutes),
        },
    );
}

/**
 * Liveness of the dag-processor and triggerer. Airflow 3.3 has no HTTP health server for them (only
 * the scheduler's `[scheduler] enable_health_check` on 8974; checked in 3.3.2's config.yml, where
 * [dag_processor] and [triggerer] only have heartbeat thresholds), so the probe is `airflow jobs
 * check --local`: is there a job of this type on this host whose heartbeat is younger than the
 * threshold (30 s)? It is behind the official chart's restart loops when its timeout is short: the
 * CLI imports Airflow and queries the database, 4 s on an idle core and 15-30 s on a throttled one,
 * so a 20 s timeout kills healthy pods. Here it gets 45 s, runs once a minute, starts after a
 * minute, and restarts the pod only after five misses in a row (about six minutes of a dead job).
 */
function jobCheck(jobType: string) {
    return { ...execProbe(["airflow", "jobs", "check", "--job-type", jobType, "--local"], 60, 5, 45), initialDelaySeconds: 60 };
}

/**
 * How long a stopping scheduler gets before it is killed. On SIGTERM the scheduler flushes the
 * KubernetesExecutor's queues (under a second) and then waits up to 20 s, a figure fixed in the
 * cncf.kubernetes provider, for its pod watcher process, which does not stop on the signal dumb-init
 * forwards: seen on the level-2 lab, every scheduler stop took 20-21 s, all of it that wait, and it
 * held up every rollout and teardown. The state the scheduler keeps is in the database, and the next
 * scheduler adopts the worker pods this one launched, so killing the stuck watcher sooner loses nothing.
 */
export const SCHEDULER_STOP_SECONDS = 5;

function scheduler(cp: ControlPlane, parts: WorkloadParts): k8s.apps.v1.Deployment {
    const s = cp.args.config.scheduler;
    const spec = parts.factory.podSpec({
        component: COMPONENT.scheduler,
        args: ["scheduler"],
        role: "control-plane",
        terminationGracePeriodSeconds: SCHEDULER_STOP_SECONDS,
        dagBundles: "names",
        readsDags: true,
        resources: s.resources,
        settings: s,
        serviceAccountName: parts.ids.scheduler.metadata.name,
        // The scheduler launches worker pods: it gets an API token.
        automountServiceAccountToken: true,
        // It signs the token each workload presents to the execution API.
        jwtSecret: true,
        extraEnv: [
            { name: AIRFLOW_ENV.schedulerHealthCheck, value: "True" },
            { name: AIRFLOW_ENV.schedulerHealthCheckPort, value: String(SCHEDULER_HEALTH_PORT) },
        ],
        ports: [{ name: "health", containerPort: SCHEDULER_HEALTH_PORT }],
        probes: { startupProbe: startupProbe("/health", "health", 300), livenessProbe: httpProbe("/health", "health", 30, 5, 10) },
        extraVolumes: [{ name: "pod-template", configMap: { name: parts.podTemplate.configMap.metadata.name } }],
        extraMounts: [{ name: "pod-template", mountPath: POD_TEMPLATE_DIR, readOnly: true }],
    });
    return deployment(cp, parts, COMPONENT.scheduler, s, spec, {
        dependsOn: [parts.ids.executorBinding],
        // The executor reads the template at start-up: a changed template restarts the scheduler.
        annotations: { "airflow.apache.org/pod-template-sha256": parts.podTemplate.yaml.apply((t) => crypto.createHash("sha256").update(t).digest("hex")) },
    });
}

function apiServer(cp: ControlPlane, parts: WorkloadParts): k8s.apps.v1.Deployment {
    const { apiServer: a, ui } = cp.args.config;
    const fab = ui.authManager === "fab";
    const healthPath = `${parts.urls.prefix}/api/v2/monitor/health`;
    // Behind an Ingress, the API server takes the scheme and client address from the controller's
    // X-Forwarded-* headers (uvicorn's --proxy-headers, trusted from forwardedAllowIps), and so does
    // FAB's Flask app (ProxyFix), so redirects and OAuth callbacks use https and the public host.
    const proxied = ui.ingress.enabled;
    const spec = parts.factory.podSpec({
        component: COMPONENT.apiServer,
        args: ["api-server", ...(proxied ? ["--proxy-headers"] : [])],
        role: "control-plane",
        dagBundles: "names",
        readsDags: false,
        resources: a.resources,
        settings: a,
        serviceAccountName: parts.ids.apiServer.metadata.name,
        // It checks execution API tokens and signs UI and REST API ones.
        jwtSecret: true,
        simpleAuthUsers: fab ? undefined : simpleAuthUsers(ui.adminUsername),
        extraEnv: [
            { name: AIRFLOW_ENV.apiPort, value: String(API_PORT) },
            { name: AIRFLOW_ENV.apiWorkers, value: String(a.workers) },
            ...(proxied ? [{ name: "FORWARDED_ALLOW_IPS", value: ui.ingress.forwardedAllowIps }] : []),
            ...(proxied && fab ? [{ name: AIRFLOW_ENV.fabEnableProxyFix, value: "True" }] : []),
            ...parts.webserverConfig.env,
        ],
        extraVolumes: parts.webserverConfig.volumes,
        extraMounts: parts.webserverConfig.mounts,
        ports: [{ name: "http", containerPort: API_PORT }],
        probes: {
            startupProbe: executionApiStartupProbe(`http://127.0.0.1:${API_PORT}${parts.urls.prefix}`, a.workers, 300),
            readinessProbe: httpProbe(healthPath, "http", READINESS_PROBE_PERIOD, 3),
            livenessProbe: httpProbe(healthPath, "http", 20, 5, 10),
        },
    });
    return deployment(cp, parts, COMPONENT.apiServer, a, spec);
}

/** The dag-processor and the triggerer: processes whose liveness is their job's heartbeat (jobCheck). */
function heartbeatProcess(
    cp: ControlPlane,
    parts: WorkloadParts,
    component: typeof COMPONENT.dagProcessor | typeof COMPONENT.triggerer,
    w: WorkloadSettings & PodExtensionSettings,
    own: { account: k8s.core.v1.ServiceAccount; jobType: string; dagBundles: "names" | "clone"; defaultEnv?: Record<string, string> },
): k8s.apps.v1.Deployment {
    const spec = parts.factory.podSpec({
        component,
        args: [component],
        role: "control-plane",
        readsDags: true,
        resources: w.resources,
        settings: w,
        serviceAccountName: own.account.metadata.name,
        defaultEnv: own.defaultEnv,
        dagBundles: own.dagBundles,
        probes: { livenessProbe: jobCheck(own.jobType) },
    });
    // Only the dag-processor parses DAG files, so only it waits for the task_images Variable (DAGs
    // are first parsed with it set); the other components start right after the migrations.
    const variable = component === COMPONENT.dagProcessor ? parts.taskImagesVariable : undefined;
    return deployment(cp, parts, component, w, spec, variable ? { dependsOn: [variable] } : {});
}

/** The four Deployments; returns the API server's (the autoscaler's target) and all four. */
export function workloads(cp: ControlPlane, parts: WorkloadParts): { apiServer: k8s.apps.v1.Deployment; all: k8s.apps.v1.Deployment[] } {
    const sched = scheduler(cp, parts);
    const api = apiServer(cp, parts);
    // the dag-processor clones the bundles it parses; the triggerer only names them
    const processor = heartbeatProcess(cp, parts, COMPONENT.dagProcessor, cp.args.config.dagProcessor, {
        account: parts.ids.dagProcessor,
        jobType: "DagProcessorJob",
        dagBundles: "clone",
        defaultEnv: cp.args.dagProcessorDefaults,
    });
    const triggerer = heartbeatProcess(cp, parts, COMPONENT.triggerer, cp.args.config.triggerer, { account: parts.ids.triggerer, jobType: "TriggererJob", dagBundles: "names" });
    return { apiServer: api, all: [sched, api, processor, triggerer] };
}
