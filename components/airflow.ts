// The Airflow control plane for the KubernetesExecutor: generated keys, executor RBAC, the worker
// pod template, the migration Job, and the scheduler, API server, dag-processor and triggerer.
import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { StackConfig, WorkloadSettings } from "./config";
import {
    adminEnv,
    AirflowPodFactory,
    API_PORT,
    LOGS_MOUNT,
    POD_TEMPLATE_DIR,
    POD_TEMPLATE_FILE,
    SCHEDULER_HEALTH_PORT,
    migrationScript,
} from "./airflowPod";
import { execProbe, httpProbe, labels, selectorLabels } from "./podParts";

export const AUTH_MANAGERS = {
    fab: "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    simple: "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
} as const;

export interface AirflowArgs {
    /** Namespace of every object (and of the worker pods). */
    namespace: pulumi.Input<string>;
    /** Instance label (`app.kubernetes.io/instance`). */
    instance: string;
    /** Airflow version; with the image it names the migration Job. */
    airflowVersion: string;
    /** Airflow image for every process; a digest-pinned reference rolls pods only when it changes. */
    image: pulumi.Input<string>;
    /** @default "IfNotPresent" */
    imagePullPolicy?: string;
    /** Secret and key holding the metadata database's SQLAlchemy URI. */
    metadataSecretName: pulumi.Input<string>;
    metadataSecretKey: string;
    /** Secret with Airflow's generated keys (see AirflowKeys). */
    keysSecretName: pulumi.Input<string>;
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
    /** @default "google_cloud_default" */
    remoteConnId?: string;
    scheduler: WorkloadSettings;
    apiServer: StackConfig["apiServer"];
    dagProcessor: WorkloadSettings;
    triggerer: WorkloadSettings;
    workers: StackConfig["workers"];
    ui: StackConfig["ui"];
    /** Extra non-secret env for every Airflow container. */
    extraEnv: Record<string, string>;
    /** Task images published to DAG authors as the Airflow Variable `task_images` (name -> digest ref). */
    taskImages?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** git-sync sidecar (and its volumes) for pods that read DAGs, in sidecar mode. */
    dagReaderSidecars?: k8s.types.input.core.v1.Container[];
    dagReaderVolumes?: k8s.types.input.core.v1.Volume[];
}

/** Airflow 3 with the KubernetesExecutor. */
export class Airflow extends pulumi.ComponentResource {
    /** Name of the API server (UI) Service. */
    readonly apiServiceName: pulumi.Output<string>;
    /** In-cluster URL of the UI and REST API. */
    readonly uiUrl: pulumi.Output<string>;
    /** Name of the migration Job (changes with the image and Airflow version). */
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

        // --- identities: only the scheduler talks to the Kubernetes API ---
        const schedulerAccount = new k8s.core.v1.ServiceAccount(
            `${name}-scheduler`,
            { metadata: meta(`${name}-scheduler`, "scheduler"), automountServiceAccountToken: false },
            parent,
        );
        const workerAccount = new k8s.core.v1.ServiceAccount(
            `${name}-worker`,
            { metadata: meta(`${name}-worker`, "worker"), automountServiceAccountToken: false },
            parent,
        );
        const controlPlaneAccount = new k8s.core.v1.ServiceAccount(
            `${name}-control-plane`,
            { metadata: meta(`${name}-control-plane`, "control-plane"), automountServiceAccountToken: false },
            parent,
        );
        const executorRole = new k8s.rbac.v1.Role(
            `${name}-pod-launcher`,
            {
                metadata: meta(`${name}-pod-launcher`, "scheduler"),
                rules: [
                    { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
                    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
                    { apiGroups: [""], resources: ["events"], verbs: ["list"] },
                ],
            },
            parent,
        );
        const executorBinding = new k8s.rbac.v1.RoleBinding(
            `${name}-pod-launcher`,
            {
                metadata: meta(`${name}-pod-launcher`, "scheduler"),
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: executorRole.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: schedulerAccount.metadata.name, namespace: args.namespace }],
            },
            parent,
        );

        // --- configuration shared by every Airflow process ---
        const apiServiceName = `${name}-api-server`;
        this.apiServiceName = pulumi.output(apiServiceName);
        const apiBase = pulumi.interpolate`http://${apiServiceName}.${args.namespace}.svc:${args.ui.port}`;
        this.uiUrl = pulumi.interpolate`${apiBase}/`;
        const remote: Record<string, string> = args.remoteBaseLogFolder
            ? {
                  AIRFLOW__LOGGING__REMOTE_LOGGING: "True",
                  AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER: args.remoteBaseLogFolder,
                  AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID: args.remoteConnId ?? "google_cloud_default",
              }
            : {};
        const factory = new AirflowPodFactory({
            image: args.image,
            imagePullPolicy: args.imagePullPolicy ?? "IfNotPresent",
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
            commonEnv: {
                AIRFLOW__CORE__EXECUTOR: "KubernetesExecutor",
                AIRFLOW__CORE__DAGS_FOLDER: args.dagsFolder,
                AIRFLOW__CORE__LOAD_EXAMPLES: "False",
                // Workers report task state here; a wrong URL fails every task.
                AIRFLOW__CORE__EXECUTION_API_SERVER_URL: pulumi.interpolate`${apiBase}/execution/`,
                AIRFLOW__LOGGING__BASE_LOG_FOLDER: LOGS_MOUNT,
                ...remote,
                ...(args.taskImages ? { AIRFLOW_VAR_TASK_IMAGES: pulumi.output(args.taskImages).apply((m) => JSON.stringify(sortKeys(m))) } : {}),
                ...args.extraEnv,
            },
            controlPlaneEnv: {
                AIRFLOW__CORE__AUTH_MANAGER: AUTH_MANAGERS[args.ui.authManager],
                AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE: args.namespace,
                AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE: POD_TEMPLATE_FILE,
                AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS: pyBool(args.workers.deleteOnSuccess),
                AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS_ON_FAILURE: pyBool(args.workers.deleteOnFailure),
            },
        });

        // --- worker pod template (container `base`, restartPolicy Never), rendered to a ConfigMap ---
        const workerPod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { labels: labels(args.instance, "worker") },
            spec: factory.podSpec({
                component: "worker",
                containerName: "base",
                role: "worker",
                readsDags: true,
                resources: args.workers.resources,
                settings: args.workers,
                serviceAccountName: workerAccount.metadata.name,
                restartPolicy: "Never",
            }),
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

        // --- migrations: a Job whose name changes with the image and version, so upgrades re-run it ---
        const migrationSuffix = pulumi
            .output(args.image)
            .apply((image) => crypto.createHash("sha256").update(`${args.airflowVersion}\n${image}`).digest("hex").slice(0, 10));
        const migrateSpec = factory.podSpec({
            component: "migrate",
            shellScript: ["set -euo pipefail", ...migrationScript(fab)],
            role: "control-plane",
            readsDags: false,
            resources: args.scheduler.resources,
            settings: args.scheduler,
            serviceAccountName: controlPlaneAccount.metadata.name,
            restartPolicy: "Never",
            extraEnv: fab ? adminEnv(args.keysSecretName, args.ui.adminUsername) : [],
        });
        const migration = new k8s.batch.v1.Job(
            `${name}-migrate`,
            {
                metadata: { ...meta(`${name}-migrate`, "migrate"), name: pulumi.interpolate`${name}-migrate-${migrationSuffix}` },
                spec: {
                    backoffLimit: 4,
                    activeDeadlineSeconds: 1800,
                    template: { metadata: { labels: labels(args.instance, "migrate") }, spec: migrateSpec },
                },
            },
            // A new name means a new Job (Job templates are immutable); the old one is deleted after.
            // It waits for whatever the component waits for (the database).
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.migrationJobName = migration.metadata.name;
        const afterMigration = { parent: this, dependsOn: [migration] };

        // --- the long-running processes ---
        const deployment = (
            component: string,
            w: WorkloadSettings,
            spec: k8s.types.input.core.v1.PodSpec,
            extra: pulumi.CustomResourceOptions = {},
            annotations?: Record<string, pulumi.Input<string>>,
        ) =>
            new k8s.apps.v1.Deployment(
                `${name}-${component}`,
                {
                    metadata: meta(`${name}-${component}`, component),
                    spec: {
                        replicas: w.replicas,
                        selector: { matchLabels: selectorLabels(args.instance, component) },
                        template: { metadata: { labels: labels(args.instance, component), annotations }, spec },
                    },
                },
                { ...afterMigration, ...extra, dependsOn: [migration, ...((extra.dependsOn as pulumi.Resource[]) ?? [])] },
            );

        const jobCheck = (jobType: string) => execProbe(["airflow", "jobs", "check", "--job-type", jobType, "--local"], 60, 5, 45);

        deployment(
            "scheduler",
            args.scheduler,
            factory.podSpec({
                component: "scheduler",
                args: ["scheduler"],
                role: "control-plane",
                readsDags: true,
                waitForMigrations: true,
                resources: args.scheduler.resources,
                settings: args.scheduler,
                serviceAccountName: schedulerAccount.metadata.name,
                // The scheduler launches worker pods: it alone gets an API token.
                automountServiceAccountToken: true,
                extraEnv: [
                    { name: "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", value: "True" },
                    { name: "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT", value: String(SCHEDULER_HEALTH_PORT) },
                ],
                ports: [{ name: "health", containerPort: SCHEDULER_HEALTH_PORT }],
                probes: {
                    startupProbe: httpProbe("/health", "health", 10, 30),
                    livenessProbe: httpProbe("/health", "health", 30, 5, 10),
                },
                extraVolumes: [{ name: "pod-template", configMap: { name: podTemplate.metadata.name } }],
                extraMounts: [{ name: "pod-template", mountPath: POD_TEMPLATE_DIR, readOnly: true }],
            }),
            { dependsOn: [executorBinding] },
            // The executor reads the template at start-up: a changed template restarts the scheduler.
            { "airflow.apache.org/pod-template-sha256": this.podTemplateYaml.apply((t) => crypto.createHash("sha256").update(t).digest("hex")) },
        );

        const healthPath = "/api/v2/monitor/health";
        deployment(
            "api-server",
            args.apiServer,
            factory.podSpec({
                component: "api-server",
                args: ["api-server"],
                role: "control-plane",
                readsDags: false,
                waitForMigrations: true,
                resources: args.apiServer.resources,
                settings: args.apiServer,
                serviceAccountName: controlPlaneAccount.metadata.name,
                extraEnv: [
                    { name: "AIRFLOW__API__PORT", value: String(API_PORT) },
                    { name: "AIRFLOW__API__WORKERS", value: String(args.apiServer.workers) },
                ],
                ports: [{ name: "http", containerPort: API_PORT }],
                probes: {
                    startupProbe: httpProbe(healthPath, "http", 10, 30),
                    readinessProbe: httpProbe(healthPath, "http", 10, 3),
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
                waitForMigrations: true,
                resources: args.dagProcessor.resources,
                settings: args.dagProcessor,
                serviceAccountName: controlPlaneAccount.metadata.name,
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
                readsDags: true,
                waitForMigrations: true,
                resources: args.triggerer.resources,
                settings: args.triggerer,
                serviceAccountName: controlPlaneAccount.metadata.name,
                probes: { livenessProbe: jobCheck("TriggererJob") },
            }),
        );

        new k8s.core.v1.Service(
            `${name}-api-server`,
            {
                metadata: meta(apiServiceName, "api-server"),
                spec: {
                    type: args.ui.serviceType,
                    selector: selectorLabels(args.instance, "api-server"),
                    ports: [{ name: "http", port: args.ui.port, targetPort: "http" }],
                },
            },
            parent,
        );

        // Keep one pod of each serving component through voluntary disruptions when there are several.
        for (const [component, w] of [
            ["api-server", args.apiServer],
            ["scheduler", args.scheduler],
        ] as const) {
            if (w.replicas > 1) {
                new k8s.policy.v1.PodDisruptionBudget(
                    `${name}-${component}`,
                    {
                        metadata: meta(`${name}-${component}`, component),
                        spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(args.instance, component) } },
                    },
                    parent,
                );
            }
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

function sortKeys<T>(m: Record<string, T>): Record<string, T> {
    return Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]));
}
