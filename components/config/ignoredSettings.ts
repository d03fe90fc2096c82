// Settings written in the stack file that the chosen architecture or mode would ignore, as one
// table. They run on the config as the user wrote it (before defaults), so "set" means "written in
// the stack file", and they report through the same problem list as the schema.

type Raw = Record<string, unknown>;

interface Rule {
    /** Dotted key path, as written in the stack file. */
    path: string;
    /** When the rule applies (the key is then refused if present). */
    when: (raw: Raw) => boolean;
    /** What the configuration supports instead. */
    why: (raw: Raw) => string;
}

function get(raw: Raw, path: string): unknown {
    return path.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Raw)[k] : undefined), raw);
}

const architecture = (raw: Raw) => (get(raw, "architecture") === "standalone" ? "standalone" : "production");
const standalone = (raw: Raw) => architecture(raw) === "standalone";
const gitSyncOn = (raw: Raw) => get(raw, "gitSync.enabled") === true;
const gitSyncMode = (raw: Raw) => (get(raw, "gitSync.mode") === "sidecar" || standalone(raw) ? "sidecar" : "cronjob");
const databaseMode = (raw: Raw) => (get(raw, "database.mode") === "external" ? "external" : "internal");
const storageMode = (raw: Raw) => String(get(raw, "storage.mode") ?? "pvc");
const on = (path: string) => (raw: Raw) => get(raw, path) === true;
/** Task logs land on a claim (not only in a bucket): what the log retention CronJob cleans. */
const logsOnClaim = (raw: Raw) => get(raw, "logging.remoteBaseLogFolder") === undefined || get(raw, "storage.logsClaimName") !== undefined;

/** The keys every component's pods share (scheduling and extension points). */
const POD_KEYS = [
    "nodeSelector",
    "tolerations",
    "extraVolumes",
    "extraVolumeMounts",
    "extraContainers",
    "extraInitContainers",
    "podAnnotations",
    "podLabels",
    "affinity",
    "topologySpreadConstraints",
    "priorityClassName",
];
/** Keys of an object that only matter while its `enabled` is true. */
const offWhileDisabled = (section: string, keys: string[], enable = `${section}.enabled`): Rule[] =>
    keys.map((key) => ({
        path: `${section}.${key}`,
        when: (raw) => get(raw, section) !== undefined && !on(enable)(raw),
        why: () => `has no effect while ${enable} is not true: set ${enable}: true, or remove it`,
    }));

const STANDALONE =
    "it runs every Airflow process in one pod with the LocalExecutor and reads standalone.* (storageSize, storageClassName, " +
    "parallelism, resources, tmpSize, homeSize), database.resources and gitSync (as a sidecar)";

const IGNORED_SETTINGS: Rule[] = [
    // --- what one architecture has and the other has not ---
    ...[
        "scheduler",
        "apiServer",
        "dagProcessor",
        "triggerer",
        "workers",
        "storage",
        "logging.remoteBaseLogFolder",
        "retention",
        "metrics",
        "ui.ingress",
        "ui.baseUrl",
        "ui.webserverConfig",
        "database.pgbouncer",
    ].map((path): Rule => ({ path, when: standalone, why: () => `is not used by the standalone architecture: ${STANDALONE}; set architecture: production to use it` })),
    ...[
        "database.mode",
        "database.storageSize",
        "database.storageClassName",
        "database.externalSecretName",
        "database.externalSecretKey",
        ...POD_KEYS.map((k) => `database.${k}`),
    ].map(
        (path): Rule => ({
            path,
            when: (raw) => standalone(raw) && !(path === "database.mode" && get(raw, path) === "internal"),
            why: () =>
                "is not used by the standalone architecture: its Postgres runs in the pod with data on standalone.storageSize and standalone.storageClassName; only database.resources applies",
        }),
    ),
    {
        path: "gitSync.mode",
        when: (raw) => standalone(raw) && get(raw, "gitSync.mode") === "cronjob",
        why: () =>
            "cronjob is not supported by the standalone architecture, which has no shared volume: it syncs with a sidecar every gitSync.period; drop the key or set mode: sidecar",
    },
    {
        path: "standalone",
        when: (raw) => !standalone(raw),
        why: () => "is only used when architecture is standalone; production sizes each component (scheduler, apiServer, dagProcessor, triggerer, workers, database, storage)",
    },
    // --- what one mode reads and the other ignores ---
    ...["database.externalSecretName", "database.externalSecretKey"].map(
        (path): Rule => ({ path, when: (raw) => !standalone(raw) && databaseMode(raw) === "internal", why: () => "is only used when database.mode is external" }),
    ),
    ...["database.storageSize", "database.storageClassName", "database.resources", ...POD_KEYS.map((k) => `database.${k}`)].map(
        (path): Rule => ({
            path,
            when: (raw) => databaseMode(raw) === "external",
            why: () => "is only used by the internal Postgres (database.mode internal); an external database is sized elsewhere",
        }),
    ),
    ...(
        [
            ["storage.storageClassName", ["pvc"]],
            ["storage.dagsSize", ["pvc"]],
            ["storage.logsSize", ["pvc"]],
            ["storage.dagsClaimName", ["existing"]],
            ["storage.logsClaimName", ["existing"]],
            ["storage.singleShare", ["pvc", "existing"]],
            ["storage.filestore", ["filestore"]],
        ] as const
    ).map(
        ([path, modes]): Rule => ({
            path,
            when: (raw) => !standalone(raw) && !(modes as readonly string[]).includes(storageMode(raw)),
            why: (raw) => `is only used when storage.mode is ${modes.join(" or ")} (it is ${storageMode(raw)})`,
        }),
    ),
    {
        path: "gitSync.schedule",
        when: (raw) => gitSyncOn(raw) && gitSyncMode(raw) === "sidecar",
        why: (raw) => `is only used by the git-sync CronJob; ${standalone(raw) ? "the standalone pod syncs with a sidecar" : "the sidecar syncs"} every gitSync.period`,
    },
    {
        path: "gitSync.period",
        when: (raw) => gitSyncOn(raw) && gitSyncMode(raw) === "cronjob",
        why: () => "is only used in gitSync.mode sidecar; the CronJob syncs on gitSync.schedule",
    },
    ...POD_KEYS.map(
        (key): Rule => ({
            path: `gitSync.${key}`,
            when: (raw) => gitSyncOn(raw) && gitSyncMode(raw) === "sidecar",
            why: () =>
                "is only used by the git-sync CronJob's pods; the sidecar runs inside the Airflow pods, which take these settings in their own sections (scheduler, dagProcessor, ...)",
        }),
    ),
    ...["mode", "repo", "ref", "subPath", "schedule", "period", "auth", "credentialsSecretName", "allowInsecureTransport", "resources", ...POD_KEYS].map(
        (key): Rule => ({
            path: `gitSync.${key}`,
            when: (raw) => get(raw, "gitSync") !== undefined && !gitSyncOn(raw),
            why: () => "has no effect while gitSync.enabled is not true: set gitSync.enabled: true, or remove the gitSync settings",
        }),
    ),
    ...["server", "username", "artifactRegistry"].map(
        (key): Rule => ({
            path: `registry.${key}`,
            when: (raw) => get(raw, "images.build.enabled") !== true && Object.keys((get(raw, "images.tasks") as Raw | undefined) ?? {}).length === 0,
            why: () => "is only used to push built images: set images.build.enabled or images.tasks, or remove the registry settings",
        }),
    ),
    // --- what a feature reads only while it is on ---
    ...offWhileDisabled("ui.ingress", ["className", "host", "pathPrefix", "tlsSecretName", "annotations", "controllerNamespace", "forwardedAllowIps"]),
    ...offWhileDisabled("apiServer.autoscaling", ["minReplicas", "maxReplicas", "targetCPUUtilizationPercentage"]),
    ...offWhileDisabled("database.pgbouncer", ["image", "replicas", "poolMode", "maxClientConnections", "defaultPoolSize", "resources"]),
    ...offWhileDisabled("metrics", ["image", "serviceMonitor", "scrapeInterval", "scraperNamespace", "resources"]),
    ...offWhileDisabled("database.backup", ["retain", "schedule", "storageSize", "storageClassName", "claimName", "resources"]),
    ...["storageSize", "storageClassName"].map(
        (key): Rule => ({
            path: `database.backup.${key}`,
            when: (raw) => get(raw, "database.backup.claimName") !== undefined,
            why: () => "sizes the snapshot claim the package makes, and database.backup.claimName names an existing one instead: remove one of them",
        }),
    ),
    {
        path: "database.backup.schedule",
        when: standalone,
        why: () =>
            "is not used by the standalone architecture, whose Postgres runs in the Airflow pod: take snapshots with npm run db:restore -- --snapshot-now (docs/operations.md)",
    },
    {
        path: "database.backup.resources",
        when: standalone,
        why: () => "is not used by the standalone architecture: its snapshots and restores run in the pod's Postgres container, sized by database.resources",
    },
    {
        path: "metrics.scrapeInterval",
        when: (raw) => on("metrics.enabled")(raw) && !on("metrics.serviceMonitor")(raw),
        why: () => "is the ServiceMonitor's interval: set metrics.serviceMonitor: true, or remove it",
    },
    {
        path: "apiServer.replicas",
        when: on("apiServer.autoscaling.enabled"),
        why: () => "is left to the HorizontalPodAutoscaler while apiServer.autoscaling.enabled is true: set apiServer.autoscaling.minReplicas and maxReplicas instead",
    },
    {
        path: "ui.baseUrl",
        when: on("ui.ingress.enabled"),
        why: () => "is made from ui.ingress (https when tlsSecretName is set, host, pathPrefix) while the Ingress is on: remove it",
    },
    {
        path: "retention.logs",
        when: (raw) => !standalone(raw) && !logsOnClaim(raw),
        why: () => "cleans the shared log claim, and task logs go only to logging.remoteBaseLogFolder: expire them with the bucket's lifecycle rule instead",
    },
    ...["ui.allowedCidrs", "network"].map(
        (path): Rule => ({
            path,
            when: (raw) => get(raw, "networkPolicies") === false,
            why: () => "is read by the NetworkPolicies, which networkPolicies: false turns off",
        }),
    ),
    ...["baseContext", "baseImage", "dagsContext", "platform"].map(
        (key): Rule => ({
            path: `images.build.${key}`,
            when: (raw) => get(raw, "images.build.enabled") !== true,
            why: () => "is only used when images.build.enabled is true",
        }),
    ),
];

/** Settings written in the stack file that the chosen architecture or mode would ignore. */
export function ignoredSettingProblems(raw: Raw, configNamespace: string): string[] {
    const problems = new Map<string, string>();
    for (const rule of IGNORED_SETTINGS) {
        if (get(raw, rule.path) !== undefined && rule.when(raw) && !problems.has(rule.path)) {
            problems.set(rule.path, `${configNamespace}:${rule.path}: ${rule.why(raw)}`);
        }
    }
    return [...problems.values()];
}
