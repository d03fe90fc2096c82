// Mocks for rendering one component on its own, including the docker and gcp resources the shared
// harness does not model: built images get a repoDigest, a Filestore instance gets an IP, and the
// gcp client-config invoke returns a recognisable access token.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { mockRandomResource, RecordedResource, settle } from "./support/harness";

export const MOCK_FILESTORE_IP = "10.0.0.2";
export const MOCK_ACCESS_TOKEN = "MOCKTOKEN-ya29";

/** A digest derived from the resource name, so every image's digest differs and is stable. */
export function mockDigest(resourceName: string): string {
    return "sha256:" + crypto.createHash("sha256").update(resourceName).digest("hex");
}

/** The repository part of an image reference (tag removed, registry port kept). */
export function repositoryOf(imageName: string): string {
    const lastSlash = imageName.lastIndexOf("/");
    const colon = imageName.indexOf(":", lastSlash + 1);
    return colon === -1 ? imageName : imageName.slice(0, colon);
}

export interface Recorder {
    resources: RecordedResource[];
    invokes: { token: string; inputs: any }[];
}

export function installComponentMocks(stack = "test"): Recorder {
    const recorder: Recorder = { resources: [], invokes: [] };
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                // Random resources get the ids and values the random provider gives them.
                const { id, state } = mockRandomResource(args) ?? { id: `${args.name}-id`, state: stateFor(args) };
                recorder.resources.push({ type: args.type, name: args.name, id, inputs: args.inputs, state, provider: args.provider });
                return { id, state };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                recorder.invokes.push({ token: args.token, inputs: args.inputs });
                if (args.token === "gcp:organizations/getClientConfig:getClientConfig") {
                    return { accessToken: MOCK_ACCESS_TOKEN, project: "mock-project", region: "europe-west1", zone: "europe-west1-b", id: "client" };
                }
                return args.inputs;
            },
        },
        "airflow",
        stack,
        false,
    );
    return recorder;
}

function stateFor(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
    const inputs = args.inputs;
    if (args.type.startsWith("kubernetes:") && !args.type.startsWith("kubernetes:index")) {
        const name = inputs.metadata?.name ?? `${args.name}-${crypto.createHash("sha256").update(args.name).digest("hex").slice(0, 8)}`;
        return { ...inputs, metadata: { ...inputs.metadata, name } };
    }
    switch (args.type) {
        case "docker:index/image:Image":
            return { ...inputs, repoDigest: `${repositoryOf(inputs.imageName)}@${mockDigest(args.name)}` };
        case "gcp:filestore/instance:Instance":
            return { ...inputs, networks: (inputs.networks ?? []).map((n: any) => ({ ...n, ipAddresses: [MOCK_FILESTORE_IP] })) };
        default:
            return { ...inputs };
    }
}

/** Waits for every registration, then returns the recorded resources of a type. */
export async function recorded(recorder: Recorder, type?: string): Promise<RecordedResource[]> {
    await settle();
    return type ? recorder.resources.filter((r) => r.type === type) : recorder.resources;
}

/** Resolves an Output to its value. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}
