// Shared storage for DAGs and task logs: ReadWriteMany claims that the scheduler, dag-processor,
// triggerer, API server, git-sync and every worker pod mount.
//
// Modes:
// - `pvc`: new RWX claims on a StorageClass (the class must support ReadWriteMany: an NFS/CSI
//   provisioner, Filestore CSI, CephFS, Azure Files...; block-storage classes do not).
// - `existing`: claims created elsewhere, by name.
// - `filestore`: one GCP Filestore instance with one share, exposed as a static NFS PersistentVolume
//   and one RWX claim bound to it; DAGs and logs live in the `dags/` and `logs/` sub-paths. One instance,
//   not two: the smallest Filestore instance is 1 TiB (BASIC_HDD), billed whether used or not.
//
// New volumes (pvc and filestore modes) are prepared by one one-shot Job, built once for both: NFS
// volumes and many RWX provisioners ignore fsGroup, so it makes the directories Airflow (uid 50000)
// and git-sync (uid 65533) write group-writable for their shared gid 0.
import type * as Gcp from "@pulumi/gcp";
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import { StackConfig } from "./config";
import { withEphemeralStorage } from "./ephemeralStorage";
import { AIRFLOW_GID, imagePullSecrets, labels } from "./podParts";

/** Sub-paths of the single share (filestore mode, or singleShare). */
export const DAGS_SUBPATH = "dags";
export const LOGS_SUBPATH = "logs";
/** NFS options for Filestore: NFSv3 is served by every tier; hard mounts retry instead of failing reads. */
export const FILESTORE_MOUNT_OPTIONS = ["nfsvers=3", "hard", "timeo=600", "retrans=3"];
/** Where the preparation Job mounts the volumes. */
const SHARE_ROOT = "/share";
/** Annotation on a Job whose pod must run as uid 0, with the reason. */
export const ROOT_REASON_ANNOTATION = "airflow.pulumi.com/runs-as-root";

export interface SharedStorageArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    /** The storage section: the mode and its settings. */
    storage: StackConfig["storage"];
    /** The setup image (of the preparation Job) and the registry credentials of its pod. */
    images: Pick<StackConfig["images"], "setup" | "pullSecrets">;
    /** False when DAGs come from the image or a git-sync sidecar: no DAG volume is made. */
    needsDags: boolean;
    /** False with remote logging only: no log volume is made. */
    needsLogs: boolean;
}

/** DAG and log volumes as claim names (and sub-paths) for the workloads. */
export class SharedStorage extends pulumi.ComponentResource {
    readonly dagsClaimName?: pulumi.Output<string>;
    readonly dagsSubPath?: string;
    readonly logsClaimName?: pulumi.Output<string>;
    readonly logsSubPath?: string;
    /** filestore mode: IP address of the Filestore instance (the NFS server). */
    readonly filestoreIp?: pulumi.Output<string>;
    /** filestore mode: name of the PersistentVolume bound to the claim. */
    readonly persistentVolumeName?: pulumi.Output<string>;

    constructor(name: string, args: SharedStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("SharedStorage"), name, {}, withLegacyType("SharedStorage", opts));

        const st = args.storage;
        if (st.singleShare || st.mode === "filestore") {
            this.dagsSubPath = args.needsDags ? DAGS_SUBPATH : undefined;
            this.logsSubPath = args.needsLogs ? LOGS_SUBPATH : undefined;
        }
        if (st.mode === "existing") {
            // The schema requires dagsClaimName whenever the pods read DAGs from a claim.
            this.dagsClaimName = args.needsDags && st.dagsClaimName ? pulumi.output(st.dagsClaimName) : undefined;
            const logs = st.singleShare ? st.dagsClaimName : st.logsClaimName;
            this.logsClaimName = args.needsLogs && logs ? pulumi.output(logs) : undefined;
        } else if (st.mode === "pvc") {
            ({ dags: this.dagsClaimName, logs: this.logsClaimName } = this.claims(name, args));
        } else if (args.needsDags || args.needsLogs) {
            const share = this.filestore(name, args);
            this.filestoreIp = share.ip;
            this.persistentVolumeName = share.volumeName;
            this.dagsClaimName = args.needsDags ? share.claimName : undefined;
            this.logsClaimName = args.needsLogs ? share.claimName : undefined;
        }

        this.registerOutputs({
            dagsClaimName: this.dagsClaimName,
            logsClaimName: this.logsClaimName,
            filestoreIp: this.filestoreIp,
            persistentVolumeName: this.persistentVolumeName,
        });
    }

    /** pvc mode: new RWX claims on a StorageClass, one per directory or one shared. */
    private claims(name: string, args: SharedStorageArgs): { dags?: pulumi.Output<string>; logs?: pulumi.Output<string> } {
        const st = args.storage;
        const claim = (suffix: string, size: string) =>
            new k8s.core.v1.PersistentVolumeClaim(
                `${name}-${suffix}`,
                {
                    metadata: { name: `${name}-${suffix}`, namespace: args.namespace, labels: labels(args.instance, "storage") },
                    spec: { accessModes: ["ReadWriteMany"], storageClassName: st.storageClassName, resources: { requests: { storage: size } } },
                },
                { parent: this },
            );
        if (st.singleShare) {
            const shared = args.needsDags || args.needsLogs ? claim("shared", st.logsSize).metadata.name : undefined;
            if (shared) this.prepareJob(name, args, [{ claimName: shared, mountPath: SHARE_ROOT }], this.shareDirs(args));
            return { dags: args.needsDags ? shared : undefined, logs: args.needsLogs ? shared : undefined };
        }
        const dags = args.needsDags ? claim("dags", st.dagsSize).metadata.name : undefined;
        const logs = args.needsLogs ? claim("logs", st.logsSize).metadata.name : undefined;
        // One claim per directory: the volume's root is the directory Airflow writes.
        const own = [
            ...(dags ? [{ claimName: dags, mountPath: `${SHARE_ROOT}/${DAGS_SUBPATH}` }] : []),
            ...(logs ? [{ claimName: logs, mountPath: `${SHARE_ROOT}/${LOGS_SUBPATH}` }] : []),
        ];
        if (own.length) this.prepareJob(name, args, own, own.map((v) => v.mountPath));
        return { dags, logs };
    }

    /** One Filestore instance -> a static NFS PersistentVolume -> one RWX claim, plus the share setup Job. */
    private filestore(name: string, args: SharedStorageArgs): { ip: pulumi.Output<string>; volumeName: pulumi.Output<string>; claimName: pulumi.Output<string> } {
        // The schema requires the filestore settings in filestore mode.
        const { project, location, tier, capacityGb, network, shareName } = args.storage.filestore!;
        const parent = { parent: this };

        // loaded on first use: stacks without Filestore skip the module's load on every preview
        const { Instance } = (require("@pulumi/gcp") as typeof Gcp).filestore;
        const instance = new Instance(
            `${name}-filestore`,
            {
                project,
                location,
                tier,
                description: "Airflow DAGs and task logs",
                fileShares: { name: shareName, capacityGb },
                networks: [{ network, modes: ["MODE_IPV4"] }],
                labels: { "app-kubernetes-io-part-of": "airflow", "app-kubernetes-io-instance": args.instance },
            },
            parent,
        );
        const ip = instance.networks.apply((networks) => {
            const address = networks?.[0]?.ipAddresses?.[0];
            if (!address) {
                throw new pulumi.ResourceError("the Filestore instance reports no IP address", this);
            }
            return address;
        });

        const claimName = `${name}-shared`;
        const capacity = `${capacityGb}Gi`;
        // Cluster-scoped and auto-named (no clash between stacks); pre-bound to our claim by claimRef so
        // no other claim in the cluster can take it.
        const volume = new k8s.core.v1.PersistentVolume(
            `${name}-filestore`,
            {
                metadata: { labels: labels(args.instance, "storage") },
                spec: {
                    capacity: { storage: capacity },
                    accessModes: ["ReadWriteMany"],
                    // Deleting the claim must never delete the DAGs and logs; the instance owns the data.
                    persistentVolumeReclaimPolicy: "Retain",
                    // Empty class: static binding only, no dynamic provisioner takes part.
                    storageClassName: "",
                    volumeMode: "Filesystem",
                    mountOptions: FILESTORE_MOUNT_OPTIONS,
                    nfs: { server: ip, path: `/${shareName}` },
                    claimRef: { namespace: args.namespace, name: claimName },
                },
            },
            parent,
        );
        const claim = new k8s.core.v1.PersistentVolumeClaim(
            claimName,
            {
                metadata: { name: claimName, namespace: args.namespace, labels: labels(args.instance, "storage") },
                spec: {
                    accessModes: ["ReadWriteMany"],
                    storageClassName: "",
                    volumeName: volume.metadata.name,
                    resources: { requests: { storage: capacity } },
                },
            },
            parent,
        );

        // The share's root is root:root 0755: dags/ and logs/ are made below it.
        this.prepareJob(name, args, [{ claimName: claim.metadata.name, mountPath: SHARE_ROOT }], [DAGS_SUBPATH, LOGS_SUBPATH].map((d) => `${SHARE_ROOT}/${d}`));

        return { ip, volumeName: volume.metadata.name, claimName: claim.metadata.name };
    }

    /** The sub-directories of a single share that the workloads use. */
    private shareDirs(args: SharedStorageArgs): string[] {
        return [...(args.needsDags ? [DAGS_SUBPATH] : []), ...(args.needsLogs ? [LOGS_SUBPATH] : [])].map((d) => `${SHARE_ROOT}/${d}`);
    }

    /**
     * The one-shot Job that makes `dirs` group-writable for gid 0 on the mounted claims. NFS volumes (and
     * RWX provisioners that do not apply fsGroup) leave new directories root-owned 0755. The Job runs as
     * uid 0 and gid 0 with every capability dropped: enough to create, chgrp and chmod directories root
     * owns, nothing more.
     * setgid keeps new files in group 0; group write lets Airflow (50000:0) and git-sync (65533:0) write.
     * A directory it cannot chmod (another owner) passes if gid 0 or everyone can already write it, and
     * fails the Job otherwise, so a volume Airflow cannot write stops the deployment here with the reason
     * in the Job's log. Idempotent, so re-running it is harmless.
     */
    private prepareJob(name: string, args: SharedStorageArgs, volumes: { claimName: pulumi.Input<string>; mountPath: string }[], dirs: string[]): void {
        const script = [
            "set -eu",
            `for d in ${dirs.join(" ")}; do`,
            '  mkdir -p "$d"',
            // The owner may move a directory to a group it is in (gid 0) without CAP_CHOWN.
            '  chgrp 0 "$d" 2>/dev/null || true',
            '  chmod 2775 "$d" 2>/dev/null || true',
            "  set -- $(stat -c '%g %a' \"$d\")",
            '  case "$1:$2" in',
            "    0:*[2367][0-7] | *:*[2367]) ;;",
            '    *) echo "$d is owned by $(stat -c %u:%g "$d") with mode $2 and cannot be made writable for gid 0" >&2; exit 1 ;;',
            "  esac",
            "done",
            `ls -ld ${dirs.join(" ")}`,
        ].join("\n");
        new k8s.batch.v1.Job(
            `${name}-prepare-share`,
            {
                metadata: {
                    namespace: args.namespace,
                    labels: labels(args.instance, "storage"),
                    // The only pod of the deployment that runs as uid 0; policies can key their exception on this.
                    annotations: { [ROOT_REASON_ANNOTATION]: "the volume ignores fsGroup: makes dags/ and logs/ group-writable for gid 0 in the root-owned volume" },
                },
                spec: {
                    backoffLimit: 4,
                    activeDeadlineSeconds: 600,
                    template: {
                        metadata: { labels: labels(args.instance, "storage") },
                        spec: withEphemeralStorage({
                            restartPolicy: "OnFailure",
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            securityContext: { runAsUser: 0, runAsGroup: AIRFLOW_GID, runAsNonRoot: false, seccompProfile: { type: "RuntimeDefault" } },
                            ...imagePullSecrets(args.images.pullSecrets),
                            containers: [
                                {
                                    name: "prepare-share",
                                    image: args.images.setup,
                                    command: ["sh", "-c", script],
                                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                                    volumeMounts: volumes.map((v, i) => ({ name: `share-${i}`, mountPath: v.mountPath })),
                                },
                            ],
                            volumes: volumes.map((v, i) => ({ name: `share-${i}`, persistentVolumeClaim: { claimName: v.claimName } })),
                        }),
                    },
                },
            },
            { parent: this },
        );
    }
}
