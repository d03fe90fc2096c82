// Pulumi mocks that stand in for the engine and the providers while the real program code runs, and
// record every resource it registers. Used by the render (render.ts), the benchmarks and the tests.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type { RandomValues } from "./randomValues";

// Internal to the SDK but exported from its settings module: resolves once every registration is done,
// and the monitor (the mock one here) that keeps what each component registered as its outputs.
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

/** Waits until every pending registration has reached the mocks. */
export async function settle(): Promise<void> {
    await waitForRPCs();
}

/** Outputs each component registered (registerOutputs), by URN, serialized as the engine keeps them. */
export function registeredComponentOutputs(): Map<string, any> {
    const out = new Map<string, any>();
    for (const [urn, r] of getMonitor().getRegisteredResources?.() ?? []) {
        const state = typeof r.state?.toJavaScript === "function" ? r.state.toJavaScript() : undefined;
        if (state !== undefined) out.set(urn, state);
    }
    return out;
}

/**
 * The digest the mocks give a built image: a hash of what its build is made of (context, Dockerfile,
 * build args, platform), as a real build's digest changes exactly when those do (a DAG image built FROM
 * an unchanged base keeps the base's digest).
 */
export function mockBuildDigest(build: unknown): string {
    return (
        "sha256:" +
        crypto
            .createHash("sha256")
            .update(JSON.stringify(build ?? {}))
            .digest("hex")
    );
}

function hash(text: string, length = 8): string {
    return crypto.createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** The value the mocks generate for a random resource: recognisable, so tests can look for leaks. */
export function mockSecretValue(resourceName: string): string {
    return `MOCKSECRET${hash(resourceName, 16)}`;
}

/** The fields of the `default/kubernetes` EndpointSlice that the program reads. */
export interface KubernetesApiSlice {
    addressType: string;
    endpoints: { addresses: string[] }[];
    ports: { name?: string; port: number; protocol?: string }[];
}

/** What the mocked cluster's `default/kubernetes` EndpointSlice says: the API server at 172.18.0.2:6443. */
export const MOCK_KUBERNETES_API_SLICE: KubernetesApiSlice = {
    addressType: "IPv4",
    endpoints: [{ addresses: ["172.18.0.2"] }],
    ports: [{ name: "https", port: 6443, protocol: "TCP" }],
};

let recorded: RecordedResource[] = [];

/**
 * Installs mocks that record resources; returns the live list. `random`: where random resources take
 * their values from (default: recognisable mock values, see mockSecretValue).
 */
export function installMocks(stackOutputs: Record<string, unknown> = {}, random?: RandomValues, kubernetesApiSlice = MOCK_KUBERNETES_API_SLICE): RecordedResource[] {
    recorded = [];
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
                const { id, state } = mockRandomResource(args, random) ?? { id: mockId(args), state: mockState(args, stackOutputs, kubernetesApiSlice) };
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

function mockState(args: pulumi.runtime.MockResourceArgs, stackOutputs: Record<string, unknown>, kubernetesApiSlice: KubernetesApiSlice): Record<string, any> {
    const inputs = args.inputs;
    if (args.type === "kubernetes:discovery.k8s.io/v1:EndpointSlice" && args.id === "default/kubernetes") {
        // The Kubernetes API's endpoint as the API server publishes it (NetworkPolicies read it).
        return { metadata: { name: "kubernetes", namespace: "default" }, ...kubernetesApiSlice };
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
 * Values from `random` when given, else mock values. Undefined for other types.
 */
export function mockRandomResource(args: pulumi.runtime.MockResourceArgs, random?: RandomValues): { id: string; state: Record<string, any> } | undefined {
    const inputs = args.inputs;
    const password = (length: number) => (random ? random.password(args.name, length) : mockSecretValue(args.name));
    const bytes = (length: number) => {
        if (random) return random.bytes(args.name, length);
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
