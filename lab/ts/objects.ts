// The objects a lab check works on: loaded from a file (JSON or multi-document YAML), written back
// as JSON streams for kubectl, and read live from the API server.
import * as fs from "fs";
import * as path from "path";
import { CheckError, kubectl } from "./kubectl";

export type KObject = {
    apiVersion: string;
    kind: string;
    metadata: {
        name: string;
        namespace?: string;
        resourceVersion?: string;
        generation?: number;
        uid?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        managedFields?: ManagedFieldsEntry[];
        deletionTimestamp?: string;
        ownerReferences?: { kind: string; name: string }[];
        [key: string]: unknown;
    };
    spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    status?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    [key: string]: unknown;
};

type ManagedFieldsEntry = { manager?: string; operation?: string; time?: string; subresource?: string };

// ---------------------------------------------------------------------------------------------
// Loading

function flatten(value: unknown, out: KObject[], source: string): void {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
        for (const v of value) flatten(v, out, source);
        return;
    }
    if (typeof value !== "object") throw new CheckError("load", `${source}: expected Kubernetes objects, found ${typeof value}`);
    const o = value as KObject;
    if (typeof o.kind === "string" && o.kind.endsWith("List") && Array.isArray(o.items)) {
        flatten(o.items, out, source);
        return;
    }
    if (!o.apiVersion || !o.kind || !o.metadata?.name) {
        throw new CheckError("load", `${source}: object without apiVersion/kind/metadata.name: ${JSON.stringify(o).slice(0, 200)}`);
    }
    out.push(o);
}

/** Splits concatenated JSON values ("{...}{...}") into separate texts. */
export function splitJsonStream(text: string): string[] {
    const docs: string[] = [];
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = -1;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (inString) {
            if (escaped) escaped = false;
            else if (c === "\\") escaped = true;
            else if (c === '"') inString = false;
            continue;
        }
        if (c === '"') inString = true;
        else if (c === "{" || c === "[") {
            if (depth === 0) start = i;
            depth++;
        } else if (c === "}" || c === "]") {
            depth--;
            if (depth === 0) docs.push(text.slice(start, i + 1));
        }
    }
    return docs;
}

/** Reads a JSON array/List or a multi-document YAML file into a flat object list (file order). */
export function loadObjects(file: string): KObject[] {
    const text = fs.readFileSync(file, "utf8");
    const out: KObject[] = [];
    const trimmed = text.trimStart();
    if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
        flatten(JSON.parse(text), out, file);
    } else {
        // YAML: let kubectl parse it (no server-side validation here, that is the apply step's job).
        // kubectl prints one JSON document per object, one after the other.
        const r = kubectl(["create", "--dry-run=client", "--validate=false", "-o", "json", "-f", file]);
        for (const doc of splitJsonStream(r.stdout)) flatten(JSON.parse(doc), out, file);
    }
    if (out.length === 0) throw new CheckError("load", `${file} contains no objects`);
    return out;
}

// ---------------------------------------------------------------------------------------------
// The API server's view

export type Resource = { name: string; namespaced: boolean; group: string; kind: string };
let resourceCache: Resource[] | undefined;

export function apiResources(): Resource[] {
    if (resourceCache) return resourceCache;
    const out = kubectl(["api-resources", "--no-headers", "-o", "wide"]).stdout;
    const res: Resource[] = [];
    // columns: NAME SHORTNAMES APIVERSION NAMESPACED KIND VERBS CATEGORIES (SHORTNAMES may be empty)
    for (const line of out.split("\n")) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 5) continue;
        const nsIdx = cols.findIndex((c, i) => i >= 2 && (c === "true" || c === "false"));
        if (nsIdx < 0) continue;
        const apiVersion = cols[nsIdx - 1];
        const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
        const verbs = cols[nsIdx + 2] || "";
        if (!verbs.includes("list")) continue;
        res.push({ name: cols[0], namespaced: cols[nsIdx] === "true", group, kind: cols[nsIdx + 1] });
    }
    resourceCache = res;
    return res;
}

export function isNamespaced(o: KObject): boolean {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
    const r = apiResources().find((x) => x.kind === o.kind && x.group === group);
    if (!r) throw new CheckError("load", `the API server does not serve ${o.apiVersion} ${o.kind} (object ${o.metadata.name})`);
    return r.namespaced;
}

export function ref(o: KObject): string {
    return `${o.kind}/${o.metadata.namespace ? o.metadata.namespace + "/" : ""}${o.metadata.name}`;
}

/**
 * Writes objects as a stream of JSON documents, one per line. (Not a v1 List: kubectl cannot ask
 * the server for strict field validation of a List and would fall back to client-side validation.)
 */
export function writeList(dir: string, name: string, items: KObject[]): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, items.map((o) => JSON.stringify(o)).join("\n") + "\n");
    return f;
}

/** Live objects for the given manifest objects, same order; missing ones are undefined. One kubectl call. */
export function getLive(objs: KObject[], dir: string): (KObject | undefined)[] {
    const f = writeList(dir, "get.json", objs);
    const r = kubectl(["get", "-f", f, "--ignore-not-found", "-o", "json"]);
    const items = r.stdout.trim() ? flattenLive(JSON.parse(r.stdout)) : [];
    const key = (o: KObject) => `${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
    const byKey = new Map(items.map((o) => [key(o), o]));
    return objs.map((o) => byKey.get(key(o)));
}

function flattenLive(v: unknown): KObject[] {
    const o = v as KObject & { items?: KObject[] };
    return Array.isArray(o.items) ? o.items : [o];
}
