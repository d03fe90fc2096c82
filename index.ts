// The Pulumi program: read and validate the stack config (every problem reported by its config key,
// nothing registered when there is one), construct the AirflowOnKubernetes component, the parent of
// every resource, and export what people and downstream stacks need: namespace, architecture,
// uiServiceName, uiUrl (in-cluster unless an Ingress; `kubectl port-forward svc/<uiServiceName> 8080`),
// dagsClaimName and logsClaimName (production, when the claims exist), metadataSecretName,
// airflowImage, migrationJobName (production), adminUsername and adminPassword (secret). Only what the
// architecture has is exported, so previews print no "Undefined value" warning.
import { AirflowOnKubernetes } from "./components/airflowOnKubernetes";
import { INSTANCE, programOutputs, readStackArgs } from "./components/stack";

export = programOutputs(new AirflowOnKubernetes(INSTANCE, readStackArgs()));
