// Standalone Airflow: one StatefulSet, one pod, two containers. Postgres keeps its data on a
// volumeClaimTemplate so a restart loses no progress; Airflow runs migrations, then the API server,
// scheduler (LocalExecutor), dag-processor and triggerer as one supervised group.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import { AIRFLOW_ENV, AUTH_MANAGERS, STANDALONE_AIRFLOW_ENV } from "./airflowSettings";
import { NO_ENV, NO_POD_EXTENSIONS, StackConfig } from "./config";
import { adminEnv, migrationScript, simpleAuthUsers } from "./airflowAdmin";
import { AirflowPodFactory, API_PORT, LOGS_MOUNT, taskImagesEnv } from "./airflowPod";
import { withEphemeralStorage } from "./ephemeralStorage";
import { BACKUP_SCRIPTS_MOUNT, DatabaseBackup } from "./databaseBackup";
import type { DagBundlePodParts } from "./dagBundles";
import { postgresContainer, postgresCredentials, postgresDataClaim, postgresScratchVolumes } from "./metadataDatabase";
import { AIRFLOW_GID, AIRFLOW_UID, awaitedWorkloadService, httpProbe, keyGenerationAnnotation, labels, POSTGRES_UID, READINESS_PROBE_PERIOD, rolloutTimeouts, selectorLabels, singlePodStatefulSetSpec, startupProbe } from "./podParts";

/** The standalone pod's sections of the stack config (of database, only its resources apply). */
export type StandaloneConfig = Pick<StackConfig, "standalone" | "database" | "ui" | "images" | "keys" | "extraEnv" | "secretEnv" | "envFromSecrets" | "rolloutTimeoutMinutes">;

export interface StandaloneAirflowArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    config: StandaloneConfig;
    /** Airflow image (DAGs included, or synced by the git-sync sidecar). */
    image: pulumi.Input<string>;
    /** Secret with Airflow's generated keys (see AirflowKeys). */
    keysSecretName: pulumi.Input<string>;
    dagsFolder: string;
    /** git-sync sidecar and its `dags` volume, when DAGs come from git. */
    dagSync?: { sidecars: k8s.types.input.core.v1.Container[]; volumes: k8s.types.input.core.v1.Volume[] };
    /** Settings of the dag-processor derived from the DAG source, which the config's env knobs may override. */
    dagProcessorDefaults: Record<string, string>;
    /** DAG bundles: the dag-processor and the LocalExecutor's tasks in this pod clone them. */
    dagBundles?: DagBundlePodParts;
    /**
     * Task images by name, published to DAGs like in production so the same DAG files parse here;
     * the LocalExecutor runs every task in this pod's image (pod_override does not apply).
     */
    taskImages?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** database.backup: the snapshot claim in the Postgres container, and the restore at start (see DatabaseBackup). */
    backup?: DatabaseBackup;
}

const COMPONENT_NAME = "standalone";

/** Builds the pod's Airflow parts: the LocalExecutor with Postgres on localhost, every process in one container. */
function podFactory(args: StandaloneAirflowArgs, credentials: { secretName: pulumi.Input<string>; connectionKey: string }): AirflowPodFactory {
    const c = args.config;
    return new AirflowPodFactory({
        image: args.image,
        imagePullPolicy: c.images.pullPolicy,
        imagePullSecrets: c.images.pullSecrets,
        keysSecretName: args.keysSecretName,
        metadataSecretName: credentials.secretName,
        metadataSecretKey: credentials.connectionKey,
        dagsFolder: args.dagsFolder,
        // Task logs survive restarts on their own claim (the StatefulSet's `logs` claim template).
        logsVolumeFromPod: true,
        dagReaderSidecars: args.dagSync?.sidecars,
        dagReaderVolumes: args.dagSync?.volumes,
        dagBundles: args.dagBundles,
        keyGeneration: c.keys.generation,
        commonEnv: {
            [AIRFLOW_ENV.executor]: "LocalExecutor",
            [STANDALONE_AIRFLOW_ENV.parallelism]: String(c.standalone.parallelism),
            [AIRFLOW_ENV.dagsFolder]: args.dagsFolder,
            [AIRFLOW_ENV.loadExamples]: "False",
            [AIRFLOW_ENV.executionApiServerUrl]: `http://127.0.0.1:${API_PORT}/execution/`,
            [AIRFLOW_ENV.baseLogFolder]: LOGS_MOUNT,
            [AIRFLOW_ENV.apiPort]: String(API_PORT),
            ...taskImagesEnv(args.taskImages),
        },
        // the stack-wide env knobs (extraEnv, secretEnv, envFromSecrets)
        sharedEnv: c,
        controlPlaneEnv: { [AIRFLOW_ENV.authManager]: AUTH_MANAGERS[c.ui.authManager] },
    });
}

/** No config section of their own beyond the standalone one: no extra env or extension points, its scratch sizes. */
function podSettings(c: StandaloneConfig) {
    return { ...NO_POD_EXTENSIONS, ...NO_ENV, tmpSize: c.standalone.tmpSize, homeSize: c.standalone.homeSize };
}

/**
 * One pod runs every Airflow job, and the StatefulSet starts it only once the pod before it is gone:
 * the jobs the database still holds as running are that pod's. Ending them before the scheduler starts
 * lets its first orphan check hand their tasks back to be scheduled again, instead of leaving them
 * running until the dead scheduler's heartbeat is 30 s old and the next check, 300 s later (Airflow's
 * scheduler_health_check_threshold and orphaned_tasks_check_interval). Seen on the lab: a task running
 * across an upgrade.
 */
const END_PREVIOUS_POD_JOBS = [
    "python -c '",
    "from sqlalchemy import update",
    "from airflow.jobs.job import Job",
    "from airflow.utils.session import create_session",
    "from airflow.utils.state import JobState",
    "with create_session() as s:",
    "    n = s.execute(update(Job).where(Job.state == JobState.RUNNING).values(state=JobState.FAILED)).rowcount",
    'print(f"{n} Airflow jobs of the previous pod ended")',
    "'",
].join("\n");

/**
 * The Airflow container: waits for Postgres, migrates, then runs every process; if one exits the
 * container exits and Kubernetes restarts it, instead of limping on without a scheduler.
 */
function airflowContainer(args: StandaloneAirflowArgs, factory: AirflowPodFactory): k8s.types.input.core.v1.Container {
    const c = args.config;
    const fab = c.ui.authManager === "fab";
    const script = [
        "set -euo pipefail",
        "for i in $(seq 1 60); do airflow db check >/dev/null 2>&1 && break; sleep 2; done",
        ...migrationScript(fab),
        // keys.generation above 0: the key list is new key first, previous second; re-encrypt what is
        // stored with the new one before anything runs (idempotent, so every start may do it)
        ...(c.keys.generation > 0 ? ["airflow rotate-fernet-key"] : []),
        END_PREVIOUS_POD_JOBS,
        "airflow api-server & airflow scheduler & airflow dag-processor & airflow triggerer &",
        "wait -n",
        'echo "an Airflow process exited; restarting the container" >&2',
        "exit 1",
    ];
    const healthPath = "/api/v2/monitor/health";
    return factory.container({
        component: "airflow",
        shellScript: script,
        role: "control-plane",
        readsDags: true,
        resources: c.standalone.resources,
        settings: podSettings(c),
        // The scheduler and the API server run here: one signs task tokens, the other checks them.
        jwtSecret: true,
        simpleAuthUsers: fab ? undefined : simpleAuthUsers(c.ui.adminUsername),
        defaultEnv: args.dagProcessorDefaults,
        dagBundles: "clone",
        extraEnv: fab ? adminEnv(args.keysSecretName, c.ui.adminUsername) : [],
        ports: [{ name: "http", containerPort: API_PORT }],
        probes: {
            startupProbe: startupProbe(healthPath, "http", 600),
            readinessProbe: httpProbe(healthPath, "http", READINESS_PROBE_PERIOD, 3),
            livenessProbe: httpProbe(healthPath, "http", 20, 5, 10),
        },
    });
}

/** The pod spec: Postgres (its own uid, group 0 to own its data dir) beside Airflow. */
function podSpec(args: StandaloneAirflowArgs, factory: AirflowPodFactory, postgresSecretName: pulumi.Input<string>): k8s.types.input.core.v1.PodSpec {
    const c = args.config;
    const postgres = postgresContainer(c.images.postgres, c.images.pullPolicy, postgresSecretName, c.database.resources);
    const securityContext = { ...(postgres.securityContext as object), runAsUser: POSTGRES_UID, runAsGroup: AIRFLOW_GID };
    const backup = args.backup;
    // With snapshots, the Postgres container holds the claim and the scripts: `kubectl exec` takes a
    // snapshot there, and a restore runs before it starts (restore-on-start.sh), when one is requested.
    const postgresWithUid = {
        ...postgres,
        securityContext,
        ...(backup
            ? { env: [...(postgres.env as k8s.types.input.core.v1.EnvVar[]), ...backup.env()], volumeMounts: [...(postgres.volumeMounts as k8s.types.input.core.v1.VolumeMount[]), ...backup.mounts()] }
            : {}),
    };
    const restoreOnStart = backup
        ? [
              {
                  ...postgresWithUid,
                  name: "db-restore",
                  command: ["sh", `${BACKUP_SCRIPTS_MOUNT}/restore-on-start.sh`],
                  args: undefined,
                  ports: undefined,
                  readinessProbe: undefined,
                  livenessProbe: undefined,
              },
          ]
        : [];
    const spec = factory.podSpec({
        component: COMPONENT_NAME,
        role: "control-plane",
        readsDags: true,
        resources: c.standalone.resources,
        settings: podSettings(c),
        // Only for the init container that installs the passwords file and its Secret volume.
        simpleAuthUsers: c.ui.authManager === "fab" ? undefined : simpleAuthUsers(c.ui.adminUsername),
        // and for the bundles' key volume
        dagBundles: "clone",
    });
    return withEphemeralStorage({
        ...spec,
        securityContext: { ...(spec.securityContext as object), runAsUser: AIRFLOW_UID },
        ...(restoreOnStart.length || spec.initContainers ? { initContainers: [...restoreOnStart, ...((spec.initContainers as k8s.types.input.core.v1.Container[] | undefined) ?? [])] } : {}),
        containers: [postgresWithUid, airflowContainer(args, factory)],
        volumes: [...(spec.volumes as k8s.types.input.core.v1.Volume[]), ...postgresScratchVolumes(), ...(backup ? backup.volumes() : [])],
    });
}

function annotationsOf(a: Record<string, string>): { annotations?: Record<string, string> } {
    return Object.keys(a).length ? { annotations: a } : {};
}

export class StandaloneAirflow extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    readonly uiUrl: pulumi.Output<string>;
    /** Secret holding the (localhost) metadata connection URI. */
    readonly metadataSecretName: pulumi.Output<string>;

    constructor(name: string, args: StandaloneAirflowArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("StandaloneAirflow"), name, {}, withLegacyType("StandaloneAirflow", opts));
        const c = args.config;
        const parent = { parent: this };
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: labels(args.instance, COMPONENT_NAME) });

        // Postgres shares the pod's network namespace: Airflow reaches it on localhost.
        const credentials = postgresCredentials(`${name}-postgres`, args.namespace, args.instance, "127.0.0.1", this);
        this.metadataSecretName = credentials.secretName;
        const factory = podFactory(args, credentials);
        const spec = podSpec(args, factory, credentials.secretName);

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: awaitedWorkloadService(meta(name), c.ui.serviceType),
                spec: { type: c.ui.serviceType, selector: selectorLabels(args.instance, COMPONENT_NAME), ports: [{ name: "http", port: c.ui.port, targetPort: "http" }] },
            },
            parent,
        );
        this.serviceName = service.metadata.name;
        this.uiUrl = pulumi.interpolate`http://${service.metadata.name}.${args.namespace}.svc:${c.ui.port}/`;
        // The StatefulSet's governing Service: headless, so the pod gets its stable DNS name
        // (<pod>.<service>.<namespace>.svc) as a StatefulSet's serviceName requires; clients keep the one above.
        const headless = new k8s.core.v1.Service(
            `${name}-headless`,
            {
                metadata: awaitedWorkloadService(meta(`${name}-headless`)),
                spec: { clusterIP: "None", selector: selectorLabels(args.instance, COMPONENT_NAME), ports: [{ name: "http", port: API_PORT, targetPort: "http" }] },
            },
            parent,
        );
        new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata: meta(name),
                spec: singlePodStatefulSetSpec(
                    args.instance,
                    COMPONENT_NAME,
                    headless.metadata.name,
                    spec,
                    [
                        postgresDataClaim(args.instance, c.standalone.storageSize, c.standalone.storageClassName),
                        postgresDataClaim(args.instance, c.standalone.storageSize, c.standalone.storageClassName, "logs"),
                    ],
                    // a key rotation restarts the pod (env from a Secret is read at start)
                    { labels: labels(args.instance, COMPONENT_NAME), ...annotationsOf(keyGenerationAnnotation(c.keys.generation)) },
                ),
            },
            { ...parent, customTimeouts: rolloutTimeouts(c.rolloutTimeoutMinutes) },
        );
        this.registerOutputs({ serviceName: this.serviceName, uiUrl: this.uiUrl });
    }
}
