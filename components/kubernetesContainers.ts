// The containers users hand to the package (extraContainers, extraInitContainers) and the mounts of
// its own containers (extraVolumeMounts): closed like the strict OpenAPI schema, plus the API server's
// rules that schema does not express (env sources with exactly one source, port names and numbers,
// resource names and quantities, relative sub-paths, unique mount paths) and the image reference the
// kubelet would fail to pull.
// No imports from components: the config (components/config/) reads this module before any component exists.
import { isIP } from "net";
import { z } from "zod";
import { imageReferenceProblem, quantityValue } from "./formats";
import { argsTypeNames, checked, configMapKey, dnsLabel, envName, objectName, oneOf, portName, portNumber, quantityInput, relativePathProblem } from "./kubernetesFields";

type Ctx = z.RefinementCtx;
const issue = (ctx: Ctx, path: (string | number)[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });
const anyObject = z.record(z.string(), z.unknown());
const relativePath = checked(relativePathProblem);

export const volumeMount = z
    .strictObject({
        name: dnsLabel,
        mountPath: z.string().regex(/^\//, "must be an absolute path"),
        readOnly: z.boolean().optional(),
        recursiveReadOnly: oneOf(["Disabled", "IfPossible", "Enabled"]).optional(),
        subPath: relativePath.optional(),
        subPathExpr: relativePath.optional(),
        mountPropagation: oneOf(["None", "HostToContainer", "Bidirectional"]).optional(),
    })
    .superRefine((m, ctx) => {
        if (m.subPath !== undefined && m.subPathExpr !== undefined) issue(ctx, ["subPathExpr"], m.subPathExpr, "cannot be combined with subPath: set one of them");
        if (m.recursiveReadOnly !== undefined && m.recursiveReadOnly !== "Disabled") {
            if (!m.readOnly) issue(ctx, ["recursiveReadOnly"], m.recursiveReadOnly, "needs readOnly: true");
            if (m.mountPropagation !== undefined && m.mountPropagation !== "None") issue(ctx, ["recursiveReadOnly"], m.recursiveReadOnly, "needs mountPropagation None (or unset)");
        }
    });

/** Exactly one of the fields of an object that takes one source (an env var's valueFrom, an envFrom entry, a probe's handler). */
export function exactlyOne(fields: readonly string[], hint = "") {
    return (o: Record<string, unknown>, ctx: Ctx): void => {
        const set = fields.filter((f) => o[f] !== undefined);
        if (set.length !== 1) issue(ctx, [], undefined, `must set exactly one of ${fields.join(", ")}${set.length ? ` (it sets ${set.join(" and ")})` : ""}${hint}`);
    };
}

const keyRef = z.strictObject({ name: objectName, key: configMapKey, optional: z.boolean().optional() });
const ENV_FIELD_PATHS = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const fieldPath = checked((p) =>
    ENV_FIELD_PATHS.includes(p) || /^metadata\.(labels|annotations)\['[^']+'\]$/.test(p)
        ? undefined
        : `must be one of ${ENV_FIELD_PATHS.join(", ")}, metadata.labels['<key>'] or metadata.annotations['<key>']`,
);
const RESOURCE_FIELDS = ["limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage"] as const;
const VALUE_SOURCES = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"] as const;

const envVar = z
    .strictObject({
        name: envName,
        value: z.string().optional(),
        valueFrom: z
            .strictObject({
                fieldRef: z.strictObject({ apiVersion: z.literal("v1").optional(), fieldPath }).optional(),
                resourceFieldRef: z.strictObject({ containerName: dnsLabel.optional(), resource: oneOf(RESOURCE_FIELDS), divisor: quantityInput.optional() }).optional(),
                configMapKeyRef: keyRef.optional(),
                secretKeyRef: keyRef.optional(),
            })
            .superRefine(exactlyOne(VALUE_SOURCES))
            .optional(),
    })
    .superRefine((e, ctx) => {
        if (e.value && e.valueFrom) issue(ctx, ["valueFrom"], undefined, "cannot be combined with a non-empty value: set one of them");
    });

const optionalRef = z.strictObject({ name: objectName, optional: z.boolean().optional() });
/** Every key of one ConfigMap or one Secret as env vars. */
export const envFromSource = z
    .strictObject({ prefix: envName.optional(), configMapRef: optionalRef.optional(), secretRef: optionalRef.optional() })
    .superRefine(exactlyOne(["configMapRef", "secretRef"], ": list a ConfigMap and a Secret as two entries"));

const containerPort = z.strictObject({
    name: portName.optional(),
    containerPort: portNumber,
    protocol: oneOf(["TCP", "UDP", "SCTP"]).optional(),
    hostPort: portNumber.optional(),
    hostIP: checked((ip) => (isIP(ip) ? undefined : "must be an IP address such as 0.0.0.0 or ::")).optional(),
});

/** cpu, memory, ephemeral-storage, hugepages-<size>, or an extended resource such as nvidia.com/gpu. */
function resourceNameProblem(name: string): string | undefined {
    if (["cpu", "memory", "ephemeral-storage"].includes(name) || /^hugepages-.+$/.test(name)) return undefined;
    const [domain, rest, ...more] = name.split("/");
    const extended =
        rest !== undefined &&
        !more.length &&
        /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(domain) &&
        !/(^|\.)kubernetes\.io$/.test(domain) &&
        /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(rest);
    return extended ? undefined : "must be cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource such as nvidia.com/gpu (<domain>/<name>, not in kubernetes.io)";
}
const resourceList = z.record(checked(resourceNameProblem), quantityInput);

export const resourceRequirements = z
    .strictObject({
        requests: resourceList.optional(),
        limits: resourceList.optional(),
        claims: z.array(anyObject).max(0, "must be empty: claims name the pod's resourceClaims, and this package's pods have none").optional(),
    })
    .register(argsTypeNames, { name: "ResourceRequirements" })
    .superRefine(requestsWithinLimits);

function requestsWithinLimits(r: { requests?: Record<string, string | number>; limits?: Record<string, string | number> }, ctx: Ctx): void {
    for (const [name, request] of Object.entries(r.requests ?? {})) {
        const limit = r.limits?.[name];
        const extended = name.includes("/");
        if (extended && String(limit) !== String(request))
            issue(ctx, ["requests", name], request, `must equal limits.${name} (an extended resource is not overcommitted): set both to the same value`);
        else if (limit !== undefined && (quantityValue(String(request)) ?? 0) > (quantityValue(String(limit)) ?? 0))
            issue(ctx, ["requests", name], request, `must not exceed limits.${name} (${limit})`);
    }
}

export const imageRef = checked(imageReferenceProblem);

const capabilities = z.strictObject({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() });
const seccompProfile = z.strictObject({ type: oneOf(["RuntimeDefault", "Unconfined", "Localhost"]), localhostProfile: z.string().optional() }).superRefine((p, ctx) => {
    if ((p.type === "Localhost") !== (p.localhostProfile !== undefined))
        issue(ctx, ["localhostProfile"], p.localhostProfile, "is required with type Localhost, and only allowed with it");
});

/** Merged over the locked-down default of the package's containers (non-root, no capabilities, read-only root filesystem). */
const securityContext = z.strictObject({
    allowPrivilegeEscalation: z.boolean().optional(),
    appArmorProfile: seccompProfile.optional(),
    capabilities: capabilities.optional(),
    privileged: z.boolean().optional(),
    procMount: oneOf(["Default", "Unmasked"]).optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    runAsGroup: z.int().min(0).optional(),
    runAsNonRoot: z.boolean().optional(),
    runAsUser: z.int().min(0).optional(),
    seLinuxOptions: z.strictObject({ level: z.string().optional(), role: z.string().optional(), type: z.string().optional(), user: z.string().optional() }).optional(),
    seccompProfile: seccompProfile.optional(),
    windowsOptions: anyObject.optional(),
});

const intOrPortName = z.union([portNumber, portName], { error: "must be a port number from 1 to 65535 or a port name" });
const HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"] as const;
const handlerShape = {
    exec: z.strictObject({ command: z.array(z.string()).min(1, "must name the command to run") }).optional(),
    httpGet: z
        .strictObject({
            path: z.string().optional(),
            port: intOrPortName,
            host: z.string().optional(),
            scheme: oneOf(["HTTP", "HTTPS"]).optional(),
            httpHeaders: z.array(z.strictObject({ name: z.string().regex(/^[-A-Za-z0-9]+$/, "must be an HTTP header name"), value: z.string() })).optional(),
        })
        .optional(),
    tcpSocket: z.strictObject({ port: intOrPortName, host: z.string().optional() }).optional(),
};
const seconds = (min: number) => z.int().min(min).optional();
const probe = z
    .strictObject({
        ...handlerShape,
        grpc: z.strictObject({ port: portNumber, service: z.string().optional() }).optional(),
        initialDelaySeconds: seconds(0),
        timeoutSeconds: seconds(1),
        periodSeconds: seconds(1),
        successThreshold: seconds(1),
        failureThreshold: seconds(1),
        terminationGracePeriodSeconds: seconds(1),
    })
    .superRefine(exactlyOne(HANDLERS));
const lifecycleHandler = z
    .strictObject({ ...handlerShape, sleep: z.strictObject({ seconds: z.int().min(1) }).optional() })
    .superRefine(exactlyOne(["exec", "httpGet", "tcpSocket", "sleep"]));

/** A container of core/v1 with the fields Kubernetes v1.34 knows (no unknown field), name and image required. */
export const container = z
    .strictObject({
        name: dnsLabel,
        image: imageRef,
        imagePullPolicy: oneOf(["Always", "IfNotPresent", "Never"]).optional(),
        command: z.array(z.string()).optional(),
        args: z.array(z.string()).optional(),
        workingDir: z.string().optional(),
        ports: z.array(containerPort).optional(),
        env: z.array(envVar).optional(),
        envFrom: z.array(envFromSource).optional(),
        /** Requests and limits; a container without them gets small defaults (every container has both). */
        resources: resourceRequirements.optional(),
        resizePolicy: z.array(z.strictObject({ resourceName: oneOf(["cpu", "memory"]), restartPolicy: oneOf(["NotRequired", "RestartContainer"]) })).optional(),
        /** `Always` on an init container makes it a native sidecar. */
        restartPolicy: z.literal("Always", { error: "must be Always (a native sidecar), or unset" }).optional(),
        volumeMounts: z.array(volumeMount).optional(),
        volumeDevices: z.array(z.strictObject({ name: dnsLabel, devicePath: z.string().regex(/^\//, "must be an absolute path") })).optional(),
        livenessProbe: probe.optional(),
        readinessProbe: probe.optional(),
        startupProbe: probe.optional(),
        lifecycle: z.strictObject({ postStart: lifecycleHandler.optional(), preStop: lifecycleHandler.optional(), stopSignal: z.string().optional() }).optional(),
        terminationMessagePath: z.string().optional(),
        terminationMessagePolicy: oneOf(["File", "FallbackToLogsOnError"]).optional(),
        /** Merged over the locked-down default (non-root, no capabilities, read-only root filesystem). */
        securityContext: securityContext.optional(),
        stdin: z.boolean().optional(),
        stdinOnce: z.boolean().optional(),
        tty: z.boolean().optional(),
    })
    .superRefine(containerProblems);

type ContainerChecked = {
    volumeMounts?: z.output<typeof volumeMount>[];
    ports?: { name?: string }[];
    securityContext?: { privileged?: boolean };
    livenessProbe?: { successThreshold?: number };
    startupProbe?: { successThreshold?: number };
};

/** Within one container: unique mount paths and port names, Bidirectional propagation only when privileged, liveness and startup succeed once. */
function containerProblems(c: ContainerChecked, ctx: Ctx): void {
    for (const key of ["livenessProbe", "startupProbe"] as const) {
        const threshold = c[key]?.successThreshold;
        if (threshold !== undefined && threshold !== 1)
            issue(ctx, [key, "successThreshold"], threshold, `must be 1 for a ${key === "livenessProbe" ? "liveness" : "startup"} probe`);
    }
    for (const i of mountPathIssues(c.volumeMounts ?? [], [], ["volumeMounts"])) issue(ctx, i.path, i.input, i.message);
    const names = (c.ports ?? []).map((p) => p.name);
    names.forEach((name, i) => {
        if (name !== undefined && names.indexOf(name) < i)
            issue(ctx, ["ports", i, "name"], name, `is already the name of ports.${names.indexOf(name)}: port names are unique in a container`);
    });
    (c.volumeMounts ?? []).forEach((m, i) => {
        if (m.mountPropagation === "Bidirectional" && !c.securityContext?.privileged)
            issue(ctx, ["volumeMounts", i, "mountPropagation"], m.mountPropagation, "Bidirectional is only allowed in a privileged container");
    });
}

/**
 * Mount paths of one container are unique (the API server refuses a second mount at a path): each of
 * `mounts` against the earlier ones and against `own`, the paths the package mounts there itself.
 */
export function mountPathIssues(mounts: { mountPath: string }[], own: string[], path: (string | number)[]): { path: (string | number)[]; input: string; message: string }[] {
    return mounts.flatMap((m, i) => {
        const earlier = mounts.findIndex((o) => o.mountPath === m.mountPath);
        const at = { path: [...path, i, "mountPath"], input: m.mountPath };
        if (own.includes(m.mountPath))
            return [{ ...at, message: `is already mounted by this package in the same container (its own mounts are at ${own.join(", ")}): pick another path` }];
        return earlier < i ? [{ ...at, message: `is already the path of ${path.join(".")}.${earlier}: mount paths are unique in a container` }] : [];
    });
}
