// The package's names: the parts of a deployment, by the name each carries as its
// `app.kubernetes.io/component` label and as the suffix of its objects' names (`<instance>-api-server`),
// and the type tokens of its components.
import * as pulumi from "@pulumi/pulumi";

/** The Airflow processes and jobs of the production control plane. */
export const COMPONENT = {
    scheduler: "scheduler",
    apiServer: "api-server",
    dagProcessor: "dag-processor",
    triggerer: "triggerer",
    /** The KubernetesExecutor's worker pods. */
    worker: "worker",
    /** The migration Job. */
    migrate: "migrate",
    /** The worker pod clean-up CronJob. */
    workerCleanup: "worker-cleanup",
    /** The Job re-encrypting stored secrets with a new Fernet key (keys.generation). */
    rotateKeys: "rotate-keys",
} as const;
export type ComponentName = (typeof COMPONENT)[keyof typeof COMPONENT];

/** `app.kubernetes.io/component` of the database snapshot and restore pods (database.backup). */
export const BACKUP_COMPONENT = { snapshot: "db-snapshot", restore: "db-restore" } as const;

/** Pulumi type tokens: `<package>:index:<class>`, one package prefix for every component of this package. */
export const TYPE_PREFIX = "airflow-kubernetes:index:";
/** The prefix the sub-components had before; an alias adopts resources registered under it. */
export const LEGACY_TYPE_PREFIX = "airflow:index:";

/** The type token of one of the package's component classes. */
export function componentType(className: string): string {
    return `${TYPE_PREFIX}${className}`;
}

/**
 * A sub-component's options with aliases to the type it was registered under before the package had
 * one prefix (`airflow:index:<class>`), alone and with each alias it was given (the stack as parent,
 * for stacks older than the top-level component): an existing stack's next update adopts the
 * component, and with it its children, instead of replacing them.
 */
export function withLegacyType(className: string, opts: pulumi.ComponentResourceOptions = {}): pulumi.ComponentResourceOptions {
    const type = `${LEGACY_TYPE_PREFIX}${className}`;
    const given = opts.aliases ?? [];
    const retyped = given.flatMap((a) => (typeof a === "object" && !pulumi.Output.isInstance(a) ? [{ ...(a as pulumi.Alias), type }] : []));
    return { ...opts, aliases: [...given, { type }, ...retyped] };
}
