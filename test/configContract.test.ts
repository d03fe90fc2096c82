// The config contract beyond single bad values (those are in config.test.ts's table): what Kubernetes
// accepts is accepted, config in a namespace nobody reads is reported, suspicious values warn before
// anything is registered, and the program exports only what the architecture has.
import * as assert from "assert";
import { configWarnings } from "../components/config";
import { DEFAULT_AIRFLOW_VERSION, parseProgramConfig, parseStackConfig, StackConfigError } from "../components/config";
import { rawConfig, resolve } from "./support/harness";
import { registrations, runProgram, runProgramToEnd } from "./support/program";

const airflowConfig = (config: Record<string, unknown>) => Object.fromEntries(Object.entries(rawConfig(config)).map(([k, v]) => [`airflow:${k}`, v]));

describe("config contract: what Kubernetes accepts is accepted", () => {
    it("takes a plain number for cpu, as a Kubernetes manifest does, and passes it on as a quantity", () => {
        const c = parseStackConfig(rawConfig({ scheduler: { resources: { requests: { cpu: 0.5 }, limits: { cpu: 2 } } } }));
        assert.deepStrictEqual(c.scheduler.resources.requests.cpu, "0.5");
        assert.deepStrictEqual(c.scheduler.resources.limits.cpu, "2");
    });

    it("keeps a namespace made of digits a string (Pulumi hands every value over as text)", () => {
        assert.strictEqual(parseStackConfig({ namespace: "123" }).namespace, "123");
        assert.strictEqual(parseStackConfig({ airflowVersion: "3.3.2", architecture: "standalone" }).architecture, "standalone");
        // Structured values are still decoded.
        assert.strictEqual(parseStackConfig({ createNamespace: "false", scheduler: '{"replicas":2}' }).scheduler.replicas, 2);
    });

    it("deploys a namespace made of digits through the program", async () => {
        const run = runProgram(airflowConfig({ namespace: "123" }));
        assert.ifError(run.error);
        assert.strictEqual((await resolve(run.exports!.namespace)).value, "123");
    });

    it("accepts the cron forms the CronJob controller accepts", () => {
        for (const schedule of ["*/5 * * * *", "0 */2 * * 1-5", "15,45 9-17 * * MON-FRI", "0 0 1 JAN,JUL *", "5/10 * ? * *", "@hourly", "@daily", "@midnight", "@every 90s"]) {
            assert.strictEqual(parseStackConfig(rawConfig({ gitSync: { enabled: true, repo: "https://git.example.com/d.git", schedule } })).gitSync.schedule, schedule);
        }
    });

    it("accepts IPv4 and IPv6 CIDRs, image references with registries, ports and digests, and dotted object names", () => {
        const c = parseStackConfig(
            rawConfig({
                ui: { allowedCidrs: ["10.0.0.0/8", "0.0.0.0/0", "fd00::/8", "2001:db8::/32"] },
                images: { airflow: `localhost:5000/team/airflow@sha256:${"ab".repeat(32)}`, gitSync: "registry.k8s.io/git-sync/git-sync:v4.7.1", setup: "mirror.example.com:443/library/busybox:1.37.0" },
                database: { mode: "external", externalSecretName: "cloudsql.connection" },
                storage: { mode: "existing", dagsClaimName: "team.dags", logsClaimName: "team.logs" },
                scheduler: { nodeSelector: { "cloud.google.com/gke-nodepool": "airflow" }, tolerations: [{ key: "dedicated", operator: "Equal", value: "airflow", effect: "NoSchedule" }] },
            }),
        );
        assert.strictEqual(c.ui.allowedCidrs.length, 4);
        assert.strictEqual(c.images.setup, "mirror.example.com:443/library/busybox:1.37.0");
        assert.strictEqual(parseStackConfig({}).images.setup, "busybox:1.37.0");
    });

    it("fills the scratch sizes of every pod", () => {
        const c = parseStackConfig({});
        for (const section of [c.scheduler, c.apiServer, c.dagProcessor, c.triggerer, c.workers, c.standalone]) {
            assert.deepStrictEqual([section.tmpSize, section.homeSize], ["1Gi", "1Gi"]);
        }
    });
});

describe("config contract: config in a namespace nobody reads", () => {
    it("reports a misspelled namespace by key and suggests airflow:, and leaves provider namespaces alone", () => {
        const all = { "airflw:scheduler": '{"replicas":2}', "kubernetes:context": "lab", "gcp:project": "acme", "pulumi:tags": "{}", "docker:host": "unix:///x", "random:x": "y" };
        assert.throws(
            () => parseProgramConfig(all, "airflow"),
            (e: Error) => {
                assert.ok(e instanceof StackConfigError);
                assert.deepStrictEqual(e.problems.length, 1, e.problems.join("\n"));
                assert.match(e.problems[0], /^airflw:scheduler: unknown config namespace "airflw"; did you mean airflow:scheduler\? \(this program reads airflow:, its providers kubernetes:, gcp:, docker:, random:, pulumi:\)$/);
                return true;
            },
        );
        assert.doesNotThrow(() => parseProgramConfig({ "kubernetes:context": "lab", "airflow:namespace": "data" }, "airflow"));
    });

    it("reports it together with the airflow: problems, before any resource is registered", async () => {
        const run = await runProgramToEnd({ "airflw:scheduler": '{"replicas":2}', "airflow:architecture": "prod" });
        assert.ok(run.error instanceof StackConfigError, String(run.error));
        assert.strictEqual(run.error.problems.length, 2, run.error.problems.join("\n"));
        assert.deepStrictEqual(registrations(run), []);
    });
});

describe("config contract: warnings", () => {
    it("warns when the image tag names another Airflow version than airflowVersion", () => {
        const warnings = (config: Record<string, unknown>) => configWarnings(parseStackConfig(rawConfig(config)), "airflow");
        assert.match(warnings({ images: { airflow: "apache/airflow:3.2.1-python3.12" } })[0], /^airflow:images.airflow: the tag of apache\/airflow:3.2.1-python3.12 names Airflow 3.2.1 but airflowVersion is 3.3.2/);
        assert.strictEqual(warnings({ images: { build: { enabled: true, baseImage: "apache/airflow:3.1.0" } }, registry: { server: "ghcr.io/acme" } }).length, 1);
        assert.deepStrictEqual(warnings({ images: { airflow: "apache/airflow:3.3.2-python3.12" } }), []);
        assert.deepStrictEqual(warnings({ images: { airflow: `registry.example.com/airflow@sha256:${"ab".repeat(32)}` } }), [], "a digest names no version");
        assert.deepStrictEqual(warnings({ airflowVersion: "3.2.1", images: { airflow: "apache/airflow:3.2.1" } }), []);
    });

    it("logs them with pulumi.log.warn before the first resource", async () => {
        const config = airflowConfig({ images: { airflow: "apache/airflow:3.2.1" } });
        const run = await runProgramToEnd(config);
        assert.ifError(run.error);
        assert.strictEqual(run.warnings.length, 1);
        assert.match(run.warnings[0], /names Airflow 3.2.1 but airflowVersion is 3.3.2/);
        // stopped at that warning, the program has constructed nothing: no resource came before it
        const stopped = await runProgramToEnd(config, [], { stopAtWarning: true });
        assert.match(String(stopped.error), /stopped at the warning: .*names Airflow 3.2.1/);
        assert.deepStrictEqual(registrations(stopped), []);
    });
});

describe("program outputs per architecture", () => {
    const outputKeys = (config: Record<string, unknown>) => {
        const run = runProgram(airflowConfig(config));
        assert.ifError(run.error);
        const exports = run.exports!;
        for (const [key, value] of Object.entries(exports)) {
            assert.notStrictEqual(value, undefined, `${key} is exported undefined: "Undefined value (${key}) will not show as a stack output"`);
        }
        return Object.keys(exports).sort();
    };
    const always = ["adminPassword", "adminUsername", "airflowImage", "architecture", "metadataSecretName", "namespace", "uiServiceName", "uiUrl"];

    it("production exports the claims and the migration Job", () => {
        assert.deepStrictEqual(outputKeys({}), [...always, "dagsClaimName", "logsClaimName", "migrationJobName"].sort());
    });

    it("standalone exports no claim and no migration Job", () => {
        assert.deepStrictEqual(outputKeys({ architecture: "standalone" }), always);
    });

    it("production without a DAG claim (git-sync sidecars, remote logs only) exports neither claim", () => {
        assert.deepStrictEqual(
            outputKeys({ gitSync: { enabled: true, mode: "sidecar", repo: "https://git.example.com/dags.git" }, storage: { mode: "existing" }, logging: { remoteBaseLogFolder: "gs://logs/airflow" } }),
            [...always, "migrationJobName"].sort(),
        );
    });

    it("keeps the admin password secret", async () => {
        const run = runProgram(airflowConfig({}));
        assert.strictEqual((await resolve(run.exports!.adminPassword)).secret, true);
        assert.strictEqual((await resolve(run.exports!.airflowImage)).value, `apache/airflow:${DEFAULT_AIRFLOW_VERSION}`);
    });
});
