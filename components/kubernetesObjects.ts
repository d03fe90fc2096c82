// Schemas of the Kubernetes objects users hand to the package through the extension points every
// component shares (extraVolumes, extraVolumeMounts, extraContainers, extraInitContainers, affinity,
// topologySpreadConstraints, podAnnotations, podLabels, priorityClassName).
//
// The objects go into pod specs as they are, so a mistake would otherwise surface mid-update, from the
// API server, or, in the worker pod template, only when every task's pod is refused. As in the tests'
// strict OpenAPI check, every object is closed: an unknown field (`portz`, `mountpath`) is an error, by
// key; and the API server's own rules that the schema does not express are checked too (names, label
// keys and values, annotation sizes, quantities, ports, paths, operators, exactly one source).
// Containers are in kubernetesContainers.ts, scheduling in kubernetesScheduling.ts, scalars in
// kubernetesFields.ts; the volumes of the rarely used in-tree drivers are left to the API server.
// No imports from components: the config (components/config/) reads this module before any component exists.
import { z } from "zod";
import { dnsSubdomainProblem, labelKeyProblem } from "./formats";
import { container, imageRef, volumeMount } from "./kubernetesContainers";
import { checked, configMapKey, dnsLabel, fileMode, labelKey, labelValue, objectName, oneOf, quantityInput, relativePathProblem } from "./kubernetesFields";
import { affinity, topologySpreadConstraints } from "./kubernetesScheduling";

export { argsTypeNames, checked, dnsLabel, labelKey, labelValue, objectName } from "./kubernetesFields";
export { container, mountPathIssues, volumeMount } from "./kubernetesContainers";
export { affinity, toleration, topologySpreadConstraint } from "./kubernetesScheduling";

/** The API server's limit on all of an object's annotations together (keys and values), in bytes. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

/** Annotations, e.g. iam.gke.io/gcp-service-account on a ServiceAccount or prometheus.io/scrape on a pod. */
export const annotations = z
    .record(
        // Annotation keys follow the label key grammar (the API server checks them lowercased).
        checked((key) => (labelKeyProblem(key.toLowerCase()) ? "must be an annotation key such as iam.gke.io/gcp-service-account: [DNS subdomain/]name, name at most 63 of letters, digits, '-', '_', '.'" : undefined)),
        z.string(),
    )
    .superRefine((a, ctx) => {
        const bytes = Object.entries(a).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
        if (bytes > ANNOTATIONS_MAX_BYTES) ctx.addIssue({ code: "custom", input: undefined, message: `must have at most ${ANNOTATIONS_MAX_BYTES} bytes of keys and values together (256Ki), has ${bytes}` });
    })
    .prefault({});

/** Labels the package sets itself; a pod label may not change them (the Deployment selectors use them). */
export const OWN_LABEL_PREFIX = "app.kubernetes.io/";

const anyObject = z.record(z.string(), z.unknown());
const subPath = checked(relativePathProblem);

/** Volume sources by their field name; hostPath is refused (a node's file system breaks the pod sandbox). */
const VOLUME_SOURCES = [
    "emptyDir", "secret", "configMap", "persistentVolumeClaim", "projected", "downwardAPI", "csi", "image", "nfs", "ephemeral",
    "gcePersistentDisk", "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "fc", "flexVolume", "flocker",
    "gitRepo", "glusterfs", "iscsi", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume",
] as const;

const keyToPath = z.strictObject({ key: configMapKey, path: subPath, mode: fileMode.optional() });
const items = { items: z.array(keyToPath).optional(), optional: z.boolean().optional() };
const downwardAPIFile = z.strictObject({
    path: subPath,
    fieldRef: z
        .strictObject({
            apiVersion: z.literal("v1").optional(),
            fieldPath: z
                .string()
                .regex(
                    /^metadata\.(name|namespace|uid|labels|annotations)$|^metadata\.(labels|annotations)\['[^']+'\]$/,
                    "must be metadata.name, metadata.namespace, metadata.uid, metadata.labels, metadata.annotations, or one label or annotation (metadata.labels['<key>'])",
                ),
        })
        .optional(),
    resourceFieldRef: z.strictObject({ containerName: dnsLabel.optional(), resource: z.string(), divisor: quantityInput.optional() }).optional(),
    mode: fileMode.optional(),
});
const projection = z.strictObject({
    secret: z.strictObject({ name: objectName, ...items }).optional(),
    configMap: z.strictObject({ name: objectName, ...items }).optional(),
    downwardAPI: z.strictObject({ items: z.array(downwardAPIFile).optional() }).optional(),
    serviceAccountToken: z.strictObject({ audience: z.string().optional(), expirationSeconds: z.int().min(600, "must be at least 600 (10 minutes)").optional(), path: subPath }).optional(),
    clusterTrustBundle: anyObject.optional(),
    podCertificate: anyObject.optional(),
});

export const volume = z
    .strictObject({
        name: dnsLabel,
        emptyDir: z.strictObject({ medium: oneOf(["", "Memory"]).optional(), sizeLimit: quantityInput.optional() }).optional(),
        secret: z.strictObject({ secretName: objectName, ...items, defaultMode: fileMode.optional() }).optional(),
        configMap: z.strictObject({ name: objectName, ...items, defaultMode: fileMode.optional() }).optional(),
        persistentVolumeClaim: z.strictObject({ claimName: objectName, readOnly: z.boolean().optional() }).optional(),
        projected: z.strictObject({ sources: z.array(projection).optional(), defaultMode: fileMode.optional() }).optional(),
        downwardAPI: z.strictObject({ items: z.array(downwardAPIFile).optional(), defaultMode: fileMode.optional() }).optional(),
        csi: z
            .strictObject({
                // the API server checks the name lowercased: uppercase is allowed
                driver: checked((d) =>
                    d.length > 63 || dnsSubdomainProblem(d.toLowerCase()) ? "must be a CSI driver name such as secrets-store.csi.k8s.io: at most 63 letters, digits, '-' and '.', starting and ending with a letter or digit" : undefined,
                ),
                readOnly: z.boolean().optional(),
                fsType: z.string().optional(),
                volumeAttributes: z.record(z.string(), z.string()).optional(),
                nodePublishSecretRef: z.strictObject({ name: objectName }).optional(),
            })
            .optional(),
        image: z.strictObject({ reference: imageRef, pullPolicy: oneOf(["Always", "IfNotPresent", "Never"]).optional() }).optional(),
        nfs: z.strictObject({ server: z.string().min(1), path: z.string().regex(/^\//, "must be an absolute path"), readOnly: z.boolean().optional() }).optional(),
        ...Object.fromEntries(VOLUME_SOURCES.slice(9).map((source) => [source, anyObject.optional()])),
    })
    .superRefine((v, ctx) => {
        const sources = VOLUME_SOURCES.filter((s) => (v as Record<string, unknown>)[s] !== undefined);
        if (sources.length !== 1) {
            ctx.addIssue({
                code: "custom",
                message: `must have exactly one volume source (${sources.length ? `got ${sources.join(", ")}` : "e.g. secret, configMap, persistentVolumeClaim, emptyDir, csi"}); hostPath is not allowed`,
            });
        }
    });

/** The extension points of one component's pods, the same keys on every component. */
export const podExtensionShape = {
    /** Volumes added to the pod (a Secret with a CA bundle, a CSI secret store, ...). */
    extraVolumes: z.array(volume).prefault([]),
    /** Mounts added to the component's main container; each names one of extraVolumes or of the pod's own volumes. */
    extraVolumeMounts: z.array(volumeMount).prefault([]),
    /** Sidecars (a log shipper, a Cloud SQL proxy, ...). */
    extraContainers: z.array(container).prefault([]),
    /** Init containers, run after the package's own. */
    extraInitContainers: z.array(container).prefault([]),
    podAnnotations: annotations,
    /** Labels added to the pods; app.kubernetes.io/* stay the package's (its selectors use them). */
    podLabels: z.record(labelKey, labelValue).prefault({}),
    affinity: affinity.optional(),
    topologySpreadConstraints: topologySpreadConstraints.prefault([]),
    priorityClassName: objectName.optional(),
};

export type PodExtensionSettings = z.output<z.ZodObject<typeof podExtensionShape>>;

/** The names a component's pods use themselves: extensions must not reuse them, mounts may name its volumes. */
export interface OwnPodNames {
    volumes: string[];
    containers: string[];
}

/**
 * Cross-checks of a component's extensions against its own pod: new volumes and containers do not
 * reuse a name, every extra mount names a volume the pod has, and pod labels leave the package's alone.
 */
export function podExtensionProblems(own: OwnPodNames) {
    return (ext: PodExtensionSettings, ctx: z.RefinementCtx): void => {
        const issue = (path: (string | number)[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });
        const volumes = new Set(own.volumes);
        ext.extraVolumes.forEach((v, i) => {
            if (volumes.has(v.name)) issue(["extraVolumes", i, "name"], v.name, `is already a volume of this pod (its own are ${own.volumes.join(", ")}; earlier extraVolumes count too): pick another name`);
            volumes.add(v.name);
        });
        ext.extraVolumeMounts.forEach((m, i) => {
            if (!volumes.has(m.name)) issue(["extraVolumeMounts", i, "name"], m.name, `must name a volume of the pod: one of extraVolumes or the pod's own (${own.volumes.join(", ")})`);
        });
        const containers = new Set(own.containers);
        for (const key of ["extraInitContainers", "extraContainers"] as const) {
            ext[key].forEach((c, i) => {
                if (containers.has(c.name)) issue([key, i, "name"], c.name, `is already a container of this pod (its own are ${own.containers.join(", ")}; other extra containers count too): pick another name`);
                containers.add(c.name);
                (c.volumeMounts ?? []).forEach((m, j) => {
                    if (!volumes.has(m.name)) issue([key, i, "volumeMounts", j, "name"], m.name, `must name a volume of the pod: one of extraVolumes or the pod's own (${own.volumes.join(", ")})`);
                });
            });
        }
        const hostPorts = new Map<string, string>();
        ext.extraContainers.forEach((c, i) => {
            // The API server refuses two containers of a pod on the same host port (protocol and address).
            (c.ports ?? []).forEach((p, j) => {
                const key = `${p.hostPort}/${p.protocol ?? "TCP"}/${p.hostIP ?? ""}`;
                if (p.hostPort !== undefined && hostPorts.has(key)) issue(["extraContainers", i, "ports", j, "hostPort"], p.hostPort, `is already the hostPort of ${hostPorts.get(key)} (same protocol and hostIP): pick another`);
                else if (p.hostPort !== undefined) hostPorts.set(key, `extraContainers.${i}.ports.${j}`);
            });
            if (c.restartPolicy !== undefined) issue(["extraContainers", i, "restartPolicy"], c.restartPolicy, "is only allowed on init containers (a native sidecar: put it in extraInitContainers)");
        });
        for (const key of Object.keys(ext.podLabels).filter((k) => k.startsWith(OWN_LABEL_PREFIX))) {
            issue(["podLabels", key], key, `is set by this package (${OWN_LABEL_PREFIX}* labels select the pods); use another key`);
        }
    };
}
