import * as assert from "assert";
import { StackConfigInput } from "../components/config";
import { container, envOf, find, isSecretEnvelope, mockSecretValue, ofKind, Rendered, renderStack, workerPodTemplate } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });

describe("production architecture (KubernetesExecutor)", () => {
    let r: Rendered;
    before(async () => {
        r = await renderStack({ namespace: "data" });
    });

    it("renders the expected resource graph", () => {
        const count = (kind: string) => ofKind(r.objects, kind).length;
        assert.deepStrictEqual(
            {
                Namespace: count("Namespace"),
                Deployment: count("Deployment"),
                StatefulSet: count("StatefulSet"),
                Job: count("Job"),
                Service: count("Service"),
                ServiceAccount: count("ServiceAccount"),
                Role: count("Role"),
                RoleBinding: count("RoleBinding"),
                ConfigMap: count("ConfigMap"),
                Secret: count("Secret"),
                PersistentVolumeClaim: count("PersistentVolumeClaim"),
                NetworkPolicy: count("NetworkPolicy"),
                PodDisruptionBudget: count("PodDisruptionBudget"),
            },
            {
                Namespace: 1,
                Deployment: 4,
                StatefulSet: 1,
                Job: 1,
                Service: 2,
                ServiceAccount: 3,
                Role: 1,
                RoleBinding: 1,
                ConfigMap: 1,
                Secret: 2,
                PersistentVolumeClaim: 2,
                NetworkPolicy: 8,
                PodDisruptionBudget: 0,
            },
        );
        assert.deepStrictEqual(
            ofKind(r.objects, "Deployment").map((d) => d.metadata.name).sort(),
            ["airflow-api-server", "airflow-dag-processor", "airflow-scheduler", "airflow-triggerer"],
        );
        for (const o of r.objects.filter((o) => o.kind !== "Namespace")) {
            assert.strictEqual(o.metadata?.namespace, "data", `${o.kind}/${o.metadata?.name} namespace`);
        }
    });

    it("is accepted by the Kubernetes schema, worker pod template included", async () => {
        await assertValidObjects([...r.objects, workerPodTemplate(r.objects)]);
    });

    it("runs the KubernetesExecutor with the pod template the scheduler mounts", () => {
        const scheduler = find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec;
        const env = envOf(container(scheduler, "scheduler"));
        assert.strictEqual(env.AIRFLOW__CORE__EXECUTOR, "KubernetesExecutor");
        assert.strictEqual(env.AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE, "data");
        assert.strictEqual(env.AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE, "/opt/airflow/pod_templates/pod_template.yaml");
        const mount = container(scheduler, "scheduler").volumeMounts.find((m: any) => m.name === "pod-template");
        assert.strictEqual(mount.mountPath, "/opt/airflow/pod_templates");
        const cm = ofKind(r.objects, "ConfigMap")[0];
        assert.strictEqual(scheduler.volumes.find((v: any) => v.name === "pod-template").configMap.name, cm.metadata.name);
        assert.deepStrictEqual(Object.keys(cm.data), ["pod_template.yaml"]);
    });

    it("renders a worker pod template with container `base`, restartPolicy Never and the worker identity", () => {
        const pod = workerPodTemplate(r.objects) as any;
        assert.strictEqual(pod.kind, "Pod");
        assert.strictEqual(pod.spec.restartPolicy, "Never");
        assert.strictEqual(pod.spec.serviceAccountName, "airflow-worker");
        assert.strictEqual(pod.spec.automountServiceAccountToken, false);
        assert.deepStrictEqual(pod.spec.containers.map((c: any) => c.name), ["base"]);
        const base = pod.spec.containers[0];
        assert.strictEqual(base.command, undefined, "the executor supplies the worker command");
        assert.strictEqual(base.image, "apache/airflow:3.3.2");
        assert.deepStrictEqual(base.resources, { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } });
        const mounts = Object.fromEntries(base.volumeMounts.map((m: any) => [m.name, m]));
        assert.strictEqual(mounts.dags.mountPath, "/opt/airflow/dags");
        assert.strictEqual(mounts.dags.readOnly, true);
        assert.strictEqual(mounts.logs.mountPath, "/opt/airflow/logs");
        const claims = Object.fromEntries(pod.spec.volumes.filter((v: any) => v.persistentVolumeClaim).map((v: any) => [v.name, v.persistentVolumeClaim.claimName]));
        assert.deepStrictEqual(claims, { dags: "airflow-storage-dags", logs: "airflow-storage-logs" });
    });

    it("wires the execution API URL and the shared JWT secret into workers and the API server", () => {
        const url = "http://airflow-api-server.data.svc:8080/execution/";
        const jwt = secretRef("airflow-keys", "jwt-secret");
        const worker = envOf((workerPodTemplate(r.objects) as any).spec.containers[0]);
        assert.strictEqual(worker.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, url);
        assert.deepStrictEqual(worker.AIRFLOW__API_AUTH__JWT_SECRET, jwt);
        for (const name of ["scheduler", "api-server", "dag-processor", "triggerer"]) {
            const env = envOf(container(find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec, name));
            assert.deepStrictEqual(env.AIRFLOW__API_AUTH__JWT_SECRET, jwt, name);
            assert.strictEqual(env.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, url, name);
        }
        // The URL points at the Service that selects the API server pods, on its port.
        const service = find(r.objects, "Service", "airflow-api-server");
        assert.strictEqual(service.spec.ports[0].port, 8080);
        assert.strictEqual(service.spec.ports[0].targetPort, "http");
        assert.strictEqual(service.spec.selector["app.kubernetes.io/component"], "api-server");
    });

    it("gives workers no database, Fernet or API secret", () => {
        const worker = envOf((workerPodTemplate(r.objects) as any).spec.containers[0]);
        for (const name of ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY"]) {
            assert.strictEqual(worker[name], undefined, name);
        }
    });

    it("reads every secret from Kubernetes Secrets, never as a literal", () => {
        const env = envOf(container(find(r.objects, "Deployment", "airflow-api-server").spec.template.spec, "api-server"));
        assert.deepStrictEqual(env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, secretRef("airflow-postgres-credentials", "connection"));
        assert.deepStrictEqual(env.AIRFLOW__CORE__FERNET_KEY, secretRef("airflow-keys", "fernet-key"));
        assert.deepStrictEqual(env.AIRFLOW__API__SECRET_KEY, secretRef("airflow-keys", "api-secret-key"));
        // No generated value appears anywhere outside the two Secrets.
        const generated = r.resources.filter((x) => x.type.startsWith("random:")).map((x) => x.state.result ?? x.state.base64);
        assert.ok(generated.length >= 5);
        const outside = JSON.stringify(r.objects.filter((o) => o.kind !== "Secret"));
        for (const value of generated) {
            assert.ok(!outside.includes(value), `generated secret ${value} leaked outside a Secret`);
        }
    });

    it("holds generated keys in Secrets, marked secret, with a URL-safe Fernet key", () => {
        for (const name of ["airflow-keys", "airflow-postgres-credentials"]) {
            const secret = r.resources.find((x) => x.type === "kubernetes:core/v1:Secret" && x.name === name)!;
            assert.ok(isSecretEnvelope(secret.inputs.stringData), `${name} stringData must be a Pulumi secret`);
        }
        assert.deepStrictEqual(Object.keys(find(r.objects, "Secret", "airflow-keys").stringData).sort(), ["admin-password", "api-secret-key", "fernet-key", "jwt-secret"]);
        const fernet = find(r.objects, "Secret", "airflow-keys").stringData["fernet-key"];
        assert.match(fernet, /^[A-Za-z0-9_-]{43}=$/, "32 bytes, URL-safe base64");
        assert.strictEqual(Buffer.from(fernet, "base64url").length, 32);
        const db = find(r.objects, "Secret", "airflow-postgres-credentials").stringData;
        assert.strictEqual(db.connection, `postgresql+psycopg2://airflow:${mockSecretValue("airflow-postgres-password")}@airflow-postgres.data.svc:5432/airflow`);
    });

    it("grants the scheduler exactly the executor's RBAC, namespaced", () => {
        const role = ofKind(r.objects, "Role")[0];
        assert.deepStrictEqual(role.rules, [
            { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
            { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
            { apiGroups: [""], resources: ["events"], verbs: ["list"] },
        ]);
        const binding = ofKind(r.objects, "RoleBinding")[0];
        assert.deepStrictEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
        assert.deepStrictEqual(binding.subjects, [{ kind: "ServiceAccount", name: "airflow-scheduler", namespace: "data" }]);
        assert.strictEqual(ofKind(r.objects, "ClusterRole").length, 0);
        const scheduler = find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec;
        assert.strictEqual(scheduler.serviceAccountName, "airflow-scheduler");
        assert.strictEqual(scheduler.automountServiceAccountToken, true);
        for (const name of ["api-server", "dag-processor", "triggerer"]) {
            const spec = find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec;
            assert.strictEqual(spec.automountServiceAccountToken, false, name);
            assert.notStrictEqual(spec.serviceAccountName, "airflow-scheduler", name);
        }
    });

    it("probes the API server on /api/v2/monitor/health and the scheduler on its health server", () => {
        const api = container(find(r.objects, "Deployment", "airflow-api-server").spec.template.spec, "api-server");
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
            assert.deepStrictEqual(api[probe].httpGet, { path: "/api/v2/monitor/health", port: "http" }, probe);
        }
        assert.deepStrictEqual(api.ports, [{ name: "http", containerPort: 8080 }]);
        const scheduler = container(find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec, "scheduler");
        assert.deepStrictEqual(scheduler.livenessProbe.httpGet, { path: "/health", port: "health" });
        assert.strictEqual(envOf(scheduler).AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK, "True");
        for (const [name, job] of [
            ["dag-processor", "DagProcessorJob"],
            ["triggerer", "TriggererJob"],
        ]) {
            const c = container(find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec, name);
            assert.deepStrictEqual(c.livenessProbe.exec.command, ["airflow", "jobs", "check", "--job-type", job, "--local"]);
        }
    });

    it("runs each process with its own airflow subcommand and waits for migrations first", () => {
        for (const [name, args] of [
            ["scheduler", ["scheduler"]],
            ["api-server", ["api-server"]],
            ["dag-processor", ["dag-processor"]],
            ["triggerer", ["triggerer"]],
        ] as const) {
            const spec = find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec;
            assert.deepStrictEqual(container(spec, name).command, ["airflow"]);
            assert.deepStrictEqual(container(spec, name).args, args);
            assert.deepStrictEqual(container(spec, "wait-for-migrations").args, ["db", "check-migrations", "--migration-wait-timeout=600"]);
        }
    });

    it("migrates with a Job the workloads depend on, named after the image and version", () => {
        const job = ofKind(r.objects, "Job")[0];
        assert.match(job.metadata.name, /^airflow-migrate-[0-9a-f]{10}$/);
        const script = container(job.spec.template.spec, "migrate").args[0];
        assert.match(script, /^set -euo pipefail\nairflow db migrate\n/);
        assert.match(script, /airflow users create --role Admin/);
        assert.strictEqual(job.spec.template.spec.restartPolicy, "Never");
        for (const name of ["airflow-scheduler", "airflow-api-server", "airflow-dag-processor", "airflow-triggerer"]) {
            assert.ok(r.dependsOn.get(name)?.includes("airflow-migrate"), `${name} must depend on the migration Job`);
        }
        assert.ok(r.dependsOn.get("airflow-migrate")?.includes("airflow-postgres-statefulset"), "migrations wait for Postgres");
    });

    it("renames the migration Job when the image or the Airflow version changes, and only then", async () => {
        const name = async (config: StackConfigInput) => ofKind((await renderStack(config)).objects, "Job")[0].metadata.name;
        const base = await name({ namespace: "data" });
        assert.strictEqual(await name({ namespace: "data", scheduler: { replicas: 2 } }), base);
        assert.notStrictEqual(await name({ namespace: "data", images: { airflow: "example.com/airflow:3.3.2-1" } }), base);
        assert.notStrictEqual(await name({ namespace: "data", airflowVersion: "3.3.1" }), base);
    });

    it("runs Postgres as a StatefulSet with a headless Service and its own claim", () => {
        const sts = find(r.objects, "StatefulSet", "airflow-postgres");
        assert.strictEqual(sts.spec.serviceName, "airflow-postgres");
        assert.strictEqual(find(r.objects, "Service", "airflow-postgres").spec.clusterIP, "None");
        assert.deepStrictEqual(sts.spec.volumeClaimTemplates[0].spec.accessModes, ["ReadWriteOnce"]);
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "8Gi");
        const pg = container(sts.spec.template.spec, "postgres");
        assert.deepStrictEqual(envOf(pg).POSTGRES_PASSWORD, secretRef("airflow-postgres-credentials", "password"));
        assert.strictEqual(sts.spec.template.spec.securityContext.runAsUser, 999);
    });

    it("uses an external database from an existing Secret, without running Postgres", async () => {
        const ext = await renderStack({ database: { mode: "external", externalSecretName: "cloudsql", externalSecretKey: "uri" } });
        assert.strictEqual(ofKind(ext.objects, "StatefulSet").length, 0);
        assert.strictEqual(ext.objects.filter((o) => o.metadata?.name === "airflow-postgres").length, 0);
        const env = envOf(container(find(ext.objects, "Deployment", "airflow-scheduler").spec.template.spec, "scheduler"));
        assert.deepStrictEqual(env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, secretRef("cloudsql", "uri"));
        assert.strictEqual(ext.outputs.metadataSecretName, "cloudsql");
        await assertValidObjects(ext.objects);
    });

    it("mounts DAG and log claims given by name", async () => {
        const existing = await renderStack({ storage: { mode: "existing", dagsClaimName: "team-dags", logsClaimName: "team-logs" } });
        assert.strictEqual(ofKind(existing.objects, "PersistentVolumeClaim").length, 0);
        const claims = (spec: any) => Object.fromEntries(spec.volumes.filter((v: any) => v.persistentVolumeClaim).map((v: any) => [v.name, v.persistentVolumeClaim.claimName]));
        assert.deepStrictEqual(claims(find(existing.objects, "Deployment", "airflow-scheduler").spec.template.spec), { dags: "team-dags", logs: "team-logs" });
        assert.deepStrictEqual(claims(find(existing.objects, "Deployment", "airflow-api-server").spec.template.spec), { logs: "team-logs" });
        assert.deepStrictEqual(claims((workerPodTemplate(existing.objects) as any).spec), { dags: "team-dags", logs: "team-logs" });
        assert.strictEqual(existing.outputs.dagsClaimName, "team-dags");
    });

    it("applies per-component replicas, resources, placement and extra env, and adds disruption budgets", async () => {
        const tuned = await renderStack({
            scheduler: { replicas: 2, nodeSelector: { pool: "airflow" }, tolerations: [{ key: "dedicated", operator: "Equal", value: "airflow", effect: "NoSchedule" }] },
            apiServer: { replicas: 3, resources: { limits: { memory: "3Gi" } }, extraEnv: { AIRFLOW__API__EXPOSE_CONFIG: "False" } },
            workers: { nodeSelector: { pool: "tasks" }, deleteOnFailure: false },
        });
        const scheduler = find(tuned.objects, "Deployment", "airflow-scheduler");
        assert.strictEqual(scheduler.spec.replicas, 2);
        assert.deepStrictEqual(scheduler.spec.template.spec.nodeSelector, { pool: "airflow" });
        assert.strictEqual(scheduler.spec.template.spec.tolerations[0].key, "dedicated");
        const api = find(tuned.objects, "Deployment", "airflow-api-server");
        assert.strictEqual(api.spec.replicas, 3);
        assert.strictEqual(container(api.spec.template.spec, "api-server").resources.limits.memory, "3Gi");
        assert.strictEqual(envOf(container(api.spec.template.spec, "api-server")).AIRFLOW__API__EXPOSE_CONFIG, "False");
        assert.deepStrictEqual(
            ofKind(tuned.objects, "PodDisruptionBudget").map((p) => p.metadata.name).sort(),
            ["airflow-api-server", "airflow-scheduler"],
        );
        const worker = workerPodTemplate(tuned.objects) as any;
        assert.deepStrictEqual(worker.spec.nodeSelector, { pool: "tasks" });
        assert.strictEqual(envOf(container(scheduler.spec.template.spec, "scheduler")).AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS_ON_FAILURE, "False");
        await assertValidObjects(tuned.objects);
    });

    it("turns on remote logging and drops the log claim when only a bucket is used", async () => {
        const remote = await renderStack({
            storage: { mode: "existing", dagsClaimName: "team-dags" },
            logging: { remoteBaseLogFolder: "gs://team-airflow-logs/prod" },
        });
        const worker = envOf((workerPodTemplate(remote.objects) as any).spec.containers[0]);
        assert.strictEqual(worker.AIRFLOW__LOGGING__REMOTE_LOGGING, "True");
        assert.strictEqual(worker.AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER, "gs://team-airflow-logs/prod");
        assert.strictEqual(remote.outputs.logsClaimName, undefined);
        const egress = remote.objects.find((o) => o.kind === "NetworkPolicy" && o.metadata?.name === "airflow-allow-remote-logs") as any;
        assert.deepStrictEqual(egress.spec.egress[0].ports, [{ protocol: "TCP", port: 443 }]);
    });

    it("exposes the UI as configured and without a namespace when the platform owns it", async () => {
        const lb = await renderStack({ createNamespace: false, namespace: "shared", ui: { serviceType: "LoadBalancer", port: 80, authManager: "simple" } });
        assert.strictEqual(ofKind(lb.objects, "Namespace").length, 0);
        const service = find(lb.objects, "Service", "airflow-api-server");
        assert.strictEqual(service.spec.type, "LoadBalancer");
        assert.strictEqual(service.spec.ports[0].port, 80);
        const worker = envOf((workerPodTemplate(lb.objects) as any).spec.containers[0]);
        assert.strictEqual(worker.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, "http://airflow-api-server.shared.svc:80/execution/");
        const env = envOf(container(find(lb.objects, "Deployment", "airflow-api-server").spec.template.spec, "api-server"));
        assert.match(env.AIRFLOW__CORE__AUTH_MANAGER, /SimpleAuthManager$/);
        assert.doesNotMatch(container(ofKind(lb.objects, "Job")[0].spec.template.spec, "migrate").args[0], /users create/);
        assert.strictEqual(lb.outputs.adminPassword, undefined);
    });
});
