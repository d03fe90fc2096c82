// Standalone Airflow: one StatefulSet, one pod, two containers. Postgres keeps its data on a
// volumeClaimTemplate so a restart loses no progress; Airflow runs migrations, then the API server,
// scheduler (LocalExecutor), dag-processor and triggerer as one supervised group.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ResourceSettings, StackConfig } from "./config";
import { adminEnv, AirflowPodFactory, API_PORT, LOGS_MOUNT, migrationScript } from "./airflowPod";
import { AUTH_MANAGERS } from "./airflow";
import { postgresContainer, postgresCredentials, postgresDataClaim, postgresScratchVolumes } from "./metadataDatabase";
import { AIRFLOW_GID, AIRFLOW_UID, httpProbe, labels, POSTGRES_UID, selectorLabels, singlePodStatefulSetSpec } from "./podParts";

export interface StandaloneAirflowArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    /** Airflow image (DAGs included, or on the DAG claim). */
    image: pulumi.Input<string>;
    postgresImage: pulumi.Input<string>;
    imagePullPolicy: string;
    /** Secret with Airflow's generated keys (see AirflowKeys). */
    keysSecretName: pulumi.Input<string>;
    dagsFolder: string;
    /** Optional claim with DAGs (e.g. written by git-sync); otherwise DAGs come from the image. */
    dagsClaimName?: pulumi.Input<string>;
    dagsSubPath?: string;
    /** Size and class of the Postgres data claim. */
    storageSize: string;
    storageClassName?: string;
    /** LocalExecutor parallelism. */
    parallelism: number;
    airflowResources: ResourceSettings;
    postgresResources: ResourceSettings;
    ui: StackConfig["ui"];
    extraEnv: Record<string, string>;
    /** git-sync sidecar and its `dags` volume, when DAGs come from git. */
    dagReaderSidecars?: k8s.types.input.core.v1.Container[];
    dagReaderVolumes?: k8s.types.input.core.v1.Volume[];
}

export class StandaloneAirflow extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    readonly uiUrl: pulumi.Output<string>;
    /** Secret holding the (localhost) metadata connection URI. */
    readonly metadataSecretName: pulumi.Output<string>;

    constructor(name: string, args: StandaloneAirflowArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:index:StandaloneAirflow", name, {}, opts);
        const parent = { parent: this };
        const component = "standalone";
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: labels(args.instance, component) });

        // Postgres shares the pod's network namespace: Airflow reaches it on localhost.
        const credentials = postgresCredentials(`${name}-postgres`, args.namespace, args.instance, "127.0.0.1", this);
        this.metadataSecretName = credentials.secretName;

        const fab = args.ui.authManager === "fab";
        const factory = new AirflowPodFactory({
            image: args.image,
            imagePullPolicy: args.imagePullPolicy,
            keysSecretName: args.keysSecretName,
            metadataSecretName: credentials.secretName,
            metadataSecretKey: credentials.connectionKey,
            dagsFolder: args.dagsFolder,
            dagsClaimName: args.dagsClaimName,
            dagsSubPath: args.dagsSubPath,
            dagReaderSidecars: args.dagReaderSidecars,
            dagReaderVolumes: args.dagReaderVolumes,
            commonEnv: {
                AIRFLOW__CORE__EXECUTOR: "LocalExecutor",
                AIRFLOW__CORE__PARALLELISM: String(args.parallelism),
                AIRFLOW__CORE__DAGS_FOLDER: args.dagsFolder,
                AIRFLOW__CORE__LOAD_EXAMPLES: "False",
                AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `http://127.0.0.1:${API_PORT}/execution/`,
                AIRFLOW__LOGGING__BASE_LOG_FOLDER: LOGS_MOUNT,
                AIRFLOW__API__PORT: String(API_PORT),
                ...args.extraEnv,
            },
            controlPlaneEnv: { AIRFLOW__CORE__AUTH_MANAGER: AUTH_MANAGERS[args.ui.authManager] },
        });

        // Wait for Postgres, migrate, then run every process; if one exits the container exits and
        // Kubernetes restarts it, instead of limping on without a scheduler.
        const script = [
            "set -euo pipefail",
            "for i in $(seq 1 60); do airflow db check >/dev/null 2>&1 && break; sleep 2; done",
            ...migrationScript(fab),
            "airflow api-server & airflow scheduler & airflow dag-processor & airflow triggerer &",
            "wait -n",
            'echo "an Airflow process exited; restarting the container" >&2',
            "exit 1",
        ];
        const healthPath = "/api/v2/monitor/health";
        const airflowContainer = factory.container({
                component: "airflow",
                shellScript: script,
                role: "control-plane",
                readsDags: true,
                resources: args.airflowResources,
                settings: { nodeSelector: {}, tolerations: [], extraEnv: {} },
                extraEnv: fab ? adminEnv(args.keysSecretName, args.ui.adminUsername) : [],
                // Task logs survive restarts on their own claim.
                extraMounts: [{ name: "logs", mountPath: LOGS_MOUNT }],
                ports: [{ name: "http", containerPort: API_PORT }],
                probes: {
                    startupProbe: httpProbe(healthPath, "http", 10, 60),
                    readinessProbe: httpProbe(healthPath, "http", 10, 3),
                    livenessProbe: httpProbe(healthPath, "http", 20, 5, 10),
                },
            });
        const postgres = postgresContainer(args.postgresImage, args.imagePullPolicy, credentials.secretName, args.postgresResources);
        // Postgres keeps its own uid; group 0 matches the pod's fsGroup so it can own its data dir.
        const postgresWithUid = { ...postgres, securityContext: { ...(postgres.securityContext as object), runAsUser: POSTGRES_UID, runAsGroup: AIRFLOW_GID } };

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: meta(name),
                spec: {
                    type: args.ui.serviceType,
                    selector: selectorLabels(args.instance, component),
                    ports: [{ name: "http", port: args.ui.port, targetPort: "http" }],
                },
            },
            parent,
        );
        this.serviceName = service.metadata.name;
        this.uiUrl = pulumi.interpolate`http://${service.metadata.name}.${args.namespace}.svc:${args.ui.port}/`;

        const podSpec = factory.podSpec({
            component,
            role: "control-plane",
            readsDags: true,
            resources: args.airflowResources,
            settings: { nodeSelector: {}, tolerations: [], extraEnv: {} },
        });
        new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata: meta(name),
                spec: singlePodStatefulSetSpec(
                    args.instance,
                    component,
                    service.metadata.name,
                    {
                        ...podSpec,
                        securityContext: { ...(podSpec.securityContext as object), runAsUser: AIRFLOW_UID },
                        containers: [postgresWithUid, airflowContainer],
                        volumes: [...(podSpec.volumes as k8s.types.input.core.v1.Volume[]), ...postgresScratchVolumes()],
                    },
                    [
                        postgresDataClaim(args.instance, args.storageSize, args.storageClassName),
                        postgresDataClaim(args.instance, args.storageSize, args.storageClassName, "logs"),
                    ],
                ),
            },
            parent,
        );

        this.registerOutputs({ serviceName: this.serviceName, uiUrl: this.uiUrl });
    }
}
