// Runs the program (or one component) under Pulumi mocks and records every resource it registers.
// Mocks stand in for the engine and providers only; the program code under test is the real one.
import * as crypto from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { AirflowOnKubernetes } from "../../components/airflowOnKubernetes";
import type { AirflowOnKubernetesArgs } from "../../components/airflowOnKubernetesArgs";
import { decodeStackConfig, parseStackConfig, StackConfigInput } from "../../components/config";
import { INSTANCE, programOutputs } from "../../components/stack";
import { K8sObject } from "./k8sSchema";

// Internal to the SDK but exported from its settings module: resolves once every registration is done,
// and the monitor (the mock one under test) that keeps what each component registered as its outputs.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs, getMonitor } = require("@pulumi/pulumi/runtime/settings") as {
    waitForRPCs: () => Promise<void>;
    getMonitor: () => { getRegisteredResources?: () => Map<string, { urn: string; state: any }> };
};

export interface RecordedResource {
    type: string;
    name: string;
    /** The id the provider gives the resource (kept in the state in plain text). */
    id: string;
    inputs: any;
    state: any;
    provider?: string;
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

/**
 * The digest the mocks give a built image: a hash of what its build is made of (context, Dockerfile,
 * build args, platform), as a real build's digest changes exactly when those do (a DAG image built FROM
 * an unchanged base keeps the base's digest).
 */
export function mockBuildDigest(build: unknown): string {
    return "sha256:" + crypto.createHash("sha256").update(JSON.stringify(build ?? {})).digest("hex");
}

function hash(text: string, length = 8): string {
    return crypto.createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** The value the mocks generate for a random resource: recognisable, so tests can look for leaks. */
export function mockSecretValue(resourceName: string): string {
    return `MOCKSECRET${hash(resourceName, 16)}`;
}

/**
 * With AIRFLOW_RENDER_SECRETS_FILE set (scripts/render.ts for the lab's deploy path without the
 * Pulumi engine), random resources get real random values, generated once per resource name and kept
 * in that file (mode 0600) like Pulumi state keeps them, so a re-render never rotates a secret.
 */
const renderSecrets = process.env.AIRFLOW_RENDER_SECRETS_FILE ? persistentRandom(process.env.AIRFLOW_RENDER_SECRETS_FILE) : undefined;

function persistentRandom(file: string) {
    const values: Record<string, string> = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    const keep = (name: string, make: () => string) => {
        if (!(name in values)) {
            values[name] = make();
            fs.writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
        }
        return values[name];
    };
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return {
        password: (name: string, length: number) =>
            keep(name, () => Array.from(crypto.randomBytes(length), (b) => alphabet[b % alphabet.length]).join("")),
        bytes: (name: string, length: number) => Buffer.from(keep(name, () => crypto.randomBytes(length).toString("hex")), "hex"),
    };
}

/** What the mocked cluster's `default/kubernetes` EndpointSlice says: the API server at 172.18.0.2:6443. */
export const MOCK_KUBERNETES_API_SLICE = { addressType: "IPv4", endpoints: [{ addresses: ["172.18.0.2"] }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] };

let recorded: RecordedResource[] = [];

/** Installs mocks that record resources; returns the live list. */
export function installMocks(stackOutputs: Record<string, unknown> = {}): RecordedResource[] {
    recorded = [];
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
                const { id, state } = mockRandomResource(args) ?? { id: mockId(args), state: mockState(args, stackOutputs) };
                recorded.push({ type: args.type, name: args.name, id, inputs: args.inputs, state, provider: args.provider });
                return { id, state };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        "airflow",
        "test",
        false,
    );
    return recorded;
}

function mockState(args: pulumi.runtime.MockResourceArgs, stackOutputs: Record<string, unknown>): Record<string, any> {
    const inputs = args.inputs;
    if (args.type === "kubernetes:discovery.k8s.io/v1:EndpointSlice" && args.id === "default/kubernetes") {
        // The Kubernetes API's endpoint as the API server publishes it (NetworkPolicies read it).
        return { metadata: { name: "kubernetes", namespace: "default" }, ...MOCK_KUBERNETES_API_SLICE };
    }
    if (args.type.startsWith("kubernetes:") && !args.type.startsWith("kubernetes:index")) {
        // The provider auto-names objects without metadata.name as <resource name>-<suffix>.
        const name = inputs.metadata?.name ?? `${args.name}-${hash(args.name)}`;
        return { ...inputs, metadata: { ...inputs.metadata, name } };
    }
    switch (args.type) {
        case "docker:index/image:Image": {
            const repository = String(inputs.imageName).replace(/:[^/:]+$/, "");
            return { ...inputs, repoDigest: `${repository}@${mockBuildDigest(inputs.build)}` };
        }
        case "gcp:filestore/instance:Instance":
            return { ...inputs, networks: (inputs.networks ?? []).map((n: any) => ({ ...n, ipAddresses: ["10.20.0.2"] })) };
        case "pulumi:pulumi:StackReference":
            return { ...inputs, name: inputs.name, outputs: stackOutputs };
        default:
            return { ...inputs };
    }
}

/** The id a provider gives a resource: Kubernetes `<namespace>/<name>`, others something name-based. */
function mockId(args: pulumi.runtime.MockResourceArgs): string {
    if (args.type.startsWith("kubernetes:") && !args.type.startsWith("kubernetes:index") && args.inputs.metadata?.name) {
        const { name, namespace } = args.inputs.metadata;
        return namespace ? `${namespace}/${name}` : name;
    }
    return `${args.name}-id`;
}

/**
 * Random resources as the random provider returns them, ids included, so a test can see what reaches
 * the state in plain text: RandomPassword's id is "none" (its result and bcrypt hash are secret
 * outputs), RandomBytes' id is its base64 value, RandomId's its b64Url, RandomString's its result.
 * Undefined for other types.
 */
export function mockRandomResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } | undefined {
    const inputs = args.inputs;
    const password = (length: number) => (renderSecrets ? renderSecrets.password(args.name, length) : mockSecretValue(args.name));
    const bytes = (length: number) => {
        if (renderSecrets) return renderSecrets.bytes(args.name, length);
        // Bytes whose standard base64 has '+' and '/', so URL-safe conversions are exercised.
        const b = Buffer.alloc(length, 0xfb);
        crypto.createHash("sha256").update(args.name).digest().copy(b, 0, 0, Math.min(8, length));
        return b;
    };
    switch (args.type) {
        case "random:index/randomPassword:RandomPassword": {
            const result = password(inputs.length ?? 32);
            return { id: "none", state: { ...inputs, result, bcryptHash: `$2a$10$${hash(result, 53)}` } };
        }
        case "random:index/randomString:RandomString": {
            const result = password(inputs.length ?? 32);
            return { id: result, state: { ...inputs, result } };
        }
        case "random:index/randomBytes:RandomBytes": {
            const b = bytes(inputs.length ?? 32);
            return { id: b.toString("base64"), state: { ...inputs, base64: b.toString("base64"), hex: b.toString("hex") } };
        }
        case "random:index/randomId:RandomId": {
            const b = bytes(inputs.byteLength ?? 8);
            const b64Url = b.toString("base64url");
            return { id: b64Url, state: { ...inputs, b64Std: b.toString("base64"), b64Url, hex: b.toString("hex"), dec: BigInt(`0x${b.toString("hex")}`).toString() } };
        }
        default:
            return undefined;
    }
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

/**
 * Renders the whole stack for a config, as `pulumi up` would register it: the config goes through
 * Pulumi's string encoding and the program's validation (errors by `airflow:` key), then into the
 * AirflowOnKubernetes component the program constructs. `registryPassword` (a secret config key in a
 * stack) may be given in `config`. Outputs are the program's stack outputs.
 */
export async function renderStack(config: StackConfigInput & { registryPassword?: string }, stackOutputs: Record<string, unknown> = {}): Promise<Rendered> {
    const resources = installMocks(stackOutputs);
    const dependsOn = new Map<string, string[]>();
    const secretFields = new Map<string, string[]>();
    const raw = rawConfig(config);
    parseStackConfig(raw);
    const args = decodeStackConfig(raw) as AirflowOnKubernetesArgs;
    if (raw.registryPassword !== undefined) args.registryPassword = pulumi.secret(raw.registryPassword);
    const component = new AirflowOnKubernetes(INSTANCE, args, {
        transformations: [recordDependencies(dependsOn), recordSecretFields(secretFields)],
    });
    await waitForRPCs();
    return collect(resources, programOutputs(component), dependsOn, secretFields);
}

/** A transformation that notes each resource's additionalSecretOutputs (mocks do not see options). */
export function recordSecretFields(into: Map<string, string[]>): pulumi.ResourceTransformation {
    return (args) => {
        into.set(`${args.type}::${args.name}`, [...((args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [])]);
        return undefined;
    };
}

/** A transformation that notes each resource's explicit dependsOn (mocks do not see options). */
/** Resource (`type::name`) -> name of the resource whose deletion takes it along (deletedWith), for the last render. */
export const deletedWith = new Map<string, string>();
/** Resource (`type::name`) -> its aliases, for the last render. */
export const aliases = new Map<string, pulumi.Alias[]>();

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
    await waitForRPCs();
    const componentOutputs = new Map<string, any>();
    for (const [urn, r] of getMonitor().getRegisteredResources?.() ?? []) {
        const state = typeof r.state?.toJavaScript === "function" ? r.state.toJavaScript() : undefined;
        if (state !== undefined) componentOutputs.set(urn, state);
    }
    return { resources: [...resources], objects: kubernetesObjects(resources), outputs: resolved, secretOutputs, dependsOn, secretFields, componentOutputs };
}

/** Waits until every pending registration has reached the mocks. */
export async function settle(): Promise<void> {
    await waitForRPCs();
}

// ---- small query helpers used across the tests ----

export function find(objects: K8sObject[], kind: string, name: string): any {
    const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
    if (!found) {
        throw new Error(`no ${kind} ${name}; have: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ")}`);
    }
    return found;
}

export function ofKind(objects: K8sObject[], kind: string): any[] {
    return objects.filter((o) => o.kind === kind);
}

export function container(podSpec: any, name: string): any {
    const found = [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])].find((c: any) => c.name === name);
    if (!found) throw new Error(`no container ${name}`);
    return found;
}

export function envOf(c: any): Record<string, any> {
    return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.valueFrom ?? e.value]));
}

/** Every pod spec in an object: workloads, Jobs, CronJobs, and pod templates inside ConfigMaps. */
export function podSpecs(obj: K8sObject): { where: string; spec: any }[] {
    const o = obj as any;
    const name = `${obj.kind}/${obj.metadata?.name}`;
    if (o.spec?.template?.spec) return [{ where: name, spec: o.spec.template.spec }];
    if (o.spec?.jobTemplate?.spec?.template?.spec) return [{ where: name, spec: o.spec.jobTemplate.spec.template.spec }];
    if (obj.kind === "ConfigMap" && o.data?.["pod_template.yaml"]) {
        return [{ where: `${name} pod_template.yaml`, spec: (yaml.load(o.data["pod_template.yaml"]) as any).spec }];
    }
    return [];
}

/** The worker pod template rendered into the pod-template ConfigMap, parsed. */
export function workerPodTemplate(objects: K8sObject[]): K8sObject {
    const cm = objects.find((o) => o.kind === "ConfigMap" && (o as any).data?.["pod_template.yaml"]) as any;
    if (!cm) throw new Error("no pod template ConfigMap");
    return yaml.load(cm.data["pod_template.yaml"]) as K8sObject;
}
