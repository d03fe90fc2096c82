// The component as other Pulumi languages see it (PulumiPlugin.yaml, runtime nodejs): the schema the
// Node.js SDK infers from the TypeScript types, and a construct through the provider's construct path
// with args and outputs serialized as they cross the gRPC boundary.
import * as assert from "assert";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import { serializeProperties, serializeResourceProperties } from "@pulumi/pulumi/runtime/rpc";
import * as yaml from "js-yaml";
import { AIRFLOW_ON_KUBERNETES_TYPE, AirflowOnKubernetes } from "../components/airflowOnKubernetes";
import { stackConfigSchema } from "../components/config";
import { ARGS_FILE, generateArgsSource } from "../tools/generateArgs";
import { installMocks, kubernetesObjects, SECRET_SIG_KEY, settle } from "./support/harness";

// Internal to the SDK: what the provider server does with a construct request's inputs.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { deserializeInputs } = require("@pulumi/pulumi/provider/server") as {
    deserializeInputs: (inputs: unknown, dependencies: Map<string, unknown>) => Promise<Record<string, unknown>>;
};
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as { Struct: { fromJavaScript(value: unknown): unknown } };

const root = path.join(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
/** The plugin's name as the Node.js plugin host derives it from package.json (scope dropped). */
const PLUGIN_NAME = String(pkg.name).replace(/^@[^/]+\//, "");

describe("component package: args generated from the config schema", () => {
    it("components/airflowOnKubernetesArgs.ts is up to date (npm run generate:args)", () => {
        const current = fs.readFileSync(ARGS_FILE, "utf8");
        assert.ok(current === generateArgsSource(), "components/airflowOnKubernetesArgs.ts is out of date: run npm run generate:args");
    });
});

describe("component package: the multi-language plugin", function () {
    this.timeout(120_000);
    let provider: ComponentProvider;
    let schema: any;

    before(async () => {
        provider = new ComponentProvider({ components: [AirflowOnKubernetes], dirname: root, name: PLUGIN_NAME, namespace: "airflow-pulumi" });
        schema = JSON.parse(await provider.getSchema());
    });

    it("is named after the package, as the plugin host names it, and serves the component's type token", () => {
        assert.strictEqual(PLUGIN_NAME, AIRFLOW_ON_KUBERNETES_TYPE.split(":")[0]);
        assert.deepStrictEqual(yaml.load(fs.readFileSync(path.join(root, "PulumiPlugin.yaml"), "utf8")), { runtime: "nodejs" });
        assert.deepStrictEqual(Object.keys(schema.resources), [AIRFLOW_ON_KUBERNETES_TYPE]);
        assert.strictEqual(schema.name, PLUGIN_NAME);
        assert.strictEqual(schema.version, pkg.version);
        // The plugin host serves every component the entry point exports: only this one.
        assert.strictEqual(pkg.main, "./dist/index.js");
        assert.deepStrictEqual(getPulumiComponents(require("../components/index")), [AirflowOnKubernetes]);
    });

    it("takes every stack config key as a plain input, and registryPassword as a (secret) input", () => {
        const resource = schema.resources[AIRFLOW_ON_KUBERNETES_TYPE];
        const inputs = resource.inputProperties as Record<string, any>;
        assert.deepStrictEqual(Object.keys(inputs).sort(), [...Object.keys(stackConfigSchema.shape), "registryPassword"].sort());
        assert.deepStrictEqual(resource.requiredInputs, []);
        for (const [key, input] of Object.entries(inputs)) {
            assert.strictEqual(input.plain, key === "registryPassword" ? undefined : true, `${key} plain`);
            assert.match(input.description ?? "", /Default: /, `${key} documents its default`);
        }
        assert.deepStrictEqual(inputs.architecture.$ref, `#/types/${PLUGIN_NAME}:index:Architecture`);
        assert.deepStrictEqual(schema.types[`${PLUGIN_NAME}:index:Architecture`].enum.map((e: any) => e.value), ["production", "standalone"]);
    });

    it("documents every property of every type, default or Required included", () => {
        const undocumented: string[] = [];
        for (const [token, type] of Object.entries(schema.types) as [string, any][]) {
            for (const [key, property] of Object.entries(type.properties ?? {}) as [string, any][]) {
                if (!/(Default: |Required\.)/.test(property.description ?? "")) undocumented.push(`${token}.${key}`);
            }
        }
        assert.deepStrictEqual(undocumented, []);
        assert.match(schema.types[`${PLUGIN_NAME}:index:Scheduler`].properties.replicas.description, /Default: `1`/);
        // a section shaped like another keeps its own type name, with the fields it inherits
        assert.deepStrictEqual(Object.keys(schema.types[`${PLUGIN_NAME}:index:DagProcessor`].properties).sort(), Object.keys(schema.types[`${PLUGIN_NAME}:index:Scheduler`].properties).sort());
        assert.strictEqual(schema.resources[AIRFLOW_ON_KUBERNETES_TYPE].inputProperties.dagProcessor.$ref, `#/types/${PLUGIN_NAME}:index:DagProcessor`);
    });

    it("gives every component's resources one type, ContainerResources, each holding field documenting its own defaults", () => {
        const ref = (name: string) => `#/types/${PLUGIN_NAME}:index:${name}`;
        const holders: string[] = [];
        for (const [token, type] of Object.entries(schema.types) as [string, any][]) {
            const resources = type.properties?.resources;
            if (!resources) continue;
            if (token.endsWith(":index:ExtraContainer")) {
                assert.strictEqual(resources.$ref, ref("ResourceRequirements"), "a sidecar's resources are Kubernetes' own shape");
                continue;
            }
            holders.push(token.split(":").pop()!);
            assert.strictEqual(resources.$ref, ref("ContainerResources"), token);
            assert.match(resources.description, /Default: `\{"requests":\{"cpu":"[^"]+","memory":"[^"]+"\},"limits":/, token);
        }
        assert.ok(holders.includes("Scheduler") && holders.includes("Workers") && holders.includes("Pgbouncer") && holders.length >= 10, holders.join(", "));
        const shared = schema.types[`${PLUGIN_NAME}:index:ContainerResources`].properties;
        assert.strictEqual(shared.limits.$ref, ref("ResourceQuantities"));
        assert.match(shared.limits.description, /depends on where this type is used/);
        // the defaults really differ: the scheduler's and the metrics exporter's are not the same
        const defaultOf = (type: string) => schema.types[`${PLUGIN_NAME}:index:${type}`].properties.resources.description.match(/`(\{.*\})`/)[1];
        assert.notStrictEqual(defaultOf("Scheduler"), defaultOf("Metrics"));
    });

    it("exposes the component's typed outputs, optional where an architecture has none", () => {
        const resource = schema.resources[AIRFLOW_ON_KUBERNETES_TYPE];
        assert.deepStrictEqual(Object.keys(resource.properties).sort(), [
            "adminPassword", "adminUsername", "airflowImage", "architecture", "dagsClaimName", "logsClaimName",
            "metadataSecretName", "migrationJobName", "namespace", "uiServiceName", "uiUrl",
        ]);
        assert.deepStrictEqual(resource.required, ["adminPassword", "adminUsername", "airflowImage", "architecture", "metadataSecretName", "namespace", "uiServiceName", "uiUrl"]);
    });

    it("is a schema the Pulumi CLI binds and generates an SDK from (when the CLI is installed)", function () {
        const cli = childProcess.spawnSync("pulumi", ["version"], { encoding: "utf8" });
        if (cli.status !== 0) this.skip();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airflow-schema-"));
        try {
            fs.writeFileSync(path.join(dir, "schema.json"), JSON.stringify(schema));
            const run = childProcess.spawnSync("pulumi", ["package", "gen-sdk", path.join(dir, "schema.json"), "--language", "nodejs", "--out", path.join(dir, "sdk")], {
                encoding: "utf8",
                env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
            });
            assert.strictEqual(run.status, 0, run.stderr);
            const component = fs.readFileSync(path.join(dir, "sdk/nodejs/airflowOnKubernetes.ts"), "utf8");
            assert.match(component, /scheduler\?: inputs\.SchedulerArgs;/);
            assert.match(component, /registryPassword\?: pulumi\.Input<string/);
            assert.match(component, /declare public (\/\*out\*\/ )?readonly uiUrl: pulumi\.Output<string>;/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("constructs through the provider's construct path: args in, children under the component, outputs out", async () => {
        // The args as a YAML or Python program sends them: JSON through the engine.
        const sent = {
            namespace: "data",
            architecture: "standalone",
            ui: { adminUsername: "ops", serviceType: "NodePort" },
            standalone: { resources: { limits: { memory: "8Gi" } }, parallelism: 8 },
            extraEnv: { AIRFLOW__CORE__DEFAULT_TIMEZONE: "Europe/Paris" },
        };
        const inputs = await deserializeInputs(Struct.fromJavaScript(await serializeProperties("args", sent)), new Map());
        const resources = installMocks();
        const result = await provider.construct("airflow", AIRFLOW_ON_KUBERNETES_TYPE, inputs, {});
        await settle();
        const [state] = await serializeResourceProperties("outputs", result.state as pulumi.Inputs);
        assert.strictEqual(await (result.urn as any).promise(), `urn:pulumi:test::airflow::${AIRFLOW_ON_KUBERNETES_TYPE}::airflow`);
        assert.strictEqual(state.namespace, "data");
        assert.strictEqual(state.architecture, "standalone");
        assert.strictEqual(state.adminUsername, "ops");
        assert.strictEqual(state.uiUrl, "http://airflow.data.svc:8080/");
        assert.ok(state.adminPassword[SECRET_SIG_KEY], "adminPassword leaves as a secret");
        assert.ok(!("migrationJobName" in state) || state.migrationJobName === undefined);
        const statefulSet = kubernetesObjects(resources).find((o) => o.kind === "StatefulSet") as any;
        const airflow = statefulSet.spec.template.spec.containers.find((c: any) => c.name === "airflow");
        assert.strictEqual(airflow.resources.limits.memory, "8Gi");
        assert.ok(airflow.env.some((e: any) => e.name === "AIRFLOW__CORE__DEFAULT_TIMEZONE" && e.value === "Europe/Paris"));
        assert.ok(resources.some((r) => r.type === "kubernetes:core/v1:Service" && r.state.spec.type === "NodePort"));
    });

    it("rejects bad args through the same path with every problem by key", async () => {
        const inputs = await deserializeInputs(Struct.fromJavaScript(await serializeProperties("args", { scheduler: { replicas: 0 }, ui: { port: "http" } })), new Map());
        const resources = installMocks();
        await assert.rejects(provider.construct("airflow", AIRFLOW_ON_KUBERNETES_TYPE, inputs, {}), (e: Error) => {
            assert.match(e.message, /^AirflowOnKubernetes airflow: invalid arguments \(2 problems\)/);
            assert.match(e.message, /- scheduler\.replicas: /);
            assert.match(e.message, /- ui\.port: /);
            return true;
        });
        assert.strictEqual(resources.length, 0);
    });
});
