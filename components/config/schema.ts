// The stack config's schema, section by section (sections/), without the rules across sections
// (rules.ts adds them: see parse.ts's stackConfigSchema), and the types the components take.
//
// Every key lives in the project's config namespace (`airflow:<key>` in Pulumi.<stack>.yaml).
// Unknown keys are errors too: a typo such as `schedulr` must not silently fall back to a default.
import { z } from "zod";
import { dnsLabel, objectName, PodExtensionSettings } from "../kubernetesObjects";
import { DEFAULT_AIRFLOW_VERSION } from "./constants";
import { quantity, resources, scratch } from "./fields";
import { envSources } from "./secretEnv";
import { dagSections } from "./sections/dags";
import { dataSections } from "./sections/data";
import { imagesSections } from "./sections/images";
import { networkSections } from "./sections/network";
import { operationsSections } from "./sections/operations";
import { uiSections } from "./sections/ui";
import { workloadsSections } from "./sections/workloads";

export const sectionsSchema = z.strictObject({
    /** Namespace every object lives in. */
    namespace: dnsLabel.default("airflow"),
    /** Create the namespace (false when a platform team owns it). */
    createNamespace: z.boolean().default(true),
    /** `production`: KubernetesExecutor, one pod per component. `standalone`: one StatefulSet pod. */
    architecture: z.enum(["production", "standalone"]).default("production"),
    /** Airflow version; also picks the default image and names the migration Job. */
    airflowVersion: z
        .string()
        .regex(/^3\.\d+\.\d+$/, "must be an Airflow 3 version such as 3.3.2")
        .default(DEFAULT_AIRFLOW_VERSION),

    /**
     * Airflow's generated keys. Raising `generation` by one rotates the Fernet key (the previous one
     * stays as the second key, and `airflow rotate-fernet-key` re-encrypts every stored secret), the
     * JWT signing key (an Ed25519 key; the previous generation's stays trusted) and the API secret
     * key, and restarts the control plane. See docs/operations.md.
     */
    keys: z
        .strictObject({
            /** Rotation generation: 0 is the keys made at the first deploy; raise it by one to rotate. */
            generation: z
                .int({ error: "must be a whole number: 0 for the first keys, then 1, 2, ... (raise it by one to rotate)" })
                .min(0, "must be 0 or more")
                .max(100000, "must be at most 100000")
                .default(0),
        })
        .prefault({}),

    ...imagesSections,
    ...workloadsSections,
    ...dataSections,
    ...dagSections,
    ...uiSections,

    /** Standalone architecture: one pod with Postgres + Airflow (LocalExecutor). */
    standalone: z
        .strictObject({
            storageSize: quantity.default("8Gi"),
            storageClassName: objectName.optional(),
            parallelism: z.int().min(1).max(64).default(4),
            resources: resources({ requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "2", memory: "4Gi" } }),
            // Scratch space of the Airflow container, where the LocalExecutor runs the tasks too.
            ...scratch,
        })
        .prefault({}),

    /** DAG files are baked into the Airflow image (the DAG image) instead of a volume or git-sync. */
    dagsInImage: z.boolean().default(false),
    /**
     * Env for every Airflow container (workers included): `extraEnv` for non-secret settings such as
     * AIRFLOW__CORE__PARALLELISM, `secretEnv` and `envFromSecrets` for values kept in Secrets.
     */
    ...envSources(""),
    /** Default-deny NetworkPolicies plus the allows each component needs. */
    networkPolicies: z.boolean().default(true),
    ...networkSections,
    ...operationsSections,
});

export type StackConfig = z.output<typeof sectionsSchema>;
export type StackConfigInput = z.input<typeof sectionsSchema>;
export type ResourceSettings = StackConfig["scheduler"]["resources"];
export type WorkloadSettings = StackConfig["scheduler"];
export type EnvSettings = Pick<WorkloadSettings, "extraEnv" | "secretEnv" | "envFromSecrets">;
export type ScratchSettings = Pick<WorkloadSettings, "tmpSize" | "homeSize">;
export type SchedulingSettings = Pick<WorkloadSettings, "nodeSelector" | "tolerations">;
export type { PodExtensionSettings };
export type PlacementSettings = SchedulingSettings & EnvSettings & ScratchSettings & PodExtensionSettings;

/** Env settings that add nothing (for pods without a config section of their own). */
export const NO_ENV: EnvSettings = { extraEnv: {}, secretEnv: {}, envFromSecrets: [] };
/** Scheduling and extension points that add nothing (for pods without a config section of their own). */
export const NO_POD_EXTENSIONS: SchedulingSettings & PodExtensionSettings = {
    nodeSelector: {},
    tolerations: [],
    extraVolumes: [],
    extraVolumeMounts: [],
    extraContainers: [],
    extraInitContainers: [],
    podAnnotations: {},
    podLabels: {},
    topologySpreadConstraints: [],
};
