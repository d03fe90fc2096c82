// Renders the stack under Pulumi mocks (mocks.ts): the program's real code registers its resources
// and this collects the Kubernetes objects, outputs and options the engine would have seen. Used by
// scripts/render.ts (the objects the lab applies), bench/ and, through test/support/harness.ts, the tests.
import * as pulumi from "@pulumi/pulumi";
import { AirflowOnKubernetes } from "../../components/airflowOnKubernetes";
import type { AirflowOnKubernetesArgs } from "../../components/airflowOnKubernetesArgs";
import { decodeStackConfig, parseStackConfig, StackConfigInput } from "../../components/config";
import { INSTANCE, programOutputs } from "../../components/stack";
import { installMocks, KubernetesApiSlice, RecordedResource, registeredComponentOutputs, settle } from "./mocks";
import type { RandomValues } from "./randomValues";

/** A Kubernetes object as the provider sends it to the API server. */
export interface K8sObject {
    apiVersion: string;
    kind: string;
    metadata?: { name?: string; namespace?: string; [key: string]: unknown };
    [key: string]: unknown;
}

export interface Rendered {
    resources: RecordedResource[];
    /** Kubernetes objects as the provider would send them to the API server. */
    objects: K8sObject[];
    outputs: Record<string, unknown>;
    /** Names of outputs that are Pulumi secrets. */
    secretOutputs: Set<string>;
    /** Resource name -> names of the resources it explicitly depends on. */
    dependsOn: Map<string, string[]>;
    /** `<type>::<name>` -> output properties the engine stores as secrets (additionalSecretOutputs). */
    secretFields: Map<string, string[]>;
    /** Outputs each component registered (registerOutputs), by URN, serialized as the engine keeps them. */
    componentOutputs: Map<string, any>;
}

/** Pulumi's marker for a secret value in serialized resource inputs. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Replaces secret envelopes by their values (what the provider sends to the API server). */
export function unwrapSecrets(value: any): any {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value === null || typeof value !== "object") return value;
    if (SECRET_SIG_KEY in value) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
}

/** True if the value is, or contains, a Pulumi secret envelope. */
export function isSecretEnvelope(value: any): boolean {
    return value !== null && typeof value === "object" && SECRET_SIG_KEY in value;
}

/** Kubernetes objects among the recorded resources (providers excluded). */
export function kubernetesObjects(resources: RecordedResource[]): K8sObject[] {
    return resources
        .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:") && r.state.kind)
        .map((r) => unwrapSecrets(JSON.parse(JSON.stringify(r.state))) as K8sObject);
}

/** Resolves a value that may be an Output (or contain none), reporting whether it is secret. */
export async function resolve(value: unknown): Promise<{ value: unknown; secret: boolean }> {
    if (!pulumi.Output.isInstance(value)) {
        return { value, secret: false };
    }
    const output = value as pulumi.Output<unknown>;
    const secret = await (output as any).isSecret;
    const resolved = await new Promise((r) => output.apply((v) => r(v)));
    return { value: resolved, secret };
}

/** Raw Pulumi config strings (structured values as JSON), as `pulumi config` stores them. */
export function rawConfig(config: StackConfigInput | Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

export interface RenderOptions {
    /** Where random resources take their values from (default: the mocks' recognisable values). */
    random?: RandomValues;
    /** The `default/kubernetes` EndpointSlice the program reads (default: the mocked cluster's, MOCK_KUBERNETES_API_SLICE). */
    kubernetesApiSlice?: KubernetesApiSlice;
}

/**
 * Renders the whole stack for a config, as `pulumi up` would register it: the config goes through
 * Pulumi's string encoding and the program's validation (errors by `airflow:` key), then into the
 * AirflowOnKubernetes component the program constructs. `registryPassword` (a secret config key in a
 * stack) may be given in `config`. Outputs are the program's stack outputs.
 */
export async function renderStack(
    config: StackConfigInput & { registryPassword?: string },
    stackOutputs: Record<string, unknown> = {},
    options: RenderOptions = {},
): Promise<Rendered> {
    const resources = installMocks(stackOutputs, options.random, options.kubernetesApiSlice);
    const dependsOn = new Map<string, string[]>();
    const secretFields = new Map<string, string[]>();
    const raw = rawConfig(config);
    parseStackConfig(raw);
    const args = decodeStackConfig(raw) as AirflowOnKubernetesArgs;
    if (raw.registryPassword !== undefined) args.registryPassword = pulumi.secret(raw.registryPassword);
    const component = new AirflowOnKubernetes(INSTANCE, args, {
        transformations: [recordDependencies(dependsOn), recordSecretFields(secretFields)],
    });
    await settle();
    return collect(resources, programOutputs(component), dependsOn, secretFields);
}

/** A transformation that notes each resource's additionalSecretOutputs (mocks do not see options). */
export function recordSecretFields(into: Map<string, string[]>): pulumi.ResourceTransformation {
    return (args) => {
        into.set(`${args.type}::${args.name}`, [...((args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [])]);
        return undefined;
    };
}

/** Resource (`type::name`) -> name of the resource whose deletion takes it along (deletedWith), for the last render. */
export const deletedWith = new Map<string, string>();
/** Resource (`type::name`) -> its aliases, for the last render. */
export const aliases = new Map<string, pulumi.Alias[]>();

/** A transformation that notes each resource's explicit dependsOn, deletedWith and aliases (mocks do not see options). */
export function recordDependencies(into: Map<string, string[]>): pulumi.ResourceTransformation {
    return (args) => {
        const deps = args.opts.dependsOn;
        const list = (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[];
        // Names can repeat across types (a Deployment and its Service): merge.
        into.set(args.name, [...(into.get(args.name) ?? []), ...list.map((d) => (d as any).__name as string)]);
        if (args.opts.deletedWith) deletedWith.set(`${args.type}::${args.name}`, (args.opts.deletedWith as any).__name);
        if (args.opts.aliases?.length) aliases.set(`${args.type}::${args.name}`, args.opts.aliases as pulumi.Alias[]);
        return undefined;
    };
}

/** Resolves the outputs and gathers what the mocks recorded into a Rendered. */
export async function collect(
    resources: RecordedResource[],
    outputs: Record<string, unknown>,
    dependsOn = new Map<string, string[]>(),
    secretFields = new Map<string, string[]>(),
): Promise<Rendered> {
    const resolved: Record<string, unknown> = {};
    const secretOutputs = new Set<string>();
    for (const [key, value] of Object.entries(outputs)) {
        const r = await resolve(value);
        resolved[key] = r.value;
        if (r.secret) secretOutputs.add(key);
    }
    await settle();
    const componentOutputs = registeredComponentOutputs();
    return { resources: [...resources], objects: kubernetesObjects(resources), outputs: resolved, secretOutputs, dependsOn, secretFields, componentOutputs };
}
