// The stack config: one zod schema, read once, validated before any resource exists.
//   constants.ts        default versions and images, resource defaults, the names each pod uses itself
//   secretEnv.ts        what looks like a secret; the env knobs of a section
//   fields.ts           field schemas the sections share (quantities, resources, placement, ...)
//   sections/           the schema's sections, by what they configure
//   schema.ts           the sections as one schema, and the types the components take
//   rules.ts            the rules across sections, as one table
//   ignoredSettings.ts  settings the chosen architecture or mode would ignore, as one table
//   warnings.ts         valid but suspicious values
//   parse.ts            decoding, validation, the program's whole config map
//   describe.ts         a problem as one line, by config key
//   derived.ts          values derived from the config where they are used (the UI's base URL)
export {
    AIRFLOW_POD_VOLUMES,
    DEFAULT_AIRFLOW_VERSION,
    DEFAULT_GIT_SYNC_IMAGE,
    defaultRemoteConnId,
    filestoreCapacityGb,
    OWN_POD_NAMES,
    SECRET_CONFIG_KEYS,
    SIDECAR,
} from "./constants";
export type { ResourceDefaults } from "./constants";
export { uiBaseUrl } from "./derived";
export { ignoredSettingProblems } from "./ignoredSettings";
export {
    decodeStackConfig,
    foreignNamespaceProblems,
    parseProgramConfig,
    parseStackConfig,
    PROVIDER_CONFIG_NAMESPACES,
    StackConfigError,
    stackConfigSchema,
    validateStackConfig,
} from "./parse";
export type { ValidateOptions } from "./parse";
export { CROSS_FIELD_RULES } from "./rules";
export type { ConfigIssue, CrossFieldRule } from "./rules";
export { NO_ENV, NO_POD_EXTENSIONS } from "./schema";
export type {
    EnvSettings,
    PlacementSettings,
    PodExtensionSettings,
    ResourceSettings,
    ScratchSettings,
    SchedulingSettings,
    StackConfig,
    StackConfigInput,
    WorkloadSettings,
} from "./schema";
export { secretLookingConfigKey, secretLookingEnvName } from "./secretEnv";
export { configWarnings, imageVersionMismatches } from "./warnings";
