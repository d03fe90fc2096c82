// The Airflow pod, built once: every Airflow process (scheduler, API server, dag-processor,
// triggerer, migration Job, KubernetesExecutor worker) runs the same image with the same env,
// mounts and security context. Only the command, probes, resources and extra env differ.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PlacementSettings, ResourceSettings } from "./config";
import {
    AIRFLOW_GID,
    AIRFLOW_UID,
    emptyDir,
    mergeEnv,
    placement,
    plainEnv,
    podSecurityContext,
    restrictedContainer,
    secretEnv,
} from "./podParts";

type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type PodSpec = k8s.types.input.core.v1.PodSpec;

export const AIRFLOW_HOME = "/opt/airflow";
/** Shared DAG volume mount; git-sync publishes the checkout as the `repo` link inside it. */
export const DAGS_MOUNT = "/opt/airflow/dags";
export const LOGS_MOUNT = "/opt/airflow/logs";
/** Where the DAG image puts DAG files (outside AIRFLOW_HOME, which is a writable emptyDir). */
export const IMAGE_DAGS_FOLDER = "/opt/dags";
export const POD_TEMPLATE_DIR = "/opt/airflow/pod_templates";
export const POD_TEMPLATE_FILE = `${POD_TEMPLATE_DIR}/pod_template.yaml`;
export const API_PORT = 8080;
export const SCHEDULER_HEALTH_PORT = 8974;

/** Keys of the generated Secret that holds Airflow's own keys. */
export const SECRET_KEYS = {
    fernetKey: "fernet-key",
    jwtSecret: "jwt-secret",
    apiSecretKey: "api-secret-key",
    adminPassword: "admin-password",
} as const;

export interface AirflowPodSettings {
    image: pulumi.Input<string>;
    imagePullPolicy: string;
    /** Secret holding Airflow's generated keys (SECRET_KEYS). */
    keysSecretName: pulumi.Input<string>;
    /** Secret + key holding the SQLAlchemy URI of the metadata database. */
    metadataSecretName: pulumi.Input<string>;
    metadataSecretKey: string;
    /** DAG folder as the Airflow processes see it. */
    dagsFolder: string;
    /** Claim of the DAG volume; undefined when DAGs are baked into the image or synced by a sidecar. */
    dagsClaimName?: pulumi.Input<string>;
    dagsSubPath?: string;
    /** Claim of the log volume; undefined with remote logging only. */
    logsClaimName?: pulumi.Input<string>;
    logsSubPath?: string;
    /** Env for every Airflow container, workers included (non-secret). */
    commonEnv: Record<string, pulumi.Input<string>>;
    /** Env for the control plane only (scheduler, API server, dag-processor, triggerer, migrations). */
    controlPlaneEnv: Record<string, pulumi.Input<string>>;
    /** Extra containers (e.g. a git-sync sidecar) and volumes for pods that read DAGs. */
    dagReaderSidecars?: Container[];
    dagReaderVolumes?: Volume[];
}

export interface AirflowPodOptions {
    component: string;
    /** Arguments to `airflow`; omitted for workers, whose command the executor supplies. */
    args?: string[];
    /** Run these shell lines with bash instead of an `airflow` subcommand. */
    shellScript?: string[];
    resources: ResourceSettings;
    settings: PlacementSettings;
    /** The control plane gets database and key secrets; workers get only what the execution API needs. */
    role: "control-plane" | "worker";
    readsDags: boolean;
    ports?: k8s.types.input.core.v1.ContainerPort[];
    probes?: Pick<Container, "livenessProbe" | "readinessProbe" | "startupProbe">;
    extraVolumes?: Volume[];
    extraMounts?: VolumeMount[];
    containerName?: string;
    /** Wait in an init container until migrations are applied. */
    waitForMigrations?: boolean;
    extraEnv?: EnvVar[];
}

export class AirflowPodFactory {
    constructor(private readonly s: AirflowPodSettings) {}

    /** Env vars: common, then control-plane secrets and settings, then the component's own. */
    env(role: AirflowPodOptions["role"], componentEnv: Record<string, pulumi.Input<string>>, extra: EnvVar[] = []): EnvVar[] {
        const s = this.s;
        const common = [
            ...plainEnv(s.commonEnv),
            // Workers present scheduler-issued tokens to the execution API; both sides share this secret.
            secretEnv("AIRFLOW__API_AUTH__JWT_SECRET", s.keysSecretName, SECRET_KEYS.jwtSecret),
        ];
        const controlPlane =
            role === "control-plane"
                ? [
                      ...plainEnv(s.controlPlaneEnv),
                      secretEnv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", s.metadataSecretName, s.metadataSecretKey),
                      secretEnv("AIRFLOW__CORE__FERNET_KEY", s.keysSecretName, SECRET_KEYS.fernetKey),
                      secretEnv("AIRFLOW__API__SECRET_KEY", s.keysSecretName, SECRET_KEYS.apiSecretKey),
                  ]
                : [];
        return mergeEnv(common, controlPlane, plainEnv(componentEnv), extra);
    }

    volumes(readsDags: boolean): Volume[] {
        const s = this.s;
        return [
            emptyDir("airflow-home"),
            emptyDir("tmp"),
            ...(readsDags && s.dagsClaimName !== undefined
                ? [{ name: "dags", persistentVolumeClaim: { claimName: s.dagsClaimName, readOnly: true } }]
                : []),
            ...(s.logsClaimName !== undefined ? [{ name: "logs", persistentVolumeClaim: { claimName: s.logsClaimName } }] : []),
            ...(readsDags ? s.dagReaderVolumes ?? [] : []),
        ];
    }

    mounts(readsDags: boolean): VolumeMount[] {
        const s = this.s;
        return [
            { name: "airflow-home", mountPath: AIRFLOW_HOME },
            { name: "tmp", mountPath: "/tmp" },
            ...(readsDags && s.dagsClaimName !== undefined
                ? [{ name: "dags", mountPath: DAGS_MOUNT, readOnly: true, ...(s.dagsSubPath ? { subPath: s.dagsSubPath } : {}) }]
                : []),
            ...(s.logsClaimName !== undefined
                ? [{ name: "logs", mountPath: LOGS_MOUNT, ...(s.logsSubPath ? { subPath: s.logsSubPath } : {}) }]
                : []),
            ...(readsDags && s.dagReaderSidecars?.length ? [{ name: "dags", mountPath: DAGS_MOUNT, readOnly: true }] : []),
        ];
    }

    container(o: AirflowPodOptions): Container {
        return restrictedContainer(
            {
                name: o.containerName ?? o.component,
                image: this.s.image,
                imagePullPolicy: this.s.imagePullPolicy,
                ...(o.args ? { command: ["airflow"], args: o.args } : {}),
                ...(o.shellScript ? { command: ["bash", "-c"], args: [o.shellScript.join("\n")] } : {}),
                env: this.env(o.role, o.settings.extraEnv, o.extraEnv),
                ports: o.ports,
                volumeMounts: [...this.mounts(o.readsDags), ...(o.extraMounts ?? [])],
                ...o.probes,
            },
            o.resources,
        );
    }

    /** A complete pod spec for an Airflow process. */
    podSpec(o: AirflowPodOptions & Pick<PodSpec, "serviceAccountName" | "automountServiceAccountToken" | "restartPolicy">): PodSpec {
        const main = this.container(o);
        const initContainers = o.waitForMigrations
            ? [
                  {
                      ...main,
                      name: "wait-for-migrations",
                      command: ["airflow"],
                      args: ["db", "check-migrations", "--migration-wait-timeout=600"],
                      ports: undefined,
                      livenessProbe: undefined,
                      readinessProbe: undefined,
                      startupProbe: undefined,
                  },
              ]
            : undefined;
        const initAndSidecars = [...(o.readsDags ? this.s.dagReaderSidecars ?? [] : []), ...(initContainers ?? [])];
        return {
            serviceAccountName: o.serviceAccountName,
            automountServiceAccountToken: o.automountServiceAccountToken ?? false,
            restartPolicy: o.restartPolicy,
            securityContext: podSecurityContext(AIRFLOW_UID, AIRFLOW_GID),
            ...placement(o.settings),
            // git-sync sidecars are native sidecars (init containers that keep running), so a worker pod
            // still completes when its task ends.
            initContainers: initAndSidecars.length ? initAndSidecars : undefined,
            containers: [main],
            volumes: [...this.volumes(o.readsDags), ...(o.extraVolumes ?? [])],
        };
    }
}

/** Shell lines that migrate the database and (FAB) create the admin user; safe to run on every start. */
export function migrationScript(createAdmin: boolean): string[] {
    return [
        "airflow db migrate",
        ...(createAdmin
            ? [
                  // Idempotent: FAB reports an existing user and exits 0.
                  'airflow users create --role Admin --username "$ADMIN_USERNAME" --password "$ADMIN_PASSWORD" --firstname Airflow --lastname Admin --email "$ADMIN_USERNAME@example.invalid"',
              ]
            : []),
    ];
}

/** Env the admin-creation step reads; the password comes from the keys Secret. */
export function adminEnv(keysSecretName: pulumi.Input<string>, username: string): EnvVar[] {
    return [{ name: "ADMIN_USERNAME", value: username }, secretEnv("ADMIN_PASSWORD", keysSecretName, SECRET_KEYS.adminPassword)];
}
