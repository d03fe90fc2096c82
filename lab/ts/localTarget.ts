// Where `npm run local` runs, decided before anything else (scripts/local.ts `decide`, called first by
// lab/local.sh): a kubeconfig context named with `--context <name>` (or AIRFLOW_LOCAL_CONTEXT); else the
// current context when it is a local cluster this recognises, by its name and its server's address;
// else, on Linux as root, the lab this repository builds; else nowhere, saying what it looked for and
// how to get one. A context that looks remote is never used unless named. Pure: the caller reads the
// kubeconfig files, the environment and the process; the tests give them.
import * as crypto from "crypto";
import * as yaml from "js-yaml";

export type LocalTarget = {
    kind: "context" | "lab" | "refuse";
    /** The kubeconfig context (kind "context"). */
    context?: string;
    /** Which and why: the first line `npm run local` prints, after "target: " (or "nowhere to run: "). */
    why: string;
    /** Further lines of a refusal: what it looked for, how to get one. */
    help?: string[];
};

export type TargetInputs = {
    /** The kubeconfig files in KUBECONFIG order (or ~/.kube/config), as read; missing files left out. */
    kubeconfigs: { path: string; text: string }[];
    env: Record<string, string | undefined>;
    /** The arguments after `up` / `down`. */
    argv: string[];
    platform: string;
    uid: number | undefined;
};

/** Context names of the local clusters this recognises (kind and k3d prefix theirs with the tool's name). */
const LOCAL_CLUSTERS: { label: string; matches: (name: string) => boolean }[] = [
    { label: "kind", matches: (n) => n.startsWith("kind-") },
    { label: "k3d", matches: (n) => n.startsWith("k3d-") },
    { label: "minikube", matches: (n) => n === "minikube" },
    { label: "Docker Desktop", matches: (n) => n === "docker-desktop" },
    { label: "Rancher Desktop", matches: (n) => n === "rancher-desktop" },
    { label: "OrbStack", matches: (n) => n === "orbstack" },
];
const LOCAL_NAMES = "kind-*, k3d-*, minikube, docker-desktop, rancher-desktop, orbstack";
/** Host names that resolve to this machine or to a VM only it reaches (the desktop tools write these). */
const HOST_ONLY_NAMES = ["localhost", "kubernetes.docker.internal", "host.docker.internal", "host.k3d.internal", "host.minikube.internal"];
const HOST_ONLY_SUFFIXES = [".localhost", ".orb.local"];

type Kubeconfig = { current?: string; contexts: Map<string, { cluster?: string }>; servers: Map<string, string>; notes: string[] };

/** The kubeconfig files merged as kubectl merges KUBECONFIG: the first file to name a context, cluster or current context wins. */
export function mergeKubeconfigs(files: { path: string; text: string }[]): Kubeconfig {
    const merged: Kubeconfig = { contexts: new Map(), servers: new Map(), notes: [] };
    for (const file of files) {
        let doc: any;
        try {
            doc = yaml.load(file.text);
        } catch (e) {
            merged.notes.push(`${file.path} is not valid YAML (${(e as Error).message.split("\n")[0]}): ignored`);
            continue;
        }
        if (doc === null || doc === undefined) continue;
        if (typeof doc !== "object") {
            merged.notes.push(`${file.path} is not a kubeconfig: ignored`);
            continue;
        }
        if (!merged.current && typeof doc["current-context"] === "string" && doc["current-context"]) merged.current = doc["current-context"];
        for (const c of Array.isArray(doc.contexts) ? doc.contexts : []) {
            if (typeof c?.name === "string" && !merged.contexts.has(c.name)) merged.contexts.set(c.name, { cluster: c.context?.cluster });
        }
        for (const c of Array.isArray(doc.clusters) ? doc.clusters : []) {
            if (typeof c?.name === "string" && !merged.servers.has(c.name) && typeof c.cluster?.server === "string") merged.servers.set(c.name, c.cluster.server);
        }
    }
    return merged;
}

function ipv4(host: string): number[] | undefined {
    const parts = host.split(".");
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.map(Number);
}

/** Whether an API server URL is on this machine or on a network only it reaches: loopback, private or link-local, or a host name the local tools use. */
export function serverLocality(server: string | undefined): { local: boolean; what: string } {
    if (!server) return { local: false, what: "no server URL" };
    let host: string;
    try {
        host = new URL(server).hostname.toLowerCase();
    } catch {
        return { local: false, what: `server ${server} is not a URL` };
    }
    host = host.replace(/^\[|\]$/g, "");
    const v4 = ipv4(host);
    if (v4) {
        const [a, b] = v4;
        if (a === 127 || host === "0.0.0.0") return { local: true, what: "loopback" };
        if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return { local: true, what: "a private address" };
        if (a === 169 && b === 254) return { local: true, what: "a link-local address" };
        return { local: false, what: "a public address" };
    }
    if (host.includes(":")) {
        if (host === "::1" || host === "::") return { local: true, what: "loopback" };
        if (/^f[cd][0-9a-f]{2}:/.test(host)) return { local: true, what: "a private address" };
        if (/^fe[89ab][0-9a-f]:/.test(host)) return { local: true, what: "a link-local address" };
        return { local: false, what: "a public address" };
    }
    if (HOST_ONLY_NAMES.includes(host) || HOST_ONLY_SUFFIXES.some((s) => host.endsWith(s))) return { local: true, what: "a host-only name" };
    return { local: false, what: "a host name not known to be local" };
}

/** The context named with `--context <name>` / `--context=<name>`, or an argument it does not know. */
export function parseLocalArgs(argv: string[]): { context?: string; problem?: string } {
    let context: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--context") {
            context = argv[++i];
            if (!context) return { problem: "--context needs a context name" };
        } else if (a.startsWith("--context=")) {
            context = a.slice("--context=".length);
            if (!context) return { problem: "--context needs a context name" };
        } else {
            return { problem: `unknown argument ${a} (npm run local [-- --context <name>])` };
        }
    }
    return { context };
}

const serverText = (server: string | undefined, what: string) => (server ? `server ${server}, ${what}` : what);

function localContexts(kc: Kubeconfig): string[] {
    return [...kc.contexts.keys()].filter((n) => LOCAL_CLUSTERS.some((c) => c.matches(n)) && serverLocality(kc.servers.get(kc.contexts.get(n)?.cluster ?? "")).local);
}

export function chooseLocalTarget(inputs: TargetInputs): LocalTarget {
    const kc = mergeKubeconfigs(inputs.kubeconfigs);
    const files = inputs.kubeconfigs.length ? inputs.kubeconfigs.map((f) => f.path).join(", ") : "no kubeconfig file";
    const args = parseLocalArgs(inputs.argv);
    if (args.problem) return { kind: "refuse", why: args.problem };
    const envContext = inputs.env.AIRFLOW_LOCAL_CONTEXT || undefined;
    const named = args.context ?? envContext;
    const serverOf = (name: string) => kc.servers.get(kc.contexts.get(name)?.cluster ?? "");

    // 1. a context the user named: used as named, even one that looks remote
    if (named) {
        const how = args.context ? "named with --context" : "named in AIRFLOW_LOCAL_CONTEXT";
        if (!kc.contexts.has(named)) {
            const known = [...kc.contexts.keys()];
            return {
                kind: "refuse",
                why: `the context "${named}" (${how}) is not in the kubeconfig (${files})`,
                help: [known.length ? `contexts there: ${known.join(", ")}` : "that kubeconfig has no contexts", ...kc.notes],
            };
        }
        const server = serverOf(named);
        const at = serverLocality(server);
        const remote = at.local ? "" : ", not local: used because you named it";
        return { kind: "context", context: named, why: `the kubeconfig context "${named}" (${how}; ${serverText(server, at.what)}${remote})` };
    }

    // 2. the current context, when it is a local cluster this recognises
    let skipped: string;
    if (!kc.current) {
        skipped = inputs.kubeconfigs.length ? `no current context in ${files}` : "no kubeconfig (KUBECONFIG or ~/.kube/config)";
    } else {
        const cluster = LOCAL_CLUSTERS.find((c) => c.matches(kc.current as string));
        const server = serverOf(kc.current);
        const at = serverLocality(server);
        if (cluster && at.local) {
            return { kind: "context", context: kc.current, why: `the current kubeconfig context "${kc.current}", a ${cluster.label} cluster (${serverText(server, at.what)})` };
        }
        skipped = cluster
            ? `the current context "${kc.current}" is named like ${cluster.label} but ${server ? `its server ${server} is ${at.what}` : "has no server URL"}: not touched`
            : `the current context "${kc.current}" is not a local cluster this recognises (${LOCAL_NAMES}): not touched`;
    }

    // 3. the lab, on Linux as root
    if (inputs.platform === "linux" && inputs.uid === 0) {
        return { kind: "lab", why: `the lab built on this machine (Linux, root; ${skipped})` };
    }
    const labMissing = inputs.platform === "linux" ? "the lab needs root" : `the lab needs Linux (this is ${inputs.platform})`;
    const others = localContexts(kc).filter((n) => n !== kc.current);
    return {
        kind: "refuse",
        why: `no local cluster (${skipped}) and ${labMissing}`,
        help: [
            `looked for: a context named with --context <name> or AIRFLOW_LOCAL_CONTEXT; the current kubeconfig context when named ${LOCAL_NAMES} with a loopback, private or host-only server; the lab (Linux, as root)`,
            ...(others.length ? [`local clusters in your kubeconfig: ${others.join(", ")} (npm run local -- --context ${others[0]})`] : []),
            "to get one: start a local cluster (kind create cluster, k3d cluster create, minikube start, or Kubernetes in Docker Desktop, Rancher Desktop or OrbStack) and run npm run local again,",
            "  or name a context (npm run local -- --context <name>), or run it as root on Linux for the lab (it builds Kubernetes from source the first time)",
            ...kc.notes,
        ],
    };
}

/** The line `npm run local` starts with. */
export function targetLine(t: LocalTarget): string {
    return t.kind === "refuse" ? `nowhere to run: ${t.why}` : `target: ${t.why}`;
}

/** A name for a context's state directory and Pulumi stack: its characters a stack name allows, and a hash so two names never share one. */
export function contextId(context: string): string {
    const safe = context.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 60);
    return `${safe}-${crypto.createHash("sha256").update(context).digest("hex").slice(0, 8)}`;
}

export type StorageClassInfo = { name: string; isDefault: boolean; provisioner: string };

/**
 * What the stack's storage classes become on a user's cluster: a class it names that the cluster
 * lacks (the committed local stack names the lab's `lab`) becomes the cluster's default class; with no
 * default either, a problem. `config` holds the stack file's `airflow:` keys.
 */
export function storageOnCluster(config: Record<string, unknown>, classes: StorageClassInfo[]): { overrides: Record<string, unknown>; notes: string[]; problem?: string } {
    const overrides: Record<string, unknown> = {};
    const notes: string[] = [];
    const fallback = classes.find((c) => c.isDefault);
    for (const key of ["database", "storage"]) {
        const section = config[`airflow:${key}`] as Record<string, unknown> | undefined;
        const wanted = section?.storageClassName;
        if (typeof wanted !== "string" || classes.some((c) => c.name === wanted)) continue;
        if (!fallback) {
            return {
                overrides,
                notes,
                problem: `the stack's ${key}.storageClassName is ${wanted}, which this cluster lacks, and the cluster has no default StorageClass (classes: ${classes.map((c) => c.name).join(", ") || "none"})`,
            };
        }
        overrides[key] = { storageClassName: fallback.name };
        const what = key === "storage" ? "the DAG and log claims, ReadWriteMany" : "the Postgres claim";
        notes.push(`${key}.storageClassName ${wanted} → ${fallback.name}, the cluster's default (${fallback.provisioner}), for ${what}`);
    }
    return { overrides, notes };
}
