// The secret-env policy: what looks like a secret (by a variable's or a config key's name, or a URL
// with a password), and the env knobs of a config section, which refuse secrets as plain values and
// the names the package sets itself.
import { z } from "zod";
import { ownedAirflowEnv } from "../airflowSettings";
import { URL_WITH_PASSWORD } from "../formats";
import { objectName } from "../kubernetesObjects";
import { REDACT, SECRET_CONFIG_KEYS, SECRET_NAME_PARTS } from "./constants";

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

export const secretKey = z
    .string()
    .max(253)
    .regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret key: letters, digits, '-', '_' and '.'");

/** Why an env var name looks like it holds a secret; undefined when it does not. */
export function secretLookingEnvName(name: string): string | undefined {
    const upper = name.toUpperCase();
    if (upper.startsWith("AIRFLOW_CONN_")) return "AIRFLOW_CONN_* holds a connection URI";
    const parts = upper.split("_").filter(Boolean);
    if (parts[parts.length - 1] === "CONN") return "*_CONN holds a connection URI";
    const part = parts.find((p) => SECRET_NAME_PARTS.includes(p));
    return part ? `its name part ${part} marks a secret` : undefined;
}

/**
 * Env knobs of one config section (`scheduler`, ..., or "" for the top level): plain values, single
 * keys of Secrets, and whole Secrets. Plain values are refused when they look secret (they would sit
 * in the pod spec and the Pulumi state), and no source may set what the package sets itself.
 */
export function envSources(section: string) {
    const at = (key: string) => (section ? `${section}.${key}` : key);
    const owned = ownedAirflowEnv("production");
    const secretWay = (name: string) =>
        `keep the value in a Kubernetes Secret and reference it: ${at("secretEnv")}: {${name}: {secretName: <secret>, key: <key>}} ` +
        `(or load every key of a Secret: ${at("envFromSecrets")}: [<secret>])`;
    const refuseOwned = (names: string[], ctx: z.RefinementCtx) => {
        for (const name of names.filter((n) => owned.includes(n))) {
            ctx.addIssue({ code: "custom", path: [name], params: REDACT, message: ownedEnvMessage(owned) });
        }
    };
    return {
        /** Non-secret env vars; the values end up in the pod spec and the Pulumi state. */
        extraEnv: z
            .record(envName, z.string())
            .superRefine((env, ctx) => {
                refuseOwned(Object.keys(env), ctx);
                for (const [name, value] of Object.entries(env)) {
                    if (owned.includes(name)) continue;
                    const why = secretLookingEnvName(name);
                    const message = why
                        ? `looks like a secret (${why}) and must not be a plain value: ${secretWay(name)}`
                        : URL_WITH_PASSWORD.test(value)
                          ? `holds a URL with a password (scheme://user:password@) and must not be a plain value: ${secretWay(name)}`
                          : undefined;
                    if (message) ctx.addIssue({ code: "custom", path: [name], params: REDACT, message });
                }
            })
            .prefault({}),
        /** Env vars read from keys of existing Secrets: name -> {secretName, key}. */
        secretEnv: z
            .record(envName, z.strictObject({ secretName: objectName, key: secretKey }))
            .superRefine((env, ctx) => refuseOwned(Object.keys(env), ctx))
            .prefault({}),
        /** Existing Secrets whose every key becomes an env var (envFrom). */
        envFromSecrets: z.array(objectName).prefault([]),
    };
}

export function ownedEnvMessage(owned: string[]): string {
    return `is set by this package and cannot be overridden (use the config key that drives it); the package sets ${owned.join(", ")}`;
}

/**
 * Whether a config key holds a secret: the program's secret keys (its other keys are the schema's, none
 * a secret), and a provider's whose name says so (gcp:accessToken, docker:keyMaterial).
 */
export function secretLookingConfigKey(key: string, configNamespace: string): boolean {
    const [ns, ...rest] = key.split(":");
    const name = rest.join(":");
    if (ns === configNamespace) return (SECRET_CONFIG_KEYS as readonly string[]).includes(name);
    const parts = name
        .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
        .toUpperCase()
        .split(/[^A-Z0-9]+/);
    return parts.some((p) => SECRET_NAME_PARTS.includes(p));
}
