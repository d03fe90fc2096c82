// The upstream images the package defaults to, which the lab serves under their own names: lab/images.sh
// pushes each stand-in to the loopback registry under `<registry host>/<path>:<tag>`, and containerd on
// the lab's node resolves those hosts through it (lab/node.sh writes a hosts.toml per host), so a stack
// deploys the same references on the lab as on any cluster. Run as a script, prints `<stand-in> <ref>`
// lines for lab/images.sh, the references fully qualified.
import { parseStackConfig } from "../../components/config";

/** What the lab builds a stand-in for, by the setting that names it. */
export type StandIn = "airflow" | "postgres" | "setup" | "statsdExporter" | "gitSync";

/** The package's default image for each stand-in (`images.airflow` is `apache/airflow:<airflowVersion>`). */
export function upstreamDefaults(): Record<StandIn, string> {
    const c = parseStackConfig({});
    return {
        airflow: `apache/airflow:${c.airflowVersion}`,
        postgres: c.images.postgres,
        setup: c.images.setup,
        statsdExporter: c.metrics.image,
        gitSync: c.images.gitSync,
    };
}

/**
 * An image reference as the container runtime reads it: the registry host (docker.io when the first
 * component names none: no dot, no port, not localhost), `library/` for docker.io's official images,
 * and the tag or digest as given (`latest` when neither).
 */
export function qualified(ref: string): { host: string; path: string; ref: string } {
    const at = ref.indexOf("@");
    const name = at >= 0 ? ref.slice(0, at) : ref;
    const digest = at >= 0 ? ref.slice(at) : "";
    const slash = name.indexOf("/");
    const first = slash >= 0 ? name.slice(0, slash) : "";
    const hasHost = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
    const host = hasHost ? first : "docker.io";
    let rest = hasHost ? name.slice(slash + 1) : name;
    const colon = rest.lastIndexOf(":");
    const tag = colon > rest.lastIndexOf("/") ? rest.slice(colon) : digest ? "" : ":latest";
    if (colon > rest.lastIndexOf("/")) rest = rest.slice(0, colon);
    const path = host === "docker.io" && !rest.includes("/") ? `library/${rest}` : rest;
    return { host, path, ref: `${host}/${path}${tag}${digest}` };
}

if (require.main === module) {
    for (const [standIn, ref] of Object.entries(upstreamDefaults())) process.stdout.write(`${standIn} ${qualified(ref).ref}\n`);
}
