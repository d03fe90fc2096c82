// The NetworkPolicy probe of the level-2 scenario: for every row of docs/network-policies.md's table,
// a pod carrying that component's label tries a real connection to every destination of the row,
// under the lab's policy engine (kube-router), and the observed allow/deny is compared with the table.
// Probe pods carry only the component label (not the instance label), so no Service or ReplicaSet
// of the stack selects them.
import * as fs from "fs";
import * as path from "path";
import { kubectl, LAB_DIR } from "../kubectl";
import { readPolicyMatrix, Verdict } from "../../../tools/policyMatrix";
import { restrictedPod, sleep, waitFor } from "./cluster";

const ELSEWHERE = "lab-probe-elsewhere";
const OUTSIDE_IP = "203.0.113.10"; // lab/node.sh: the "outside world" network namespace
const PROBE_LABEL = "airflow-lab/probe";
/**
 * How long a probe pod waits before its first connection: kube-router puts a new pod (and a new
 * namespace) into its rules only at its next sync, which lab/node.sh sets to every 30 s; until then a
 * new pod's egress is open and peers do not yet count it (seen in the first probe run: every probe
 * pod reached everything, and Postgres refused them all).
 */
const ENGINE_SYNC_SECONDS = 35;

type Target = { name: string; ip: string; port: number; kind: "tcp" | "dns" | "statsd" };

// Tries each target once (3 s) and prints one JSON line of verdicts; StatsD is fire-and-forget, so
// its verdict comes from the exporter's scrape afterwards.
const PROBE = String.raw`
import json, os, socket, struct, sys, time
source, targets = os.environ["PROBE_SOURCE"], json.loads(os.environ["PROBE_TARGETS"])
time.sleep(float(os.environ["PROBE_DELAY"]))
out = {}
for t in targets:
    try:
        if t["kind"] == "tcp":
            socket.create_connection((t["ip"], t["port"]), timeout=3).close()
        elif t["kind"] == "dns":
            q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p.encode() for p in "kubernetes.default.svc.cluster.local".split(".")) + b"\0" + struct.pack(">HH", 1, 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(q, (t["ip"], t["port"])); s.recvfrom(512)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for _ in range(5): s.sendto(("lab_probe_" + source.replace("-", "_") + ":1|c").encode(), (t["ip"], t["port"]))
            out[t["name"]] = "sent"; continue
        out[t["name"]] = "allow"
    except OSError as e:
        out[t["name"]] = "deny"
print("PROBE " + json.dumps(out), flush=True)
`;

function service(namespace: string, selector: string): { ip: string; ports: Record<string, number> } {
    const svc = JSON.parse(kubectl(["get", "service", "-n", namespace, "-l", selector, "-o", "json"]).stdout).items.find((s: any) => s.spec.clusterIP !== "None");
    if (!svc) throw new Error(`no Service ${selector} in ${namespace}`);
    return { ip: svc.spec.clusterIP, ports: Object.fromEntries(svc.spec.ports.map((p: any) => [p.name ?? String(p.port), p.port])) };
}

function probePod(name: string, namespace: string, labels: Record<string, string>, image: string, env: Record<string, string>, command: string[]) {
    return restrictedPod({ name, namespace, labels: { [PROBE_LABEL]: "true", ...labels }, container: "probe", image, command, env });
}

export interface ProbeResult {
    table: string;
    mismatches: string[];
}

/** Probes every cell of the policy table from pods in `namespace` (and in the table's other namespaces). */
export async function probePolicies(namespace: string, image: string, scraperNamespace: string): Promise<ProbeResult> {
    const matrix = readPolicyMatrix();
    for (const ns of [ELSEWHERE, scraperNamespace]) kubectl(["create", "namespace", ns], { allowFail: true });
    const listener = fs.readFileSync(path.join(LAB_DIR, "probe-listener.py"), "utf8");
    const apply = (objects: unknown[]) => kubectl(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) });
    apply([probePod("listener", ELSEWHERE, { app: "listener" }, image, {}, ["python3", "-c", listener, "0.0.0.0", "8080"])]);
    const listenerIp = await waitFor("the other namespace's listener pod", 120, async () => {
        const p = JSON.parse(kubectl(["get", "pod", "listener", "-n", ELSEWHERE, "-o", "json"]).stdout);
        return p.status?.phase === "Running" && p.status.podIP ? (p.status.podIP as string) : undefined;
    });
    await sleep(2000);
    // Postgres's Service is headless (the StatefulSet's DNS): its pod's own address, as DNS gives it
    const pgPod = JSON.parse(kubectl(["get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=postgres,app.kubernetes.io/instance=airflow", "-o", "json"]).stdout)
        .items[0];
    const pg = { ip: pgPod.status.podIP as string, ports: { postgres: 5432 } };
    const api = service(namespace, "app.kubernetes.io/component=api-server");
    const statsd = service(namespace, "app.kubernetes.io/component=statsd");
    const kube = service("default", "component=apiserver");
    const dns = service("kube-system", "k8s-app=kube-dns");
    const where: Record<string, Target> = {
        postgres: { name: "postgres", ip: pg.ip, port: Object.values(pg.ports)[0], kind: "tcp" },
        "api-server": { name: "api-server", ip: api.ip, port: Object.values(api.ports)[0], kind: "tcp" },
        "kubernetes-api": { name: "kubernetes-api", ip: kube.ip, port: Object.values(kube.ports)[0], kind: "tcp" },
        dns: { name: "dns", ip: dns.ip, port: 53, kind: "dns" },
        outside: { name: "outside", ip: OUTSIDE_IP, port: 443, kind: "tcp" },
        "other-namespace": { name: "other-namespace", ip: listenerIp, port: 8080, kind: "tcp" },
        statsd: { name: "statsd", ip: statsd.ip, port: 9125, kind: "statsd" },
        metrics: { name: "metrics", ip: statsd.ip, port: statsd.ports.metrics, kind: "tcp" },
    };
    const sourceNamespace = (source: string) => (source === "other-namespace" ? ELSEWHERE : source === "monitoring" ? scraperNamespace : namespace);
    const pods = [...matrix.rows].map(([source, row]) =>
        probePod(
            `probe-${source}`,
            sourceNamespace(source),
            { "app.kubernetes.io/component": source },
            image,
            {
                PROBE_SOURCE: source,
                PROBE_DELAY: String(ENGINE_SYNC_SECONDS),
                PROBE_TARGETS: JSON.stringify([...row.keys()].map((d) => where[d])),
            },
            ["python3", "-c", PROBE],
        ),
    );
    apply(pods);
    const observed = new Map<string, Record<string, string>>();
    await waitFor("every probe pod to report", 240, async () => {
        for (const [source] of matrix.rows) {
            if (observed.has(source)) continue;
            const logs = kubectl(["logs", `probe-${source}`, "-n", sourceNamespace(source)], { allowFail: true }).stdout;
            const line = logs.split("\n").find((l) => l.startsWith("PROBE "));
            if (line) observed.set(source, JSON.parse(line.slice(6)));
        }
        return observed.size === matrix.rows.size ? true : undefined;
    });
    // StatsD is fire-and-forget: what reached the exporter shows in its scrape
    const scrape = await waitFor("a scrape of the exporter", 60, async () => {
        const res = await fetch(`http://${statsd.ip}:${statsd.ports.metrics}/metrics`).catch(() => undefined);
        return res?.ok ? await res.text() : undefined;
    });
    const mismatches: string[] = [];
    const lines = [`| from \\ to | ${matrix.destinations.join(" | ")} |`, `|---|${matrix.destinations.map(() => "---").join("|")}|`];
    for (const [source, row] of matrix.rows) {
        const got = observed.get(source)!;
        const cells = matrix.destinations.map((d) => {
            const expected = row.get(d);
            if (!expected) return "";
            let seen = got[d] as Verdict | "sent";
            if (seen === "sent") seen = new RegExp(`^lab_probe_${source.replace(/-/g, "_")} `, "m").test(scrape) ? "allow" : "deny";
            if (seen !== expected) mismatches.push(`${source} -> ${d}: expected ${expected}, observed ${seen}`);
            return seen === expected ? seen : `**${seen}** (expected ${expected})`;
        });
        lines.push(`| ${source} | ${cells.join(" | ")} |`);
    }
    kubectl(["delete", "pods", "-A", "-l", `${PROBE_LABEL}=true`, "--wait=false"], { allowFail: true });
    kubectl(["delete", "namespace", ELSEWHERE, scraperNamespace, "--wait=false"], { allowFail: true });
    return { table: lines.join("\n"), mismatches };
}
