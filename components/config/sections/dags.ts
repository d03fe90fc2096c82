// DAG sources from git: the gitSync section and the dagBundles list, with the same URL, auth and
// credentials rules.
import { z } from "zod";
import { dagBundleConnection } from "../../airflowSettings";
import { GitAuth, gitRepoAuthProblem, gitTransport, gitUrlHasCredentials, insecureTransportProblem } from "../../formats";
import { objectName, podExtensionProblems, podExtensionShape } from "../../kubernetesObjects";
import { OWN_POD_NAMES, REDACT, RESERVED_BUNDLE_NAMES, SIDECAR } from "../constants";
import { cron, resources, scheduling } from "../fields";

// ---- DAG sources from git (gitSync, dagBundles): the same URL, auth and credentials rules ----

const TRANSPORT_FORMS: Record<string, string[]> = { https: ["https://"], ssh: ["ssh://", "git@host:path"], file: ["file://"] };

/**
 * A repository URL of one of `transports` (plain http:// and git:// are accepted here and refused
 * by gitSourceProblems unless the source opts in), without credentials: they would sit in the pod
 * spec and the Pulumi state. `withSecret` is the config that keeps them in a Secret instead.
 */
function gitRepoUrl(transports: string[], withSecret: string) {
    const forms = transports.flatMap((t) => TRANSPORT_FORMS[t]);
    return z.string().superRefine((repo, ctx) => {
        const transport = gitTransport(repo);
        if (transport === undefined || !(transports.includes(transport) || transport === "http" || transport === "git")) {
            ctx.addIssue({
                code: "custom",
                params: REDACT,
                message: `must be an ${forms.slice(0, -1).join(", ")} or ${forms[forms.length - 1]} URL (plain http:// and git:// only with allowInsecureTransport: true)`,
            });
        } else if (gitUrlHasCredentials(repo)) {
            ctx.addIssue({
                code: "custom",
                params: REDACT,
                message: `must not carry credentials: give the URL without them and keep them in a Secret with keys username and password (a token): ${withSecret}`,
            });
        }
    });
}

/** How a git DAG source authenticates, and the opt-in for unencrypted transports. */
const gitAuthShape = {
    /** `https`: Secret keys `username` + `password` (a token). `ssh`: Secret keys `ssh` (private key) + `known_hosts`. `none`: a public repository. */
    auth: z.enum(["none", "https", "ssh"]).default("none"),
    /** Secret holding credentials: `username` + `password` (https) or `ssh` + `known_hosts` (ssh). */
    credentialsSecretName: objectName.optional(),
    /**
     * Accept plain http:// and git:// URLs, which carry DAG code unencrypted and unauthenticated:
     * only for a git server you trust on a network you control (git and git-sync accept them silently).
     */
    allowInsecureTransport: z.boolean().default(false),
};

/**
 * Cross-field rules of a git DAG source (`key` is its config key, e.g. gitSync or dagBundles.0).
 * Settings it would ignore are refused only while the source is `active` (gitSync.enabled).
 */
function gitSourceProblems(key: string, active: (g: { enabled?: boolean }) => boolean = () => true, plainHttpAuth = false) {
    return (
        g: { enabled?: boolean; repo?: string; auth: GitAuth; credentialsSecretName?: string; allowInsecureTransport: boolean },
        ctx: Pick<z.RefinementCtx, "addIssue">,
    ): void => {
        if (g.auth !== "none" && g.credentialsSecretName === undefined) {
            ctx.addIssue({ code: "custom", path: ["credentialsSecretName"], message: "is required when auth is https or ssh" });
        }
        if (g.repo === undefined || gitTransport(g.repo) === undefined || gitUrlHasCredentials(g.repo)) return;
        const message =
            (g.allowInsecureTransport ? undefined : insecureTransportProblem(g.repo, `${key}.allowInsecureTransport`)) ??
            gitRepoAuthProblem(g.auth, g.repo, key, plainHttpAuth && g.allowInsecureTransport);
        if (message) ctx.addIssue({ code: "custom", path: ["repo"], params: REDACT, message });
        if (!active(g)) return;
        if (g.auth === "none" && g.credentialsSecretName !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["credentialsSecretName"],
                input: g.credentialsSecretName,
                message: `is only used when ${key}.auth is https or ssh: set the auth, or remove it`,
            });
        }
        if (g.allowInsecureTransport && !["http", "git"].includes(gitTransport(g.repo)!)) {
            ctx.addIssue({
                code: "custom",
                path: ["allowInsecureTransport"],
                input: true,
                message: `only opts in to plain http:// and git:// URLs, and ${key}.repo uses neither: remove it`,
            });
        }
    };
}

/** A DAG bundle's name: it names the bundle in Airflow, its folder under the bundle storage and its connection (dagBundleConnection). */
const bundleName = z
    .string()
    .regex(
        /^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$/,
        "must be a bundle name: lowercase letters, digits, '-' and '_', starting with a letter and ending with a letter or digit, at most 63 characters (it names the bundle's folder, its connection and env vars)",
    )
    .refine((name) => !RESERVED_BUNDLE_NAMES.includes(name), {
        error: (issue) =>
            `is reserved: ${issue.input === "dags-folder" ? "dags-folder is the DAG image's own bundle" : "Airflow keeps example_dags for its example DAGs"}; pick another name`,
    });

/** One git repository as an Airflow 3 DAG bundle (GitDagBundle of apache-airflow-providers-git). */
const dagBundle = z.strictObject({
    /** Unique name of the bundle, shown in the UI and recorded with each run (with the commit it ran). */
    name: bundleName,
    /** Repository URL without credentials: https://, ssh:// or git@host:path. */
    repo: gitRepoUrl(["https", "ssh"], "dagBundles: [{name: <name>, repo: https://<host>/<org>/<repo>.git, auth: https, credentialsSecretName: <secret>}]"),
    /** Branch, tag or commit the bundle tracks (GitDagBundle's tracking_ref). */
    ref: z
        .string()
        .regex(/^[^\s-][^\s]*$/, "must be a branch, tag or commit: no spaces, not starting with '-' (git would read an option)")
        .refine((ref) => !ref.includes(".."), "must be a branch, tag or commit: '..' is not allowed in a git ref")
        .default("main"),
    /** Folder inside the repository that holds the DAG files; the repository's root when omitted. */
    subdir: z
        .string()
        .regex(/^[^/\s]+(\/[^/\s]+)*$/, "must be a relative path inside the repository such as dags or teams/data/dags: no leading or trailing '/', no spaces")
        .refine((dir) => !dir.split("/").includes(".."), "must stay inside the repository: no '..'")
        .optional(),
    /** Seconds between fetches by the dag-processor (each replica fetches the repository). */
    refreshInterval: z.int().min(10).max(86400).default(60),
    ...gitAuthShape,
});

/** The DAG bundles, each checked as a git source under its own key, their names and connections unique. */
const dagBundleList = z
    .array(dagBundle)
    .superRefine((bundles, ctx) => {
        const first = new Map<string, number>();
        const firstConn = new Map<string, number>();
        bundles.forEach((b, i) => {
            gitSourceProblems(`dagBundles.${i}`)(b, {
                addIssue: (issue) => ctx.addIssue({ ...(issue as z.core.$ZodRawIssue), path: [i, ...((issue as { path?: PropertyKey[] }).path ?? [])] }),
            });
            const { connId } = dagBundleConnection(b.name);
            const same = first.get(b.name);
            const sameConn = firstConn.get(connId);
            if (same !== undefined) {
                ctx.addIssue({
                    code: "custom",
                    path: [i, "name"],
                    input: b.name,
                    message: `is the name of dagBundles.${same} too: bundle names must be unique (Airflow refuses the whole bundle list otherwise)`,
                });
            } else if (sameConn !== undefined) {
                ctx.addIssue({
                    code: "custom",
                    path: [i, "name"],
                    input: b.name,
                    message: `gives the same connection id as dagBundles.${sameConn} (${bundles[sameConn].name}): ${connId}, env AIRFLOW_CONN_${connId.toUpperCase()}; names that differ only in '-' and '_' share one, so rename one of them`,
                });
            }
            if (same === undefined) first.set(b.name, i);
            if (sameConn === undefined) firstConn.set(connId, i);
        });
    })
    .prefault([]);

export const dagSections = {
    /** DAGs from a git repository: a git-sync CronJob onto the shared DAG claim, or a sidecar in every DAG-reading pod. */
    gitSync: z
        .strictObject({
            enabled: z.boolean().default(false),
            /** `cronjob`: one sync per schedule onto shared storage. `sidecar`: continuous sync in each DAG-reading pod. */
            mode: z.enum(["cronjob", "sidecar"]).default("cronjob"),
            repo: gitRepoUrl(["https", "ssh", "file"], "gitSync: {repo: https://<host>/<org>/<repo>.git, auth: https, credentialsSecretName: <secret>}").optional(),
            ref: z.string().default("main"),
            /** Folder inside the repository that holds the DAG files. */
            subPath: z.string().default(""),
            schedule: cron.default("*/5 * * * *"),
            /** sidecar mode: time between syncs. */
            period: z
                .string()
                .regex(/^[1-9]\d*(s|m)$/, "must be a duration such as 30s or 2m, at least 1s (git-sync refuses a period under 10ms)")
                .default("60s"),
            ...gitAuthShape,
            resources: resources(SIDECAR),
            // The CronJob pods' scheduling and extension points (mode cronjob), as on every component.
            ...scheduling,
            ...podExtensionShape,
        })
        .prefault({})
        .refine((g) => !g.enabled || g.repo !== undefined, { message: "is required when gitSync is enabled", path: ["repo"] })
        // git-sync sends username and token over an opted-in http:// URL too (an in-cluster git server
        // without TLS); a DAG bundle's connection is only known to work over https://
        .superRefine(gitSourceProblems("gitSync", (g) => g.enabled === true, true))
        .superRefine(podExtensionProblems(OWN_POD_NAMES.gitSync)),

    /**
     * Airflow 3 DAG bundles: git repositories the dag-processor and every worker pod clone
     * themselves (GitDagBundle); each DAG run records the commit it ran, and its tasks run that
     * commit. Beside DAGs in the image (dagsInImage, images.build), which stay the `dags-folder`
     * bundle; not with gitSync.
     */
    dagBundles: dagBundleList,
};
