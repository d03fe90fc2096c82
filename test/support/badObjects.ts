// The object-shaped config values the API server (or the kubelet) would refuse, one mistake each, with
// the exact problem the config's validation reports for the key (test/objectValidation.test.ts).
import type { StackConfigInput } from "../../components/config";

export const IMAGE_EXAMPLE = "such as apache/airflow:3.3.2 or registry.example.com/team/airflow@sha256:<64 hex digits>";

export interface BadObject {
    name: string;
    config: StackConfigInput | Record<string, unknown>;
    problems: string[];
}

export const BAD_OBJECTS: BadObject[] = [
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
                extraContainers: [{ name: "gpu", image: "busybox:1.37.0", resources: { requests: { cpu: "2", "nvidia.com/gpu": 1 }, limits: { cpu: "1", "nvidia.com/gpu": 2 } } }],
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
                        livenessProbe: { tcpSocket: { port: 8080 }, successThreshold: 2 },
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
            "airflow:scheduler.extraContainers.0.livenessProbe.successThreshold: must be 1 for a liveness probe (got 2)",
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
        name: "an external database's Secret key that no Secret can have",
        config: { database: { mode: "external", externalSecretName: "airflow-db", externalSecretKey: "db/uri" } },
        problems: [`airflow:database.externalSecretKey: must be a Secret key: letters, digits, '-', '_' and '.' (got "db/uri")`],
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
