// Container images: the base image (Airflow + providers + pinned requirements), the DAG image
// (FROM the base, adds DAG files and the team's package) and optional task images, built and
// pushed with @pulumi/docker. Pods receive digest-pinned references only, so a pod rolls exactly
// when the bytes of its image change.
//
// Preview stability: docker.Image's Check step hashes the build context (every file not excluded by
// the context's .dockerignore, plus the Dockerfile) into `build.contextDigest`, and Diff compares the
// stored inputs (imageName, build args, platform, contextDigest, registry.server) with the new ones.
// Changes to registry username/password are ignored by Diff, so a fresh Artifact Registry access
// token on every run causes no rebuild. An unchanged context therefore shows no diff; the DAG image's
// BASE_IMAGE build arg is the base's repoDigest, so it changes only when the base really changed.
// Keep generated files (__pycache__, *.pyc, .venv) out of the contexts with .dockerignore, or a local
// test run would change the hash and trigger a rebuild.
import * as path from "path";
import type * as Docker from "@pulumi/docker";
import type * as Gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import type { StackConfig } from "./config";

// Loaded on first use: most stacks build no image, and every preview of theirs skips the modules' load.
const docker = (): typeof Docker => require("@pulumi/docker");
const gcp = (): typeof Gcp => require("@pulumi/gcp");

/** Prefix of the image repository names: `<prefix>-base`, `<prefix>-dags`, `<prefix>-task-<name>`. */
const IMAGE_PREFIX = "airflow";

export interface AirflowImagesArgs {
    /** Airflow version; picks the default upstream image and is passed to the base build. */
    airflowVersion: string;
    /** The images section: the prebuilt image, or what to build (base, DAG and task images). */
    images: StackConfig["images"];
    /** Where built images are pushed: a registry server and user, or a new Artifact Registry repository. */
    registry: StackConfig["registry"];
    /** The registry from infrastructure.registryOutput, used when registry.server is not set. */
    infrastructureRegistry?: pulumi.Input<string>;
    /** registry.username's password or token; stored as a Pulumi secret. */
    registryPassword?: pulumi.Input<string>;
}

/** Base, DAG and task images; every output is a digest-pinned reference (or the prebuilt reference). */
export class AirflowImages extends pulumi.ComponentResource {
    /** Image every Airflow process runs: the DAG image's repoDigest, or the prebuilt reference. */
    readonly airflowImage: pulumi.Output<string>;
    /** The base image (repoDigest), or the prebuilt reference when nothing is built. */
    readonly baseImage: pulumi.Output<string>;
    /** Task image name -> digest-pinned reference, built or prebuilt (published to DAGs as the `task_images` Variable). */
    readonly taskImages: pulumi.Output<Record<string, string>>;
    /** Registry path images are pushed to (undefined when nothing is pushed). */
    readonly registry?: pulumi.Output<string>;

    constructor(name: string, args: AirflowImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("AirflowImages"), name, {}, withLegacyType("AirflowImages", opts));

        const upstream = `apache/airflow:${args.airflowVersion}`;
        const { build, tasks } = args.images;
        // Pods use the digest, so the tag is only a human-readable pointer: the stack's name.
        const tag = pulumi.getStack();
        const taskNames = Object.keys(tasks).sort();
        const registry = build.enabled || taskNames.length > 0 ? this.registryFor(name, args) : undefined;
        this.registry = registry?.path;

        const image = (suffix: string, context: string, dockerfile: string, buildArgs: Record<string, pulumi.Input<string>>) => {
            // The schema requires a registry whenever something is built.
            const { path: registryPath, auth } = registry!;
            const repository = pulumi.interpolate`${registryPath}/${IMAGE_PREFIX}-${suffix}`;
            const { Image } = docker();
            return new Image(
                `${name}-${suffix}`,
                {
                    imageName: pulumi.interpolate`${repository}:${tag}`,
                    build: {
                        context,
                        dockerfile: path.join(context, dockerfile),
                        // fixed, so that machines of another architecture do not rebuild
                        platform: build.platform,
                        // BuildKit (the provider's builder) reuses a cacheFrom image's layers only when that
                        // image carries its cache metadata: every push here carries it
                        args: { ...buildArgs, BUILDKIT_INLINE_CACHE: "1" },
                        ...(build.network !== undefined ? { network: build.network } : {}),
                        // A CI runner starts with an empty layer cache: reuse the layers of the last push (inline cache above).
                        cacheFrom: { images: [pulumi.interpolate`${repository}:${tag}`] },
                    },
                    registry: auth,
                    skipPush: false,
                },
                { parent: this },
            );
        };

        if (build.enabled) {
            const base = image("base", build.baseContext, "Dockerfile", {
                ...build.baseArgs,
                AIRFLOW_BASE_IMAGE: build.baseImage ?? upstream,
                AIRFLOW_VERSION: args.airflowVersion,
            });
            // FROM the base by digest: a DAG-only change rebuilds the DAG layer and nothing else.
            const dags = image("dags", build.dagsContext, "Dockerfile", { BASE_IMAGE: base.repoDigest });
            this.baseImage = base.repoDigest;
            this.airflowImage = dags.repoDigest;
        } else {
            this.baseImage = pulumi.output(args.images.airflow ?? upstream);
            this.airflowImage = this.baseImage;
        }

        const built: Record<string, pulumi.Output<string>> = {};
        for (const task of taskNames) {
            built[task] = image(`task-${task}`, tasks[task].context, tasks[task].dockerfile ?? "Dockerfile", { BASE_IMAGE: this.baseImage }).repoDigest;
        }
        // built task images and prebuilt ones (images.taskImages) reach DAGs as one name -> reference map
        this.taskImages = pulumi.output({ ...args.images.taskImages, ...built }) as pulumi.Output<Record<string, string>>;

        this.registerOutputs({ airflowImage: this.airflowImage, baseImage: this.baseImage, taskImages: this.taskImages, registry: this.registry });
    }

    /** Registry path to push to and the docker provider's login for it. */
    private registryFor(name: string, args: AirflowImagesArgs): { path: pulumi.Output<string>; auth: Docker.types.input.Registry } {
        const { artifactRegistry, server, username } = args.registry;
        if (artifactRegistry !== undefined) {
            const { project, location, repositoryId } = artifactRegistry;
            const repository = new (gcp().artifactregistry.Repository)(
                `${name}-registry`,
                { project, location, repositoryId, format: "DOCKER", description: "Airflow base, DAG and task images" },
                { parent: this },
            );
            const host = `${location}-docker.pkg.dev`;
            // Short-lived OAuth token of the credentials Pulumi runs with (gcloud ADC or workload identity).
            const token = gcp().organizations.getClientConfigOutput({ parent: this }).accessToken;
            return {
                path: pulumi.interpolate`${host}/${repository.project}/${repository.repositoryId}`,
                auth: { server: host, username: "oauth2accesstoken", password: pulumi.secret(token) },
            };
        }
        // The schema requires registry.server (or infrastructure.registryOutput) when nothing else is set.
        const registryPath = pulumi.output((server ?? args.infrastructureRegistry)!).apply((s) => s.replace(/\/+$/, ""));
        const host = registryPath.apply((s) => s.split("/")[0]);
        // Without a user, the Docker credentials of the machine running Pulumi; validation requires
        // the secret registryPassword with registry.username.
        const auth: Docker.types.input.Registry = username !== undefined ? { server: host, username, password: pulumi.secret(args.registryPassword!) } : { server: host };
        return { path: registryPath, auth };
    }
}
