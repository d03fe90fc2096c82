// Default-deny NetworkPolicies for the namespace, then one allow per real conversation:
// DNS for everyone, the UI to the API server, Airflow processes to Postgres and to the execution API,
// the scheduler to the Kubernetes API, git-sync to the git host, tasks, triggers and callbacks to the outside;
// with their features on: PgBouncer between Airflow and Postgres, StatsD to the exporter and Prometheus
// to the exporter, the ingress controller to the API server.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { METRICS_PORT, STATSD_PORT } from "./metrics";
import { PGBOUNCER_PORT } from "./pgbouncer";
import { labels } from "./podParts";

type Rule = k8s.types.input.networking.v1.NetworkPolicySpec;

export interface NetworkPoliciesArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    /** Port the API server container listens on. */
    apiPort: number;
    /** CIDRs allowed to reach the UI. */
    uiCidrs: string[];
    /** `production` (one pod per component) or `standalone` (one pod). */
    architecture: "production" | "standalone";
    /** Postgres runs in this namespace (internal database). */
    internalDatabase: boolean;
    /** Task logs go to a bucket: the control plane needs HTTPS egress to read and write them. */
    remoteLogging: boolean;
    /** git-sync runs as a sidecar in DAG-reading pods, which then reach the git host themselves. */
    gitSidecars: boolean;
    /** DAG bundles from git: the dag-processor and the workers clone them, so they reach the git hosts. */
    gitBundles?: boolean;
    /** Namespace of the ingress controller's pods, which then reach the API server (beside uiCidrs). */
    ingressControllerNamespace?: string;
    /** PgBouncer sits between the Airflow processes and the database; only migrations and `db clean` go direct. */
    pgbouncer?: boolean;
    /** The statsd-exporter runs: Airflow pods send it StatsD, Prometheus pods in this namespace scrape it. */
    metricsScraperNamespace?: string;
    /**
     * The API server signs users in through an outside identity provider (FAB's webserver_config.py:
     * OAuth, OpenID Connect): it needs HTTPS egress for the token exchange.
     */
    externalIdentityProvider?: boolean;
}

const component = (name: string) => ({ matchLabels: { "app.kubernetes.io/component": name } });
const anyOf = (names: string[]) => ({
    matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: names }],
});
const everywhere = [{ ipBlock: { cidr: "0.0.0.0/0" } }];
const namespace = (name: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } });
/** Components that run user code reaching outside the cluster: tasks, triggers, callbacks, git-sync. */
export const CALLBACK_RUNNERS = ["worker", "triggerer", "dag-processor", "git-sync"];
const dnsPorts = [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
];

export class NetworkPolicies extends pulumi.ComponentResource {
    constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:index:NetworkPolicies", name, {}, opts);
        const policy = (suffix: string, spec: Rule) =>
            new k8s.networking.v1.NetworkPolicy(
                `${name}-${suffix}`,
                { metadata: { name: `${name}-${suffix}`, namespace: args.namespace, labels: labels(args.instance, "network-policy") }, spec },
                { parent: this },
            );
        const uiFrom = [
            ...args.uiCidrs.map((cidr) => ({ ipBlock: { cidr } })),
            // Behind an Ingress the API server sees the controller's pods, not the browser.
            ...(args.ingressControllerNamespace ? [namespace(args.ingressControllerNamespace)] : []),
        ];

        policy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        policy("allow-dns", { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: dnsPorts }] });

        if (args.architecture === "standalone") {
            policy("allow-ui", {
                podSelector: component("standalone"),
                policyTypes: ["Ingress", "Egress"],
                ingress: [{ from: uiFrom, ports: [{ protocol: "TCP", port: args.apiPort }] }],
                // Tasks run in this pod and reach whatever they work on.
                egress: [{ to: everywhere }],
            });
            this.registerOutputs({});
            return;
        }

        const airflowProcesses = ["scheduler", "api-server", "dag-processor", "triggerer", "migrate", "db-clean", "worker"];
        // Who opens database connections: with PgBouncer only it and the maintenance Jobs reach the database.
        const direct = ["migrate", "db-clean"];
        const pooled = ["scheduler", "api-server", "dag-processor", "triggerer"];
        const databaseClients = args.pgbouncer ? [...direct, "pgbouncer"] : airflowProcesses;
        policy("allow-api-server", {
            podSelector: component("api-server"),
            policyTypes: ["Ingress"],
            ingress: [
                { from: uiFrom, ports: [{ protocol: "TCP", port: args.apiPort }] },
                // Execution API: workers, scheduler, dag-processor and triggerer report back here.
                { from: [{ podSelector: anyOf(["worker", "scheduler", "dag-processor", "triggerer"]) }], ports: [{ protocol: "TCP", port: args.apiPort }] },
            ],
        });
        policy("allow-execution-api", {
            podSelector: anyOf(["worker", "scheduler", "dag-processor", "triggerer"]),
            policyTypes: ["Egress"],
            egress: [{ to: [{ podSelector: component("api-server") }], ports: [{ protocol: "TCP", port: args.apiPort }] }],
        });
        if (args.internalDatabase) {
            policy("allow-postgres", {
                podSelector: component("postgres"),
                policyTypes: ["Ingress"],
                ingress: [{ from: [{ podSelector: anyOf(databaseClients) }], ports: [{ protocol: "TCP", port: 5432 }] }],
            });
        }
        policy("allow-database-egress", {
            podSelector: anyOf(databaseClients.filter((p) => p !== "worker")),
            policyTypes: ["Egress"],
            // An external database may live anywhere; an internal one is matched by the allow above.
            egress: [{ to: args.internalDatabase ? [{ podSelector: component("postgres") }] : everywhere, ports: [{ protocol: "TCP", port: 5432 }] }],
        });
        if (args.pgbouncer) {
            const pgbouncerPort = [{ protocol: "TCP", port: PGBOUNCER_PORT }];
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
        if (args.metricsScraperNamespace) {
            const senders = ["scheduler", "api-server", "dag-processor", "triggerer", "worker"];
            const statsd = [{ protocol: "UDP", port: STATSD_PORT }];
            policy("allow-statsd", {
                podSelector: component("statsd"),
                policyTypes: ["Ingress"],
                ingress: [
                    { from: [{ podSelector: anyOf(senders) }], ports: statsd },
                    // Prometheus scrapes /metrics.
                    { from: [namespace(args.metricsScraperNamespace)], ports: [{ protocol: "TCP", port: METRICS_PORT }] },
                ],
            });
            policy("allow-statsd-egress", {
                podSelector: anyOf(senders),
                policyTypes: ["Egress"],
                egress: [{ to: [{ podSelector: component("statsd") }], ports: statsd }],
            });
        }
        policy("allow-kubernetes-api", {
            podSelector: component("scheduler"),
            policyTypes: ["Egress"],
            // The API server's address is cluster-specific; its ports are not.
            egress: [{ to: everywhere, ports: [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: 6443 }] }],
        });
        if (args.gitSidecars) {
            policy("allow-git-sidecars", {
                podSelector: anyOf(["scheduler", "dag-processor"]),
                policyTypes: ["Egress"],
                egress: [{ to: everywhere }],
            });
        }
        if (args.gitBundles) {
            policy("allow-git-bundles", {
                podSelector: anyOf(["dag-processor", "worker"]),
                policyTypes: ["Egress"],
                egress: [{ to: everywhere }],
            });
        }
        if (args.externalIdentityProvider) {
            policy("allow-identity-provider", {
                podSelector: component("api-server"),
                policyTypes: ["Egress"],
                egress: [{ to: everywhere, ports: [{ protocol: "TCP", port: 443 }] }],
            });
        }
        if (args.remoteLogging) {
            policy("allow-remote-logs", {
                podSelector: anyOf(["scheduler", "api-server", "dag-processor"]),
                policyTypes: ["Egress"],
                egress: [{ to: everywhere, ports: [{ protocol: "TCP", port: 443 }] }],
            });
        }
        policy("allow-task-egress", {
            podSelector: anyOf(CALLBACK_RUNNERS),
            policyTypes: ["Egress"],
            // Tasks, triggers and git-sync talk to systems outside the cluster (and to the git host), and so
            // do callbacks: in Airflow 3 the dag-processor runs DAG-level on_success/on_failure callbacks
            // (Slack, HTTP, SMTP notifiers), as workers run task-level ones.
            egress: [{ to: everywhere }],
        });
        this.registerOutputs({});
    }
}
