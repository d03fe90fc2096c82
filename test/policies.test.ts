// Security and operability rules, checked over everything each architecture renders.
import * as assert from "assert";
import { StackConfigInput } from "../components/config";
import { ROOT_REASON_ANNOTATION } from "../components/storage";
import { podSpecs, Rendered, renderStack } from "./support/harness";

const configs: Record<string, StackConfigInput> = {
    production: {},
    "production, scaled, external database": {
        scheduler: { replicas: 2 },
        apiServer: { replicas: 2 },
        database: { mode: "external", externalSecretName: "db" },
    },
    standalone: { architecture: "standalone" },
    "standalone, DAGs from git": { architecture: "standalone", gitSync: { enabled: true, repo: "https://git.example.com/dags.git" } },
    "production, git-sync CronJob, Filestore, task images": {
        gitSync: { enabled: true, repo: "https://git.example.com/dags.git", subPath: "dags" },
        storage: { mode: "filestore", filestore: { location: "europe-west1-b" } },
        images: { tasks: { pandas: { context: "images/tasks/example" } } },
        registry: { server: "registry.example.com/airflow" },
    },
    "production, git-sync sidecars": { gitSync: { enabled: true, mode: "sidecar", repo: "https://git.example.com/dags.git" } },
    "production, DAG bundles (ssh, https) beside the DAG image": {
        dagsInImage: true,
        dagBundles: [
            { name: "team-a", repo: "git@github.com:acme/dags.git", auth: "ssh", credentialsSecretName: "team-a-git" },
            { name: "team-b", repo: "https://gitlab.example.com/b/dags.git", auth: "https", credentialsSecretName: "team-b-git" },
        ],
    },
    "standalone, a DAG bundle": { architecture: "standalone", dagBundles: [{ name: "team", repo: "git@github.com:acme/dags.git", auth: "ssh", credentialsSecretName: "git" }] },
    "production, every operations feature on": {
        ui: { ingress: { enabled: true, host: "airflow.example.com", pathPrefix: "/airflow", controllerNamespace: "ingress-nginx" }, webserverConfig: { secretName: "fab-oauth" } },
        apiServer: { autoscaling: { enabled: true }, extraContainers: [{ name: "shipper", image: "fluent/fluent-bit:3.2.0" }] },
        scheduler: { replicas: 2, extraInitContainers: [{ name: "prepare", image: "busybox:1.37.0", command: ["true"] }] },
        dagProcessor: { replicas: 2 },
        triggerer: { replicas: 2 },
        database: { pgbouncer: { enabled: true, replicas: 2 }, extraContainers: [{ name: "exporter", image: "quay.io/prometheuscommunity/postgres-exporter:v0.16.0" }] },
        gitSync: { enabled: true, repo: "https://git.example.com/dags.git", extraContainers: [{ name: "notify", image: "busybox:1.37.0" }] },
        metrics: { enabled: true, serviceMonitor: true },
    },
};

const SECRETISH = /(PASSWORD|SECRET|TOKEN|FERNET|SQL_ALCHEMY_CONN|_KEY)$/;

for (const [label, config] of Object.entries(configs)) {
    describe(`policies: ${label}`, () => {
        let r: Rendered;
        before(async () => {
            r = await renderStack(config);
        });
        const pods = () => r.objects.flatMap(podSpecs);
        const containers = () => pods().flatMap(({ where, spec }) => [...spec.containers, ...(spec.initContainers ?? [])].map((c: any) => ({ where: `${where} ${c.name}`, c, spec })));

        it("labels every object with the app.kubernetes.io set", () => {
            for (const o of r.objects) {
                const l = o.metadata?.labels as Record<string, string>;
                for (const key of ["name", "instance", "component", "part-of", "managed-by"]) {
                    assert.ok(l?.[`app.kubernetes.io/${key}`], `${o.kind}/${o.metadata?.name} lacks app.kubernetes.io/${key}`);
                }
            }
        });

        it("runs every pod as non-root with the RuntimeDefault seccomp profile (root only with a stated reason)", () => {
            for (const { where, spec, obj } of pods().map((p) => ({ ...p, obj: r.objects.find((o) => p.where.startsWith(`${o.kind}/${o.metadata?.name}`)) as any }))) {
                const reason = obj?.metadata?.annotations?.[ROOT_REASON_ANNOTATION];
                if (reason) {
                    assert.ok(reason.length > 20, `${where}: a root pod must say why`);
                    assert.strictEqual(spec.securityContext?.seccompProfile?.type, "RuntimeDefault", where);
                    continue;
                }
                assert.strictEqual(spec.securityContext?.runAsNonRoot, true, where);
                assert.strictEqual(spec.securityContext?.seccompProfile?.type, "RuntimeDefault", where);
                assert.notStrictEqual(spec.securityContext?.runAsUser, 0, where);
            }
        });

        it("changes volume ownership only on first mount (fsGroupChangePolicy OnRootMismatch), so Postgres restarts", () => {
            // Found on the lab's real node: the default recursive pass made PGDATA 2770 on the
            // Postgres pod's second start, and Postgres refused to start.
            for (const { where, spec } of pods()) {
                if (spec.securityContext?.fsGroup === undefined) continue;
                assert.strictEqual(spec.securityContext.fsGroupChangePolicy, "OnRootMismatch", where);
            }
        });

        it("locks down every container: no escalation, no capabilities, read-only root", () => {
            for (const { where, c } of containers()) {
                assert.strictEqual(c.securityContext?.allowPrivilegeEscalation, false, where);
                assert.deepStrictEqual(c.securityContext?.capabilities?.drop, ["ALL"], where);
                assert.strictEqual(c.securityContext?.readOnlyRootFilesystem, true, where);
                assert.ok(!c.securityContext?.privileged, where);
            }
        });

        it("sets requests and limits for cpu and memory on every container", () => {
            for (const { where, c } of containers()) {
                for (const kind of ["requests", "limits"]) {
                    assert.ok(c.resources?.[kind]?.cpu && c.resources?.[kind]?.memory, `${where} ${kind}`);
                }
            }
        });

        it("mounts a ServiceAccount token only where the Kubernetes API is called", () => {
            for (const { where, spec } of pods()) {
                // the scheduler launches workers; the worker clean-up lists and deletes finished ones
                const expected = where.startsWith("Deployment/airflow-scheduler") || where.startsWith("CronJob/airflow-worker-cleanup");
                assert.strictEqual(spec.automountServiceAccountToken === true, expected, where);
            }
        });

        it("never puts a secret-looking value in a plain env literal", () => {
            for (const { where, c } of containers()) {
                for (const e of c.env ?? []) {
                    if (SECRETISH.test(e.name)) {
                        assert.ok(e.valueFrom?.secretKeyRef && e.value === undefined, `${where} env ${e.name} must come from a Secret`);
                    }
                }
            }
        });

        it("governs every StatefulSet with a headless Service in its namespace that selects its pods", () => {
            const statefulSets = r.objects.filter((o) => o.kind === "StatefulSet") as any[];
            assert.ok(statefulSets.length > 0 || label.includes("external database"));
            for (const sts of statefulSets) {
                const service = r.objects.find((o) => o.kind === "Service" && o.metadata?.name === sts.spec.serviceName && o.metadata?.namespace === sts.metadata.namespace) as any;
                assert.ok(service, `StatefulSet/${sts.metadata.name}: no Service ${sts.spec.serviceName} in ${sts.metadata.namespace}`);
                assert.strictEqual(service.spec.clusterIP, "None", `StatefulSet/${sts.metadata.name}: Service ${sts.spec.serviceName} is not headless`);
                assert.deepStrictEqual(service.spec.selector, sts.spec.selector.matchLabels, sts.metadata.name);
            }
        });

        it("denies all traffic by default and allows DNS", () => {
            const policies = r.objects.filter((o) => o.kind === "NetworkPolicy") as any[];
            const deny = policies.find((p) => p.metadata.name === "airflow-default-deny");
            assert.deepStrictEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
            const dns = policies.find((p) => p.metadata.name === "airflow-allow-dns");
            // to the DNS pods on whatever port they listen: test/networkPolicies.test.ts evaluates it
            assert.deepStrictEqual(dns.spec.egress, [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }] }]);
        });

        it("gives every multi-replica component a disruption budget, and no other", () => {
            const budgets = r.objects.filter((o) => o.kind === "PodDisruptionBudget").map((o) => o.metadata?.name);
            const autoscaled = new Map((r.objects.filter((o) => o.kind === "HorizontalPodAutoscaler") as any[]).map((h) => [h.spec.scaleTargetRef.name, h.spec.minReplicas]));
            for (const d of r.objects.filter((o) => o.kind === "Deployment") as any[]) {
                const replicas = d.spec.replicas ?? autoscaled.get(d.metadata.name);
                assert.strictEqual(budgets.includes(d.metadata.name), replicas > 1, d.metadata.name);
            }
        });
    });
}

describe("policies: private registries", () => {
    for (const [label, config] of Object.entries(configs)) {
        it(`pulls every pod's images with the configured pull Secrets (${label})`, async () => {
            const r = await renderStack({ ...config, images: { ...config.images, pullSecrets: ["regcred", "mirror"] } });
            const pods = r.objects.flatMap(podSpecs);
            assert.ok(pods.length > 0);
            for (const { where, spec } of pods) {
                assert.deepStrictEqual(spec.imagePullSecrets, [{ name: "regcred" }, { name: "mirror" }], where);
            }
        });
    }

    it("renders no pull Secrets when none are configured", async () => {
        const r = await renderStack({});
        for (const { where, spec } of r.objects.flatMap(podSpecs)) assert.strictEqual(spec.imagePullSecrets, undefined, where);
    });
});

describe("policies: network allows for the production conversations", () => {
    it("lets workers reach the execution API and the control plane reach Postgres", async () => {
        const r = await renderStack({});
        const policy = (name: string) => r.objects.find((o) => o.kind === "NetworkPolicy" && o.metadata?.name === `airflow-${name}`) as any;
        const api = policy("allow-api-server").spec;
        assert.deepStrictEqual(api.podSelector, { matchLabels: { "app.kubernetes.io/component": "api-server" } });
        assert.ok(api.ingress[1].from[0].podSelector.matchExpressions[0].values.includes("worker"));
        assert.deepStrictEqual(api.ingress[1].ports, [{ protocol: "TCP", port: 8080 }]);
        const pg = policy("allow-postgres").spec;
        assert.deepStrictEqual(pg.ingress[0].ports, [{ protocol: "TCP", port: 5432 }]);
        assert.ok(pg.ingress[0].from[0].podSelector.matchExpressions[0].values.includes("scheduler"));
        const kube = policy("allow-kubernetes-api").spec;
        assert.deepStrictEqual(kube.podSelector.matchExpressions[0].values, ["scheduler", "worker-cleanup"]);
    });

    it("renders no policies when they are turned off", async () => {
        const r = await renderStack({ networkPolicies: false });
        assert.strictEqual(r.objects.filter((o) => o.kind === "NetworkPolicy").length, 0);
    });
});
