import * as assert from "assert";
import { container, envOf, find, ofKind, Rendered, renderStack } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

describe("standalone architecture (one pod, LocalExecutor)", () => {
    let r: Rendered;
    before(async () => {
        r = await renderStack({ architecture: "standalone", namespace: "solo", standalone: { storageSize: "20Gi", parallelism: 8 } });
    });

    it("renders one StatefulSet, its two Services and no control-plane Deployments", () => {
        const kinds = r.objects.map((o) => o.kind).sort();
        assert.deepStrictEqual(kinds.filter((k) => !["NetworkPolicy"].includes(k)), ["Namespace", "Secret", "Secret", "Service", "Service", "StatefulSet"]);
        assert.strictEqual(ofKind(r.objects, "Deployment").length + ofKind(r.objects, "Job").length + ofKind(r.objects, "Role").length, 0);
    });

    it("publishes task images to DAGs like production, so the same DAG files parse in the one pod", async () => {
        const ref = "registry.example.com/tasks/example@sha256:" + "cd".repeat(32);
        const withTasks = await renderStack({ architecture: "standalone", images: { taskImages: { example: ref } } });
        const airflow = container(find(withTasks.objects, "StatefulSet", "airflow").spec.template.spec, "airflow");
        assert.deepStrictEqual(JSON.parse(envOf(airflow).AIRFLOW_VAR_TASK_IMAGES), { example: ref });
    });

    it("is accepted by the Kubernetes schema", async () => {
        await assertValidObjects(r.objects);
    });

    it("runs postgres and airflow containers in one pod, with Postgres data on a claim template", () => {
        const sts = find(r.objects, "StatefulSet", "airflow");
        assert.strictEqual(sts.spec.replicas, 1);
        const spec = sts.spec.template.spec;
        assert.deepStrictEqual(spec.containers.map((c: any) => c.name), ["postgres", "airflow"]);
        const claims = Object.fromEntries(sts.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec.resources.requests.storage]));
        assert.deepStrictEqual(claims, { data: "20Gi", logs: "20Gi" });
        assert.deepStrictEqual(container(spec, "postgres").volumeMounts.find((m: any) => m.name === "data"), { name: "data", mountPath: "/var/lib/postgresql/data" });
        assert.strictEqual(container(spec, "postgres").securityContext.runAsUser, 999);
        assert.strictEqual(spec.automountServiceAccountToken, false);
    });

    it("migrates, ends the jobs the previous pod left running, then supervises the API server, scheduler, dag-processor and triggerer", () => {
        const airflow = container(find(r.objects, "StatefulSet", "airflow").spec.template.spec, "airflow");
        // No command: the image's entrypoint (init as PID 1) runs `bash -c <script>`.
        assert.strictEqual(airflow.command, undefined);
        assert.deepStrictEqual(airflow.args.slice(0, 2), ["bash", "-c"]);
        const script: string = airflow.args[2];
        const order = ["airflow db check", "airflow db migrate", "airflow users create", "Job.state == JobState.RUNNING", "airflow api-server &", "airflow scheduler &", "airflow dag-processor &", "airflow triggerer &", "wait -n", "exit 1"];
        let at = -1;
        for (const step of order) {
            const next = script.indexOf(step);
            assert.ok(next > at, `"${step}" must come after the previous step in:\n${script}`);
            at = next;
        }
    });

    it("uses the LocalExecutor against Postgres on localhost, secrets by reference", () => {
        const env = envOf(container(find(r.objects, "StatefulSet", "airflow").spec.template.spec, "airflow"));
        assert.strictEqual(env.AIRFLOW__CORE__EXECUTOR, "LocalExecutor");
        assert.strictEqual(env.AIRFLOW__CORE__PARALLELISM, "8");
        assert.strictEqual(env.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, "http://127.0.0.1:8080/execution/");
        assert.deepStrictEqual(env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, { secretKeyRef: { name: "airflow-postgres-credentials", key: "connection" } });
        assert.deepStrictEqual(env.AIRFLOW__API_AUTH__JWT_SECRET, { secretKeyRef: { name: "airflow-keys", key: "jwt-secret" } });
        assert.match(find(r.objects, "Secret", "airflow-postgres-credentials").stringData.connection, /@127\.0\.0\.1:5432\/airflow$/);
        assert.strictEqual(env.AIRFLOW__CORE__DAGS_FOLDER, "/opt/dags");
    });

    it("runs the simple auth manager with the generated password from the keys Secret", async () => {
        const simple = await renderStack({ architecture: "standalone", ui: { authManager: "simple" } });
        const spec = find(simple.objects, "StatefulSet", "airflow").spec.template.spec;
        const airflow = container(spec, "airflow");
        assert.strictEqual(envOf(airflow).AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS, "admin:admin");
        const file = envOf(airflow).AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE;
        assert.strictEqual(container(spec, "simple-auth-passwords").command.at(-1), file);
        const keys = find(simple.objects, "Secret", "airflow-keys").stringData;
        assert.deepStrictEqual(JSON.parse(keys["simple-auth-passwords.json"]), { admin: keys["admin-password"] });
        assert.ok(simple.secretOutputs.has("adminPassword"));
        assert.doesNotMatch(airflow.args[2], /users create/);
        await assertValidObjects(simple.objects);
    });

    it("governs the StatefulSet with a headless Service in its namespace, and serves clients from the other one", () => {
        const sts = find(r.objects, "StatefulSet", "airflow");
        const governing = find(r.objects, "Service", sts.spec.serviceName);
        assert.strictEqual(governing.spec.clusterIP, "None", "a StatefulSet's serviceName must name a headless Service");
        assert.strictEqual(governing.metadata.namespace, "solo");
        assert.strictEqual(sts.metadata.namespace, "solo");
        assert.deepStrictEqual(governing.spec.selector, sts.spec.selector.matchLabels);
        // the client Service keeps its name (and its cluster IP): the UI output and port-forwards do not move
        assert.notStrictEqual(sts.spec.serviceName, "airflow");
        assert.strictEqual(find(r.objects, "Service", "airflow").spec.clusterIP, undefined);
        assert.strictEqual(r.outputs.uiServiceName, "airflow");
    });

    it("serves the UI through a Service with health probes", () => {
        const service = find(r.objects, "Service", "airflow");
        assert.deepStrictEqual(service.spec.ports, [{ name: "http", port: 8080, targetPort: "http" }]);
        assert.strictEqual(service.spec.selector["app.kubernetes.io/component"], "standalone");
        const airflow = container(find(r.objects, "StatefulSet", "airflow").spec.template.spec, "airflow");
        assert.strictEqual(airflow.readinessProbe.httpGet.path, "/api/v2/monitor/health");
        assert.strictEqual(r.outputs.uiUrl, "http://airflow.solo.svc:8080/");
        assert.strictEqual(r.outputs.uiServiceName, "airflow");
    });
});
