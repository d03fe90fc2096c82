// Issue 21, deliverable 1 (config time): the object-shaped values of the config (extension points,
// envFrom, affinity, tolerations, spread, annotations, ports, images, the Ingress host) are checked by
// Kubernetes' own rules before anything is registered, the worker pod template's included. Each case
// names the exact problem for the key; refused configs register nothing.
import * as assert from "assert";
import { parseStackConfig, StackConfigError, StackConfigInput } from "../components/config";
import { ownMountPaths } from "../components/config/ownMounts";
import { podSpecs, rawConfig, renderStack, settle, workerPodTemplate } from "./support/harness";
import { BAD_OBJECTS, IMAGE_EXAMPLE } from "./support/badObjects";
import { assertValidObjects } from "./support/k8sSchema";
import { runProgram } from "./support/program";

/** The problems the config's validation reports (it must refuse the config with a StackConfigError). */
function problemsOf(config: Record<string, unknown>): string[] {
    const error = thrownBy(() => parseStackConfig(rawConfig(config)));
    assert.ok(error instanceof StackConfigError, `expected a StackConfigError for ${JSON.stringify(config).slice(0, 200)}, got ${error ?? "no error"}`);
    return error.problems;
}

const thrownBy = (f: () => unknown): unknown => {
    try {
        f();
    } catch (e) {
        return e;
    }
    return undefined;
};

/** Runs the program with the config; returns the problems, after checking that not one resource was registered, even late. */
async function refusedByProgram(config: Record<string, unknown>): Promise<string[]> {
    const run = runProgram(Object.fromEntries(Object.entries(rawConfig(config)).map(([k, v]) => [`airflow:${k}`, v])));
    assert.ok(run.error instanceof StackConfigError, `expected a config error, got ${run.error}`);
    await settle();
    // run.recorded is the live list the mocks append to: a registration after the error would show here
    assert.deepStrictEqual(
        run.recorded.map((r) => `${r.type} ${r.name}`),
        [],
    );
    return run.error.problems;
}

const NODE_OPERATORS = "must be one of In, NotIn, Exists, DoesNotExist, Gt, Lt";
const nodeTerm = (expression: Record<string, unknown>) => ({
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expression] }] } },
});
const TERM = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.0.matchExpressions.0";

describe("object-shaped config values, validated by Kubernetes' rules before anything is registered (issue 21)", () => {
    it("the program registers resources for a valid config (so the empty lists below can fail)", async () => {
        const run = runProgram({ "airflow:workers": JSON.stringify({ affinity: nodeTerm({ key: "pool", operator: "In", values: ["airflow"] }) }) });
        assert.ifError(run.error);
        await settle();
        assert.ok(run.recorded.length > 20, `registered ${run.recorded.length}`);
    });

    it("refuses an envFrom entry naming both a ConfigMap and a Secret", async () => {
        const config = {
            scheduler: { extraContainers: [{ name: "proxy", image: "busybox:1.37.0", envFrom: [{ configMapRef: { name: "settings" }, secretRef: { name: "creds" } }] }] },
        };
        assert.deepStrictEqual(await refusedByProgram(config), [
            "airflow:scheduler.extraContainers.0.envFrom.0: must set exactly one of configMapRef, secretRef (it sets configMapRef and secretRef): list a ConfigMap and a Secret as two entries",
        ]);
        // neither is refused the same way; one of them is fine
        assert.deepStrictEqual(problemsOf({ workers: { extraInitContainers: [{ name: "init", image: "busybox:1.37.0", envFrom: [{ prefix: "X_" }] }] } }), [
            "airflow:workers.extraInitContainers.0.envFrom.0: must set exactly one of configMapRef, secretRef: list a ConfigMap and a Secret as two entries",
        ]);
        assert.doesNotThrow(() =>
            parseStackConfig(rawConfig({ workers: { extraContainers: [{ name: "a", image: "busybox:1.37.0", envFrom: [{ secretRef: { name: "creds" } }] }] } })),
        );
    });

    it("refuses an extra mount at a path the package already mounts in the same container, the worker pod template's included", async () => {
        const config = {
            scheduler: { extraVolumes: [{ name: "scratch", emptyDir: {} }], extraVolumeMounts: [{ name: "scratch", mountPath: "/opt/airflow/pod_templates" }] },
            workers: {
                extraVolumes: [{ name: "scratch", emptyDir: {} }],
                extraVolumeMounts: [
                    { name: "scratch", mountPath: "/tmp" },
                    { name: "scratch", mountPath: "/data" },
                    { name: "scratch", mountPath: "/data" },
                ],
            },
        };
        assert.deepStrictEqual(await refusedByProgram(config), [
            'airflow:scheduler.extraVolumeMounts.0.mountPath: is already mounted by this package in the same container (its own mounts are at /tmp, /home/airflow/sandbox, /opt/airflow/dags, /opt/airflow/logs, /opt/airflow/pod_templates): pick another path (got "/opt/airflow/pod_templates")',
            'airflow:workers.extraVolumeMounts.0.mountPath: is already mounted by this package in the same container (its own mounts are at /tmp, /home/airflow/sandbox, /opt/airflow/dags, /opt/airflow/logs): pick another path (got "/tmp")',
            'airflow:workers.extraVolumeMounts.2.mountPath: is already the path of workers.extraVolumeMounts.1: mount paths are unique in a container (got "/data")',
        ]);
        // an extra container's own mounts are unique too
        assert.deepStrictEqual(
            problemsOf({
                triggerer: {
                    extraVolumes: [{ name: "ca", secret: { secretName: "ca" } }],
                    extraContainers: [
                        {
                            name: "s",
                            image: "busybox:1.37.0",
                            volumeMounts: [
                                { name: "ca", mountPath: "/ca" },
                                { name: "ca", mountPath: "/ca" },
                            ],
                        },
                    ],
                },
            }),
            ['airflow:triggerer.extraContainers.0.volumeMounts.1.mountPath: is already the path of volumeMounts.0: mount paths are unique in a container (got "/ca")'],
        );
    });

    it("refuses a worker affinity with an operator Kubernetes does not have (every task would fail), and the values each operator needs", async () => {
        assert.deepStrictEqual(await refusedByProgram({ workers: { affinity: nodeTerm({ key: "pool", operator: "Equals", values: ["airflow"] }) } }), [
            `airflow:workers.${TERM}.operator: ${NODE_OPERATORS} (got "Equals")`,
        ]);
        assert.deepStrictEqual(problemsOf({ workers: { affinity: nodeTerm({ key: "pool", operator: "In" }) } }), [
            `airflow:workers.${TERM}.values: must have at least one value when operator is In`,
        ]);
        assert.deepStrictEqual(problemsOf({ workers: { affinity: nodeTerm({ key: "pool", operator: "Exists", values: ["a"] }) } }), [
            `airflow:workers.${TERM}.values: must be empty when operator is Exists (got ["a"])`,
        ]);
        assert.deepStrictEqual(problemsOf({ workers: { affinity: nodeTerm({ key: "cores", operator: "Gt", values: ["four"] }) } }), [
            `airflow:workers.${TERM}.values: must be a single integer when operator is Gt, e.g. ["3"] (got ["four"])`,
        ]);
        assert.deepStrictEqual(problemsOf({ workers: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } } } }), [
            "airflow:workers.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: must have at least one node selector term (got [])",
        ]);
        const anti = {
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                    { weight: 0, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchExpressions: [{ key: "app", operator: "Gt", values: ["1"] }] } } },
                ],
            },
        };
        assert.deepStrictEqual(problemsOf({ apiServer: { affinity: anti } }), [
            "airflow:apiServer.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.weight: must be from 1 to 100 (got 0)",
            'airflow:apiServer.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm.labelSelector.matchExpressions.0.operator: must be one of In, NotIn, Exists, DoesNotExist (got "Gt")',
        ]);
    });

    it("refuses an extra container's image that is not a valid reference (the update would hang on the pull)", async () => {
        assert.deepStrictEqual(await refusedByProgram({ triggerer: { extraContainers: [{ name: "shipper", image: "Fluent/Fluent-Bit:3.2" }] } }), [
            `airflow:triggerer.extraContainers.0.image: must be an image reference ${IMAGE_EXAMPLE}: the repository path must be lowercase letters and digits, separated by '.', '_', '__', '-' or '/' (got "Fluent/Fluent-Bit:3.2")`,
        ]);
        assert.deepStrictEqual(problemsOf({ workers: { extraInitContainers: [{ name: "init", image: "busybox@sha256:123" }] } }), [
            `airflow:workers.extraInitContainers.0.image: must be an image reference ${IMAGE_EXAMPLE}: the digest must be sha256:<64 lowercase hex digits> (or sha384/sha512) (got "busybox@sha256:123")`,
        ]);
    });

    // One mistake each, with the exact problem; the API server would refuse each of these (or the kubelet fail on it).
    const cases = BAD_OBJECTS;
    for (const c of cases) {
        it(`refuses ${c.name}`, () => {
            assert.deepStrictEqual(problemsOf(c.config as Record<string, unknown>), c.problems);
        });
    }

    it("reports every problem of every section at once", async () => {
        // one case per section (a section given twice would keep only the last)
        const picked = cases.filter((c, i) => cases.findIndex((o) => Object.keys(o.config)[0] === Object.keys(c.config)[0]) === i);
        assert.strictEqual(picked.length, 7);
        const problems = await refusedByProgram(Object.assign({}, ...picked.map((c) => c.config)));
        assert.deepStrictEqual(problems.sort(), picked.flatMap((c) => c.problems).sort());
    });
});

describe("what the config accepts, Kubernetes accepts: the pods with every extension point pass the strict OpenAPI schema (issue 21)", () => {
    const extensions = {
        extraVolumes: [
            {
                name: "ca",
                projected: {
                    sources: [
                        { secret: { name: "corporate-ca", items: [{ key: "ca.crt", path: "ca.crt", mode: 0o444 }] } },
                        { serviceAccountToken: { audience: "vault", expirationSeconds: 3600, path: "token" } },
                    ],
                },
            },
            { name: "models", csi: { driver: "Secrets-Store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: "models" } } },
        ],
        extraVolumeMounts: [{ name: "ca", mountPath: "/etc/ssl/corporate", readOnly: true, recursiveReadOnly: "IfPossible" }],
        extraContainers: [
            {
                name: "proxy",
                image: "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1",
                ports: [{ name: "pg", containerPort: 5432 }],
                env: [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app.kubernetes.io/component']" } } }],
                envFrom: [{ configMapRef: { name: "proxy-settings" } }, { prefix: "DB_", secretRef: { name: "proxy-creds", optional: true } }],
                readinessProbe: { tcpSocket: { port: "pg" }, periodSeconds: 5 },
                lifecycle: { preStop: { sleep: { seconds: 5 } } },
                securityContext: { runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: 1, memory: "128Mi" } },
                volumeMounts: [{ name: "ca", mountPath: "/ca", readOnly: true }],
            },
        ],
        podAnnotations: { "example.com/team": "data" },
        affinity: {
            nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                        { matchExpressions: [{ key: "cores", operator: "Gt", values: ["3"] }], matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["node-7"] }] },
                    ],
                },
                preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: "pool", operator: "In", values: ["airflow"] }] } }],
            },
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                        weight: 100,
                        podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { team: "data" } }, matchLabelKeys: ["pod-template-hash"] },
                    },
                ],
            },
        },
        tolerations: [{ key: "spot", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }, { operator: "Exists" }],
        topologySpreadConstraints: [
            {
                maxSkew: 1,
                topologyKey: "topology.kubernetes.io/zone",
                whenUnsatisfiable: "DoNotSchedule",
                minDomains: 2,
                labelSelector: { matchExpressions: [{ key: "team", operator: "Exists" }] },
            },
        ],
    };

    it("renders the Deployments and the worker pod template (a Pod) from them, valid by the strict schema", async () => {
        const r = await renderStack({ scheduler: extensions, workers: extensions, triggerer: extensions } as StackConfigInput);
        const template = workerPodTemplate(r.objects) as any;
        assert.deepStrictEqual(template.spec.affinity, extensions.affinity);
        assert.ok(template.spec.containers.some((c: any) => c.name === "proxy"));
        await assertValidObjects([...r.objects, template]);
    });
});

describe("the package's own mounts, as the config knows them, are the rendered pods' (issue 21)", () => {
    const MAIN: Record<string, string> = {
        scheduler: "scheduler",
        apiServer: "api-server",
        dagProcessor: "dag-processor",
        triggerer: "triggerer",
        workers: "base",
        database: "postgres",
        gitSync: "git-sync",
    };
    const configs: StackConfigInput[] = [
        {},
        { ui: { webserverConfig: { secretName: "fab" } }, logging: { remoteBaseLogFolder: "gs://logs/airflow" }, storage: { mode: "existing", dagsClaimName: "dags" } },
        { gitSync: { enabled: true, repo: "git@example.com:dags.git", auth: "ssh", credentialsSecretName: "git" } },
        { gitSync: { enabled: true, mode: "sidecar", repo: "https://example.com/dags.git" } },
        { dagBundles: [{ name: "team", repo: "git@example.com:dags.git", auth: "ssh", credentialsSecretName: "keys" }] },
        { dagsInImage: true, images: { airflow: "registry.example.com/dags:1", taskImages: { pandas: `registry.example.com/pandas@sha256:${"a".repeat(64)}` } } },
    ];
    for (const config of configs) {
        it(`for ${JSON.stringify(config)}: the same paths, and an extra mount at each is refused`, async () => {
            const r = await renderStack(config);
            const rendered: Record<string, string[]> = {};
            for (const { where, spec } of r.objects.flatMap(podSpecs)) {
                if (/Job/.test(where) && !where.includes("git-sync")) continue;
                for (const [section, name] of Object.entries(MAIN)) {
                    const main = spec.containers.find((c: any) => c.name === name);
                    if (main) rendered[section] = (main.volumeMounts ?? []).map((m: any) => m.mountPath).sort();
                }
            }
            const model = ownMountPaths(parseStackConfig(rawConfig(config)));
            assert.deepStrictEqual(Object.fromEntries(Object.entries(model).map(([s, p]) => [s, [...(p ?? [])].sort()])), rendered);
            for (const [section, paths] of Object.entries(rendered)) {
                const extraVolumeMounts = paths.map((mountPath) => ({ name: "extra", mountPath }));
                const problems = problemsOf({ ...config, [section]: { ...((config as any)[section] ?? {}), extraVolumes: [{ name: "extra", emptyDir: {} }], extraVolumeMounts } });
                assert.deepStrictEqual(
                    problems.map((p) => p.split(":")[1]),
                    paths.map((_, i) => `${section}.extraVolumeMounts.${i}.mountPath`),
                    problems.join("\n"),
                );
            }
        });
    }
});
