// Default-deny NetworkPolicies for the namespace, then one allow per real conversation. The table of
// who may reach what is in docs/network-policies.md; the lab's level-2 scenario probes every row of it
// under a real policy engine.
//
// Policies match a connection after Service translation: the DNS pods' own port (53, 1053, 5353, ...)
// and the Kubernetes API server's real address and port (what the `kubernetes` Service points at), not
// the Services'. So DNS is allowed to the DNS pods on any port, and the Kubernetes API to its endpoint.
// "Outside" is every address but the cluster's private ranges (`network.clusterCidrs`) and the
// Kubernetes API: several engines match an ipBlock against pod addresses too, so a bare 0.0.0.0/0 would
// open every pod of every namespace (the metadata database above all) to task code.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_COMPONENT, COMPONENT, componentType, withLegacyType } from "./names";
import { API_PORT } from "./airflowPod";
import type { StackConfig } from "./config";
import { gitRepoPort } from "./formats";
import { METRICS_PORT, STATSD_PORT } from "./metrics";
import { PGBOUNCER_PORT } from "./pgbouncer";
import { labels } from "./podParts";

type Rule = k8s.types.input.networking.v1.NetworkPolicySpec;
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
export type NetworkSettings = StackConfig["network"];

/** The Kubernetes API server's real endpoint: what the `kubernetes` Service translates to. */
export interface KubernetesApiEndpoint {
    cidrs: string[];
    ports: number[];
}

/** The sections the policies are made from. */
export type NetworkPoliciesConfig = Pick<
    StackConfig,
    "network" | "ui" | "architecture" | "database" | "logging" | "metrics" | "gitSync" | "dagBundles" | "retention" | "workers" | "keys"
>;

export interface NetworkPoliciesArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    config: NetworkPoliciesConfig;
    /** The Kubernetes API's endpoint (network.kubernetesApi, or read from the cluster: kubernetesApiEndpoint()). */
    kubernetesApi: pulumi.Input<KubernetesApiEndpoint>;
}

/** What the policies need to know, derived from the config. */
interface Traffic {
    /** CIDRs allowed to reach the UI. */
    uiCidrs: string[];
    /** Postgres runs in this namespace (internal database). */
    internalDatabase: boolean;
    /** Task logs go to a bucket: the control plane needs HTTPS egress to read and write them. */
    remoteLogging: boolean;
    /** Components that fetch DAGs from git (the git-sync CronJob's pods, pods with a git-sync sidecar, bundle clones). */
    gitClients: string[];
    /** Ports of the git repositories those components fetch from (443 for https://, 22 for ssh, ...). */
    gitPorts: number[];
    /** Components besides the scheduler that call the Kubernetes API (worker-pod clean-up, pod-launching workers). */
    kubernetesApiClients: string[];
    /** Namespace of the ingress controller's pods, which then reach the API server (beside uiCidrs). */
    ingressControllerNamespace?: string;
    /** PgBouncer sits between the Airflow processes and the database; only migrations and `db clean` go direct. */
    pgbouncer: boolean;
    /** Other Jobs that talk to the database directly: the snapshot and restore (database.backup), the Fernet key rotation. */
    directDatabaseJobs: string[];
    /** The statsd-exporter runs: Airflow pods send it StatsD, Prometheus pods in this namespace scrape it. */
    metricsScraperNamespace?: string;
    /**
     * The API server signs users in through an outside identity provider (FAB's webserver_config.py:
     * OAuth, OpenID Connect): it needs HTTPS egress for the token exchange.
     */
    externalIdentityProvider: boolean;
}

function traffic(c: NetworkPoliciesConfig): Traffic {
    const gitPort = c.gitSync.enabled && c.gitSync.repo !== undefined ? gitRepoPort(c.gitSync.repo) : undefined;
    const gitSidecars = c.gitSync.enabled && (c.gitSync.mode === "sidecar" || c.architecture === "standalone");
    const bundlePorts = c.dagBundles.map((b) => gitRepoPort(b.repo)).filter((p): p is number => p !== undefined);
    return {
        uiCidrs: c.ui.allowedCidrs,
        internalDatabase: c.database.mode === "internal",
        remoteLogging: c.logging.remoteBaseLogFolder !== undefined,
        // The CronJob's pods, or every DAG-reading pod when each syncs with a sidecar; and the
        // pods that clone DAG bundles (the dag-processor, and each worker for its task's version).
        gitClients: [...new Set([...(gitPort === undefined ? [] : gitSidecars ? DAG_READERS : ["git-sync"]), ...(bundlePorts.length ? ["dag-processor", "worker"] : [])])],
        gitPorts: [...new Set([...(gitPort === undefined ? [] : [gitPort]), ...bundlePorts])],
        kubernetesApiClients: [...(c.retention.workerPods.enabled ? ["worker-cleanup"] : []), ...(c.workers.podLauncher ? ["worker"] : [])],
        ingressControllerNamespace: c.ui.ingress.enabled ? c.ui.ingress.controllerNamespace : undefined,
        pgbouncer: c.database.pgbouncer.enabled,
        directDatabaseJobs: [...(c.database.backup.enabled ? [BACKUP_COMPONENT.snapshot, BACKUP_COMPONENT.restore] : []), ...(c.keys.generation > 0 ? [COMPONENT.rotateKeys] : [])],
        metricsScraperNamespace: c.metrics.enabled ? c.metrics.scraperNamespace : undefined,
        externalIdentityProvider: c.ui.webserverConfig !== undefined,
    };
}

const component = (name: string) => ({ matchLabels: { "app.kubernetes.io/component": name } });
const anyOf = (names: string[]) => ({
    matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: names }],
});
const namespace = (name: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } });
const tcp = (ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));
/** Components whose code reaches systems outside the cluster: tasks, triggers and DAG-level callbacks. */
export const CALLBACK_RUNNERS = ["worker", "triggerer", "dag-processor"];
/** Components whose pods read DAG files (and so carry a git-sync sidecar in sidecar mode). */
export const DAG_READERS = ["scheduler", "dag-processor", "triggerer", "worker"];

/** Peers for every address outside the cluster's private ranges and the Kubernetes API, per address family. */
export function outsidePeers(clusterCidrs: string[], apiCidrs: string[]): Peer[] {
    const family = (v6: boolean) => [...new Set([...clusterCidrs, ...apiCidrs].filter((c) => c.includes(":") === v6))];
    const peer = (cidr: string, except: string[]): Peer => ({ ipBlock: { cidr, ...(except.length ? { except } : {}) } });
    const v6 = family(true);
    // IPv6 only where the cluster says it has IPv6 ranges: an IPv4 cluster's engine may refuse v6 blocks.
    return [peer("0.0.0.0/0", family(false)), ...(v6.length ? [peer("::/0", v6)] : [])];
}

/** Egress rules for `network.privateDestinations`. */
export function privateDestinationRules(destinations: NetworkSettings["privateDestinations"]): EgressRule[] {
    return destinations.map((d) => ({
        to: [
            d.cidr !== undefined
                ? { ipBlock: { cidr: d.cidr } }
                : {
                      ...(d.namespace !== undefined ? namespace(d.namespace) : { namespaceSelector: {} }),
                      ...(d.podLabels !== undefined ? { podSelector: { matchLabels: d.podLabels } } : {}),
                  },
        ],
        ...(d.ports?.length ? { ports: tcp(d.ports) } : {}),
    }));
}

/**
 * Reads the Kubernetes API server's endpoint from the `default/kubernetes` EndpointSlice, which the API
 * server itself keeps current (every conformant cluster has it).
 */
export function kubernetesApiEndpoint(name: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<KubernetesApiEndpoint> {
    const slice = k8s.discovery.v1.EndpointSlice.get(`${name}-kubernetes-api`, "default/kubernetes", opts);
    return pulumi.all([slice.addressType, slice.endpoints, slice.ports]).apply(([addressType, endpoints, ports]) => {
        const bits = addressType === "IPv6" ? 128 : 32;
        const cidrs = [...new Set((endpoints ?? []).flatMap((e) => e.addresses ?? []))].map((a) => `${a}/${bits}`);
        const numbers = [...new Set((ports ?? []).map((p) => p.port).filter((p): p is number => typeof p === "number"))];
        if (!cidrs.length || !numbers.length) {
            throw new Error("the default/kubernetes EndpointSlice names no address or port of the Kubernetes API: set network.kubernetesApi (cidrs, ports)");
        }
        return { cidrs, ports: numbers };
    });
}

/** What each group of policies is written with. */
interface Policies {
    /** Registers one NetworkPolicy, named `<name>-<suffix>`. */
    policy: (suffix: string, spec: pulumi.Input<Rule>) => void;
    t: Traffic;
    api: pulumi.Output<KubernetesApiEndpoint>;
    /** Who may open the UI: the allowed CIDRs, and the ingress controller's pods. */
    uiFrom: Peer[];
    /** Outside and the private destinations, optionally on some ports only. */
    beyond: (ports?: number[]) => pulumi.Output<EgressRule[]>;
}

/** The Airflow processes that report to the execution API. */
const EXECUTION_API_CLIENTS = [COMPONENT.worker, COMPONENT.scheduler, COMPONENT.dagProcessor, COMPONENT.triggerer];
/** The control plane's long-running processes. */
const CONTROL_PLANE = [COMPONENT.scheduler, COMPONENT.apiServer, COMPONENT.dagProcessor, COMPONENT.triggerer];

function apiServerPolicies({ policy, uiFrom }: Policies): void {
    policy("allow-api-server", {
        podSelector: component(COMPONENT.apiServer),
        policyTypes: ["Ingress"],
        ingress: [
            { from: uiFrom, ports: tcp([API_PORT]) },
            // Execution API: workers, scheduler, dag-processor and triggerer report back here.
            { from: [{ podSelector: anyOf(EXECUTION_API_CLIENTS) }], ports: tcp([API_PORT]) },
        ],
    });
    policy("allow-execution-api", {
        podSelector: anyOf(EXECUTION_API_CLIENTS),
        policyTypes: ["Egress"],
        egress: [{ to: [{ podSelector: component(COMPONENT.apiServer) }], ports: tcp([API_PORT]) }],
    });
}

/**
 * Who opens database connections. Workers never do: in Airflow 3 tasks go through the execution API,
 * and the metadata database (every connection's secrets) stays closed to task code.
 */
function databasePolicies({ policy, t }: Policies): void {
    const direct = [COMPONENT.migrate, "db-clean", ...t.directDatabaseJobs];
    const pooled = CONTROL_PLANE;
    const databaseClients = t.pgbouncer ? [...direct, "pgbouncer"] : [...pooled, ...direct];
    if (t.internalDatabase) {
        policy("allow-postgres", {
            podSelector: component("postgres"),
            policyTypes: ["Ingress"],
            ingress: [{ from: [{ podSelector: anyOf(databaseClients) }], ports: tcp([5432]) }],
        });
    }
    policy("allow-database-egress", {
        podSelector: anyOf(databaseClients),
        policyTypes: ["Egress"],
        // An external database may live anywhere, private ranges included; an internal one is this pod.
        egress: [{ to: t.internalDatabase ? [{ podSelector: component("postgres") }] : [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp([5432]) }],
    });
    if (!t.pgbouncer) return;
    const pgbouncerPort = tcp([PGBOUNCER_PORT]);
    policy("allow-pgbouncer", {
        podSelector: component("pgbouncer"),
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: anyOf(pooled) }], ports: pgbouncerPort }],
    });
    policy("allow-pgbouncer-egress", {
        podSelector: anyOf(pooled),
        policyTypes: ["Egress"],
        egress: [{ to: [{ podSelector: component("pgbouncer") }], ports: pgbouncerPort }],
    });
}

function metricsPolicies({ policy, t }: Policies): void {
    if (!t.metricsScraperNamespace) return;
    const senders = [...CONTROL_PLANE, COMPONENT.worker];
    const statsd = [{ protocol: "UDP", port: STATSD_PORT }];
    policy("allow-statsd", {
        podSelector: component("statsd"),
        policyTypes: ["Ingress"],
        ingress: [
            { from: [{ podSelector: anyOf(senders) }], ports: statsd },
            // Prometheus scrapes /metrics.
            { from: [namespace(t.metricsScraperNamespace)], ports: tcp([METRICS_PORT]) },
        ],
    });
    policy("allow-statsd-egress", {
        podSelector: anyOf(senders),
        policyTypes: ["Egress"],
        egress: [{ to: [{ podSelector: component("statsd") }], ports: statsd }],
    });
}

/** What leaves the namespace: the Kubernetes API, git, the identity provider, the log bucket, tasks' systems. */
function egressPolicies({ policy, t, api, beyond }: Policies): void {
    policy("allow-kubernetes-api", {
        // The scheduler launches worker pods; the others are the callers the stack turned on.
        podSelector: anyOf([COMPONENT.scheduler, ...t.kubernetesApiClients]),
        policyTypes: ["Egress"],
        egress: api.apply((a) => [{ to: a.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: tcp(a.ports) }]),
    });
    if (t.gitClients.length) {
        // Only the repositories' ports: a scheduler with a git-sync sidecar gets no general egress.
        policy("allow-git", { podSelector: anyOf(t.gitClients), policyTypes: ["Egress"], egress: beyond(t.gitPorts) });
    }
    if (t.externalIdentityProvider) {
        policy("allow-identity-provider", { podSelector: component(COMPONENT.apiServer), policyTypes: ["Egress"], egress: beyond([443]) });
    }
    if (t.remoteLogging) {
        policy("allow-remote-logs", { podSelector: anyOf([COMPONENT.scheduler, COMPONENT.apiServer, COMPONENT.dagProcessor]), policyTypes: ["Egress"], egress: beyond([443]) });
    }
    policy("allow-task-egress", {
        podSelector: anyOf(CALLBACK_RUNNERS),
        policyTypes: ["Egress"],
        // Tasks and triggers talk to systems outside the cluster, and so do callbacks: in Airflow 3 the
        // dag-processor runs DAG-level on_success/on_failure callbacks (Slack, HTTP, SMTP notifiers).
        egress: beyond(),
    });
}

export class NetworkPolicies extends pulumi.ComponentResource {
    constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("NetworkPolicies"), name, {}, withLegacyType("NetworkPolicies", opts));
        const policy = (suffix: string, spec: pulumi.Input<Rule>) => {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-${suffix}`,
                { metadata: { name: `${name}-${suffix}`, namespace: args.namespace, labels: labels(args.instance, "network-policy") }, spec },
                { parent: this },
            );
        };
        const net = args.config.network;
        const t = traffic(args.config);
        const api = pulumi.output(args.kubernetesApi);
        const outside = api.apply((a) => outsidePeers(net.clusterCidrs, a.cidrs));
        const privateRules = privateDestinationRules(net.privateDestinations);
        const beyond = (ports?: number[]) =>
            outside.apply((to) => [{ to, ...(ports ? { ports: tcp(ports) } : {}) }, ...privateRules.map((r) => (ports && !r.ports ? { ...r, ports: tcp(ports) } : r))]);
        const uiFrom = [
            ...t.uiCidrs.map((cidr) => ({ ipBlock: { cidr } })),
            // Behind an Ingress the API server sees the controller's pods, not the browser.
            ...(t.ingressControllerNamespace ? [namespace(t.ingressControllerNamespace)] : []),
        ];

        policy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        policy("allow-dns", {
            podSelector: {},
            policyTypes: ["Egress"],
            // No ports: the DNS pods' own port is what the policy sees, and it differs between clusters.
            egress: [{ to: [{ ...namespace(net.dns.namespace), podSelector: { matchLabels: net.dns.podLabels } }] }],
        });
        if (args.config.architecture === "standalone") {
            policy("allow-ui", {
                podSelector: component("standalone"),
                policyTypes: ["Ingress", "Egress"],
                ingress: [{ from: uiFrom, ports: tcp([API_PORT]) }],
                // Tasks run in this pod and reach whatever they work on outside; Postgres is in the pod.
                egress: beyond(),
            });
        } else {
            const policies: Policies = { policy, t, api, uiFrom, beyond };
            apiServerPolicies(policies);
            databasePolicies(policies);
            metricsPolicies(policies);
            egressPolicies(policies);
        }
        this.registerOutputs({});
    }
}
