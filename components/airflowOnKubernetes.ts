// AirflowOnKubernetes: the package's one top-level component. Its args are the stack config of this
// repository's program (one source of truth: the zod schema in config/, from which
// airflowOnKubernetesArgs.ts is generated), validated before anything is registered; every resource
// it creates is its child (directly or through the sub-components), so `pulumi stack` shows one tree
// and another program, in any Pulumi language, can reuse the whole deployment.
import * as pulumi from "@pulumi/pulumi";
import type { AirflowOnKubernetesArgs } from "./airflowOnKubernetesArgs";
import { configWarnings, StackConfig, StackConfigError, validateStackConfig } from "./config";
import { dnsLabelProblem } from "./formats";
import { deployAirflow } from "./deploy";
import { componentType } from "./names";

/** The component's type token: `<package>:index:<class>` (the package name is the plugin's name). */
export const AIRFLOW_ON_KUBERNETES_TYPE = componentType("AirflowOnKubernetes");

/** Longest component name: it prefixes every Kubernetes object name, which must stay a valid name. */
export const MAX_NAME_LENGTH = 30;

/** Invalid arguments, every problem listed by its key (`scheduler.replicas: ...`), before any resource exists. */
export class AirflowArgsError extends pulumi.ResourceError {
    constructor(
        readonly componentName: string,
        readonly problems: string[],
    ) {
        super(
            `AirflowOnKubernetes ${componentName}: invalid arguments (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`,
            undefined,
            true,
        );
        this.name = "AirflowArgsError";
    }
}

/** Message prefix standing in for a config namespace: args are reported by their bare key. */
const ARGS_NAMESPACE = "\u0000args";
const bareKey = (message: string) => message.split(`${ARGS_NAMESPACE}:`).join("");

/**
 * Validates the component's args with the stack config's rules and applies the defaults; throws an
 * AirflowArgsError listing every problem. Values must be plain (known while the program runs), since
 * they decide which resources exist; only `registryPassword` may be an Output.
 */
export function validateAirflowArgs(name: string, args: AirflowOnKubernetesArgs): StackConfig {
    const { registryPassword, ...values } = (args ?? {}) as AirflowOnKubernetesArgs & Record<string, unknown>;
    const problems: string[] = [];
    const nameProblem = dnsLabelProblem(name) ?? (name.length > MAX_NAME_LENGTH ? `must be at most ${MAX_NAME_LENGTH} characters` : undefined);
    if (nameProblem) {
        problems.push(`name: ${nameProblem.replace(/, at most 63 characters/, "")}: it prefixes every Kubernetes object name (got ${JSON.stringify(name)})`);
    }
    problems.push(...outputProblems(values, ""));
    let config: StackConfig | undefined;
    try {
        config = validateStackConfig(values, {
            configNamespace: ARGS_NAMESPACE,
            registryPasswordSet: registryPassword !== undefined,
            setRegistryPassword: "give it as a secret (pulumi.secret(...) or a secret config value)",
        });
    } catch (e) {
        if (!(e instanceof StackConfigError)) throw e;
        problems.push(...e.problems.map(bareKey));
    }
    if (problems.length || !config) {
        throw new AirflowArgsError(name, problems);
    }
    return config;
}

/** Keys whose value is an Output or a Promise: unknown until the deployment runs, so they cannot shape it. */
function outputProblems(value: unknown, at: string): string[] {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return [`${at || "<args>"}: must be a plain value, not an Output or a Promise: it decides which resources exist, so it must be known before any is created`];
    }
    if (Array.isArray(value)) return value.flatMap((v, i) => outputProblems(v, `${at}[${i}]`));
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => outputProblems(v, at ? `${at}.${k}` : k));
    }
    return [];
}

/**
 * Apache Airflow 3 on Kubernetes: the production architecture (KubernetesExecutor: scheduler, API
 * server, dag-processor, triggerer, Postgres or an external database, DAGs and logs on shared
 * storage, one worker pod per task) or the standalone one (one StatefulSet pod with Postgres and
 * Airflow). Kubernetes objects go to the `kubernetes` provider the component is given (`providers`
 * option), to the cluster of `infrastructure.stack`, or to the ambient kubeconfig.
 */
export class AirflowOnKubernetes extends pulumi.ComponentResource {
    /** Namespace of every object. */
    public readonly namespace: pulumi.Output<string>;
    /** `production` or `standalone`. */
    public readonly architecture: pulumi.Output<string>;
    /** Service of the UI and REST API (`kubectl port-forward svc/<name> 8080`). */
    public readonly uiServiceName: pulumi.Output<string>;
    /** URL of the UI: in-cluster, or the Ingress's when there is one. */
    public readonly uiUrl: pulumi.Output<string>;
    /** Claim holding the DAG files (not set when DAGs come from the image or a git-sync sidecar). */
    public readonly dagsClaimName?: pulumi.Output<string>;
    /** Claim holding task logs (not set when logs only go to a bucket). */
    public readonly logsClaimName?: pulumi.Output<string>;
    /** Secret holding the metadata database's connection URI. */
    public readonly metadataSecretName: pulumi.Output<string>;
    /** Image every Airflow process runs (digest-pinned when built). */
    public readonly airflowImage: pulumi.Output<string>;
    /** Name of the migration Job of the current version and image (production). */
    public readonly migrationJobName?: pulumi.Output<string>;
    /** The admin user. */
    public readonly adminUsername: pulumi.Output<string>;
    /** The admin's generated password (secret). */
    public readonly adminPassword: pulumi.Output<string>;

    constructor(name: string, args: AirflowOnKubernetesArgs, opts?: pulumi.ComponentResourceOptions) {
        // Everything is checked before the component (or anything else) is registered.
        const config = validateAirflowArgs(name, args);
        const warnings = configWarnings(config, ARGS_NAMESPACE).map(bareKey);
        for (const warning of warnings) {
            pulumi.log.warn(`AirflowOnKubernetes ${name}: ${warning}`);
        }
        super(AIRFLOW_ON_KUBERNETES_TYPE, name, {}, opts);

        const s = deployAirflow(config, { instance: name, parent: this, registryPassword: args.registryPassword });
        this.namespace = s.namespace;
        this.architecture = pulumi.output(s.architecture);
        this.uiServiceName = s.uiServiceName;
        this.uiUrl = s.uiUrl;
        this.dagsClaimName = s.dagsClaimName;
        this.logsClaimName = s.logsClaimName;
        this.metadataSecretName = s.metadataSecretName;
        this.airflowImage = s.airflowImage;
        this.migrationJobName = s.migrationJobName;
        this.adminUsername = pulumi.output(s.adminUsername);
        this.adminPassword = pulumi.secret(s.adminPassword);
        this.registerOutputs({
            namespace: this.namespace,
            architecture: this.architecture,
            uiServiceName: this.uiServiceName,
            uiUrl: this.uiUrl,
            dagsClaimName: this.dagsClaimName,
            logsClaimName: this.logsClaimName,
            metadataSecretName: this.metadataSecretName,
            airflowImage: this.airflowImage,
            migrationJobName: this.migrationJobName,
            adminUsername: this.adminUsername,
            adminPassword: this.adminPassword,
        });
    }
}
