// Issue 21, deliverable 1 (config time): the object-shaped values of the config (extension points,
// envFrom, affinity, tolerations, spread, annotations, ports, images, the Ingress host) are checked by
// Kubernetes' own rules before anything is registered, the worker pod template's included. Each case
// names the exact problem for the key; refused configs register nothing.
import * as assert from "assert";
import { parseStackConfig, StackConfigError, StackConfigInput } from "../components/config";
import { ownMountPaths } from "../components/config/ownMounts";
import { podSpecs, rawConfig, renderStack, settle, workerPodTemplate } from "./support/harness";
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

const IMAGE_EXAMPLE = "such as apache/airflow:3.3.2 or registry.example.com/team/airflow@sha256:<64 hex digits>";
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
    const cases: { name: string; config: StackConfigInput | Record<string, unknown>; problems: string[] }[] = [
        {
            name: "toleration with a value and operator Exists, and tolerationSeconds without NoExecute",
            config: {
                workers: {
                    tolerations: [
                        { key: "pool", operator: "Exists", value: "x" },
                        { key: "spot", value: "true", effect: "NoSchedule", tolerationSeconds: 60 },
                    ],
                },
            },
            problems: [
                'airflow:workers.tolerations.0.value: must be empty when operator is Exists (got "x")',
                "airflow:workers.tolerations.1.tolerationSeconds: is only allowed with effect NoExecute (got 60)",
            ],
        },
        {
            name: "toleration without a key and not Exists",
            config: { database: { tolerations: [{ operator: "Equal", value: "x" }] } },
            problems: ['airflow:database.tolerations.0.operator: must be Exists when key is empty (it then tolerates every taint) (got "Equal")'],
        },
        {
            name: "topology spread: minDomains with ScheduleAnyway, a repeated pair, matchLabelKeys without a selector",
            config: {
                scheduler: {
                    topologySpreadConstraints: [
                        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", minDomains: 2 },
                        { maxSkew: 2, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", matchLabelKeys: ["pod-template-hash"] },
                    ],
                },
            },
            problems: [
                "airflow:scheduler.topologySpreadConstraints.0.minDomains: is only allowed with whenUnsatisfiable: DoNotSchedule (got 2)",
                'airflow:scheduler.topologySpreadConstraints.1.matchLabelKeys.0: needs a labelSelector: the keys are added to it (got "pod-template-hash")',
                "airflow:scheduler.topologySpreadConstraints.1: repeats topologyKey topology.kubernetes.io/zone with whenUnsatisfiable ScheduleAnyway of entry 0: merge them",
            ],
        },
        {
            name: "label selector value that is not a label value",
            config: {
                dagProcessor: {
                    topologySpreadConstraints: [
                        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { team: "data platform" } } },
                    ],
                },
            },
            problems: [
                `airflow:dagProcessor.topologySpreadConstraints.0.labelSelector.matchLabels.team: must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (got "data platform")`,
            ],
        },
        {
            name: "pod annotations above the API server's 256Ki",
            config: { apiServer: { podAnnotations: { "example.com/blob": "x".repeat(256 * 1024) } } },
            problems: [`airflow:apiServer.podAnnotations: must have at most 262144 bytes of keys and values together (256Ki), has ${256 * 1024 + 16}`],
        },
        {
            name: "container port name and a duplicate of it, port out of range",
            config: {
                scheduler: {
                    extraContainers: [
                        {
                            name: "proxy",
                            image: "busybox:1.37.0",
                            ports: [
                                { name: "Metrics_Port", containerPort: 9090 },
                                { name: "http", containerPort: 70000 },
                                { name: "http", containerPort: 8081 },
                            ],
                        },
                    ],
                },
            },
            problems: [
                `airflow:scheduler.extraContainers.0.ports.0.name: must be a port name: at most 15 lowercase letters, digits and '-', with at least one letter, not starting or ending with '-' and without '--' (got "Metrics_Port")`,
                "airflow:scheduler.extraContainers.0.ports.1.containerPort: must be a port number from 1 to 65535 (got 70000)",
                'airflow:scheduler.extraContainers.0.ports.2.name: is already the name of ports.1: port names are unique in a container (got "http")',
            ],
        },
        {
            name: "resources: an unknown resource name, a bad quantity, a request above its limit, an extended resource overcommitted",
            config: {
                workers: {
                    extraContainers: [
                        {
                            name: "gpu",
                            image: "busybox:1.37.0",
                            resources: { requests: { cpu: "2", memory: "lots", "nvidia.com/gpu": 1 }, limits: { cpu: "1", cores: 2, "nvidia.com/gpu": 2 } },
                        },
                    ],
                },
            },
            problems: [
                'airflow:workers.extraContainers.0.resources.requests.memory: must be a Kubernetes quantity such as 250m, 1, 0.5, 512Mi or 20Gi (got "lots")',
                `airflow:workers.extraContainers.0.resources.limits.cores: must be cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource such as nvidia.com/gpu (<domain>/<name>, not in kubernetes.io) (got "cores")`,
            ],
        },
        {
            name: "resources with valid names: a request above its limit, an extended resource overcommitted",
            config: {
                workers: {
                    extraContainers: [
                        { name: "gpu", image: "busybox:1.37.0", resources: { requests: { cpu: "2", "nvidia.com/gpu": 1 }, limits: { cpu: "1", "nvidia.com/gpu": 2 } } },
                    ],
                },
            },
            problems: [
                'airflow:workers.extraContainers.0.resources.requests.cpu: must not exceed limits.cpu (1) (got "2")',
                "airflow:workers.extraContainers.0.resources.requests.nvidia.com/gpu: must equal limits.nvidia.com/gpu (an extended resource is not overcommitted): set both to the same value (got 1)",
            ],
        },
        {
            name: "env: value and valueFrom, a valueFrom with two sources, a field path the downward API lacks",
            config: {
                triggerer: {
                    extraContainers: [
                        {
                            name: "side",
                            image: "busybox:1.37.0",
                            env: [
                                { name: "A", value: "x", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
                                { name: "B", valueFrom: { secretKeyRef: { name: "s", key: "k" }, configMapKeyRef: { name: "c", key: "k" } } },
                                { name: "C", valueFrom: { fieldRef: { fieldPath: "spec.hostname" } } },
                            ],
                        },
                    ],
                },
            },
            problems: [
                "airflow:triggerer.extraContainers.0.env.0.valueFrom: cannot be combined with a non-empty value: set one of them",
                "airflow:triggerer.extraContainers.0.env.1.valueFrom: must set exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef (it sets configMapKeyRef and secretKeyRef)",
                `airflow:triggerer.extraContainers.0.env.2.valueFrom.fieldRef.fieldPath: must be one of metadata.name, metadata.namespace, metadata.uid, spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP, status.podIPs, metadata.labels['<key>'] or metadata.annotations['<key>'] (got "spec.hostname")`,
            ],
        },
        {
            name: "volumes: a file mode above 0777, an item path with '..', a negative emptyDir size, an image volume with a bad reference",
            config: {
                apiServer: {
                    extraVolumes: [
                        { name: "ca", secret: { secretName: "ca", defaultMode: 1000, items: [{ key: "ca.crt", path: "../ca.crt" }] } },
                        { name: "scratch", emptyDir: { sizeLimit: "-1Gi" } },
                        { name: "models", image: { reference: "Models:latest" } },
                    ],
                },
            },
            problems: [
                "airflow:apiServer.extraVolumes.0.secret.items.0.path: must not contain '..' (got \"../ca.crt\")",
                "airflow:apiServer.extraVolumes.0.secret.defaultMode: must be a file mode from 0 to 0777 (511) (got 1000)",
                'airflow:apiServer.extraVolumes.1.emptyDir.sizeLimit: must not be negative (got "-1Gi")',
                `airflow:apiServer.extraVolumes.2.image.reference: must be an image reference ${IMAGE_EXAMPLE}: the repository path must be lowercase letters and digits, separated by '.', '_', '__', '-' or '/' (got "Models:latest")`,
            ],
        },
        {
            name: "volume mounts: an absolute subPath, subPath with subPathExpr, recursiveReadOnly without readOnly, Bidirectional unprivileged",
            config: {
                dagProcessor: {
                    extraVolumes: [{ name: "data", emptyDir: {} }],
                    extraVolumeMounts: [
                        { name: "data", mountPath: "/a", subPath: "/abs" },
                        { name: "data", mountPath: "/b", subPath: "x", subPathExpr: "$(POD)" },
                        { name: "data", mountPath: "/c", recursiveReadOnly: "Enabled" },
                        { name: "data", mountPath: "/d", mountPropagation: "Bidirectional" },
                    ],
                },
            },
            problems: [
                "airflow:dagProcessor.extraVolumeMounts.0.subPath: must be a relative path (no leading '/') (got \"/abs\")",
                'airflow:dagProcessor.extraVolumeMounts.1.subPathExpr: cannot be combined with subPath: set one of them (got "$(POD)")',
                'airflow:dagProcessor.extraVolumeMounts.2.recursiveReadOnly: needs readOnly: true (got "Enabled")',
            ],
        },
        {
            name: "probe with two handlers, a lifecycle hook with none, an unknown securityContext field",
            config: {
                scheduler: {
                    extraContainers: [
                        {
                            name: "side",
                            image: "busybox:1.37.0",
                            readinessProbe: { exec: { command: ["true"] }, tcpSocket: { port: 8080 } },
                            lifecycle: { preStop: {} },
                            securityContext: { runAsUser: 1000, privilege: true },
                        },
                    ],
                },
            },
            problems: [
                "airflow:scheduler.extraContainers.0.readinessProbe: must set exactly one of exec, httpGet, tcpSocket, grpc (it sets exec and tcpSocket)",
                "airflow:scheduler.extraContainers.0.lifecycle.preStop: must set exactly one of exec, httpGet, tcpSocket, sleep",
                'airflow:scheduler.extraContainers.0.securityContext: unknown key "privilege"; allowed: allowPrivilegeEscalation, appArmorProfile, capabilities, privileged, procMount, readOnlyRootFilesystem, runAsGroup, runAsNonRoot, runAsUser, seLinuxOptions, seccompProfile, windowsOptions',
            ],
        },
        {
            name: "two sidecars on the same host port",
            config: {
                triggerer: {
                    extraContainers: [
                        { name: "a", image: "busybox:1.37.0", ports: [{ containerPort: 80, hostPort: 8080 }] },
                        { name: "b", image: "busybox:1.37.0", ports: [{ containerPort: 81, hostPort: 8080 }] },
                    ],
                },
            },
            problems: [
                "airflow:triggerer.extraContainers.1.ports.0.hostPort: is already the hostPort of extraContainers.0.ports.0 (same protocol and hostIP): pick another (got 8080)",
            ],
        },
        {
            name: "Ingress host that is an IP address",
            config: { ui: { ingress: { enabled: true, host: "10.0.0.1" } } },
            problems: [
                `airflow:ui.ingress.host: must be a DNS name such as airflow.example.com: lowercase letters, digits, '-' and '.', not an IP address (an Ingress rule's host is a name) (got "10.0.0.1")`,
            ],
        },
        {
            name: "an annotation key that is not a qualified name",
            config: { ui: { ingress: { enabled: true, host: "airflow.example.com", annotations: { "nginx.ingress.kubernetes.io/": "x" } } } },
            problems: [
                `airflow:ui.ingress.annotations.nginx.ingress.kubernetes.io/: must be an annotation key such as iam.gke.io/gcp-service-account: [DNS subdomain/]name, name at most 63 of letters, digits, '-', '_', '.' (got "nginx.ingress.kubernetes.io/")`,
            ],
        },
    ];
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
            { name: "models", csi: { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: "models" } } },
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
