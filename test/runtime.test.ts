// Runtime behaviour of the rendered pods: the writable sandbox of every Airflow container, the image's
// entrypoint kept as the process parent, probes, and the network allows callbacks need.
import * as assert from "assert";
import { AIRFLOW_CONFIG_FILE, AIRFLOW_HOME, LOGS_MOUNT, SANDBOX_HOME, SIMPLE_AUTH_PASSWORDS_FILE } from "../components/airflowPod";
import { StackConfigInput } from "../components/config";
import { container, envOf, find, podSpecs, Rendered, renderStack, workerPodTemplate } from "./support/harness";

/** Every container that runs Airflow: Deployments, the migration Job, the worker template, the standalone pod. */
function airflowContainers(r: Rendered): { where: string; c: any; spec: any }[] {
    return r.objects
        .flatMap(podSpecs)
        .flatMap(({ where, spec }) => [...spec.containers, ...(spec.initContainers ?? [])].map((c: any) => ({ where: `${where} ${c.name}`, c, spec })))
        .filter(({ c }) => /airflow/.test(String(c.image)) && c.name !== "simple-auth-passwords");
}

const volumeOf = (spec: any, name: string) => spec.volumes.find((v: any) => v.name === name);

const architectures: Record<string, StackConfigInput> = {
    production: {},
    "production, remote logs only, git-sync sidecars": {
        storage: { mode: "existing" },
        logging: { remoteBaseLogFolder: "gs://logs/airflow" },
        gitSync: { enabled: true, mode: "sidecar", repo: "https://git.example.com/dags.git" },
    },
    standalone: { architecture: "standalone" },
};

for (const [label, config] of Object.entries(architectures)) {
    describe(`sandbox of every Airflow container: ${label}`, () => {
        let r: Rendered;
        before(async () => (r = await renderStack(config)));

        it("writes only to /tmp, its own HOME and the logs; AIRFLOW_HOME stays as the image made it", () => {
            const containers = airflowContainers(r);
            assert.ok(containers.length >= (label === "standalone" ? 1 : 6), containers.map((c) => c.where).join(", "));
            for (const { where, c, spec } of containers) {
                assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true, where);
                const writable = c.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath).sort();
                assert.deepStrictEqual(writable, [SANDBOX_HOME, LOGS_MOUNT, "/tmp"].sort(), where);
                assert.ok(!c.volumeMounts.some((m: any) => m.mountPath === AIRFLOW_HOME || m.mountPath === "/home/airflow"), `${where}: nothing hides the image's ${AIRFLOW_HOME} or its packages in /home/airflow/.local`);
                for (const name of ["tmp", "home"]) {
                    assert.ok(volumeOf(spec, name).emptyDir.sizeLimit, `${where}: ${name} is a sized emptyDir`);
                }
            }
        });

        it("points HOME and the generated airflow.cfg into the writable HOME, keeping the image's Python packages", () => {
            for (const { where, c } of airflowContainers(r)) {
                const env = envOf(c);
                assert.strictEqual(env.HOME, SANDBOX_HOME, where);
                assert.strictEqual(env.AIRFLOW_CONFIG, AIRFLOW_CONFIG_FILE, where);
                assert.ok(AIRFLOW_CONFIG_FILE.startsWith(`${SANDBOX_HOME}/`));
                assert.strictEqual(env.PYTHONUSERBASE, "/home/airflow/.local", where);
            }
            assert.ok(SIMPLE_AUTH_PASSWORDS_FILE.startsWith(`${SANDBOX_HOME}/`), "the simple auth manager's passwords file is writable too");
        });

        it("keeps the image's entrypoint: no container overrides the command", () => {
            for (const { where, c } of airflowContainers(r)) {
                assert.strictEqual(c.command, undefined, where);
                assert.strictEqual(envOf(c).CONNECTION_CHECK_MAX_COUNT, "0", `${where}: the entrypoint's own database wait is off`);
            }
        });
    });
}

describe("sandbox sizes and log volumes", () => {
    it("sizes /tmp and HOME per component from the config", async () => {
        const r = await renderStack({ workers: { tmpSize: "20Gi", homeSize: "2Gi" }, scheduler: { homeSize: "256Mi" } });
        const worker = (workerPodTemplate(r.objects) as any).spec;
        assert.strictEqual(volumeOf(worker, "tmp").emptyDir.sizeLimit, "20Gi");
        assert.strictEqual(volumeOf(worker, "home").emptyDir.sizeLimit, "2Gi");
        const scheduler = find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec;
        assert.strictEqual(volumeOf(scheduler, "home").emptyDir.sizeLimit, "256Mi");
        assert.strictEqual(volumeOf(scheduler, "tmp").emptyDir.sizeLimit, "1Gi");
        const standalone = await renderStack({ architecture: "standalone", standalone: { tmpSize: "8Gi" } });
        assert.strictEqual(volumeOf(find(standalone.objects, "StatefulSet", "airflow").spec.template.spec, "tmp").emptyDir.sizeLimit, "8Gi");
    });

    it("writes logs to the claim, to an emptyDir when they only go to a bucket, and to the standalone claim template", async () => {
        const claim = volumeOf(find((await renderStack({})).objects, "Deployment", "airflow-scheduler").spec.template.spec, "logs");
        assert.strictEqual(claim.persistentVolumeClaim.claimName, "airflow-storage-logs");
        const remote = await renderStack({ storage: { mode: "existing", dagsClaimName: "dags" }, logging: { remoteBaseLogFolder: "gs://logs/airflow" } });
        assert.ok(volumeOf((workerPodTemplate(remote.objects) as any).spec, "logs").emptyDir, "a task's log is written locally before the upload");
        const sts = find((await renderStack({ architecture: "standalone" })).objects, "StatefulSet", "airflow");
        assert.strictEqual(volumeOf(sts.spec.template.spec, "logs"), undefined);
        assert.ok(sts.spec.volumeClaimTemplates.some((t: any) => t.metadata.name === "logs"));
        assert.ok(container(sts.spec.template.spec, "airflow").volumeMounts.some((m: any) => m.name === "logs" && m.mountPath === LOGS_MOUNT));
    });
});

describe("the image's entrypoint stays", () => {
    let r: Rendered;
    before(async () => (r = await renderStack({})));

    it("leaves the worker container's command and args to the KubernetesExecutor", () => {
        const base = (workerPodTemplate(r.objects) as any).spec.containers[0];
        assert.strictEqual(base.command, undefined);
        assert.strictEqual(base.args, undefined, "the executor sets args; the entrypoint runs them");
    });

    it("runs shell scripts as args bash -c, which the entrypoint runs as a command", () => {
        const migrate = container(find(r.objects, "Job", r.objects.find((o) => /^airflow-migrate-/.test(String(o.metadata?.name)))!.metadata!.name!).spec.template.spec, "migrate");
        assert.deepStrictEqual(migrate.args.slice(0, 2), ["bash", "-c"]);
        assert.strictEqual(migrate.args.length, 3);
    });
});

describe("liveness of the dag-processor and triggerer", () => {
    it("uses `airflow jobs check` (no health server in 3.3) with a timeout and patience that survive a slow CLI", async () => {
        const r = await renderStack({});
        for (const [name, job] of [
            ["dag-processor", "DagProcessorJob"],
            ["triggerer", "TriggererJob"],
        ]) {
            const probe = container(find(r.objects, "Deployment", `airflow-${name}`).spec.template.spec, name).livenessProbe;
            assert.deepStrictEqual(probe.exec.command, ["airflow", "jobs", "check", "--job-type", job, "--local"]);
            assert.ok(probe.timeoutSeconds >= 30, "the CLI takes 15-30 s on a throttled CPU");
            assert.ok(probe.periodSeconds >= 60 && probe.initialDelaySeconds >= 30, "not more often than the job's own heartbeat threshold warrants");
            assert.ok(probe.periodSeconds * probe.failureThreshold >= 300, "a restart needs minutes of a dead job, not one slow check");
        }
    });
});

describe("network allows for callbacks", () => {
    it("gives the dag-processor the same outside egress as workers: DAG-level callbacks run there in Airflow 3", async () => {
        const r = await renderStack({});
        const egressAll = r.objects.filter(
            (o: any) => o.kind === "NetworkPolicy" && o.spec.egress?.some((e: any) => e.ports === undefined && e.to?.some((t: any) => t.ipBlock?.cidr === "0.0.0.0/0")),
        ) as any[];
        const selected = (p: any) => p.spec.podSelector.matchExpressions?.[0]?.values ?? [p.spec.podSelector.matchLabels?.["app.kubernetes.io/component"]];
        const withEgress = new Set(egressAll.flatMap(selected));
        for (const component of ["worker", "dag-processor", "triggerer"]) {
            assert.ok(withEgress.has(component), `${component} reaches Slack, HTTP and SMTP endpoints (has: ${[...withEgress].join(", ")})`);
        }
        assert.ok(!withEgress.has("api-server") && !withEgress.has("scheduler"), "the control plane without user code stays closed");
    });
});
