// Stack configuration: one zod schema, read once, validated before any resource exists.
//
// Every key lives in the project's config namespace (`airflow:<key>` in Pulumi.<stack>.yaml).
// Unknown keys are errors too: a typo such as `schedulr` must not silently fall back to a default.
import { z } from "zod";

export const DEFAULT_AIRFLOW_VERSION = "3.3.2";

const dnsLabel = z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS label: lowercase letters, digits and '-', at most 63 characters");

const quantity = z
    .string()
    .regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, "must be a Kubernetes quantity such as 250m, 1, 512Mi or 20Gi");

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

// Secrets are never accepted as plain env: these names are wired from Kubernetes Secrets.
const reservedEnv = new Set([
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
]);
const extraEnv = z
    .record(envName, z.string())
    .refine((env) => Object.keys(env).every((k) => !reservedEnv.has(k)), {
        message: `must not set ${[...reservedEnv].join(", ")}: they come from generated Kubernetes Secrets`,
    })
    .prefault({});

const imageRef = z
    .string()
    .regex(/^[a-z0-9]+([._/:-][a-zA-Z0-9_.-]+)*(@sha256:[a-f0-9]{64})?$/, "must be an image reference such as apache/airflow:3.3.2 or registry/image@sha256:<digest>");

export interface ResourceDefaults {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

const resources = (d: ResourceDefaults) =>
    z
        .strictObject({
            requests: z
                .strictObject({ cpu: quantity.default(d.requests.cpu), memory: quantity.default(d.requests.memory) })
                .prefault({}),
            limits: z
                .strictObject({ cpu: quantity.default(d.limits.cpu), memory: quantity.default(d.limits.memory) })
                .prefault({}),
        })
        .prefault({});

const toleration = z.strictObject({
    key: z.string().optional(),
    operator: z.enum(["Exists", "Equal"]).optional(),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z.int().optional(),
});

/** The knobs every Airflow component has, in the same shape (as in the official Helm chart). */
const placement = {
    nodeSelector: z.record(z.string(), z.string()).prefault({}),
    tolerations: z.array(toleration).prefault([]),
    extraEnv,
};

const workloadShape = (replicas: number, d: ResourceDefaults) => ({
    replicas: z.int().min(1).max(20).default(replicas),
    resources: resources(d),
    ...placement,
});
const workload = (replicas: number, d: ResourceDefaults) => z.strictObject(workloadShape(replicas, d)).prefault({});

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

        images: z
            .strictObject({
                /** A prebuilt Airflow image (DAGs included or synced by git-sync). Ignored when build.enabled. */
                airflow: imageRef.optional(),
                pullPolicy: z.enum(["IfNotPresent", "Always", "Never"]).default("IfNotPresent"),
                postgres: imageRef.default("postgres:17.6-bookworm"),
                gitSync: imageRef.default("registry.k8s.io/git-sync/git-sync:v4.4.2"),
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
            })
            .prefault({}),

        registry: z
            .strictObject({
                /** Registry host and path images are pushed to, e.g. europe-docker.pkg.dev/proj/airflow. */
                server: z.string().optional(),
                /** The password is the secret config key `registryPassword` (`pulumi config set --secret`). */
                username: z.string().optional(),
                /** Create an Artifact Registry repository and push with gcloud credentials. */
                artifactRegistry: z
                    .strictObject({
                        project: z.string(),
                        location: z.string(),
                        repositoryId: dnsLabel.default("airflow"),
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

        scheduler: workload(1, medium),
        apiServer: z
            .strictObject({
                ...workloadShape(1, medium),
                /** uvicorn worker processes per API server pod. */
                workers: z.int().min(1).max(16).default(2),
            })
            .prefault({}),
        dagProcessor: workload(1, medium),
        triggerer: workload(1, small),

        /** Worker pods launched by the KubernetesExecutor, one per task. */
        workers: z
            .strictObject({
                resources: resources(small),
                ...placement,
                /** Delete worker pods when the task ends; failed pods can be kept for debugging. */
                deleteOnSuccess: z.boolean().default(true),
                deleteOnFailure: z.boolean().default(true),
            })
            .prefault({}),

        database: z
            .strictObject({
                /** `internal`: a Postgres StatefulSet here. `external`: an existing Secret holds the connection URI. */
                mode: z.enum(["internal", "external"]).default("internal"),
                storageSize: quantity.default("8Gi"),
                storageClassName: z.string().optional(),
                resources: resources(small),
                /** external mode: Secret name and key holding a SQLAlchemy URI (postgresql+psycopg2://...). */
                externalSecretName: dnsLabel.optional(),
                externalSecretKey: z.string().default("connection"),
            })
            .prefault({})
            .refine((db) => db.mode !== "external" || db.externalSecretName !== undefined, {
                message: "is required when mode is external",
                path: ["externalSecretName"],
            }),

        storage: z
            .strictObject({
                /** `pvc`: RWX claims on a StorageClass. `filestore`: a GCP Filestore share. `existing`: claims by name. */
                mode: z.enum(["pvc", "filestore", "existing"]).default("pvc"),
                storageClassName: z.string().optional(),
                dagsSize: quantity.default("5Gi"),
                logsSize: quantity.default("20Gi"),
                /** existing mode: claim names. The logs claim may be omitted when remote logging is on. */
                dagsClaimName: dnsLabel.optional(),
                logsClaimName: dnsLabel.optional(),
                /** One share with dags/ and logs/ sub-paths instead of two volumes. */
                singleShare: z.boolean().default(false),
                filestore: z
                    .strictObject({
                        project: z.string().optional(),
                        /** Zone for BASIC_* and ZONAL tiers, region for REGIONAL and ENTERPRISE. */
                        location: z.string(),
                        tier: z.enum(["BASIC_HDD", "BASIC_SSD", "ZONAL", "REGIONAL", "ENTERPRISE"]).default("BASIC_HDD"),
                        capacityGb: z.int().default(1024),
                        network: z.string().default("default"),
                        shareName: z.string().regex(/^[a-z][a-z0-9_]{0,15}$/, "must be a Filestore share name: lowercase, digits, '_', at most 16").default("airflow"),
                    })
                    .optional(),
            })
            .prefault({}),

        logging: z
            .strictObject({
                /** Remote task logs, e.g. gs://bucket/airflow-logs. Logs stay readable after worker pods are gone. */
                remoteBaseLogFolder: z.string().regex(/^(gs|s3|wasb):\/\/.+/, "must be a gs://, s3:// or wasb:// URL").optional(),
                remoteConnId: z.string().default("google_cloud_default"),
            })
            .prefault({}),

        gitSync: z
            .strictObject({
                enabled: z.boolean().default(false),
                /** `cronjob`: one sync per schedule onto shared storage. `sidecar`: continuous sync in each DAG-reading pod. */
                mode: z.enum(["cronjob", "sidecar"]).default("cronjob"),
                repo: z.string().regex(/^(https:\/\/|ssh:\/\/|git@|file:\/\/).+/, "must be an https://, ssh://, git@ or file:// URL").optional(),
                ref: z.string().default("main"),
                /** Folder inside the repository that holds the DAG files. */
                subPath: z.string().default(""),
                schedule: z.string().regex(/^(@(hourly|daily|weekly)|(\S+\s+){4}\S+)$/, "must be a cron schedule such as */5 * * * *").default("*/5 * * * *"),
                /** sidecar mode: time between syncs. */
                period: z.string().regex(/^\d+(s|m)$/, "must be a duration such as 30s or 2m").default("60s"),
                auth: z.enum(["none", "https", "ssh"]).default("none"),
                /** Secret holding credentials: `username` + `password` (https) or `ssh` + `known_hosts` (ssh). */
                credentialsSecretName: dnsLabel.optional(),
                resources: resources({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } }),
            })
            .prefault({})
            .refine((g) => !g.enabled || g.repo !== undefined, { message: "is required when gitSync is enabled", path: ["repo"] })
            .refine((g) => g.auth === "none" || g.credentialsSecretName !== undefined, {
                message: "is required when auth is https or ssh",
                path: ["credentialsSecretName"],
            }),

        ui: z
            .strictObject({
                serviceType: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).default("ClusterIP"),
                port: z.int().min(1).max(65535).default(8080),
                /** `fab`: users in the metadata database (an admin is created). `simple`: Airflow's development auth. */
                authManager: z.enum(["fab", "simple"]).default("fab"),
                adminUsername: z.string().default("admin"),
                /** CIDRs allowed to reach the UI when network policies are on. */
                allowedCidrs: z.array(z.string().regex(/^[0-9a-f.:]+\/\d+$/, "must be a CIDR")).default(["0.0.0.0/0"]),
            })
            .prefault({}),

        /** Standalone architecture: one pod with Postgres + Airflow (LocalExecutor). */
        standalone: z
            .strictObject({
                storageSize: quantity.default("8Gi"),
                storageClassName: z.string().optional(),
                parallelism: z.int().min(1).max(64).default(4),
                resources: resources({ requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "2", memory: "4Gi" } }),
            })
            .prefault({}),

        /** DAG files are baked into the Airflow image (the DAG image) instead of a volume or git-sync. */
        dagsInImage: z.boolean().default(false),
        /** Extra non-secret Airflow settings for every Airflow container, e.g. AIRFLOW__CORE__PARALLELISM. */
        extraEnv,
        /** Default-deny NetworkPolicies plus the allows each component needs. */
        networkPolicies: z.boolean().default(true),
    })
    .superRefine((c, ctx) => {
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
            const min = filestoreMinimumGb[fs.tier];
            if (fs.capacityGb < min) {
                ctx.addIssue({
                    code: "custom",
                    path: ["storage", "filestore", "capacityGb"],
                    input: fs.capacityGb,
                    message: `must be at least ${min} for tier ${fs.tier}`,
                });
            }
        }
        if (c.gitSync.enabled && c.architecture === "production" && c.gitSync.mode === "cronjob" && c.storage.mode === "existing" && c.storage.dagsClaimName === undefined) {
            ctx.addIssue({ code: "custom", path: ["storage", "dagsClaimName"], message: "is required for the git-sync CronJob to write DAGs to" });
        }
        if ((c.images.build.enabled || Object.keys(c.images.tasks).length > 0) && c.registry.server === undefined && c.registry.artifactRegistry === undefined && c.infrastructure?.registryOutput === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["registry", "server"],
                message: "is required when images.build.enabled or images.tasks is set (or set registry.artifactRegistry or infrastructure.registryOutput)",
            });
        }
    });

/** Smallest capacity (GiB) Filestore accepts per tier. */
export const filestoreMinimumGb: Record<string, number> = {
    BASIC_HDD: 1024,
    BASIC_SSD: 2560,
    ZONAL: 1024,
    REGIONAL: 1024,
    ENTERPRISE: 1024,
};

export type StackConfig = z.output<typeof stackConfigSchema>;
export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type ResourceSettings = StackConfig["scheduler"]["resources"];
export type WorkloadSettings = StackConfig["scheduler"];
export type PlacementSettings = Pick<WorkloadSettings, "nodeSelector" | "tolerations" | "extraEnv">;

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
 * Parses raw config values, as Pulumi stores them (strings; structured values as JSON), keyed by the
 * bare key (`scheduler`, not `airflow:scheduler`). `namespace` names the config namespace in messages.
 */
export function parseStackConfig(raw: Record<string, string>, configNamespace = "airflow"): StackConfig {
    const values: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(raw)) {
        if ((SECRET_CONFIG_KEYS as readonly string[]).includes(key)) continue;
        values[key] = decode(text);
    }
    const result = stackConfigSchema.safeParse(values, { reportInput: true });
    if (result.success) {
        return result.data;
    }
    throw new StackConfigError(result.error.issues.map((issue) => describeIssue(issue, configNamespace)));
}

function decode(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text; // a plain string value
    }
}

function describeIssue(issue: z.core.$ZodIssue, configNamespace: string): string {
    const [top, ...rest] = issue.path.map(String);
    const key = top === undefined ? `${configNamespace}:<root>` : `${configNamespace}:${top}${rest.length ? "." + rest.join(".") : ""}`;
    if (issue.code === "unrecognized_keys") {
        const allowed = Object.keys(shapeAt(issue.path.map(String)));
        const where = top === undefined ? `${configNamespace}:` : `${key}: `;
        return `${where}unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; allowed: ${allowed.join(", ")}`;
    }
    // Show the offending value when it is a scalar or short list; a whole object only adds noise.
    const input = "input" in issue ? issue.input : undefined;
    const got = input !== undefined && (typeof input !== "object" || JSON.stringify(input).length <= 80) ? ` (got ${JSON.stringify(input)})` : "";
    // A bad record key (e.g. an env var name) carries the key's own problem one level down.
    const message = issue.code === "invalid_key" ? issue.issues.map((i) => i.message).join("; ") : issue.message;
    return `${key}: ${message}${got}`;
}

/** The object shape at a path of the schema, to list the allowed keys next to an unknown one. */
function shapeAt(path: string[]): Record<string, unknown> {
    let schema: any = stackConfigSchema;
    for (const segment of [undefined, ...path]) {
        // unwrap refinements, defaults and optionals down to the object
        while (schema && !schema.shape && schema.def) {
            schema = schema.def.innerType ?? schema.def.in ?? schema.def.schema;
        }
        if (segment === undefined) continue;
        schema = schema?.shape?.[segment];
    }
    while (schema && !schema.shape && schema.def) {
        schema = schema.def.innerType ?? schema.def.in ?? schema.def.schema;
    }
    return schema?.shape ?? {};
}
