// Images and where built ones are pushed: the images, registry and infrastructure sections.
import { z } from "zod";
import { objectName, dnsLabel } from "../../kubernetesObjects";
import { DEFAULT_GIT_SYNC_IMAGE } from "../constants";
import { gcpProject, imageRef } from "../fields";

export const imagesSections = {
    /** Images: the prebuilt Airflow image, or the base, DAG and task images built and pushed with Docker; the Postgres, git-sync and setup images; pull policy and pull secrets. */
    images: z
        .strictObject({
            /** A prebuilt Airflow image (DAGs included or synced by git-sync). Ignored when build.enabled. */
            airflow: imageRef.optional(),
            pullPolicy: z.enum(["IfNotPresent", "Always", "Never"]).default("IfNotPresent"),
            /** Secrets (kubernetes.io/dockerconfigjson) for private registries, on every pod the package renders. */
            pullSecrets: z.array(objectName).prefault([]),
            postgres: imageRef.default("postgres:17.6-bookworm"),
            gitSync: imageRef.default(DEFAULT_GIT_SYNC_IMAGE),
            /**
             * Image of the one-shot Job that makes new shared volumes group-writable (pvc and filestore
             * storage); it needs `sh`, `mkdir` and `chmod`. Point it at a mirror on clusters without Docker Hub.
             */
            setup: imageRef.default("busybox:1.37.0"),
            /** Build and push the base and DAG images with Docker (see components/images.ts). */
            build: z
                .strictObject({
                    enabled: z.boolean().default(false),
                    /** Build context of the base image (Dockerfile + requirements.txt). */
                    baseContext: z.string().default("images/base"),
                    /** Image the base is built FROM; defaults to apache/airflow:<airflowVersion>. */
                    baseImage: imageRef.optional(),
                    /** Build context of the DAG image (FROM base; adds dags/ and the team package). */
                    dagsContext: z.string().default("images/dags"),
                    /** Target platform, e.g. linux/amd64. */
                    platform: z.string().default("linux/amd64"),
                    /**
                     * More build args of the base image, e.g. AIRFLOW_CONSTRAINTS_URL for a mirrored
                     * constraints file where the build cannot reach GitHub. AIRFLOW_BASE_IMAGE and
                     * AIRFLOW_VERSION come from baseImage and airflowVersion.
                     */
                    baseArgs: z
                        .record(
                            z
                                .string()
                                .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a build arg name: letters, digits and '_', not starting with a digit")
                                .refine((k) => k !== "AIRFLOW_BASE_IMAGE" && k !== "AIRFLOW_VERSION", "is set by the package (from images.build.baseImage and airflowVersion)"),
                            z.string(),
                        )
                        .prefault({}),
                    /**
                     * Network of the builds' RUN steps: `host` where the Docker daemon has no bridge
                     * network (dockerd --bridge=none, some CI runners); the daemon's default when unset.
                     */
                    network: z.enum(["default", "host", "none"]).optional(),
                })
                .prefault({}),
            /** Task images for business logic with its own dependencies: name -> build context. */
            tasks: z.record(dnsLabel, z.strictObject({ context: z.string(), dockerfile: z.string().optional() })).prefault({}),
            /** Prebuilt task images: name -> digest-pinned reference (built elsewhere, e.g. by the task's own repository's CI). */
            taskImages: z.record(dnsLabel, imageRef).prefault({}),
        })
        .prefault({}),

    /** Where built images are pushed: any registry (server, username, secret registryPassword), or a new Artifact Registry repository. */
    registry: z
        .strictObject({
            /** Registry host and path images are pushed to, e.g. europe-docker.pkg.dev/proj/airflow. */
            server: z.string().optional(),
            /** The password is the secret config key `registryPassword` (`pulumi config set --secret`). */
            username: z.string().optional(),
            /** Create an Artifact Registry repository and push with gcloud credentials. */
            artifactRegistry: z
                .strictObject({
                    project: gcpProject,
                    /** A region (europe-west1) or multi-region (europe, us, asia). */
                    location: z.string().regex(/^[a-z]+(-[a-z]+[0-9]+)?$/, "must be an Artifact Registry location such as europe-west1 or europe"),
                    /** Lowercase letters, digits and '-', starting with a letter, at most 63. */
                    repositoryId: z
                        .string()
                        .regex(
                            /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
                            "must be an Artifact Registry repository id: lowercase letters, digits and '-', starting with a letter, at most 63",
                        )
                        .default("airflow"),
                })
                .optional(),
        })
        .prefault({}),

    /** Another stack whose outputs provide the kubeconfig and, optionally, the registry. */
    infrastructure: z
        .strictObject({
            stack: z.string().regex(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "must be a fully qualified stack name: <org>/<project>/<stack>"),
            kubeconfigOutput: z.string().default("kubeconfig"),
            registryOutput: z.string().optional(),
        })
        .optional(),
};
