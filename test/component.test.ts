// The AirflowOnKubernetes component as another program uses it: one parent for everything, names that
// follow its name, args validated like the stack config before anything exists, typed outputs.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { AirflowArgsError, AirflowOnKubernetes, AIRFLOW_ON_KUBERNETES_TYPE, MAX_NAME_LENGTH } from "../components/airflowOnKubernetes";
import type { AirflowOnKubernetesArgs } from "../components/airflowOnKubernetesArgs";
import { collect, installMocks, kubernetesObjects, RecordedResource, resolve, settle } from "./support/harness";

interface Construction {
    components: AirflowOnKubernetes[];
    resources: RecordedResource[];
    /** Each resource -> its parent (undefined at the top), as the SDK saw the options. */
    parents: Map<pulumi.Resource, pulumi.Resource | undefined>;
    /** `<type>::<name>` of each resource -> the resource. */
    byKey: Map<string, pulumi.Resource>;
}

/** Constructs components under mocks, the way a consuming program would. */
async function construct(instances: [string, AirflowOnKubernetesArgs][], stackOutputs: Record<string, unknown> = {}): Promise<Construction> {
    const resources = installMocks(stackOutputs);
    const parents = new Map<pulumi.Resource, pulumi.Resource | undefined>();
    const byKey = new Map<string, pulumi.Resource>();
    const record: pulumi.ResourceTransformation = (args) => {
        parents.set(args.resource, args.opts.parent);
        byKey.set(`${args.type}::${args.name}`, args.resource);
        return undefined;
    };
    const components = instances.map(([name, args]) => new AirflowOnKubernetes(name, args, { transformations: [record] }));
    await settle();
    return { components, resources: [...resources], parents, byKey };
}

/** The chain of parents of a resource, nearest first. */
function ancestors(c: Construction, resource: pulumi.Resource): pulumi.Resource[] {
    const chain: pulumi.Resource[] = [];
    for (let r = c.parents.get(resource); r; r = c.parents.get(r)) chain.push(r);
    return chain;
}

const CONFIGS: [string, AirflowOnKubernetesArgs][] = [
    ["production", {}],
    ["standalone", { architecture: "standalone" }],
    [
        "production with built images, an infrastructure stack and git-sync",
        {
            infrastructure: { stack: "acme/infra/prod", registryOutput: "registry" },
            images: { build: { enabled: true }, tasks: { pandas: { context: "images/tasks/example" } } },
            gitSync: { enabled: true, repo: "https://git.example.com/dags.git" },
        },
    ],
];

describe("AirflowOnKubernetes component", () => {
    for (const [label, args] of CONFIGS) {
        it(`is the parent of every resource it creates (${label})`, async () => {
            const c = await construct([["airflow", args]], { kubeconfig: "apiVersion: v1\nkind: Config\n", registry: "registry.example.com/airflow" });
            const [component] = c.components;
            const orphans = [...c.byKey]
                .filter(([, r]) => r !== component && !ancestors(c, r).includes(component))
                .map(([key]) => key);
            assert.deepStrictEqual(orphans, [], "resources outside the component's tree");
            // Every resource the mocks saw went through the component's transformations (so it is in the tree).
            const registered = c.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => `${r.type}::${r.name}`);
            assert.deepStrictEqual(registered.filter((key) => !c.byKey.has(key)), []);
            assert.ok(c.byKey.has(`${AIRFLOW_ON_KUBERNETES_TYPE}::airflow`));
            assert.ok(registered.length > 10);
        });
    }

    it("names every child after its own name, so two instances in one program do not clash", async () => {
        const c = await construct([
            ["airflow", { namespace: "team-a", infrastructure: { stack: "acme/infra/prod" } }],
            ["analytics", { namespace: "team-b", infrastructure: { stack: "acme/infra/prod" } }],
        ], { kubeconfig: "apiVersion: v1\nkind: Config\n" });
        const [a, b] = c.components;
        const keysUnder = (component: pulumi.Resource) => [...c.byKey].filter(([, r]) => ancestors(c, r).includes(component)).map(([key]) => key);
        const underA = keysUnder(a);
        const underB = keysUnder(b);
        assert.ok(underA.length > 10 && underB.length === underA.length, `${underA.length} vs ${underB.length}`);
        // The same type and name under two parents of the same type would be the same URN.
        assert.deepStrictEqual(underA.filter((key) => underB.includes(key)), []);
        for (const key of underB) {
            const name = key.split("::")[1];
            assert.ok(name.startsWith("analytics"), `${key} does not carry the instance name`);
        }
        // Kubernetes object names and the instance label follow the component name too.
        const deployments = c.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment" && r.state.metadata.namespace === "team-b");
        assert.ok(deployments.length >= 4);
        for (const d of deployments) {
            assert.match(d.state.metadata.name, /^analytics-/);
            assert.strictEqual(d.state.metadata.labels["app.kubernetes.io/instance"], "analytics");
        }
    });

    it("keeps the names the program's resources always had", async () => {
        const c = await construct([["airflow", { infrastructure: { stack: "acme/infra/prod" } }]], { kubeconfig: "apiVersion: v1\nkind: Config\n" });
        for (const key of [
            "kubernetes:core/v1:Namespace::namespace",
            "pulumi:providers:kubernetes::cluster",
            "pulumi:pulumi:StackReference::acme/infra/prod",
            "airflow-kubernetes:index:Airflow::airflow",
            "airflow-kubernetes:index:AirflowKeys::airflow-keys",
            "airflow-kubernetes:index:SharedStorage::airflow-storage",
            "airflow-kubernetes:index:MetadataDatabase::airflow-postgres",
            "airflow-kubernetes:index:AirflowImages::airflow-images",
            "airflow-kubernetes:index:NetworkPolicies::airflow",
        ]) {
            assert.ok(c.byKey.has(key), `no ${key}`);
        }
    });

    it("keeps every Kubernetes name valid with the longest name it accepts", async () => {
        const name = "a".repeat(MAX_NAME_LENGTH);
        const resources = installMocks();
        new AirflowOnKubernetes(name, {
            gitSync: { enabled: true, repo: "https://git.example.com/dags.git" },
            scheduler: { replicas: 2 },
            apiServer: { replicas: 2 },
            workers: { podLauncher: true },
        });
        await settle();
        const objects = kubernetesObjects(resources);
        assert.ok(objects.length > 20);
        // Names that become DNS labels or label values (Services, Jobs' job-name label) and CronJobs' 52.
        const limit: Record<string, number> = { Service: 63, Job: 63, Namespace: 63, CronJob: 52 };
        for (const o of objects as any[]) {
            assert.ok(o.metadata.name.length <= (limit[o.kind] ?? 253), `${o.kind} ${o.metadata.name} is too long`);
            for (const [key, value] of Object.entries(o.metadata.labels ?? {})) {
                assert.ok(String(value).length <= 63, `${o.kind} ${o.metadata.name}: label ${key} is too long`);
            }
        }
    });

    it("registers typed outputs, the admin password as a secret", async () => {
        const resources = installMocks();
        const component = new AirflowOnKubernetes("airflow", { namespace: "data", ui: { adminUsername: "ops" } });
        const rendered = await collect(resources, {
            namespace: component.namespace,
            architecture: component.architecture,
            uiUrl: component.uiUrl,
            adminUsername: component.adminUsername,
            adminPassword: component.adminPassword,
            dagsClaimName: component.dagsClaimName,
        });
        assert.strictEqual(rendered.outputs.namespace, "data");
        assert.strictEqual(rendered.outputs.architecture, "production");
        assert.strictEqual(rendered.outputs.uiUrl, "http://airflow-api-server.data.svc:8080/");
        assert.strictEqual(rendered.outputs.adminUsername, "ops");
        assert.ok(rendered.secretOutputs.has("adminPassword"));
        assert.strictEqual(rendered.outputs.dagsClaimName, "airflow-storage-dags");
        const registered = [...rendered.componentOutputs].find(([urn]) => urn.endsWith(`${AIRFLOW_ON_KUBERNETES_TYPE}::airflow`));
        assert.ok(registered, "the component registered its outputs");
        assert.deepStrictEqual(Object.keys(registered![1]).sort(), ["adminPassword", "adminUsername", "airflowImage", "architecture", "dagsClaimName", "logsClaimName", "metadataSecretName", "migrationJobName", "namespace", "uiServiceName", "uiUrl"]);
        const standalone = new AirflowOnKubernetes("solo", { architecture: "standalone" });
        assert.strictEqual(standalone.migrationJobName, undefined);
        assert.strictEqual(standalone.dagsClaimName, undefined);
        assert.strictEqual((await resolve(standalone.architecture)).value, "standalone");
    });
});

describe("AirflowOnKubernetes args validation", () => {
    const failure = (name: string, args: unknown): AirflowArgsError => {
        const resources = installMocks();
        let error: unknown;
        try {
            new AirflowOnKubernetes(name, args as AirflowOnKubernetesArgs);
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof AirflowArgsError, `expected AirflowArgsError, got ${error}`);
        assert.strictEqual(resources.length, 0, "nothing is registered");
        return error;
    };

    it("lists every problem by key, with the stack config's messages, before registering anything", () => {
        const e = failure("airflow", { architecture: "prod", scheduler: { replicas: 0, replica: 2 } });
        assert.strictEqual(e.problems.length, 3, e.message);
        assert.match(e.problems[0], /^architecture: .*"production"\|"standalone".*\(got "prod"\)/);
        assert.ok(e.problems.some((p) => /^scheduler\.replicas: .*>=1.*\(got 0\)/.test(p)), e.message);
        assert.ok(e.problems.some((p) => /^scheduler: unknown key "replica"; allowed: replicas, /.test(p)), e.message);
        assert.match(e.message, /^AirflowOnKubernetes airflow: invalid arguments \(3 problems\):\n  - /);
        assert.ok(e instanceof pulumi.ResourceError);
    });

    it("refuses settings the architecture would ignore, as the stack config does", () => {
        const e = failure("airflow", { architecture: "standalone", scheduler: { replicas: 2 } });
        assert.match(e.problems[0], /^scheduler: is not used by the standalone architecture/);
    });

    it("refuses Outputs where a plain value decides what exists", () => {
        const e = failure("airflow", { namespace: pulumi.output("data"), gitSync: { enabled: true, repo: Promise.resolve("https://x") } });
        assert.ok(e.problems.some((p) => /^namespace: must be a plain value, not an Output/.test(p)), e.message);
        assert.ok(e.problems.some((p) => /^gitSync\.repo: must be a plain value/.test(p)), e.message);
    });

    it("requires registryPassword with registry.username (and only then)", () => {
        const build = { images: { build: { enabled: true } }, registry: { server: "ghcr.io/acme", username: "ci" } };
        assert.match(failure("airflow", build).problems.join("\n"), /^registryPassword: is required with registry\.username/m);
        assert.match(failure("airflow", { registryPassword: pulumi.secret("x") }).problems.join("\n"), /^registry\.username: is required when registryPassword is set/m);
        installMocks();
        assert.doesNotThrow(() => new AirflowOnKubernetes("airflow", { ...build, registryPassword: pulumi.secret("token") } as AirflowOnKubernetesArgs));
    });

    it("needs a name that can prefix Kubernetes object names", () => {
        assert.match(failure("Airflow_Prod", {}).problems[0], /^name: must be a DNS label/);
        assert.match(failure("a".repeat(31), {}).problems[0], /^name: must be at most 30 characters/);
    });

    it("warns about suspicious values before registering anything", () => {
        const resources = installMocks();
        const log = pulumi.log as { warn: typeof pulumi.log.warn };
        const warn = log.warn;
        const warnings: [string, number][] = [];
        log.warn = (message: string) => {
            warnings.push([message, resources.length]);
            return Promise.resolve();
        };
        try {
            new AirflowOnKubernetes("airflow", { images: { airflow: "apache/airflow:3.2.1" } });
        } finally {
            log.warn = warn;
        }
        assert.deepStrictEqual(warnings.map(([m]) => m.replace(/ but .*/, "")), ["AirflowOnKubernetes airflow: images.airflow: the tag of apache/airflow:3.2.1 names Airflow 3.2.1"]);
        assert.strictEqual(warnings[0][1], 0);
    });
});

describe("teardown through the namespace", () => {
    it("lets the namespace's deletion take every namespaced object but the pod owners with it, and nothing cluster-scoped", async () => {
        const { deleteWithNamespace } = require("../components/deploy") as typeof import("../components/deploy");
        const namespace = { urn: "ns" } as any;
        const transform = deleteWithNamespace(namespace);
        const apply = (type: string) => transform({ type, name: "x", props: {}, opts: {}, resource: {} as any } as any);
        for (const type of ["kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap", "kubernetes:networking.k8s.io/v1:NetworkPolicy"]) {
            assert.strictEqual((apply(type) as any)?.opts.deletedWith, namespace, type);
        }
        // deleted by Pulumi first, so no running pod is left for the namespace controller to wait on,
        // in the background, so no level of the dependency order waits for the pods of the level before
        for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod"]) {
            const t = transform({ type, name: "x", props: { metadata: { name: "x", annotations: { kept: "yes" } } }, opts: {}, resource: {} as any } as any) as any;
            assert.strictEqual(t.opts.deletedWith, undefined, type);
            assert.strictEqual(t.props.metadata.name, "x", type);
            const annotations = await new Promise((resolve) => t.props.metadata.annotations.apply(resolve));
            assert.deepStrictEqual(annotations, { kept: "yes", "pulumi.com/deletionPropagationPolicy": "background" }, type);
        }
        for (const type of ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolume", "random:index/randomPassword:RandomPassword", "gcp:filestore/instance:Instance"]) {
            assert.strictEqual(apply(type), undefined, type);
        }
    });
});

describe("teardown through the namespace, as rendered", () => {
    it("marks every namespaced Kubernetes object of the stack but the pod owners deletedWith its namespace", async () => {
        const { renderStack, deletedWith } = require("./support/harness") as typeof import("./support/harness");
        deletedWith.clear();
        const r = await renderStack({});
        // (the default/kubernetes EndpointSlice is only read, for the NetworkPolicies: not the stack's)
        const namespaced = r.resources.filter(
            (x) => x.type.startsWith("kubernetes:") && !x.type.startsWith("pulumi:providers") && x.type !== "kubernetes:core/v1:Namespace" && x.type !== "kubernetes:discovery.k8s.io/v1:EndpointSlice",
        );
        const podOwner = (type: string) => /:(apps\/v1:(Deployment|StatefulSet)|batch\/v1:(Job|CronJob))$/.test(type);
        assert.ok(namespaced.filter((x) => !podOwner(x.type)).length > 25);
        assert.ok(namespaced.filter((x) => podOwner(x.type)).length >= 7);
        for (const x of namespaced) assert.strictEqual(deletedWith.get(`${x.type}::${x.name}`), podOwner(x.type) ? undefined : "namespace", `${x.type} ${x.name}`);
        const owners = r.objects.filter((o) => ["Deployment", "StatefulSet", "Job", "CronJob"].includes(o.kind));
        assert.ok(owners.length >= 7);
        for (const o of owners as any[]) assert.strictEqual(o.metadata.annotations?.["pulumi.com/deletionPropagationPolicy"], "background", `${o.kind} ${o.metadata.name}`);
    });

    it("keeps the provider's foreground deletes when a platform team owns the namespace (no namespace deletion to wait for the pods)", async () => {
        const { renderStack } = require("./support/harness") as typeof import("./support/harness");
        const r = await renderStack({ createNamespace: false });
        const owners = r.objects.filter((o) => ["Deployment", "StatefulSet", "Job", "CronJob"].includes(o.kind));
        assert.ok(owners.length >= 7);
        for (const o of owners as any[]) assert.strictEqual(o.metadata.annotations?.["pulumi.com/deletionPropagationPolicy"], undefined, `${o.kind} ${o.metadata.name}`);
    });
});

describe("stacks made before the top-level component", () => {
    it("alias the stack-level children they had (same names, the stack as parent), so an update adopts them", async () => {
        const { renderStack, aliases } = require("./support/harness") as typeof import("./support/harness");
        aliases.clear();
        await renderStack({});
        for (const key of ["airflow-kubernetes:index:Airflow::airflow", "airflow-kubernetes:index:MetadataDatabase::airflow-postgres", "kubernetes:core/v1:Namespace::namespace"]) {
            // (the package's components also alias their former type: see the next describe)
            const list = (aliases.get(key) ?? []) as object[];
            assert.ok(list.some((a) => "parent" in a && !("type" in a)), `${key}: an alias to the stack as parent`);
        }
        // The Namespace (a Kubernetes object) keeps its type: the stack as parent is its one alias.
        assert.strictEqual(aliases.get("kubernetes:core/v1:Namespace::namespace")?.length, 1);
        // deeper children follow their parent's alias: none of their own names a parent
        assert.ok((aliases.get("kubernetes:apps/v1:Deployment::airflow-scheduler") ?? []).every((a) => !("parent" in (a as object))));
    });
});

describe("stacks made before the package had one type prefix", () => {
    it("alias each sub-component to its airflow:index:* type, alone and with the stack as parent, so an update adopts it", async () => {
        const { renderStack, aliases } = require("./support/harness") as typeof import("./support/harness");
        aliases.clear();
        await renderStack({ database: { pgbouncer: { enabled: true } }, metrics: { enabled: true }, gitSync: { enabled: true, repo: "https://git.example.com/dags.git" } });
        const components = [...aliases.keys()].filter((key) => key.startsWith("airflow-kubernetes:index:"));
        assert.deepStrictEqual(
            components.map((key) => key.split("::")[0]).sort(),
            ["Airflow", "AirflowImages", "AirflowKeys", "GitSync", "MetadataDatabase", "NetworkPolicies", "PgBouncer", "SharedStorage", "StatsdExporter"].map((c) => `airflow-kubernetes:index:${c}`),
        );
        for (const key of components) {
            const legacy = `airflow:index:${key.split("::")[0].split(":").pop()}`;
            const list = (aliases.get(key) ?? []) as { type?: string; parent?: unknown }[];
            assert.ok(list.some((a) => a.type === legacy && !("parent" in a)), `${key}: an alias to ${legacy}`);
            assert.ok(list.some((a) => a.type === legacy && "parent" in a), `${key}: an alias to ${legacy} with the stack as parent`);
        }
        for (const key of aliases.keys()) assert.ok(!key.startsWith("airflow:index:"), `${key}: the package's types share one prefix`);
    });

    it("alias the standalone pod's component the same way", async () => {
        const { renderStack, aliases } = require("./support/harness") as typeof import("./support/harness");
        aliases.clear();
        await renderStack({ architecture: "standalone" });
        const list = (aliases.get("airflow-kubernetes:index:StandaloneAirflow::airflow") ?? []) as { type?: string }[];
        assert.ok(list.some((a) => a.type === "airflow:index:StandaloneAirflow"));
    });
});
