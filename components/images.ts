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

// Loaded on first use: most stacks build no image, and every preview of theirs skips the modules' load.
const docker = (): typeof Docker => require("@pulumi/docker");
const gcp = (): typeof Gcp => require("@pulumi/gcp");

/** Docker build platform used when none is given. */
export const DEFAULT_PLATFORM = "linux/amd64";

export interface AirflowImagesArgs {
    /** Airflow version; picks the default upstream image and is passed to the base build. */
    airflowVersion: string;
    /**
     * Build and push the base and DAG images. When false, `prebuiltImage` is used as is.
     * @default false
     */
    build?: boolean;
    /**
     * Image every Airflow pod runs when `build` is false (DAGs in it, or synced by git-sync).
     * @default `apache/airflow:<airflowVersion>`
     */
    prebuiltImage?: pulumi.Input<string>;
    /**
     * Build context of the base image (Dockerfile + requirements.txt), relative to the project.
     * @default "images/base"
     */
    baseContext?: string;
    /**
     * Image the base image is built FROM (build arg AIRFLOW_BASE_IMAGE).
     * @default `apache/airflow:<airflowVersion>`
     */
    baseFromImage?: string;
    /**
     * Build context of the DAG image (Dockerfile, dags/), relative to the project.
     * @default "images/dags"
     */
    dagsContext?: string;
    /**
     * Target platform of every build; fixed so that machines of another architecture do not rebuild.
     * @default "linux/amd64"
     */
    platform?: string;
    /** Task images to build: name -> build context. Each is built with BASE_IMAGE = the Airflow base. */
    taskContexts?: Record<string, string>;
    /**
     * Dockerfile of a task image, relative to its context, by task name.
     * @default "Dockerfile"
     */
    taskDockerfiles?: Record<string, string>;
    /**
     * Where images are pushed: `host[/path]`, e.g. `ghcr.io/acme` or `europe-docker.pkg.dev/proj/airflow`.
     * Ignored when an Artifact Registry repository is created.
     */
    registryServer?: pulumi.Input<string>;
    /** Registry user; omit to use the Docker credentials of the machine running Pulumi. */
    registryUsername?: pulumi.Input<string>;
    /** Registry password or token; stored as a Pulumi secret. */
    registryPassword?: pulumi.Input<string>;
    /** Create a Docker repository in Artifact Registry in this project and push there. */
    artifactRegistryProject?: string;
    /** Artifact Registry location, e.g. `europe-west1`. Required with `artifactRegistryProject`. */
    artifactRegistryLocation?: string;
    /**
     * Artifact Registry repository id.
     * @default "airflow"
     */
    artifactRegistryRepositoryId?: string;
    /**
     * Tag pushed with each image. Pods use the digest, so the tag is only a human-readable pointer.
     * @default the Pulumi stack name
     */
    tag?: string;
    /**
     * Prefix of the image repository names: `<prefix>-base`, `<prefix>-dags`, `<prefix>-task-<name>`.
     * @default "airflow"
     */
    imagePrefix?: string;
}

/** Base, DAG and task images; every output is a digest-pinned reference (or the prebuilt reference). */
export class AirflowImages extends pulumi.ComponentResource {
    /** Image every Airflow process runs: the DAG image's repoDigest, or the prebuilt reference. */
    readonly airflowImage: pulumi.Output<string>;
    /** The base image (repoDigest), or the prebuilt reference when nothing is built. */
    readonly baseImage: pulumi.Output<string>;
    /** Task image name -> digest-pinned reference (published to DAGs as the `task_images` Variable). */
    readonly taskImages: pulumi.Output<Record<string, string>>;
    /** Registry path images are pushed to (undefined when nothing is pushed). */
    readonly registry?: pulumi.Output<string>;

    constructor(name: string, args: AirflowImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:index:AirflowImages", name, {}, opts);

        const upstream = `apache/airflow:${args.airflowVersion}`;
        const platform = args.platform ?? DEFAULT_PLATFORM;
        const tag = args.tag ?? pulumi.getStack();
        const prefix = args.imagePrefix ?? "airflow";
        const taskNames = Object.keys(args.taskContexts ?? {}).sort();
        for (const task of Object.keys(args.taskDockerfiles ?? {})) {
            if (!taskNames.includes(task)) {
                throw new pulumi.ResourceError(`taskDockerfiles.${task} has no matching taskContexts.${task}`, this);
            }
        }
        const pushes = args.build === true || taskNames.length > 0;

        const registry = pushes ? this.registryFor(name, args) : undefined;
        this.registry = registry?.path;

        const image = (suffix: string, context: string, dockerfile: string, buildArgs: Record<string, pulumi.Input<string>>) => {
            if (!registry) {
                throw new pulumi.ResourceError("internal: image build without a registry", this);
            }
            const repository = pulumi.interpolate`${registry.path}/${prefix}-${suffix}`;
            const { Image } = docker();
            return new Image(
                `${name}-${suffix}`,
                {
                    imageName: pulumi.interpolate`${repository}:${tag}`,
                    build: {
                        context,
                        dockerfile: path.join(context, dockerfile),
                        platform,
                        args: buildArgs,
                        // A CI runner starts with an empty layer cache: reuse the layers of the last push.
                        cacheFrom: { images: [pulumi.interpolate`${repository}:${tag}`] },
                    },
                    registry: registry.auth,
                    skipPush: false,
                },
                { parent: this },
            );
        };

        if (args.build) {
            const base = image("base", args.baseContext ?? "images/base", "Dockerfile", {
                AIRFLOW_BASE_IMAGE: args.baseFromImage ?? upstream,
                AIRFLOW_VERSION: args.airflowVersion,
            });
            // FROM the base by digest: a DAG-only change rebuilds the DAG layer and nothing else.
            const dags = image("dags", args.dagsContext ?? "images/dags", "Dockerfile", { BASE_IMAGE: base.repoDigest });
            this.baseImage = base.repoDigest;
            this.airflowImage = dags.repoDigest;
        } else {
            this.baseImage = pulumi.output(args.prebuiltImage ?? upstream);
            this.airflowImage = this.baseImage;
        }

        const tasks: Record<string, pulumi.Output<string>> = {};
        for (const task of taskNames) {
            const context = args.taskContexts![task];
            const built = image(`task-${task}`, context, args.taskDockerfiles?.[task] ?? "Dockerfile", { BASE_IMAGE: this.baseImage });
            tasks[task] = built.repoDigest;
        }
        this.taskImages = pulumi.output(tasks) as pulumi.Output<Record<string, string>>;

        this.registerOutputs({ airflowImage: this.airflowImage, baseImage: this.baseImage, taskImages: this.taskImages, registry: this.registry });
    }

    /** Registry path to push to and the docker provider's login for it. */
    private registryFor(name: string, args: AirflowImagesArgs): { path: pulumi.Output<string>; auth: Docker.types.input.Registry } {
        if (args.artifactRegistryProject !== undefined || args.artifactRegistryLocation !== undefined) {
            const project = args.artifactRegistryProject;
            const location = args.artifactRegistryLocation;
            if (!project || !location) {
                throw new pulumi.ResourceError("artifactRegistryProject and artifactRegistryLocation must be given together (config registry.artifactRegistry)", this);
            }
            const repositoryId = args.artifactRegistryRepositoryId ?? "airflow";
            const repository = new (gcp().artifactregistry.Repository)(
                `${name}-registry`,
                {
                    project,
                    location,
                    repositoryId,
                    format: "DOCKER",
                    description: "Airflow base, DAG and task images",
                },
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
        if (args.registryServer === undefined) {
            throw new pulumi.ResourceError(
                "a registry is required to push built images: set registry.server (with registry.username and the secret registryPassword) or registry.artifactRegistry",
                this,
            );
        }
        const server = pulumi.output(args.registryServer).apply((s) => s.replace(/\/+$/, ""));
        const host = server.apply((s) => s.split("/")[0]);
        const auth: Docker.types.input.Registry = { server: host };
        if (args.registryUsername !== undefined || args.registryPassword !== undefined) {
            if (args.registryUsername === undefined || args.registryPassword === undefined) {
                throw new pulumi.ResourceError("registry.username and the secret config registryPassword must be set together", this);
            }
            auth.username = args.registryUsername;
            auth.password = pulumi.secret(args.registryPassword);
        }
        return { path: server, auth };
    }
}
