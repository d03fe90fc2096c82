// Previews must be focused: the same config renders the same inputs, and one setting touches only
// the resources it should.
import * as assert from "assert";
import { StackConfigInput } from "../components/config";
import { Rendered, renderStack } from "./support/harness";

/** Resource identity -> its inputs, as the engine would diff them. */
function inputsByResource(r: Rendered): Map<string, string> {
    return new Map(r.resources.map((x) => [`${x.type}::${x.name}`, JSON.stringify(x.inputs)]));
}

/** Resources whose inputs differ, or that exist on one side only. */
function changed(a: Rendered, b: Rendered): string[] {
    const before = inputsByResource(a);
    const after = inputsByResource(b);
    const keys = new Set([...before.keys(), ...after.keys()]);
    return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}

describe("stable, focused previews", () => {
    for (const architecture of ["production", "standalone"] as const) {
        it(`renders identical resources and inputs twice (${architecture})`, async () => {
            const config: StackConfigInput = architecture === "production" ? { architecture, scheduler: { replicas: 2 } } : { architecture, standalone: { parallelism: 8 } };
            const first = await renderStack(config);
            const second = await renderStack(config);
            assert.deepStrictEqual(changed(first, second), []);
            assert.deepStrictEqual(
                first.resources.map((x) => `${x.type}::${x.name}`),
                second.resources.map((x) => `${x.type}::${x.name}`),
            );
        });
    }

    const cases: { name: string; change: StackConfigInput; expect: string[] }[] = [
        {
            name: "scheduler replicas",
            change: { scheduler: { replicas: 2 } },
            expect: ["kubernetes:apps/v1:Deployment::airflow-scheduler", "kubernetes:policy/v1:PodDisruptionBudget::airflow-scheduler"],
        },
        {
            name: "an API server env var",
            change: { apiServer: { extraEnv: { AIRFLOW__API__EXPOSE_CONFIG: "False" } } },
            expect: ["kubernetes:apps/v1:Deployment::airflow-api-server"],
        },
        {
            name: "worker resources",
            change: { workers: { resources: { limits: { memory: "4Gi" } } } },
            // The scheduler's template checksum annotation changes with it, so the scheduler restarts.
            expect: ["kubernetes:apps/v1:Deployment::airflow-scheduler", "kubernetes:core/v1:ConfigMap::airflow-pod-template"],
        },
        {
            name: "the UI service type",
            change: { ui: { serviceType: "NodePort" } },
            expect: ["kubernetes:core/v1:Service::airflow-api-server"],
        },
        {
            name: "the log retention",
            change: { retention: { logs: { days: 7 } } },
            expect: ["kubernetes:batch/v1:CronJob::airflow-log-cleanup"],
        },
        {
            name: "a scheduler pod annotation",
            change: { scheduler: { podAnnotations: { "example.com/owner": "data" } } },
            expect: ["kubernetes:apps/v1:Deployment::airflow-scheduler"],
        },
        {
            name: "Postgres storage size",
            change: { database: { storageSize: "16Gi" } },
            expect: ["kubernetes:apps/v1:StatefulSet::airflow-postgres-statefulset"],
        },
    ];
    for (const c of cases) {
        it(`changing ${c.name} touches only ${c.expect.length} resource(s)`, async () => {
            const base = await renderStack({});
            const next = await renderStack(c.change);
            assert.deepStrictEqual(changed(base, next), c.expect);
        });
    }

    it("changing the image rolls every Airflow workload and renames the migration and admin Jobs, not the database", async () => {
        const base = await renderStack({});
        const next = await renderStack({ images: { airflow: "example.com/airflow@sha256:" + "cd".repeat(32) } });
        const diff = changed(base, next);
        assert.deepStrictEqual(diff, [
            "kubernetes:apps/v1:Deployment::airflow-api-server",
            "kubernetes:apps/v1:Deployment::airflow-dag-processor",
            "kubernetes:apps/v1:Deployment::airflow-scheduler",
            "kubernetes:apps/v1:Deployment::airflow-triggerer",
            // The retention CronJobs run the Airflow image too.
            "kubernetes:batch/v1:CronJob::airflow-db-clean",
            "kubernetes:batch/v1:CronJob::airflow-log-cleanup",
            "kubernetes:batch/v1:CronJob::airflow-worker-cleanup",
            "kubernetes:batch/v1:Job::airflow-admin",
            "kubernetes:batch/v1:Job::airflow-migrate",
            "kubernetes:core/v1:ConfigMap::airflow-pod-template",
        ]);
    });
});
