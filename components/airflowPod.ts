// The Airflow pod, built once: every Airflow process (scheduler, API server, dag-processor,
// triggerer, migration Job, KubernetesExecutor worker) runs the same image with the same env,
// mounts and security context. Only the command, probes, resources and extra env differ.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AIRFLOW_ENV, jwtKid } from "./airflowSettings";
import { EnvSettings, PlacementSettings, ResourceSettings, ScratchSettings } from "./config";
import { FIXED_SCRATCH_SIZES } from "./ephemeralStorage";
import type { DagBundlePodParts } from "./dagBundles";
import {
    AIRFLOW_GID,
    AIRFLOW_UID,
    emptyDir,
    envFromSecrets,
    imagePullSecrets,
    mergeEnv,
    placement,
    plainEnv,
    podSecurityContext,
    restrictedContainer,
    secretEnv,
    secretKeyEnv,
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
/** Where the DAG image puts DAG files. */
export const IMAGE_DAGS_FOLDER = "/opt/dags";
const IMAGE_DAGS_VOLUME = "image-dags";
const IMAGE_DAGS_COPY = "/image-dags";

// The sandbox. The root filesystem is read-only; only these paths are writable (emptyDirs):
// - /tmp;
// - HOME. The image's HOME (/home/airflow) holds the installed Python packages (/home/airflow/.local,
//   on PATH), so it is not covered by a volume: HOME points to a writable directory beside it instead
//   and PYTHONUSERBASE keeps the packages found in images that install them with `pip --user`;
// - LOGS_MOUNT: the log claim, or an emptyDir when logs only go to a bucket (Airflow writes a task's
//   log locally before it uploads it, and the dag-processor writes its own logs there).
// AIRFLOW_HOME itself stays as the image made it (a team's plugins or webserver_config.py there are
// read). What Airflow 3.3.2 writes at start-up was checked with the image run read-only: the CLI
// writes airflow.cfg (defaults only) into AIRFLOW_HOME when the file is missing, so AIRFLOW_CONFIG
// points into HOME (settings come from env; an image that ships its own airflow.cfg can set
// AIRFLOW_CONFIG back to it in extraEnv); the FAB provider only reads webserver_config.py; the simple
// auth manager's passwords file is given a path in HOME below.
/** The writable HOME of every Airflow container. */
export const SANDBOX_HOME = "/home/airflow/sandbox";
/** Where Airflow writes the airflow.cfg it generates when none exists. */
export const AIRFLOW_CONFIG_FILE = `${SANDBOX_HOME}/airflow.cfg`;
/** The image's Python user base (packages installed with `pip install --user`). */
export const IMAGE_PYTHON_USER_BASE = "/home/airflow/.local";
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
    /** The simple auth manager's passwords file: {"<admin user>": "<admin password>"}. */
    simpleAuthPasswords: "simple-auth-passwords.json",
    /** keys.generation above 0: the JWT signing key (Ed25519, PEM) and the JWKS of this and the previous generation. */
    jwtPrivateKey: "jwt-private-key.pem",
    jwtJwks: "jwt-jwks.json",
} as const;

/** Where the scheduler and API server read the JWT signing key and the JWKS (keys.generation above 0). */
export const JWT_KEYS_DIR = "/etc/airflow/jwt";

/**
 * Where the simple auth manager reads passwords. Airflow opens the file read-write (it adds missing
 * users), so it cannot be the read-only Secret volume: an init container copies the Secret's file
 * into the pod's writable HOME. Every replica gets the same content, so every replica accepts
 * the same password, and the file holds every configured user, so Airflow never generates (and
 * prints) one of its own.
 */
export const SIMPLE_AUTH_PASSWORDS_FILE = `${SANDBOX_HOME}/simple_auth_manager_passwords.json`;
const SIMPLE_AUTH_SECRET_DIR = "/etc/airflow/simple-auth";
const JWT_KEYS_VOLUME = "jwt-keys";

/** Env of every Airflow container for the sandbox and the image's entrypoint. */
const sandboxEnv: Record<string, string> = {
    HOME: SANDBOX_HOME,
    AIRFLOW_CONFIG: AIRFLOW_CONFIG_FILE,
    PYTHONUSERBASE: IMAGE_PYTHON_USER_BASE,
    // The official image's entrypoint otherwise runs `airflow db check` (up to 20 tries) before every
    // command: workers have no database to check, and the control plane's Deployments are created only
    // after the migration Job has finished (they depend on it).
    CONNECTION_CHECK_MAX_COUNT: "0",
};

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
    /** Claim of the log volume; undefined with remote logging only (logs then go to an emptyDir first). */
    logsClaimName?: pulumi.Input<string>;
    logsSubPath?: string;
    /** The pod brings its own `logs` volume (a StatefulSet's volumeClaimTemplate): mount it, define none. */
    logsVolumeFromPod?: boolean;
    /** Env for every Airflow container, workers included (non-secret). */
    commonEnv: Record<string, pulumi.Input<string>>;
    /** The stack-wide env knobs (config extraEnv, secretEnv, envFromSecrets), for every Airflow container. */
    sharedEnv: EnvSettings;
    /** Registry credentials for every pod. */
    imagePullSecrets?: string[];
    /** Env for the control plane only (scheduler, API server, dag-processor, triggerer, migrations). */
    controlPlaneEnv: Record<string, pulumi.Input<string>>;
    /** Extra containers (e.g. a git-sync sidecar) and volumes for pods that read DAGs. */
    dagReaderSidecars?: Container[];
    dagReaderVolumes?: Volume[];
    /** What replaces dagReaderSidecars in pods that read the DAGs only at start (the one-time git-sync of workers). */
    dagReaderOnce?: Container[];
    /** DAG bundles (config dagBundles): the list for processes that name them, connections and keys for those that clone them. */
    dagBundles?: DagBundlePodParts;
    /** keys.generation: above 0, the processes that sign and check JWTs use the signing key and JWKS of the keys Secret. */
    keyGeneration?: number;
}

export interface AirflowPodOptions {
    component: string;
    /** Another image than the factory's (the migration Job runs the base image). */
    image?: pulumi.Input<string>;
    /** Arguments to `airflow` (the image's entrypoint runs it); omitted for workers, whose args the executor supplies. */
    args?: string[];
    /** Run these shell lines with bash instead of an `airflow` subcommand. */
    shellScript?: string[];
    resources: ResourceSettings;
    settings: PlacementSettings;
    /** The control plane gets database and key secrets; workers get only what the execution API needs. */
    role: "control-plane" | "worker";
    readsDags: boolean;
    /** The DAGs need not change once the process started (a worker runs one task): dagReaderOnce, not the sidecars. */
    dagsAtStartOnly?: boolean;
    /** `names`: the bundle list only (scheduler, API server, triggerer). `clone`: also what cloning takes (dag-processor, workers). */
    dagBundles?: "names" | "clone";
    /**
     * Copy the DAG image's DAG folder into the pod before the process starts (workers, when DAGs
     * come in the image and a task may run in a task image that has no DAG files of its own).
     */
    copyImageDags?: boolean;
    ports?: k8s.types.input.core.v1.ContainerPort[];
    probes?: Pick<Container, "livenessProbe" | "readinessProbe" | "startupProbe">;
    extraVolumes?: Volume[];
    extraMounts?: VolumeMount[];
    containerName?: string;
    /**
     * Logs on an emptyDir even when there is a log claim: for a pod whose output is its pod log (the
     * migration Job), so it does not wait for the shared volume to be prepared.
     */
    logsOnEmptyDir?: boolean;
    extraEnv?: EnvVar[];
    /** Settings the package derives for this process that the config's extraEnv and secretEnv may override (DERIVED_AIRFLOW_ENV). */
    defaultEnv?: Record<string, string>;
    /**
     * Give the process `[api_auth] jwt_secret`: the scheduler signs task tokens with it and the API
     * server checks them (and signs UI and REST API tokens). Workers only carry the token the
     * scheduler hands them; the dag-processor and triggerer use an in-process execution API.
     */
    jwtSecret?: boolean;
    /** Simple auth manager users (`<name>:<role>,...`); their passwords come from the keys Secret. */
    simpleAuthUsers?: string;
}

export class AirflowPodFactory {
    constructor(private readonly s: AirflowPodSettings) {}

    /** Env vars: common and stack-wide, then control-plane secrets and settings, then the component's own. */
    env(o: AirflowPodOptions): EnvVar[] {
        const s = this.s;
        // Defaults come before every env knob of the config, which may override them.
        const common = [...plainEnv({ ...sandboxEnv, ...s.commonEnv }), ...plainEnv(o.defaultEnv ?? {}), ...plainEnv(s.sharedEnv.extraEnv), ...secretKeyEnv(s.sharedEnv.secretEnv)];
        const jwks = o.jwtSecret && (s.keyGeneration ?? 0) > 0;
        const jwt = [
            ...(o.jwtSecret ? [secretEnv(AIRFLOW_ENV.jwtSecret, s.keysSecretName, SECRET_KEYS.jwtSecret)] : []),
            ...(jwks
                ? plainEnv({
                      [AIRFLOW_ENV.jwtPrivateKeyPath]: `${JWT_KEYS_DIR}/private.pem`,
                      [AIRFLOW_ENV.trustedJwksUrl]: `${JWT_KEYS_DIR}/jwks.json`,
                      [AIRFLOW_ENV.jwtKid]: jwtKid(s.keyGeneration ?? 0),
                  })
                : []),
        ];
        const controlPlane =
            o.role === "control-plane"
                ? [
                      ...plainEnv(s.controlPlaneEnv),
                      secretEnv(AIRFLOW_ENV.sqlAlchemyConn, s.metadataSecretName, s.metadataSecretKey),
                      secretEnv(AIRFLOW_ENV.fernetKey, s.keysSecretName, SECRET_KEYS.fernetKey),
                      secretEnv(AIRFLOW_ENV.apiSecretKey, s.keysSecretName, SECRET_KEYS.apiSecretKey),
                  ]
                : [];
        const simpleAuth = o.simpleAuthUsers
            ? plainEnv({ [AIRFLOW_ENV.simpleAuthManagerUsers]: o.simpleAuthUsers, [AIRFLOW_ENV.simpleAuthManagerPasswordsFile]: SIMPLE_AUTH_PASSWORDS_FILE })
            : [];
        const bundles = this.bundleParts(o);
        const bundleEnv = bundles ? [...bundles.configEnv, ...(o.dagBundles === "clone" ? bundles.cloneEnv : [])] : [];
        const component = [...plainEnv(o.settings.extraEnv), ...secretKeyEnv(o.settings.secretEnv)];
        return mergeEnv(common, jwt, controlPlane, simpleAuth, bundleEnv, component, o.extraEnv ?? []);
    }

    /** The bundle parts a process gets, if it takes any. */
    private bundleParts(o: AirflowPodOptions): DagBundlePodParts | undefined {
        return o.dagBundles ? this.s.dagBundles : undefined;
    }

    /** The pod's volumes: the sandbox (sized by the component's settings), DAGs and logs. */
    volumes(readsDags: boolean, scratch: ScratchSettings, logsOnEmptyDir = false): Volume[] {
        const s = this.s;
        return [
            emptyDir("tmp", scratch.tmpSize),
            emptyDir("home", scratch.homeSize),
            ...(readsDags && s.dagsClaimName !== undefined
                ? [{ name: "dags", persistentVolumeClaim: { claimName: s.dagsClaimName, readOnly: true } }]
                : []),
            ...(s.logsVolumeFromPod ? [] : [s.logsClaimName !== undefined && !logsOnEmptyDir ? { name: "logs", persistentVolumeClaim: { claimName: s.logsClaimName } } : emptyDir("logs", scratch.tmpSize)]),
            ...(readsDags ? s.dagReaderVolumes ?? [] : []),
        ];
    }

    /** The only writable paths of an Airflow container, plus the DAGs (read-only). */
    mounts(readsDags: boolean, logsOnEmptyDir = false): VolumeMount[] {
        const s = this.s;
        return [
            { name: "tmp", mountPath: "/tmp" },
            { name: "home", mountPath: SANDBOX_HOME },
            ...(readsDags && s.dagsClaimName !== undefined
                ? [{ name: "dags", mountPath: DAGS_MOUNT, readOnly: true, ...(s.dagsSubPath ? { subPath: s.dagsSubPath } : {}) }]
                : []),
            { name: "logs", mountPath: LOGS_MOUNT, ...(s.logsClaimName !== undefined && s.logsSubPath && !logsOnEmptyDir ? { subPath: s.logsSubPath } : {}) },
            ...(readsDags && s.dagReaderSidecars?.length ? [{ name: "dags", mountPath: DAGS_MOUNT, readOnly: true }] : []),
        ];
    }

    container(o: AirflowPodOptions): Container {
        return restrictedContainer(
            {
                name: o.containerName ?? o.component,
                image: o.image ?? this.s.image,
                imagePullPolicy: this.s.imagePullPolicy,
                // Only `args`: the image's entrypoint stays PID 1's parent (tini/dumb-init forward signals
                // and reap zombies) and runs `airflow <args>` for an Airflow subcommand, or the command
                // itself for `bash ...`/`python ...` (what the KubernetesExecutor gives workers).
                ...(o.args ? { args: o.args } : {}),
                ...(o.shellScript ? { args: ["bash", "-c", o.shellScript.join("\n")] } : {}),
                env: this.env(o),
                envFrom: envFromSecrets([...this.s.sharedEnv.envFromSecrets, ...o.settings.envFromSecrets]),
                ports: o.ports,
                volumeMounts: [
                    ...this.mounts(o.readsDags, o.logsOnEmptyDir),
                    ...(o.dagBundles === "clone" ? this.bundleParts(o)?.cloneMounts ?? [] : []),
                    ...(this.signsJwts(o) ? [{ name: JWT_KEYS_VOLUME, mountPath: JWT_KEYS_DIR, readOnly: true }] : []),
                    ...(o.extraMounts ?? []),
                ],
                ...o.probes,
            },
            o.resources,
        );
    }

    /** Whether the process signs and checks JWTs with the keys Secret's signing key and JWKS. */
    private signsJwts(o: AirflowPodOptions): boolean {
        return o.jwtSecret === true && (this.s.keyGeneration ?? 0) > 0;
    }

    /** A complete pod spec for an Airflow process. */
    podSpec(o: AirflowPodOptions & Pick<PodSpec, "serviceAccountName" | "automountServiceAccountToken" | "restartPolicy" | "terminationGracePeriodSeconds">): PodSpec {
        const main = this.container(o);
        // One-shot steps before the process: same image, identity, mounts and limits, no probes or ports.
        const step = (name: string, c: Pick<Container, "command" | "args" | "env" | "envFrom" | "volumeMounts">): Container => ({
            ...main,
            name,
            ports: undefined,
            livenessProbe: undefined,
            readinessProbe: undefined,
            startupProbe: undefined,
            ...c,
        });
        const simpleAuthVolume = "simple-auth-passwords";
        const initContainers = [
            ...(o.simpleAuthUsers
                ? [
                      step("simple-auth-passwords", {
                          command: ["install", "-m", "0600", `${SIMPLE_AUTH_SECRET_DIR}/passwords.json`, SIMPLE_AUTH_PASSWORDS_FILE],
                          args: undefined,
                          env: undefined,
                          envFrom: undefined,
                          volumeMounts: [...(main.volumeMounts as VolumeMount[]), { name: simpleAuthVolume, mountPath: SIMPLE_AUTH_SECRET_DIR, readOnly: true }],
                      }),
                  ]
                : []),
            // The KubernetesExecutor parses the task's DAG file in the worker; a pod_override image
            // (a task image) lacks it, so the DAG image hands its folder over in a shared emptyDir.
            ...(o.copyImageDags
                ? [step("dags", { args: ["bash", "-c", `cp -R ${IMAGE_DAGS_FOLDER}/. ${IMAGE_DAGS_COPY}/`], env: undefined, envFrom: undefined, volumeMounts: [{ name: IMAGE_DAGS_VOLUME, mountPath: IMAGE_DAGS_COPY }] })]
                : []),
        ];
        const simpleAuthVolumes: Volume[] = o.simpleAuthUsers
            ? [
                  {
                      name: simpleAuthVolume,
                      secret: { secretName: this.s.keysSecretName, defaultMode: 0o440, items: [{ key: SECRET_KEYS.simpleAuthPasswords, path: "passwords.json" }] },
                  },
              ]
            : [];
        const dagSync = o.readsDags ? (o.dagsAtStartOnly ? this.s.dagReaderOnce : this.s.dagReaderSidecars) ?? [] : [];
        const initAndSidecars = [...dagSync, ...initContainers];
        const imageDags = o.copyImageDags
            ? { volumes: [emptyDir(IMAGE_DAGS_VOLUME, FIXED_SCRATCH_SIZES.imageDags)], mounts: [{ name: IMAGE_DAGS_VOLUME, mountPath: IMAGE_DAGS_FOLDER, readOnly: true }] }
            : { volumes: [], mounts: [] };
        main.volumeMounts = [...(main.volumeMounts as VolumeMount[]), ...imageDags.mounts];
        return {
            serviceAccountName: o.serviceAccountName,
            automountServiceAccountToken: o.automountServiceAccountToken ?? false,
            restartPolicy: o.restartPolicy,
            terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
            securityContext: podSecurityContext(AIRFLOW_UID, AIRFLOW_GID),
            ...imagePullSecrets(this.s.imagePullSecrets),
            ...placement(o.settings),
            // git-sync sidecars are native sidecars (init containers that keep running); workers run
            // git-sync once instead (see gitSyncSidecar), so a worker pod completes cleanly when its task ends.
            initContainers: initAndSidecars.length ? initAndSidecars : undefined,
            containers: [main],
            volumes: [
                ...this.volumes(o.readsDags, o.settings, o.logsOnEmptyDir),
                ...(o.dagBundles === "clone" ? this.bundleParts(o)?.cloneVolumes ?? [] : []),
                ...(o.extraVolumes ?? []),
                ...simpleAuthVolumes,
                ...(this.signsJwts(o)
                    ? [
                          {
                              name: JWT_KEYS_VOLUME,
                              secret: {
                                  secretName: this.s.keysSecretName,
                                  defaultMode: 0o440,
                                  items: [
                                      { key: SECRET_KEYS.jwtPrivateKey, path: "private.pem" },
                                      { key: SECRET_KEYS.jwtJwks, path: "jwks.json" },
                                  ],
                              },
                          },
                      ]
                    : []),
                ...imageDags.volumes,
            ],
        };
    }
}

/**
 * The standalone pod's task images, as the Airflow Variable `task_images` in its env (JSON, keys sorted
 * so previews stay quiet). The control plane sets the Variable in the database instead (taskImagesVariable.ts).
 */
export function taskImagesEnv(taskImages?: pulumi.Input<Record<string, pulumi.Input<string>>>): Record<string, pulumi.Input<string>> {
    if (taskImages === undefined) return {};
    const sorted = (m: Record<string, string>) => Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]));
    return { AIRFLOW_VAR_TASK_IMAGES: pulumi.output(taskImages).apply((m) => JSON.stringify(sorted(m))) };
}
