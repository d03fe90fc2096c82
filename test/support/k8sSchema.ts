// Validates rendered Kubernetes objects two ways:
// 1. kubernetes-models' validators: types, required fields and enum values (e.g. imagePullPolicy);
// 2. the official Kubernetes OpenAPI v3 spec (from the k8s.io/kubernetes Go module) made strict:
//    every object schema with declared properties gets `additionalProperties: false`, so an unknown
//    field such as `portz` on a container fails, as the API server's strict field validation would.
import Ajv, { ValidateFunction } from "ajv";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { K8sObject } from "../../tools/render/render";

/** Kubernetes release whose OpenAPI spec the objects are checked against (the lab runs the same). */
export const KUBERNETES_VERSION = "v1.34.2";

export type { K8sObject };

let strictValidators: Map<string, ValidateFunction> | undefined;

/** Folder with the OpenAPI v3 files: $K8S_OPENAPI_DIR, else the Go module cache (downloaded once). */
function openApiDir(): string {
    if (process.env.K8S_OPENAPI_DIR) {
        return process.env.K8S_OPENAPI_DIR;
    }
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-openapi-"));
    try {
        const out = execFileSync("go", ["mod", "download", "-json", `k8s.io/kubernetes@${KUBERNETES_VERSION}`], {
            cwd: scratch,
            encoding: "utf8",
            env: { ...process.env, GOFLAGS: "-mod=mod" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const dir = JSON.parse(out).Dir as string | undefined;
        if (!dir) {
            throw new Error(`go mod download gave no directory: ${out}`);
        }
        return path.join(dir, "api", "openapi-spec", "v3");
    } catch (e) {
        throw new Error(
            `cannot obtain the Kubernetes ${KUBERNETES_VERSION} OpenAPI spec (needs Go and the Go module proxy, or K8S_OPENAPI_DIR): ${(e as Error).message}`,
        );
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** Recursively closes object schemas: declared properties only, unless the spec allows more. */
function makeStrict(schema: any): any {
    if (Array.isArray(schema)) {
        return schema.map(makeStrict);
    }
    if (schema === null || typeof schema !== "object") {
        return schema;
    }
    const out: any = {};
    for (const [key, value] of Object.entries(schema)) {
        // `default` values are data, not schemas; vendor extensions are not understood by Ajv.
        if (key === "default" || key.startsWith("x-") || key === "description") continue;
        out[key] = key === "properties" ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, makeStrict(v)])) : makeStrict(value);
    }
    if (out.properties && out.additionalProperties === undefined && !schema["x-kubernetes-preserve-unknown-fields"]) {
        out.additionalProperties = false;
    }
    // Quantities are strings in the spec but numbers are accepted by the API server.
    if (out.format === "quantity" || out.format === "int-or-string") {
        delete out.type;
        delete out.oneOf;
        out.anyOf = [{ type: "string" }, { type: "integer" }, { type: "number" }];
    }
    return out;
}

function loadStrictValidators(): Map<string, ValidateFunction> {
    const dir = openApiDir();
    const schemas: Record<string, any> = {};
    for (const file of fs.readdirSync(dir)) {
        if (!file.endsWith("_openapi.json")) continue;
        const doc = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
        Object.assign(schemas, doc.components?.schemas ?? {});
    }
    // Quantity is declared as a plain string; mark it so makeStrict widens it.
    const quantity = schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"];
    if (quantity) quantity.format = "quantity";

    const kinds = new Map<string, string>();
    for (const [name, schema] of Object.entries(schemas)) {
        for (const gvk of schema["x-kubernetes-group-version-kind"] ?? []) {
            kinds.set(`${gvk.group ? gvk.group + "/" : ""}${gvk.version}/${gvk.kind}`, name);
        }
    }
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: "k8s", components: { schemas: makeStrict(schemas) } });
    return new Map([...kinds].map(([gvk, name]) => [gvk, lazy(() => ajv.getSchema(`k8s#/components/schemas/${name}`)!)]));
}

function lazy(make: () => ValidateFunction): ValidateFunction {
    let fn: ValidateFunction | undefined;
    const wrapper = ((data: unknown) => {
        fn ??= make();
        const ok = fn(data);
        wrapper.errors = fn.errors;
        return ok;
    }) as ValidateFunction;
    return wrapper;
}

// kubernetes-models is ESM-only; TypeScript would compile import() to require() under CommonJS.
const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<any>;

/** Problems with one object; empty when it is valid. */
export async function schemaProblems(obj: K8sObject): Promise<string[]> {
    strictValidators ??= loadStrictValidators();
    const where = `${obj.apiVersion}/${obj.kind} ${obj.metadata?.name ?? "<unnamed>"}`;
    const validate = strictValidators.get(`${obj.apiVersion}/${obj.kind}`);
    if (!validate) {
        return [`${where}: no schema for ${obj.apiVersion} ${obj.kind} in Kubernetes ${KUBERNETES_VERSION}`];
    }
    const problems: string[] = [];
    if (!validate(obj)) {
        for (const e of validate.errors ?? []) {
            const extra = e.keyword === "additionalProperties" ? ` "${(e.params as any).additionalProperty}"` : "";
            problems.push(`${where}: ${e.instancePath || "/"} ${e.message}${extra}`);
        }
    }
    const models = await importEsm(`kubernetes-models/${obj.apiVersion}/${obj.kind}`);
    try {
        new models[obj.kind](obj).validate();
    } catch (e) {
        problems.push(`${where}: ${(e as Error).message}`);
    }
    return problems;
}

/** Throws with every problem of every object. */
export async function assertValidObjects(objects: K8sObject[]): Promise<void> {
    const problems = (await Promise.all(objects.map(schemaProblems))).flat();
    if (problems.length) {
        throw new Error(`${problems.length} schema problem(s):\n  ${problems.join("\n  ")}`);
    }
}
