// Where DAGs come from and how soon the dag-processor sees a change: git-sync (CronJob or sidecar),
// DAG bundles, the DAG image.
import * as assert from "assert";
import { StackConfigInput } from "../components/config";
import { envOf, find, renderStack } from "./support/harness";

const REFRESH = "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL";
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
        ["DAGs from the image, which change only with a deployment: Airflow's default", { dagsInImage: true }, undefined],
    ];
    for (const [label, config, expected] of cases) {
        it(label, async () => assert.strictEqual((await dagProcessorEnv(config))[REFRESH], expected));
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
