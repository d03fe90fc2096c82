// No generated secret may reach the Pulumi state or the stack outputs in plain text: not as a
// resource id (ids are never secret: RandomBytes' id is its base64 value), not in a resource's inputs
// or outputs unless the engine stores that value as a secret, not in a component's registered outputs,
// not in a stack output that is not marked secret. The mocks give random resources the ids the random
// provider gives them, so a generator whose id is its value shows up here.
import * as assert from "assert";
import { StackConfigInput } from "../components/config";
import { ofKind, Rendered, renderStack, SECRET_SIG_KEY } from "./support/harness";

/** Every generated secret: the secret outputs of random resources and every value of every Secret. */
function generatedSecrets(r: Rendered): string[] {
    const values: string[] = [];
    for (const x of r.resources.filter((x) => x.type.startsWith("random:"))) {
        for (const field of r.secretFields.get(`${x.type}::${x.name}`) ?? []) {
            const value = x.state[field];
            if (typeof value !== "string") continue;
            values.push(value);
            // The bytes behind a base64 output, as URL-safe base64 (a Fernet key).
            if (field === "base64") values.push(Buffer.from(value, "base64").toString("base64url"));
        }
    }
    for (const secret of ofKind(r.objects, "Secret")) {
        values.push(...Object.values<string>(secret.stringData ?? {}));
    }
    return [...new Set(values)];
}

/** The forms a value can take in the state: as is, base64 (a Secret's `data`), base64url. */
function forms(value: string): string[] {
    return [value, Buffer.from(value).toString("base64"), Buffer.from(value).toString("base64url")];
}

/** JSON of a value with every secret envelope (what the engine encrypts) blanked out. */
function plainText(value: unknown): string {
    return JSON.stringify(value, (_key, v) => (v !== null && typeof v === "object" && SECRET_SIG_KEY in v ? "<secret>" : v)) ?? "";
}

/** Everything the state and the outputs keep in plain text, by where it is. */
function plainPlaces(r: Rendered): [string, string][] {
    const places: [string, string][] = [];
    for (const x of r.resources) {
        const where = `${x.type} ${x.name}`;
        const secretFields = new Set(r.secretFields.get(`${x.type}::${x.name}`) ?? []);
        places.push([`${where} id`, x.id]);
        places.push([`${where} inputs`, plainText(x.inputs)]);
        places.push([`${where} outputs`, plainText(Object.fromEntries(Object.entries(x.state).filter(([k]) => !secretFields.has(k))))]);
    }
    for (const [urn, outputs] of r.componentOutputs) {
        places.push([`${urn} registered outputs`, plainText(outputs)]);
    }
    for (const [key, value] of Object.entries(r.outputs)) {
        if (!r.secretOutputs.has(key)) places.push([`stack output ${key}`, plainText(value)]);
    }
    return places;
}

const configs: Record<string, StackConfigInput> = {
    production: {},
    "production, simple auth manager": { ui: { authManager: "simple" } },
    standalone: { architecture: "standalone" },
    "standalone, simple auth manager": { architecture: "standalone", ui: { authManager: "simple" } },
};

describe("generated secrets stay secret", () => {
    for (const [label, config] of Object.entries(configs)) {
        it(`appears in no resource id, plain input or output, component output or plain stack output (${label})`, async () => {
            const r = await renderStack(config);
            const secrets = generatedSecrets(r);
            assert.ok(secrets.length >= 5, `expected the generated keys and passwords, got ${secrets.length}`);
            const places = plainPlaces(r);
            assert.ok(places.some(([where]) => where.endsWith("registered outputs")), "component outputs are scanned too");
            const leaks: string[] = [];
            for (const secret of secrets) {
                for (const form of forms(secret)) {
                    for (const [where, text] of places) {
                        if (text.includes(form)) leaks.push(`${where} holds ${secret.slice(0, 12)}...`);
                    }
                }
            }
            assert.deepStrictEqual(leaks, []);
        });
    }

    it("generates no random resource whose id is its value", async () => {
        const r = await renderStack({});
        const generators = r.resources.filter((x) => x.type.startsWith("random:"));
        assert.deepStrictEqual([...new Set(generators.map((x) => x.type))], ["random:index/randomPassword:RandomPassword"]);
        for (const x of generators) assert.strictEqual(x.id, "none", x.name);
    });
});
