// The Airflow settings (AIRFLOW__<SECTION>__<KEY> environment variables) this package sets itself.
//
// The code that renders them takes their names from here and nowhere else, and the config schema
// refuses the same names in extraEnv and secretEnv: one list, so an override of something the
// package owns (the executor, the DAG folder, the database URI, ...) can never slip through.
// No imports: the config (components/config/) reads this module before any component exists.

/** Set in every architecture. */
export const AIRFLOW_ENV = {
    executor: "AIRFLOW__CORE__EXECUTOR",
    dagsFolder: "AIRFLOW__CORE__DAGS_FOLDER",
    loadExamples: "AIRFLOW__CORE__LOAD_EXAMPLES",
    executionApiServerUrl: "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    authManager: "AIRFLOW__CORE__AUTH_MANAGER",
    simpleAuthManagerUsers: "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    simpleAuthManagerPasswordsFile: "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    fernetKey: "AIRFLOW__CORE__FERNET_KEY",
    sqlAlchemyConn: "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    jwtSecret: "AIRFLOW__API_AUTH__JWT_SECRET",
    // keys.generation above 0 (the scheduler and API server): sign with this key, trust this JWKS
    jwtPrivateKeyPath: "AIRFLOW__API_AUTH__JWT_PRIVATE_KEY_PATH",
    trustedJwksUrl: "AIRFLOW__API_AUTH__TRUSTED_JWKS_URL",
    jwtKid: "AIRFLOW__API_AUTH__JWT_KID",
    apiSecretKey: "AIRFLOW__API__SECRET_KEY",
    apiPort: "AIRFLOW__API__PORT",
    apiWorkers: "AIRFLOW__API__WORKERS",
    baseLogFolder: "AIRFLOW__LOGGING__BASE_LOG_FOLDER",
    remoteLogging: "AIRFLOW__LOGGING__REMOTE_LOGGING",
    remoteBaseLogFolder: "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER",
    remoteLogConnId: "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID",
    executorNamespace: "AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE",
    podTemplateFile: "AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE",
    deleteWorkerPods: "AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS",
    deleteWorkerPodsOnFailure: "AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS_ON_FAILURE",
    schedulerHealthCheck: "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK",
    schedulerHealthCheckPort: "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
    // production only, each when its feature is on (ui.ingress or ui.baseUrl, ui.webserverConfig, metrics)
    apiBaseUrl: "AIRFLOW__API__BASE_URL",
    fabConfigFile: "AIRFLOW__FAB__CONFIG_FILE",
    fabEnableProxyFix: "AIRFLOW__FAB__ENABLE_PROXY_FIX",
    statsdOn: "AIRFLOW__METRICS__STATSD_ON",
    statsdHost: "AIRFLOW__METRICS__STATSD_HOST",
    statsdPort: "AIRFLOW__METRICS__STATSD_PORT",
    statsdPrefix: "AIRFLOW__METRICS__STATSD_PREFIX",
} as const;

/** The kid of a keys.generation's JWT signing key ([api_auth] jwt_kid), as the JWKS names it. */
export function jwtKid(generation: number): string {
    return `airflow-g${generation}`;
}

/** Set only by the standalone pod; in production they are the user's to tune through extraEnv. */
export const STANDALONE_AIRFLOW_ENV = {
    parallelism: "AIRFLOW__CORE__PARALLELISM",
} as const;

/** Set in every Airflow process when the config has DAG bundles (dagBundles); the user's own otherwise. */
export const BUNDLE_AIRFLOW_ENV = {
    dagBundleConfigList: "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
    dagBundleStoragePath: "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH",
} as const;

/**
 * The Airflow connection of a DAG bundle and the env vars that carry it: its id (`git_bundle_` and
 * the name with '-' as '_', so the env var name is a plain identifier), AIRFLOW_CONN_<ID>, and the
 * variables the https credentials are read into from the Secret.
 */
export function dagBundleConnection(bundleName: string): { connId: string; envName: string; usernameEnv: string; passwordEnv: string } {
    const connId = `git_bundle_${bundleName.replace(/-/g, "_")}`;
    const upper = connId.toUpperCase();
    return { connId, envName: `AIRFLOW_CONN_${upper}`, usernameEnv: `${upper}_USERNAME`, passwordEnv: `${upper}_PASSWORD` };
}

/**
 * Set by the package as a default it derives from the config, and left to the user: extraEnv or
 * secretEnv may override them (a component's own beats the stack-wide one, as for any variable).
 */
export const DERIVED_AIRFLOW_ENV = {
    /** How often the dag-processor looks for new files: the DAG source's period (see dagSourcePeriodSeconds). */
    dagProcessorRefreshInterval: "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL",
    /** How often the dag-processor re-parses a file it knows (a bundle's new commit lands at that parse): never longer than the period. */
    dagProcessorMinFileProcessInterval: "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",
} as const;

/** The names the package owns in an architecture, sorted. */
export function ownedAirflowEnv(architecture: "production" | "standalone"): string[] {
    const names: string[] = Object.values(AIRFLOW_ENV);
    return (architecture === "standalone" ? [...names, ...Object.values(STANDALONE_AIRFLOW_ENV)] : names).sort();
}

/** `[core] auth_manager` for each ui.authManager. */
export const AUTH_MANAGERS = {
    fab: "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    simple: "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
} as const;

/** Airflow's StatsD prefix: metric names start with `airflow.`. */
export const STATSD_PREFIX = "airflow";
