import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_AIRFLOW_VERSION, parseStackConfig, StackConfigError } from "../components/config";
import { installMocks, rawConfig } from "./support/harness";

function problemsOf(raw: Record<string, unknown>): string[] {
    try {
        parseStackConfig(rawConfig(raw));
    } catch (e) {
        assert.ok(e instanceof StackConfigError, `expected StackConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail(`config was accepted: ${JSON.stringify(raw)}`);
}

describe("stack config", () => {
    it("fills every default from an empty stack", () => {
        const c = parseStackConfig({});
        assert.strictEqual(c.architecture, "production");
        assert.strictEqual(c.namespace, "airflow");
        assert.strictEqual(c.airflowVersion, DEFAULT_AIRFLOW_VERSION);
        assert.strictEqual(c.scheduler.replicas, 1);
        assert.deepStrictEqual(c.scheduler.resources, { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } });
        assert.strictEqual(c.apiServer.workers, 2);
        assert.strictEqual(c.database.mode, "internal");
        assert.strictEqual(c.storage.mode, "pvc");
        assert.strictEqual(c.ui.authManager, "fab");
        assert.strictEqual(c.networkPolicies, true);
    });

    it("merges a partial override with the defaults of the same object", () => {
        const c = parseStackConfig(rawConfig({ scheduler: { replicas: 2, resources: { limits: { memory: "4Gi" } } } }));
        assert.strictEqual(c.scheduler.replicas, 2);
        assert.deepStrictEqual(c.scheduler.resources.limits, { cpu: "2", memory: "4Gi" });
        assert.deepStrictEqual(c.scheduler.resources.requests, { cpu: "500m", memory: "1Gi" });
    });

    it("reads plain strings and JSON values the way Pulumi stores them", () => {
        const c = parseStackConfig({ namespace: "data-platform", createNamespace: "false", scheduler: '{"replicas":3}' });
        assert.strictEqual(c.namespace, "data-platform");
        assert.strictEqual(c.createNamespace, false);
        assert.strictEqual(c.scheduler.replicas, 3);
    });

    it("ignores secret keys, which are read with requireSecret", () => {
        assert.doesNotThrow(() => parseStackConfig({ registryPassword: "hunter2" }));
    });

    // Each bad config is rejected with a message naming the key, the value and what is allowed.
    const badConfigs: { name: string; raw: Record<string, unknown>; expect: RegExp }[] = [
        { name: "unknown architecture", raw: { architecture: "prod" }, expect: /^airflow:architecture: .*"production"\|"standalone".*\(got "prod"\)/ },
        { name: "namespace not a DNS label", raw: { namespace: "Data_Platform" }, expect: /^airflow:namespace: must be a DNS label.*\(got "Data_Platform"\)/ },
        { name: "Airflow 2 version", raw: { airflowVersion: "2.10.5" }, expect: /^airflow:airflowVersion: must be an Airflow 3 version.*\(got "2.10.5"\)/ },
        { name: "zero replicas", raw: { scheduler: { replicas: 0 } }, expect: /^airflow:scheduler.replicas: .*>=1.*\(got 0\)/ },
        { name: "fractional replicas", raw: { apiServer: { replicas: 1.5 } }, expect: /^airflow:apiServer.replicas: .*int.*\(got 1.5\)/ },
        { name: "bad quantity", raw: { triggerer: { resources: { limits: { memory: "lots" } } } }, expect: /^airflow:triggerer.resources.limits.memory: must be a Kubernetes quantity.*\(got "lots"\)/ },
        { name: "typo in a top-level key", raw: { schedulr: { replicas: 2 } }, expect: /^airflow: ?unknown key "schedulr"; allowed: .*scheduler/ },
        { name: "typo in a nested key", raw: { scheduler: { replica: 2 } }, expect: /^airflow:scheduler: unknown key "replica"; allowed: replicas, resources/ },
        { name: "secret set as plain env", raw: { extraEnv: { AIRFLOW__CORE__FERNET_KEY: "abc" } }, expect: /^airflow:extraEnv: must not set .*FERNET_KEY/ },
        { name: "bad env var name", raw: { scheduler: { extraEnv: { "1BAD": "x" } } }, expect: /^airflow:scheduler.extraEnv.1BAD: must be an environment variable name/ },
        { name: "external database without secret", raw: { database: { mode: "external" } }, expect: /^airflow:database.externalSecretName: is required when mode is external/ },
        { name: "git-sync without repo", raw: { gitSync: { enabled: true } }, expect: /^airflow:gitSync.repo: is required when gitSync is enabled/ },
        { name: "git-sync ssh without secret", raw: { gitSync: { enabled: true, repo: "git@example.com:dags.git", auth: "ssh" } }, expect: /^airflow:gitSync.credentialsSecretName: is required/ },
        { name: "bad cron schedule", raw: { gitSync: { schedule: "every minute" } }, expect: /^airflow:gitSync.schedule: must be a cron schedule.*\(got "every minute"\)/ },
        { name: "filestore without settings", raw: { storage: { mode: "filestore" } }, expect: /^airflow:storage.filestore: is required when storage.mode is filestore/ },
        {
            name: "filestore below the tier minimum",
            raw: { storage: { mode: "filestore", filestore: { location: "europe-west1-b", tier: "BASIC_SSD", capacityGb: 1024 } } },
            expect: /^airflow:storage.filestore.capacityGb: must be at least 2560 for tier BASIC_SSD \(got 1024\)/,
        },
        { name: "existing storage without log claim", raw: { storage: { mode: "existing", dagsClaimName: "dags" } }, expect: /^airflow:storage.logsClaimName: is required in existing mode unless logging.remoteBaseLogFolder/ },
        { name: "DAGs from image and git", raw: { dagsInImage: true, gitSync: { enabled: true, repo: "https://example.com/dags.git" } }, expect: /^airflow:dagsInImage: cannot be combined with gitSync.enabled/ },
        { name: "build without registry", raw: { images: { build: { enabled: true } } }, expect: /^airflow:registry.server: is required when images.build.enabled/ },
        { name: "service type", raw: { ui: { serviceType: "Ingress" } }, expect: /^airflow:ui.serviceType: .*"ClusterIP"\|"NodePort"\|"LoadBalancer".*\(got "Ingress"\)/ },
        { name: "infrastructure stack not fully qualified", raw: { infrastructure: { stack: "infra" } }, expect: /^airflow:infrastructure.stack: must be a fully qualified stack name/ },
        { name: "image reference", raw: { images: { airflow: "Not An Image" } }, expect: /^airflow:images.airflow: must be an image reference/ },
    ];
    for (const bad of badConfigs) {
        it(`rejects ${bad.name}`, () => {
            const problems = problemsOf(bad.raw);
            assert.ok(
                problems.some((p) => bad.expect.test(p)),
                `no problem matched ${bad.expect}; got:\n  ${problems.join("\n  ")}`,
            );
        });
    }

    it("reports every problem at once", () => {
        const problems = problemsOf({ architecture: "prod", namespace: "UPPER", scheduler: { replicas: -1, foo: 1 }, ui: { port: 0 } });
        assert.strictEqual(problems.length, 5, problems.join("\n"));
        const message = (() => {
            try {
                parseStackConfig(rawConfig({ architecture: "prod", namespace: "UPPER" }));
            } catch (e) {
                return (e as Error).message;
            }
            return "";
        })();
        assert.match(message, /^Invalid stack configuration \(2 problems\):\n  - airflow:/);
    });
});

describe("program (index.ts)", () => {
    function loadProgram(config: Record<string, unknown>): { resources: number; error?: Error; exports?: any } {
        const resources = installMocks();
        pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(rawConfig(config)).map(([k, v]) => [`airflow:${k}`, v])));
        const modulePath = require.resolve("../index");
        delete require.cache[modulePath];
        try {
            const exports = require(modulePath);
            return { resources: resources.length, exports };
        } catch (e) {
            return { resources: resources.length, error: e as Error };
        }
    }

    it("fails on invalid config before any resource is registered", async () => {
        const run = loadProgram({ architecture: "prod", scheduler: { replicas: 0 } });
        assert.ok(run.error instanceof StackConfigError, `expected a config error, got ${run.error}`);
        assert.strictEqual(run.error.problems.length, 2);
        await new Promise((r) => setTimeout(r, 50));
        const resources = installMocks();
        assert.strictEqual(run.resources, 0);
        assert.strictEqual(resources.length, 0);
    });

    it("exports the outputs people and other stacks need, the admin password as a secret", async () => {
        const run = loadProgram({ namespace: "airflow-test" });
        assert.ifError(run.error);
        const { resolve } = await import("./support/harness");
        const out = run.exports;
        assert.strictEqual((await resolve(out.namespace)).value, "airflow-test");
        assert.strictEqual((await resolve(out.uiServiceName)).value, "airflow-api-server");
        assert.strictEqual((await resolve(out.uiUrl)).value, "http://airflow-api-server.airflow-test.svc:8080/");
        assert.strictEqual((await resolve(out.dagsClaimName)).value, "airflow-storage-dags");
        assert.strictEqual((await resolve(out.metadataSecretName)).value, "airflow-postgres-credentials");
        assert.strictEqual((await resolve(out.airflowImage)).value, `apache/airflow:${DEFAULT_AIRFLOW_VERSION}`);
        assert.match(String((await resolve(out.migrationJobName)).value), /^airflow-migrate-[0-9a-f]{10}$/);
        const password = await resolve(out.adminPassword);
        assert.strictEqual(password.secret, true, "adminPassword must be a secret output");
    });
});
