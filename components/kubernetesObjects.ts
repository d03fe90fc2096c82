// Schemas of the Kubernetes objects users hand to the package through the extension points every
// component shares (extraVolumes, extraVolumeMounts, extraContainers, extraInitContainers, affinity,
// topologySpreadConstraints, podAnnotations, podLabels, priorityClassName).
//
// The objects go into pod specs as they are, so a mistake would otherwise surface mid-update, from the
// API server. As in the tests' strict OpenAPI check, every object is closed: an unknown field (`portz`,
// `mountpath`) is an error, by key. Required fields and names are checked; the deep structure of
// probes, lifecycle hooks and volume sources other than the common ones is left to the API server.
// No imports from components: the config (components/config/) reads this module before any component exists.
import { z } from "zod";
import { dnsLabelProblem, dnsSubdomainProblem, labelKeyProblem, labelValueProblem } from "./formats";

/**
 * Type names in the component's generated args (tools/generateArgs.ts) for shapes the config uses in
 * several places: one type named for what it is, not after the first section that has it. Where the
 * places' defaults differ (each component's resources), each holding field documents its own.
 */
export const argsTypeNames = z.registry<{ name: string }>();

/** A string checked by one of the grammars in formats.ts; the issue carries the offending value. */
export const checked = (problem: (value: string) => string | undefined) =>
    z.string().superRefine((value, ctx) => {
        const message = problem(value);
        if (message) ctx.addIssue({ code: "custom", input: value, message });
    });

export const dnsLabel = checked(dnsLabelProblem);
/** A Kubernetes object name (DNS subdomain), e.g. of a Secret the config refers to. */
export const objectName = checked(dnsSubdomainProblem);
export const labelKey = checked(labelKeyProblem);
export const labelValue = checked(labelValueProblem);

/** Annotations, e.g. iam.gke.io/gcp-service-account on a ServiceAccount or prometheus.io/scrape on a pod. */
export const annotations = z
    .record(
        // Annotation keys follow the label key grammar.
        checked((key) => (labelKeyProblem(key) ? "must be an annotation key such as iam.gke.io/gcp-service-account: [DNS subdomain/]name, name at most 63 of letters, digits, '-', '_', '.'" : undefined)),
        z.string(),
    )
    .prefault({});

/** Labels the package sets itself; a pod label may not change them (the Deployment selectors use them). */
export const OWN_LABEL_PREFIX = "app.kubernetes.io/";

const anyObject = z.record(z.string(), z.unknown());
const port = z.int().min(1).max(65535);

export const volumeMount = z.strictObject({
    name: dnsLabel,
    mountPath: z.string().regex(/^\//, "must be an absolute path"),
    readOnly: z.boolean().optional(),
    recursiveReadOnly: z.enum(["Disabled", "IfPossible", "Enabled"]).optional(),
    subPath: z.string().optional(),
    subPathExpr: z.string().optional(),
    mountPropagation: z.enum(["None", "HostToContainer", "Bidirectional"]).optional(),
});

const keyToPath = z.strictObject({ key: z.string(), path: z.string(), mode: z.int().optional() });

/** Volume sources by their field name; hostPath is refused (a node's file system breaks the pod sandbox). */
const VOLUME_SOURCES = [
    "emptyDir", "secret", "configMap", "persistentVolumeClaim", "projected", "downwardAPI", "csi", "ephemeral", "image", "nfs",
    "gcePersistentDisk", "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "fc", "flexVolume", "flocker",
    "gitRepo", "glusterfs", "iscsi", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume",
] as const;

export const volume = z
    .strictObject({
        name: dnsLabel,
        emptyDir: z.strictObject({ medium: z.enum(["", "Memory"]).optional(), sizeLimit: z.union([z.string(), z.number()]).optional() }).optional(),
        secret: z.strictObject({ secretName: objectName, items: z.array(keyToPath).optional(), defaultMode: z.int().optional(), optional: z.boolean().optional() }).optional(),
        configMap: z.strictObject({ name: objectName, items: z.array(keyToPath).optional(), defaultMode: z.int().optional(), optional: z.boolean().optional() }).optional(),
        persistentVolumeClaim: z.strictObject({ claimName: objectName, readOnly: z.boolean().optional() }).optional(),
        ...Object.fromEntries(VOLUME_SOURCES.slice(4).map((source) => [source, anyObject.optional()])),
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

const envVar = z.strictObject({
    name: z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, "must be an environment variable name"),
    value: z.string().optional(),
    valueFrom: anyObject.optional(),
});

const resourceList = z.record(z.string(), z.union([z.string(), z.number()]));

/** A container of core/v1 with the fields Kubernetes v1.34 knows (no unknown field), name and image required. */
export const container = z.strictObject({
    name: dnsLabel,
    image: z.string().min(1),
    imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    workingDir: z.string().optional(),
    ports: z
        .array(
            z.strictObject({
                name: z.string().max(15).optional(),
                containerPort: port,
                protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
                hostPort: port.optional(),
                hostIP: z.string().optional(),
            }),
        )
        .optional(),
    env: z.array(envVar).optional(),
    envFrom: z.array(anyObject).optional(),
    /** Requests and limits; a container without them gets small defaults (every container has both). */
    resources: z
        .strictObject({ requests: resourceList.optional(), limits: resourceList.optional(), claims: z.array(anyObject).optional() })
        .register(argsTypeNames, { name: "ResourceRequirements" })
        .optional(),
    resizePolicy: z.array(anyObject).optional(),
    /** `Always` on an init container makes it a native sidecar. */
    restartPolicy: z.literal("Always").optional(),
    volumeMounts: z.array(volumeMount).optional(),
    volumeDevices: z.array(anyObject).optional(),
    livenessProbe: anyObject.optional(),
    readinessProbe: anyObject.optional(),
    startupProbe: anyObject.optional(),
    lifecycle: anyObject.optional(),
    terminationMessagePath: z.string().optional(),
    terminationMessagePolicy: z.enum(["File", "FallbackToLogsOnError"]).optional(),
    /** Merged over the locked-down default (non-root, no capabilities, read-only root filesystem). */
    securityContext: anyObject.optional(),
    stdin: z.boolean().optional(),
    stdinOnce: z.boolean().optional(),
    tty: z.boolean().optional(),
});

export const affinity = z.strictObject({
    nodeAffinity: anyObject.optional(),
    podAffinity: anyObject.optional(),
    podAntiAffinity: anyObject.optional(),
});

export const topologySpreadConstraint = z.strictObject({
    maxSkew: z.int().min(1),
    topologyKey: labelKey,
    whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]),
    labelSelector: anyObject.optional(),
    minDomains: z.int().min(1).optional(),
    matchLabelKeys: z.array(z.string()).optional(),
    nodeAffinityPolicy: z.enum(["Honor", "Ignore"]).optional(),
    nodeTaintsPolicy: z.enum(["Honor", "Ignore"]).optional(),
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
    topologySpreadConstraints: z.array(topologySpreadConstraint).prefault([]),
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
        ext.extraContainers.forEach((c, i) => {
            if (c.restartPolicy !== undefined) issue(["extraContainers", i, "restartPolicy"], c.restartPolicy, "is only allowed on init containers (a native sidecar: put it in extraInitContainers)");
        });
        for (const key of Object.keys(ext.podLabels).filter((k) => k.startsWith(OWN_LABEL_PREFIX))) {
            issue(["podLabels", key], key, `is set by this package (${OWN_LABEL_PREFIX}* labels select the pods); use another key`);
        }
    };
}
