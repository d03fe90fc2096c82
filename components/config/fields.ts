// Field schemas the sections share: quantities, cron schedules, CIDRs, image references, container
// resources, scheduling and scratch space, and the knobs every Airflow workload has.
import { z } from "zod";
import { checked, labelKey, labelValue, argsTypeNames, annotations, podExtensionProblems, podExtensionShape, toleration } from "../kubernetesObjects";
import { imageRef } from "../kubernetesContainers";
import { cidrProblem, cronProblem, positiveQuantityProblem, quantityValue } from "../formats";
import { OWN_POD_NAMES, ResourceDefaults } from "./constants";
import { envSources } from "./secretEnv";

/**
 * A Kubernetes quantity greater than zero (sizes, requests, limits). A plain number is accepted too
 * (`cpu: 2`), as in a Kubernetes manifest, and passed on as its string form.
 */
export const quantity = z
    .union([z.number(), z.string()], { error: "must be a Kubernetes quantity such as 250m, 1, 512Mi or 20Gi" })
    .transform((v) => String(v))
    .pipe(checked(positiveQuantityProblem));
export const cron = checked(cronProblem);
export const cidr = checked(cidrProblem);
/** A GCP project id (6-30 of a-z, 0-9, '-', starting with a letter), optionally domain-scoped (example.com:proj). */
export const gcpProject = z
    .string()
    .regex(/^([a-z][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/, "must be a Google Cloud project id: 6 to 30 lowercase letters, digits and '-', starting with a letter");

export { imageRef };

export const resourceQuantities = (d: { cpu: string; memory: string }) =>
    z
        .strictObject({
            /** CPU, in cores or millicores ("500m"). */
            cpu: quantity.default(d.cpu),
            /** Memory, in bytes with a binary suffix ("512Mi"). */
            memory: quantity.default(d.memory),
            /**
             * Ephemeral storage (Kubernetes' `ephemeral-storage`), in bytes with a binary suffix ("4Gi"). When
             * not set, each container gets the sizes of the disk-backed emptyDirs it mounts (tmpSize, homeSize,
             * ...) plus 128Mi for its logs; a limit must hold at least those emptyDirs.
             */
            ephemeralStorage: quantity.optional(),
        })
        .register(argsTypeNames, { name: "ResourceQuantities" })
        .prefault({});

export const resources = (d: ResourceDefaults) =>
    z
        .strictObject({
            /** What the scheduler reserves for the container on a node. */
            requests: resourceQuantities(d.requests),
            /** The most the container may use: above the memory limit it is killed, above the CPU limit throttled. */
            limits: resourceQuantities(d.limits),
        })
        .register(argsTypeNames, { name: "ContainerResources" })
        .prefault({})
        .superRefine((r, ctx) => {
            // The API server refuses a request above its limit.
            for (const kind of ["cpu", "memory", "ephemeralStorage"] as const) {
                const request = r.requests[kind] === undefined ? undefined : quantityValue(r.requests[kind]);
                const limit = r.limits[kind] === undefined ? undefined : quantityValue(r.limits[kind]);
                if (request !== undefined && limit !== undefined && request > limit) {
                    ctx.addIssue({ code: "custom", path: ["requests", kind], input: r.requests[kind], message: `must not exceed limits.${kind} (${r.limits[kind]})` });
                }
            }
        });

export { toleration };

/** Sizes of a pod's writable scratch space (emptyDirs); the root filesystem is read-only. */
export const scratch = {
    /** Size limit of /tmp. */
    tmpSize: quantity.default("1Gi"),
    /** Size limit of the writable HOME (tools' caches and config, Airflow's generated airflow.cfg). */
    homeSize: quantity.default("1Gi"),
};

/** Where a pod may run: the same two keys on every component, Postgres and git-sync included. */
export const scheduling = {
    nodeSelector: z.record(labelKey, labelValue).prefault({}),
    tolerations: z.array(toleration).prefault([]),
};

/** The knobs every Airflow component has, in the same shape (as in the official Helm chart). */
export const placement = (section: string) => ({
    ...scheduling,
    ...scratch,
    ...envSources(section),
    /** Annotations of the component's own ServiceAccount (GKE Workload Identity, IRSA, ...). */
    serviceAccountAnnotations: annotations,
    ...podExtensionShape,
});

export const workloadShape = (section: string, replicas: number, d: ResourceDefaults) => ({
    replicas: z.int().min(1).max(20).default(replicas),
    resources: resources(d),
    ...placement(section),
});
/** A section of an Airflow Deployment; `container` is the name of its main container. */
export const workload = (section: string, container: string, replicas: number, d: ResourceDefaults) =>
    z
        .strictObject(workloadShape(section, replicas, d))
        .prefault({})
        .superRefine(podExtensionProblems(OWN_POD_NAMES.airflow(container)));
