// The program's side of the package: index.ts reads the stack config with readStackArgs, constructs
// the AirflowOnKubernetes component (which calls deployAirflow in deploy.ts) and exports
// programOutputs. The names and outputs both share live here.
import * as pulumi from "@pulumi/pulumi";
import type { AirflowOnKubernetesArgs } from "./airflowOnKubernetesArgs";
import { decodeStackConfig, parseProgramConfig, SECRET_CONFIG_KEYS } from "./config";

/**
 * Name of the program's AirflowOnKubernetes component: the prefix of its children's names and the
 * `app.kubernetes.io/instance` label (another instance name gives another set of object names).
 */
export const INSTANCE = "airflow";

export interface StackOutputs {
    namespace: pulumi.Output<string>;
    architecture: string;
    uiServiceName: pulumi.Output<string>;
    uiUrl: pulumi.Output<string>;
    /** Claim holding DAG files (undefined when DAGs are in the image or synced by a sidecar). */
    dagsClaimName?: pulumi.Output<string>;
    logsClaimName?: pulumi.Output<string>;
    metadataSecretName: pulumi.Output<string>;
    airflowImage: pulumi.Output<string>;
    migrationJobName?: pulumi.Output<string>;
    adminUsername: string;
    adminPassword: pulumi.Output<string>;
}

/**
 * Whether Pulumi holds a config value encrypted (`pulumi config set --secret`): the list the language
 * host passes the program (PULUMI_CONFIG_SECRET_KEYS), through the SDK's runtime.isConfigSecret. That
 * function is internal (absent from the SDK's typings), so it is looked up; without it nothing is refused.
 */
function isConfigSecret(key: string): boolean {
    const lookup = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
    return lookup ? lookup(key) : true;
}

/**
 * Reads the whole config map once and validates it, every problem reported by its config key
 * (`airflow:scheduler.replicas`): the project's namespace (everything but secret keys) against the
 * schema, every other key against the namespaces the providers read. Returns the component's args:
 * the config values as written (the component applies the defaults) and the secret registryPassword.
 */
export function readStackArgs(): AirflowOnKubernetesArgs {
    const config = new pulumi.Config();
    const all = pulumi.runtime.allConfig();
    parseProgramConfig(all, config.name, isConfigSecret);
    const prefix = `${config.name}:`;
    const own = Object.fromEntries(Object.entries(all).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])));
    const args = decodeStackConfig(own) as AirflowOnKubernetesArgs;
    const secrets = Object.fromEntries(SECRET_CONFIG_KEYS.flatMap((key) => (own[key] !== undefined ? [[key, config.requireSecret(key)]] : [])));
    return { ...args, ...secrets };
}

/**
 * The program's stack outputs: only those the architecture has (an undefined export makes every
 * preview print "Undefined value ... will not show as a stack output"), the admin password secret.
 */
export function programOutputs(s: StackOutputs | Partial<Record<keyof StackOutputs, unknown>>): Record<string, unknown> {
    const keys: (keyof StackOutputs)[] = [
        "namespace", "architecture", "uiServiceName", "uiUrl", "dagsClaimName", "logsClaimName",
        "metadataSecretName", "airflowImage", "migrationJobName", "adminUsername", "adminPassword",
    ];
    const outputs: Record<string, unknown> = Object.fromEntries(keys.map((key) => [key, s[key]]));
    if (outputs.adminPassword !== undefined) outputs.adminPassword = pulumi.secret(outputs.adminPassword);
    return Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
}

/** How the AirflowOnKubernetes component places what deployAirflow creates. */
export interface DeployOptions {
    /** The component's name: prefix of every child's name and the `app.kubernetes.io/instance` label. */
    instance: string;
    /** The component: parent of every resource created here (its providers and transformations apply). */
    parent: pulumi.Resource;
    /** registry.username's password (secret). */
    registryPassword?: pulumi.Input<string>;
}

/**
 * Name of a child that carries no instance prefix in the program ("namespace", "cluster"): kept as it
 * was for the program's instance, prefixed for any other, so two instances in one program never clash.
 */
export function childName(instance: string, name: string): string {
    return instance === INSTANCE ? name : `${instance}-${name}`;
}
