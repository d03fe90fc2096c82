// The package's entry point (`@airflow-pulumi/airflow-kubernetes`): the AirflowOnKubernetes component,
// its typed args (generated from the config schema; their nested types under AirflowOnKubernetesTypes)
// and the schema itself. Only this one ComponentResource is exported here: the Pulumi plugin host
// serves every component the entry point exports to other languages, and the sub-components are
// implementation details.
export { AIRFLOW_ON_KUBERNETES_TYPE, AirflowArgsError, AirflowOnKubernetes, MAX_NAME_LENGTH, validateAirflowArgs } from "./airflowOnKubernetes";
export type { AirflowOnKubernetesArgs } from "./airflowOnKubernetesArgs";
/**
 * The args' nested types and enums (Scheduler, ContainerResources, Architecture, ...) under one name,
 * so that the package root exports only its own names: `AirflowOnKubernetesTypes.Architecture.Standalone`.
 */
export * as AirflowOnKubernetesTypes from "./airflowOnKubernetesArgs";
export { DEFAULT_AIRFLOW_VERSION, parseStackConfig, StackConfigError, stackConfigSchema, validateStackConfig } from "./config";
export type { StackConfig, StackConfigInput } from "./config";
