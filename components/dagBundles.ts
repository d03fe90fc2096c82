// Airflow 3 DAG bundles from git (config dagBundles): what each Airflow pod gets for them.
//
// A GitDagBundle (apache-airflow-providers-git) is cloned by the processes that read its files:
// the dag-processor, which fetches it every refresh interval and records each commit it parses, and
// every worker pod, which clones the commit its DAG run recorded. Both get the bundle list, a
// storage path under their sized /tmp emptyDir (a bare clone plus one checkout per version), the
// bundle's connection and, for SSH, its key. The scheduler, the API server and the triggerer only
// name bundles (the `airflow dags ...` CLI with --bundle-name lists them; the deprecated view-URL
// lookup builds them), which needs the list but no credentials: each bundle's kwargs carry its
// repo_url, so a GitDagBundle builds without its connection there (GitDagBundle logs that and goes
// on when repo_url is given).
import * as k8s from "./kubernetes";
import { BUNDLE_AIRFLOW_ENV, dagBundleConnection } from "./airflowSettings";
import type { StackConfig } from "./config";
import { secretEnv } from "./podParts";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

export type DagBundleSettings = StackConfig["dagBundles"][number];

export const GIT_DAG_BUNDLE_CLASS = "airflow.providers.git.bundles.git.GitDagBundle";
export const LOCAL_DAG_BUNDLE_CLASS = "airflow.dag_processing.bundles.local.LocalDagBundle";
/** The DAG image's folder as a bundle: Airflow's default bundle, under its default name. */
export const DAGS_FOLDER_BUNDLE = "dags-folder";
/** Where bundles are cloned: inside /tmp, the sized emptyDir of every Airflow pod (the root filesystem is read-only). */
export const DAG_BUNDLE_STORAGE_PATH = "/tmp/airflow/dag-bundles";
/** Where the SSH keys and known_hosts of the bundles are mounted, one folder per bundle. */
export const DAG_BUNDLE_KEYS_DIR = "/etc/airflow/dag-bundles";
export const DAG_BUNDLE_KEYS_VOLUME = "dag-bundle-keys";

/** What the Airflow pods get for the bundles. */
export interface DagBundlePodParts {
    /** For every process that names bundles: `[dag_processor] dag_bundle_config_list`. */
    configEnv: EnvVar[];
    /** For the processes that clone them (dag-processor, workers): storage path and connections, then the SSH keys. */
    cloneEnv: EnvVar[];
    cloneVolumes: Volume[];
    cloneMounts: VolumeMount[];
}

/**
 * A literal env value, escaped for the kubelet, which expands `$(NAME)` in every `value` and turns
 * `$$` into `$`: a `$` in a URL or a ref stays a `$`.
 */
function literal(value: string): string {
    return value.replace(/\$/g, "$$$$");
}

/** `[dag_processor] dag_bundle_config_list`: the DAG image's folder first when it is a source, then each git bundle. Never a credential. */
export function dagBundleConfigList(bundles: DagBundleSettings[], withDagsFolder: boolean): string {
    return JSON.stringify([
        ...(withDagsFolder ? [{ name: DAGS_FOLDER_BUNDLE, classpath: LOCAL_DAG_BUNDLE_CLASS, kwargs: {} }] : []),
        ...bundles.map((b) => ({
            name: b.name,
            classpath: GIT_DAG_BUNDLE_CLASS,
            kwargs: {
                tracking_ref: b.ref,
                git_conn_id: dagBundleConnection(b.name).connId,
                repo_url: b.repo,
                ...(b.subdir ? { subdir: b.subdir } : {}),
                refresh_interval: b.refreshInterval,
            },
        })),
    ]);
}

/**
 * The connection of one bundle, as AIRFLOW_CONN_<ID> in Airflow's JSON form (conn_type git, host =
 * the repository URL), plus the variables it is assembled from. None for a public repository: the
 * bundle's repo_url is all it needs.
 *
 * https: the token must never sit in the pod spec (nor the Pulumi state), and Airflow reads a
 * connection from one variable. The kubelet assembles it: the username and token come from the
 * Secret by secretKeyRef into two variables declared first, and the connection's `value` refers to
 * them as $(NAME). The kubelet (makeEnvironmentVariables in pkg/kubelet/kubelet_pods.go, v1.34)
 * expands such references in `value` fields only, against the variables declared before it, and
 * inserts a Secret's bytes as they are, never expanding them again. So the spec holds only the
 * references, the process gets the same secret it would get from a plain secretKeyRef, and no
 * shell or init step is involved. What the kubelet does not do is JSON-escape: a username or token
 * with `"` or `\` breaks the connection (Airflow then fails to parse it, visibly); tokens of git
 * hosts are letters, digits, '_' and '-'.
 *
 * ssh: nothing secret in the connection: key_file and known_hosts_file name files of the mounted
 * Secret, and host keys are checked strictly against that known_hosts (never trust on first use).
 */
function connectionEnv(b: DagBundleSettings): EnvVar[] {
    const conn = dagBundleConnection(b.name);
    if (b.auth === "https") {
        // Placeholders JSON.stringify leaves recognisable (as \u0001, \u0002), swapped for the references after escaping.
        const json = literal(JSON.stringify({ conn_type: "git", host: b.repo, login: "\u0001", password: "\u0002" }))
            .replace('"\\u0001"', `"$(${conn.usernameEnv})"`)
            .replace('"\\u0002"', `"$(${conn.passwordEnv})"`);
        return [secretEnv(conn.usernameEnv, b.credentialsSecretName!, "username"), secretEnv(conn.passwordEnv, b.credentialsSecretName!, "password"), { name: conn.envName, value: json }];
    }
    if (b.auth === "ssh") {
        const dir = `${DAG_BUNDLE_KEYS_DIR}/${b.name}`;
        const extra = { key_file: `${dir}/ssh`, known_hosts_file: `${dir}/known_hosts`, strict_host_key_checking: "yes" };
        return [{ name: conn.envName, value: literal(JSON.stringify({ conn_type: "git", host: b.repo, extra })) }];
    }
    return [];
}

export function dagBundlePodParts(bundles: DagBundleSettings[], withDagsFolder: boolean): DagBundlePodParts {
    const ssh = bundles.filter((b) => b.auth === "ssh");
    return {
        configEnv: [{ name: BUNDLE_AIRFLOW_ENV.dagBundleConfigList, value: literal(dagBundleConfigList(bundles, withDagsFolder)) }],
        cloneEnv: [{ name: BUNDLE_AIRFLOW_ENV.dagBundleStoragePath, value: DAG_BUNDLE_STORAGE_PATH }, ...bundles.flatMap(connectionEnv)],
        // One volume for every SSH bundle's key and known_hosts, <bundle>/ssh and <bundle>/known_hosts.
        // Mode 0440, owned by root with the pod's fsGroup 0: Airflow (uid 50000, gid 0) reads them through
        // the group, and ssh accepts a key that its user does not own.
        cloneVolumes: ssh.length
            ? [
                  {
                      name: DAG_BUNDLE_KEYS_VOLUME,
                      projected: {
                          defaultMode: 0o440,
                          sources: ssh.map((b) => ({
                              secret: {
                                  name: b.credentialsSecretName!,
                                  items: [
                                      { key: "ssh", path: `${b.name}/ssh` },
                                      { key: "known_hosts", path: `${b.name}/known_hosts` },
                                  ],
                              },
                          })),
                      },
                  },
              ]
            : [],
        cloneMounts: ssh.length ? [{ name: DAG_BUNDLE_KEYS_VOLUME, mountPath: DAG_BUNDLE_KEYS_DIR, readOnly: true }] : [],
    };
}
