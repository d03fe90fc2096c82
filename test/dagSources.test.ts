// Where DAGs come from and how soon the dag-processor sees a change: git-sync (CronJob or sidecar),
// DAG bundles, the DAG image.
import * as assert from "assert";
import { StackConfigInput } from "../components/config";
import { envOf, find, ofKind, podSpecs, Rendered, renderStack, workerPodTemplate } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const REFRESH = "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL";
const REPARSE = "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL";
const repo = "https://git.example.com/data/dags.git";

/** The env of the process that runs the dag-processor (its Deployment, or the standalone pod's Airflow container). */
async function dagProcessorEnv(config: StackConfigInput): Promise<Record<string, any>> {
    const r = await renderStack(config);
    if (config.architecture === "standalone") {
        return envOf(find(r.objects, "StatefulSet", "airflow").spec.template.spec.containers.find((c: any) => c.name === "airflow"));
    }
    return envOf(find(r.objects, "Deployment", "airflow-dag-processor").spec.template.spec.containers[0]);
}

describe("dag-processor refresh interval: as often as the DAG source changes the files", () => {
    const cases: [string, StackConfigInput, string | undefined][] = [
        ["the git-sync CronJob's default schedule (*/5)", { gitSync: { enabled: true, repo } }, "300"],
        ["a CronJob every 2 minutes", { gitSync: { enabled: true, repo, schedule: "*/2 * * * *" } }, "120"],
        ["a CronJob every 2 minutes in office hours (its shortest gap)", { gitSync: { enabled: true, repo, schedule: "*/2 9-17 * * 1-5" } }, "120"],
        ["an hourly CronJob: never slower than Airflow's 300 s", { gitSync: { enabled: true, repo, schedule: "0 * * * *" } }, "300"],
        ["@every 90s", { gitSync: { enabled: true, repo, schedule: "@every 90s" } }, "90"],
        ["the sidecar's period", { gitSync: { enabled: true, mode: "sidecar", repo, period: "30s" } }, "30"],
        ["the sidecar's period in minutes", { gitSync: { enabled: true, mode: "sidecar", repo, period: "2m" } }, "120"],
        ["the standalone pod's sidecar", { architecture: "standalone", gitSync: { enabled: true, repo, period: "45s" } }, "45"],
        ["the fastest DAG bundle's refresh interval", { dagBundles: [{ name: "a", repo, refreshInterval: 45 }, { name: "b", repo, refreshInterval: 20 }] }, "20"],
        ["DAGs from the image, which change only with a deployment: Airflow's default", { dagsInImage: true }, undefined],
    ];
    for (const [label, config, expected] of cases) {
        it(label, async () => assert.strictEqual((await dagProcessorEnv(config))[REFRESH], expected));
    }

    // The lab saw a bundle commit detected within the 10 s refresh interval and parsed only when the
    // file's 30 s re-parse interval came round (push to parsed 30-43 s): the re-parse follows the period too.
    const reparse: [string, StackConfigInput, string | undefined][] = [
        ["a bundle every 10 s: its new commits parsed at the next 10 s", { dagBundles: [{ name: "a", repo, refreshInterval: 10 }] }, "10"],
        ["a sidecar every 20 s", { gitSync: { enabled: true, mode: "sidecar", repo, period: "20s" } }, "20"],
        ["a CronJob every minute: never slower than Airflow's 30 s", { gitSync: { enabled: true, repo, schedule: "* * * * *" } }, "30"],
        ["the default bundle (60 s): Airflow's 30 s", { dagBundles: [{ name: "a", repo }] }, "30"],
        ["DAGs from the image: Airflow's default", { dagsInImage: true }, undefined],
    ];
    for (const [label, config, expected] of reparse) {
        it(`re-parses known files as often: ${label}`, async () => assert.strictEqual((await dagProcessorEnv(config))[REPARSE], expected));
    }

    it("is the user's to override, in the dag-processor's extraEnv or the stack-wide one", async () => {
        const git = { gitSync: { enabled: true, mode: "sidecar" as const, repo, period: "30s" } };
        assert.strictEqual((await dagProcessorEnv({ ...git, dagProcessor: { extraEnv: { [REFRESH]: "600" } } }))[REFRESH], "600");
        assert.strictEqual((await dagProcessorEnv({ ...git, extraEnv: { [REFRESH]: "15" } }))[REFRESH], "15");
        assert.strictEqual((await dagProcessorEnv({ ...git, extraEnv: { [REFRESH]: "15" }, dagProcessor: { extraEnv: { [REFRESH]: "20" } } }))[REFRESH], "20", "the component's own wins");
        assert.strictEqual((await dagProcessorEnv({ architecture: "standalone", gitSync: { enabled: true, repo }, extraEnv: { [REFRESH]: "5" } }))[REFRESH], "5");
    });

    it("is set on the dag-processor only: no other process lists the DAG folder", async () => {
        const r = await renderStack({ gitSync: { enabled: true, mode: "sidecar", repo } });
        for (const name of ["airflow-scheduler", "airflow-api-server", "airflow-triggerer"]) {
            assert.strictEqual(envOf(find(r.objects, "Deployment", name).spec.template.spec.containers[0])[REFRESH], undefined, name);
        }
    });
});

// ---- DAG bundles ----

const sshBundle = { name: "team-a", repo: "git@github.com:acme/team-a-dags.git", ref: "release", subdir: "dags", refreshInterval: 30, auth: "ssh" as const, credentialsSecretName: "team-a-git" };
const httpsBundle = { name: "team_b", repo: "https://gitlab.example.com/b/dags.git", auth: "https" as const, credentialsSecretName: "team-b-git" };
const publicBundle = { name: "public", repo: "https://github.com/acme/public-dags.git", refreshInterval: 120 };
const BUNDLE_LIST = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST";
const STORAGE = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH";

/**
 * The environment a container's process gets, as the kubelet makes it (makeEnvironmentVariables in
 * pkg/kubelet/kubelet_pods.go): secretKeyRef values as they are, `$(NAME)` in a `value` replaced by
 * a variable declared earlier (left as it is otherwise), `$$` for a literal `$`.
 */
function processEnv(c: any, secrets: Record<string, Record<string, string>>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) {
            const { name, key } = e.valueFrom.secretKeyRef;
            env[e.name] = secrets[name]?.[key] ?? `<${name}/${key}>`;
        } else {
            env[e.name] = String(e.value).replace(/\$\$|\$\(([^)]*)\)/g, (m, ref) => (m === "$$" ? "$" : ref in env ? env[ref] : m));
        }
    }
    return env;
}
const secrets = { "team-b-git": { username: "deploy-bot", password: "glpat-T0ken_x" } };

describe("DAG bundles (production)", () => {
    let r: Rendered;
    before(async () => (r = await renderStack({ dagBundles: [sshBundle, httpsBundle, publicBundle] })));
    const deployment = (name: string) => find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec;
    const worker = () => (workerPodTemplate(r.objects) as any).spec;
    const main = (spec: any) => spec.containers[0];
    const bundleEnvNames = (c: any) => (c.env as any[]).map((e) => e.name).filter((n) => n.includes("BUNDLE"));

    it("renders [dag_processor] dag_bundle_config_list: a GitDagBundle per repository, no credentials, no dags-folder without a DAG image", () => {
        const list = JSON.parse(processEnv(main(deployment("dag-processor")), secrets)[BUNDLE_LIST]);
        assert.deepStrictEqual(list, [
            {
                name: "team-a",
                classpath: "airflow.providers.git.bundles.git.GitDagBundle",
                kwargs: { tracking_ref: "release", git_conn_id: "git_bundle_team_a", repo_url: "git@github.com:acme/team-a-dags.git", subdir: "dags", refresh_interval: 30 },
            },
            {
                name: "team_b",
                classpath: "airflow.providers.git.bundles.git.GitDagBundle",
                kwargs: { tracking_ref: "main", git_conn_id: "git_bundle_team_b", repo_url: "https://gitlab.example.com/b/dags.git", refresh_interval: 60 },
            },
            {
                name: "public",
                classpath: "airflow.providers.git.bundles.git.GitDagBundle",
                kwargs: { tracking_ref: "main", git_conn_id: "git_bundle_public", repo_url: "https://github.com/acme/public-dags.git", refresh_interval: 120 },
            },
        ]);
    });

    it("gives the list, and nothing to clone with, to the scheduler, the API server and the triggerer", () => {
        for (const name of ["scheduler", "api-server", "triggerer"]) {
            const spec = deployment(name);
            assert.deepStrictEqual(bundleEnvNames(main(spec)), [BUNDLE_LIST], name);
            assert.ok(!(main(spec).env as any[]).some((e) => e.name.startsWith("AIRFLOW_CONN_") || e.name.startsWith("GIT_")), name);
            assert.ok(!spec.volumes.some((v: any) => v.name === "dag-bundle-keys"), name);
        }
    });

    it("gives the dag-processor and every worker exactly what cloning takes: storage, connections in order, the SSH key", () => {
        for (const [where, spec] of [["dag-processor", deployment("dag-processor")], ["worker", worker()]] as const) {
            const c = main(spec);
            assert.deepStrictEqual(
                bundleEnvNames(c),
                [BUNDLE_LIST, STORAGE, "AIRFLOW_CONN_GIT_BUNDLE_TEAM_A", "GIT_BUNDLE_TEAM_B_USERNAME", "GIT_BUNDLE_TEAM_B_PASSWORD", "AIRFLOW_CONN_GIT_BUNDLE_TEAM_B"],
                `${where}: the public bundle needs no connection; the https parts come before the connection that refers to them`,
            );
            const env = envOf(c);
            assert.deepStrictEqual(env.GIT_BUNDLE_TEAM_B_USERNAME, { secretKeyRef: { name: "team-b-git", key: "username" } }, where);
            assert.deepStrictEqual(env.GIT_BUNDLE_TEAM_B_PASSWORD, { secretKeyRef: { name: "team-b-git", key: "password" } }, where);
            // bundles are cloned inside the sized /tmp emptyDir (the root filesystem is read-only)
            const tmp = c.volumeMounts.find((m: any) => m.name === "tmp");
            assert.ok(env[STORAGE].startsWith(`${tmp.mountPath}/`), env[STORAGE]);
            assert.ok(spec.volumes.find((v: any) => v.name === "tmp").emptyDir.sizeLimit, where);
            assert.deepStrictEqual(c.volumeMounts.find((m: any) => m.name === "dag-bundle-keys"), { name: "dag-bundle-keys", mountPath: "/etc/airflow/dag-bundles", readOnly: true }, where);
            assert.deepStrictEqual(spec.volumes.find((v: any) => v.name === "dag-bundle-keys"), {
                name: "dag-bundle-keys",
                projected: { defaultMode: 0o440, sources: [{ secret: { name: "team-a-git", items: [{ key: "ssh", path: "team-a/ssh" }, { key: "known_hosts", path: "team-a/known_hosts" }] } }] },
            });
        }
    });

    it("assembles the https connection in the kubelet from the Secret's keys: the pod spec holds only references", () => {
        const c = main(worker());
        const spec = envOf(c).AIRFLOW_CONN_GIT_BUNDLE_TEAM_B as string;
        assert.ok(!spec.includes("glpat") && spec.includes("$(GIT_BUNDLE_TEAM_B_PASSWORD)"), spec);
        assert.deepStrictEqual(JSON.parse(processEnv(c, secrets).AIRFLOW_CONN_GIT_BUNDLE_TEAM_B), {
            conn_type: "git",
            host: "https://gitlab.example.com/b/dags.git",
            login: "deploy-bot",
            password: "glpat-T0ken_x",
        });
    });

    it("points the SSH connection at the mounted key and known_hosts, with strict host key checking", () => {
        const spec = worker();
        const conn = JSON.parse(processEnv(main(spec), secrets).AIRFLOW_CONN_GIT_BUNDLE_TEAM_A);
        assert.deepStrictEqual(conn, {
            conn_type: "git",
            host: "git@github.com:acme/team-a-dags.git",
            extra: { key_file: "/etc/airflow/dag-bundles/team-a/ssh", known_hosts_file: "/etc/airflow/dag-bundles/team-a/known_hosts", strict_host_key_checking: "yes" },
        });
        const mount = main(spec).volumeMounts.find((m: any) => m.name === "dag-bundle-keys").mountPath;
        const paths = spec.volumes.find((v: any) => v.name === "dag-bundle-keys").projected.sources.flatMap((s: any) => s.secret.items.map((i: any) => `${mount}/${i.path}`));
        assert.ok(paths.includes(conn.extra.key_file) && paths.includes(conn.extra.known_hosts_file), paths.join(", "));
    });

    it("keeps the bundles out of the migration Job and the housekeeping CronJobs", () => {
        const job = r.objects.find((o) => o.kind === "Job" && o.metadata?.name?.startsWith("airflow-migrate-")) as any;
        const others = [job.spec.template.spec, ...ofKind(r.objects, "CronJob").map((cj) => cj.spec.jobTemplate.spec.template.spec)];
        for (const spec of others) {
            for (const c of spec.containers) assert.deepStrictEqual(bundleEnvNames(c), [], c.name);
        }
    });

    it("needs no DAG claim: no pod mounts one", () => {
        assert.ok(!ofKind(r.objects, "PersistentVolumeClaim").some((p) => /dags/.test(p.metadata.name)));
        for (const { where, spec } of r.objects.flatMap(podSpecs)) {
            assert.ok(!(spec.volumes ?? []).some((v: any) => v.name === "dags"), where);
        }
    });

    it("lets the dag-processor and the workers reach the git hosts", () => {
        const policy = find(r.objects, "NetworkPolicy", "airflow-allow-git");
        assert.deepStrictEqual(policy.spec.podSelector.matchExpressions[0].values, ["dag-processor", "worker"]);
        assert.deepStrictEqual(policy.spec.policyTypes, ["Egress"]);
    });

    it("refreshes the dag-processor's listing as often as the fastest bundle", () => {
        assert.strictEqual(envOf(main(deployment("dag-processor")))[REFRESH], "30");
    });

    it("is accepted by the Kubernetes schema, worker pod template included", async () => {
        await assertValidObjects([...r.objects, workerPodTemplate(r.objects)]);
    });
});

describe("DAG bundles beside other sources", () => {
    it("keeps the DAG image's folder as the dags-folder bundle, first", async () => {
        const r = await renderStack({ dagsInImage: true, dagBundles: [publicBundle] });
        const list = JSON.parse(processEnv(find(r.objects, "Deployment", "airflow-dag-processor").spec.template.spec.containers[0], {})[BUNDLE_LIST]);
        assert.deepStrictEqual(list.map((b: any) => [b.name, b.classpath, b.kwargs]).slice(0, 1), [["dags-folder", "airflow.dag_processing.bundles.local.LocalDagBundle", {}]]);
        assert.deepStrictEqual(list.map((b: any) => b.name), ["dags-folder", "public"]);
    });

    it("renders nothing of them without bundles: no list, no policy", async () => {
        const r = await renderStack({});
        for (const { where, spec } of r.objects.flatMap(podSpecs)) {
            for (const c of spec.containers) assert.ok(!(c.env ?? []).some((e: any) => e.name.includes("BUNDLE")), where);
        }
        assert.ok(!r.objects.some((o) => o.metadata?.name === "airflow-allow-git"));
    });

    it("escapes a '$' of a ref for the kubelet, so the process sees it as written", async () => {
        const r = await renderStack({ dagBundles: [{ ...publicBundle, ref: "v$(HOME)" }] });
        const c = find(r.objects, "Deployment", "airflow-dag-processor").spec.template.spec.containers[0];
        assert.strictEqual(JSON.parse(processEnv(c, {})[BUNDLE_LIST])[0].kwargs.tracking_ref, "v$(HOME)");
    });
});

describe("DAG bundles (standalone)", () => {
    it("gives the one Airflow container the list, the connections, the storage and the SSH key", async () => {
        const r = await renderStack({ architecture: "standalone", dagBundles: [sshBundle, httpsBundle] });
        const spec = find(r.objects, "StatefulSet", "airflow").spec.template.spec;
        const c = spec.containers.find((x: any) => x.name === "airflow");
        const env = processEnv(c, secrets);
        assert.deepStrictEqual(JSON.parse(env[BUNDLE_LIST]).map((b: any) => b.name), ["team-a", "team_b"]);
        assert.strictEqual(env[STORAGE], "/tmp/airflow/dag-bundles");
        assert.strictEqual(JSON.parse(env.AIRFLOW_CONN_GIT_BUNDLE_TEAM_B).password, "glpat-T0ken_x");
        assert.strictEqual(JSON.parse(env.AIRFLOW_CONN_GIT_BUNDLE_TEAM_A).extra.key_file, "/etc/airflow/dag-bundles/team-a/ssh");
        assert.ok(c.volumeMounts.some((m: any) => m.name === "dag-bundle-keys" && m.readOnly));
        assert.ok(spec.volumes.some((v: any) => v.name === "dag-bundle-keys" && v.projected));
        assert.ok(!spec.containers.find((x: any) => x.name === "postgres").env.some((e: any) => e.name.includes("BUNDLE")), "Postgres gets none of it");
        await assertValidObjects(r.objects);
    });
});
