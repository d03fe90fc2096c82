// The lab's git server (lab/images/git-server) on the cluster's network, the credential Secrets a
// DAG source reads, and a working copy on the host that commits and pushes to it, as a DAG author
// would. Used by the level-2 scenario for DAG bundles and git-sync.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { kubectl, labCacheDir } from "../kubectl";
import { waitFor, waitReady } from "./cluster";

export const GIT_NAMESPACE = "lab-git";
const SERVICE = "git";
/** The git server's name in cluster DNS: what the DAG sources' URLs and known_hosts name. */
export const GIT_HOST = `${SERVICE}.${GIT_NAMESPACE}.svc.cluster.local`;
export const GIT_SERVER_LABELS = { "app.kubernetes.io/name": "lab-git-server" };
const HTTP_USER = "dags";

/** A running git server: its repositories' URLs and the credentials that reach them. */
export interface GitServer {
    /** Smart HTTP URL, without credentials (the DAG source's repo). */
    httpUrl(repo: string): string;
    /** SSH URL, without credentials. */
    sshUrl(repo: string): string;
    /** The Service's cluster address, which the host reaches through the node's kube-proxy. */
    clusterIp: string;
    httpUser: string;
    httpPassword: string;
    /** The client's private key (OpenSSH format) and the server's line for known_hosts. */
    sshPrivateKey: string;
    knownHosts: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
    if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.error?.message ?? r.stderr.trim()}`);
    return r.stdout;
}

/** Keys and password of the lab's git server, made once per lab cache and reused by later runs. */
function credentials(): { dir: string; hostKey: string; hostPub: string; clientKey: string; clientPub: string; password: string } {
    const dir = path.join(labCacheDir(), "run", "git-server");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of ["host", "client"]) {
        const file = path.join(dir, name);
        if (!fs.existsSync(file)) run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `lab-git-${name}`, "-f", file]);
    }
    const passwordFile = path.join(dir, "http-password");
    if (!fs.existsSync(passwordFile)) fs.writeFileSync(passwordFile, crypto.randomBytes(18).toString("base64url"), { mode: 0o600 });
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    return { dir, hostKey: read("host"), hostPub: read("host.pub"), clientKey: read("client"), clientPub: read("client.pub"), password: read("http-password") };
}

function apply(objects: object[]): void {
    kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=airflow-lab", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") });
}

/** Starts (or keeps) the git server with empty bare repositories `repos` (branch main); returns when it serves. */
export async function startGitServer(image: string, repos: string[]): Promise<GitServer> {
    const c = credentials();
    const [keyType, keyData] = c.hostPub.trim().split(/\s+/);
    const config = {
        ssh_host_ed25519_key: c.hostKey,
        authorized_keys: c.clientPub,
        users: `${HTTP_USER}:${c.password}\n`,
        repositories: `${repos.join("\n")}\n`,
    };
    const labels = GIT_SERVER_LABELS;
    apply([
        { apiVersion: "v1", kind: "Namespace", metadata: { name: GIT_NAMESPACE } },
        { apiVersion: "v1", kind: "Secret", metadata: { name: "git-server", namespace: GIT_NAMESPACE }, stringData: config },
        {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "git-server", namespace: GIT_NAMESPACE, labels },
            spec: {
                replicas: 1,
                // one server at a time: a new configuration (repositories, keys) never shares the Service with the old
                strategy: { type: "Recreate" },
                selector: { matchLabels: labels },
                // the Secret's content in the template: a new key or repository restarts the server
                template: {
                    metadata: { labels, annotations: { "lab/config-sha256": crypto.createHash("sha256").update(JSON.stringify(config)).digest("hex") } },
                    spec: {
                        containers: [
                            {
                                name: "git-server",
                                image,
                                ports: [
                                    { name: "ssh", containerPort: 22 },
                                    { name: "http", containerPort: 80 },
                                ],
                                readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 },
                                volumeMounts: [{ name: "config", mountPath: "/etc/git-server", readOnly: true }],
                            },
                        ],
                        volumes: [{ name: "config", secret: { secretName: "git-server" } }],
                    },
                },
            },
        },
        {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: SERVICE, namespace: GIT_NAMESPACE },
            spec: {
                selector: labels,
                ports: [
                    { name: "ssh", port: 22, targetPort: 22 },
                    { name: "http", port: 80, targetPort: 80 },
                ],
            },
        },
    ]);
    kubectl(["rollout", "status", "deployment/git-server", "-n", GIT_NAMESPACE, "--timeout=180s"], { timeoutMs: 200_000 });
    await waitReady(GIT_NAMESPACE, 60);
    const clusterIp = kubectl(["get", "service", SERVICE, "-n", GIT_NAMESPACE, "-o", "jsonpath={.spec.clusterIP}"]).stdout.trim();
    // the Service answers once the node's kube-proxy has programmed its address (a few seconds after it exists)
    // (and every repository answers: the server that serves is the one with this configuration)
    const auth = `Basic ${Buffer.from(`${HTTP_USER}:${c.password}`).toString("base64")}`;
    for (const repo of repos) {
        const probe = `http://${clusterIp}/git/${repo}.git/info/refs?service=git-upload-pack`;
        await waitFor(`the git server at ${probe}`, 60, async () => ((await fetch(probe, { headers: { authorization: auth } })).ok ? true : undefined));
    }
    return {
        httpUrl: (repo) => `http://${GIT_HOST}/git/${repo}.git`,
        sshUrl: (repo) => `ssh://git@${GIT_HOST}/srv/git/${repo}.git`,
        clusterIp,
        httpUser: HTTP_USER,
        httpPassword: c.password,
        sshPrivateKey: c.clientKey,
        knownHosts: `${GIT_HOST} ${keyType} ${keyData}\n`,
    };
}

export function stopGitServer(): void {
    kubectl(["delete", "namespace", GIT_NAMESPACE, "--ignore-not-found", "--wait=false"]);
}

/**
 * A credential Secret in `namespace`, in the form the DAG sources read: `https` (keys username and
 * password) or `ssh` (keys ssh and known_hosts). `wrong`: a password the server refuses.
 */
export function gitCredentialSecret(namespace: string, name: string, server: GitServer, auth: "https" | "ssh", wrong = false): void {
    const stringData =
        auth === "https"
            ? { username: server.httpUser, password: wrong ? `${server.httpPassword}-wrong` : server.httpPassword }
            : { ssh: server.sshPrivateKey, known_hosts: server.knownHosts };
    apply([{ apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, type: "Opaque", stringData }]);
}

/**
 * A working copy on the host of one repository of the server, pushing over smart HTTP to the
 * Service's cluster address (the host is not in cluster DNS); never through a proxy.
 */
export class GitWorkspace {
    readonly dir: string;
    private readonly remote: string;
    constructor(server: GitServer, repo: string) {
        this.dir = path.join(labCacheDir(), "run", "git-work", repo);
        fs.rmSync(this.dir, { recursive: true, force: true });
        fs.mkdirSync(this.dir, { recursive: true });
        this.remote = `http://${server.httpUser}:${encodeURIComponent(server.httpPassword)}@${server.clusterIp}/git/${repo}.git`;
        this.git(["init", "--quiet", "--initial-branch=main"]);
        this.git(["config", "user.name", "Lab DAG author"]);
        this.git(["config", "user.email", "dags@lab.invalid"]);
    }

    private git(args: string[]): string {
        const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: "0", NO_PROXY: "*", no_proxy: "*" };
        for (const k of ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"]) delete env[k];
        return run("git", ["-c", "http.proxy=", ...args], { cwd: this.dir, env }).trim();
    }

    /** Writes `files` (a null deletes one), commits them and pushes main; returns the new commit. */
    commit(files: Record<string, string | null>, message: string): string {
        for (const [name, content] of Object.entries(files)) {
            const file = path.join(this.dir, name);
            if (content === null) fs.rmSync(file, { force: true });
            else {
                fs.mkdirSync(path.dirname(file), { recursive: true });
                fs.writeFileSync(file, content);
            }
        }
        this.git(["add", "--all"]);
        this.git(["commit", "--quiet", "--allow-empty", "-m", message]);
        this.git(["push", "--quiet", "--force", this.remote, "HEAD:main"]);
        return this.git(["rev-parse", "HEAD"]);
    }
}
