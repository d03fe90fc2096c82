// The Pulumi program: validate the stack config (nothing is registered if it is invalid), build the
// components in data-flow order, and export what people and downstream stacks need.
import * as pulumi from "@pulumi/pulumi";
import { deployAirflow, readStackConfig } from "./components/stack";

const stack = deployAirflow(readStackConfig());

export const namespace = stack.namespace;
export const architecture = stack.architecture;
export const uiServiceName = stack.uiServiceName;
/** In-cluster URL; `kubectl port-forward svc/<uiServiceName> 8080` for a browser. */
export const uiUrl = stack.uiUrl;
export const dagsClaimName = stack.dagsClaimName;
export const logsClaimName = stack.logsClaimName;
export const metadataSecretName = stack.metadataSecretName;
export const airflowImage = stack.airflowImage;
export const migrationJobName = stack.migrationJobName;
export const adminUsername = stack.adminUsername;
export const adminPassword = stack.adminPassword ? pulumi.secret(stack.adminPassword) : undefined;
