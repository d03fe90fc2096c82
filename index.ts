// The Pulumi program: validate the stack config (nothing is registered if it is invalid), build the
// components in data-flow order, and export what people and downstream stacks need:
// namespace, architecture, uiServiceName, uiUrl (in-cluster; `kubectl port-forward svc/<uiServiceName>
// 8080` for a browser), dagsClaimName and logsClaimName (production, when the claims exist),
// metadataSecretName, airflowImage, migrationJobName (production), adminUsername and adminPassword
// (secret). Only what the architecture has is exported, so previews print no "Undefined value" warning.
import { deployAirflow, programOutputs, readStackConfig } from "./components/stack";

export = programOutputs(deployAirflow(readStackConfig()));
