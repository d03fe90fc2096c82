// DAGs from the lab's git server, as the level-2 scenario and `npm run lab:timings` drive them: the
// stack settings of an SSH DAG bundle, a repository holding versions of one DAG (lab_versioned, whose
// marker file changes with each commit), and what Airflow's REST API says it parsed.
import * as fs from "fs";
import * as path from "path";
import { LAB_DIR } from "../kubectl";
import { AirflowApi } from "./airflowApi";
import { labImages, labServesUpstream, seconds, waitFor } from "./cluster";
import { labStackOverrides } from "./deploy";
import { GIT_NAMESPACE, GIT_SERVER_LABELS, GitServer, GitWorkspace } from "./gitServer";

/** The DAG the lab pushes (lab/testdata/git/lab_versioned.py). */
export const VERSIONED_DAG = fs.readFileSync(path.join(LAB_DIR, "testdata", "git", "lab_versioned.py"), "utf8");
export const BUNDLE = "lab-repo";
/** The Secret (ssh and known_hosts) the bundle reads, made by the lab in the stack's namespace. */
export const BUNDLE_SECRET = "lab-git-ssh";
export const BUNDLE_REFRESH_SECONDS = 10;

/** Stack settings: one DAG bundle over SSH from the git server's `dags` repository, and egress to the server. */
export function bundleStackOverrides(server: GitServer): Record<string, unknown> {
    return {
        dagBundles: [{ name: BUNDLE, repo: server.sshUrl("dags"), auth: "ssh", credentialsSecretName: BUNDLE_SECRET, refreshInterval: BUNDLE_REFRESH_SECONDS, subdir: "dags" }],
        network: gitEgress(),
    };
}

/** network settings that let the DAG sources reach the lab's git server (a private destination). */
export function gitEgress(): Record<string, unknown> {
    return { privateDestinations: [{ namespace: GIT_NAMESPACE, podLabels: GIT_SERVER_LABELS }] };
}

/** A repository of lab_versioned under dags/: each push is a new version, its marker `c<n>`. */
export class VersionedRepo {
    readonly commits: string[] = [];
    constructor(readonly work: GitWorkspace) {}
    push(): { sha: string; marker: string } {
        const marker = `c${this.commits.length + 1}`;
        const sha = this.work.commit({ "dags/lab_versioned.py": VERSIONED_DAG, "dags/marker.txt": `${marker}\n` }, `lab_versioned, marker ${marker}`);
        this.commits.push(sha);
        return { sha, marker };
    }
    get head(): { sha: string; marker: string } {
        return { sha: this.commits[this.commits.length - 1], marker: `c${this.commits.length}` };
    }
}

/** The DAG versions Airflow recorded for `dagId`: bundle and commit of each. */
export async function dagVersions(api: AirflowApi, dagId: string): Promise<{ version_number: number; bundle_name: string; bundle_version: string | null }[]> {
    return (await api.get(`/api/v2/dags/${dagId}/dagVersions?limit=100`)).dag_versions ?? [];
}

/** Seconds from `since` until Airflow has parsed lab_versioned at commit `sha`. */
export async function parsedAt(api: AirflowApi, sha: string, since: number, timeoutSec = 180): Promise<number> {
    await waitFor(`lab_versioned at ${sha.slice(0, 10)} to be parsed`, timeoutSec, async () =>
        (await dagVersions(api, "lab_versioned")).some((v) => v.bundle_version === sha) ? true : undefined,
    );
    return seconds(since);
}

/** The DAG is listed and not stale (its file is in a DAG folder or bundle). */
export async function dagPresent(api: AirflowApi, dagId: string): Promise<boolean> {
    const r = await api.request("GET", `/api/v2/dags/${dagId}`).catch(() => undefined);
    return !!r?.dag_id && r.is_stale !== true;
}

/** The namespace of the git-sync stacks; the lab makes it, with the credential Secrets, before the first deploy. */
export const GIT_SYNC_NS = "airflow-local-git";
/** The Secrets the git-sync stacks read: smart HTTP (the right and a wrong password) and SSH. */
export const GIT_SYNC_SECRETS = { https: "lab-git-https", wrong: "lab-git-wrong", ssh: "lab-git-ssh" };

/** The local stack with DAGs from git-sync only (the base image, no DAG image), with `gitSync` settings. */
export function gitSyncStackOverrides(gitSync: Record<string, unknown>): Record<string, unknown> {
    const images = labImages();
    const lab = labStackOverrides("none") as { images: Record<string, unknown> };
    return {
        ...lab,
        namespace: GIT_SYNC_NS,
        createNamespace: false,
        dagsInImage: false,
        images: { ...lab.images, ...(labServesUpstream("gitSync") ? {} : { gitSync: images.GIT_SYNC }) },
        gitSync: { enabled: true, ...gitSync },
        network: gitEgress(),
    };
}

/** git-sync's CronJob mode, every minute, over smart HTTP (plain http://: the lab's server has no TLS). */
export function gitSyncCronJob(server: GitServer, repo: string): Record<string, unknown> {
    return { mode: "cronjob", repo: server.httpUrl(repo), allowInsecureTransport: true, auth: "https", credentialsSecretName: GIT_SYNC_SECRETS.https, schedule: "* * * * *" };
}

/** git-sync's sidecar mode over SSH, every 10 s. */
export function gitSyncSidecar(server: GitServer, repo: string): Record<string, unknown> {
    return { mode: "sidecar", repo: server.sshUrl(repo), auth: "ssh", credentialsSecretName: GIT_SYNC_SECRETS.ssh, period: "10s" };
}

/** The same DAG under another id: a DAG file that is new to Airflow. */
export function dagNamed(id: string): string {
    return VERSIONED_DAG.replace(/lab_versioned/g, id);
}

/** Seconds from a commit adding DAG `id` until Airflow lists it. */
export async function pushToListed(api: AirflowApi, work: GitWorkspace, id: string, extra: Record<string, string> = {}): Promise<number> {
    const t = Date.now();
    work.commit({ [`dags/${id}.py`]: dagNamed(id), ...extra }, `add ${id}`);
    await waitFor(`${id} to be parsed`, 240, async () => ((await dagPresent(api, id)) ? true : undefined));
    return seconds(t);
}
