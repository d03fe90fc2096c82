// git-sync v4 copies the DAG repository onto the DAG volume.
//
// Each sync checks out the wanted commit into a new worktree under --root and then swaps the `repo`
// symlink to it in one rename, so readers see either the old tree or the new one, never a half-
// written mix (the problem of plain copies onto network file systems). Airflow reads
// `<DAGS_MOUNT>/repo/<subPath>`.
//
// Two modes:
// - `GitSync` (cronjob): a CronJob syncs once per schedule onto the shared RWX claim that every
//   Airflow pod mounts read-only. One clone per interval, whatever the number of pods.
// - `gitSyncSidecar()` (sidecar): a container in each DAG-reading pod syncs continuously into an
//   emptyDir named `dags`. No shared storage needed, but one clone per pod.
//
// Permissions without chmod hacks: git-sync runs as uid 65533 with gid 0 and --group-write, so what
// it writes is group 0 and group-writable; Airflow (uid 50000, gid 0) reads it through the group.
import * as crypto from "crypto";
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import { DEFAULT_GIT_SYNC_IMAGE, StackConfig } from "./config";
import type { GitAuth } from "./formats";
import { DAGS_MOUNT } from "./airflowPod";
import { emptyDir, extendPodSpec, GIT_SYNC_UID, imagePullSecrets, labels, podMetadata, podSecurityContext, restrictedContainer } from "./podParts";

type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

export { DEFAULT_GIT_SYNC_IMAGE };
/** Name of the link git-sync publishes under --root; Airflow's DAG folder is `<DAGS_MOUNT>/<link>/<subPath>`. */
export const GIT_SYNC_LINK = "repo";
/** Where the credentials Secret is mounted in SSH mode (git-sync's own default directory). */
export const GIT_SECRET_DIR = "/etc/git-secret";
/** Group git-sync writes as: Airflow's gid, so Airflow reads the checkout through the group. */
export const GIT_SYNC_GID = 0;
/** Port of git-sync's HTTP endpoint in sidecar mode: `/` answers 200 once the first sync is done. */
export const GIT_SYNC_HTTP_PORT = 8071;

export type { GitAuth };

/** The gitSync section, with its repository (the schema requires repo while gitSync is enabled). */
export type GitSyncConfig = StackConfig["gitSync"] & { repo: string };
/** What git-sync pods take from the images section: the git-sync image, the pull policy and credentials. */
export type GitSyncImages = Pick<StackConfig["images"], "gitSync" | "pullPolicy" | "pullSecrets">;

/** Commits of history to fetch: a shallow clone of just the wanted commit. */
const DEPTH = 1;
/** Time allowed for one sync (fetch + checkout + link swap). */
const SYNC_TIMEOUT = "120s";
/**
 * How long a replaced worktree stays on disk (CronJob mode), so a dag-processor or task that resolved
 * the old link while a sync ran keeps reading complete files.
 */
const STALE_WORKTREE_TIMEOUT = "30m";

export interface GitSyncArgs {
    namespace: pulumi.Input<string>;
    /** Instance label (`app.kubernetes.io/instance`). */
    instance: string;
    /** The repository, credentials, schedule, resources, and the sync pods' scheduling and extension points. */
    gitSync: GitSyncConfig;
    images: GitSyncImages;
    /** Claim of the shared DAG volume the CronJob writes to (read-only in Airflow pods). */
    dagsClaimName: pulumi.Input<string>;
    /** Sub-path of the DAG files inside the claim (single-share layouts). */
    dagsSubPath?: string;
}

/**
 * Flags, env, volumes and mounts common to both modes. The schema has checked the repository against
 * its auth and transport, and that credentialsSecretName is set unless auth is none.
 */
function gitSyncPieces(s: GitSyncConfig): { args: string[]; env: EnvVar[]; volumes: Volume[]; mounts: VolumeMount[] } {
    const auth = s.auth;
    const args = [
        `--repo=${s.repo}`,
        `--ref=${s.ref}`,
        `--root=${DAGS_MOUNT}`,
        `--link=${GIT_SYNC_LINK}`,
        `--depth=${DEPTH}`,
        `--sync-timeout=${SYNC_TIMEOUT}`,
        // Everything written (objects, worktrees, link) is group-writable: readable by Airflow's gid 0.
        "--group-write",
        "--submodules=off",
    ];
    const env: EnvVar[] = [
        // The root filesystem is read-only; git writes its global config under $HOME.
        { name: "HOME", value: "/tmp" },
    ];
    const volumes: Volume[] = [emptyDir("git-sync-tmp", "256Mi")];
    const mounts: VolumeMount[] = [{ name: "git-sync-tmp", mountPath: "/tmp" }];
    if (auth === "https") {
        // Read from the Secret by the kubelet: the token never appears in the pod spec or in args.
        env.push(
            { name: "GITSYNC_USERNAME", valueFrom: { secretKeyRef: { name: s.credentialsSecretName!, key: "username" } } },
            { name: "GITSYNC_PASSWORD", valueFrom: { secretKeyRef: { name: s.credentialsSecretName!, key: "password" } } },
        );
    } else if (auth === "ssh") {
        // No --ssh: deprecated and a no-op since v4 (v4.7.1 marks it "no longer necessary"). git-sync
        // always sets GIT_SSH_COMMAND with these keys and known_hosts; git uses it for ssh:// and
        // git@host:path URLs, so the URL form is what selects SSH.
        args.push(`--ssh-key-file=${GIT_SECRET_DIR}/ssh`, "--ssh-known-hosts=true", `--ssh-known-hosts-file=${GIT_SECRET_DIR}/known_hosts`);
        volumes.push({
            name: "git-secret",
            secret: {
                secretName: s.credentialsSecretName!,
                // 0400; with the pod's fsGroup 0 the kubelet adds group read, so uid 65533 (gid 0) can
                // read the key, and ssh accepts it because the file is not owned by the caller.
                defaultMode: 0o400,
                items: [
                    { key: "ssh", path: "ssh" },
                    { key: "known_hosts", path: "known_hosts" },
                ],
            },
        });
        mounts.push({ name: "git-secret", mountPath: GIT_SECRET_DIR, readOnly: true });
    }
    return { args, env, volumes, mounts };
}

/** Container-level identity of git-sync: its own uid, Airflow's gid. */
function gitSyncContainer(s: GitSyncConfig, images: Pick<GitSyncImages, "gitSync" | "pullPolicy">, c: Omit<Container, "image" | "resources"> & { name: string }): Container {
    const base = restrictedContainer({ ...c, image: images.gitSync, imagePullPolicy: images.pullPolicy }, s.resources);
    return {
        ...base,
        // git-sync's last log lines become the terminated container's message: a failed sync (wrong
        // credentials, unknown ref) names its reason in the Job's and the pod's status.
        terminationMessagePolicy: "FallbackToLogsOnError",
        securityContext: {
            ...(base.securityContext as object),
            runAsUser: GIT_SYNC_UID,
            runAsGroup: GIT_SYNC_GID,
            runAsNonRoot: true,
        },
    };
}

/** git-sync as a CronJob: one sync per schedule onto the shared DAG claim. */
export class GitSync extends pulumi.ComponentResource {
    /** Name of the CronJob. */
    readonly cronJobName: pulumi.Output<string>;
    /** Name of the Job that syncs once at deploy time (changes with the sync settings). */
    readonly initialJobName: pulumi.Output<string>;

    constructor(name: string, args: GitSyncArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("GitSync"), name, {}, withLegacyType("GitSync", opts));

        const g = args.gitSync;
        const pieces = gitSyncPieces(g);
        const container = gitSyncContainer(g, args.images, {
            name: "git-sync",
            args: [...pieces.args, "--one-time", `--stale-worktree-timeout=${STALE_WORKTREE_TIMEOUT}`],
            env: pieces.env,
            volumeMounts: [{ name: "dags", mountPath: DAGS_MOUNT, ...(args.dagsSubPath ? { subPath: args.dagsSubPath } : {}) }, ...pieces.mounts],
        });
        const podLabels = labels(args.instance, "git-sync");
        const podSpec: k8s.types.input.core.v1.PodSpec = extendPodSpec({
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // fsGroup 0: volumes that support ownership management are group 0, as Airflow expects.
            securityContext: podSecurityContext(GIT_SYNC_UID, GIT_SYNC_GID, GIT_SYNC_GID),
            ...imagePullSecrets(args.images.pullSecrets),
            ...(Object.keys(g.nodeSelector).length ? { nodeSelector: g.nodeSelector } : {}),
            ...(g.tolerations.length ? { tolerations: g.tolerations } : {}),
            containers: [container],
            volumes: [{ name: "dags", persistentVolumeClaim: { claimName: args.dagsClaimName } }, ...pieces.volumes],
        }, g, "git-sync");
        const jobSpec = {
            backoffLimit: 2,
            activeDeadlineSeconds: 600,
            template: { metadata: podMetadata(args.instance, "git-sync", g), spec: podSpec },
        };

        const cronJob = new k8s.batch.v1.CronJob(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: podLabels },
                spec: {
                    schedule: g.schedule,
                    // A slow sync is never overlapped by the next one writing to the same root.
                    concurrencyPolicy: "Forbid",
                    // A run missed by more than this (controller down, cluster upgrade) is skipped, not queued.
                    startingDeadlineSeconds: 120,
                    successfulJobsHistoryLimit: 1,
                    failedJobsHistoryLimit: 3,
                    jobTemplate: { metadata: { labels: podLabels }, spec: { ...jobSpec, ttlSecondsAfterFinished: 3600 } },
                },
            },
            { parent: this },
        );

        // The first sync, at deploy time: without it the DAG folder stays empty until the CronJob's first
        // tick (up to one schedule interval after a fresh deploy). Same pod as the CronJob's, as a Job named
        // by a hash of that pod, so it runs again exactly when the sync settings change (a Job's template
        // is immutable: new settings need a new Job, the old one is deleted after). Pulumi waits for it to
        // finish, so a wrong URL or credentials fail the deployment with the Job's reason, but nothing
        // depends on it: the Airflow pods start meanwhile and pick the DAGs up when they land. No TTL: the
        // finished Job stays, as Pulumi's state says, until the next settings change replaces it.
        const initialName = pulumi
            .output(podSpec)
            .apply((spec) => `${name}-initial-${crypto.createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 10)}`);
        const initialJob = new k8s.batch.v1.Job(
            `${name}-initial`,
            { metadata: { name: initialName, namespace: args.namespace, labels: podLabels }, spec: jobSpec },
            { parent: this, customTimeouts: { create: "15m", update: "15m" } },
        );
        this.initialJobName = initialJob.metadata.name;

        this.cronJobName = cronJob.metadata.name;
        this.registerOutputs({ cronJobName: this.cronJobName, initialJobName: this.initialJobName });
    }
}

/**
 * git-sync as a sidecar of every DAG-reading pod, syncing continuously into an emptyDir named `dags`
 * (the Airflow containers mount it read-only at DAGS_MOUNT).
 *
 * `sidecars` are *native sidecars* (`restartPolicy: Always`, Kubernetes 1.29 or later): put them in
 * the pod's `initContainers`. Their startup probe passes once the first sync is done, so the Airflow
 * container starts with the DAGs in place (a sidecar in `containers` would also keep a
 * KubernetesExecutor worker pod running forever).
 *
 * `oneTime` is the same sync run once (`--one-time`), as a plain init container, for pods that need
 * the DAGs only when they start: KubernetesExecutor workers. A native sidecar there would be stopped
 * with SIGTERM when the task ends, and git-sync v4.7.1 has no handler for it (main.go installs none;
 * as PID 1 its init in pkg/pid1 forwards the signal and exits with 128 + 15): every finished worker
 * pod would report the sidecar as terminated with exit code 143, reason Error. Run once, git-sync
 * exits 0 before the task starts, and the task reads one checkout from start to end.
 */
export function gitSyncSidecar(g: GitSyncConfig, images: Pick<GitSyncImages, "gitSync" | "pullPolicy">): { sidecars: Container[]; oneTime: Container[]; volumes: Volume[] } {
    const pieces = gitSyncPieces(g);
    const container = (extraArgs: string[], c: Omit<Container, "name" | "image" | "resources" | "args" | "env" | "volumeMounts"> = {}): Container =>
        gitSyncContainer(g, images, { name: "git-sync", args: [...pieces.args, ...extraArgs], env: pieces.env, volumeMounts: [{ name: "dags", mountPath: DAGS_MOUNT }, ...pieces.mounts], ...c });
    const sidecar: Container = {
        ...container(
            [
                `--period=${g.period}`,
                // Keep retrying after the first sync: a git host outage must not restart Airflow pods.
                "--max-failures=-1",
                `--http-bind=:${GIT_SYNC_HTTP_PORT}`,
            ],
            {
                ports: [{ name: "git-sync", containerPort: GIT_SYNC_HTTP_PORT }],
                startupProbe: { httpGet: { path: "/", port: GIT_SYNC_HTTP_PORT }, periodSeconds: 2, failureThreshold: 150, timeoutSeconds: 2 },
                livenessProbe: { httpGet: { path: "/", port: GIT_SYNC_HTTP_PORT }, periodSeconds: 30, failureThreshold: 5, timeoutSeconds: 5 },
            },
        ),
        restartPolicy: "Always",
    };
    // A few quick retries (5 s apart) ride out a short git host hiccup; then the pod, and its task, fail.
    const oneTime = container(["--one-time", "--max-failures=3", "--period=5s"]);
    return { sidecars: [sidecar], oneTime: [oneTime], volumes: [emptyDir("dags", "1Gi"), ...pieces.volumes] };
}

/** Airflow's DAG folder when DAGs come from git-sync. */
export function gitSyncDagsFolder(subPath: string | undefined): string {
    return [DAGS_MOUNT, GIT_SYNC_LINK, subPath].filter(Boolean).join("/");
}
