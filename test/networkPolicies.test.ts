// The rendered NetworkPolicies, evaluated conversation by conversation (test/support/networkPolicyModel.ts)
// against what docs/network-policies.md promises, and the rules that make them independent of the
// cluster's ports and addresses.
import * as assert from "assert";
import { MOCK_KUBERNETES_API_SLICE, ofKind, renderStack } from "./support/harness";
import { allowed, Endpoint, Policy } from "./support/networkPolicyModel";
import { readPolicyMatrix } from "../tools/policyMatrix";
import { outsidePeers } from "../components/networkPolicies";

const NS = "airflow";
const API_IP = MOCK_KUBERNETES_API_SLICE.endpoints[0].addresses[0];
const API_PORT = MOCK_KUBERNETES_API_SLICE.ports[0].port;
let nextIp = 10;
const pod = (component: string, namespace = NS, extra: Record<string, string> = {}): Endpoint => ({
    pod: { namespace, labels: { "app.kubernetes.io/component": component, "app.kubernetes.io/instance": "airflow", ...extra } },
    ip: `10.244.0.${nextIp++}`,
});
/** Where each destination of the table is, as a policy sees it: the pod's own port, after Service translation. */
const destinations: Record<string, { to: Endpoint; port: number; protocol?: "TCP" | "UDP" }> = {
    postgres: { to: pod("postgres"), port: 5432 },
    pgbouncer: { to: pod("pgbouncer"), port: 6432 },
    "api-server": { to: pod("api-server"), port: 8080 },
    "kubernetes-api": { to: { ip: API_IP }, port: API_PORT },
    // a DNS pod listening on 1053, as the lab's CoreDNS does
    dns: { to: { pod: { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }, ip: "10.244.0.2" }, port: 1053, protocol: "UDP" },
    outside: { to: { ip: "203.0.113.10" }, port: 443 },
    "other-namespace": { to: pod("listener", "elsewhere"), port: 8080 },
    statsd: { to: pod("statsd"), port: 9125, protocol: "UDP" },
    metrics: { to: pod("statsd"), port: 9102 },
};
const sources: Record<string, Endpoint> = {
    "other-namespace": pod("probe", "elsewhere"),
    monitoring: pod("prometheus", "monitoring"),
};
const source = (name: string) => sources[name] ?? pod(name);

async function policiesOf(config: Record<string, unknown>): Promise<Policy[]> {
    return ofKind((await renderStack(config)).objects, "NetworkPolicy") as Policy[];
}
const reach = (policies: Policy[], from: string, to: string) => {
    const d = destinations[to];
    return allowed(policies, { from: source(from), to: d.to, port: d.port, protocol: d.protocol }) ? "allow" : "deny";
};

describe("network policies: the conversations docs/network-policies.md promises", () => {
    const matrix = readPolicyMatrix();
    let policies: Policy[];
    before(async () => {
        policies = await policiesOf({ metrics: { enabled: true } });
    });

    it("covers every component the package labels and every destination it names", () => {
        assert.deepStrictEqual(matrix.destinations, ["postgres", "api-server", "kubernetes-api", "dns", "outside", "other-namespace", "statsd", "metrics"]);
        for (const c of ["scheduler", "api-server", "dag-processor", "triggerer", "worker", "git-sync", "migrate", "db-clean", "log-cleanup", "worker-cleanup", "statsd"]) {
            assert.ok(matrix.rows.has(c), `a row for ${c}`);
        }
    });

    for (const [from, row] of readPolicyMatrix().rows) {
        for (const [to, verdict] of row) {
            it(`${from} -> ${to}: ${verdict}`, () => {
                assert.strictEqual(reach(policies, from, to), verdict);
            });
        }
    }
});

describe("network policies: independent of the cluster's ports and addresses", () => {
    it("allows DNS to the DNS pods on any port (53, 1053, 5353), and to nothing else", async () => {
        const p = await policiesOf({});
        for (const port of [53, 1053, 5353]) {
            assert.ok(allowed(p, { from: pod("worker"), to: destinations.dns.to, port, protocol: "UDP" }), `port ${port}`);
        }
        assert.ok(!allowed(p, { from: pod("migrate"), to: { ip: "8.8.8.8" }, port: 53, protocol: "UDP" }), "no DNS to an outside resolver");
        const openshift = await policiesOf({ network: { dns: { namespace: "openshift-dns", podLabels: { "dns.operator.openshift.io/daemonset-dns": "default" } } } });
        const dnsPod: Endpoint = { pod: { namespace: "openshift-dns", labels: { "dns.operator.openshift.io/daemonset-dns": "default" } }, ip: "10.128.0.5" };
        assert.ok(allowed(openshift, { from: pod("migrate"), to: dnsPod, port: 5353, protocol: "UDP" }));
    });

    it("allows the Kubernetes API at its real endpoint only, read from the default/kubernetes EndpointSlice", async () => {
        const r = await renderStack({});
        const read = r.resources.find((x) => x.type === "kubernetes:discovery.k8s.io/v1:EndpointSlice");
        assert.ok(read, "the EndpointSlice is read");
        const p = ofKind(r.objects, "NetworkPolicy") as Policy[];
        assert.ok(allowed(p, { from: pod("scheduler"), to: { ip: API_IP }, port: API_PORT }));
        assert.ok(!allowed(p, { from: pod("scheduler"), to: { ip: "203.0.113.10" }, port: 443 }), "not anything on 443");
        assert.ok(!allowed(p, { from: pod("scheduler"), to: { ip: API_IP }, port: 443 }), "not another port of that address");
        assert.ok(allowed(p, { from: pod("worker-cleanup"), to: { ip: API_IP }, port: API_PORT }), "the worker-pod clean-up CronJob calls the API");
        assert.ok(!allowed(p, { from: pod("worker"), to: { ip: API_IP }, port: API_PORT }), "tasks do not, unless they launch pods");
    });

    it("follows the cluster it renders for: the lab's render path passes its own EndpointSlice (scripts/render.ts)", async () => {
        const slice = { addressType: "IPv4", endpoints: [{ addresses: ["10.244.0.1"] }], ports: [{ name: "https", port: 26443, protocol: "TCP" }] };
        const r = await renderStack({}, {}, { kubernetesApiSlice: slice });
        const p = ofKind(r.objects, "NetworkPolicy") as Policy[];
        assert.ok(allowed(p, { from: pod("scheduler"), to: { ip: "10.244.0.1" }, port: 26443 }), "the scheduler reaches that cluster's API server");
        assert.ok(!allowed(p, { from: pod("scheduler"), to: { ip: API_IP }, port: API_PORT }), "not the mocked cluster's");
    });

    it("uses network.kubernetesApi when set, and reads nothing from the cluster", async () => {
        const r = await renderStack({ network: { kubernetesApi: { cidrs: ["192.168.49.2/32"], ports: [8443] } } });
        assert.strictEqual(r.resources.filter((x) => x.type === "kubernetes:discovery.k8s.io/v1:EndpointSlice").length, 0);
        const p = ofKind(r.objects, "NetworkPolicy") as Policy[];
        assert.ok(allowed(p, { from: pod("scheduler"), to: { ip: "192.168.49.2" }, port: 8443 }));
        assert.ok(!allowed(p, { from: pod("scheduler"), to: { ip: API_IP }, port: API_PORT }));
    });

    it("lets pod-launching workers reach the Kubernetes API", async () => {
        const p = await policiesOf({ workers: { podLauncher: true } });
        assert.ok(allowed(p, { from: pod("worker"), to: { ip: API_IP }, port: API_PORT }));
    });

    it("turns off the worker-pod clean-up's API allowance with the CronJob", async () => {
        const p = await policiesOf({ retention: { workerPods: { enabled: false } } });
        assert.ok(!allowed(p, { from: pod("worker-cleanup"), to: { ip: API_IP }, port: API_PORT }));
    });
});

describe("network policies: what tasks may reach", () => {
    it("defines outside as every address but the cluster's ranges and the Kubernetes API", () => {
        assert.deepStrictEqual(outsidePeers(["10.0.0.0/8"], ["34.1.2.3/32"]), [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "34.1.2.3/32"] } }]);
        assert.deepStrictEqual(outsidePeers(["10.0.0.0/8", "fd00::/8"], []), [
            { ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } },
            { ipBlock: { cidr: "::/0", except: ["fd00::/8"] } },
        ]);
    });

    it("keeps task code away from the database, other namespaces' pods and a public Kubernetes API endpoint", async () => {
        const p = await policiesOf({ network: { kubernetesApi: { cidrs: ["34.1.2.3/32"], ports: [443] } } });
        for (const from of ["worker", "triggerer", "dag-processor"]) {
            assert.ok(allowed(p, { from: pod(from), to: { ip: "198.51.100.7" }, port: 5432 }), `${from} reaches a database outside`);
            assert.ok(!allowed(p, { from: pod(from), to: { ip: "34.1.2.3" }, port: 443 }), `${from} does not reach the public API endpoint`);
            assert.ok(!allowed(p, { from: pod(from), to: pod("listener", "other"), port: 8080 }), `${from} does not reach another namespace`);
            assert.ok(!allowed(p, { from: pod(from), to: { ip: "10.20.30.40" }, port: 443 }), `${from} does not reach a private address`);
        }
        assert.ok(!allowed(p, { from: pod("worker"), to: destinations.postgres.to, port: 5432 }), "a worker does not reach the metadata database");
    });

    it("opens network.privateDestinations to tasks and git, by address or by pods, on their ports", async () => {
        const p = await policiesOf({
            network: { privateDestinations: [{ cidr: "10.20.0.0/16", ports: [5432] }, { namespace: "git", podLabels: { app: "git-server" } }] },
        });
        assert.ok(allowed(p, { from: pod("worker"), to: { ip: "10.20.1.1" }, port: 5432 }));
        assert.ok(!allowed(p, { from: pod("worker"), to: { ip: "10.20.1.1" }, port: 22 }), "only the listed port");
        assert.ok(allowed(p, { from: pod("worker"), to: pod("x", "git", { app: "git-server" }), port: 2222 }));
        assert.ok(!allowed(p, { from: pod("scheduler"), to: { ip: "10.20.1.1" }, port: 5432 }), "the scheduler runs no task code");
    });

    it("lets the standalone pod reach outside but not other namespaces", async () => {
        const p = await policiesOf({ architecture: "standalone" });
        assert.ok(allowed(p, { from: pod("standalone"), to: { ip: "203.0.113.10" }, port: 443 }));
        assert.ok(!allowed(p, { from: pod("standalone"), to: pod("listener", "other"), port: 8080 }));
        assert.ok(allowed(p, { from: pod("probe", "other"), to: pod("standalone"), port: 8080 }), "the UI, from ui.allowedCidrs");
    });
});

describe("network policies: git and the database pool", () => {
    const repo = "https://git.example.com/team/dags.git";
    it("lets the git-sync CronJob's pods reach the repository's port only", async () => {
        const p = await policiesOf({ gitSync: { enabled: true, repo }, storage: { mode: "pvc", storageClassName: "rwx" } });
        assert.ok(allowed(p, { from: pod("git-sync"), to: { ip: "203.0.113.10" }, port: 443 }));
        assert.ok(!allowed(p, { from: pod("git-sync"), to: { ip: "203.0.113.10" }, port: 80 }));
        assert.ok(!allowed(p, { from: pod("scheduler"), to: { ip: "203.0.113.10" }, port: 443 }), "the scheduler does not sync in cronjob mode");
    });

    it("lets every DAG-reading pod reach the repository in sidecar mode, and the scheduler nothing else", async () => {
        const p = await policiesOf({ gitSync: { enabled: true, mode: "sidecar", repo: "ssh://git@git.example.com:2222/team/dags.git", auth: "ssh", credentialsSecretName: "git" } });
        for (const from of ["scheduler", "dag-processor", "triggerer", "worker"]) {
            assert.ok(allowed(p, { from: pod(from), to: { ip: "203.0.113.10" }, port: 2222 }), from);
        }
        assert.ok(!allowed(p, { from: pod("scheduler"), to: { ip: "203.0.113.10" }, port: 443 }));
    });

    it("with PgBouncer, only PgBouncer and the maintenance Jobs reach Postgres", async () => {
        const p = await policiesOf({ database: { pgbouncer: { enabled: true } } });
        for (const from of ["scheduler", "api-server", "dag-processor", "triggerer"]) {
            assert.strictEqual(reach(p, from, "postgres"), "deny", `${from} -> postgres`);
            assert.strictEqual(reach(p, from, "pgbouncer"), "allow", `${from} -> pgbouncer`);
        }
        for (const from of ["pgbouncer", "migrate", "db-clean"]) assert.strictEqual(reach(p, from, "postgres"), "allow", `${from} -> postgres`);
        assert.strictEqual(reach(p, "worker", "pgbouncer"), "deny");
    });
});
