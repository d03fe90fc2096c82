import * as assert from "assert";
import * as path from "path";
import { SIMPLE_AUTH_PASSWORDS_FILE } from "../components/airflowPod";
import { StackConfigInput } from "../components/config";
import { SCHEDULER_STOP_SECONDS } from "../components/controlPlane/workloads";
import { container, envOf, find, isSecretEnvelope, mockSecretValue, ofKind, podSpecs, Rendered, renderStack, workerPodTemplate } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });
/** The migration Job (other Jobs may prepare storage). */
const migrationJob = (objects: Rendered["objects"]) => ofKind(objects, "Job").find((j) => j.metadata.name.startsWith("airflow-migrate-"));
/** Every pod spec of a render (workloads, Jobs, CronJobs, the worker pod template) and where it is. */
const pods = (r: Rendered) => r.objects.flatMap(podSpecs);

/**
 * Each Deployment that runs more than one replica (at least, under an autoscaler) has a budget of one pod
 * down at a time; a single-replica one has none (it would block every node drain), nor has any other pod.
 */
function assertDisruptionBudgets(objects: Rendered["objects"]): void {
    const budgets = ofKind(objects, "PodDisruptionBudget");
    for (const d of ofKind(objects, "Deployment")) {
        const selecting = budgets.filter((b) => Object.entries(b.spec.selector.matchLabels).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
        const autoscaler = ofKind(objects, "HorizontalPodAutoscaler").find((h) => h.spec.scaleTargetRef.name === d.metadata.name);
        if ((autoscaler?.spec.minReplicas ?? d.spec.replicas ?? 1) > 1) {
            assert.strictEqual(selecting.length, 1, `Deployment/${d.metadata.name} (${d.spec.replicas} replicas): ${selecting.length} budgets`);
            assert.strictEqual(selecting[0].spec.maxUnavailable, 1, `Deployment/${d.metadata.name}`);
        } else {
            assert.deepStrictEqual(selecting.map((b) => b.metadata.name), [], `Deployment/${d.metadata.name} has one replica`);
        }
    }
    // and no budget for pods of anything else
    for (const b of budgets) {
        const of = objects.filter((o: any) => o.spec?.template?.metadata?.labels && Object.entries(b.spec.selector.matchLabels).every(([k, v]) => o.spec.template.metadata.labels[k] === v));
        assert.ok(of.length > 0 && of.every((o) => o.kind === "Deployment"), `PodDisruptionBudget/${b.metadata.name} selects ${of.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ") || "nothing"}`);
    }
}

describe("production architecture (KubernetesExecutor)", () => {
    let r: Rendered;
    before(async () => {
        r = await renderStack({ namespace: "data" });
    });

    it("runs the four Airflow processes as Deployments, and tasks as pods the executor launches (no worker Deployment)", () => {
        assert.deepStrictEqual(
            ofKind(r.objects, "Deployment").map((d) => d.metadata.name).sort(),
            ["airflow-api-server", "airflow-dag-processor", "airflow-scheduler", "airflow-triggerer"],
        );
        assert.deepStrictEqual(
            ofKind(r.objects, "StatefulSet").map((s) => s.metadata.name),
            ["airflow-postgres"],
            "the internal database is the only StatefulSet",
        );
    });

    it("gives every Airflow Deployment's rollout the deadline rolloutTimeoutMinutes sets (10 minutes unless set)", async () => {
        const airflowDeployments = (objects: Rendered["objects"]) => ofKind(objects, "Deployment").filter((d) => d.metadata.name.startsWith("airflow-"));
        const deployments = airflowDeployments(r.objects);
        assert.strictEqual(deployments.length, 4, deployments.map((d) => d.metadata.name).join(", "));
        assert.deepStrictEqual(deployments.map((d) => d.spec.progressDeadlineSeconds), [600, 600, 600, 600]);
        const short = await renderStack({ namespace: "data", rolloutTimeoutMinutes: 3 });
        assert.ok(airflowDeployments(short.objects).every((d) => d.spec.progressDeadlineSeconds === 180), "3 minutes: a rollout that cannot progress fails after 180 s");
    });

    it("keeps every object in the stack's namespace", () => {
        assert.deepStrictEqual(ofKind(r.objects, "Namespace").map((n) => n.metadata.name), ["data"]);
        for (const o of r.objects.filter((o) => o.kind !== "Namespace")) {
            assert.strictEqual(o.metadata?.namespace, "data", `${o.kind}/${o.metadata?.name} namespace`);
        }
    });

    it("migrates the schema with exactly one Job and creates FAB's admin with one; any other Job prepares the shared storage", () => {
        const jobs = ofKind(r.objects, "Job").map((j) => j.metadata.name);
        assert.strictEqual(jobs.filter((name) => name.startsWith("airflow-migrate-")).length, 1, jobs.join(", "));
        assert.strictEqual(jobs.filter((name) => name.startsWith("airflow-admin-")).length, 1, jobs.join(", "));
        for (const name of jobs.filter((name) => !/^airflow-(migrate|admin)-/.test(name))) assert.match(name, /^airflow-(storage-prepare|task-images)-/);
    });

    it("puts a failed database Job's last log lines in its termination message, which the failed update's error shows", () => {
        const databaseJobs = ofKind(r.objects, "Job").filter((j) => /^airflow-(migrate|admin|task-images)-/.test(j.metadata.name));
        assert.ok(databaseJobs.length >= 2, databaseJobs.map((j) => j.metadata.name).join(", "));
        for (const job of databaseJobs) {
            const spec = job.spec.template.spec;
            for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
                assert.strictEqual(c.terminationMessagePolicy, "FallbackToLogsOnError", `${job.metadata.name}/${c.name}`);
            }
        }
    });

    it("makes no ServiceAccount that no pod runs as, and runs no pod as one it does not make", () => {
        const made = ofKind(r.objects, "ServiceAccount").map((a) => a.metadata.name).sort();
        const used = [...new Set(pods(r).flatMap(({ spec }) => (spec.serviceAccountName ? [spec.serviceAccountName] : [])))].sort();
        assert.deepStrictEqual(made, used);
        // a pod on the namespace's default account gets no API token
        for (const { where, spec } of pods(r).filter(({ spec }) => !spec.serviceAccountName)) assert.strictEqual(spec.automountServiceAccountToken, false, where);
    });

    it("mounts an API token only in the pods whose ServiceAccount a Role is bound to, and binds only Roles it makes to accounts it makes", () => {
        const roles = ofKind(r.objects, "Role").map((x) => x.metadata.name);
        const accounts = ofKind(r.objects, "ServiceAccount").map((a) => a.metadata.name);
        const bindings = ofKind(r.objects, "RoleBinding");
        const bound = new Set<string>();
        for (const b of bindings) {
            assert.ok(b.roleRef.kind === "Role" && roles.includes(b.roleRef.name), `RoleBinding/${b.metadata.name} binds ${b.roleRef.kind}/${b.roleRef.name}`);
            for (const subject of b.subjects) {
                assert.ok(subject.kind === "ServiceAccount" && subject.namespace === "data" && accounts.includes(subject.name), `RoleBinding/${b.metadata.name}: ${JSON.stringify(subject)}`);
                bound.add(subject.name);
            }
        }
        assert.deepStrictEqual([...new Set(bindings.map((b) => b.roleRef.name))].sort(), [...roles].sort(), "a Role nothing binds");
        for (const { where, spec } of pods(r)) {
            assert.strictEqual(spec.automountServiceAccountToken === true, bound.has(spec.serviceAccountName), `${where} (${spec.serviceAccountName}): token ${spec.automountServiceAccountToken}`);
        }
    });

    it("mounts every claim it makes and references every Secret and ConfigMap it makes", () => {
        const specs = pods(r).map(({ spec }) => spec);
        const volumes = specs.flatMap((spec) => spec.volumes ?? []);
        const containers = specs.flatMap((spec) => [...spec.containers, ...(spec.initContainers ?? [])]);
        const secretsUsed = new Set([
            ...volumes.flatMap((v: any) => [v.secret?.secretName, ...(v.projected?.sources ?? []).map((s: any) => s.secret?.name)]),
            ...containers.flatMap((c: any) => [...(c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name), ...(c.envFrom ?? []).map((e: any) => e.secretRef?.name)]),
        ]);
        const configMapsUsed = new Set([...volumes.map((v: any) => v.configMap?.name), ...containers.flatMap((c: any) => (c.envFrom ?? []).map((e: any) => e.configMapRef?.name))]);
        const claimsUsed = new Set(volumes.map((v: any) => v.persistentVolumeClaim?.claimName));
        // (the Postgres StatefulSet's claim comes from its volumeClaimTemplates, not an object of its own)
        for (const pvc of ofKind(r.objects, "PersistentVolumeClaim")) assert.ok(claimsUsed.has(pvc.metadata.name), `PersistentVolumeClaim/${pvc.metadata.name} is mounted by no pod`);
        for (const secret of ofKind(r.objects, "Secret")) assert.ok(secretsUsed.has(secret.metadata.name), `Secret/${secret.metadata.name} is read by no pod`);
        for (const cm of ofKind(r.objects, "ConfigMap")) assert.ok(configMapsUsed.has(cm.metadata.name), `ConfigMap/${cm.metadata.name} is read by no pod`);
    });

    it("routes every Service to a named port of the pods it selects", () => {
        const workloads = r.objects.filter((o: any) => o.spec?.template?.spec);
        for (const svc of ofKind(r.objects, "Service")) {
            const selected = workloads.filter((w: any) => Object.entries(svc.spec.selector).every(([k, v]) => w.spec.template.metadata?.labels?.[k] === v));
            assert.ok(selected.length > 0, `Service/${svc.metadata.name} selects no pods`);
            const ports = selected.flatMap((w: any) => w.spec.template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.name)));
            for (const port of svc.spec.ports) assert.ok(ports.includes(port.targetPort), `Service/${svc.metadata.name} port ${port.name} -> ${port.targetPort}; the pods have ${ports.join(", ")}`);
        }
    });

    it("adds no disruption budget for a single-replica Deployment (one would block every node drain)", () => {
        assertDisruptionBudgets(r.objects);
        assert.deepStrictEqual(ofKind(r.objects, "PodDisruptionBudget"), []);
    });

    it("is accepted by the Kubernetes schema, worker pod template included", async () => {
        await assertValidObjects([...r.objects, workerPodTemplate(r.objects)]);
    });

    it("kills a stopping scheduler after its queues are flushed, not after the executor's 20 s watcher wait; no other workload is cut short", () => {
        const grace = (name: string) => find(r.objects, "Deployment", name).spec.template.spec.terminationGracePeriodSeconds;
        assert.strictEqual(grace("airflow-scheduler"), SCHEDULER_STOP_SECONDS);
        assert.ok(SCHEDULER_STOP_SECONDS > 1 && SCHEDULER_STOP_SECONDS < 20);
        for (const other of ["airflow-api-server", "airflow-dag-processor", "airflow-triggerer"]) assert.strictEqual(grace(other), undefined, other);
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
        // ephemeral storage: tmp (1Gi) and HOME (1Gi) emptyDirs plus 128Mi for the container's logs
        assert.deepStrictEqual(base.resources, { requests: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "2176Mi" }, limits: { cpu: "1", memory: "1Gi", "ephemeral-storage": "2176Mi" } });
        const mounts = Object.fromEntries(base.volumeMounts.map((m: any) => [m.name, m]));
        assert.strictEqual(mounts.dags.mountPath, "/opt/airflow/dags");
        assert.strictEqual(mounts.dags.readOnly, true);
        assert.strictEqual(mounts.logs.mountPath, "/opt/airflow/logs");
        const claims = Object.fromEntries(pod.spec.volumes.filter((v: any) => v.persistentVolumeClaim).map((v: any) => [v.name, v.persistentVolumeClaim.claimName]));
        assert.deepStrictEqual(claims, { dags: "airflow-storage-dags", logs: "airflow-storage-logs" });
    });

    it("hands the DAG image's DAG folder to workers when DAGs ship in the image and tasks may run in task images", async () => {
        const taskImage = "registry.example.com/tasks/example@sha256:" + "cd".repeat(32);
        const withTasks = await renderStack({ dagsInImage: true, images: { airflow: "registry.example.com/dags@sha256:" + "ef".repeat(32), taskImages: { example: taskImage } } });
        const pod = workerPodTemplate(withTasks.objects) as any;
        const copy = pod.spec.initContainers.find((c: any) => c.name === "dags");
        assert.ok(copy, "an init container copies the DAG folder");
        assert.strictEqual(copy.image, "registry.example.com/dags@sha256:" + "ef".repeat(32), "from the DAG image, whatever image the task overrides");
        assert.match(copy.args.join(" "), /cp -R \/opt\/dags\/\. \/image-dags\//);
        const base = pod.spec.containers[0];
        const mount = base.volumeMounts.find((m: any) => m.mountPath === "/opt/dags");
        assert.deepStrictEqual(mount, { name: "image-dags", mountPath: "/opt/dags", readOnly: true });
        assert.ok(pod.spec.volumes.some((v: any) => v.name === "image-dags" && v.emptyDir));
        await assertValidObjects(withTasks.objects);
        // without task images every worker runs the DAG image itself: nothing to copy
        const plain = workerPodTemplate((await renderStack({ dagsInImage: true })).objects) as any;
        assert.ok(!(plain.spec.initContainers ?? []).some((c: any) => c.name === "dags"));
    });

    it("wires the execution API URL everywhere and the JWT secret into the scheduler (signs) and API server (checks) only", () => {
        const url = "http://airflow-api-server.data.svc:8080/execution/";
        const jwt = secretRef("airflow-keys", "jwt-secret");
        const worker = envOf((workerPodTemplate(r.objects) as any).spec.containers[0]);
        assert.strictEqual(worker.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, url);
        for (const name of ["scheduler", "api-server", "dag-processor", "triggerer"]) {
            const env = envOf(container(find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec, name));
            // The dag-processor and triggerer talk to an in-process execution API: no shared key needed.
            assert.deepStrictEqual(env.AIRFLOW__API_AUTH__JWT_SECRET, ["scheduler", "api-server"].includes(name) ? jwt : undefined, name);
            assert.strictEqual(env.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, url, name);
        }
        assert.strictEqual(envOf(container(migrationJob(r.objects).spec.template.spec, "migrate")).AIRFLOW__API_AUTH__JWT_SECRET, undefined, "migrate");
        // The URL points at the Service that selects the API server pods, on its port.
        const service = find(r.objects, "Service", "airflow-api-server");
        assert.strictEqual(service.spec.ports[0].port, 8080);
        assert.strictEqual(service.spec.ports[0].targetPort, "http");
        assert.strictEqual(service.spec.selector["app.kubernetes.io/component"], "api-server");
    });

    it("gives workers no database, Fernet, API or JWT signing secret (task code could mint tokens with it)", () => {
        const pod = workerPodTemplate(r.objects) as any;
        const worker = envOf(pod.spec.containers[0]);
        for (const name of ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"]) {
            assert.strictEqual(worker[name], undefined, name);
        }
        // Nor anything else from the keys Secret, by any route.
        assert.doesNotMatch(JSON.stringify(pod), /airflow-keys/);
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
        const role = find(r.objects, "Role", "airflow-pod-launcher");
        assert.deepStrictEqual(role.rules, [
            { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
            { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
            { apiGroups: [""], resources: ["events"], verbs: ["list"] },
        ]);
        const binding = find(r.objects, "RoleBinding", "airflow-pod-launcher");
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

    it("probes the API server on /api/v2/monitor/health (its start also on the execution API) and the scheduler on its health server", () => {
        const api = container(find(r.objects, "Deployment", "airflow-api-server").spec.template.spec, "api-server");
        for (const probe of ["readinessProbe", "livenessProbe"]) {
            assert.deepStrictEqual(api[probe].httpGet, { path: "/api/v2/monitor/health", port: "http" }, probe);
        }
        assert.match(api.startupProbe.exec.command[2], /'\/api\/v2\/monitor\/health'[\s\S]*'\/execution\/health'/);
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

    it("runs each process with its own airflow subcommand, once the migration Job is done (the engine's order, no init container)", () => {
        for (const [name, args] of [
            ["scheduler", ["scheduler"]],
            ["api-server", ["api-server"]],
            ["dag-processor", ["dag-processor"]],
            ["triggerer", ["triggerer"]],
        ] as const) {
            const spec = find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec;
            // No command: the image's entrypoint (init as PID 1) runs `airflow <args>`.
            assert.strictEqual(container(spec, name).command, undefined, name);
            assert.deepStrictEqual(container(spec, name).args, args);
            // the Deployment depends on the migration Job: a pod re-checking it would add seconds of
            // Python start-up to every pod start
            assert.ok(!(spec.initContainers ?? []).some((c: any) => /migration/.test(c.name)), name);
            assert.ok(r.dependsOn.get(`airflow-${name}`)?.includes("airflow-migrate"), name);
        }
    });

    it("does not await Services behind awaited workloads (the provider waits 10 s for endpoints to settle), except a LoadBalancer's address", async () => {
        const all = await renderStack({ metrics: { enabled: true }, database: { pgbouncer: { enabled: true } } });
        const services = ofKind(all.objects, "Service");
        assert.deepStrictEqual(services.filter((s) => s.metadata.annotations?.["pulumi.com/skipAwait"] !== "true").map((s) => s.metadata.name), []);
        assert.ok(services.length >= 4, services.map((s) => s.metadata.name).join(", "));
        for (const architecture of ["production", "standalone"] as const) {
            const lb = await renderStack({ architecture, ui: { serviceType: "LoadBalancer" } });
            const ui = ofKind(lb.objects, "Service").find((s) => s.spec.type === "LoadBalancer")!;
            assert.strictEqual(ui.metadata.annotations?.["pulumi.com/skipAwait"], undefined, architecture);
        }
    });

    it("probes start-up every 2 s with a 5-minute budget, so a deploy sees a pod Ready soon after its server answers", () => {
        for (const name of ["scheduler", "api-server"]) {
            const probe = container(find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec, name).startupProbe;
            assert.strictEqual(probe.periodSeconds, 2, name);
            assert.strictEqual(probe.periodSeconds * probe.failureThreshold, 300, name);
        }
        const api = container(find(r.objects, "Deployment", "airflow-api-server").spec.template.spec, "api-server");
        assert.strictEqual(api.readinessProbe.periodSeconds, 5);
    });

    it("migrates with a Job the workloads depend on, named after the image and version", () => {
        const job = migrationJob(r.objects);
        assert.match(job.metadata.name, /^airflow-migrate-[0-9a-f]{10}$/);
        const migrate = container(job.spec.template.spec, "migrate");
        assert.strictEqual(migrate.command, undefined, "the image's entrypoint runs bash -c");
        assert.deepStrictEqual(migrate.args.slice(0, 2), ["bash", "-c"]);
        assert.strictEqual(migrate.args[2], "set -euo pipefail\nairflow db migrate");
        assert.strictEqual(job.spec.template.spec.restartPolicy, "Never");
        for (const name of ["airflow-scheduler", "airflow-api-server", "airflow-dag-processor", "airflow-triggerer"]) {
            assert.ok(r.dependsOn.get(name)?.includes("airflow-migrate"), `${name} must depend on the migration Job`);
            assert.ok(!r.dependsOn.get(name)?.includes("airflow-admin"), `${name} need not wait for the admin`);
        }
        assert.ok(r.dependsOn.get("airflow-migrate")?.includes("airflow-postgres-statefulset"), "migrations wait for Postgres");
    });

    it("creates FAB's admin in its own Job after the migrations, beside the workloads, with the migration Job's name suffix", () => {
        const job = ofKind(r.objects, "Job").find((j) => j.metadata.name.startsWith("airflow-admin-"))!;
        assert.strictEqual(job.metadata.name.slice(-10), migrationJob(r.objects).metadata.name.slice(-10));
        const admin = container(job.spec.template.spec, "migrate");
        assert.match(admin.args[2], /^set -euo pipefail\nairflow users create --role Admin --username "\$ADMIN_USERNAME" --password "\$ADMIN_PASSWORD"/);
        assert.doesNotMatch(admin.args[2], /db migrate/);
        const env = Object.fromEntries(admin.env.map((e: any) => [e.name, e]));
        assert.strictEqual(env.ADMIN_PASSWORD.valueFrom.secretKeyRef.key, "admin-password");
        assert.deepStrictEqual(r.dependsOn.get("airflow-admin"), ["airflow-migrate"]);
        assert.strictEqual(job.spec.template.spec.restartPolicy, "Never");
    });

    it("renames the migration Job when the image or the Airflow version changes, and only then", async () => {
        const name = async (config: StackConfigInput) => migrationJob((await renderStack(config)).objects).metadata.name;
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
        assertDisruptionBudgets(tuned.objects);
        const worker = workerPodTemplate(tuned.objects) as any;
        assert.deepStrictEqual(worker.spec.nodeSelector, { pool: "tasks" });
        assert.strictEqual(envOf(container(scheduler.spec.template.spec, "scheduler")).AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS_ON_FAILURE, "False");
        await assertValidObjects(tuned.objects);
    });

    it("reads env from Secrets, per component and stack-wide, never as literals", async () => {
        const withSecrets = await renderStack({
            namespace: "data",
            extraEnv: { AIRFLOW__CORE__PARALLELISM: "64" },
            secretEnv: { AIRFLOW_CONN_WAREHOUSE: { secretName: "warehouse", key: "uri" } },
            envFromSecrets: ["team-settings"],
            scheduler: { secretEnv: { SENTRY_DSN: { secretName: "sentry", key: "dsn" } } },
            apiServer: { envFromSecrets: ["oauth"] },
            workers: { secretEnv: { OPENAI_API_KEY: { secretName: "openai", key: "key" } }, envFromSecrets: ["task-secrets"] },
        });
        const deployment = (name: string) => container(find(withSecrets.objects, "Deployment", `airflow-${name}`).spec.template.spec, name);
        const worker = (workerPodTemplate(withSecrets.objects) as any).spec.containers[0];
        const shared = { AIRFLOW_CONN_WAREHOUSE: secretRef("warehouse", "uri") };
        for (const [name, c] of [["scheduler", deployment("scheduler")], ["api-server", deployment("api-server")], ["dag-processor", deployment("dag-processor")], ["triggerer", deployment("triggerer")], ["worker", worker]]) {
            assert.deepStrictEqual(envOf(c).AIRFLOW_CONN_WAREHOUSE, shared.AIRFLOW_CONN_WAREHOUSE, name);
            assert.strictEqual(envOf(c).AIRFLOW__CORE__PARALLELISM, "64", name);
            assert.deepStrictEqual(c.envFrom[0], { secretRef: { name: "team-settings" } }, name);
        }
        assert.deepStrictEqual(envOf(deployment("scheduler")).SENTRY_DSN, secretRef("sentry", "dsn"));
        assert.strictEqual(envOf(deployment("api-server")).SENTRY_DSN, undefined);
        assert.deepStrictEqual(deployment("api-server").envFrom, [{ secretRef: { name: "team-settings" } }, { secretRef: { name: "oauth" } }]);
        assert.deepStrictEqual(envOf(worker).OPENAI_API_KEY, secretRef("openai", "key"));
        assert.deepStrictEqual(worker.envFrom, [{ secretRef: { name: "team-settings" } }, { secretRef: { name: "task-secrets" } }]);
        assert.strictEqual(envOf(deployment("triggerer")).OPENAI_API_KEY, undefined);
        await assertValidObjects([...withSecrets.objects, workerPodTemplate(withSecrets.objects)]);
    });

    it("gives every component its own ServiceAccount, annotated as configured (Workload Identity, IRSA)", async () => {
        const gsa = (who: string) => ({ "iam.gke.io/gcp-service-account": `${who}@proj.iam.gserviceaccount.com` });
        const annotated = await renderStack({
            namespace: "data",
            scheduler: { serviceAccountAnnotations: gsa("scheduler") },
            apiServer: { serviceAccountAnnotations: gsa("ui") },
            dagProcessor: { serviceAccountAnnotations: gsa("parser") },
            triggerer: { serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/triggerer" } },
            workers: { serviceAccountAnnotations: gsa("tasks") },
            logging: { remoteBaseLogFolder: "gs://team-airflow-logs/prod" },
            storage: { mode: "existing", dagsClaimName: "team-dags" },
        });
        const accountOf = (spec: any) => find(annotated.objects, "ServiceAccount", spec.serviceAccountName);
        const deploymentSpec = (name: string) => find(annotated.objects, "Deployment", `airflow-${name}`).spec.template.spec;
        assert.deepStrictEqual(accountOf(deploymentSpec("scheduler")).metadata.annotations, gsa("scheduler"));
        assert.deepStrictEqual(accountOf(deploymentSpec("api-server")).metadata.annotations, gsa("ui"));
        assert.deepStrictEqual(accountOf(deploymentSpec("dag-processor")).metadata.annotations, gsa("parser"));
        assert.deepStrictEqual(accountOf(deploymentSpec("triggerer")).metadata.annotations, { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/triggerer" });
        assert.deepStrictEqual(accountOf((workerPodTemplate(annotated.objects) as any).spec).metadata.annotations, gsa("tasks"));
        // The migration Job needs no cloud identity.
        assert.strictEqual(accountOf(migrationJob(annotated.objects).spec.template.spec).metadata.annotations, undefined);
        // the five components' pods run as five different accounts: an annotation given to one is given to no other
        const components = [deploymentSpec("scheduler"), deploymentSpec("api-server"), deploymentSpec("dag-processor"), deploymentSpec("triggerer"), (workerPodTemplate(annotated.objects) as any).spec];
        assert.strictEqual(new Set(components.map((spec) => spec.serviceAccountName)).size, components.length, components.map((spec) => spec.serviceAccountName).join(", "));
        // Bucket logging without keys: the connection follows the bucket's scheme.
        assert.strictEqual(envOf((workerPodTemplate(annotated.objects) as any).spec.containers[0]).AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID, "google_cloud_default");
        const s3 = await renderStack({ logging: { remoteBaseLogFolder: "s3://team-airflow-logs/prod" }, storage: { mode: "existing", dagsClaimName: "team-dags" } });
        assert.strictEqual(envOf((workerPodTemplate(s3.objects) as any).spec.containers[0]).AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID, "aws_default");
        await assertValidObjects(annotated.objects);
    });

    it("lets tasks launch pods (KubernetesPodOperator) only when asked, with their own Role and token", async () => {
        const pod = (workerPodTemplate(r.objects) as any).spec;
        assert.strictEqual(pod.automountServiceAccountToken, false);
        assert.ok(ofKind(r.objects, "RoleBinding").every((b) => b.subjects.every((s: any) => s.name !== "airflow-worker")));

        const launcher = await renderStack({ namespace: "data", workers: { podLauncher: true } });
        const worker = (workerPodTemplate(launcher.objects) as any).spec;
        assert.strictEqual(worker.automountServiceAccountToken, true);
        const binding = ofKind(launcher.objects, "RoleBinding").find((b) => b.subjects[0].name === worker.serviceAccountName);
        assert.deepStrictEqual(binding.subjects, [{ kind: "ServiceAccount", name: "airflow-worker", namespace: "data" }]);
        const role = find(launcher.objects, "Role", binding.roleRef.name);
        assert.deepStrictEqual(role.rules, [
            { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
            { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
            { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
            { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
        ]);
        // The scheduler keeps its own Role; nothing else changes hands.
        assert.deepStrictEqual(ofKind(launcher.objects, "RoleBinding").map((b) => b.subjects[0].name).sort(), ["airflow-scheduler", "airflow-worker", "airflow-worker-cleanup"]);
        for (const name of ["api-server", "dag-processor", "triggerer"]) {
            assert.strictEqual(find(launcher.objects, "Deployment", `airflow-${name}`).spec.template.spec.automountServiceAccountToken, false, name);
        }
        await assertValidObjects([...launcher.objects, workerPodTemplate(launcher.objects)]);
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
        assert.doesNotMatch(container(migrationJob(lb.objects).spec.template.spec, "migrate").args[2], /users create/);
        assert.ok(!ofKind(lb.objects, "Job").some((j) => j.metadata.name.startsWith("airflow-admin-")), "no FAB admin Job with the simple auth manager");
    });

    it("signs simple auth manager users in with one generated password that every API server replica shares", async () => {
        const simple = await renderStack({ namespace: "data", ui: { authManager: "simple", adminUsername: "ops" }, apiServer: { replicas: 2 } });
        const keys = find(simple.objects, "Secret", "airflow-keys").stringData;
        const password = keys["admin-password"];
        assert.deepStrictEqual(JSON.parse(keys["simple-auth-passwords.json"]), { ops: password });
        // The password is a secret stack output, next to the user name.
        assert.strictEqual(simple.outputs.adminUsername, "ops");
        assert.strictEqual(simple.outputs.adminPassword, password);
        assert.ok(simple.secretOutputs.has("adminPassword"));

        const spec = find(simple.objects, "Deployment", "airflow-api-server").spec.template.spec;
        const api = container(spec, "api-server");
        const file = SIMPLE_AUTH_PASSWORDS_FILE;
        assert.strictEqual(envOf(api).AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS, "ops:admin");
        assert.strictEqual(envOf(api).AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE, file);
        // Airflow opens the file read-write: an init container copies it from the Secret into a writable
        // emptyDir, before the API server starts.
        const copy = container(spec, "simple-auth-passwords");
        assert.deepStrictEqual(copy.command, ["install", "-m", "0600", "/etc/airflow/simple-auth/passwords.json", file]);
        assert.ok(spec.initContainers.includes(copy), "an init container: done before the API server starts");
        const secretMount = copy.volumeMounts.find((m: any) => m.mountPath === "/etc/airflow/simple-auth");
        assert.strictEqual(secretMount.readOnly, true);
        const volumes = Object.fromEntries(spec.volumes.map((v: any) => [v.name, v]));
        assert.deepStrictEqual(volumes[secretMount.name].secret.items, [{ key: "simple-auth-passwords.json", path: "passwords.json" }]);
        assert.strictEqual(volumes[secretMount.name].secret.secretName, "airflow-keys");
        for (const c of [copy, api]) {
            const folder = c.volumeMounts.find((m: any) => m.mountPath === path.posix.dirname(file));
            assert.ok(folder && !folder.readOnly && volumes[folder.name].emptyDir, `${c.name}: the file's folder is a writable emptyDir`);
        }
        // Only the API server gets the passwords.
        for (const name of ["scheduler", "dag-processor", "triggerer"]) {
            assert.doesNotMatch(JSON.stringify(find(simple.objects, "Deployment", `airflow-${name}`)), /simple-auth/, name);
        }
        await assertValidObjects(simple.objects);
    });
});

describe("migration Job: named by, and running, what decides the schema (issue 20 item 2)", () => {
    const registry = { server: "registry.example.com/airflow" };
    const built = (build: Record<string, unknown> = {}, airflowVersion?: string): StackConfigInput => ({
        ...(airflowVersion ? { airflowVersion } : {}),
        images: { build: { enabled: true, ...build } },
        registry,
    });
    const job = (r: Rendered) => migrationJob(r.objects);
    const workloadImage = (r: Rendered) => container(find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec, "scheduler").image;
    const baseImage = (r: Rendered) => r.resources.find((x) => x.type === "docker:index/image:Image" && x.name === "airflow-images-base")!.state.repoDigest;
    const recordedJob = (r: Rendered) => r.resources.find((x) => x.type === "kubernetes:batch/v1:Job" && x.name === "airflow-migrate")!.inputs;

    it("keeps the Job's name and spec when only the DAG image changes, and runs the base image", async () => {
        const before = await renderStack(built());
        const after = await renderStack(built({ dagsContext: "images/dags-next" }));
        // the DAG image did change (the workloads roll), the base did not
        assert.notStrictEqual(workloadImage(after), workloadImage(before));
        assert.strictEqual(baseImage(after), baseImage(before));
        assert.strictEqual(job(after).metadata.name, job(before).metadata.name);
        assert.deepStrictEqual(job(after), job(before));
        assert.deepStrictEqual(recordedJob(after), recordedJob(before), "the engine sees no change: no new Job, nothing to wait for");
        const migrate = container(job(before).spec.template.spec, "migrate");
        assert.strictEqual(migrate.image, baseImage(before));
        assert.match(migrate.image, /^registry\.example\.com\/airflow\/airflow-base@sha256:[0-9a-f]{64}$/);
        // every workload still waits for it
        for (const name of ["scheduler", "api-server", "dag-processor", "triggerer"]) {
            assert.ok(after.dependsOn.get(`airflow-${name}`)?.includes("airflow-migrate"), name);
        }
    });

    it("gives the Job a new name when the base image or the Airflow version changes", async () => {
        const name = async (config: StackConfigInput) => job(await renderStack(config)).metadata.name as string;
        const base = await name(built());
        assert.match(base, /^airflow-migrate-[0-9a-f]{10}$/);
        const names = [
            base,
            await name(built({ baseContext: "images/base-next" })),
            await name(built({ baseImage: "mirror.example.com/apache/airflow:3.3.2" })),
            await name(built({}, "3.3.1")),
        ];
        assert.strictEqual(new Set(names).size, names.length, names.join(", "));
    });

    it("with a prebuilt image, is named by that image and the version, and runs it", async () => {
        const image = (hex: string) => `registry.example.com/airflow@sha256:${hex.repeat(32)}`;
        const r = await renderStack({ images: { airflow: image("cd") } });
        assert.strictEqual(container(job(r).spec.template.spec, "migrate").image, image("cd"));
        const names = [job(r).metadata.name, job(await renderStack({ images: { airflow: image("ef") } })).metadata.name, job(await renderStack({ airflowVersion: "3.3.1", images: { airflow: image("cd") } })).metadata.name];
        assert.strictEqual(new Set(names).size, 3, names.join(", "));
    });
});

describe("task_images Variable: a new task image rolls no pod (issue 20 item 1)", () => {
    const config = (context: string): StackConfigInput => ({
        images: { build: { enabled: true }, tasks: { example: { context } } },
        registry: { server: "registry.example.com/airflow" },
    });
    const variableJob = (r: Rendered) => ofKind(r.objects, "Job").find((j) => j.metadata.name.startsWith("airflow-task-images-"));

    it("changes the Variable's Job and nothing else: Deployments, the pod template and the migration Job stay as they are", async () => {
        const before = await renderStack(config("images/tasks/example"));
        const after = await renderStack(config("images/tasks/example-next"));
        assert.notStrictEqual(variableJob(after).metadata.name, variableJob(before).metadata.name, "a new Job sets the new map");
        const unchanged = (r: Rendered) => r.objects.filter((o) => !(o.kind === "Job" && String(o.metadata?.name).startsWith("airflow-task-images-")));
        assert.deepStrictEqual(unchanged(after), unchanged(before));
        const published = JSON.parse(envOf(variableJob(after).spec.template.spec.containers[0]).TASK_IMAGES);
        assert.notStrictEqual(published.example, JSON.parse(envOf(variableJob(before).spec.template.spec.containers[0]).TASK_IMAGES).example);
    });

    it("sets the Variable after the migrations and before the dag-processor starts; the other workloads do not wait for it", async () => {
        const r = await renderStack(config("images/tasks/example"));
        assert.ok(r.dependsOn.get("airflow-task-images")?.includes("airflow-migrate"), "after the migration Job");
        assert.ok(r.dependsOn.get("airflow-dag-processor")?.includes("airflow-task-images"), "the dag-processor parses DAGs only once the Variable is set");
        for (const name of ["scheduler", "api-server", "triggerer"]) {
            assert.ok(r.dependsOn.get(`airflow-${name}`)?.includes("airflow-migrate"), `${name} waits for the migrations`);
            assert.ok(!r.dependsOn.get(`airflow-${name}`)?.includes("airflow-task-images"), `${name} does not wait for the Variable (it parses no DAG file)`);
        }
        assert.strictEqual(variableJob(await renderStack({})), undefined, "no task images, no Job");
    });
});
