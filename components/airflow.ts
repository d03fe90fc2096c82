// The Airflow control plane for the KubernetesExecutor: generated keys, executor RBAC, the worker
// pod template, the migration Job, and the scheduler, API server, dag-processor and triggerer.
import * as crypto from "crypto";
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { AIRFLOW_ENV } from "./airflowSettings";
import { defaultRemoteConnId, EnvSettings, PodExtensionSettings, StackConfig, uiBaseUrl, WorkloadSettings } from "./config";
import {
    adminEnv,
    AirflowPodFactory,
    API_PORT,
    IMAGE_DAGS_FOLDER,
    LOGS_MOUNT,
    POD_TEMPLATE_DIR,
    POD_TEMPLATE_FILE,
    SCHEDULER_HEALTH_PORT,
    migrationScript,
    simpleAuthUsers,
    taskImagesEnv,
} from "./airflowPod";
import { withEphemeralStorage } from "./ephemeralStorage";
import { awaitedWorkloadService, disruptionBudget, execProbe, extendPodSpec, httpProbe, labels, podMetadata, READINESS_PROBE_PERIOD, secretEnv, selectorLabels, spreadOverNodes, startupProbe } from "./podParts";
import type { DagBundlePodParts } from "./dagBundles";
import { retentionCronJobs } from "./retention";

/** Where the API server and the migration Job read FAB's webserver_config.py (ui.webserverConfig). */
export const FAB_CONFIG_DIR = "/etc/airflow/fab";
/** Airflow's StatsD prefix: metric names start with `airflow.`. */
export const STATSD_PREFIX = "airflow";

export const AUTH_MANAGERS = {
    fab: "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    simple: "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
} as const;

export interface AirflowArgs {
    /** Namespace of every object (and of the worker pods). */
    namespace: pulumi.Input<string>;
    /** Instance label (`app.kubernetes.io/instance`). */
    instance: string;
    /** Airflow version; with schemaImage it names the migration Job. */
    airflowVersion: string;
    /** Airflow image for every process; a digest-pinned reference rolls pods only when it changes. */
    image: pulumi.Input<string>;
    /**
     * The image that decides the metadata schema: Airflow and its providers without the DAGs (the base
     * image the DAG image is built FROM). The migration Job runs it and is named by it and the version,
     * so a DAG-only image change leaves the Job as it is. Defaults to `image`.
     */
    schemaImage?: pulumi.Input<string>;
    /** @default "IfNotPresent" */
    imagePullPolicy?: string;
    /** Registry credentials (Secret names) for every pod, worker pods included. */
    imagePullSecrets?: string[];
    /** Secret and key holding the metadata database's SQLAlchemy URI (PgBouncer's, when there is one). */
    metadataSecretName: pulumi.Input<string>;
    metadataSecretKey: string;
    /** The database itself, when metadataSecretName points at PgBouncer: migrations and `db clean` go direct. */
    directMetadataSecretName?: pulumi.Input<string>;
    directMetadataSecretKey?: string;
    /** Secret with Airflow's generated keys (see AirflowKeys). */
    keysSecretName: pulumi.Input<string>;
    /** What must be up before migrations run: the database StatefulSet, PgBouncer. Only the migration Job waits for it. */
    databaseReady?: pulumi.Resource[];
    /** What prepares the shared volumes (the storage component): the workloads and CronJobs that mount them wait for it. */
    storageReady?: pulumi.Resource[];
    /** DAG folder as the processes see it. */
    dagsFolder: string;
    /** Claim holding DAGs; omit when DAGs are in the image or synced by a sidecar. */
    dagsClaimName?: pulumi.Input<string>;
    dagsSubPath?: string;
    /** Claim holding task logs; omit only with remote logging. */
    logsClaimName?: pulumi.Input<string>;
    logsSubPath?: string;
    /** Remote log folder, e.g. gs://bucket/logs. */
    remoteBaseLogFolder?: string;
    /** Connection for the bucket; by default the one of the folder's scheme (gs, s3, wasb; see defaultRemoteConnId). */
    remoteConnId?: string;
    scheduler: WorkloadSettings;
    apiServer: StackConfig["apiServer"];
    dagProcessor: WorkloadSettings;
    triggerer: WorkloadSettings;
    workers: StackConfig["workers"];
    ui: StackConfig["ui"];
    /** Env for every Airflow container: plain (non-secret) values, keys of Secrets, whole Secrets. */
    env: EnvSettings;
    /** Task images published to DAG authors as the Airflow Variable `task_images` (name -> digest ref). */
    taskImages?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** git-sync sidecar (and its volumes) for pods that read DAGs, in sidecar mode. */
    dagReaderSidecars?: k8s.types.input.core.v1.Container[];
    dagReaderVolumes?: k8s.types.input.core.v1.Volume[];
    /** The same sync run once, as an init container of worker pods, in sidecar mode. */
    dagReaderOnce?: k8s.types.input.core.v1.Container[];
    /** Settings of the dag-processor derived from the DAG source, which the config's env knobs may override. */
    dagProcessorDefaults?: Record<string, string>;
    /** DAG bundles: the list for the scheduler, API server and triggerer; connections and keys for the dag-processor and workers. */
    dagBundles?: DagBundlePodParts;
    /** Log and database retention CronJobs; none when omitted. */
    retention?: StackConfig["retention"];
    /** StatsD host (the statsd-exporter Service) every Airflow process sends metrics to; none when omitted. */
    statsdHost?: pulumi.Input<string>;
    /** @default 9125 */
    statsdPort?: number;
}

/** Airflow 3 with the KubernetesExecutor. */
export class Airflow extends pulumi.ComponentResource {
    /** Name of the API server (UI) Service. */
    readonly apiServiceName: pulumi.Output<string>;
    /** In-cluster URL of the UI and REST API. */
    readonly uiUrl: pulumi.Output<string>;
    /** Name of the migration Job (changes with the schema image and the Airflow version). */
    readonly migrationJobName: pulumi.Output<string>;
    /** The worker pod template as rendered into its ConfigMap. */
    readonly podTemplateYaml: pulumi.Output<string>;

    constructor(name: string, args: AirflowArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:index:Airflow", name, {}, opts);
        const parent = { parent: this };
        const meta = (objectName: string, component: string) => ({
            name: objectName,
            namespace: args.namespace,
            labels: labels(args.instance, component),
        });

        const fab = args.ui.authManager === "fab";

        // --- identities: one ServiceAccount per component, so each can carry its own cloud identity
        // (serviceAccountAnnotations); only the scheduler, and workers that launch pods, talk to the API ---
        const account = (component: string, annotations: Record<string, string> = {}) =>
            new k8s.core.v1.ServiceAccount(
                `${name}-${component}`,
                {
                    metadata: { ...meta(`${name}-${component}`, component), ...(Object.keys(annotations).length ? { annotations } : {}) },
                    automountServiceAccountToken: false,
                },
                parent,
            );
        const schedulerAccount = account("scheduler", args.scheduler.serviceAccountAnnotations);
        const workerAccount = account("worker", args.workers.serviceAccountAnnotations);
        const apiServerAccount = account("api-server", args.apiServer.serviceAccountAnnotations);
        const dagProcessorAccount = account("dag-processor", args.dagProcessor.serviceAccountAnnotations);
        const triggererAccount = account("triggerer", args.triggerer.serviceAccountAnnotations);
        const migrateAccount = account("migrate");
        // A namespaced Role and its binding for a ServiceAccount.
        const grant = (roleName: string, component: string, rules: k8s.types.input.rbac.v1.PolicyRule[], subject: k8s.core.v1.ServiceAccount) => {
            const role = new k8s.rbac.v1.Role(roleName, { metadata: meta(roleName, component), rules }, parent);
            return new k8s.rbac.v1.RoleBinding(
                roleName,
                {
                    metadata: meta(roleName, component),
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                    subjects: [{ kind: "ServiceAccount", name: subject.metadata.name, namespace: args.namespace }],
                },
                parent,
            );
        };
        const executorBinding = grant(
            `${name}-pod-launcher`,
            "scheduler",
            [
                { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
                { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
                { apiGroups: [""], resources: ["events"], verbs: ["list"] },
            ],
            schedulerAccount,
        );
        // Tasks that launch pods themselves (KubernetesPodOperator in its synchronous mode, @task.kubernetes),
        // as the cncf-kubernetes provider documents: exec reads XCom from the sidecar, events explain failures.
        if (args.workers.podLauncher) {
            grant(
                `${name}-task-pod-launcher`,
                "worker",
                [
                    { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
                    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
                    { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
                    { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
                ],
                workerAccount,
            );
        }

        // --- configuration shared by every Airflow process ---
        const apiServiceName = `${name}-api-server`;
        this.apiServiceName = pulumi.output(apiServiceName);
        // Behind an Ingress under a path (or with ui.baseUrl), Airflow serves the UI, the REST API and the
        // execution API under [api] base_url's path: the in-cluster URLs and the probes move with it.
        const base = uiBaseUrl(args.ui);
        const prefix = base?.path ?? "";
        const apiBase = pulumi.interpolate`http://${apiServiceName}.${args.namespace}.svc:${args.ui.port}${prefix}`;
        this.uiUrl = base ? pulumi.output(`${base.url}/`) : pulumi.interpolate`${apiBase}/`;
        const remote: Record<string, string> = args.remoteBaseLogFolder
            ? {
                  [AIRFLOW_ENV.remoteLogging]: "True",
                  [AIRFLOW_ENV.remoteBaseLogFolder]: args.remoteBaseLogFolder,
                  [AIRFLOW_ENV.remoteLogConnId]: args.remoteConnId ?? defaultRemoteConnId(args.remoteBaseLogFolder) ?? "google_cloud_default",
              }
            : {};
        const factory = new AirflowPodFactory({
            image: args.image,
            imagePullPolicy: args.imagePullPolicy ?? "IfNotPresent",
            imagePullSecrets: args.imagePullSecrets,
            keysSecretName: args.keysSecretName,
            metadataSecretName: args.metadataSecretName,
            metadataSecretKey: args.metadataSecretKey,
            dagsFolder: args.dagsFolder,
            dagsClaimName: args.dagsClaimName,
            dagsSubPath: args.dagsSubPath,
            logsClaimName: args.logsClaimName,
            logsSubPath: args.logsSubPath,
            dagReaderSidecars: args.dagReaderSidecars,
            dagReaderVolumes: args.dagReaderVolumes,
            dagReaderOnce: args.dagReaderOnce,
            dagBundles: args.dagBundles,
            commonEnv: {
                [AIRFLOW_ENV.executor]: "KubernetesExecutor",
                [AIRFLOW_ENV.dagsFolder]: args.dagsFolder,
                [AIRFLOW_ENV.loadExamples]: "False",
                // Workers report task state here; a wrong URL fails every task.
                [AIRFLOW_ENV.executionApiServerUrl]: pulumi.interpolate`${apiBase}/execution/`,
                [AIRFLOW_ENV.baseLogFolder]: LOGS_MOUNT,
                // Links Airflow builds (log URLs, callbacks, e-mails) point where people open the UI.
                ...(base ? { [AIRFLOW_ENV.apiBaseUrl]: base.url } : {}),
                ...(args.statsdHost !== undefined
                    ? {
                          [AIRFLOW_ENV.statsdOn]: "True",
                          [AIRFLOW_ENV.statsdHost]: args.statsdHost,
                          [AIRFLOW_ENV.statsdPort]: String(args.statsdPort ?? 9125),
                          [AIRFLOW_ENV.statsdPrefix]: STATSD_PREFIX,
                      }
                    : {}),
                ...remote,
                ...taskImagesEnv(args.taskImages),
            },
            sharedEnv: args.env,
            controlPlaneEnv: {
                [AIRFLOW_ENV.authManager]: AUTH_MANAGERS[args.ui.authManager],
                [AIRFLOW_ENV.executorNamespace]: args.namespace,
                [AIRFLOW_ENV.podTemplateFile]: POD_TEMPLATE_FILE,
                [AIRFLOW_ENV.deleteWorkerPods]: pyBool(args.workers.deleteOnSuccess),
                [AIRFLOW_ENV.deleteWorkerPodsOnFailure]: pyBool(args.workers.deleteOnFailure),
            },
        });

        // --- worker pod template (container `base`, restartPolicy Never), rendered to a ConfigMap ---
        const workerPod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: podMetadata(args.instance, "worker", args.workers),
            spec: extendPodSpec(
                factory.podSpec({
                    component: "worker",
                    containerName: "base",
                    role: "worker",
                    readsDags: true,
                    dagsAtStartOnly: true,
                    // it clones the commit its DAG run recorded
                    dagBundles: "clone",
                    copyImageDags: args.dagsFolder === IMAGE_DAGS_FOLDER && args.taskImages !== undefined,
                    resources: args.workers.resources,
                    settings: args.workers,
                    serviceAccountName: workerAccount.metadata.name,
                    // A token only for tasks that launch pods of their own.
                    automountServiceAccountToken: args.workers.podLauncher,
                    restartPolicy: "Never",
                }),
                args.workers,
                "base",
            ),
        };
        this.podTemplateYaml = pulumi.output(workerPod).apply((pod) => yaml.dump(JSON.parse(JSON.stringify(pod)), { sortKeys: true, lineWidth: -1 }));
        const podTemplate = new k8s.core.v1.ConfigMap(
            `${name}-pod-template`,
            {
                // Auto-named: a changed template gets a new ConfigMap, which rolls the scheduler.
                metadata: { namespace: args.namespace, labels: labels(args.instance, "worker") },
                data: { "pod_template.yaml": this.podTemplateYaml },
            },
            parent,
        );

        // --- migrations: a Job whose name changes with what decides the schema (the Airflow version and
        // the base image, not the DAGs), so an upgrade runs it again and a DAG-only change leaves it alone ---
        // FAB's webserver_config.py from the user's Secret or ConfigMap, read-only, where [fab] config_file points.
        const wc = args.ui.webserverConfig;
        const webserverConfig = wc
            ? {
                  volumes: [
                      {
                          name: "webserver-config",
                          ...(wc.secretName !== undefined
                              ? { secret: { secretName: wc.secretName, defaultMode: 0o440, items: [{ key: wc.key, path: "webserver_config.py" }] } }
                              : { configMap: { name: wc.configMapName!, defaultMode: 0o440, items: [{ key: wc.key, path: "webserver_config.py" }] } }),
                      },
                  ],
                  mounts: [{ name: "webserver-config", mountPath: FAB_CONFIG_DIR, readOnly: true }],
                  env: [{ name: AIRFLOW_ENV.fabConfigFile, value: `${FAB_CONFIG_DIR}/webserver_config.py` }],
              }
            : { volumes: [], mounts: [], env: [] };
        // Migrations and `db clean` talk to the database itself, never through PgBouncer.
        const directDatabase = args.directMetadataSecretName
            ? [secretEnv(AIRFLOW_ENV.sqlAlchemyConn, args.directMetadataSecretName, args.directMetadataSecretKey ?? args.metadataSecretKey)]
            : [];

        const schemaImage = args.schemaImage ?? args.image;
        const migrationSuffix = pulumi
            .output(schemaImage)
            .apply((image) => crypto.createHash("sha256").update(`${args.airflowVersion}\n${image}`).digest("hex").slice(0, 10));
        const migrateSpec = factory.podSpec({
            component: "migrate",
            // `airflow db migrate` (and FAB's admin) need Airflow and its providers, never the DAG files.
            image: schemaImage,
            shellScript: ["set -euo pipefail", ...migrationScript(fab)],
            role: "control-plane",
            readsDags: false,
            // its output is its pod log: it need not wait for the shared volume
            logsOnEmptyDir: true,
            resources: args.scheduler.resources,
            settings: args.scheduler,
            serviceAccountName: migrateAccount.metadata.name,
            restartPolicy: "Never",
            extraEnv: [...(fab ? adminEnv(args.keysSecretName, args.ui.adminUsername) : []), ...directDatabase, ...webserverConfig.env],
            extraVolumes: webserverConfig.volumes,
            extraMounts: webserverConfig.mounts,
        });
        const migration = new k8s.batch.v1.Job(
            `${name}-migrate`,
            {
                metadata: { ...meta(`${name}-migrate`, "migrate"), name: pulumi.interpolate`${name}-migrate-${migrationSuffix}` },
                spec: {
                    backoffLimit: 4,
                    activeDeadlineSeconds: 1800,
                    template: { metadata: { labels: labels(args.instance, "migrate") }, spec: withEphemeralStorage(migrateSpec) },
                },
            },
            // A new name means a new Job (Job templates are immutable); the old one is deleted after.
            // It starts once the database is up; the rest of the component does not wait for it.
            { parent: this, dependsOn: args.databaseReady },
        );
        this.migrationJobName = migration.metadata.name;
        // The workloads start after the migrations (the engine's order: no pod waits in an init
        // container) and after the shared volumes are prepared.
        const afterMigration = { parent: this, dependsOn: [migration, ...(args.storageReady ?? [])] };

        // --- the long-running processes ---
        const autoscaling = args.apiServer.autoscaling;
        /** Fewest replicas a component runs with (the autoscaler's minimum for an autoscaled API server). */
        const minReplicas = (component: string, w: WorkloadSettings) => (component === "api-server" && autoscaling.enabled ? autoscaling.minReplicas : w.replicas);
        const maxReplicas = (component: string, w: WorkloadSettings) => (component === "api-server" && autoscaling.enabled ? autoscaling.maxReplicas : w.replicas);
        // The component's extension points (config extraVolumes, extraContainers, affinity, ...), on its pods.
        const deployment = (
            component: string,
            w: WorkloadSettings & PodExtensionSettings,
            spec: k8s.types.input.core.v1.PodSpec,
            extra: pulumi.CustomResourceOptions = {},
            annotations?: Record<string, pulumi.Input<string>>,
        ) => {
            const podSpec = extendPodSpec(spec, w, component);
            // Replicas of the serving components land on different nodes where they can (a node loss
            // keeps one), unless the component's own spread or affinity says otherwise.
            const spread =
                ["api-server", "scheduler"].includes(component) && maxReplicas(component, w) > 1 && podSpec.topologySpreadConstraints === undefined && w.affinity === undefined;
            const autoscaled = component === "api-server" && autoscaling.enabled;
            return new k8s.apps.v1.Deployment(
                `${name}-${component}`,
                {
                    metadata: meta(`${name}-${component}`, component),
                    spec: {
                        // An autoscaled Deployment has no replica count here: `pulumi up` never resets the HPA's choice.
                        ...(autoscaled ? {} : { replicas: w.replicas }),
                        selector: { matchLabels: selectorLabels(args.instance, component) },
                        template: {
                            metadata: podMetadata(args.instance, component, w, annotations),
                            spec: spread ? { ...podSpec, topologySpreadConstraints: spreadOverNodes(args.instance, component) } : podSpec,
                        },
                    },
                },
                { ...afterMigration, ...extra, dependsOn: [...afterMigration.dependsOn, ...((extra.dependsOn as pulumi.Resource[]) ?? [])] },
            );
        };

        // Liveness of the dag-processor and triggerer. Airflow 3.3 has no HTTP health server for them (only
        // the scheduler's `[scheduler] enable_health_check` on 8974; checked in 3.3.2's config.yml, where
        // [dag_processor] and [triggerer] only have heartbeat thresholds), so the probe is `airflow jobs
        // check --local`: is there a job of this type on this host whose heartbeat is younger than the
        // threshold (30 s)? It is behind the official chart's restart loops when its timeout is short: the
        // CLI imports Airflow and queries the database, 4 s on an idle core and 15-30 s on a throttled one,
        // so a 20 s timeout kills healthy pods. Here it gets 45 s, runs once a minute, starts after a
        // minute, and restarts the pod only after five misses in a row (about six minutes of a dead job).
        const jobCheck = (jobType: string) => ({
            ...execProbe(["airflow", "jobs", "check", "--job-type", jobType, "--local"], 60, 5, 45),
            initialDelaySeconds: 60,
        });

        deployment(
            "scheduler",
            args.scheduler,
            factory.podSpec({
                component: "scheduler",
                args: ["scheduler"],
                role: "control-plane",
                dagBundles: "names",
                readsDags: true,
                resources: args.scheduler.resources,
                settings: args.scheduler,
                serviceAccountName: schedulerAccount.metadata.name,
                // The scheduler launches worker pods: it gets an API token.
                automountServiceAccountToken: true,
                // It signs the token each workload presents to the execution API.
                jwtSecret: true,
                extraEnv: [
                    { name: AIRFLOW_ENV.schedulerHealthCheck, value: "True" },
                    { name: AIRFLOW_ENV.schedulerHealthCheckPort, value: String(SCHEDULER_HEALTH_PORT) },
                ],
                ports: [{ name: "health", containerPort: SCHEDULER_HEALTH_PORT }],
                probes: {
                    startupProbe: startupProbe("/health", "health", 300),
                    livenessProbe: httpProbe("/health", "health", 30, 5, 10),
                },
                extraVolumes: [{ name: "pod-template", configMap: { name: podTemplate.metadata.name } }],
                extraMounts: [{ name: "pod-template", mountPath: POD_TEMPLATE_DIR, readOnly: true }],
            }),
            { dependsOn: [executorBinding] },
            // The executor reads the template at start-up: a changed template restarts the scheduler.
            { "airflow.apache.org/pod-template-sha256": this.podTemplateYaml.apply((t) => crypto.createHash("sha256").update(t).digest("hex")) },
        );

        const healthPath = `${prefix}/api/v2/monitor/health`;
        const ingress = args.ui.ingress;
        // Behind an Ingress, the API server takes the scheme and client address from the controller's
        // X-Forwarded-* headers (uvicorn's --proxy-headers, trusted from forwardedAllowIps), and so does
        // FAB's Flask app (ProxyFix), so redirects and OAuth callbacks use https and the public host.
        const proxied = ingress.enabled;
        const apiServer = deployment(
            "api-server",
            args.apiServer,
            factory.podSpec({
                component: "api-server",
                args: ["api-server", ...(proxied ? ["--proxy-headers"] : [])],
                role: "control-plane",
                dagBundles: "names",
                readsDags: false,
                resources: args.apiServer.resources,
                settings: args.apiServer,
                serviceAccountName: apiServerAccount.metadata.name,
                // It checks execution API tokens and signs UI and REST API ones.
                jwtSecret: true,
                simpleAuthUsers: fab ? undefined : simpleAuthUsers(args.ui.adminUsername),
                extraEnv: [
                    { name: AIRFLOW_ENV.apiPort, value: String(API_PORT) },
                    { name: AIRFLOW_ENV.apiWorkers, value: String(args.apiServer.workers) },
                    ...(proxied ? [{ name: "FORWARDED_ALLOW_IPS", value: ingress.forwardedAllowIps }] : []),
                    ...(proxied && fab ? [{ name: AIRFLOW_ENV.fabEnableProxyFix, value: "True" }] : []),
                    ...webserverConfig.env,
                ],
                extraVolumes: webserverConfig.volumes,
                extraMounts: webserverConfig.mounts,
                ports: [{ name: "http", containerPort: API_PORT }],
                probes: {
                    startupProbe: startupProbe(healthPath, "http", 300),
                    readinessProbe: httpProbe(healthPath, "http", READINESS_PROBE_PERIOD, 3),
                    livenessProbe: httpProbe(healthPath, "http", 20, 5, 10),
                },
            }),
        );

        deployment(
            "dag-processor",
            args.dagProcessor,
            factory.podSpec({
                component: "dag-processor",
                args: ["dag-processor"],
                role: "control-plane",
                readsDags: true,
                resources: args.dagProcessor.resources,
                settings: args.dagProcessor,
                serviceAccountName: dagProcessorAccount.metadata.name,
                defaultEnv: args.dagProcessorDefaults,
                dagBundles: "clone",
                probes: { livenessProbe: jobCheck("DagProcessorJob") },
            }),
        );

        deployment(
            "triggerer",
            args.triggerer,
            factory.podSpec({
                component: "triggerer",
                args: ["triggerer"],
                role: "control-plane",
                dagBundles: "names",
                readsDags: true,
                resources: args.triggerer.resources,
                settings: args.triggerer,
                serviceAccountName: triggererAccount.metadata.name,
                probes: { livenessProbe: jobCheck("TriggererJob") },
            }),
        );

        const service = new k8s.core.v1.Service(
            `${name}-api-server`,
            {
                metadata: awaitedWorkloadService(meta(apiServiceName, "api-server"), args.ui.serviceType),
                spec: {
                    type: args.ui.serviceType,
                    selector: selectorLabels(args.instance, "api-server"),
                    ports: [{ name: "http", port: args.ui.port, targetPort: "http" }],
                },
            },
            parent,
        );

        if (ingress.enabled) {
            new k8s.networking.v1.Ingress(
                `${name}-api-server`,
                {
                    metadata: { ...meta(apiServiceName, "api-server"), ...(Object.keys(ingress.annotations).length ? { annotations: ingress.annotations } : {}) },
                    spec: {
                        ...(ingress.className ? { ingressClassName: ingress.className } : {}),
                        ...(ingress.tlsSecretName ? { tls: [{ hosts: [ingress.host!], secretName: ingress.tlsSecretName }] } : {}),
                        rules: [
                            {
                                host: ingress.host,
                                http: {
                                    // The path reaches Airflow unchanged (no rewrite): it serves everything under base_url's path.
                                    paths: [{ path: ingress.pathPrefix, pathType: "Prefix", backend: { service: { name: service.metadata.name, port: { name: "http" } } } }],
                                },
                            },
                        ],
                    },
                },
                parent,
            );
        }

        if (autoscaling.enabled) {
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-api-server`,
                {
                    metadata: meta(`${name}-api-server`, "api-server"),
                    spec: {
                        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: apiServer.metadata.name },
                        minReplicas: autoscaling.minReplicas,
                        maxReplicas: autoscaling.maxReplicas,
                        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: autoscaling.targetCPUUtilizationPercentage } } }],
                    },
                },
                parent,
            );
        }

        // Keep all but one pod of each multi-replica component through voluntary disruptions (node drains).
        for (const [component, w] of [
            ["api-server", args.apiServer],
            ["scheduler", args.scheduler],
            ["dag-processor", args.dagProcessor],
            ["triggerer", args.triggerer],
        ] as const) {
            if (minReplicas(component, w) > 1) {
                disruptionBudget(`${name}-${component}`, args.namespace, args.instance, component, this);
            }
        }

        // The worker pod clean-up's identity: list and delete pods, nothing else.
        const podCleanerAccount = args.retention?.workerPods.enabled ? account("worker-cleanup") : undefined;
        if (podCleanerAccount) {
            grant(`${name}-worker-cleanup`, "worker-cleanup", [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "delete"] }], podCleanerAccount);
        }
        if (args.retention) {
            retentionCronJobs(name, {
                factory,
                namespace: args.namespace,
                instance: args.instance,
                retention: args.retention,
                logsOnClaim: args.logsClaimName !== undefined,
                // Maintenance runs as the migration Job does: no token, no cloud identity.
                serviceAccountName: migrateAccount.metadata.name,
                metadataSecretName: args.directMetadataSecretName ?? args.metadataSecretName,
                metadataSecretKey: args.directMetadataSecretName ? args.directMetadataSecretKey ?? args.metadataSecretKey : args.metadataSecretKey,
                parent: this,
                migration,
                storageReady: args.storageReady ?? [],
                podCleanerAccountName: podCleanerAccount?.metadata.name,
            });
        }

        this.registerOutputs({
            apiServiceName: this.apiServiceName,
            uiUrl: this.uiUrl,
            migrationJobName: this.migrationJobName,
        });
    }
}

function pyBool(value: boolean): string {
    return value ? "True" : "False";
}
