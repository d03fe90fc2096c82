// The rules across sections of the stack config, as one table: each entry checks the parsed config
// (defaults applied) and returns its problems, reported by config key like the schema's own. The
// schema runs them in this order (parse.ts: stackConfigSchema) once every section is valid.
//
// To add a rule, write a function `(c: StackConfig) => ConfigIssue[]` (in its own module if it is
// more than a few lines) and add an entry to CROSS_FIELD_RULES.
import { BUNDLE_AIRFLOW_ENV, dagBundleConnection, ownedAirflowEnv, STANDALONE_AIRFLOW_ENV } from "../airflowSettings";
import { ephemeralStorageProblems } from "../ephemeralStorage";
import { filestoreCapacityGb } from "./constants";
import { dagsFromClaim, extraMountPaths } from "./ownMounts";
import type { StackConfig } from "./schema";
import { ownedEnvMessage, secretLookingEnvName } from "./secretEnv";
import { imageVersionMismatches } from "./warnings";

/** One problem of a config: its key as a path, what is wrong, and the value when it helps (never when `redact`). */
export interface ConfigIssue {
    path: (string | number)[];
    message: string;
    input?: unknown;
    /** The value may be a secret: the message never shows it. */
    redact?: boolean;
}

export interface CrossFieldRule {
    /** What the rule keeps from happening. */
    name: string;
    check: (c: StackConfig) => ConfigIssue[];
}

/** The standalone pod sets these too; production leaves them to extraEnv. */
function standaloneOwnedEnv(c: StackConfig): ConfigIssue[] {
    if (c.architecture !== "standalone") return [];
    const owned: string[] = Object.values(STANDALONE_AIRFLOW_ENV);
    return (["extraEnv", "secretEnv"] as const).flatMap((key) =>
        Object.keys(c[key])
            .filter((n) => owned.includes(n))
            .map((name) => ({ path: [key, name], redact: true, message: ownedEnvMessage(ownedAirflowEnv("standalone")) })),
    );
}

function webserverConfigNeedsFab(c: StackConfig): ConfigIssue[] {
    return c.ui.webserverConfig !== undefined && c.ui.authManager !== "fab"
        ? [{ path: ["ui", "webserverConfig"], message: "configures the FAB auth manager: set ui.authManager: fab, or remove it" }]
        : [];
}

/** Extra containers' env follows the same rule as extraEnv: nothing secret as a plain value. */
function extraContainerSecrets(c: StackConfig): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    for (const section of ["scheduler", "apiServer", "dagProcessor", "triggerer", "workers", "database", "gitSync"] as const) {
        for (const key of ["extraContainers", "extraInitContainers"] as const) {
            c[section][key].forEach((container, i) =>
                (container.env ?? []).forEach((e, j) => {
                    const why = e.value !== undefined ? secretLookingEnvName(e.name) : undefined;
                    if (why) {
                        issues.push({
                            path: [section, key, i, "env", j, "value"],
                            redact: true,
                            message: `${e.name} looks like a secret (${why}) and must not be a plain value: use valueFrom: {secretKeyRef: {name: <secret>, key: <key>}}`,
                        });
                    }
                }),
            );
        }
    }
    return issues;
}

function bundlesWithoutGitSync(c: StackConfig): ConfigIssue[] {
    return c.dagBundles.length && c.gitSync.enabled
        ? [
              {
                  path: ["dagBundles"],
                  message:
                      "cannot be combined with gitSync.enabled: git-sync's folder would be one unversioned bundle beside versioned ones, with a second way to reach the same git hosts; " +
                      "list each repository as a bundle instead (or keep gitSync and drop dagBundles)",
              },
          ]
        : [];
}

/** What the package sets for the bundles, in every env knob of every Airflow process. */
function bundleOwnedEnv(c: StackConfig): ConfigIssue[] {
    if (!c.dagBundles.length) return [];
    const bundleEnv = new Map<string, string>(
        Object.values(BUNDLE_AIRFLOW_ENV).map((name) => [name, `is set by this package from dagBundles (the package sets ${Object.values(BUNDLE_AIRFLOW_ENV).join(", ")})`]),
    );
    c.dagBundles.forEach((b, i) => {
        const conn = dagBundleConnection(b.name);
        for (const name of [conn.envName, conn.usernameEnv, conn.passwordEnv]) {
            bundleEnv.set(name, `is the connection of dagBundles.${i} (${b.name}), which the package makes from its repo and credentialsSecretName: pick another name`);
        }
    });
    const issues: ConfigIssue[] = [];
    for (const section of [undefined, "scheduler", "apiServer", "dagProcessor", "triggerer", "workers"] as const) {
        const env = section ? c[section] : c;
        for (const key of ["extraEnv", "secretEnv"] as const) {
            // extraEnv refuses secret-looking names (AIRFLOW_CONN_*, *_PASSWORD) already
            for (const name of Object.keys(env[key]).filter((n) => bundleEnv.has(n) && !(key === "extraEnv" && secretLookingEnvName(n)))) {
                issues.push({ path: [...(section ? [section] : []), key, name], redact: true, message: bundleEnv.get(name)! });
            }
        }
    }
    return issues;
}

function oneDagSource(c: StackConfig): ConfigIssue[] {
    return c.dagsInImage && c.gitSync.enabled ? [{ path: ["dagsInImage"], input: true, message: "cannot be combined with gitSync.enabled: pick one source of DAGs" }] : [];
}

function filestoreSettings(c: StackConfig): ConfigIssue[] {
    if (c.architecture === "production" && c.storage.mode === "filestore" && c.storage.filestore === undefined) {
        return [{ path: ["storage", "filestore"], message: "is required when storage.mode is filestore" }];
    }
    const fs = c.storage.filestore;
    if (c.storage.mode !== "filestore" || fs === undefined) return [];
    const issues: ConfigIssue[] = [];
    const [min, max] = filestoreCapacityGb[fs.tier];
    if (fs.capacityGb < min || fs.capacityGb > max) {
        issues.push({ path: ["storage", "filestore", "capacityGb"], input: fs.capacityGb, message: `must be at least ${min} and at most ${max} for tier ${fs.tier}` });
    }
    // BASIC_* and ZONAL instances live in a zone, REGIONAL and ENTERPRISE ones in a region.
    const zonal = ["BASIC_HDD", "BASIC_SSD", "ZONAL"].includes(fs.tier);
    if (zonal !== /-[a-z]$/.test(fs.location)) {
        issues.push({
            path: ["storage", "filestore", "location"],
            input: fs.location,
            message: `must be a ${zonal ? "zone (e.g. europe-west1-b)" : "region (e.g. europe-west1)"} for tier ${fs.tier}`,
        });
    }
    return issues;
}

function existingLogsClaim(c: StackConfig): ConfigIssue[] {
    return c.storage.mode === "existing" && c.storage.logsClaimName === undefined && c.logging.remoteBaseLogFolder === undefined
        ? [{ path: ["storage", "logsClaimName"], message: "is required in existing mode unless logging.remoteBaseLogFolder is set (task logs would vanish with the worker pods)" }]
        : [];
}

/** Production reads DAGs from the shared claim unless they come from the image or a git-sync sidecar. */
function existingDagsClaim(c: StackConfig): ConfigIssue[] {
    if (!(c.architecture === "production" && dagsFromClaim(c) && c.storage.mode === "existing" && c.storage.dagsClaimName === undefined)) return [];
    return [
        {
            path: ["storage", "dagsClaimName"],
            message: c.gitSync.enabled
                ? "is required for the git-sync CronJob to write DAGs to"
                : "is required in existing mode: the Airflow pods read DAGs from it (or set dagsInImage, dagBundles, or gitSync with mode sidecar)",
        },
    ];
}

function builtOrPrebuilt(c: StackConfig): ConfigIssue[] {
    return c.images.build.enabled && c.images.airflow !== undefined
        ? [
              {
                  path: ["images", "airflow"],
                  input: c.images.airflow,
                  message: "cannot be combined with images.build.enabled: the workloads run the built DAG image; drop one of them",
              },
          ]
        : [];
}

/** One task name, one image: the built and the prebuilt map become one task_images Variable, where one would replace the other. */
function oneImagePerTask(c: StackConfig): ConfigIssue[] {
    return Object.keys(c.images.taskImages)
        .filter((t) => t in c.images.tasks)
        .map((task) => ({
            path: ["images", "taskImages", task],
            input: c.images.taskImages[task],
            message: `is also built from images.tasks.${task}: one would replace the other in the task_images Variable; a task name is either built (images.tasks) or prebuilt (images.taskImages), so drop one or rename it`,
        }));
}

/** An image of another Airflow major version cannot run what is rendered for airflowVersion (api-server, the execution API, Airflow 3 settings). */
function airflowMajorVersion(c: StackConfig): ConfigIssue[] {
    const major = c.airflowVersion.split(".")[0];
    return imageVersionMismatches(c)
        .filter((m) => m.otherMajor)
        .map((m) => ({
            path: m.key.split("."),
            input: m.ref,
            message:
                `names Airflow ${m.versions.join(", ")} in its tag, another major version than airflowVersion ${c.airflowVersion}: the package deploys Airflow ` +
                `${major} (the api-server, the execution API, its settings), which that image does not run; use an Airflow ${major} image, ideally of airflowVersion (apache/airflow:${c.airflowVersion}), or a digest`,
        }));
}

function registryForBuilds(c: StackConfig): ConfigIssue[] {
    const builds = c.images.build.enabled || Object.keys(c.images.tasks).length > 0;
    return builds && c.registry.server === undefined && c.registry.artifactRegistry === undefined && c.infrastructure?.registryOutput === undefined
        ? [
              {
                  path: ["registry", "server"],
                  message: "is required when images.build.enabled or images.tasks is set (or set registry.artifactRegistry or infrastructure.registryOutput)",
              },
          ]
        : [];
}

export const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
    { name: "the standalone pod's own Airflow settings are not overridden", check: standaloneOwnedEnv },
    { name: "ui.webserverConfig goes with the FAB auth manager", check: webserverConfigNeedsFab },
    { name: "extra containers carry no secret as a plain env value", check: extraContainerSecrets },
    { name: "DAG bundles and gitSync are not combined", check: bundlesWithoutGitSync },
    { name: "the env the package sets for DAG bundles is not overridden", check: bundleOwnedEnv },
    { name: "DAGs come from the image or from git-sync, not both", check: oneDagSource },
    { name: "filestore mode has its settings, within the tier's limits", check: filestoreSettings },
    { name: "existing storage names a logs claim unless logs go to a bucket", check: existingLogsClaim },
    { name: "existing storage names a DAG claim when the pods read DAGs from one", check: existingDagsClaim },
    { name: "the Airflow image is built or prebuilt, not both", check: builtOrPrebuilt },
    { name: "a task image is built or prebuilt, not both", check: oneImagePerTask },
    { name: "the Airflow images are of airflowVersion's major version", check: airflowMajorVersion },
    { name: "built images have a registry to go to", check: registryForBuilds },
    // An ephemeral-storage limit the user sets must hold the emptyDirs its containers mount.
    { name: "ephemeral-storage limits hold the emptyDirs", check: ephemeralStorageProblems },
    // The API server refuses a second mount at a path of the same container (the worker pod template's at every task).
    { name: "extra mounts use paths the package does not mount in the same container", check: extraMountPaths },
];

/** Every cross-field problem of a config, in the table's order. */
export function crossFieldIssues(c: StackConfig): ConfigIssue[] {
    return CROSS_FIELD_RULES.flatMap((rule) => rule.check(c));
}
