import * as assert from "assert";
import { DAGS_MOUNT } from "../components/airflowPod";
import { StackConfigError, StackConfigInput, stackConfigSchema, validateStackConfig } from "../components/config";
import { DEFAULT_GIT_SYNC_IMAGE, GIT_SYNC_HTTP_PORT, GitSync, GitSyncArgs, gitSyncDagsFolder, gitSyncSidecar } from "../components/gitSync";
import { GIT_SYNC_UID } from "../components/podParts";
import { installComponentMocks, recorded } from "./componentMocks";
import { envOf, find, kubernetesObjects, ofKind, podSpecs, Rendered, renderStack, workerPodTemplate } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

/** git-sync's default resources (the schema's). */
const resources = { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } };
/** The gitSync section as written in a stack file, with the claim the CronJob writes to. */
type Sync = Omit<NonNullable<StackConfigInput["gitSync"]>, "enabled"> & { dagsClaimName?: string; dagsSubPath?: string };
const base: Sync = {
    repo: "https://git.example.com/team/dags.git",
    ref: "release",
    dagsClaimName: "airflow-storage-shared",
    dagsSubPath: "dags",
};

/** The component's args from the section: the schema applies the defaults. */
function gitSyncArgs({ dagsClaimName = "airflow-storage-shared", dagsSubPath, ...gitSync }: Sync): GitSyncArgs {
    const c = stackConfigSchema.parse({ gitSync: { enabled: true, ...gitSync } });
    return { namespace: "data", instance: "airflow", gitSync: { ...c.gitSync, repo: c.gitSync.repo! }, images: c.images, dagsClaimName, dagsSubPath };
}

function sidecarOf(sync: Sync): ReturnType<typeof gitSyncSidecar> {
    const args = gitSyncArgs(sync);
    return gitSyncSidecar(args.gitSync, args.images);
}

/** The CronJob and the Job that syncs once at deploy time. */
async function renderGitSync(sync: Sync): Promise<{ cronJob: any; initialJob: any }> {
    const rec = installComponentMocks();
    new GitSync("airflow-git-sync", gitSyncArgs(sync));
    const objects = kubernetesObjects(await recorded(rec));
    assert.deepStrictEqual(objects.map((o) => o.kind).sort(), ["CronJob", "Job"]);
    return { cronJob: objects.find((o) => o.kind === "CronJob"), initialJob: objects.find((o) => o.kind === "Job") };
}

async function renderCronJob(args: Sync): Promise<any> {
    return (await renderGitSync(args)).cronJob;
}

const podOf = (cronJob: any) => cronJob.spec.jobTemplate.spec.template;
const argsOf = (cronJob: any) => podOf(cronJob).spec.containers[0].args as string[];

describe("GitSync (CronJob mode)", () => {
    let cj: any;
    before(async () => (cj = await renderCronJob({ ...base, schedule: "*/10 * * * *" })));

    it("runs on the schedule, never two syncs at once, with short history", () => {
        assert.strictEqual(cj.metadata.name, "airflow-git-sync");
        assert.strictEqual(cj.metadata.namespace, "data");
        assert.strictEqual(cj.spec.schedule, "*/10 * * * *");
        assert.strictEqual(cj.spec.concurrencyPolicy, "Forbid");
        assert.ok(cj.spec.startingDeadlineSeconds > 0);
        assert.ok(cj.spec.successfulJobsHistoryLimit <= 3 && cj.spec.failedJobsHistoryLimit <= 3);
        assert.strictEqual(podOf(cj).spec.restartPolicy, "Never");
    });

    it("syncs once per run into the DAG mount and publishes the checkout atomically as the repo link", () => {
        const args = argsOf(cj);
        for (const flag of [
            "--repo=https://git.example.com/team/dags.git",
            "--ref=release",
            `--root=${DAGS_MOUNT}`,
            "--link=repo",
            "--depth=1",
            "--one-time",
            "--group-write",
        ]) {
            assert.ok(args.includes(flag), `missing ${flag} in ${args.join(" ")}`);
        }
        assert.ok(args.some((a) => a.startsWith("--stale-worktree-timeout=")), "old worktrees outlive readers of the previous link");
        assert.ok(!args.includes("--ssh"));
        assert.strictEqual(gitSyncDagsFolder("dags/prod"), `${DAGS_MOUNT}/repo/dags/prod`);
    });

    it("mounts the DAG claim read-write at the DAG mount, with its sub-path", () => {
        const pod = podOf(cj).spec;
        const claim = pod.volumes.find((v: any) => v.name === "dags");
        assert.deepStrictEqual(claim.persistentVolumeClaim, { claimName: "airflow-storage-shared" });
        const mount = pod.containers[0].volumeMounts.find((m: any) => m.name === "dags");
        assert.deepStrictEqual(mount, { name: "dags", mountPath: DAGS_MOUNT, subPath: "dags" });
    });

    it("runs as git-sync's uid with Airflow's gid 0, locked down, no ServiceAccount token", () => {
        const pod = podOf(cj);
        assert.strictEqual(pod.metadata.labels["app.kubernetes.io/component"], "git-sync", "NetworkPolicies allow git-sync egress by this label");
        assert.strictEqual(pod.spec.automountServiceAccountToken, false);
        assert.deepStrictEqual(pod.spec.securityContext, {
            runAsUser: GIT_SYNC_UID,
            runAsGroup: 0,
            fsGroup: 0,
            fsGroupChangePolicy: "OnRootMismatch",
            runAsNonRoot: true,
            seccompProfile: { type: "RuntimeDefault" },
        });
        const c = pod.spec.containers[0];
        assert.strictEqual(c.securityContext.runAsUser, GIT_SYNC_UID);
        assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false);
        assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true);
        assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        // ephemeral storage: git-sync's /tmp emptyDir (256Mi) plus 128Mi for its logs
        assert.deepStrictEqual(c.resources, { requests: { ...resources.requests, "ephemeral-storage": "384Mi" }, limits: { ...resources.limits, "ephemeral-storage": "384Mi" } });
        assert.strictEqual(envOf(c).HOME, "/tmp");
        const tmp = c.volumeMounts.find((m: any) => m.mountPath === "/tmp");
        assert.ok(pod.spec.volumes.find((v: any) => v.name === tmp.name).emptyDir, "writable /tmp and HOME");
    });

    it("is accepted by the Kubernetes schema", async () => {
        await assertValidObjects([cj]);
    });

    it("reads an https token from the Secret by reference", async () => {
        const https = await renderCronJob({ ...base, auth: "https", credentialsSecretName: "git-creds" });
        const env = envOf(podOf(https).spec.containers[0]);
        assert.deepStrictEqual(env.GITSYNC_USERNAME, { secretKeyRef: { name: "git-creds", key: "username" } });
        assert.deepStrictEqual(env.GITSYNC_PASSWORD, { secretKeyRef: { name: "git-creds", key: "password" } });
        assert.ok(!JSON.stringify(https).includes("--password"), "no password flag");
        await assertValidObjects([https]);
    });

    it("uses the SSH key and known_hosts from the Secret, mounted 0400", async () => {
        const ssh = await renderCronJob({ ...base, repo: "git@git.example.com:team/dags.git", auth: "ssh", credentialsSecretName: "git-ssh" });
        const pod = podOf(ssh).spec;
        const args = pod.containers[0].args as string[];
        for (const flag of ["--ssh-key-file=/etc/git-secret/ssh", "--ssh-known-hosts=true", "--ssh-known-hosts-file=/etc/git-secret/known_hosts"]) {
            assert.ok(args.includes(flag), `missing ${flag}`);
        }
        assert.ok(!args.includes("--ssh"), "--ssh is deprecated in v4.7 (a no-op): the URL form selects SSH");
        const secret = pod.volumes.find((v: any) => v.secret).secret;
        assert.strictEqual(secret.secretName, "git-ssh");
        assert.strictEqual(secret.defaultMode, 0o400);
        assert.deepStrictEqual(secret.items.map((i: any) => i.key), ["ssh", "known_hosts"]);
        const mount = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === "/etc/git-secret");
        assert.strictEqual(mount.readOnly, true);
        await assertValidObjects([ssh]);
    });

    // The component takes the validated section: validation refuses these before any resource exists.
    it("credentials that do not fit the repository are refused by validation", () => {
        const cases: [Partial<Sync>, RegExp][] = [
            [{ auth: "https" }, /credentialsSecretName/],
            [{ auth: "ssh", credentialsSecretName: "s" }, /ssh:\/\/ or git@/],
            [{ auth: "https", credentialsSecretName: "s", repo: "git@host:x.git" }, /https:\/\//],
            [{ repo: "http://git.internal/team/dags.git" }, /uses plain http:\/\/.*allowInsecureTransport: true/],
            [{ repo: "git://git.internal/team/dags.git" }, /uses the git:\/\/ protocol/],
        ];
        const { dagsClaimName, dagsSubPath, ...section } = base;
        for (const [extra, message] of cases) {
            assert.throws(
                () => validateStackConfig({ gitSync: { enabled: true, ...section, ...extra } }),
                (e: Error) => e instanceof StackConfigError && e.problems.some((p) => /gitSync\.(repo|credentialsSecretName)/.test(p) && message.test(p)),
                JSON.stringify(extra),
            );
        }
    });
});

describe("git-sync in sidecar mode, rendered into the deployment", () => {
    let r: Rendered;
    before(async () => (r = await renderStack({ gitSync: { enabled: true, mode: "sidecar", repo: "https://git.example.com/team/dags.git", period: "30s" } })));
    const gitSyncOf = (spec: any) => (spec.initContainers ?? []).find((c: any) => c.name === "git-sync");

    it("runs once, as a plain init container, in worker pods: a finished worker has no sidecar left for SIGTERM to end with 143", async () => {
        const worker = workerPodTemplate(r.objects) as any;
        const sync = gitSyncOf(worker.spec);
        assert.ok(sync, "worker pods still sync the DAGs before the task starts");
        assert.strictEqual(sync.restartPolicy, undefined, "not a native sidecar: it exits 0 before the task starts");
        assert.ok(sync.args.includes("--one-time") && sync.args.includes("--max-failures=3"), sync.args.join(" "));
        assert.ok(!sync.args.some((a: string) => a.startsWith("--http-bind") || a.startsWith("--max-failures=-1")), sync.args.join(" "));
        assert.strictEqual(sync.startupProbe, undefined);
        assert.strictEqual(sync.livenessProbe, undefined);
        for (const c of [...worker.spec.initContainers, ...worker.spec.containers]) {
            assert.notStrictEqual(c.restartPolicy, "Always", `${c.name}: the kubelet stops sidecars with SIGTERM when the task ends`);
        }
        // the task's container reads what the one-time sync wrote
        assert.deepStrictEqual(worker.spec.containers[0].volumeMounts.find((m: any) => m.name === "dags"), { name: "dags", mountPath: DAGS_MOUNT, readOnly: true });
        assert.ok(worker.spec.volumes.find((v: any) => v.name === "dags").emptyDir);
        await assertValidObjects([worker]);
    });

    it("stays a native sidecar, syncing every period, in the long-running pods", () => {
        for (const name of ["airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]) {
            const sync = gitSyncOf(find(r.objects, "Deployment", name).spec.template.spec);
            assert.strictEqual(sync.restartPolicy, "Always", name);
            assert.ok(sync.args.includes("--period=30s") && !sync.args.includes("--one-time"), name);
        }
    });
});

describe("git-sync flags", () => {
    // Every flag git-sync v4.7.1 (the default image) defines and does not mark deprecated, from its
    // main.go (pflag definitions; mustMarkDeprecated lists branch, change-permissions, dest,
    // max-sync-failures, password, rev, ssh, sync-hook-command, timeout, v and wait).
    const V4_7_1_FLAGS = new Set([
        "version", "help", "man", "verbose", "repo", "ref", "depth", "filter", "submodules", "sparse-checkout-file", "root", "link",
        "error-file", "init-period", "period", "sync-timeout", "one-time", "sync-on-signal", "max-failures", "init-max-failures",
        "touch-file", "add-user", "group-write", "stale-worktree-timeout", "exechook-command", "exechook-timeout", "exechook-backoff",
        "webhook-url", "webhook-method", "webhook-success-status", "webhook-timeout", "webhook-backoff", "username", "password-file",
        "credential", "ssh-key-file", "ssh-known-hosts", "ssh-known-hosts-file", "cookie-file", "askpass-url", "github-base-url",
        "github-app-private-key-file", "github-app-client-id", "github-app-application-id", "github-app-installation-id", "git",
        "git-config", "git-gc", "http-bind", "http-metrics", "http-pprof",
    ]);

    it("are all current flags of v4.7.1, the default image, in every mode and auth", async () => {
        const ssh = { repo: "git@git.example.com:team/dags.git", auth: "ssh" as const, credentialsSecretName: "git-ssh" };
        const https = { auth: "https" as const, credentialsSecretName: "git-creds" };
        const renders = [
            ...(await Promise.all([base, { ...base, ...ssh }, { ...base, ...https }].map(async (a) => podOf(await renderCronJob(a)).spec.containers))),
            ...[{ ...base }, { ...base, ...ssh }].map((a) => sidecarOf({ ...a, mode: "sidecar", period: "30s" }).sidecars),
        ].flat();
        const r = await renderStack({ gitSync: { enabled: true, mode: "sidecar", repo: "git@git.example.com:team/dags.git", auth: "ssh", credentialsSecretName: "git-ssh" } });
        const stackContainers = r.objects.flatMap(podSpecs).flatMap(({ spec }) => [...spec.containers, ...(spec.initContainers ?? [])]).filter((c: any) => c.name === "git-sync");
        assert.ok(stackContainers.length >= 3, "the sidecars and the worker's git-sync");
        for (const c of [...renders, ...stackContainers] as any[]) {
            assert.strictEqual(c.image ?? DEFAULT_GIT_SYNC_IMAGE, "registry.k8s.io/git-sync/git-sync:v4.7.1");
            for (const arg of c.args as string[]) {
                const flag = /^--([a-z0-9-]+)(=|$)/.exec(arg)?.[1];
                assert.ok(flag && V4_7_1_FLAGS.has(flag), `${arg}: not a current git-sync v4.7.1 flag`);
            }
        }
    });
});

describe("GitSync: the first sync at deploy time", () => {
    it("runs the CronJob's pod once as a Job, so DAGs land without waiting for the first tick", async () => {
        const { cronJob, initialJob } = await renderGitSync(base);
        assert.deepStrictEqual(initialJob.spec.template, cronJob.spec.jobTemplate.spec.template, "the same pod: same flags, credentials, identity, volume");
        assert.ok((initialJob.spec.template.spec.containers[0].args as string[]).includes("--one-time"));
        assert.strictEqual(initialJob.metadata.namespace, "data");
        assert.strictEqual(initialJob.metadata.labels["app.kubernetes.io/component"], "git-sync", "NetworkPolicies allow git-sync egress by this label");
        assert.ok(initialJob.spec.activeDeadlineSeconds > 0 && initialJob.spec.backoffLimit >= 1, "a bounded number of tries in bounded time");
        assert.strictEqual(initialJob.spec.ttlSecondsAfterFinished, undefined, "kept, as Pulumi's state says, until the settings change");
        await assertValidObjects([cronJob, initialJob]);
    });

    it("puts git-sync's last log lines into the failed container's status message, where a failed update's error shows them", () => {
        const sync = sidecarOf({ ...base, mode: "sidecar" });
        for (const c of [...sync.sidecars, ...sync.oneTime]) assert.strictEqual(c.terminationMessagePolicy, "FallbackToLogsOnError", String(c.name));
    });

    it("in CronJob mode too: the first-sync Job's pod reports git-sync's error as its message", async () => {
        const { initialJob } = await renderGitSync(base);
        assert.strictEqual(initialJob.spec.template.spec.containers[0].terminationMessagePolicy, "FallbackToLogsOnError");
    });

    it("is named by a hash of the sync settings: a new name (a new sync) when they change, and only then", async () => {
        const name = async (args: Sync) => (await renderGitSync(args)).initialJob.metadata.name as string;
        const first = await name(base);
        assert.match(first, /^airflow-git-sync-initial-[0-9a-f]{10}$/);
        assert.strictEqual(await name(base), first, "stable for the same settings: no perpetual diff");
        assert.strictEqual(await name({ ...base, schedule: "0 * * * *" }), first, "the schedule is the CronJob's business");
        for (const change of [{ ref: "v2" }, { repo: "https://git.example.com/team/other.git" }, { dagsClaimName: "other-claim" }, { auth: "https" as const, credentialsSecretName: "git" }]) {
            assert.notStrictEqual(await name({ ...base, ...change }), first, JSON.stringify(change));
        }
    });

    it("is not a dependency of the Airflow workloads, which start without waiting for it", async () => {
        const r = await renderStack({ gitSync: { enabled: true, repo: "https://git.example.com/data/dags.git" } });
        assert.ok(ofKind(r.objects, "Job").some((j) => /^airflow-git-sync-initial-/.test(j.metadata.name)));
        for (const [resource, deps] of r.dependsOn) {
            assert.ok(!deps.includes("airflow-git-sync-initial"), `${resource} must not wait for the first sync`);
        }
    });
});

describe("gitSyncSidecar (sidecar mode)", () => {
    const sidecar = sidecarOf({ repo: "https://git.example.com/team/dags.git", mode: "sidecar", period: "30s", auth: "https", credentialsSecretName: "git-creds" });

    it("syncs continuously into an emptyDir named dags", () => {
        assert.strictEqual(sidecar.sidecars.length, 1);
        const c: any = sidecar.sidecars[0];
        const args = c.args as string[];
        assert.ok(args.includes("--period=30s"));
        assert.ok(!args.includes("--one-time"));
        assert.ok(args.includes(`--root=${DAGS_MOUNT}`) && args.includes("--link=repo") && args.includes("--group-write"));
        const dags: any = sidecar.volumes.find((v) => v.name === "dags");
        assert.ok(dags.emptyDir);
        assert.deepStrictEqual(
            c.volumeMounts.find((m: any) => m.name === "dags"),
            { name: "dags", mountPath: DAGS_MOUNT },
        );
        assert.strictEqual(c.securityContext.runAsUser, GIT_SYNC_UID);
        assert.strictEqual(c.securityContext.runAsGroup, 0);
    });

    it("is a native sidecar whose startup probe waits for the first sync", () => {
        const c: any = sidecar.sidecars[0];
        assert.strictEqual(c.restartPolicy, "Always");
        assert.strictEqual(c.startupProbe.httpGet.port, GIT_SYNC_HTTP_PORT);
        assert.ok((c.args as string[]).includes(`--http-bind=:${GIT_SYNC_HTTP_PORT}`));
    });

    it("fits a pod spec accepted by the Kubernetes schema (as an init container)", async () => {
        const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "reader" },
            spec: {
                initContainers: sidecar.sidecars,
                containers: [{ name: "airflow", image: "apache/airflow:3.3.2", volumeMounts: [{ name: "dags", mountPath: DAGS_MOUNT, readOnly: true }] }],
                volumes: sidecar.volumes,
            },
        };
        await assertValidObjects([JSON.parse(JSON.stringify(pod))]);
    });
});
