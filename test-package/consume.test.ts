// The package as others get it (npm run test:package; 30-90 s, so not part of npm test):
//  1. `npm pack` builds the tarball (prepare compiles dist/ with declarations);
//  2. a second program, examples/typescript, installs that tarball in a temp copy, type-checks against
//     its .d.ts files and runs under Pulumi mocks with its own @pulumi/pulumi;
//  3. with the Pulumi CLI and its YAML / Python language plugins on PATH, the YAML example previews
//     and the Python example gets its SDK generated and previews, against a temp copy of this
//     repository as the plugin (the CLI runs `npm install` in a plugin directory). Kubernetes objects
//     are rendered to files or previewed against an unreachable cluster: no cluster is needed;
//  4. with the level-1 lab running as well (npm run lab:up), the YAML example is deployed to it and
//     destroyed: the component through the YAML language host against a real API server.
import * as assert from "assert";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AIRFLOW_ON_KUBERNETES_TYPE } from "../components/airflowOnKubernetes";
import { kubectlBinary, labKubeconfig, labVolumes } from "../lab/ts";
import { onPath, pulumiSandbox, run } from "../tools/pulumiSandbox";

const root = path.join(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "airflow-package-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

describe("the npm package", () => {
    let tarball: string;

    before(() => {
        const out = run("npm", ["pack", "--pack-destination", work, "--json"], root);
        tarball = path.join(work, JSON.parse(out)[0].filename);
    });

    it("packs compiled JavaScript with declarations, and nothing else", () => {
        const files = run("tar", ["tzf", tarball], work).trim().split("\n").map((f) => f.replace(/^package\//, "")).sort();
        assert.ok(files.includes("dist/index.js") && files.includes("dist/index.d.ts"), files.join(", "));
        assert.ok(files.includes("dist/airflowOnKubernetesArgs.d.ts"));
        assert.deepStrictEqual(files.filter((f) => !/^dist\/[\w]+\.(js|d\.ts)$/.test(f)), ["README.md", "package.json", "tools/deferPulumiExtras.js", "tools/preload.js"]);
        const args = run("tar", ["xzOf", tarball, "package/dist/airflowOnKubernetesArgs.d.ts"], work);
        assert.match(args, /Namespace every object lives in\.[\s\S]*@default "airflow"/, "the args' TSDoc survives compilation");
        assert.ok(pkg.peerDependencies["@pulumi/pulumi"] && !pkg.dependencies["@pulumi/pulumi"], "the Pulumi SDKs are peers");
        assert.strictEqual(pkg.exports["."].types, "./dist/index.d.ts");
    });

    describe("consumed by another program (examples/typescript)", () => {
        const example = path.join(work, "typescript");
        let rendered: { resources: { type: string; name: string; inputs: any }[]; outputs: Record<string, unknown>; secretOutputs: string[] };

        before(() => {
            fs.cpSync(path.join(root, "examples/typescript"), example, { recursive: true, filter: (f) => !/node_modules|bin$/.test(f) });
            // The peers and tools at the versions the example pins, from npm's cache where it has them.
            run("npm", ["install", tarball, "--prefer-offline", "--ignore-scripts"], example);
            run(process.execPath, [require.resolve("typescript/bin/tsc", { paths: [example] }), "-p", "."], example);
            const stackOutputs = { kubeconfig: "apiVersion: v1\nkind: Config\n", registry: "europe-docker.pkg.dev/acme/platform" };
            const out = run(process.execPath, [path.join(__dirname, "runProgram.js"), example, "bin/index.js", JSON.stringify(stackOutputs), JSON.stringify({ "airflow-analytics:infrastructureStack": "acme/infrastructure/prod" })], example);
            rendered = JSON.parse(out);
        });

        it("installs the tarball, not the repository", () => {
            const installed = path.join(example, "node_modules/@airflow-pulumi/airflow-kubernetes");
            assert.ok(fs.existsSync(path.join(installed, "dist/index.js")));
            assert.ok(!fs.lstatSync(installed).isSymbolicLink());
            assert.ok(!fs.existsSync(path.join(installed, "components")));
        });

        it("preloads the package's deferral, as its Pulumi.yaml says: the SDK parts a deployment never calls stay unloaded", () => {
            const nodeargs = /nodeargs: "(.*)"/.exec(fs.readFileSync(path.join(example, "Pulumi.yaml"), "utf8"))?.[1];
            assert.strictEqual(nodeargs, "--require @airflow-pulumi/airflow-kubernetes/preload");
            // as the language host starts node: in the program's directory, the preload resolved from its node_modules
            const probe = 'require("@pulumi/pulumi"); console.log(Object.keys(require.cache).filter((f) => /node_modules\\/(typescript|@npmcli\\/arborist)\\/|@pulumi\\/pulumi\\/automation\\//.test(f)).length)';
            assert.strictEqual(run(process.execPath, [...nodeargs!.split(" "), "-e", probe], example).trim(), "0");
            assert.notStrictEqual(run(process.execPath, ["-e", probe], example).trim(), "0", "without it the SDK loads them");
        });

        it("builds the whole deployment under one AirflowOnKubernetes named after the instance", () => {
            const types = rendered.resources.map((r) => r.type);
            assert.deepStrictEqual(rendered.resources.filter((r) => r.type === AIRFLOW_ON_KUBERNETES_TYPE).map((r) => r.name), ["analytics"]);
            assert.ok(types.includes("kubernetes:apps/v1:Deployment") && types.includes("pulumi:pulumi:StackReference"));
            const deployments = rendered.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment");
            assert.deepStrictEqual(deployments.map((d) => d.inputs.metadata.name).sort(), ["analytics-api-server", "analytics-dag-processor", "analytics-scheduler", "analytics-triggerer"]);
        });

        it("deploys to the infrastructure stack's cluster and registry", () => {
            const cluster = rendered.resources.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "cluster");
            assert.match(String(cluster?.inputs.kubeconfig), /kind: Config/);
            const scheduler = rendered.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === "analytics-scheduler");
            assert.strictEqual(scheduler?.inputs.spec.template.spec.containers[0].image, "europe-docker.pkg.dev/acme/platform/airflow:3.3.2");
            assert.strictEqual(rendered.outputs.airflowImage, "europe-docker.pkg.dev/acme/platform/airflow:3.3.2");
        });

        it("passes the program's transformation to every child: every Kubernetes object carries the team labels", () => {
            const objects = rendered.resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs.metadata);
            assert.ok(objects.length > 20);
            for (const o of objects) {
                assert.strictEqual(o.inputs.metadata.labels?.["example.com/team"], "analytics", `${o.type} ${o.name}`);
            }
        });

        it("exports the component's typed outputs, the admin password as a secret", () => {
            assert.strictEqual(rendered.outputs.namespace, "analytics");
            assert.strictEqual(rendered.outputs.uiUrl, "http://analytics-api-server.analytics.svc:8080/");
            assert.strictEqual(rendered.outputs.adminUsername, "analytics-admin");
            assert.deepStrictEqual(rendered.secretOutputs, ["adminPassword"]);
        });
    });
});

describe("other languages through the Pulumi CLI (skipped without the CLI and its language plugins)", () => {
    let env: NodeJS.ProcessEnv;
    let plugin: string;

    before(function () {
        const sandbox = pulumiSandbox(work);
        if (typeof sandbox === "string") {
            console.log(`      skipped: ${sandbox}`);
            this.skip();
        }
        env = sandbox.env;
        // The plugin: a copy of this repository (sources for schema inference, dist/ to run), with a
        // hard-linked node_modules whose npm metadata is a real copy (npm rewrites it in place).
        plugin = path.join(work, "plugin");
        fs.mkdirSync(plugin);
        for (const f of ["package.json", "package-lock.json", "PulumiPlugin.yaml", "tsconfig.json", "tsconfig.build.json", "tsconfig.pulumi.json", "index.ts", "components", "tools"]) {
            fs.cpSync(path.join(root, f), path.join(plugin, f), { recursive: true });
        }
        run("cp", ["-al", path.join(root, "node_modules"), path.join(plugin, "node_modules")], work);
        fs.rmSync(path.join(plugin, "node_modules/.package-lock.json"), { force: true });
        fs.copyFileSync(path.join(root, "node_modules/.package-lock.json"), path.join(plugin, "node_modules/.package-lock.json"));
        // Build dist/ now; the CLI's npm install in the plugin directory finds nothing else to do.
        run("npm", ["run", "build:package"], plugin);
    });

    /** A copy of an example whose `packages` entry points at the plugin copy, with a fresh stack. */
    function stackOf(name: string): string {
        const dir = path.join(work, name);
        fs.cpSync(path.join(root, "examples", name), dir, { recursive: true, filter: (f) => !/venv|sdks|rendered/.test(path.relative(root, f)) });
        const project = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8").replace(/^(  airflow-kubernetes: ).*$/m, `$1${plugin}`);
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), project);
        return dir;
    }

    it("gets the schema from the plugin directory (pulumi package get-schema)", () => {
        const schema = JSON.parse(run("pulumi", ["package", "get-schema", plugin], work, env));
        assert.deepStrictEqual(Object.keys(schema.resources), [AIRFLOW_ON_KUBERNETES_TYPE]);
    });

    it("previews the YAML example: the component and its children, objects rendered to files", function () {
        if (!onPath("pulumi-language-yaml")) this.skip();
        const dir = stackOf("yaml");
        run("pulumi", ["stack", "init", "test", "--non-interactive"], dir, env);
        const out = run("pulumi", ["preview", "--non-interactive", "--json"], dir, env);
        const preview = JSON.parse(out);
        const types = preview.steps.map((s: any) => s.urn.split("::")[2].split("$").pop());
        assert.ok(types.includes(AIRFLOW_ON_KUBERNETES_TYPE), types.join(", "));
        assert.ok(types.includes("kubernetes:apps/v1:StatefulSet"));
        const component = preview.steps.find((s: any) => s.urn.endsWith(`${AIRFLOW_ON_KUBERNETES_TYPE}::airflow`));
        const children = preview.steps.filter((s: any) => s.newState?.parent === component.urn);
        assert.ok(children.length >= 4, `children of the component: ${children.length}`);
    });

    it("deploys the YAML example to the lab's cluster and destroys it (skipped unless the lab runs)", function () {
        if (!onPath("pulumi-language-yaml")) this.skip();
        const kubeconfig = labKubeconfig();
        const reachable = fs.existsSync(kubeconfig) && childProcess.spawnSync(kubectlBinary(), ["--kubeconfig", kubeconfig, "get", "--raw", "/readyz"], { encoding: "utf8" }).status === 0;
        if (!reachable) {
            console.log("      skipped: no lab cluster answers (npm run lab:up starts the level-1 lab)");
            this.skip();
        }
        // the lab's volume pool: released volumes recycled, enough free for the two claims
        if (!process.env.AIRFLOW_LAB_KUBECONFIG) labVolumes(8);
        const dir = stackOf("yaml");
        // the same program, with its provider pointed at the lab instead of rendering to files
        const project = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8").replace("renderYamlToDirectory: rendered", `kubeconfig: ${kubeconfig}`);
        assert.ok(project.includes(`kubeconfig: ${kubeconfig}`));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), project);
        run("pulumi", ["stack", "init", "lab", "--non-interactive"], dir, env);
        try {
            run("pulumi", ["up", "--yes", "--non-interactive", "--skip-preview"], dir, env);
            const outputs = JSON.parse(run("pulumi", ["stack", "output", "--json", "--show-secrets"], dir, env));
            assert.strictEqual(outputs.namespace, "airflow-yaml");
            assert.strictEqual(outputs.adminUsername, "ops");
            assert.ok(outputs.adminPassword.length >= 20);
            const sts = JSON.parse(run(kubectlBinary(), ["--kubeconfig", kubeconfig, "get", "statefulset", "-n", "airflow-yaml", "-o", "json"], dir)).items;
            assert.strictEqual(sts.length, 1);
            assert.strictEqual(sts[0].status.readyReplicas, 1, "the standalone pod is Ready (the update waited for it)");
            const airflow = sts[0].spec.template.spec.containers.find((c: any) => c.name === "airflow");
            assert.strictEqual(airflow.resources.limits.memory, "6Gi", "the YAML program's args reached the pod");
        } finally {
            run("pulumi", ["destroy", "--yes", "--non-interactive", "--skip-preview"], dir, env);
        }
        assert.strictEqual(childProcess.spawnSync(kubectlBinary(), ["--kubeconfig", kubeconfig, "get", "namespace", "airflow-yaml"], { encoding: "utf8" }).status, 1, "the namespace is gone");
    });

    it("generates the Python SDK (pulumi install) and previews the Python example against another stack's cluster", function () {
        if (!onPath("pulumi-language-python") || !onPath("python3")) this.skip();
        // The infrastructure stack the example reads its kubeconfig from (a cluster nobody listens on:
        // the Kubernetes provider previews without one).
        const infra = path.join(work, "infra");
        fs.mkdirSync(infra);
        fs.writeFileSync(
            path.join(infra, "Pulumi.yaml"),
            "name: infra\nruntime: yaml\noutputs:\n  kubeconfig: |\n    apiVersion: v1\n    kind: Config\n    clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n    contexts: [{name: c, context: {cluster: c, user: u}}]\n    current-context: c\n    users: [{name: u, user: {token: none}}]\n",
        );
        if (!onPath("pulumi-language-yaml")) this.skip();
        run("pulumi", ["stack", "init", "dev", "--non-interactive"], infra, env);
        run("pulumi", ["up", "--yes", "--non-interactive"], infra, env);
        const dir = stackOf("python");
        run("pulumi", ["install"], dir, env);
        assert.ok(fs.existsSync(path.join(dir, "sdks/airflow-pulumi-airflow-kubernetes/airflow_pulumi_airflow_kubernetes/airflow_on_kubernetes.py")));
        run("pulumi", ["stack", "init", "test", "--non-interactive"], dir, env);
        run("pulumi", ["config", "set", "infrastructureStack", "organization/infra/dev"], dir, env);
        const preview = JSON.parse(run("pulumi", ["preview", "--non-interactive", "--json"], dir, env));
        const types: string[] = preview.steps.map((s: any) => s.urn.split("::")[2].split("$").pop());
        assert.ok(types.includes(AIRFLOW_ON_KUBERNETES_TYPE));
        assert.strictEqual(types.filter((t) => t === "kubernetes:apps/v1:Deployment").length, 4);
    });
});
