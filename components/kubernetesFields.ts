// The scalar fields of Kubernetes objects, as zod schemas: names, label keys and values, enums, paths,
// ports and quantities, each refused with what the API server (v1.34) would say is allowed. The object
// schemas (kubernetesObjects.ts, kubernetesContainers.ts, kubernetesScheduling.ts) are built from them.
// No imports from components: the config (components/config/) reads this module before any component exists.
import { z } from "zod";
import { dnsLabelProblem, dnsSubdomainProblem, labelKeyProblem, labelValueProblem, quantityValue } from "./formats";

/**
 * Type names in the component's generated args (tools/generateArgs.ts) for shapes the config uses in
 * several places: one type named for what it is, not after the first section that has it. Where the
 * places' defaults differ (each component's resources), each holding field documents its own.
 */
export const argsTypeNames = z.registry<{ name: string }>();

/** A string checked by one of the grammars in formats.ts; the issue carries the offending value. */
export const checked = (problem: (value: string) => string | undefined) =>
    z.string().superRefine((value, ctx) => {
        const message = problem(value);
        if (message) ctx.addIssue({ code: "custom", input: value, message });
    });

export const dnsLabel = checked(dnsLabelProblem);
/** A Kubernetes object name (DNS subdomain), e.g. of a Secret the config refers to. */
export const objectName = checked(dnsSubdomainProblem);
export const labelKey = checked(labelKeyProblem);
export const labelValue = checked(labelValueProblem);

/** One of Kubernetes' enum values, refused with the list (`must be one of In, NotIn, ...`). */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(", ")}` });

/** A port number, 1 to 65535. */
export const portNumber = z
    .int({ error: "must be a port number from 1 to 65535" })
    .min(1, "must be a port number from 1 to 65535")
    .max(65535, "must be a port number from 1 to 65535");

/** IANA_SVC_NAME: the name of a container port (a Service's targetPort or a probe may name it). */
export function portNameProblem(name: string): string | undefined {
    const ok = name.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && /[a-z]/.test(name) && !name.includes("--");
    return ok ? undefined : "must be a port name: at most 15 lowercase letters, digits and '-', with at least one letter, not starting or ending with '-' and without '--'";
}
export const portName = checked(portNameProblem);

/** A path inside a volume (subPath, items[].path): relative, without a '..' element. */
export function relativePathProblem(path: string): string | undefined {
    if (path.startsWith("/")) return "must be a relative path (no leading '/')";
    return path.split("/").includes("..") ? "must not contain '..'" : undefined;
}

/** A key of a ConfigMap or Secret: letters, digits, '-', '_' and '.', at most 253, not '.' or '..'. */
export function configMapKeyProblem(key: string): string | undefined {
    const ok = /^[-._a-zA-Z0-9]+$/.test(key) && key.length <= 253 && key !== "." && key !== ".." && !key.startsWith("..");
    return ok ? undefined : "must be a Secret or ConfigMap key: at most 253 letters, digits, '-', '_' and '.', not '.' or '..' and not starting with '..'";
}
export const configMapKey = checked(configMapKeyProblem);

/** A quantity the API server takes for a resource amount or a size: valid, and not negative. */
export function nonNegativeQuantityProblem(text: string): string | undefined {
    const value = quantityValue(text);
    if (value === undefined) return "must be a Kubernetes quantity such as 250m, 1, 0.5, 512Mi or 20Gi";
    return value < 0 ? "must not be negative" : undefined;
}
/** A quantity given as text or a number (`cpu: 2`), as in a manifest. */
export const quantityInput = z.union([z.string(), z.number()], { error: "must be a Kubernetes quantity such as 250m, 1, 512Mi or 20Gi" }).superRefine((value, ctx) => {
    const message = nonNegativeQuantityProblem(String(value));
    if (message) ctx.addIssue({ code: "custom", input: value, message });
});

/** A file mode of a Secret, ConfigMap or downward API file: 0 to 0777 (511 as a number). */
export const fileMode = z.int().min(0, "must be a file mode from 0 to 0777 (511)").max(0o777, "must be a file mode from 0 to 0777 (511)");

/** An environment variable name, as the package refuses it everywhere (extraEnv, env of extra containers, an envFrom prefix). */
export const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
export const envName = z.string().regex(ENV_NAME, "must be an environment variable name");
