// The production path end to end in one stack: images, storage, git-sync and another stack's cluster.
import * as assert from "assert";
import { container, envOf, find, ofKind, renderStack, workerPodTemplate } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const repo = "https://git.example.com/data/dags.git";

describe("production path wiring", () => {
    it("syncs DAGs with a CronJob onto the DAG claim that the scheduler, dag-processor and workers read", async () => {
        const r = await renderStack({ gitSync: { enabled: true, repo, subPath: "dags" } });
        const cron = find(r.objects, "CronJob", "airflow-git-sync");
        assert.strictEqual(cron.spec.concurrencyPolicy, "Forbid");
        const syncClaim = cron.spec.jobTemplate.spec.template.spec.volumes.find((v: any) => v.persistentVolumeClaim).persistentVolumeClaim.claimName;
        assert.strictEqual(syncClaim, "airflow-storage-dags");
        const folder = "/opt/airflow/dags/repo/dags";
        for (const name of ["scheduler", "dag-processor"]) {
            assert.strictEqual(envOf(container(find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec, name)).AIRFLOW__CORE__DAGS_FOLDER, folder);
        }
        const worker = (workerPodTemplate(r.objects) as any).spec;
        assert.strictEqual(envOf(worker.containers[0]).AIRFLOW__CORE__DAGS_FOLDER, folder);
        assert.strictEqual(worker.volumes.find((v: any) => v.name === "dags").persistentVolumeClaim.claimName, syncClaim);
        await assertValidObjects([...r.objects, workerPodTemplate(r.objects)]);
    });

    it("runs git-sync as a native sidecar of the long-running pods in sidecar mode, and once before the task in worker pods, so they complete", async () => {
        const r = await renderStack({ gitSync: { enabled: true, mode: "sidecar", repo } });
        assert.deepStrictEqual(ofKind(r.objects, "CronJob").map((j) => j.metadata.name).filter((n) => n.includes("git-sync")), []);
        assert.strictEqual(r.outputs.dagsClaimName, undefined);
        const worker = (workerPodTemplate(r.objects) as any).spec;
        assert.deepStrictEqual(worker.containers.map((c: any) => c.name), ["base"]);
        const once = worker.initContainers.find((c: any) => c.name === "git-sync");
        assert.ok(once.args.includes("--one-time") && once.restartPolicy === undefined, "a plain init container that exits before the task");
        const scheduler = find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec;
        assert.ok(scheduler.initContainers.find((c: any) => c.name === "git-sync" && c.restartPolicy === "Always"), "a restartPolicy: Always init container");
        assert.strictEqual(worker.volumes.find((v: any) => v.name === "dags").emptyDir !== undefined, true);
        assert.ok(ofKind(r.objects, "NetworkPolicy").some((p) => p.metadata.name === "airflow-allow-git"));
        await assertValidObjects([...r.objects, workerPodTemplate(r.objects)]);
    });

    it("builds base and DAG images, pins workloads to the DAG image digest and publishes task images", async () => {
        const r = await renderStack({
            images: { build: { enabled: true }, tasks: { pandas: { context: "images/tasks/example" } } },
            registry: { server: "registry.example.com/airflow" },
        });
        const image = String(r.outputs.airflowImage);
        assert.match(image, /^registry\.example\.com\/airflow\/airflow-dags@sha256:[0-9a-f]{64}$/);
        assert.strictEqual(container(find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec, "scheduler").image, image);
        assert.strictEqual((workerPodTemplate(r.objects) as any).spec.containers[0].image, image);
        // the task_images Variable is set in the database by a Job named by the map, not in any pod's env
        for (const o of [...ofKind(r.objects, "Deployment"), workerPodTemplate(r.objects) as any]) {
            const spec = o.kind === "Deployment" ? o.spec.template.spec : o.spec;
            for (const c of spec.containers) assert.strictEqual(envOf(c).AIRFLOW_VAR_TASK_IMAGES, undefined, `${o.metadata.name}/${c.name}`);
        }
        const job = ofKind(r.objects, "Job").find((j) => /^airflow-task-images-[0-9a-f]{10}$/.test(j.metadata.name));
        assert.ok(job, "a task_images Job");
        const setter = job.spec.template.spec.containers[0];
        assert.match(setter.args.join(" "), /airflow variables set task_images "\$TASK_IMAGES"/);
        const published = JSON.parse(envOf(setter).TASK_IMAGES);
        assert.deepStrictEqual(Object.keys(published), ["pandas"]);
        assert.match(setter.image, /^registry\.example\.com\/airflow\/airflow-base@sha256:[0-9a-f]{64}$/, "it runs the base image: a DAG-only change leaves it alone");
        assert.match(published.pandas, /^registry\.example\.com\/airflow\/airflow-task-pandas@sha256:[0-9a-f]{64}$/);
        assert.strictEqual(envOf(container(find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec, "scheduler")).AIRFLOW__CORE__DAGS_FOLDER, "/opt/dags");
        assert.strictEqual(r.resources.filter((x) => x.type === "docker:index/image:Image").length, 3);
    });

    it("puts DAGs and logs on one Filestore share with sub-paths", async () => {
        const r = await renderStack({ storage: { mode: "filestore", filestore: { location: "europe-west1-b" } } });
        assert.strictEqual(r.resources.filter((x) => x.type === "gcp:filestore/instance:Instance").length, 1);
        const mounts = container(find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec, "scheduler").volumeMounts;
        assert.strictEqual(mounts.find((m: any) => m.name === "dags").subPath, "dags");
        assert.strictEqual(mounts.find((m: any) => m.name === "logs").subPath, "logs");
        await assertValidObjects(r.objects);
    });

    it("deploys to the cluster of another stack through one Kubernetes provider", async () => {
        const r = await renderStack({ infrastructure: { stack: "acme/infra/prod" } }, { kubeconfig: "apiVersion: v1\nkind: Config\n" });
        const providers = r.resources.filter((x) => x.type === "pulumi:providers:kubernetes");
        assert.strictEqual(providers.length, 1);
        assert.match(String(providers[0].inputs.kubeconfig), /kind: Config/);
        const k8sResources = r.resources.filter((x) => x.type.startsWith("kubernetes:"));
        assert.ok(k8sResources.length > 20);
        for (const x of k8sResources) {
            assert.match(String(x.provider), /pulumi:providers:kubernetes::cluster/, `${x.type} ${x.name} uses the stack's provider`);
        }
    });
});
