// Stack configuration: one zod schema, read once, validated before any resource exists.
//
// Every key lives in the project's config namespace (`airflow:<key>` in Pulumi.<stack>.yaml).
// Unknown keys are errors too: a typo such as `schedulr` must not silently fall back to a default.
import { z } from "zod";
import { foreignNamespaceProblems, ignoredSettingProblems, imageVersionMismatches } from "./configChecks";
import { ephemeralStorageProblems } from "./ephemeralStorage";
import { BUNDLE_AIRFLOW_ENV, dagBundleConnection, ownedAirflowEnv, STANDALONE_AIRFLOW_ENV } from "./airflowSettings";
import {
    cidrProblem,
    cronProblem,
    dnsSubdomainProblem,
    forwardedAllowIpsProblem,
    GitAuth,
    gitRepoAuthProblem,
    gitTransport,
    gitUrlHasCredentials,
    imageReferenceProblem,
    insecureTransportProblem,
    positiveQuantityProblem,
    quantityValue,
    URL_WITH_PASSWORD,
} from "./formats";
import { annotations, argsTypeNames, checked, dnsLabel, labelKey, labelValue, objectName, OwnPodNames, PodExtensionSettings, podExtensionProblems, podExtensionShape } from "./kubernetesObjects";

export const DEFAULT_AIRFLOW_VERSION = "3.3.2";
/** git-sync's image; every flag the package passes was checked against this release's main.go. */
export const DEFAULT_GIT_SYNC_IMAGE = "registry.k8s.io/git-sync/git-sync:v4.7.1";

/**
 * A Kubernetes quantity greater than zero (sizes, requests, limits). A plain number is accepted too
 * (`cpu: 2`), as in a Kubernetes manifest, and passed on as its string form.
 */
const quantity = z
    .union([z.number(), z.string()], { error: "must be a Kubernetes quantity such as 250m, 1, 512Mi or 20Gi" })
    .transform((v) => String(v))
    .pipe(checked(positiveQuantityProblem));
const cron = checked(cronProblem);
const cidr = checked(cidrProblem);
/** A GCP project id (6-30 of a-z, 0-9, '-', starting with a letter), optionally domain-scoped (example.com:proj). */
const gcpProject = z
    .string()
    .regex(/^([a-z][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/, "must be a Google Cloud project id: 6 to 30 lowercase letters, digits and '-', starting with a letter");

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

const secretKey = z.string().max(253).regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret key: letters, digits, '-', '_' and '.'");

/** Issues with this param never print the offending value (it may be a secret). */
const REDACT = { redact: true } as const;

/** Name parts that say a variable holds a secret (split on `_`): DB_PASSWORD, API_TOKEN, FERNET_KEY. */
const SECRET_NAME_PARTS = ["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "KEY", "APIKEY"];

/** Why an env var name looks like it holds a secret; undefined when it does not. */
export function secretLookingEnvName(name: string): string | undefined {
    const upper = name.toUpperCase();
    if (upper.startsWith("AIRFLOW_CONN_")) return "AIRFLOW_CONN_* holds a connection URI";
    const parts = upper.split("_").filter(Boolean);
    if (parts[parts.length - 1] === "CONN") return "*_CONN holds a connection URI";
    const part = parts.find((p) => SECRET_NAME_PARTS.includes(p));
    return part ? `its name part ${part} marks a secret` : undefined;
}

/**
 * Env knobs of one config section (`scheduler`, ..., or "" for the top level): plain values, single
 * keys of Secrets, and whole Secrets. Plain values are refused when they look secret (they would sit
 * in the pod spec and the Pulumi state), and no source may set what the package sets itself.
 */
function envSources(section: string) {
    const at = (key: string) => (section ? `${section}.${key}` : key);
    const owned = ownedAirflowEnv("production");
    const secretWay = (name: string) =>
        `keep the value in a Kubernetes Secret and reference it: ${at("secretEnv")}: {${name}: {secretName: <secret>, key: <key>}} ` +
        `(or load every key of a Secret: ${at("envFromSecrets")}: [<secret>])`;
    const refuseOwned = (names: string[], ctx: z.RefinementCtx) => {
        for (const name of names.filter((n) => owned.includes(n))) {
            ctx.addIssue({ code: "custom", path: [name], params: REDACT, message: ownedEnvMessage(owned) });
        }
    };
    return {
        /** Non-secret env vars; the values end up in the pod spec and the Pulumi state. */
        extraEnv: z
            .record(envName, z.string())
            .superRefine((env, ctx) => {
                refuseOwned(Object.keys(env), ctx);
                for (const [name, value] of Object.entries(env)) {
                    if (owned.includes(name)) continue;
                    const why = secretLookingEnvName(name);
                    const message = why
                        ? `looks like a secret (${why}) and must not be a plain value: ${secretWay(name)}`
                        : URL_WITH_PASSWORD.test(value)
                          ? `holds a URL with a password (scheme://user:password@) and must not be a plain value: ${secretWay(name)}`
                          : undefined;
                    if (message) ctx.addIssue({ code: "custom", path: [name], params: REDACT, message });
                }
            })
            .prefault({}),
        /** Env vars read from keys of existing Secrets: name -> {secretName, key}. */
        secretEnv: z
            .record(envName, z.strictObject({ secretName: objectName, key: secretKey }))
            .superRefine((env, ctx) => refuseOwned(Object.keys(env), ctx))
            .prefault({}),
        /** Existing Secrets whose every key becomes an env var (envFrom). */
        envFromSecrets: z.array(objectName).prefault([]),
    };
}

function ownedEnvMessage(owned: string[]): string {
    return `is set by this package and cannot be overridden (use the config key that drives it); the package sets ${owned.join(", ")}`;
}

const imageRef = checked(imageReferenceProblem);

export interface ResourceDefaults {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

const resourceQuantities = (d: { cpu: string; memory: string }) =>
    z
        .strictObject({
            /** CPU, in cores or millicores ("500m"). */
            cpu: quantity.default(d.cpu),
            /** Memory, in bytes with a binary suffix ("512Mi"). */
            memory: quantity.default(d.memory),
            /**
             * Ephemeral storage (Kubernetes' `ephemeral-storage`), in bytes with a binary suffix ("4Gi"). When
             * not set, each container gets the sizes of the disk-backed emptyDirs it mounts (tmpSize, homeSize,
             * ...) plus 128Mi for its logs; a limit must hold at least those emptyDirs.
             */
            ephemeralStorage: quantity.optional(),
        })
        .register(argsTypeNames, { name: "ResourceQuantities" })
        .prefault({});

const resources = (d: ResourceDefaults) =>
    z
        .strictObject({
            /** What the scheduler reserves for the container on a node. */
            requests: resourceQuantities(d.requests),
            /** The most the container may use: above the memory limit it is killed, above the CPU limit throttled. */
            limits: resourceQuantities(d.limits),
        })
        .register(argsTypeNames, { name: "ContainerResources" })
        .prefault({})
        .superRefine((r, ctx) => {
            // The API server refuses a request above its limit.
            for (const kind of ["cpu", "memory", "ephemeralStorage"] as const) {
                const request = r.requests[kind] === undefined ? undefined : quantityValue(r.requests[kind]);
                const limit = r.limits[kind] === undefined ? undefined : quantityValue(r.limits[kind]);
                if (request !== undefined && limit !== undefined && request > limit) {
                    ctx.addIssue({ code: "custom", path: ["requests", kind], input: r.requests[kind], message: `must not exceed limits.${kind} (${r.limits[kind]})` });
                }
            }
        });

const toleration = z.strictObject({
    key: labelKey.optional(),
    operator: z.enum(["Exists", "Equal"]).optional(),
    value: labelValue.optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z.int().optional(),
});

/** Sizes of a pod's writable scratch space (emptyDirs); the root filesystem is read-only. */
const scratch = {
    /** Size limit of /tmp. */
    tmpSize: quantity.default("1Gi"),
    /** Size limit of the writable HOME (tools' caches and config, Airflow's generated airflow.cfg). */
    homeSize: quantity.default("1Gi"),
};

/** Where a pod may run: the same two keys on every component, Postgres and git-sync included. */
const scheduling = {
    nodeSelector: z.record(labelKey, labelValue).prefault({}),
    tolerations: z.array(toleration).prefault([]),
};

/** The knobs every Airflow component has, in the same shape (as in the official Helm chart). */
const placement = (section: string) => ({
    ...scheduling,
    ...scratch,
    ...envSources(section),
    /** Annotations of the component's own ServiceAccount (GKE Workload Identity, IRSA, ...). */
    serviceAccountAnnotations: annotations,
    ...podExtensionShape,
});

// The names each pod uses itself (components/airflowPod.ts, metadataDatabase.ts, gitSync.ts): an
// extension may not reuse them, and an extra mount may name one of the volumes. A test checks the
// rendered pods against these lists.
export const AIRFLOW_POD_VOLUMES = ["tmp", "home", "dags", "logs", "pod-template", "simple-auth-passwords", "image-dags", "git-sync-tmp", "git-secret", "webserver-config", "dag-bundle-keys"];
const AIRFLOW_INIT_CONTAINERS = ["git-sync", "simple-auth-passwords", "dags"];
export const OWN_POD_NAMES = {
    airflow: (main: string): OwnPodNames => ({ volumes: AIRFLOW_POD_VOLUMES, containers: [main, ...AIRFLOW_INIT_CONTAINERS] }),
    postgres: { volumes: ["data", "postgres-run", "postgres-tmp"], containers: ["postgres"] } as OwnPodNames,
    gitSync: { volumes: ["dags", "git-sync-tmp", "git-secret"], containers: ["git-sync"] } as OwnPodNames,
};

const workloadShape = (section: string, replicas: number, d: ResourceDefaults) => ({
    replicas: z.int().min(1).max(20).default(replicas),
    resources: resources(d),
    ...placement(section),
});
/** A section of an Airflow Deployment; `container` is the name of its main container. */
const workload = (section: string, container: string, replicas: number, d: ResourceDefaults) =>
    z.strictObject(workloadShape(section, replicas, d)).prefault({}).superRefine(podExtensionProblems(OWN_POD_NAMES.airflow(container)));

// ---- DAG sources from git (gitSync, dagBundles): the same URL, auth and credentials rules ----

const TRANSPORT_FORMS: Record<string, string[]> = { https: ["https://"], ssh: ["ssh://", "git@host:path"], file: ["file://"] };

/**
 * A repository URL of one of `transports` (plain http:// and git:// are accepted here and refused
 * by gitSourceProblems unless the source opts in), without credentials: they would sit in the pod
 * spec and the Pulumi state. `withSecret` is the config that keeps them in a Secret instead.
 */
function gitRepoUrl(transports: string[], withSecret: string) {
    const forms = transports.flatMap((t) => TRANSPORT_FORMS[t]);
    return z.string().superRefine((repo, ctx) => {
        const transport = gitTransport(repo);
        if (transport === undefined || !(transports.includes(transport) || transport === "http" || transport === "git")) {
            ctx.addIssue({ code: "custom", params: REDACT, message: `must be an ${forms.slice(0, -1).join(", ")} or ${forms[forms.length - 1]} URL (plain http:// and git:// only with allowInsecureTransport: true)` });
        } else if (gitUrlHasCredentials(repo)) {
            ctx.addIssue({
                code: "custom",
                params: REDACT,
                message: `must not carry credentials: give the URL without them and keep them in a Secret with keys username and password (a token): ${withSecret}`,
            });
        }
    });
}

/** How a git DAG source authenticates, and the opt-in for unencrypted transports. */
const gitAuthShape = {
    /** `https`: Secret keys `username` + `password` (a token). `ssh`: Secret keys `ssh` (private key) + `known_hosts`. `none`: a public repository. */
    auth: z.enum(["none", "https", "ssh"]).default("none"),
    /** Secret holding credentials: `username` + `password` (https) or `ssh` + `known_hosts` (ssh). */
    credentialsSecretName: objectName.optional(),
    /**
     * Accept plain http:// and git:// URLs, which carry DAG code unencrypted and unauthenticated:
     * only for a git server you trust on a network you control (git and git-sync accept them silently).
     */
    allowInsecureTransport: z.boolean().default(false),
};

/**
 * Cross-field rules of a git DAG source (`key` is its config key, e.g. gitSync or dagBundles.0).
 * Settings it would ignore are refused only while the source is `active` (gitSync.enabled).
 */
function gitSourceProblems(key: string, active: (g: { enabled?: boolean }) => boolean = () => true) {
    return (g: { enabled?: boolean; repo?: string; auth: GitAuth; credentialsSecretName?: string; allowInsecureTransport: boolean }, ctx: Pick<z.RefinementCtx, "addIssue">): void => {
        if (g.auth !== "none" && g.credentialsSecretName === undefined) {
            ctx.addIssue({ code: "custom", path: ["credentialsSecretName"], message: "is required when auth is https or ssh" });
        }
        if (g.repo === undefined || gitTransport(g.repo) === undefined || gitUrlHasCredentials(g.repo)) return;
        const message = (g.allowInsecureTransport ? undefined : insecureTransportProblem(g.repo, `${key}.allowInsecureTransport`)) ?? gitRepoAuthProblem(g.auth, g.repo, key);
        if (message) ctx.addIssue({ code: "custom", path: ["repo"], params: REDACT, message });
        if (!active(g)) return;
        if (g.auth === "none" && g.credentialsSecretName !== undefined) {
            ctx.addIssue({ code: "custom", path: ["credentialsSecretName"], input: g.credentialsSecretName, message: `is only used when ${key}.auth is https or ssh: set the auth, or remove it` });
        }
        if (g.allowInsecureTransport && !["http", "git"].includes(gitTransport(g.repo)!)) {
            ctx.addIssue({ code: "custom", path: ["allowInsecureTransport"], input: true, message: `only opts in to plain http:// and git:// URLs, and ${key}.repo uses neither: remove it` });
        }
    };
}

/** Airflow reserves `example_dags`; `dags-folder` is the DAG image's own bundle (Airflow's default name for it). */
const RESERVED_BUNDLE_NAMES = ["dags-folder", "example_dags"];

/** A DAG bundle's name: it names the bundle in Airflow, its folder under the bundle storage and its connection (dagBundleConnection). */
const bundleName = z
    .string()
    .regex(/^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$/, "must be a bundle name: lowercase letters, digits, '-' and '_', starting with a letter and ending with a letter or digit, at most 63 characters (it names the bundle's folder, its connection and env vars)")
    .refine((name) => !RESERVED_BUNDLE_NAMES.includes(name), { error: (issue) => `is reserved: ${issue.input === "dags-folder" ? "dags-folder is the DAG image's own bundle" : "Airflow keeps example_dags for its example DAGs"}; pick another name` });

/** One git repository as an Airflow 3 DAG bundle (GitDagBundle of apache-airflow-providers-git). */
const dagBundle = z
    .strictObject({
        /** Unique name of the bundle, shown in the UI and recorded with each run (with the commit it ran). */
        name: bundleName,
        /** Repository URL without credentials: https://, ssh:// or git@host:path. */
        repo: gitRepoUrl(["https", "ssh"], "dagBundles: [{name: <name>, repo: https://<host>/<org>/<repo>.git, auth: https, credentialsSecretName: <secret>}]"),
        /** Branch, tag or commit the bundle tracks (GitDagBundle's tracking_ref). */
        ref: z
            .string()
            .regex(/^[^\s-][^\s]*$/, "must be a branch, tag or commit: no spaces, not starting with '-' (git would read an option)")
            .refine((ref) => !ref.includes(".."), "must be a branch, tag or commit: '..' is not allowed in a git ref")
            .default("main"),
        /** Folder inside the repository that holds the DAG files; the repository's root when omitted. */
        subdir: z
            .string()
            .regex(/^[^/\s]+(\/[^/\s]+)*$/, "must be a relative path inside the repository such as dags or teams/data/dags: no leading or trailing '/', no spaces")
            .refine((dir) => !dir.split("/").includes(".."), "must stay inside the repository: no '..'")
            .optional(),
        /** Seconds between fetches by the dag-processor (each replica fetches the repository). */
        refreshInterval: z.int().min(10).max(86400).default(60),
        ...gitAuthShape,
    });

/** The DAG bundles, each checked as a git source under its own key, their names and connections unique. */
const dagBundles = z
    .array(dagBundle)
    .superRefine((bundles, ctx) => {
        const first = new Map<string, number>();
        const firstConn = new Map<string, number>();
        bundles.forEach((b, i) => {
            gitSourceProblems(`dagBundles.${i}`)(b, { addIssue: (issue) => ctx.addIssue({ ...(issue as z.core.$ZodRawIssue), path: [i, ...((issue as { path?: PropertyKey[] }).path ?? [])] }) });
            const { connId } = dagBundleConnection(b.name);
            const same = first.get(b.name);
            const sameConn = firstConn.get(connId);
            if (same !== undefined) {
                ctx.addIssue({ code: "custom", path: [i, "name"], input: b.name, message: `is the name of dagBundles.${same} too: bundle names must be unique (Airflow refuses the whole bundle list otherwise)` });
            } else if (sameConn !== undefined) {
                ctx.addIssue({
                    code: "custom",
                    path: [i, "name"],
                    input: b.name,
                    message: `gives the same connection id as dagBundles.${sameConn} (${bundles[sameConn].name}): ${connId}, env AIRFLOW_CONN_${connId.toUpperCase()}; names that differ only in '-' and '_' share one, so rename one of them`,
                });
            }
            if (same === undefined) first.set(b.name, i);
            if (sameConn === undefined) firstConn.set(connId, i);
        });
    })
    .prefault([]);

const small: ResourceDefaults = { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } };
const medium: ResourceDefaults = { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } };

export const stackConfigSchema = z
    .strictObject({
        /** Namespace every object lives in. */
        namespace: dnsLabel.default("airflow"),
        /** Create the namespace (false when a platform team owns it). */
        createNamespace: z.boolean().default(true),
        /** `production`: KubernetesExecutor, one pod per component. `standalone`: one StatefulSet pod. */
        architecture: z.enum(["production", "standalone"]).default("production"),
        /** Airflow version; also picks the default image and names the migration Job. */
        airflowVersion: z
            .string()
            .regex(/^3\.\d+\.\d+$/, "must be an Airflow 3 version such as 3.3.2")
            .default(DEFAULT_AIRFLOW_VERSION),

        /** Images: the prebuilt Airflow image, or the base, DAG and task images built and pushed with Docker; the Postgres, git-sync and setup images; pull policy and pull secrets. */
        images: z
            .strictObject({
                /** A prebuilt Airflow image (DAGs included or synced by git-sync). Ignored when build.enabled. */
                airflow: imageRef.optional(),
                pullPolicy: z.enum(["IfNotPresent", "Always", "Never"]).default("IfNotPresent"),
                /** Secrets (kubernetes.io/dockerconfigjson) for private registries, on every pod the package renders. */
                pullSecrets: z.array(objectName).prefault([]),
                postgres: imageRef.default("postgres:17.6-bookworm"),
                gitSync: imageRef.default(DEFAULT_GIT_SYNC_IMAGE),
                /**
                 * Image of the one-shot Job that makes new shared volumes group-writable (pvc and filestore
                 * storage); it needs `sh`, `mkdir` and `chmod`. Point it at a mirror on clusters without Docker Hub.
                 */
                setup: imageRef.default("busybox:1.37.0"),
                /** Build and push the base and DAG images with Docker (see components/images.ts). */
                build: z
                    .strictObject({
                        enabled: z.boolean().default(false),
                        /** Build context of the base image (Dockerfile + requirements.txt). */
                        baseContext: z.string().default("images/base"),
                        /** Image the base is built FROM; defaults to apache/airflow:<airflowVersion>. */
                        baseImage: imageRef.optional(),
                        /** Build context of the DAG image (FROM base; adds dags/ and the team package). */
                        dagsContext: z.string().default("images/dags"),
                        /** Target platform, e.g. linux/amd64. */
                        platform: z.string().default("linux/amd64"),
                    })
                    .prefault({}),
                /** Task images for business logic with its own dependencies: name -> build context. */
                tasks: z.record(dnsLabel, z.strictObject({ context: z.string(), dockerfile: z.string().optional() })).prefault({}),
                /** Prebuilt task images: name -> digest-pinned reference (built elsewhere, e.g. by the task's own repository's CI). */
                taskImages: z.record(dnsLabel, imageRef).prefault({}),
            })
            .prefault({}),

        /** Where built images are pushed: any registry (server, username, secret registryPassword), or a new Artifact Registry repository. */
        registry: z
            .strictObject({
                /** Registry host and path images are pushed to, e.g. europe-docker.pkg.dev/proj/airflow. */
                server: z.string().optional(),
                /** The password is the secret config key `registryPassword` (`pulumi config set --secret`). */
                username: z.string().optional(),
                /** Create an Artifact Registry repository and push with gcloud credentials. */
                artifactRegistry: z
                    .strictObject({
                        project: gcpProject,
                        /** A region (europe-west1) or multi-region (europe, us, asia). */
                        location: z.string().regex(/^[a-z]+(-[a-z]+[0-9]+)?$/, "must be an Artifact Registry location such as europe-west1 or europe"),
                        /** Lowercase letters, digits and '-', starting with a letter, at most 63. */
                        repositoryId: z
                            .string()
                            .regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be an Artifact Registry repository id: lowercase letters, digits and '-', starting with a letter, at most 63")
                            .default("airflow"),
                    })
                    .optional(),
            })
            .prefault({}),

        /** Another stack whose outputs provide the kubeconfig and, optionally, the registry. */
        infrastructure: z
            .strictObject({
                stack: z.string().regex(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "must be a fully qualified stack name: <org>/<project>/<stack>"),
                kubeconfigOutput: z.string().default("kubeconfig"),
                registryOutput: z.string().optional(),
            })
            .optional(),

        /** The scheduler Deployment (it launches the worker pods): replicas, resources, placement, env. */
        scheduler: workload("scheduler", "scheduler", 1, medium),
        /** The API server Deployment (UI, REST API and the workers' execution API): replicas, resources, placement, env, uvicorn workers. */
        apiServer: z
            .strictObject({
                ...workloadShape("apiServer", 1, medium),
                /** uvicorn worker processes per API server pod. */
                workers: z.int().min(1).max(16).default(2),
                /**
                 * A HorizontalPodAutoscaler on CPU (needs the cluster's metrics-server). The Deployment then
                 * carries no replica count, so `pulumi up` never resets what the autoscaler chose.
                 */
                autoscaling: z
                    .strictObject({
                        enabled: z.boolean().default(false),
                        minReplicas: z.int().min(1).max(100).default(2),
                        maxReplicas: z.int().min(1).max(100).default(5),
                        targetCPUUtilizationPercentage: z.int().min(1).max(100).default(80),
                    })
                    .prefault({})
                    .superRefine((a, ctx) => {
                        if (a.minReplicas > a.maxReplicas) ctx.addIssue({ code: "custom", path: ["minReplicas"], input: a.minReplicas, message: `must not exceed maxReplicas (${a.maxReplicas})` });
                    }),
            })
            .prefault({})
            .superRefine(podExtensionProblems(OWN_POD_NAMES.airflow("api-server"))),
        /** The dag-processor Deployment (parses the DAG files): replicas, resources, placement, env. */
        dagProcessor: workload("dagProcessor", "dag-processor", 1, medium),
        /** The triggerer Deployment (runs deferred tasks' triggers): replicas, resources, placement, env. */
        triggerer: workload("triggerer", "triggerer", 1, small),

        /** Worker pods launched by the KubernetesExecutor, one per task. */
        workers: z
            .strictObject({
                resources: resources(small),
                ...placement("workers"),
                /** Delete worker pods when the task ends; failed pods can be kept for debugging. */
                deleteOnSuccess: z.boolean().default(true),
                deleteOnFailure: z.boolean().default(true),
                /**
                 * Let tasks launch pods of their own (KubernetesPodOperator, @task.kubernetes): the worker
                 * ServiceAccount gets a namespaced Role for that, and worker pods mount its token.
                 */
                podLauncher: z.boolean().default(false),
            })
            .prefault({})
            .superRefine(podExtensionProblems(OWN_POD_NAMES.airflow("base"))),

        /** The metadata database: a Postgres StatefulSet here (internal) or an existing connection Secret (external). */
        database: z
            .strictObject({
                /** `internal`: a Postgres StatefulSet here. `external`: an existing Secret holds the connection URI. */
                mode: z.enum(["internal", "external"]).default("internal"),
                storageSize: quantity.default("8Gi"),
                storageClassName: objectName.optional(),
                resources: resources(small),
                /** external mode: Secret name and key holding a SQLAlchemy URI (postgresql+psycopg2://...). */
                externalSecretName: objectName.optional(),
                externalSecretKey: z.string().default("connection"),
                // The internal Postgres pod's scheduling and extension points, as on every component.
                ...scheduling,
                ...podExtensionShape,
                /**
                 * PgBouncer between Airflow and the database (internal or external), for many concurrent
                 * worker pods: Airflow's connection points at it; migrations and `db clean` still go direct.
                 */
                pgbouncer: z
                    .strictObject({
                        enabled: z.boolean().default(false),
                        /** An image with `pgbouncer` and a POSIX shell on PATH. */
                        image: imageRef.default("edoburu/pgbouncer:v1.23.1-p3"),
                        replicas: z.int().min(1).max(10).default(1),
                        /** `transaction` (Airflow's usual choice) or `session`. */
                        poolMode: z.enum(["transaction", "session"]).default("transaction"),
                        /** Client connections PgBouncer accepts (every Airflow process and worker pod holds some). */
                        maxClientConnections: z.int().min(1).max(100000).default(1000),
                        /** Server connections per database and user: what the database sees. */
                        defaultPoolSize: z.int().min(1).max(10000).default(20),
                        resources: resources({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } }),
                    })
                    .prefault({}),
            })
            .prefault({})
            .refine((db) => db.mode !== "external" || db.externalSecretName !== undefined, {
                message: "is required when mode is external",
                path: ["externalSecretName"],
            })
            .superRefine(podExtensionProblems(OWN_POD_NAMES.postgres)),

        /** Shared ReadWriteMany storage for DAG files and task logs (production). */
        storage: z
            .strictObject({
                /** `pvc`: RWX claims on a StorageClass. `filestore`: a GCP Filestore share. `existing`: claims by name. */
                mode: z.enum(["pvc", "filestore", "existing"]).default("pvc"),
                storageClassName: objectName.optional(),
                dagsSize: quantity.default("5Gi"),
                logsSize: quantity.default("20Gi"),
                /** existing mode: claim names. The logs claim may be omitted when remote logging is on. */
                dagsClaimName: objectName.optional(),
                logsClaimName: objectName.optional(),
                /** One share with dags/ and logs/ sub-paths instead of two volumes. */
                singleShare: z.boolean().default(false),
                filestore: z
                    .strictObject({
                        project: gcpProject.optional(),
                        /** Zone for BASIC_* and ZONAL tiers, region for REGIONAL and ENTERPRISE. */
                        location: z.string().regex(/^[a-z]+-[a-z]+[0-9]+(-[a-z])?$/, "must be a Google Cloud zone (europe-west1-b) or region (europe-west1)"),
                        tier: z.enum(["BASIC_HDD", "BASIC_SSD", "ZONAL", "REGIONAL", "ENTERPRISE"]).default("BASIC_HDD"),
                        capacityGb: z.int().default(1024),
                        network: z.string().default("default"),
                        shareName: z.string().regex(/^[a-z][a-z0-9_]{0,15}$/, "must be a Filestore share name: lowercase, digits, '_', at most 16").default("airflow"),
                    })
                    .optional(),
            })
            .prefault({}),

        /** Task logs: on the shared log claim, or in a bucket (remote logging) so they stay readable after the worker pod is gone. */
        logging: z
            .strictObject({
                /** Remote task logs, e.g. gs://bucket/airflow-logs. Logs stay readable after worker pods are gone. */
                remoteBaseLogFolder: z.string().regex(/^(gs|s3|wasb):\/\/.+/, "must be a gs://, s3:// or wasb:// URL").optional(),
                /** Connection used for the bucket; by default the one of its scheme (gs, s3, wasb). */
                remoteConnId: z.string().optional(),
            })
            .prefault({})
            .transform((l) => ({ ...l, remoteConnId: l.remoteConnId ?? defaultRemoteConnId(l.remoteBaseLogFolder) })),

        /** DAGs from a git repository: a git-sync CronJob onto the shared DAG claim, or a sidecar in every DAG-reading pod. */
        gitSync: z
            .strictObject({
                enabled: z.boolean().default(false),
                /** `cronjob`: one sync per schedule onto shared storage. `sidecar`: continuous sync in each DAG-reading pod. */
                mode: z.enum(["cronjob", "sidecar"]).default("cronjob"),
                repo: gitRepoUrl(["https", "ssh", "file"], "gitSync: {repo: https://<host>/<org>/<repo>.git, auth: https, credentialsSecretName: <secret>}").optional(),
                ref: z.string().default("main"),
                /** Folder inside the repository that holds the DAG files. */
                subPath: z.string().default(""),
                schedule: cron.default("*/5 * * * *"),
                /** sidecar mode: time between syncs. */
                period: z.string().regex(/^[1-9]\d*(s|m)$/, "must be a duration such as 30s or 2m, at least 1s (git-sync refuses a period under 10ms)").default("60s"),
                ...gitAuthShape,
                resources: resources({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } }),
                // The CronJob pods' scheduling and extension points (mode cronjob), as on every component.
                ...scheduling,
                ...podExtensionShape,
            })
            .prefault({})
            .refine((g) => !g.enabled || g.repo !== undefined, { message: "is required when gitSync is enabled", path: ["repo"] })
            .superRefine(gitSourceProblems("gitSync", (g) => g.enabled === true))
            .superRefine(podExtensionProblems(OWN_POD_NAMES.gitSync)),

        /**
         * Airflow 3 DAG bundles: git repositories the dag-processor and every worker pod clone
         * themselves (GitDagBundle); each DAG run records the commit it ran, and its tasks run that
         * commit. Beside DAGs in the image (dagsInImage, images.build), which stay the `dags-folder`
         * bundle; not with gitSync.
         */
        dagBundles,

        /** How the UI and REST API are reached and who logs in: Service type and port, auth manager, admin user, allowed CIDRs. */
        ui: z
            .strictObject({
                serviceType: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).default("ClusterIP"),
                port: z.int().min(1).max(65535).default(8080),
                /**
                 * `fab`: users in the metadata database (an admin is created). `simple`: Airflow's simple auth
                 * manager with one admin user whose generated password every API server replica reads from the
                 * keys Secret. Either way the password is the secret stack output `adminPassword`.
                 */
                authManager: z.enum(["fab", "simple"]).default("fab"),
                /** The admin's user name (letters, digits, '.', '_', '@', '-': the simple auth manager lists users as `name:role,...`). */
                adminUsername: z
                    .string()
                    .regex(/^[A-Za-z0-9._@-]{1,64}$/, "must be a user name: letters, digits, '.', '_', '@' and '-', at most 64")
                    .default("admin"),
                /**
                 * CIDRs allowed to reach the UI when network policies are on. Behind an Ingress the API server
                 * sees the controller's pods, not the browser: include their addresses, or name the
                 * controller's namespace in ingress.controllerNamespace.
                 */
                allowedCidrs: z.array(cidr).default(["0.0.0.0/0"]),
                /**
                 * The URL people open, when the UI is published some other way than `ingress` (a LoadBalancer
                 * with a DNS name, an outside proxy). A path (https://example.com/airflow) serves the UI, the
                 * REST API and the execution API under it.
                 */
                baseUrl: z
                    .string()
                    .regex(/^https?:\/\/[^\s/?#@]+(\/[A-Za-z0-9._~-]+)*\/?$/, "must be an http:// or https:// URL such as https://airflow.example.com or https://example.com/airflow, without query or credentials")
                    .transform((url) => url.replace(/\/$/, ""))
                    .optional(),
                /**
                 * An Ingress in front of the API server Service (needs an ingress controller in the cluster).
                 * `pulumi up` waits until the controller publishes the Ingress's address; where none does,
                 * add the annotation `pulumi.com/skipAwait: "true"`.
                 */
                ingress: z
                    .strictObject({
                        enabled: z.boolean().default(false),
                        /** IngressClass; the cluster's default class when omitted. */
                        className: objectName.optional(),
                        /** Host name people open, e.g. airflow.example.com. */
                        host: checked((v) => (dnsSubdomainProblem(v) ? "must be a DNS name such as airflow.example.com: lowercase letters, digits, '-' and '.'" : undefined)).optional(),
                        /** Serve Airflow under a path, e.g. /airflow (the UI, the REST API and the execution API all move under it). */
                        pathPrefix: z
                            .string()
                            .regex(/^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/, "must be / or a path such as /airflow: '/'-separated segments of letters, digits, '.', '_', '~' and '-', without a trailing '/'")
                            .default("/"),
                        /** Secret (kubernetes.io/tls) with the certificate for host; the URL is then https. */
                        tlsSecretName: objectName.optional(),
                        /** Annotations of the Ingress (the controller's settings, cert-manager, ...). */
                        annotations,
                        /** Namespace of the ingress controller's pods: the NetworkPolicy lets them reach the API server. */
                        controllerNamespace: dnsLabel.optional(),
                        /**
                         * Addresses whose X-Forwarded-* headers the API server trusts (uvicorn's forwarded_allow_ips):
                         * `*`, or IPs and CIDRs separated by ','. The NetworkPolicy already limits who reaches the port.
                         */
                        forwardedAllowIps: checked(forwardedAllowIpsProblem).default("*"),
                    })
                    .prefault({})
                    .superRefine((i, ctx) => {
                        if (i.enabled && i.host === undefined) ctx.addIssue({ code: "custom", path: ["host"], input: undefined, message: "is required when ui.ingress.enabled is true (it also makes Airflow's base URL)" });
                    }),
                /**
                 * FAB's webserver_config.py (OAuth, LDAP, roles mapping) from a Secret or a ConfigMap, mounted
                 * read-only in the API server and the migration Job. See docs/authentication.md.
                 */
                webserverConfig: z
                    .strictObject({
                        secretName: objectName.optional(),
                        configMapName: objectName.optional(),
                        key: secretKey.default("webserver_config.py"),
                    })
                    .superRefine((w, ctx) => {
                        if ((w.secretName === undefined) === (w.configMapName === undefined)) ctx.addIssue({ code: "custom", input: undefined, message: "needs exactly one of secretName and configMapName" });
                    })
                    .optional(),
            })
            .prefault({}),

        /** Standalone architecture: one pod with Postgres + Airflow (LocalExecutor). */
        standalone: z
            .strictObject({
                storageSize: quantity.default("8Gi"),
                storageClassName: objectName.optional(),
                parallelism: z.int().min(1).max(64).default(4),
                resources: resources({ requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "2", memory: "4Gi" } }),
                // Scratch space of the Airflow container, where the LocalExecutor runs the tasks too.
                ...scratch,
            })
            .prefault({}),

        /** DAG files are baked into the Airflow image (the DAG image) instead of a volume or git-sync. */
        dagsInImage: z.boolean().default(false),
        /**
         * Env for every Airflow container (workers included): `extraEnv` for non-secret settings such as
         * AIRFLOW__CORE__PARALLELISM, `secretEnv` and `envFromSecrets` for values kept in Secrets.
         */
        ...envSources(""),
        /** Default-deny NetworkPolicies plus the allows each component needs. */
        networkPolicies: z.boolean().default(true),
        /**
         * What the NetworkPolicies need to know about the cluster's network. Policies match traffic after
         * Service translation: the DNS pods' own port and the Kubernetes API server's real address and
         * port, not the Services'. See docs/network-policies.md.
         */
        network: z
            .strictObject({
                /** The cluster's DNS pods: every pod may reach them, on whatever port they listen (53, 1053, 5353, ...). */
                dns: z
                    .strictObject({
                        namespace: dnsLabel.default("kube-system"),
                        podLabels: z.record(labelKey, labelValue).default({ "k8s-app": "kube-dns" }),
                    })
                    .prefault({}),
                /**
                 * The Kubernetes API server's real endpoint (the addresses and ports behind the `kubernetes`
                 * Service), reached by the scheduler, the worker-pod clean-up and pod-launching workers. When
                 * omitted, the program reads it from the `default/kubernetes` EndpointSlice.
                 */
                kubernetesApi: z
                    .strictObject({
                        cidrs: z.array(cidr).min(1, "needs at least one CIDR, such as 172.16.0.2/32"),
                        ports: z.array(z.int().min(1).max(65535)).min(1, "needs at least one port, such as 443"),
                    })
                    .optional(),
                /**
                 * The private address ranges of the cluster and its network (pods, Services, nodes, private
                 * databases): "outside", where tasks, triggers, callbacks and git may go, is every address but
                 * these and the Kubernetes API.
                 */
                clusterCidrs: z
                    .array(cidr.refine((c) => !c.endsWith("/0"), "must be a private range such as 10.0.0.0/8, not a whole address family"))
                    .default(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]),
                /**
                 * Private destinations (inside clusterCidrs) that tasks, triggers, callbacks and git-sync may
                 * still reach: a git server or a database in the cluster, a service on the private network.
                 * Each is a `cidr`, or pods by `namespace` and `podLabels`; `ports` limit it (all ports when omitted).
                 */
                privateDestinations: z
                    .array(
                        z
                            .strictObject({
                                cidr: cidr.optional(),
                                namespace: dnsLabel.optional(),
                                podLabels: z.record(labelKey, labelValue).optional(),
                                ports: z.array(z.int().min(1).max(65535)).optional(),
                            })
                            .superRefine((d, ctx) => {
                                const pods = d.namespace !== undefined || d.podLabels !== undefined;
                                if ((d.cidr !== undefined) === pods) {
                                    ctx.addIssue({ code: "custom", input: undefined, message: "needs either cidr, or namespace and/or podLabels (not both)" });
                                }
                            }),
                    )
                    .default([]),
            })
            .prefault({}),

        /** Housekeeping CronJobs (production): old task and component logs, old metadata rows. */
        retention: z
            .strictObject({
                /** Deletes log files older than `days` from the shared log claim (only when logs are on the claim). */
                logs: z
                    .strictObject({
                        enabled: z.boolean().default(true),
                        days: z.int().min(1).max(3650).default(15),
                        schedule: cron.default("0 3 * * *"),
                        resources: resources({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } }),
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
                        minCompletedMinutes: z.int().min(0).max(7 * 24 * 60).default(30),
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
                        resources: resources(small),
                    })
                    .prefault({}),
            })
            .prefault({}),

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
                scrapeInterval: z.string().regex(/^\d+(s|m)$/, "must be a duration such as 30s or 1m").default("30s"),
                /** Namespace of the Prometheus pods: the NetworkPolicy lets them scrape the exporter. */
                scraperNamespace: dnsLabel.default("monitoring"),
                resources: resources({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } }),
            })
            .prefault({}),
    })
    .superRefine((c, ctx) => {
        if (c.architecture === "standalone") {
            // The standalone pod sets these too; production leaves them to extraEnv.
            const standaloneOwned: string[] = Object.values(STANDALONE_AIRFLOW_ENV);
            for (const key of ["extraEnv", "secretEnv"] as const) {
                for (const name of Object.keys(c[key]).filter((n) => standaloneOwned.includes(n))) {
                    ctx.addIssue({ code: "custom", path: [key, name], params: REDACT, message: ownedEnvMessage(ownedAirflowEnv("standalone")) });
                }
            }
        }
        if (c.ui.webserverConfig !== undefined && c.ui.authManager !== "fab") {
            ctx.addIssue({ code: "custom", path: ["ui", "webserverConfig"], message: "configures the FAB auth manager: set ui.authManager: fab, or remove it" });
        }
        // Extra containers' env follows the same rule as extraEnv: nothing secret as a plain value.
        for (const section of ["scheduler", "apiServer", "dagProcessor", "triggerer", "workers", "database", "gitSync"] as const) {
            for (const key of ["extraContainers", "extraInitContainers"] as const) {
                c[section][key].forEach((container, i) =>
                    (container.env ?? []).forEach((e, j) => {
                        const why = e.value !== undefined ? secretLookingEnvName(e.name) : undefined;
                        if (why) {
                            ctx.addIssue({
                                code: "custom",
                                path: [section, key, i, "env", j, "value"],
                                params: REDACT,
                                message: `${e.name} looks like a secret (${why}) and must not be a plain value: use valueFrom: {secretKeyRef: {name: <secret>, key: <key>}}`,
                            });
                        }
                    }),
                );
            }
        }
        if (c.dagBundles.length) {
            if (c.gitSync.enabled) {
                ctx.addIssue({
                    code: "custom",
                    path: ["dagBundles"],
                    message:
                        "cannot be combined with gitSync.enabled: git-sync's folder would be one unversioned bundle beside versioned ones, with a second way to reach the same git hosts; " +
                        "list each repository as a bundle instead (or keep gitSync and drop dagBundles)",
                });
            }
            // What the package sets for the bundles, in every env knob of every Airflow process.
            const bundleEnv = new Map<string, string>(Object.values(BUNDLE_AIRFLOW_ENV).map((name) => [name, `is set by this package from dagBundles (the package sets ${Object.values(BUNDLE_AIRFLOW_ENV).join(", ")})`]));
            c.dagBundles.forEach((b, i) => {
                const conn = dagBundleConnection(b.name);
                for (const name of [conn.envName, conn.usernameEnv, conn.passwordEnv]) {
                    bundleEnv.set(name, `is the connection of dagBundles.${i} (${b.name}), which the package makes from its repo and credentialsSecretName: pick another name`);
                }
            });
            for (const section of [undefined, "scheduler", "apiServer", "dagProcessor", "triggerer", "workers"] as const) {
                const env = section ? c[section] : c;
                for (const key of ["extraEnv", "secretEnv"] as const) {
                    // extraEnv refuses secret-looking names (AIRFLOW_CONN_*, *_PASSWORD) already
                    for (const name of Object.keys(env[key]).filter((n) => bundleEnv.has(n) && !(key === "extraEnv" && secretLookingEnvName(n)))) {
                        ctx.addIssue({ code: "custom", path: [...(section ? [section] : []), key, name], params: REDACT, message: bundleEnv.get(name)! });
                    }
                }
            }
        }
        if (c.dagsInImage && c.gitSync.enabled) {
            ctx.addIssue({ code: "custom", path: ["dagsInImage"], input: true, message: "cannot be combined with gitSync.enabled: pick one source of DAGs" });
        }
        if (c.architecture === "production" && c.storage.mode === "filestore" && c.storage.filestore === undefined) {
            ctx.addIssue({ code: "custom", path: ["storage", "filestore"], message: "is required when storage.mode is filestore" });
        }
        if (c.storage.mode === "existing" && c.storage.logsClaimName === undefined && c.logging.remoteBaseLogFolder === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["storage", "logsClaimName"],
                message: "is required in existing mode unless logging.remoteBaseLogFolder is set (task logs would vanish with the worker pods)",
            });
        }
        const fs = c.storage.filestore;
        if (c.storage.mode === "filestore" && fs !== undefined) {
            const [min, max] = filestoreCapacityGb[fs.tier];
            if (fs.capacityGb < min || fs.capacityGb > max) {
                ctx.addIssue({
                    code: "custom",
                    path: ["storage", "filestore", "capacityGb"],
                    input: fs.capacityGb,
                    message: `must be at least ${min} and at most ${max} for tier ${fs.tier}`,
                });
            }
            // BASIC_* and ZONAL instances live in a zone, REGIONAL and ENTERPRISE ones in a region.
            const zonal = ["BASIC_HDD", "BASIC_SSD", "ZONAL"].includes(fs.tier);
            if (zonal !== /-[a-z]$/.test(fs.location)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["storage", "filestore", "location"],
                    input: fs.location,
                    message: `must be a ${zonal ? "zone (e.g. europe-west1-b)" : "region (e.g. europe-west1)"} for tier ${fs.tier}`,
                });
            }
        }
        // Production reads DAGs from the shared claim unless they come from the image or a git-sync sidecar.
        const dagsFromClaim = c.gitSync.enabled ? c.gitSync.mode === "cronjob" : !c.dagsInImage && !c.images.build.enabled && c.dagBundles.length === 0;
        if (c.architecture === "production" && dagsFromClaim && c.storage.mode === "existing" && c.storage.dagsClaimName === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["storage", "dagsClaimName"],
                message: c.gitSync.enabled
                    ? "is required for the git-sync CronJob to write DAGs to"
                    : "is required in existing mode: the Airflow pods read DAGs from it (or set dagsInImage, dagBundles, or gitSync with mode sidecar)",
            });
        }
        if (c.images.build.enabled && c.images.airflow !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["images", "airflow"],
                input: c.images.airflow,
                message: "cannot be combined with images.build.enabled: the workloads run the built DAG image; drop one of them",
            });
        }
        // One task name, one image: the built and the prebuilt map become one task_images Variable, where one would replace the other.
        for (const task of Object.keys(c.images.taskImages).filter((t) => t in c.images.tasks)) {
            ctx.addIssue({
                code: "custom",
                path: ["images", "taskImages", task],
                input: c.images.taskImages[task],
                message: `is also built from images.tasks.${task}: one would replace the other in the task_images Variable; a task name is either built (images.tasks) or prebuilt (images.taskImages), so drop one or rename it`,
            });
        }
        // An image of another Airflow major version cannot run what is rendered for airflowVersion (api-server, the execution API, Airflow 3 settings).
        for (const m of imageVersionMismatches(c).filter((m) => m.otherMajor)) {
            ctx.addIssue({
                code: "custom",
                path: m.key.split("."),
                input: m.ref,
                message:
                    `names Airflow ${m.versions.join(", ")} in its tag, another major version than airflowVersion ${c.airflowVersion}: the package deploys Airflow ` +
                    `${c.airflowVersion.split(".")[0]} (the api-server, the execution API, its settings), which that image does not run; use an Airflow ${c.airflowVersion.split(".")[0]} image, ideally of airflowVersion (apache/airflow:${c.airflowVersion}), or a digest`,
            });
        }
        if ((c.images.build.enabled || Object.keys(c.images.tasks).length > 0) && c.registry.server === undefined && c.registry.artifactRegistry === undefined && c.infrastructure?.registryOutput === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["registry", "server"],
                message: "is required when images.build.enabled or images.tasks is set (or set registry.artifactRegistry or infrastructure.registryOutput)",
            });
        }
        // An ephemeral-storage limit the user sets must hold the emptyDirs its containers mount.
        for (const p of ephemeralStorageProblems(c)) ctx.addIssue({ code: "custom", ...p });
    });

/** Smallest and largest capacity (GiB) Filestore accepts per tier (63.9 TiB for BASIC, 100 TiB ZONAL/REGIONAL, 10 TiB ENTERPRISE). */
export const filestoreCapacityGb: Record<string, [number, number]> = {
    BASIC_HDD: [1024, 65433],
    BASIC_SSD: [2560, 65433],
    ZONAL: [1024, 102400],
    REGIONAL: [1024, 102400],
    ENTERPRISE: [1024, 10240],
};

export type StackConfig = z.output<typeof stackConfigSchema>;
export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type ResourceSettings = StackConfig["scheduler"]["resources"];
export type WorkloadSettings = StackConfig["scheduler"];
export type EnvSettings = Pick<WorkloadSettings, "extraEnv" | "secretEnv" | "envFromSecrets">;
export type ScratchSettings = Pick<WorkloadSettings, "tmpSize" | "homeSize">;
export type SchedulingSettings = Pick<WorkloadSettings, "nodeSelector" | "tolerations">;
export type { PodExtensionSettings };
export type PlacementSettings = SchedulingSettings & EnvSettings & ScratchSettings & PodExtensionSettings;

/** Env settings that add nothing (for pods without a config section of their own). */
export const NO_ENV: EnvSettings = { extraEnv: {}, secretEnv: {}, envFromSecrets: [] };
/** Scheduling and extension points that add nothing (for pods without a config section of their own). */
export const NO_POD_EXTENSIONS: SchedulingSettings & PodExtensionSettings = {
    nodeSelector: {},
    tolerations: [],
    extraVolumes: [],
    extraVolumeMounts: [],
    extraContainers: [],
    extraInitContainers: [],
    podAnnotations: {},
    podLabels: {},
    topologySpreadConstraints: [],
};

/**
 * Airflow's base URL (`[api] base_url`) and its path ("" at the root): from the Ingress when it is on
 * (https with a TLS Secret), else ui.baseUrl; undefined when the UI has no URL of its own.
 */
export function uiBaseUrl(ui: StackConfig["ui"]): { url: string; path: string } | undefined {
    const i = ui.ingress;
    const url = i.enabled && i.host ? `${i.tlsSecretName ? "https" : "http"}://${i.host}${i.pathPrefix === "/" ? "" : i.pathPrefix}` : ui.baseUrl;
    if (url === undefined) return undefined;
    return { url, path: new URL(url).pathname.replace(/\/$/, "") };
}

/** The connection Airflow's remote log handler for a folder's scheme uses by default. */
export function defaultRemoteConnId(remoteBaseLogFolder: string | undefined): string | undefined {
    const scheme = remoteBaseLogFolder?.split("://")[0];
    return scheme === undefined ? undefined : { gs: "google_cloud_default", s3: "aws_default", wasb: "wasb_default" }[scheme];
}

/** Secret config keys, read with requireSecret rather than validated as plain values. */
export const SECRET_CONFIG_KEYS = ["registryPassword"] as const;

/** Raised when the stack config is invalid; lists every problem at once. */
export class StackConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`);
        this.name = "StackConfigError";
    }
}

/**
 * Parses raw config values, as Pulumi hands them to the program (every value a string, structured
 * values as JSON), keyed by the bare key (`scheduler`, not `airflow:scheduler`). A key whose schema
 * is a string keeps its text as it is (a namespace `123` stays the string "123"); booleans, numbers,
 * objects and lists are decoded. `configNamespace` names the config namespace in messages;
 * `otherProblems` (found outside this namespace) are reported together with this namespace's.
 */
export function parseStackConfig(raw: Record<string, string>, configNamespace = "airflow", otherProblems: string[] = []): StackConfig {
    const values = decodeStackConfig(raw);
    return validateStackConfig(values, { configNamespace, otherProblems, registryPasswordSet: raw.registryPassword !== undefined });
}

/** Raw config strings (bare keys) as structured values, secret keys left out: what the schema's input type describes. */
export function decodeStackConfig(raw: Record<string, string>): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(raw)) {
        if ((SECRET_CONFIG_KEYS as readonly string[]).includes(key)) continue;
        values[key] = decode(key, text);
    }
    return values;
}

export interface ValidateOptions {
    /** Names the config namespace in messages (`<namespace>:<key>: ...`). */
    configNamespace?: string;
    /** Problems found elsewhere, reported first. */
    otherProblems?: string[];
    /** Whether the secret registryPassword is set; undefined leaves that check to the caller. */
    registryPasswordSet?: boolean;
}

/**
 * Validates structured config values (decoded stack config, or the args of the AirflowOnKubernetes
 * component) and applies the defaults; throws a StackConfigError listing every problem at once.
 */
export function validateStackConfig(values: Record<string, unknown>, options: ValidateOptions = {}): StackConfig {
    const configNamespace = options.configNamespace ?? "airflow";
    const result = stackConfigSchema.safeParse(values, { reportInput: true });
    const problems = [
        ...(options.otherProblems ?? []),
        ...(result.success ? [] : result.error.issues.map((issue) => describeIssue(issue, configNamespace))),
        // A key without a value is already refused above; for these rules it is not set.
        ...ignoredSettingProblems(withoutNulls(values), configNamespace),
        ...(options.registryPasswordSet === undefined ? [] : registryPasswordProblems(withoutNulls(values), options.registryPasswordSet, configNamespace)),
    ];
    if (problems.length || !result.success) {
        throw new StackConfigError(problems);
    }
    return result.data;
}

/** Objects and lists without their null entries (keys written without a value). */
function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
    const strip = (v: unknown): unknown =>
        Array.isArray(v) ? v.filter((x) => x !== null).map(strip) : v !== null && typeof v === "object" ? withoutNulls(v as Record<string, unknown>) : v;
    return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === null ? [] : [[k, strip(v)]])));
}

/**
 * Parses the whole config map of a Pulumi program (`namespace:key` -> raw value): the program's own
 * namespace through the schema, every other key checked against the namespaces the providers read.
 * `isSecret` (the Pulumi runtime's knowledge of which values the stack file holds encrypted) refuses
 * a secret key given in plain text.
 */
export function parseProgramConfig(all: Record<string, string>, configNamespace: string, isSecret?: (key: string) => boolean): StackConfig {
    const prefix = `${configNamespace}:`;
    const own = Object.fromEntries(Object.entries(all).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])));
    const plain = isSecret ? plainSecretProblems(Object.keys(all), configNamespace, isSecret) : [];
    return parseStackConfig(own, configNamespace, [...foreignNamespaceProblems(Object.keys(all), configNamespace), ...plain]);
}

/**
 * Whether a config key holds a secret: the program's secret keys (its other keys are the schema's, none
 * a secret), and a provider's whose name says so (gcp:accessToken, docker:keyMaterial).
 */
export function secretLookingConfigKey(key: string, configNamespace: string): boolean {
    const [ns, ...rest] = key.split(":");
    const name = rest.join(":");
    if (ns === configNamespace) return (SECRET_CONFIG_KEYS as readonly string[]).includes(name);
    const parts = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase().split(/[^A-Z0-9]+/);
    return parts.some((p) => SECRET_NAME_PARTS.includes(p));
}

/** Secret-looking keys the stack file holds in plain text: in the file and the state for anyone to read. */
function plainSecretProblems(keys: string[], configNamespace: string, isSecret: (key: string) => boolean): string[] {
    return keys
        .filter((key) => secretLookingConfigKey(key, configNamespace) && !isSecret(key))
        .sort()
        .map((key) => {
            const name = key.startsWith(`${configNamespace}:`) ? key.slice(configNamespace.length + 1) : key;
            return `${key}: is a secret and must not be plain text in the stack file: set it encrypted with pulumi config set --secret ${name} <value> (the file then holds it as secure: ...)`;
        });
}

/** registry.username goes with the secret registryPassword: one without the other cannot log in. */
function registryPasswordProblems(values: Record<string, unknown>, password: boolean, configNamespace: string): string[] {
    const registry = values.registry;
    const username = registry !== null && typeof registry === "object" ? (registry as Record<string, unknown>).username : undefined;
    if (username !== undefined && !password) {
        return [`${configNamespace}:registryPassword: is required with registry.username: pulumi config set --secret registryPassword <password or token>`];
    }
    if (username === undefined && password) {
        return [`${configNamespace}:registry.username: is required when the secret registryPassword is set (or remove registryPassword)`];
    }
    return [];
}

/**
 * What Pulumi hands the program for a key written with no value (`airflow:namespace:` alone, YAML
 * null): the Pulumi CLI (v3.277) passes an empty string and warns "No value for configuration key ...
 * This is currently treated as an empty string, but will be treated as null in a future version";
 * the JSON null of that future is the text "null". Either is a key without a value, never the string.
 */
const NO_VALUE = ["", "null"];

/** The raw text as the value its top-level schema expects: strings stay strings, anything else is JSON; no value is null. */
function decode(key: string, text: string): unknown {
    if (NO_VALUE.includes(text)) return null;
    const kind = schemaKind(shapeAt([])[key]);
    if (kind === "string" || kind === "enum") {
        return text;
    }
    try {
        return JSON.parse(text);
    } catch {
        return text; // not JSON: let the schema say what it expected
    }
}

/** The type of a schema under its defaults, optionals and pipes ("string", "boolean", "object", ...). */
function schemaKind(schema: any): string | undefined {
    while (schema?.def && ["default", "prefault", "optional", "nullable", "pipe"].includes(schema.def.type)) {
        schema = schema.def.innerType ?? schema.def.in;
    }
    return schema?.def?.type;
}

function describeIssue(issue: z.core.$ZodIssue, configNamespace: string): string {
    const [top, ...rest] = issue.path.map(String);
    const key = top === undefined ? `${configNamespace}:<root>` : `${configNamespace}:${top}${rest.length ? "." + rest.join(".") : ""}`;
    if (issue.code === "unrecognized_keys") {
        const allowed = Object.keys(shapeAt(issue.path.map(String)));
        const where = top === undefined ? `${configNamespace}:` : `${key}: `;
        return `${where}unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; allowed: ${allowed.join(", ")}`;
    }
    // A key the schema needs but the config lacks (zod: "expected string, received undefined"), or one
    // written without a value (YAML null): said as such, not as a type mismatch.
    if ((issue.code === "invalid_type" || issue.code === "invalid_value") && (issue.input === undefined || issue.input === null)) {
        if (issue.input === null) return `${key}: must not be empty: the stack file gives it no value (YAML null, e.g. the key with nothing after its colon); give it a value, or remove the key (one with a default then takes it)`;
        return `${key}: is required${issue.code === "invalid_value" ? `: one of ${issue.values.map((v) => JSON.stringify(v)).join("|")}` : ""}`;
    }
    // Show the offending value when it is a scalar or short list; a whole object only adds noise.
    const redact = issue.code === "custom" && issue.params?.redact === true;
    const input = "input" in issue && !redact ? issue.input : undefined;
    const got = input !== undefined && (typeof input !== "object" || JSON.stringify(input).length <= 80) ? ` (got ${JSON.stringify(input)})` : "";
    // A bad record key (e.g. an env var name) carries the key's own problem one level down.
    const message = issue.code === "invalid_key" ? issue.issues.map((i) => i.message).join("; ") : issue.message;
    return `${key}: ${message}${got}`;
}

/** The object shape at a path of the schema, to list the allowed keys next to an unknown one. */
function shapeAt(path: string[]): Record<string, unknown> {
    let schema: any = stackConfigSchema;
    for (const segment of [undefined, ...path]) {
        // unwrap refinements, defaults and optionals down to the object (or the list or map holding it)
        while (schema && !schema.shape && schema.def && !["array", "record"].includes(schema.def.type)) {
            schema = schema.def.innerType ?? schema.def.in ?? schema.def.schema;
        }
        if (segment === undefined) continue;
        // an item of a list (extraContainers.0) or a value of a map
        schema = schema?.def?.type === "array" ? schema.def.element : schema?.def?.type === "record" ? schema.def.valueType : schema?.shape?.[segment];
    }
    while (schema && !schema.shape && schema.def) {
        schema = schema.def.innerType ?? schema.def.in ?? schema.def.schema;
    }
    return schema?.shape ?? {};
}
