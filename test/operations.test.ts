// What production teams configure and operate (issue 9): reaching the UI through an Ingress (also
// under a path), the extension points every component shares, log and database retention, autoscaling,
// disruption budgets and PgBouncer, FAB's webserver_config.py, and metrics. Every rendered object is
// checked against the strict Kubernetes schema.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AIRFLOW_POD_VOLUMES, parseStackConfig, StackConfigInput } from "../components/config";
import { PGBOUNCER_CLIENT_USER, pgbouncerConfigScript } from "../components/pgbouncer";
import { container, envOf, find, ofKind, podSpecs, Rendered, renderStack, workerPodTemplate } from "./support/harness";
import { assertValidObjects, K8sObject } from "./support/k8sSchema";

const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });
const deployment = (r: Rendered, name: string) => find(r.objects, "Deployment", `airflow-${name}`);
const podOf = (r: Rendered, name: string) => deployment(r, name).spec.template.spec;
const mainEnv = (r: Rendered, name: string) => envOf(container(podOf(r, name), name));
const policy = (r: Rendered, name: string) => find(r.objects, "NetworkPolicy", `airflow-${name}`).spec;
const migrationJob = (r: Rendered) => ofKind(r.objects, "Job").find((j) => j.metadata.name.startsWith("airflow-migrate-"));
/** The strict schema has no CRDs: a ServiceMonitor is checked by its own test. */
const builtIn = (objects: K8sObject[]) => objects.filter((o) => !o.apiVersion.startsWith("monitoring.coreos.com/"));
const CONTROL_PLANE = ["scheduler", "api-server", "dag-processor", "triggerer"];

describe("operations: defaults", () => {
    it("turns on only what needs nothing outside the package: retention; Ingress, autoscaling, PgBouncer and metrics stay off", () => {
        const c = parseStackConfig({});
        assert.deepStrictEqual([c.ui.ingress.enabled, c.ui.baseUrl, c.ui.webserverConfig], [false, undefined, undefined]);
        assert.deepStrictEqual([c.apiServer.autoscaling.enabled, c.database.pgbouncer.enabled, c.metrics.enabled, c.metrics.serviceMonitor], [false, false, false, false]);
        assert.deepStrictEqual([c.retention.logs.enabled, c.retention.logs.days, c.retention.database.enabled, c.retention.database.days, c.retention.database.dryRun], [true, 15, true, 90, false]);
        for (const section of [c.scheduler, c.apiServer, c.dagProcessor, c.triggerer, c.workers, c.database, c.gitSync]) {
            assert.deepStrictEqual(
                [section.nodeSelector, section.tolerations, section.extraVolumes, section.extraVolumeMounts, section.extraContainers, section.extraInitContainers, section.podAnnotations, section.podLabels, section.topologySpreadConstraints],
                [{}, [], [], [], [], [], {}, {}, []],
            );
            assert.deepStrictEqual([section.affinity, section.priorityClassName], [undefined, undefined]);
        }
    });
});

describe("operations: the UI through an Ingress", () => {
    let r: Rendered;
    before(async () => {
        r = await renderStack({
            namespace: "data",
            ui: {
                ingress: {
                    enabled: true,
                    className: "nginx",
                    host: "data.example.com",
                    pathPrefix: "/airflow",
                    tlsSecretName: "data-tls",
                    annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
                    controllerNamespace: "ingress-nginx",
                },
            },
        });
    });

    it("is accepted by the Kubernetes schema", async () => {
        await assertValidObjects([...r.objects, workerPodTemplate(r.objects)]);
    });

    it("routes host and path, unchanged, to the API server Service, with TLS and the given class and annotations", () => {
        const ingress = find(r.objects, "Ingress", "airflow-api-server");
        assert.strictEqual(ingress.spec.ingressClassName, "nginx");
        assert.deepStrictEqual(ingress.spec.tls, [{ hosts: ["data.example.com"], secretName: "data-tls" }]);
        assert.deepStrictEqual(ingress.spec.rules, [
            {
                host: "data.example.com",
                http: { paths: [{ path: "/airflow", pathType: "Prefix", backend: { service: { name: "airflow-api-server", port: { name: "http" } } } }] },
            },
        ]);
        assert.deepStrictEqual(ingress.metadata.annotations, { "cert-manager.io/cluster-issuer": "letsencrypt" });
        assert.strictEqual(r.outputs.uiUrl, "https://data.example.com/airflow/");
    });

    it("moves base_url, the execution API URL and the health probes under the path, for every Airflow process", () => {
        const url = "http://airflow-api-server.data.svc:8080/airflow/execution/";
        for (const name of CONTROL_PLANE) {
            assert.strictEqual(mainEnv(r, name).AIRFLOW__API__BASE_URL, "https://data.example.com/airflow", name);
            assert.strictEqual(mainEnv(r, name).AIRFLOW__CORE__EXECUTION_API_SERVER_URL, url, name);
        }
        const worker = envOf((workerPodTemplate(r.objects) as any).spec.containers[0]);
        assert.strictEqual(worker.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, url);
        assert.strictEqual(worker.AIRFLOW__API__BASE_URL, "https://data.example.com/airflow");
        const api = container(podOf(r, "api-server"), "api-server");
        for (const probe of [api.readinessProbe, api.livenessProbe]) {
            assert.strictEqual(probe.httpGet.path, "/airflow/api/v2/monitor/health");
        }
        const startup = api.startupProbe.exec.command.join(" ");
        assert.match(startup, /http:\/\/127\.0\.0\.1:8080\/airflow\{path\}/);
        assert.match(startup, /'\/api\/v2\/monitor\/health'/);
        assert.match(startup, /'\/execution\/health'/);
    });

    it("trusts the controller's X-Forwarded-* headers in uvicorn and in FAB", () => {
        const api = container(podOf(r, "api-server"), "api-server");
        assert.deepStrictEqual(api.args, ["api-server", "--proxy-headers"]);
        assert.strictEqual(envOf(api).FORWARDED_ALLOW_IPS, "*");
        assert.strictEqual(envOf(api).AIRFLOW__FAB__ENABLE_PROXY_FIX, "True");
    });

    it("lets the controller's namespace reach the API server beside ui.allowedCidrs", () => {
        const from = policy(r, "allow-api-server").ingress[0].from;
        assert.deepStrictEqual(from, [{ ipBlock: { cidr: "0.0.0.0/0" } }, { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }]);
    });

    it("serves at the root over http without a path or TLS, and renders nothing of it when off", async () => {
        const root = await renderStack({ ui: { ingress: { enabled: true, host: "airflow.example.com", forwardedAllowIps: "10.0.0.0/8" } } });
        const ingress = find(root.objects, "Ingress", "airflow-api-server");
        assert.strictEqual(ingress.spec.rules[0].http.paths[0].path, "/");
        assert.strictEqual(ingress.spec.tls, undefined);
        assert.strictEqual(mainEnv(root, "scheduler").AIRFLOW__API__BASE_URL, "http://airflow.example.com");
        assert.strictEqual(mainEnv(root, "scheduler").AIRFLOW__CORE__EXECUTION_API_SERVER_URL, "http://airflow-api-server.airflow.svc:8080/execution/");
        assert.strictEqual(mainEnv(root, "api-server").FORWARDED_ALLOW_IPS, "10.0.0.0/8");
        const off = await renderStack({});
        assert.strictEqual(ofKind(off.objects, "Ingress").length, 0);
        assert.strictEqual(mainEnv(off, "api-server").AIRFLOW__API__BASE_URL, undefined);
        assert.deepStrictEqual(container(podOf(off, "api-server"), "api-server").args, ["api-server"]);
    });

    it("takes ui.baseUrl, path included, when the UI is published another way", async () => {
        const lb = await renderStack({ ui: { serviceType: "LoadBalancer", baseUrl: "https://airflow.example.com/team/" } });
        assert.strictEqual(mainEnv(lb, "triggerer").AIRFLOW__API__BASE_URL, "https://airflow.example.com/team");
        assert.strictEqual(mainEnv(lb, "triggerer").AIRFLOW__CORE__EXECUTION_API_SERVER_URL, "http://airflow-api-server.airflow.svc:8080/team/execution/");
        assert.strictEqual(lb.outputs.uiUrl, "https://airflow.example.com/team/");
        assert.strictEqual(ofKind(lb.objects, "Ingress").length, 0);
    });
});

describe("operations: extension points, the same on every component", () => {
    const ext = (who: string) => ({
        extraVolumes: [{ name: `${who}-ca`, secret: { secretName: "corporate-ca" } }],
        extraVolumeMounts: [{ name: `${who}-ca`, mountPath: "/etc/ssl/corporate", readOnly: true }],
        extraContainers: [{ name: `${who}-shipper`, image: "fluent/fluent-bit:3.2.0", volumeMounts: [{ name: `${who}-ca`, mountPath: "/ca", readOnly: true }] }],
        extraInitContainers: [{ name: `${who}-init`, image: "busybox:1.37.0", command: ["true"], resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } } }],
        podAnnotations: { "example.com/team": who },
        podLabels: { team: "data" },
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In" as const, values: ["airflow"] }] }] } } },
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" as const }],
        priorityClassName: "airflow-high",
    });
    const config: StackConfigInput = {
        scheduler: ext("scheduler"),
        apiServer: ext("api-server"),
        dagProcessor: ext("dag-processor"),
        triggerer: ext("triggerer"),
        workers: ext("worker"),
        database: { ...ext("postgres"), nodeSelector: { pool: "db" }, tolerations: [{ key: "db", operator: "Exists", effect: "NoSchedule" }] },
        gitSync: { enabled: true, repo: "https://git.example.com/dags.git", ...ext("git-sync"), nodeSelector: { pool: "sync" } },
    };
    let r: Rendered;
    before(async () => {
        r = await renderStack(config);
    });

    /** Every component's pod template and its metadata, by the name its extensions were given. */
    const pods = () => {
        const template = (o: any) => o.spec.template ?? o.spec.jobTemplate.spec.template;
        const worker = workerPodTemplate(r.objects) as any;
        return {
            scheduler: template(deployment(r, "scheduler")),
            "api-server": template(deployment(r, "api-server")),
            "dag-processor": template(deployment(r, "dag-processor")),
            triggerer: template(deployment(r, "triggerer")),
            worker: { metadata: worker.metadata, spec: worker.spec },
            postgres: template(find(r.objects, "StatefulSet", "airflow-postgres")),
            "git-sync": template(find(r.objects, "CronJob", "airflow-git-sync")),
        } as Record<string, { metadata: any; spec: any }>;
    };
    const main: Record<string, string> = { worker: "base" };

    it("is accepted by the Kubernetes schema, worker pod template included", async () => {
        await assertValidObjects([...r.objects, workerPodTemplate(r.objects)]);
    });

    it("adds volumes, mounts on the main container, init containers after the package's own, and sidecars", () => {
        for (const [who, pod] of Object.entries(pods())) {
            const spec = pod.spec;
            assert.ok(spec.volumes.some((v: any) => v.name === `${who}-ca` && v.secret.secretName === "corporate-ca"), who);
            assert.ok(container(spec, main[who] ?? who).volumeMounts.some((m: any) => m.name === `${who}-ca` && m.mountPath === "/etc/ssl/corporate"), who);
            assert.strictEqual(spec.initContainers[spec.initContainers.length - 1].name, `${who}-init`, who);
            assert.strictEqual(spec.containers[spec.containers.length - 1].name, `${who}-shipper`, who);
            assert.strictEqual(spec.priorityClassName, "airflow-high", who);
            assert.deepStrictEqual(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key, "pool", who);
            assert.deepStrictEqual(spec.topologySpreadConstraints.map((t: any) => t.topologyKey), ["topology.kubernetes.io/zone"], who);
            assert.strictEqual(pod.metadata.annotations["example.com/team"], who);
            assert.strictEqual(pod.metadata.labels.team, "data", who);
            assert.strictEqual(pod.metadata.labels["app.kubernetes.io/component"], who === "api-server" ? "api-server" : who, "the package's labels stay");
        }
    });

    it("locks down and sizes the user's containers unless they say otherwise", () => {
        for (const [who, pod] of Object.entries(pods())) {
            const shipper = container(pod.spec, `${who}-shipper`);
            assert.deepStrictEqual(shipper.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } }, who);
            // ephemeral storage: no emptyDir mounted, so the allowance for the container's logs
            assert.deepStrictEqual(shipper.resources, { requests: { cpu: "50m", memory: "64Mi", "ephemeral-storage": "128Mi" }, limits: { cpu: "500m", memory: "256Mi", "ephemeral-storage": "128Mi" } }, who);
            assert.deepStrictEqual(container(pod.spec, `${who}-init`).resources.limits, { cpu: "100m", memory: "32Mi", "ephemeral-storage": "128Mi" }, who);
        }
    });

    it("places Postgres and the git-sync pods with nodeSelector and tolerations like the Airflow components", () => {
        const p = pods();
        assert.deepStrictEqual(p.postgres.spec.nodeSelector, { pool: "db" });
        assert.deepStrictEqual(p.postgres.spec.tolerations, [{ key: "db", operator: "Exists", effect: "NoSchedule" }]);
        assert.deepStrictEqual(p["git-sync"].spec.nodeSelector, { pool: "sync" });
    });

    it("keeps the migration Job free of the scheduler's sidecars (a Job with a sidecar never completes)", () => {
        const job = migrationJob(r).spec.template.spec;
        assert.deepStrictEqual(job.containers.map((c: any) => c.name), ["migrate"]);
    });

    it("spreads multi-replica API servers and schedulers over nodes, softly, unless a spread or affinity is given", async () => {
        const scaled = await renderStack({ apiServer: { replicas: 2 }, scheduler: { replicas: 3 }, triggerer: { replicas: 2 } });
        for (const name of ["api-server", "scheduler"]) {
            assert.deepStrictEqual(podOf(scaled, name).topologySpreadConstraints, [
                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { "app.kubernetes.io/name": "airflow", "app.kubernetes.io/instance": "airflow", "app.kubernetes.io/component": name } } },
            ]);
        }
        assert.strictEqual(podOf(scaled, "triggerer").topologySpreadConstraints, undefined);
        assert.strictEqual(podOf(await renderStack({}), "scheduler").topologySpreadConstraints, undefined, "one replica: nothing to spread");
        const own = await renderStack({ scheduler: { replicas: 2, affinity: { podAntiAffinity: {} } } });
        assert.strictEqual(podOf(own, "scheduler").topologySpreadConstraints, undefined);
    });

    it("names only volumes and containers the config schema knows as the pods' own", async () => {
        // the config (components/config/) refuses extensions that reuse these names: the list must cover what is rendered.
        const all = await renderStack({ ui: { authManager: "simple", webserverConfig: undefined }, gitSync: { enabled: true, mode: "sidecar", repo: "https://git.example.com/d.git" } });
        const fab = await renderStack({ ui: { webserverConfig: { configMapName: "fab" } }, dagsInImage: true, images: { taskImages: { t: `registry.example.com/t@sha256:${"ab".repeat(32)}` } } });
        for (const rendered of [all, fab]) {
            for (const { where, spec } of rendered.objects.flatMap(podSpecs).filter(({ where }) => /Deployment\/airflow-(scheduler|api-server|dag-processor|triggerer)|pod_template/.test(where))) {
                for (const v of spec.volumes) assert.ok(AIRFLOW_POD_VOLUMES.includes(v.name), `${where}: volume ${v.name}`);
            }
        }
    });
});

describe("operations: retention", () => {
    it("cleans old logs on the claim and old metadata rows, on schedules, never overlapping, by default", async () => {
        const r = await renderStack({});
        await assertValidObjects(r.objects);
        const logs = find(r.objects, "CronJob", "airflow-log-cleanup");
        const db = find(r.objects, "CronJob", "airflow-db-clean");
        for (const cron of [logs, db]) {
            assert.strictEqual(cron.spec.concurrencyPolicy, "Forbid");
            const pod = cron.spec.jobTemplate.spec.template.spec;
            assert.strictEqual(pod.securityContext.runAsUser, 50000);
            assert.strictEqual(pod.automountServiceAccountToken, false);
            assert.strictEqual(pod.containers[0].image, "apache/airflow:3.3.2");
        }
        assert.strictEqual(logs.spec.schedule, "0 3 * * *");
        const cleaner = logs.spec.jobTemplate.spec.template.spec;
        const script = cleaner.containers[0].args.join(" ");
        assert.match(script, /find \/opt\/airflow\/logs -mindepth 1 -type f -mmin \+21600 -print -delete/);
        assert.strictEqual(cleaner.volumes.find((v: any) => v.name === "logs").persistentVolumeClaim.claimName, "airflow-storage-logs");
        assert.strictEqual(envOf(cleaner.containers[0]).AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, undefined, "files only: no database");

        assert.strictEqual(db.spec.schedule, "30 3 * * *");
        const cleanDb = db.spec.jobTemplate.spec.template.spec.containers[0];
        assert.match(cleanDb.args.join(" "), /- 90 \* 86400.*airflow db clean --clean-before-timestamp "\$before" --yes --skip-archive$/s);
        assert.deepStrictEqual(envOf(cleanDb).AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, secretRef("airflow-postgres-credentials", "connection"));
        // db-clean reaches Postgres through the network policies.
        assert.ok(policy(r, "allow-postgres").ingress[0].from[0].podSelector.matchExpressions[0].values.includes("db-clean"));
        assert.ok(policy(r, "allow-database-egress").podSelector.matchExpressions[0].values.includes("db-clean"));
    });

    it("computes the cut-off at run time with a date the image has (GNU date)", () => {
        // The script's arithmetic and date call, run here as the container would run them.
        const out = execFileSync("bash", ["-c", 'date -u -d "@$(( $(date +%s) - 90 * 86400 ))" +%Y-%m-%dT%H:%M:%S+00:00'], { encoding: "utf8" }).trim();
        const age = (Date.now() - Date.parse(out)) / 86400e3;
        assert.ok(age > 89.9 && age < 90.1, out);
    });

    it("follows days, schedules and dryRun, and drops each job when disabled or when logs are not on a claim", async () => {
        const r = await renderStack({ retention: { logs: { days: 3, schedule: "@daily" }, database: { days: 30, dryRun: true, skipArchive: false } } });
        assert.match(find(r.objects, "CronJob", "airflow-log-cleanup").spec.jobTemplate.spec.template.spec.containers[0].args.join(" "), /-mmin \+4320 /);
        assert.strictEqual(find(r.objects, "CronJob", "airflow-log-cleanup").spec.schedule, "@daily");
        assert.match(find(r.objects, "CronJob", "airflow-db-clean").spec.jobTemplate.spec.template.spec.containers[0].args.join(" "), /- 30 \* 86400.* --yes --dry-run$/s);
        const off = await renderStack({ retention: { logs: { enabled: false }, database: { enabled: false }, workerPods: { enabled: false } } });
        assert.strictEqual(ofKind(off.objects, "CronJob").length, 0);
        const bucket = await renderStack({ logging: { remoteBaseLogFolder: "gs://logs/airflow" } });
        assert.deepStrictEqual(ofKind(bucket.objects, "CronJob").map((c) => c.metadata.name).sort(), ["airflow-db-clean", "airflow-worker-cleanup"]);
    });

    it("cleans up finished worker pods a stopped scheduler left behind, with a token that may only list and delete pods", async () => {
        const r = await renderStack({ namespace: "data", retention: { workerPods: { schedule: "*/5 * * * *", minCompletedMinutes: 10 } } });
        const cron = find(r.objects, "CronJob", "airflow-worker-cleanup");
        assert.strictEqual(cron.spec.schedule, "*/5 * * * *");
        assert.strictEqual(cron.spec.concurrencyPolicy, "Forbid");
        const pod = cron.spec.jobTemplate.spec.template.spec;
        assert.deepStrictEqual(pod.containers[0].args, ["kubernetes", "cleanup-pods", "--namespace", "$(POD_NAMESPACE)", "--min-completed-minutes", "10"]);
        assert.strictEqual(pod.automountServiceAccountToken, true);
        assert.strictEqual(pod.serviceAccountName, "airflow-worker-cleanup");
        assert.deepStrictEqual(find(r.objects, "Role", "airflow-worker-cleanup").rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "delete"] }]);
        assert.strictEqual(envOf(pod.containers[0]).AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, undefined, "no database credentials");
        await assertValidObjects(r.objects);
    });

    it("holds only db-clean behind the migrations; the log clean-up waits for its volume, the pod clean-up for nothing", async () => {
        const r = await renderStack({});
        assert.ok(r.dependsOn.get("airflow-db-clean")?.includes("airflow-migrate"));
        assert.deepStrictEqual(r.dependsOn.get("airflow-log-cleanup"), ["airflow-storage"]);
        assert.deepStrictEqual(r.dependsOn.get("airflow-worker-cleanup") ?? [], []);
    });
});

describe("operations: scale and availability", () => {
    it("autoscales the API server on CPU without a replica count the HPA would fight, with a budget when it keeps two", async () => {
        const r = await renderStack({ apiServer: { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70 } } });
        await assertValidObjects(r.objects);
        const hpa = find(r.objects, "HorizontalPodAutoscaler", "airflow-api-server");
        assert.deepStrictEqual(hpa.spec, {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "airflow-api-server" },
            minReplicas: 2,
            maxReplicas: 6,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
        });
        assert.strictEqual(deployment(r, "api-server").spec.replicas, undefined);
        assert.ok(find(r.objects, "PodDisruptionBudget", "airflow-api-server"));
        assert.strictEqual(podOf(r, "api-server").topologySpreadConstraints[0].topologyKey, "kubernetes.io/hostname");
        const one = await renderStack({ apiServer: { autoscaling: { enabled: true, minReplicas: 1 } } });
        assert.strictEqual(ofKind(one.objects, "PodDisruptionBudget").length, 0, "a budget on one pod would block every drain");
    });

    it("gives every multi-replica component a disruption budget", async () => {
        const r = await renderStack({ dagProcessor: { replicas: 2 }, triggerer: { replicas: 3 }, database: { pgbouncer: { enabled: true, replicas: 2 } } });
        assert.deepStrictEqual(ofKind(r.objects, "PodDisruptionBudget").map((p) => p.metadata.name).sort(), ["airflow-dag-processor", "airflow-pgbouncer", "airflow-triggerer"]);
        for (const pdb of ofKind(r.objects, "PodDisruptionBudget")) assert.strictEqual(pdb.spec.maxUnavailable, 1);
    });

    for (const database of [{}, { mode: "external", externalSecretName: "cloudsql", externalSecretKey: "uri" }] as const) {
        const label = "mode" in database ? "an external database" : "the internal Postgres";
        it(`puts PgBouncer in front of ${label}; migrations and db clean still go direct`, async () => {
            const r = await renderStack({ database: { ...database, pgbouncer: { enabled: true, poolMode: "session", defaultPoolSize: 40, maxClientConnections: 2000 } } });
            await assertValidObjects(r.objects);
            const server = "mode" in database ? secretRef("cloudsql", "uri") : secretRef("airflow-postgres-credentials", "connection");
            const pooled = secretRef("airflow-pgbouncer-credentials", "connection");
            for (const name of CONTROL_PLANE) assert.deepStrictEqual(mainEnv(r, name).AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, pooled, name);
            assert.deepStrictEqual(envOf(container(migrationJob(r).spec.template.spec, "migrate")).AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, server);
            assert.deepStrictEqual(envOf(find(r.objects, "CronJob", "airflow-db-clean").spec.jobTemplate.spec.template.spec.containers[0]).AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, server);
            const pod = find(r.objects, "Deployment", "airflow-pgbouncer").spec.template.spec;
            assert.deepStrictEqual(envOf(container(pod, "config")).SERVER_URI, server, "the server URI is read at start-up, never rendered");
            assert.match(container(pod, "config").command[2], /pool_mode = session\nmax_client_conn = 2000\ndefault_pool_size = 40/);
            assert.deepStrictEqual(container(pod, "pgbouncer").command, ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]);
            assert.deepStrictEqual(pod.volumes, [{ name: "config", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }]);
            const secret = find(r.objects, "Secret", "airflow-pgbouncer-credentials");
            assert.match(secret.stringData.connection, new RegExp(`^postgresql\\+psycopg2://${PGBOUNCER_CLIENT_USER}:MOCKSECRET[0-9a-f]+@airflow-pgbouncer\\.airflow\\.svc:6432/airflow$`));
            // The pooled processes reach PgBouncer, PgBouncer and the maintenance Jobs reach the database.
            assert.deepStrictEqual(policy(r, "allow-pgbouncer").ingress[0].from[0].podSelector.matchExpressions[0].values, CONTROL_PLANE);
            assert.deepStrictEqual(policy(r, "allow-pgbouncer-egress").egress[0].ports, [{ protocol: "TCP", port: 6432 }]);
            assert.deepStrictEqual(policy(r, "allow-database-egress").podSelector.matchExpressions[0].values, ["migrate", "db-clean", "pgbouncer"]);
        });
    }

    it("writes pgbouncer.ini and the auth file from any Postgres URI (POSIX sh, as in the image)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgbouncer-"));
        try {
            const script = pgbouncerConfigScript({ poolMode: "transaction", maxClientConnections: 1000, defaultPoolSize: 20 }).replaceAll("/etc/pgbouncer", dir);
            const run = (uri: string) => {
                execFileSync("sh", ["-c", script], { env: { PATH: process.env.PATH, SERVER_URI: uri, CLIENT_PASSWORD: "client-pw" } });
                return { ini: fs.readFileSync(path.join(dir, "pgbouncer.ini"), "utf8"), users: fs.readFileSync(path.join(dir, "userlist.txt"), "utf8") };
            };
            const internal = run("postgresql+psycopg2://airflow:abc123@airflow-postgres.ns.svc:5432/airflow");
            assert.match(internal.ini, /^airflow = host=airflow-postgres\.ns\.svc port=5432 dbname=airflow user=airflow$/m);
            assert.strictEqual(internal.users, `"${PGBOUNCER_CLIENT_USER}" "client-pw"\n"airflow" "abc123"\n`);
            assert.doesNotMatch(internal.ini, /server_tls_sslmode/);
            const cloud = run("postgresql://svc%40proj:p%22w%3Ad%25@10.1.2.3/prod?application_name=x&sslmode=require");
            assert.match(cloud.ini, /^airflow = host=10\.1\.2\.3 port=5432 dbname=prod user=svc@proj$/m);
            assert.match(cloud.ini, /^server_tls_sslmode = require$/m);
            assert.strictEqual(cloud.users.split("\n")[1], '"svc@proj" "p""w:d%"');
            assert.strictEqual(fs.statSync(path.join(dir, "userlist.txt")).mode & 0o077, 0, "the auth file is private");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("operations: FAB webserver_config.py", () => {
    for (const source of [{ secretName: "fab-oauth" }, { configMapName: "fab-oauth", key: "config.py" }]) {
        it(`mounts it read-only from a ${"secretName" in source ? "Secret" : "ConfigMap"} where [fab] config_file points, in the API server and the migration Job`, async () => {
            const r = await renderStack({ ui: { webserverConfig: source } });
            await assertValidObjects(r.objects);
            const item = [{ key: (source as any).key ?? "webserver_config.py", path: "webserver_config.py" }];
            for (const [where, spec, name] of [
                ["api-server", podOf(r, "api-server"), "api-server"],
                ["migrate", migrationJob(r).spec.template.spec, "migrate"],
            ] as const) {
                const volume = spec.volumes.find((v: any) => v.name === "webserver-config");
                assert.deepStrictEqual(volume.secret ?? volume.configMap, "secretName" in source ? { secretName: "fab-oauth", defaultMode: 0o440, items: item } : { name: "fab-oauth", defaultMode: 0o440, items: item }, where);
                const c = container(spec, name);
                assert.deepStrictEqual(c.volumeMounts.find((m: any) => m.name === "webserver-config"), { name: "webserver-config", mountPath: "/etc/airflow/fab", readOnly: true }, where);
                assert.strictEqual(envOf(c).AIRFLOW__FAB__CONFIG_FILE, "/etc/airflow/fab/webserver_config.py", where);
            }
            assert.strictEqual(mainEnv(r, "scheduler").AIRFLOW__FAB__CONFIG_FILE, undefined);
            // The token exchange with the identity provider leaves the cluster over HTTPS.
            assert.deepStrictEqual(policy(r, "allow-identity-provider"), {
                podSelector: { matchLabels: { "app.kubernetes.io/component": "api-server" } },
                policyTypes: ["Egress"],
                // outside: every address but the cluster's private ranges and the Kubernetes API
                egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "172.18.0.2/32"] } }], ports: [{ protocol: "TCP", port: 443 }] }],
            });
        });
    }
});

describe("operations: metrics", () => {
    let r: Rendered;
    before(async () => {
        r = await renderStack({ metrics: { enabled: true, serviceMonitor: true, scrapeInterval: "15s", scraperNamespace: "prometheus" } });
    });

    it("renders a statsd-exporter with its mappings and a Service, schema-valid", async () => {
        await assertValidObjects(builtIn(r.objects));
        const pod = find(r.objects, "Deployment", "airflow-statsd").spec.template.spec;
        const exporter = container(pod, "statsd-exporter");
        assert.ok(exporter.args.includes("--statsd.mapping-config=/etc/statsd-exporter/mappings.yml"));
        assert.strictEqual(pod.securityContext.runAsNonRoot, true);
        const mappings = find(r.objects, "ConfigMap", "airflow-statsd-mappings").data["mappings.yml"];
        assert.match(mappings, /match: airflow\.ti\.finish\.\*\.\*\.\*/);
        const service = find(r.objects, "Service", "airflow-statsd");
        assert.deepStrictEqual(service.spec.ports.map((p: any) => `${p.name}:${p.port}/${p.protocol ?? "TCP"}`), ["statsd:9125/UDP", "metrics:9102/TCP"]);
    });

    it("points every Airflow process, workers included, at the exporter", () => {
        for (const env of [...CONTROL_PLANE.map((n) => mainEnv(r, n)), envOf((workerPodTemplate(r.objects) as any).spec.containers[0])]) {
            assert.strictEqual(env.AIRFLOW__METRICS__STATSD_ON, "True");
            assert.strictEqual(env.AIRFLOW__METRICS__STATSD_HOST, "airflow-statsd.airflow.svc");
            assert.strictEqual(env.AIRFLOW__METRICS__STATSD_PORT, "9125");
            assert.strictEqual(env.AIRFLOW__METRICS__STATSD_PREFIX, "airflow");
        }
    });

    it("creates a ServiceMonitor for the Prometheus Operator only when asked", async () => {
        const monitor = find(r.objects, "ServiceMonitor", "airflow-statsd") as any;
        assert.strictEqual(monitor.apiVersion, "monitoring.coreos.com/v1");
        assert.deepStrictEqual(monitor.spec, {
            selector: { matchLabels: { "app.kubernetes.io/name": "airflow", "app.kubernetes.io/instance": "airflow", "app.kubernetes.io/component": "statsd" } },
            endpoints: [{ port: "metrics", path: "/metrics", interval: "15s" }],
        });
        const plain = await renderStack({ metrics: { enabled: true } });
        assert.strictEqual(ofKind(plain.objects, "ServiceMonitor").length, 0);
        const off = await renderStack({});
        assert.strictEqual(ofKind(off.objects, "Deployment").some((d) => d.metadata.name === "airflow-statsd"), false);
        assert.strictEqual(mainEnv(off, "scheduler").AIRFLOW__METRICS__STATSD_ON, undefined);
    });

    it("lets Airflow pods send StatsD and the scraper's namespace read /metrics, nothing else", () => {
        const allow = policy(r, "allow-statsd");
        assert.deepStrictEqual(allow.ingress[0].ports, [{ protocol: "UDP", port: 9125 }]);
        assert.ok(allow.ingress[0].from[0].podSelector.matchExpressions[0].values.includes("worker"));
        assert.deepStrictEqual(allow.ingress[1], { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "prometheus" } } }], ports: [{ protocol: "TCP", port: 9102 }] });
        assert.deepStrictEqual(policy(r, "allow-statsd-egress").egress[0].to, [{ podSelector: { matchLabels: { "app.kubernetes.io/component": "statsd" } } }]);
    });
});
