// Parsing and validation: raw config strings decoded, the schema with its cross-field rules, the
// settings a mode would ignore, the config namespaces nobody reads, secrets given in plain text; every
// problem reported at once, by config key.
import { SECRET_CONFIG_KEYS } from "./constants";
import { describeIssue, schemaKind, shapeAt } from "./describe";
import { ignoredSettingProblems } from "./ignoredSettings";
import { crossFieldIssues } from "./rules";
import { sectionsSchema, StackConfig } from "./schema";
import { secretLookingConfigKey } from "./secretEnv";
import { REDACT } from "./constants";

/** The stack config's schema: every section (schema.ts), then the rules across them (rules.ts). */
export const stackConfigSchema = sectionsSchema.superRefine((c, ctx) => {
    for (const issue of crossFieldIssues(c)) {
        ctx.addIssue({
            code: "custom",
            path: issue.path,
            message: issue.message,
            ...(issue.input !== undefined ? { input: issue.input } : {}),
            ...(issue.redact ? { params: REDACT } : {}),
        });
    }
});

/** Config namespaces other than the program's own that are read by the providers this package uses. */
export const PROVIDER_CONFIG_NAMESPACES = ["kubernetes", "gcp", "docker", "random", "pulumi"] as const;

/**
 * Keys in a namespace that neither the program nor a provider reads (`airflw:scheduler`): Pulumi would
 * pass them through and the program would run on defaults.
 */
export function foreignNamespaceProblems(keys: string[], configNamespace: string): string[] {
    const known = new Set<string>([configNamespace, ...PROVIDER_CONFIG_NAMESPACES]);
    return keys
        .filter((key) => !known.has(key.split(":")[0]))
        .sort()
        .map((key) => {
            const [ns, ...rest] = key.split(":");
            const name = rest.join(":");
            return (
                `${key}: unknown config namespace "${ns}"; did you mean ${configNamespace}:${name}? ` +
                `(this program reads ${configNamespace}:, its providers ${PROVIDER_CONFIG_NAMESPACES.map((n) => `${n}:`).join(", ")})`
            );
        });
}

/** Raised when the stack config is invalid; lists every problem at once. */
export class StackConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`);
        this.name = "StackConfigError";
    }
}

/**
 * Parses raw config values, as Pulumi hands them to the program (every value a string, structured
 * values as JSON), keyed by the bare key (`scheduler`, not `airflow:scheduler`). A key whose schema
 * is a string keeps its text as it is (a namespace `123` stays the string "123"); booleans, numbers,
 * objects and lists are decoded. `configNamespace` names the config namespace in messages;
 * `otherProblems` (found outside this namespace) are reported together with this namespace's.
 */
export function parseStackConfig(raw: Record<string, string>, configNamespace = "airflow", otherProblems: string[] = []): StackConfig {
    const values = decodeStackConfig(raw);
    return validateStackConfig(values, { configNamespace, otherProblems, registryPasswordSet: raw.registryPassword !== undefined });
}

/** Raw config strings (bare keys) as structured values, secret keys left out: what the schema's input type describes. */
export function decodeStackConfig(raw: Record<string, string>): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(raw)) {
        if ((SECRET_CONFIG_KEYS as readonly string[]).includes(key)) continue;
        values[key] = decode(key, text);
    }
    return values;
}

export interface ValidateOptions {
    /** Names the config namespace in messages (`<namespace>:<key>: ...`). */
    configNamespace?: string;
    /** Problems found elsewhere, reported first. */
    otherProblems?: string[];
    /** Whether the secret registryPassword is set; undefined leaves that check out (nothing is pushed with it). */
    registryPasswordSet?: boolean;
    /** How to give registryPassword, in its problem. */
    setRegistryPassword?: string;
}

/**
 * Validates structured config values (decoded stack config, or the args of the AirflowOnKubernetes
 * component) and applies the defaults; throws a StackConfigError listing every problem at once.
 */
export function validateStackConfig(values: Record<string, unknown>, options: ValidateOptions = {}): StackConfig {
    const configNamespace = options.configNamespace ?? "airflow";
    const result = stackConfigSchema.safeParse(values, { reportInput: true });
    const problems = [
        ...(options.otherProblems ?? []),
        ...(result.success ? [] : result.error.issues.map((issue) => describeIssue(stackConfigSchema, issue, configNamespace))),
        // A key without a value is already refused above; for these rules it is not set.
        ...ignoredSettingProblems(withoutNulls(values), configNamespace),
        ...(options.registryPasswordSet === undefined
            ? []
            : registryPasswordProblems(
                  withoutNulls(values),
                  options.registryPasswordSet,
                  configNamespace,
                  options.setRegistryPassword ?? "pulumi config set --secret registryPassword <password or token>",
              )),
    ];
    if (problems.length || !result.success) {
        throw new StackConfigError(problems);
    }
    return result.data;
}

/** Objects and lists without their null entries (keys written without a value). */
function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
    const strip = (v: unknown): unknown =>
        Array.isArray(v) ? v.filter((x) => x !== null).map(strip) : v !== null && typeof v === "object" ? withoutNulls(v as Record<string, unknown>) : v;
    return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === null ? [] : [[k, strip(v)]])));
}

/**
 * Parses the whole config map of a Pulumi program (`namespace:key` -> raw value): the program's own
 * namespace through the schema, every other key checked against the namespaces the providers read.
 * `isSecret` (the Pulumi runtime's knowledge of which values the stack file holds encrypted) refuses
 * a secret key given in plain text.
 */
export function parseProgramConfig(all: Record<string, string>, configNamespace: string, isSecret?: (key: string) => boolean): StackConfig {
    const prefix = `${configNamespace}:`;
    const own = Object.fromEntries(Object.entries(all).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])));
    const plain = isSecret ? plainSecretProblems(Object.keys(all), configNamespace, isSecret) : [];
    return parseStackConfig(own, configNamespace, [...foreignNamespaceProblems(Object.keys(all), configNamespace), ...plain]);
}

/** Secret-looking keys the stack file holds in plain text: in the file and the state for anyone to read. */
function plainSecretProblems(keys: string[], configNamespace: string, isSecret: (key: string) => boolean): string[] {
    return keys
        .filter((key) => secretLookingConfigKey(key, configNamespace) && !isSecret(key))
        .sort()
        .map((key) => {
            const name = key.startsWith(`${configNamespace}:`) ? key.slice(configNamespace.length + 1) : key;
            return `${key}: is a secret and must not be plain text in the stack file: set it encrypted with pulumi config set --secret ${name} <value> (the file then holds it as secure: ...)`;
        });
}

/**
 * registry.username goes with the secret registryPassword: one without the other cannot log in.
 * `setPassword` says how to give the password where the config comes from.
 */
function registryPasswordProblems(values: Record<string, unknown>, password: boolean, configNamespace: string, setPassword: string): string[] {
    const registry = values.registry;
    const username = registry !== null && typeof registry === "object" ? (registry as Record<string, unknown>).username : undefined;
    if (username !== undefined && !password) {
        return [`${configNamespace}:registryPassword: is required with registry.username: ${setPassword}`];
    }
    if (username === undefined && password) {
        return [`${configNamespace}:registry.username: is required when registryPassword is set (or remove registryPassword)`];
    }
    return [];
}

/**
 * What Pulumi hands the program for a key written with no value (`airflow:namespace:` alone, YAML
 * null): the Pulumi CLI (v3.277) passes an empty string and warns "No value for configuration key ...
 * This is currently treated as an empty string, but will be treated as null in a future version";
 * the JSON null of that future is the text "null". Either is a key without a value, never the string.
 */
const NO_VALUE = ["", "null"];

/** The raw text as the value its top-level schema expects: strings stay strings, anything else is JSON; no value is null. */
function decode(key: string, text: string): unknown {
    if (NO_VALUE.includes(text)) return null;
    const kind = schemaKind(shapeAt(stackConfigSchema, [])[key]);
    if (kind === "string" || kind === "enum") {
        return text;
    }
    try {
        return JSON.parse(text);
    } catch {
        return text; // not JSON: let the schema say what it expected
    }
}
