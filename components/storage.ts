// Shared storage for DAGs and task logs: ReadWriteMany claims that the scheduler, dag-processor,
// triggerer, API server, git-sync and every worker pod mount.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "./config";
import { labels } from "./podParts";

export interface SharedStorageArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    /** `pvc`: new RWX claims on a StorageClass; `existing`: claims made elsewhere; `filestore`: a Filestore share. */
    mode: StackConfig["storage"]["mode"];
    /** StorageClass of new claims (pvc mode); the cluster default when omitted. */
    storageClassName?: string;
    /** @default "5Gi" */
    dagsSize: string;
    /** @default "20Gi" */
    logsSize: string;
    /** existing mode: claim names. */
    dagsClaimName?: string;
    logsClaimName?: string;
    /** One claim with `dags/` and `logs/` sub-paths instead of two. */
    singleShare: boolean;
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

    constructor(name: string, args: SharedStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:index:SharedStorage", name, {}, opts);

        if (args.singleShare) {
            this.dagsSubPath = args.needsDags ? "dags" : undefined;
            this.logsSubPath = args.needsLogs ? "logs" : undefined;
        }

        if (args.mode === "existing") {
            if (args.needsDags && !args.dagsClaimName) {
                throw new pulumi.ResourceError("dagsClaimName is required in existing mode", this);
            }
            this.dagsClaimName = args.needsDags && args.dagsClaimName ? pulumi.output(args.dagsClaimName) : undefined;
            const logs = args.singleShare ? args.dagsClaimName : args.logsClaimName;
            this.logsClaimName = args.needsLogs && logs ? pulumi.output(logs) : undefined;
        } else if (args.mode === "pvc") {
            const claim = (suffix: string, size: string) =>
                new k8s.core.v1.PersistentVolumeClaim(
                    `${name}-${suffix}`,
                    {
                        metadata: { name: `${name}-${suffix}`, namespace: args.namespace, labels: labels(args.instance, "storage") },
                        spec: {
                            accessModes: ["ReadWriteMany"],
                            storageClassName: args.storageClassName,
                            resources: { requests: { storage: size } },
                        },
                    },
                    { parent: this },
                );
            if (args.singleShare) {
                const shared = args.needsDags || args.needsLogs ? claim("shared", args.logsSize).metadata.name : undefined;
                this.dagsClaimName = args.needsDags ? shared : undefined;
                this.logsClaimName = args.needsLogs ? shared : undefined;
            } else {
                this.dagsClaimName = args.needsDags ? claim("dags", args.dagsSize).metadata.name : undefined;
                this.logsClaimName = args.needsLogs ? claim("logs", args.logsSize).metadata.name : undefined;
            }
        } else {
            throw new pulumi.ResourceError(`storage mode ${args.mode} is not available yet`, this);
        }

        this.registerOutputs({ dagsClaimName: this.dagsClaimName, logsClaimName: this.logsClaimName });
    }
}
