// Where `npm run local` runs (lab/ts/localTarget.ts): each branch of the decision and the first line it
// prints; the storage classes on a user's cluster; the per-context deploy state; the proxy bypass; and
// lab/lib.sh's write-only-on-change helper, which keeps a warm re-run from restarting kube-proxy.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { withEnv, withNoProxy } from "../lab/ts/kubectl";
import { chooseLocalTarget, contextId, LocalTarget, serverLocality, storageOnCluster, TargetInputs, targetLine } from "../lab/ts/localTarget";

const repo = path.join(__dirname, "..");

/** A kubeconfig with one cluster per context, `contexts` mapping context name to server URL. */
function kubeconfig(contexts: Record<string, string>, current?: string): string {
    const names = Object.keys(contexts);
    return yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        clusters: names.map((n) => ({ name: `${n}-cluster`, cluster: { server: contexts[n] } })),
        contexts: names.map((n) => ({ name: n, context: { cluster: `${n}-cluster`, user: `${n}-user` } })),
        users: names.map((n) => ({ name: `${n}-user`, user: {} })),
        ...(current ? { "current-context": current } : {}),
    });
}

const GKE = "gke_acme-prod_europe-west1_main";
function inputs(over: Partial<TargetInputs> & { config?: string } = {}): TargetInputs {
    const { config, ...rest } = over;
    return {
        kubeconfigs: config === undefined ? [] : [{ path: "/home/u/.kube/config", text: config }],
        env: {},
        argv: [],
        platform: "darwin",
        uid: 501,
        ...rest,
    };
}
const linuxRoot = { platform: "linux", uid: 0 };

describe("npm run local: where it runs", () => {
    it("chooses a kind cluster that is the current context, and says so first", () => {
        const t = chooseLocalTarget(inputs({ config: kubeconfig({ "kind-airflow": "https://127.0.0.1:40123", [GKE]: "https://35.190.1.2" }, "kind-airflow") }));
        assert.strictEqual(t.kind, "context");
        assert.strictEqual(t.context, "kind-airflow");
        assert.strictEqual(targetLine(t), 'target: the current kubeconfig context "kind-airflow", a kind cluster (server https://127.0.0.1:40123, loopback)');
    });

    it("recognises k3d, minikube, Docker Desktop, Rancher Desktop and OrbStack by name and a local server", () => {
        const cases: [string, string, string][] = [
            ["k3d-dev", "https://0.0.0.0:6550", "k3d"],
            ["minikube", "https://192.168.49.2:8443", "minikube"],
            ["docker-desktop", "https://kubernetes.docker.internal:6443", "Docker Desktop"],
            ["rancher-desktop", "https://127.0.0.1:6443", "Rancher Desktop"],
            ["orbstack", "https://127.0.0.1:26443", "OrbStack"],
        ];
        for (const [name, server, label] of cases) {
            const t = chooseLocalTarget(inputs({ config: kubeconfig({ [name]: server }, name) }));
            assert.strictEqual(t.kind, "context", name);
            assert.strictEqual(t.context, name);
            assert.ok(t.why.includes(`a ${label} cluster`), t.why);
        }
    });

    it("refuses a remote-looking current context off Linux-as-root, naming it and saying what it looked for and how to get one", () => {
        const t = chooseLocalTarget(inputs({ config: kubeconfig({ [GKE]: "https://35.190.1.2", "kind-old": "https://127.0.0.1:40000" }, GKE) }));
        assert.strictEqual(t.kind, "refuse");
        assert.strictEqual(t.context, undefined);
        assert.strictEqual(
            targetLine(t),
            `nowhere to run: no local cluster (the current context "${GKE}" is not a local cluster this recognises (kind-*, k3d-*, minikube, docker-desktop, rancher-desktop, orbstack): not touched) and the lab needs Linux (this is darwin)`,
        );
        const help = (t.help ?? []).join("\n");
        assert.match(help, /^looked for: a context named with --context <name> or AIRFLOW_LOCAL_CONTEXT; the current kubeconfig context/);
        assert.match(help, /kind create cluster, k3d cluster create, minikube start/);
        assert.match(help, /run it as root on Linux for the lab/);
        assert.match(help, /local clusters in your kubeconfig: kind-old \(npm run local -- --context kind-old\)/);
    });

    it("never takes a context named like a local tool whose server is public: the lab on Linux as root", () => {
        const t = chooseLocalTarget(inputs({ ...linuxRoot, config: kubeconfig({ "kind-prod": "https://35.1.2.3:443" }, "kind-prod") }));
        assert.strictEqual(t.kind, "lab");
        assert.strictEqual(
            targetLine(t),
            'target: the lab built on this machine (Linux, root; the current context "kind-prod" is named like kind but its server https://35.1.2.3:443 is a public address: not touched)',
        );
    });

    it("runs the lab on Linux as root when the current context is remote or there is no kubeconfig", () => {
        const remote = chooseLocalTarget(inputs({ ...linuxRoot, config: kubeconfig({ [GKE]: "https://35.190.1.2" }, GKE) }));
        assert.strictEqual(remote.kind, "lab");
        assert.ok(remote.why.includes(`"${GKE}" is not a local cluster`), remote.why);
        const none = chooseLocalTarget(inputs(linuxRoot));
        assert.deepStrictEqual(none, { kind: "lab", why: "the lab built on this machine (Linux, root; no kubeconfig (KUBECONFIG or ~/.kube/config))" });
    });

    it("refuses on Linux without root, saying the lab needs it", () => {
        const t = chooseLocalTarget(inputs({ platform: "linux", uid: 1000 }));
        assert.strictEqual(t.kind, "refuse");
        assert.strictEqual(targetLine(t), "nowhere to run: no local cluster (no kubeconfig (KUBECONFIG or ~/.kube/config)) and the lab needs root");
    });

    it("uses a context named with --context even when it looks remote, and says so", () => {
        const config = kubeconfig({ "kind-airflow": "https://127.0.0.1:40123", [GKE]: "https://35.190.1.2" }, "kind-airflow");
        for (const argv of [["--context", GKE], [`--context=${GKE}`]]) {
            const t = chooseLocalTarget(inputs({ ...linuxRoot, config, argv }));
            assert.deepStrictEqual(t, {
                kind: "context",
                context: GKE,
                why: `the kubeconfig context "${GKE}" (named with --context; server https://35.190.1.2, a public address, not local: used because you named it)`,
            });
        }
    });

    it("takes AIRFLOW_LOCAL_CONTEXT when no --context is given, --context over it", () => {
        const config = kubeconfig({ "kind-a": "https://127.0.0.1:1", "kind-b": "https://127.0.0.1:2" }, "kind-a");
        const env = chooseLocalTarget(inputs({ config, env: { AIRFLOW_LOCAL_CONTEXT: "kind-b" } }));
        assert.strictEqual(env.context, "kind-b");
        assert.strictEqual(targetLine(env), 'target: the kubeconfig context "kind-b" (named in AIRFLOW_LOCAL_CONTEXT; server https://127.0.0.1:2, loopback)');
        const flag = chooseLocalTarget(inputs({ config, env: { AIRFLOW_LOCAL_CONTEXT: "kind-b" }, argv: ["--context", "kind-a"] }));
        assert.strictEqual(flag.context, "kind-a");
    });

    it("refuses a named context the kubeconfig lacks (never falls back to another), listing those it has", () => {
        const t = chooseLocalTarget(inputs({ ...linuxRoot, config: kubeconfig({ "kind-a": "https://127.0.0.1:1" }, "kind-a"), argv: ["--context", "kind-typo"] }));
        assert.strictEqual(t.kind, "refuse");
        assert.strictEqual(t.why, 'the context "kind-typo" (named with --context) is not in the kubeconfig (/home/u/.kube/config)');
        assert.deepStrictEqual(t.help, ["contexts there: kind-a"]);
    });

    it("refuses arguments it does not know and a --context without a name", () => {
        assert.deepStrictEqual(chooseLocalTarget(inputs({ ...linuxRoot, argv: ["--force"] })), {
            kind: "refuse",
            why: "unknown argument --force (npm run local [-- --context <name>])",
        });
        assert.strictEqual(chooseLocalTarget(inputs({ ...linuxRoot, argv: ["--context"] })).why, "--context needs a context name");
    });

    it("merges KUBECONFIG files as kubectl does: the first current context wins; a broken file is ignored and named", () => {
        const t = chooseLocalTarget({
            ...inputs(linuxRoot),
            kubeconfigs: [
                { path: "/a", text: "contexts: [: broken" },
                { path: "/b", text: kubeconfig({ "kind-b": "https://127.0.0.1:2" }, "kind-b") },
                { path: "/c", text: kubeconfig({ [GKE]: "https://35.190.1.2" }, GKE) },
            ],
            platform: "darwin",
        });
        assert.strictEqual(t.context, "kind-b");
        const missing = chooseLocalTarget({ ...inputs(), kubeconfigs: [{ path: "/a", text: "contexts: [: broken" }] });
        assert.strictEqual(missing.kind, "refuse");
        assert.ok(
            (missing.help ?? []).some((l) => l.startsWith("/a is not valid YAML")),
            String(missing.help),
        );
    });

    it("tells local servers from remote ones", () => {
        const table: [string, boolean][] = [
            ["https://127.0.0.1:6443", true],
            ["https://0.0.0.0:6550", true],
            ["https://[::1]:6443", true],
            ["https://localhost:8443", true],
            ["https://10.244.0.1:26443", true],
            ["https://172.18.0.2:6443", true],
            ["https://192.168.49.2:8443", true],
            ["https://kubernetes.docker.internal:6443", true],
            ["https://35.190.1.2", false],
            ["https://172.32.0.1", false],
            ["https://my-cluster.hcp.westeurope.azmk8s.io:443", false],
            ["https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com", false],
            ["not a url", false],
        ];
        for (const [server, local] of table) assert.strictEqual(serverLocality(server).local, local, server);
        assert.strictEqual(serverLocality(undefined).local, false);
    });

    it("prints every decision as one line", () => {
        const targets: LocalTarget[] = [
            { kind: "context", context: "kind-a", why: "w" },
            { kind: "lab", why: "w" },
            { kind: "refuse", why: "w" },
        ];
        assert.deepStrictEqual(targets.map(targetLine), ["target: w", "target: w", "nowhere to run: w"]);
    });
});

describe("npm run local on a user's cluster", () => {
    const local = yaml.load(fs.readFileSync(path.join(repo, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> };

    it("keeps the committed images and replaces the lab's storage class with the cluster's default", () => {
        assert.strictEqual((local.config["airflow:images"] as { airflow: string }).airflow, "apache/airflow:3.3.2");
        const kind = storageOnCluster(local.config, [{ name: "standard", isDefault: true, provisioner: "rancher.io/local-path" }]);
        assert.deepStrictEqual(kind.overrides, { database: { storageClassName: "standard" }, storage: { storageClassName: "standard" } });
        assert.strictEqual(kind.problem, undefined);
        assert.match(
            kind.notes.join("\n"),
            /storage\.storageClassName lab → standard, the cluster's default \(rancher\.io\/local-path\), for the DAG and log claims, ReadWriteMany/,
        );
        // the lab addressed as a user's cluster has the class: nothing changes
        assert.deepStrictEqual(storageOnCluster(local.config, [{ name: "lab", isDefault: true, provisioner: "kubernetes.io/no-provisioner" }]), { overrides: {}, notes: [] });
    });

    it("stops when the cluster has neither the stack's class nor a default one", () => {
        const r = storageOnCluster(local.config, [{ name: "fast", isDefault: false, provisioner: "x" }]);
        assert.match(r.problem ?? "", /database\.storageClassName is lab, which this cluster lacks, and the cluster has no default StorageClass \(classes: fast\)/);
    });

    it("keeps each context's state apart from the lab's and from other contexts', and names its stack lab-*", () => {
        assert.strictEqual(contextId("kind-airflow"), contextId("kind-airflow"));
        assert.notStrictEqual(contextId("a/b"), contextId("a-b"));
        assert.match(`lab-local-${contextId("arn:aws:eks:eu-west-1:1:cluster/x")}`, /^lab-[A-Za-z0-9_.-]+$/);
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "local-target-"));
        const { deployStateDir, writeStackConfig } = require("../lab/ts/airflow/deploy") as typeof import("../lab/ts/airflow/deploy");
        try {
            withEnv({ AIRFLOW_LAB_CACHE: cache, AIRFLOW_LAB_CONTEXT: undefined }, () => {
                assert.strictEqual(deployStateDir(), path.join(cache, "run", "deploy"));
                const labFile = writeStackConfig("lab-local", {});
                assert.strictEqual((yaml.load(fs.readFileSync(labFile, "utf8")) as any).config["kubernetes:context"], undefined);
            });
            withEnv({ AIRFLOW_LAB_CACHE: cache, AIRFLOW_LAB_CONTEXT: "kind-airflow" }, () => {
                assert.strictEqual(deployStateDir(), path.join(cache, "contexts", contextId("kind-airflow"), "deploy"));
                const file = writeStackConfig(`lab-local-${contextId("kind-airflow")}`, { storage: { storageClassName: "standard" } });
                const config = (yaml.load(fs.readFileSync(file, "utf8")) as any).config;
                assert.strictEqual(config["kubernetes:context"], "kind-airflow", "the engine's provider deploys to the context, whatever the current one");
                assert.deepStrictEqual(config["airflow:images"], { airflow: "apache/airflow:3.3.2" });
                assert.strictEqual(config["airflow:storage"].storageClassName, "standard");
                assert.strictEqual(config["airflow:storage"].mode, "pvc");
            });
            assert.strictEqual(process.env.AIRFLOW_LAB_CONTEXT, undefined, "withEnv puts the environment back");
        } finally {
            fs.rmSync(cache, { recursive: true, force: true });
        }
    });
});

describe("the lab's warm re-run", () => {
    it("sends loopback and the cluster's ranges past any proxy, keeping what NO_PROXY had", () => {
        assert.deepStrictEqual(withNoProxy({ NO_PROXY: "corp.example,localhost" }), {
            NO_PROXY: "corp.example,localhost,127.0.0.1,::1,10.96.0.0/16,10.244.0.0/16",
            no_proxy: "127.0.0.1,localhost,::1,10.96.0.0/16,10.244.0.0/16",
        });
        assert.ok(process.env.NO_PROXY?.split(",").includes("10.96.0.0/16"), "set for the process on import");
        const sh = spawnSync("bash", ["-c", `NO_PROXY=corp.example; . lab/lib.sh; . lab/lib.sh; printf '%s\\n%s' "$NO_PROXY" "$(bash -c 'echo $no_proxy')"`], {
            cwd: repo,
            encoding: "utf8",
        });
        assert.strictEqual(sh.stdout, "corp.example,127.0.0.1,localhost,::1,10.96.0.0/16,10.244.0.0/16\n127.0.0.1,localhost,::1,10.96.0.0/16,10.244.0.0/16");
    });

    it("rewrites a file a daemon watches only when its content changes", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "write-if-changed-"));
        try {
            const file = path.join(dir, "kube-proxy.yaml");
            const write = (content: string) => {
                const r = spawnSync("bash", ["-c", `. lab/lib.sh; printf '%s' "$2" | { lab_write_if_changed "$1"; echo "wrote=$LAB_WROTE"; }`, "-", file, content], {
                    cwd: repo,
                    encoding: "utf8",
                });
                assert.strictEqual(r.status, 0, r.stderr);
                return r.stdout.trim();
            };
            assert.strictEqual(write("mode: iptables\n"), "wrote=1");
            const first = fs.statSync(file);
            assert.strictEqual(write("mode: iptables\n"), "wrote=", "same content: not written");
            const again = fs.statSync(file);
            assert.deepStrictEqual([again.ino, again.mtimeMs], [first.ino, first.mtimeMs], "the file is untouched");
            assert.strictEqual(write("mode: ipvs\n"), "wrote=1");
            assert.strictEqual(fs.readFileSync(file, "utf8"), "mode: ipvs\n");
            assert.deepStrictEqual(fs.readdirSync(dir), ["kube-proxy.yaml"], "no temporary file left");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("lab/node.sh writes its daemons' config files only through that helper", () => {
        const node = fs.readFileSync(path.join(repo, "lab", "node.sh"), "utf8");
        for (const f of ["containerd.toml", "hosts.toml", "10-airflow-lab.conflist", "resolv.conf", "kubelet.yaml", "kube-proxy.yaml"]) {
            assert.match(node, new RegExp(`lab_write_if_changed "[^"]*${f.replace(/\./g, "\\.")}"`), f);
        }
        assert.doesNotMatch(node, /(^|[^2&])>\s*"\$d\//m, "no plain redirect into the node's directory");
        assert.match(node, /if \[ -n "\$LAB_WROTE" \] && lab_pid_alive kube-proxy; then .*lab_stop kube-proxy; fi/, "a changed config restarts kube-proxy");
    });
});
