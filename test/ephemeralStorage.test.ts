// Ephemeral storage (issue 22, kube-score/checkov): every container requests and limits
// `ephemeral-storage`, at least the disk-backed emptyDirs it mounts, a size the user sets is kept, and
// a limit below those emptyDirs is a config error by key.
import * as assert from "assert";
import { parseStackConfig, StackConfigError, StackConfigInput } from "../components/config";
import { ephemeralStorageFloors } from "../components/ephemeralStorage";
import { quantityValue } from "../components/formats";
import { container, find, podSpecs, rawConfig, Rendered, renderStack, workerPodTemplate } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const repo = "https://git.example.com/data/dags.git";
const Mi = 2 ** 20;
const Gi = 2 ** 30;
const bytes = (q: unknown) => quantityValue(String(q)) ?? NaN;

/** The stacks the tests render, between them every pod the package has. */
const stacks: Record<string, StackConfigInput> = {
    production: {},
    "production, logs only in a bucket (logs on an emptyDir)": { logging: { remoteBaseLogFolder: "gs://logs/airflow" }, storage: { mode: "existing", dagsClaimName: "dags" } },
    "production, git-sync CronJob": { gitSync: { enabled: true, repo, subPath: "dags" } },
    "production, git-sync sidecars": { gitSync: { enabled: true, mode: "sidecar", repo } },
    "production, DAGs in the image and task images (the workers' DAG copy)": {
        dagsInImage: true,
        images: { airflow: "registry.example.com/dags@sha256:" + "ef".repeat(32), taskImages: { example: "registry.example.com/tasks/example@sha256:" + "cd".repeat(32) } },
    },
    "production, metrics, PgBouncer, simple auth, extension points": {
        metrics: { enabled: true },
        database: { pgbouncer: { enabled: true }, extraVolumes: [{ name: "exporter-tmp", emptyDir: { sizeLimit: "512Mi" } }], extraContainers: [{ name: "exporter", image: "quay.io/prometheuscommunity/postgres-exporter:v0.16.0", volumeMounts: [{ name: "exporter-tmp", mountPath: "/tmp" }] }] },
        ui: { authManager: "simple" },
        scheduler: {
            extraVolumes: [{ name: "cache", emptyDir: { sizeLimit: "3Gi" } }, { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "4Gi" } }],
            extraVolumeMounts: [{ name: "cache", mountPath: "/cache" }, { name: "shm", mountPath: "/dev/shm" }],
            extraInitContainers: [{ name: "warm", image: "busybox:1.37.0", command: ["true"], volumeMounts: [{ name: "cache", mountPath: "/cache" }] }],
        },
        gitSync: { enabled: true, repo, extraContainers: [{ name: "notify", image: "busybox:1.37.0" }] },
    },
    standalone: { architecture: "standalone" },
    "standalone, DAGs from git": { architecture: "standalone", gitSync: { enabled: true, repo }, ui: { authManager: "simple" } },
};

/** Every container of every rendered pod, with the disk-backed emptyDirs (sized) it mounts. */
function containers(r: Rendered): { where: string; name: string; c: any; emptyDirs: number }[] {
    return r.objects.flatMap(podSpecs).flatMap(({ where, spec }) => {
        const disk = new Map<string, number>(
            (spec.volumes ?? []).filter((v: any) => v.emptyDir && v.emptyDir.medium !== "Memory" && v.emptyDir.sizeLimit !== undefined).map((v: any) => [v.name, bytes(v.emptyDir.sizeLimit)]),
        );
        return [...(spec.initContainers ?? []), ...spec.containers].map((c: any) => {
            const mounted = new Set<string>((c.volumeMounts ?? []).map((m: any) => m.name));
            return { where, name: c.name, c, emptyDirs: [...mounted].reduce((sum, name) => sum + (disk.get(name) ?? 0), 0) };
        });
    });
}

const ephemeral = (c: any) => ({ request: c.resources?.requests?.["ephemeral-storage"], limit: c.resources?.limits?.["ephemeral-storage"] });

function problemsOf(config: Record<string, unknown>): string[] {
    try {
        parseStackConfig(rawConfig(config));
    } catch (e) {
        assert.ok(e instanceof StackConfigError, String(e));
        return e.problems;
    }
    return [];
}

describe("ephemeral storage", () => {
    const rendered = new Map<string, Rendered>();
    before(async () => {
        for (const [label, config] of Object.entries(stacks)) rendered.set(label, await renderStack(config));
    });

    it("gives every container of every pod an ephemeral-storage request and limit that hold the disk-backed emptyDirs it mounts", () => {
        let checked = 0;
        for (const [label, r] of rendered) {
            for (const { where, name, c, emptyDirs } of containers(r)) {
                const { request, limit } = ephemeral(c);
                assert.ok(request !== undefined && limit !== undefined, `${label}: ${where} ${name} has no ephemeral-storage request or limit`);
                assert.ok(bytes(request) >= emptyDirs && bytes(limit) >= emptyDirs, `${label}: ${where} ${name}: ${request}/${limit} below its emptyDirs (${emptyDirs / Mi}Mi)`);
                assert.ok(bytes(request) <= bytes(limit), `${label}: ${where} ${name}: request above limit`);
                checked++;
            }
        }
        // the worker pod template, init containers and native sidecars are among them
        const sidecars = containers(rendered.get("production, git-sync sidecars")!).filter((x) => x.name === "git-sync");
        assert.ok(sidecars.some((x) => x.where.includes("pod_template.yaml")) && sidecars.length >= 4, sidecars.map((x) => x.where).join(", "));
        assert.ok(checked > 80, `${checked} containers`);
    });

    it("sizes a container from its own emptyDirs plus 128Mi for its logs, disk-backed only", () => {
        const at = (label: string, where: RegExp, name: string) => {
            const found = containers(rendered.get(label)!).find((x) => where.test(x.where) && x.name === name);
            assert.ok(found, `${label}: no ${name} in ${where}`);
            return ephemeral(found.c);
        };
        const size = (n: number) => ({ request: `${n / Mi}Mi`, limit: `${n / Mi}Mi` });
        // tmp 1Gi + home 1Gi
        assert.deepStrictEqual(at("production", /^Deployment\/airflow-scheduler/, "scheduler"), size(2 * Gi + 128 * Mi));
        assert.deepStrictEqual(at("production", /pod_template/, "base"), size(2 * Gi + 128 * Mi));
        // the migration Job's logs go to an emptyDir of tmpSize
        assert.deepStrictEqual(at("production", /^Job\/airflow-migrate-/, "migrate"), size(3 * Gi + 128 * Mi));
        // Postgres: its socket directory (64Mi) and /tmp (256Mi)
        assert.deepStrictEqual(at("production", /^StatefulSet\/airflow-postgres/, "postgres"), size(448 * Mi));
        // the sidecar: its checkout (1Gi) and /tmp (256Mi); the Airflow container reads the checkout too
        assert.deepStrictEqual(at("production, git-sync sidecars", /pod_template/, "git-sync"), size(1408 * Mi));
        assert.deepStrictEqual(at("production, git-sync sidecars", /pod_template/, "base"), size(3 * Gi + 128 * Mi));
        // the workers' copy of the DAG image's folder (256Mi), in the main container and the init step that fills it
        assert.deepStrictEqual(at("production, DAGs in the image and task images (the workers' DAG copy)", /pod_template/, "base"), size(2 * Gi + 384 * Mi));
        // PgBouncer's config is memory-backed: only the logs allowance
        assert.deepStrictEqual(at("production, metrics, PgBouncer, simple auth, extension points", /^Deployment\/airflow-pgbouncer/, "pgbouncer"), size(128 * Mi));
        assert.deepStrictEqual(at("production, metrics, PgBouncer, simple auth, extension points", /^Deployment\/airflow-pgbouncer/, "config"), size(128 * Mi));
        // the user's disk emptyDir (3Gi) counts where it is mounted, their memory-backed one (4Gi) nowhere
        assert.deepStrictEqual(at("production, metrics, PgBouncer, simple auth, extension points", /^Deployment\/airflow-scheduler/, "scheduler"), size(5 * Gi + 128 * Mi));
        assert.deepStrictEqual(at("production, metrics, PgBouncer, simple auth, extension points", /^Deployment\/airflow-scheduler/, "warm"), size(3 * Gi + 128 * Mi));
        assert.deepStrictEqual(at("standalone", /^StatefulSet\/airflow$/, "airflow"), size(2 * Gi + 128 * Mi));
        assert.deepStrictEqual(at("standalone, DAGs from git", /^StatefulSet\/airflow$/, "airflow"), size(3 * Gi + 128 * Mi));
    });

    it("renders objects the Kubernetes schema accepts", async () => {
        for (const [label, r] of rendered) {
            await assertValidObjects(label.startsWith("production") ? [...r.objects, workerPodTemplate(r.objects)] : r.objects);
        }
    });

    it("keeps the ephemeral storage the user sets, for the component's containers and their own sidecars", async () => {
        const r = await renderStack({
            scheduler: { resources: { requests: { ephemeralStorage: "4Gi" }, limits: { ephemeralStorage: "10Gi" } } },
            workers: { resources: { limits: { ephemeralStorage: "8Gi" } }, tmpSize: "5Gi" },
            apiServer: { extraContainers: [{ name: "shipper", image: "fluent/fluent-bit:3.2.0", resources: { limits: { cpu: "100m", memory: "64Mi", "ephemeral-storage": "300Mi" } } }] },
        });
        const scheduler = find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec;
        assert.deepStrictEqual(ephemeral(container(scheduler, "scheduler")), { request: "4Gi", limit: "10Gi" });
        // a limit alone: the request is the emptyDirs' size (tmp 5Gi + home 1Gi + logs allowance), under it
        assert.deepStrictEqual(ephemeral((workerPodTemplate(r.objects) as any).spec.containers[0]), { request: "6272Mi", limit: "8Gi" });
        // the user's sidecar keeps its limit; its request (none given) is the package's default size, capped by the limit
        const shipper = container(find(r.objects, "Deployment", "airflow-api-server").spec.template.spec, "shipper");
        assert.deepStrictEqual(ephemeral(shipper), { request: "128Mi", limit: "300Mi" });
        await assertValidObjects([...r.objects, workerPodTemplate(r.objects)]);
    });

    it("refuses a limit below the emptyDirs its containers mount, by key, with the smallest allowed size", () => {
        assert.deepStrictEqual(problemsOf({ scheduler: { resources: { limits: { ephemeralStorage: "2Gi" } } } }), [
            // the migration Job runs with the scheduler's resources: tmp, home and its logs' emptyDir
            "airflow:scheduler.resources.limits.ephemeralStorage: must be at least 3Gi, the emptyDirs the container mounts (tmp, home, logs), which count toward it (and 128Mi more for its logs is advised); raise it, shrink those volumes, or leave it out to have it sized from them (got \"2Gi\")",
        ]);
        assert.deepStrictEqual(problemsOf({ workers: { tmpSize: "20Gi", resources: { limits: { ephemeralStorage: "20Gi" } } } }), [
            "airflow:workers.resources.limits.ephemeralStorage: must be at least 21Gi, the emptyDirs the container mounts (tmp, home), which count toward it (and 128Mi more for its logs is advised); raise it, shrink those volumes, or leave it out to have it sized from them (got \"20Gi\")",
        ]);
        assert.deepStrictEqual(
            problemsOf({ triggerer: { extraVolumes: [{ name: "cache", emptyDir: { sizeLimit: "1Gi" } }], extraContainers: [{ name: "x", image: "busybox:1.37.0", volumeMounts: [{ name: "cache", mountPath: "/c" }, { name: "tmp", mountPath: "/tmp" }], resources: { limits: { "ephemeral-storage": "1Gi" } } }] } }),
            ["airflow:triggerer.extraContainers.0.resources.limits.ephemeral-storage: must be at least 2Gi, the emptyDirs the container mounts (cache, tmp), which count toward it (and 128Mi more for its logs is advised); raise it, shrink those volumes, or leave it out to have it sized from them (got \"1Gi\")"],
        );
        assert.deepStrictEqual(problemsOf({ gitSync: { enabled: true, mode: "sidecar", repo, resources: { limits: { ephemeralStorage: "1Gi" } } } }), [
            "airflow:gitSync.resources.limits.ephemeralStorage: must be at least 1280Mi, the emptyDirs the container mounts (git-sync-tmp, dags), which count toward it (and 128Mi more for its logs is advised); raise it, shrink those volumes, or leave it out to have it sized from them (got \"1Gi\")",
        ]);
        assert.deepStrictEqual(problemsOf({ apiServer: { resources: { requests: { ephemeralStorage: "5Gi" }, limits: { ephemeralStorage: "4Gi" } } } }), [
            'airflow:apiServer.resources.requests.ephemeralStorage: must not exceed limits.ephemeralStorage (4Gi) (got "5Gi")',
        ]);
        // exactly the emptyDirs is enough; memory-backed ones do not count
        assert.deepStrictEqual(problemsOf({ scheduler: { resources: { limits: { ephemeralStorage: "3Gi" } } } }), []);
        assert.deepStrictEqual(problemsOf({ database: { pgbouncer: { enabled: true, resources: { limits: { ephemeralStorage: "1Mi" } } } } }), []);
    });

    it("checks limits against the same emptyDirs the rendered containers mount (config floors = rendered pods)", () => {
        /** The config key whose resources size a rendered container (the package's own containers). */
        const keyOf = (where: string, name: string): string | undefined => {
            if (name === "git-sync") return "gitSync";
            const rules: [RegExp, string[], string][] = [
                [/^Deployment\/airflow-scheduler/, ["scheduler"], "scheduler"],
                [/^Job\/airflow-migrate-/, ["migrate"], "scheduler"],
                [/^Deployment\/airflow-api-server/, ["api-server", "simple-auth-passwords"], "apiServer"],
                [/^Deployment\/airflow-dag-processor/, ["dag-processor"], "dagProcessor"],
                [/^Deployment\/airflow-triggerer/, ["triggerer"], "triggerer"],
                [/pod_template/, ["base", "dags"], "workers"],
                [/^StatefulSet\/airflow(-postgres)?$/, ["postgres"], "database"],
                [/^StatefulSet\/airflow$/, ["airflow", "simple-auth-passwords"], "standalone"],
                [/^Deployment\/airflow-pgbouncer/, ["config", "pgbouncer"], "database.pgbouncer"],
                [/^Deployment\/airflow-statsd/, ["statsd-exporter"], "metrics"],
                [/^CronJob\/airflow-log-cleanup/, ["log-cleanup"], "retention.logs"],
                [/^CronJob\/airflow-worker-cleanup/, ["worker-cleanup"], "retention.workerPods"],
                [/^CronJob\/airflow-db-clean/, ["db-clean"], "retention.database"],
            ];
            return rules.find(([w, names]) => w.test(where) && names.includes(name))?.[2];
        };
        for (const [label, config] of Object.entries(stacks)) {
            const fromPods = new Map<string, number>();
            for (const { where, name, emptyDirs } of containers(rendered.get(label)!)) {
                const key = keyOf(where, name);
                if (key) fromPods.set(key, Math.max(fromPods.get(key) ?? 0, emptyDirs));
            }
            const fromConfig = new Map(
                ephemeralStorageFloors(parseStackConfig(rawConfig(config)))
                    .filter((f) => f.path.at(-1) === "ephemeralStorage")
                    .map((f) => [f.path.slice(0, -3).join("."), f.bytes]),
            );
            assert.deepStrictEqual(Object.fromEntries([...fromConfig].sort()), Object.fromEntries([...fromPods].sort()), label);
        }
    });
});
