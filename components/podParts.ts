// Pod pieces shared by every workload: labels, security contexts, resources, env, probes.
// Built here once so no pod spec spells them out twice.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PlacementSettings, PodExtensionSettings, ResourceSettings, SIDECAR, StackConfig } from "./config";
import { EPHEMERAL_STORAGE, withEphemeralStorage } from "./ephemeralStorage";

type Container = k8s.types.input.core.v1.Container;
type PodSpec = k8s.types.input.core.v1.PodSpec;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Probe = k8s.types.input.core.v1.Probe;
type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;

/** The official Airflow image runs as uid 50000 with gid 0. */
export const AIRFLOW_UID = 50000;
export const AIRFLOW_GID = 0;
/** The official Postgres image's postgres user. */
export const POSTGRES_UID = 999;
/** git-sync's image user (nobody-like, non-root); it writes DAGs readable by gid 0. */
export const GIT_SYNC_UID = 65533;

export const PART_OF = "airflow";

/** Labels that select a component's pods: stable for the life of the Deployment. */
export function selectorLabels(instance: string, component: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": "airflow",
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    };
}

/** The full recommended label set, on every object. */
export function labels(instance: string, component: string): Record<string, string> {
    return {
        ...selectorLabels(instance, component),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

export function podSecurityContext(uid: number, gid: number, fsGroup: number = gid): PodSecurityContext {
    return {
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup,
        // Only when the volume's root is not yet the group's: a recursive pass on every start would
        // chmod Postgres' data directory to 2770, and Postgres then refuses to start (it wants 0700
        // or 0750); on big log volumes it would also slow every pod start.
        fsGroupChangePolicy: "OnRootMismatch",
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Locked-down container: no privilege escalation, no capabilities, read-only root filesystem. */
export const restrictedContainerSecurityContext: k8s.types.input.core.v1.SecurityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
};

/**
 * Requests and limits in Kubernetes' form. Ephemeral storage only where the config sets it: otherwise
 * withEphemeralStorage sizes it from the emptyDirs the container mounts, once the pod is complete.
 */
export function resourceRequirements(r: ResourceSettings): k8s.types.input.core.v1.ResourceRequirements {
    const quantities = (q: ResourceSettings["requests"]) => ({
        cpu: q.cpu,
        memory: q.memory,
        ...(q.ephemeralStorage !== undefined ? { [EPHEMERAL_STORAGE]: q.ephemeralStorage } : {}),
    });
    return { requests: quantities(r.requests), limits: quantities(r.limits) };
}

/** Plain env vars from a name -> value map, in a stable (sorted) order so previews stay quiet. */
export function plainEnv(values: Record<string, pulumi.Input<string>>): EnvVar[] {
    return Object.keys(values)
        .sort()
        .map((name) => ({ name, value: values[name] }));
}

/** An env var read from a Kubernetes Secret: the value never appears in the pod spec. */
export function secretEnv(name: string, secretName: pulumi.Input<string>, key: string): EnvVar {
    return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}

/** Env vars from keys of Secrets (name -> {secretName, key}), sorted by name. */
export function secretKeyEnv(refs: Record<string, { secretName: pulumi.Input<string>; key: string }>): EnvVar[] {
    return Object.keys(refs)
        .sort()
        .map((name) => secretEnv(name, refs[name].secretName, refs[name].key));
}

/** Every key of each Secret as an env var, or undefined when there are none. */
export function envFromSecrets(names: string[]): k8s.types.input.core.v1.EnvFromSource[] | undefined {
    const unique = [...new Set(names)];
    return unique.length ? unique.map((name) => ({ secretRef: { name } })) : undefined;
}

/** Registry credentials for a pod; nothing when there are none. */
export function imagePullSecrets(names: string[] | undefined): Pick<k8s.types.input.core.v1.PodSpec, "imagePullSecrets"> {
    return names?.length ? { imagePullSecrets: names.map((name) => ({ name })) } : {};
}

/** Later entries win; keeps first-seen order so the rendered spec is stable. */
export function mergeEnv(...lists: EnvVar[][]): EnvVar[] {
    const byName = new Map<string, EnvVar>();
    for (const list of lists) {
        for (const env of list) {
            byName.set(env.name as string, env);
        }
    }
    return [...byName.values()];
}

/**
 * Metadata for a Service whose pods belong to a workload the deploy already awaits (its Deployment or
 * StatefulSet Ready): the provider's own Service await adds nothing there, yet it waits 10 s after
 * every change of the endpoints for them to "settle", on the critical path of every cold deploy. A
 * LoadBalancer keeps the await: the update waits for its address.
 */
export function awaitedWorkloadService<M extends object>(metadata: M, serviceType?: string): M & { annotations?: Record<string, string> } {
    return serviceType === "LoadBalancer" ? metadata : { ...metadata, annotations: { "pulumi.com/skipAwait": "true" } };
}

/** Readiness is probed for the pod's life: often enough to join the Service soon after start-up. */
export const READINESS_PROBE_PERIOD = 5;

/**
 * A start-up probe every 2 s with a failure budget in seconds. Start-up probes run only until a
 * container first passes, so a short period costs nothing later and makes the pod Ready within 2 s
 * of its server answering (with 10 s, a deploy waited up to 10 s more per component).
 */
export function startupProbe(path: string, port: string, budgetSeconds: number): Probe {
    return httpProbe(path, port, STARTUP_PROBE_PERIOD, budgetSeconds / STARTUP_PROBE_PERIOD);
}

const STARTUP_PROBE_PERIOD = 2;

/**
 * The API server's start-up probe (as startupProbe, from inside the container at `base`, its URL
 * with any path prefix): the core API answers, and so does the execution API in every uvicorn
 * worker. Cadwyn, which serves the execution API's versions, builds its versioned routes on a
 * worker's first request to it (2.6 s of CPU per worker with Airflow 3.3.2, measured in the lab
 * image), so without this the first tasks after every start of the API server waited that long for
 * their first call. Twice as many concurrent requests as workers reach every worker: one that is
 * building its routes accepts no connection until it is done, so the others take the rest.
 */
export function executionApiStartupProbe(base: string, workers: number, budgetSeconds: number): Probe {
    const script = [
        "import concurrent.futures, sys, urllib.request",
        "get = lambda path: urllib.request.urlopen(f'" + base + "{path}', timeout=25).status",
        "get('/api/v2/monitor/health')",
        `with concurrent.futures.ThreadPoolExecutor(${2 * workers}) as pool:`,
        `    sys.exit(0 if all(code == 200 for code in pool.map(get, ['/execution/health'] * ${2 * workers})) else 1)`,
    ].join("\n");
    return execProbe(["python", "-c", script], STARTUP_PROBE_PERIOD, budgetSeconds / STARTUP_PROBE_PERIOD, 30);
}

export function httpProbe(path: string, port: string, periodSeconds: number, failureThreshold: number, timeoutSeconds = 5): Probe {
    return { httpGet: { path, port }, periodSeconds, failureThreshold, timeoutSeconds };
}

export function execProbe(command: string[], periodSeconds: number, failureThreshold: number, timeoutSeconds: number): Probe {
    return { exec: { command }, periodSeconds, failureThreshold, timeoutSeconds };
}

export function emptyDir(name: string, sizeLimit = "1Gi"): k8s.types.input.core.v1.Volume {
    return { name, emptyDir: { sizeLimit } };
}

/** nodeSelector + tolerations in pod-spec form; undefined when empty so specs carry no noise. */
export function placement(p: Pick<PlacementSettings, "nodeSelector" | "tolerations">): Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations"> {
    return {
        ...(Object.keys(p.nodeSelector).length ? { nodeSelector: p.nodeSelector } : {}),
        ...(p.tolerations.length ? { tolerations: p.tolerations } : {}),
    };
}

/** Container with the restricted security context and resources applied. */
export function restrictedContainer(c: Container & { name: string }, resources: ResourceSettings): Container {
    return { ...c, securityContext: restrictedContainerSecurityContext, resources: resourceRequirements(resources) };
}

/** The spec of a one-replica StatefulSet whose pods carry the component's labels. */
export function singlePodStatefulSetSpec(
    instance: string,
    component: string,
    serviceName: pulumi.Input<string>,
    podSpec: k8s.types.input.core.v1.PodSpec,
    volumeClaimTemplates: k8s.types.input.core.v1.PersistentVolumeClaim[],
    templateMetadata: k8s.types.input.meta.v1.ObjectMeta = { labels: labels(instance, component) },
): k8s.types.input.apps.v1.StatefulSetSpec {
    return {
        serviceName,
        replicas: 1,
        selector: { matchLabels: selectorLabels(instance, component) },
        template: { metadata: templateMetadata, spec: podSpec },
        volumeClaimTemplates,
    };
}

// ---- extension points: the same on every component (config: extraVolumes, extraContainers, ...) ----

/** A user's container, locked down like the package's own and sized unless it says otherwise. */
function extraContainer(c: PodExtensionSettings["extraContainers"][number]): Container {
    // Every container has requests and limits: a helper's where the user names none.
    const defaults = resourceRequirements(SIDECAR);
    return {
        ...c,
        securityContext: { ...restrictedContainerSecurityContext, ...c.securityContext },
        resources: { ...c.resources, requests: c.resources?.requests ?? defaults.requests, limits: c.resources?.limits ?? defaults.limits },
    } as Container;
}

/**
 * A component's pod spec with its extension points: the user's volumes, mounts on the main container,
 * init containers after the package's own, sidecars, affinity, spread and priority. The spec is then
 * complete, so every container also gets its ephemeral storage here (withEphemeralStorage).
 */
export function extendPodSpec(spec: PodSpec, ext: PodExtensionSettings, mainContainer: string): PodSpec {
    const containers = (spec.containers as Container[]).map((c) =>
        c.name === mainContainer && ext.extraVolumeMounts.length ? { ...c, volumeMounts: [...((c.volumeMounts as VolumeMount[]) ?? []), ...ext.extraVolumeMounts] } : c,
    );
    const initContainers = [...((spec.initContainers as Container[]) ?? []), ...ext.extraInitContainers.map(extraContainer)];
    return withEphemeralStorage({
        ...spec,
        ...(ext.priorityClassName ? { priorityClassName: ext.priorityClassName } : {}),
        ...(ext.affinity ? { affinity: ext.affinity } : {}),
        ...(ext.topologySpreadConstraints.length ? { topologySpreadConstraints: ext.topologySpreadConstraints } : {}),
        ...(initContainers.length ? { initContainers } : {}),
        containers: [...containers, ...ext.extraContainers.map(extraContainer)],
        ...(spec.volumes !== undefined || ext.extraVolumes.length ? { volumes: [...((spec.volumes as Volume[]) ?? []), ...(ext.extraVolumes as Volume[])] } : {}),
    });
}

/** Labels and annotations of a component's pods: the user's podLabels/podAnnotations, then the package's own. */
export function podMetadata(
    instance: string,
    component: string,
    ext: Pick<PodExtensionSettings, "podLabels" | "podAnnotations">,
    annotations: Record<string, pulumi.Input<string>> = {},
): k8s.types.input.meta.v1.ObjectMeta {
    const all = { ...ext.podAnnotations, ...annotations };
    return { labels: { ...ext.podLabels, ...labels(instance, component) }, ...(Object.keys(all).length ? { annotations: all } : {}) };
}

/** Pod annotation naming the keys' rotation generation (keys.generation; none at 0, so older stacks see no diff). */
export const KEY_GENERATION_ANNOTATION = "airflow.pulumi.com/key-generation";
export function keyGenerationAnnotation(generation: number): Record<string, string> {
    return generation > 0 ? { [KEY_GENERATION_ANNOTATION]: String(generation) } : {};
}

/** Spreads a component's replicas over nodes where the scheduler can; soft, so it never blocks a rollout. */
export function spreadOverNodes(instance: string, component: string): k8s.types.input.core.v1.TopologySpreadConstraint[] {
    return [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selectorLabels(instance, component) } }];
}

/** Keeps all but one pod of a multi-replica component up through voluntary disruptions (node drains). */
export function disruptionBudget(name: string, namespace: pulumi.Input<string>, instance: string, component: string, parent: pulumi.Resource): k8s.policy.v1.PodDisruptionBudget {
    return new k8s.policy.v1.PodDisruptionBudget(
        name,
        {
            metadata: { name, namespace, labels: labels(instance, component) },
            spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(instance, component) } },
        },
        { parent },
    );
}

/** What each single-image add-on component (PgBouncer, the statsd-exporter) takes besides its own section: where it lives, how its image is pulled. */
export interface AddOnArgs {
    namespace: pulumi.Input<string>;
    /** Instance label (`app.kubernetes.io/instance`). */
    instance: string;
    /** The pull policy and the registry credentials (Secret names) of the pods. */
    images: Pick<StackConfig["images"], "pullPolicy" | "pullSecrets">;
}

/** The start of a pod spec for a process that needs no Kubernetes API: no token, no service links, its own non-root uid. */
export function isolatedPodSpec(uid: number, pullSecrets: string[] | undefined): Omit<PodSpec, "containers"> {
    return {
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: podSecurityContext(uid, uid),
        ...imagePullSecrets(pullSecrets),
    };
}

/** How long the engine waits for a rollout (config rolloutTimeoutMinutes): it then fails with the pods' errors. */
export function rolloutTimeouts(minutes: number): pulumi.CustomTimeouts {
    return { create: `${minutes}m`, update: `${minutes}m` };
}
