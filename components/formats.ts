// Value grammars of the systems this package hands values to, mirrored so that the config schema
// refuses what Kubernetes, a registry or Google Cloud would refuse mid-update. Each check returns
// undefined for a valid value and otherwise a message that says what is allowed.
// No imports from components: the config (components/config/) reads this module before any component exists.
import * as net from "net";

// ---- Kubernetes names ----

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** RFC 1123 label (namespaces, Service names): lowercase alphanumerics and '-', at most 63. */
export function dnsLabelProblem(value: string): string | undefined {
    return DNS_LABEL.test(value) && value.length <= 63
        ? undefined
        : "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
}

/** RFC 1123 subdomain (most object names: Secrets, claims, StorageClasses): labels joined by '.', at most 253. */
export function dnsSubdomainProblem(value: string): string | undefined {
    return DNS_SUBDOMAIN.test(value) && value.length <= 253
        ? undefined
        : "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";
}

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A label key (nodeSelector, toleration key): `[prefix/]name`, prefix a subdomain, name at most 63. */
export function labelKeyProblem(value: string): string | undefined {
    const slash = value.lastIndexOf("/");
    const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
    const name = slash >= 0 ? value.slice(slash + 1) : value;
    const ok = QUALIFIED_NAME.test(name) && name.length <= 63 && (prefix === undefined || dnsSubdomainProblem(prefix) === undefined);
    return ok ? undefined : "must be a label key such as pool or cloud.google.com/gke-nodepool: [DNS subdomain/]name, name at most 63 of letters, digits, '-', '_', '.'";
}

/** A label value: empty, or at most 63 of letters, digits, '-', '_', '.', starting and ending alphanumeric. */
export function labelValueProblem(value: string): string | undefined {
    return value === "" || (QUALIFIED_NAME.test(value) && value.length <= 63)
        ? undefined
        : "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
}

// ---- Kubernetes quantities ----

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const SUFFIX: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
};

/**
 * The value of a Kubernetes quantity (`<signedNumber><suffix>`, suffix a binary SI `Ki`..`Ei`, a
 * decimal SI `m`, ``, `k`..`E`, or an exponent `e<n>`), or undefined when the text is not one.
 */
export function quantityValue(text: string): number | undefined {
    const m = QUANTITY.exec(text);
    if (!m) return undefined;
    const [, sign, number, suffix = ""] = m;
    const scale = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
    return (sign === "-" ? -1 : 1) * Number(number) * scale;
}

/** A quantity Kubernetes accepts as a size or a resource amount: valid and greater than zero. */
export function positiveQuantityProblem(text: string): string | undefined {
    const value = quantityValue(text);
    if (value === undefined) return "must be a Kubernetes quantity such as 250m, 1, 0.5, 512Mi or 20Gi";
    return value > 0 ? undefined : "must be greater than zero";
}

// ---- cron (the schedule of a Kubernetes CronJob) ----

interface CronField {
    name: string;
    min: number;
    max: number;
    names?: string[];
}
const CRON_FIELDS: CronField[] = [
    { name: "minute", min: 0, max: 59 },
    { name: "hour", min: 0, max: 23 },
    { name: "day of month", min: 1, max: 31 },
    { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
    { name: "day of week", min: 0, max: 6, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];
const CRON_MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/**
 * A schedule the Kubernetes CronJob controller accepts: five fields (minute hour day-of-month month
 * day-of-week) of `*`, `?`, values, names (JAN-DEC, SUN-SAT), ranges `a-b`, steps `/n` and lists,
 * each within its field's bounds; or a macro (`@hourly`, `@daily`, ...) or `@every <duration>`.
 * Kubernetes refuses a time zone in the schedule (TZ=, CRON_TZ=): that is the CronJob's timeZone field.
 */
export function cronProblem(schedule: string): string | undefined {
    const text = schedule.trim();
    if (/TZ/.test(text)) return "must not contain TZ= or CRON_TZ= (Kubernetes sets the time zone with the CronJob's timeZone field)";
    if (text.startsWith("@")) {
        if (CRON_MACROS.includes(text)) return undefined;
        const every = /^@every\s+(\S+)$/.exec(text);
        if (every && GO_DURATION.test(every[1])) return undefined;
        return `must be a cron schedule: a macro is one of ${CRON_MACROS.join(", ")} or @every <duration> such as @every 10m`;
    }
    const fields = text.split(/\s+/);
    if (fields.length !== 5) return `must be a cron schedule with five fields (minute hour day-of-month month day-of-week), such as */5 * * * *; got ${fields.length}`;
    const problems = fields.map((f, i) => cronFieldProblem(f, CRON_FIELDS[i])).filter((p): p is string => p !== undefined);
    return problems.length ? `must be a cron schedule such as */5 * * * *: ${problems.join("; ")}` : undefined;
}

function cronFieldProblem(field: string, f: CronField): string | undefined {
    const parsed = cronFieldValues(field, f);
    return typeof parsed === "string" ? parsed : undefined;
}

/** The values a valid cron field matches, or what is wrong with it. */
function cronFieldValues(field: string, f: CronField): Set<number> | string {
    const values = new Set<number>();
    for (const part of field.split(",")) {
        const [range, step, ...extra] = part.split("/");
        if (extra.length) return `${f.name} "${part}" has more than one '/'`;
        if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) return `${f.name} step "${step}" must be a positive number`;
        let start = f.min;
        let end = f.max;
        if (range !== "*" && range !== "?") {
            const ends = range.split("-");
            if (ends.length > 2) return `${f.name} "${part}" has more than one '-'`;
            const bounds = ends.map((e) => cronValue(e, f));
            if (bounds.some((v) => v === undefined)) return `${f.name} "${part}" must use numbers${f.names ? " or names" : ""} from ${f.min} to ${f.max}`;
            // `a` is one value, `a-b` a range, `a/n` every n-th from a to the field's maximum.
            const [first, last] = bounds as number[];
            start = first;
            end = ends.length === 2 ? last : step === undefined ? first : f.max;
            if (start < f.min || start > f.max || end > f.max) return `${f.name} "${part}" is out of range ${f.min}-${f.max}`;
            if (start > end) return `${f.name} "${part}" starts after it ends`;
        }
        for (let v = start; v <= end; v += Number(step ?? 1)) values.add(v);
    }
    return values;
}

function cronValue(text: string, f: CronField): number | undefined {
    if (/^\d+$/.test(text)) return Number(text);
    const index = f.names?.indexOf(text.toLowerCase()) ?? -1;
    return index >= 0 ? f.min + index : undefined;
}

const CRON_MACRO_SECONDS: Record<string, number> = { "@hourly": 3600, "@daily": 86400, "@midnight": 86400, "@weekly": 7 * 86400, "@monthly": 28 * 86400, "@yearly": 365 * 86400, "@annually": 365 * 86400 };
const GO_DURATION_UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * The shortest time, in seconds, between two runs of a valid cron schedule, or a lower bound of it:
 * the gaps between the day's run times (hour × minute fields), and the gap over midnight as if the
 * next day matched too (the day fields can only make real gaps longer). `@every <duration>` is its
 * duration.
 */
export function cronShortestGapSeconds(schedule: string): number {
    const text = schedule.trim();
    if (CRON_MACRO_SECONDS[text] !== undefined) return CRON_MACRO_SECONDS[text];
    const every = /^@every\s+(\S+)$/.exec(text);
    if (every) return [...every[1].matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * GO_DURATION_UNIT_SECONDS[unit], 0);
    const [minutes, hours] = text.split(/\s+/).map((field, i) => cronFieldValues(field, CRON_FIELDS[i]));
    if (typeof minutes === "string" || typeof hours === "string") throw new Error(`not a valid cron schedule: ${schedule}`);
    const times = [...hours].flatMap((h) => [...minutes].map((m) => h * 60 + m)).sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    gaps.push(times[0] + 24 * 60 - times[times.length - 1]);
    return Math.min(...gaps) * 60;
}

// ---- CIDRs (NetworkPolicy ipBlock) ----

/** An IPv4 or IPv6 CIDR such as 10.0.0.0/8 or fd00::/8 (no leading zeros, no zone). */
export function cidrProblem(cidr: string): string | undefined {
    const [address, prefix, ...rest] = cidr.split("/");
    const bad = "must be a CIDR such as 10.0.0.0/8, 0.0.0.0/0 or fd00::/8";
    if (rest.length || prefix === undefined || !/^(0|[1-9]\d{0,2})$/.test(prefix)) return bad;
    if (net.isIPv4(address)) return Number(prefix) <= 32 ? undefined : `${bad}: an IPv4 prefix is at most 32`;
    if (net.isIPv6(address) && !address.includes("%")) return Number(prefix) <= 128 ? undefined : `${bad}: an IPv6 prefix is at most 128`;
    return bad;
}

/** uvicorn's forwarded_allow_ips: `*`, or IP addresses and CIDRs separated by ','. */
export function forwardedAllowIpsProblem(value: string): string | undefined {
    if (value === "*") return undefined;
    const bad = value.split(",").map((v) => v.trim()).filter((v) => !(v.includes("/") ? cidrProblem(v) === undefined : net.isIP(v) !== 0));
    return bad.length ? `must be * or IP addresses and CIDRs separated by ',' such as 10.0.0.0/8,192.168.1.10 (not ${bad.map((b) => JSON.stringify(b)).join(", ")})` : undefined;
}

// ---- image references (the distribution reference grammar registries and the kubelet use) ----

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::\d+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * An image reference `[registry[:port]/]path[:tag][@digest]`: the path lowercase components joined by
 * '/', the tag at most 128 of `[A-Za-z0-9_.-]`, the digest `sha256:<64 hex>` (or sha384/sha512).
 * As in Docker's normalisation, the first component is a registry only when it contains '.' or ':'
 * or is `localhost`.
 */
export function imageReferenceProblem(ref: string): string | undefined {
    const example = "such as apache/airflow:3.3.2 or registry.example.com/team/airflow@sha256:<64 hex digits>";
    const [named, digest, ...more] = ref.split("@");
    if (more.length) return `must be an image reference ${example}: more than one '@'`;
    if (digest !== undefined) {
        const [algorithm, hex] = digest.split(":");
        const length = DIGEST_HEX[algorithm];
        if (length === undefined || hex === undefined || !new RegExp(`^[a-f0-9]{${length}}$`).test(hex)) {
            return `must be an image reference ${example}: the digest must be sha256:<64 lowercase hex digits> (or sha384/sha512)`;
        }
    }
    const lastSlash = named.lastIndexOf("/");
    const colon = named.indexOf(":", lastSlash + 1);
    const name = colon >= 0 ? named.slice(0, colon) : named;
    const tag = colon >= 0 ? named.slice(colon + 1) : undefined;
    if (tag !== undefined && !TAG.test(tag)) return `must be an image reference ${example}: a tag is at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'`;
    if (name.length === 0 || name.length > 255) return `must be an image reference ${example}: the name must have 1 to 255 characters`;
    const components = name.split("/");
    const first = components[0];
    const hasRegistry = components.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
    if (hasRegistry && !DOMAIN.test(first)) return `must be an image reference ${example}: "${first}" is not a registry host[:port]`;
    const path = hasRegistry ? components.slice(1) : components;
    if (!path.every((c) => PATH_COMPONENT.test(c))) {
        return `must be an image reference ${example}: the repository path must be lowercase letters and digits, separated by '.', '_', '__', '-' or '/'`;
    }
    return undefined;
}

/** Airflow versions (2.x/3.x, three parts) named in an image reference's tag, e.g. 3.3.2 in apache/airflow:3.3.2-python3.12. */
export function airflowVersionsInTag(ref: string): string[] {
    const named = ref.split("@")[0];
    const lastSlash = named.lastIndexOf("/");
    const colon = named.indexOf(":", lastSlash + 1);
    if (colon < 0) return [];
    return [...named.slice(colon + 1).matchAll(/(?:^|[^0-9.])([23]\.\d+\.\d+)(?![0-9.])/g)].map((m) => m[1]);
}

// ---- git repositories (git-sync, DAG bundles) ----

/** How a DAG source authenticates to its repository. */
export type GitAuth = "none" | "https" | "ssh";

/** The transport a repository URL names (https, ssh for ssh:// or git@host:path, file, or the plain http and git protocols); undefined for anything else. */
export function gitTransport(repo: string): "https" | "ssh" | "file" | "http" | "git" | undefined {
    if (/^https:\/\/./i.test(repo)) return "https";
    if (/^(ssh:\/\/|git@)./i.test(repo)) return "ssh";
    if (/^file:\/\/./i.test(repo)) return "file";
    if (/^http:\/\/./i.test(repo)) return "http";
    if (/^git:\/\/./i.test(repo)) return "git";
    return undefined;
}

/** scheme://user:password@host: a URL that carries a password. */
export const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i;

/** Whether a repository URL carries credentials (https://token@host, scheme://user:password@host). */
export function gitUrlHasCredentials(repo: string): boolean {
    return /^https?:\/\/[^\s/@]+@/i.test(repo) || URL_WITH_PASSWORD.test(repo);
}

/**
 * Why plain http:// or git:// needs an opt-in. Neither git nor git-sync refuses them: git allows
 * http and git by default, and git-sync v4.7.1 hands any --repo to git (for http:// it even lifts a
 * user:password out of the URL and uses it). The package refuses them unless `optIn` is set.
 */
export function insecureTransportProblem(repo: string, optIn: string): string | undefined {
    const transport = gitTransport(repo);
    if (transport !== "http" && transport !== "git") return undefined;
    const what = transport === "http" ? "plain http://" : "the git:// protocol";
    return (
        `uses ${what}, which neither git nor git-sync v4.7.1 refuses: the DAG code Airflow runs would travel unencrypted and unauthenticated, ` +
        `so anyone on the network path could change it; use an https:// or ssh:// URL, or set ${optIn}: true for a git server you trust on a network you control`
    );
}

/**
 * Why a repository URL cannot work with an auth kind (https needs https://, ssh needs ssh:// or
 * git@). `key` names the source's config section in the message (gitSync, dagBundles.0).
 * `plainHttpAuth`: the source sends username and token over a plain http:// URL it opted in to
 * (git-sync does, through git's credential store: seen on the lab's git server).
 */
export function gitRepoAuthProblem(auth: GitAuth, repo: string, key = "gitSync", plainHttpAuth = false): string | undefined {
    const transport = gitTransport(repo);
    if (auth === "https" && transport === "http" && plainHttpAuth) return undefined;
    if (auth === "https" && transport !== "https") return `must be an https:// URL when ${key}.auth is https (the token is sent over HTTPS)`;
    if (auth === "ssh" && transport !== "ssh") return `must be an ssh:// or git@host:path URL when ${key}.auth is ssh`;
    if (auth === "none" && transport === "ssh") return `needs ${key}.auth: ssh and ${key}.credentialsSecretName (SSH always authenticates with a key)`;
    return undefined;
}

/**
 * The TCP port a git repository URL is fetched from: its explicit port, else the scheme's (443 for
 * https://, 80 for http://, 22 for ssh:// and scp-like `user@host:path`, 9418 for git://); undefined for
 * file:// and paths, which need no network.
 */
export function gitRepoPort(repo: string): number | undefined {
    const url = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^/:]+)(?::(\d+))?/i.exec(repo);
    const defaults: Record<string, number> = { https: 443, http: 80, ssh: 22, git: 9418 };
    if (url) {
        const scheme = url[1].toLowerCase();
        if (!(scheme in defaults)) return undefined;
        return url[3] !== undefined ? Number(url[3]) : defaults[scheme];
    }
    // scp-like syntax: [user@]host:path (no scheme, a ':' before the first '/')
    return /^(?:[^@/]+@)?[^/:]+:/.test(repo) ? 22 : undefined;
}
