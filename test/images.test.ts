import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { StackConfigError, StackConfigInput, stackConfigSchema, validateStackConfig } from "../components/config";
import { AirflowImages, AirflowImagesArgs } from "../components/images";
import { installComponentMocks, MOCK_ACCESS_TOKEN, mockDigest, recorded, Recorder, valueOf } from "./componentMocks";
import { isSecretEnvelope, unwrapSecrets } from "./support/harness";

const IMAGE = "docker:index/image:Image";
const DIGEST = /^[a-z0-9.\-/:]+@sha256:[a-f0-9]{64}$/;

function byName(resources: { name: string }[], name: string): any {
    const found = resources.find((r) => r.name === name);
    assert.ok(found, `no resource ${name}; have ${resources.map((r) => r.name).join(", ")}`);
    return found;
}

/** The component's args from config as written in a stack file: the schema applies the defaults. */
function imagesArgs(input: StackConfigInput, registryPassword?: pulumi.Input<string>): AirflowImagesArgs {
    const c = stackConfigSchema.parse(input);
    return { airflowVersion: c.airflowVersion, images: c.images, registry: c.registry, registryPassword };
}

describe("AirflowImages", () => {
    describe("build with a registry server and password", () => {
        let rec: Recorder;
        let images: AirflowImages;
        before(() => {
            rec = installComponentMocks("prod");
            images = new AirflowImages(
                "img",
                imagesArgs(
                    {
                        airflowVersion: "3.3.2",
                        images: { build: { enabled: true }, tasks: { example: { context: "images/tasks/example" }, other: { context: "tasks/other", dockerfile: "build/Dockerfile" } } },
                        registry: { server: "ghcr.io/acme/airflow/", username: "ci-bot" },
                    },
                    pulumi.secret("s3cret-token"),
                ),
            );
        });

        it("builds the base from the upstream Airflow image for the version, for a fixed platform", async () => {
            const base = byName(await recorded(rec, IMAGE), "img-base");
            assert.strictEqual(base.inputs.imageName, "ghcr.io/acme/airflow/airflow-base:prod");
            assert.strictEqual(base.inputs.build.context, "images/base");
            assert.strictEqual(base.inputs.build.dockerfile, "images/base/Dockerfile");
            assert.strictEqual(base.inputs.build.platform, "linux/amd64");
            assert.deepStrictEqual(base.inputs.build.args, { AIRFLOW_BASE_IMAGE: "apache/airflow:3.3.2", AIRFLOW_VERSION: "3.3.2", BUILDKIT_INLINE_CACHE: "1" });
            assert.deepStrictEqual(base.inputs.build.cacheFrom, { images: ["ghcr.io/acme/airflow/airflow-base:prod"] });
            assert.strictEqual(base.inputs.skipPush, false);
        });

        it("builds the DAG image FROM the base image's digest", async () => {
            const dags = byName(await recorded(rec, IMAGE), "img-dags");
            assert.strictEqual(dags.inputs.build.context, "images/dags");
            assert.strictEqual(dags.inputs.build.args.BASE_IMAGE, `ghcr.io/acme/airflow/airflow-base@${mockDigest("img-base")}`);
            assert.strictEqual(dags.inputs.build.args.BUILDKIT_INLINE_CACHE, "1", "its push carries BuildKit's cache metadata, for the next cacheFrom");
        });

        it("logs in to the registry host with the password as a secret", async () => {
            for (const image of await recorded(rec, IMAGE)) {
                // The SDK marks the whole registry object secret because it holds the password.
                assert.ok(isSecretEnvelope(image.inputs.registry) || isSecretEnvelope(image.inputs.registry.password), `${image.name}: password must be a secret`);
                assert.deepStrictEqual(unwrapSecrets(image.inputs.registry), { server: "ghcr.io", username: "ci-bot", password: "s3cret-token" }, image.name);
            }
        });

        it("outputs digest-pinned references: the DAG image for Airflow, the base separately", async () => {
            assert.strictEqual(await valueOf(images.airflowImage), `ghcr.io/acme/airflow/airflow-dags@${mockDigest("img-dags")}`);
            assert.strictEqual(await valueOf(images.baseImage), `ghcr.io/acme/airflow/airflow-base@${mockDigest("img-base")}`);
            assert.match(await valueOf(images.airflowImage), DIGEST);
        });

        it("builds each task image FROM the base and maps its name to its digest", async () => {
            const all = await recorded(rec, IMAGE);
            const example = byName(all, "img-task-example");
            assert.strictEqual(example.inputs.imageName, "ghcr.io/acme/airflow/airflow-task-example:prod");
            assert.strictEqual(example.inputs.build.dockerfile, "images/tasks/example/Dockerfile");
            assert.strictEqual(example.inputs.build.args.BASE_IMAGE, `ghcr.io/acme/airflow/airflow-base@${mockDigest("img-base")}`);
            assert.strictEqual(byName(all, "img-task-other").inputs.build.dockerfile, "tasks/other/build/Dockerfile");
            assert.deepStrictEqual(await valueOf(images.taskImages), {
                example: `ghcr.io/acme/airflow/airflow-task-example@${mockDigest("img-task-example")}`,
                other: `ghcr.io/acme/airflow/airflow-task-other@${mockDigest("img-task-other")}`,
            });
            assert.strictEqual(all.length, 4);
        });
    });

    describe("build where the daemon has no bridge and the constraints file is mirrored (the lab's dockerd)", () => {
        let rec: Recorder;
        before(() => {
            rec = installComponentMocks("lab");
            new AirflowImages(
                "img",
                imagesArgs({
                    airflowVersion: "3.3.2",
                    images: {
                        build: { enabled: true, network: "host", baseArgs: { AIRFLOW_CONSTRAINTS_URL: "/opt/mirror/constraints.txt" } },
                        tasks: { example: { context: "images/tasks/example" } },
                    },
                    registry: { server: "127.0.0.1:25000/airflow" },
                }),
            );
        });

        it("passes the extra base build args to the base only, beside the package's own", async () => {
            const all = await recorded(rec, IMAGE);
            assert.deepStrictEqual(byName(all, "img-base").inputs.build.args, {
                AIRFLOW_CONSTRAINTS_URL: "/opt/mirror/constraints.txt",
                AIRFLOW_BASE_IMAGE: "apache/airflow:3.3.2",
                AIRFLOW_VERSION: "3.3.2",
                BUILDKIT_INLINE_CACHE: "1",
            });
            for (const name of ["img-dags", "img-task-example"]) assert.deepStrictEqual(Object.keys(byName(all, name).inputs.build.args), ["BASE_IMAGE", "BUILDKIT_INLINE_CACHE"], name);
        });

        it("runs every build's RUN steps on the given network, and logs in to the loopback registry with the machine's credentials", async () => {
            for (const image of await recorded(rec, IMAGE)) {
                assert.strictEqual(image.inputs.build.network, "host", image.name);
                assert.deepStrictEqual(unwrapSecrets(image.inputs.registry), { server: "127.0.0.1:25000" }, image.name);
                assert.match(image.inputs.imageName, /^127\.0\.0\.1:25000\/airflow\/airflow-[a-z-]+:lab$/);
            }
        });

        it("leaves the network to the daemon when unset", async () => {
            const r = installComponentMocks("dev");
            new AirflowImages("img", imagesArgs({ airflowVersion: "3.3.2", images: { build: { enabled: true } }, registry: { server: "ghcr.io/acme" } }));
            for (const image of await recorded(r, IMAGE)) assert.strictEqual("network" in image.inputs.build, false, image.name);
        });
    });

    describe("build into a new Artifact Registry repository", () => {
        let rec: Recorder;
        let images: AirflowImages;
        before(() => {
            rec = installComponentMocks("dev");
            images = new AirflowImages(
                "img",
                imagesArgs({
                    airflowVersion: "3.3.2",
                    images: { build: { enabled: true, baseImage: "mirror.example.com/apache/airflow:3.3.2-python3.12", platform: "linux/arm64" } },
                    registry: { artifactRegistry: { project: "acme-data", location: "europe-west1" } },
                }),
            );
        });

        it("creates a DOCKER repository and pushes to <location>-docker.pkg.dev/<project>/<repo>", async () => {
            const [repo] = await recorded(rec, "gcp:artifactregistry/repository:Repository");
            assert.deepStrictEqual(
                { project: repo.inputs.project, location: repo.inputs.location, repositoryId: repo.inputs.repositoryId, format: repo.inputs.format },
                { project: "acme-data", location: "europe-west1", repositoryId: "airflow", format: "DOCKER" },
            );
            const base = byName(await recorded(rec, IMAGE), "img-base");
            assert.strictEqual(base.inputs.imageName, "europe-west1-docker.pkg.dev/acme-data/airflow/airflow-base:dev");
            assert.strictEqual(base.inputs.build.args.AIRFLOW_BASE_IMAGE, "mirror.example.com/apache/airflow:3.3.2-python3.12");
            assert.strictEqual(base.inputs.build.platform, "linux/arm64");
        });

        it("authenticates with the gcp client's access token, as a secret", async () => {
            assert.ok(rec.invokes.some((i) => i.token === "gcp:organizations/getClientConfig:getClientConfig"));
            const base = byName(await recorded(rec, IMAGE), "img-base");
            assert.ok(isSecretEnvelope(base.inputs.registry) || isSecretEnvelope(base.inputs.registry.password));
            assert.deepStrictEqual(unwrapSecrets(base.inputs.registry), { server: "europe-west1-docker.pkg.dev", username: "oauth2accesstoken", password: MOCK_ACCESS_TOKEN });
            assert.strictEqual(await valueOf(images.registry!), "europe-west1-docker.pkg.dev/acme-data/airflow");
        });
    });

    describe("prebuilt image, nothing built", () => {
        it("passes the prebuilt reference through and registers no image or registry", async () => {
            const rec = installComponentMocks();
            const images = new AirflowImages("img", imagesArgs({ airflowVersion: "3.3.2", images: { airflow: "registry.example.com/airflow@sha256:" + "cd".repeat(32) } }));
            assert.strictEqual(await valueOf(images.airflowImage), "registry.example.com/airflow@sha256:" + "cd".repeat(32));
            assert.strictEqual(await valueOf(images.baseImage), await valueOf(images.airflowImage));
            assert.deepStrictEqual(await valueOf(images.taskImages), {});
            assert.deepStrictEqual((await recorded(rec)).map((r) => r.type), ["airflow-kubernetes:index:AirflowImages"]);
        });

        it("defaults to the upstream image of the Airflow version", async () => {
            installComponentMocks();
            const images = new AirflowImages("img", imagesArgs({ airflowVersion: "3.3.1" }));
            assert.strictEqual(await valueOf(images.airflowImage), "apache/airflow:3.3.1");
        });

        it("builds task images FROM the prebuilt image when a registry is given", async () => {
            const rec = installComponentMocks();
            new AirflowImages("img", imagesArgs({ airflowVersion: "3.3.2", registry: { server: "registry.example.com:5000/team" }, images: { tasks: { example: { context: "images/tasks/example" } } } }));
            const all = await recorded(rec, IMAGE);
            assert.deepStrictEqual(all.map((r) => r.name), ["img-task-example"]);
            assert.strictEqual(all[0].inputs.build.args.BASE_IMAGE, "apache/airflow:3.3.2");
            assert.deepStrictEqual(unwrapSecrets(all[0].inputs.registry), { server: "registry.example.com:5000" }, "no login: the machine's docker credentials are used");
        });
    });

    // The component takes the validated config: incomplete registry settings never reach it, since
    // validation refuses them before any resource is registered (the component's own guards went).
    describe("incomplete registry settings are refused before the component exists", () => {
        const cases: [string, StackConfigInput, RegExp][] = [
            ["a build without any registry", { images: { build: { enabled: true } } }, /registry\.server: is required when images\.build\.enabled/],
            ["a username without a password", { images: { build: { enabled: true } }, registry: { server: "ghcr.io/acme", username: "bot" } }, /registryPassword: is required with registry\.username/],
            ["Artifact Registry without a location", { images: { build: { enabled: true } }, registry: { artifactRegistry: { project: "acme-data" } as never } }, /registry\.artifactRegistry\.location: is required/],
            ["a base build arg the package sets", { images: { build: { enabled: true, baseArgs: { AIRFLOW_VERSION: "2.10.0" } } }, registry: { server: "ghcr.io/acme" } }, /images\.build\.baseArgs\.AIRFLOW_VERSION: is set by the package/],
            ["a build network Docker does not know", { images: { build: { enabled: true, network: "bridge" as never } }, registry: { server: "ghcr.io/acme" } }, /images\.build\.network: .*"default".*"host".*"none"/],
            ["a Dockerfile for an unknown task", { images: { tasks: { ghost: { dockerfile: "Dockerfile" } as never } }, registry: { server: "ghcr.io/acme" } }, /images\.tasks\.ghost\.context: is required/],
        ];
        for (const [what, input, message] of cases) {
            it(what, () => {
                assert.throws(
                    () => validateStackConfig(input as Record<string, unknown>, { registryPasswordSet: false }),
                    (e: Error) => e instanceof StackConfigError && e.problems.some((p) => message.test(p)),
                );
            });
        }
    });
});
