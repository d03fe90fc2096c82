// Error formatting: a zod issue as one line that names the config key, what is wrong, the bad value
// (unless it may be a secret) and, for an unknown key, the keys allowed there.
import { z } from "zod";

/** The type of a schema under its defaults, optionals and pipes ("string", "boolean", "object", ...). */
export function schemaKind(schema: any): string | undefined {
    while (schema?.def && ["default", "prefault", "optional", "nullable", "pipe"].includes(schema.def.type)) {
        schema = schema.def.innerType ?? schema.def.in;
    }
    return schema?.def?.type;
}

export function describeIssue(schema: z.ZodType, issue: z.core.$ZodIssue, configNamespace: string): string {
    const [top, ...rest] = issue.path.map(String);
    const key = top === undefined ? `${configNamespace}:<root>` : `${configNamespace}:${top}${rest.length ? "." + rest.join(".") : ""}`;
    if (issue.code === "unrecognized_keys") {
        const allowed = Object.keys(shapeAt(schema, issue.path.map(String)));
        const where = top === undefined ? `${configNamespace}:` : `${key}: `;
        return `${where}unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; allowed: ${allowed.join(", ")}`;
    }
    // A key the schema needs but the config lacks (zod: "expected string, received undefined"), or one
    // written without a value (YAML null): said as such, not as a type mismatch.
    if ((issue.code === "invalid_type" || issue.code === "invalid_value") && (issue.input === undefined || issue.input === null)) {
        if (issue.input === null)
            return `${key}: must not be empty: the stack file gives it no value (YAML null, e.g. the key with nothing after its colon); give it a value, or remove the key (one with a default then takes it)`;
        return `${key}: is required${issue.code === "invalid_value" ? `: one of ${issue.values.map((v) => JSON.stringify(v)).join("|")}` : ""}`;
    }
    // Show the offending value when it is a scalar or short list; a whole object only adds noise.
    const redact = issue.code === "custom" && issue.params?.redact === true;
    const input = "input" in issue && !redact ? issue.input : undefined;
    const got = input !== undefined && (typeof input !== "object" || JSON.stringify(input).length <= 80) ? ` (got ${JSON.stringify(input)})` : "";
    // A bad record key (e.g. an env var name) carries the key's own problem one level down.
    const message = issue.code === "invalid_key" ? issue.issues.map((i) => i.message).join("; ") : issue.message;
    return `${key}: ${message}${got}`;
}

/** The object shape at a path of the schema, to list the allowed keys next to an unknown one. */
export function shapeAt(root: z.ZodType, path: string[]): Record<string, unknown> {
    let schema: any = root;
    for (const segment of [undefined, ...path]) {
        // unwrap refinements, defaults and optionals down to the object (or the list or map holding it)
        while (schema && !schema.shape && schema.def && !["array", "record"].includes(schema.def.type)) {
            schema = schema.def.innerType ?? schema.def.in ?? schema.def.schema;
        }
        if (segment === undefined) continue;
        // an item of a list (extraContainers.0) or a value of a map
        schema = schema?.def?.type === "array" ? schema.def.element : schema?.def?.type === "record" ? schema.def.valueType : schema?.shape?.[segment];
    }
    while (schema && !schema.shape && schema.def) {
        schema = schema.def.innerType ?? schema.def.in ?? schema.def.schema;
    }
    return schema?.shape ?? {};
}
