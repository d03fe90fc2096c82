// Helpers to observe the lab cluster and the Airflow deployed on it, shared by the level-2 scenario
// (scenario.e2e.ts) and `npm run local` (scripts/local.ts).
import * as fs from "fs";
import * as path from "path";
import { kubectl, labCacheDir } from "../kubectl";
import type { StandIn } from "../upstreamImages";
import { AirflowApi } from "./airflowApi";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const seconds = (since: number) => (Date.now() - since) / 1000;

/** What a restricted one-shot pod of the lab runs: its container's name, image, command, and optionally env, labels and a volume. */
export interface OneShot {
    name: string;
    namespace: string;
    container: string;
    image: string;
    command: string[];
    env?: Record<string, string>;
    labels?: Record<string, string>;
    volume?: { volume: Record<string, unknown>; mountPath: string };
}

/**
 * A pod that runs one command under the restricted Pod Security rules the package's namespaces
 * enforce (the Airflow image's uid 50000, gid 0; no token, no service links, no privileges, a
 * read-only root, small limits): the lab's policy probes, and a file written onto a claim.
 */
export function restrictedPod(o: OneShot) {
    const mountName = o.volume ? String(o.volume.volume.name) : undefined;
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: o.name, namespace: o.namespace, ...(o.labels ? { labels: o.labels } : {}) },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: 50000, runAsGroup: 0, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: o.container,
                    image: o.image,
                    command: o.command,
                    env: Object.entries(o.env ?? {}).map(([n, value]) => ({ name: n, value })),
                    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    ...(o.volume ? { volumeMounts: [{ name: mountName, mountPath: o.volume.mountPath }] } : {}),
                },
            ],
            ...(o.volume ? { volumes: [o.volume.volume] } : {}),
        },
    };
}

function imagesEnv(): string[] {
    const file = path.join(labCacheDir(), "images.env");
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run lab/images.sh`);
    return fs.readFileSync(file, "utf8").split("\n");
}

/** The digest-pinned references lab/images.sh pushed, by name (`LAB_IMAGE_<NAME>`). */
export function labImages(): Record<string, string> {
    return Object.fromEntries(
        imagesEnv()
            .filter((l) => /^LAB_IMAGE_\w+=/.test(l))
            .map((l) => [l.slice("LAB_IMAGE_".length, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
}

/** Whether the lab's node pulls this upstream default through its registry mirror (lab/ts/upstreamImages.ts). */
export function labServesUpstream(standIn: StandIn): boolean {
    const line = imagesEnv().find((l) => l.startsWith("LAB_MIRRORED="));
    return line?.slice("LAB_MIRRORED=".length).replace(/"/g, "").split(" ").includes(standIn) ?? false;
}

export type Pod = { metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string }; spec: { containers: { name: string; image: string }[] }; status: any };

export function pods(namespace: string, selector?: string): Pod[] {
    return JSON.parse(kubectl(["get", "pods", "-n", namespace, ...(selector ? ["-l", selector] : []), "-o", "json"]).stdout).items;
}

export function restarts(namespace: string): string[] {
    return pods(namespace).flatMap((p) =>
        [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])]
            .filter((c: any) => c.restartCount > 0)
            .map((c: any) => `${p.metadata.name}/${c.name}: ${c.restartCount} restarts (last: ${JSON.stringify(c.lastState?.terminated ?? {})})`),
    );
}

export function describeFailures(namespace: string): string {
    const lines: string[] = [];
    for (const p of pods(namespace)) {
        const statuses = [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])];
        for (const c of statuses.filter((c: any) => !c.ready && c.state?.terminated?.exitCode !== 0)) {
            lines.push(`${p.metadata.name}/${c.name}: ${JSON.stringify(c.state)}`);
            const logs = kubectl(["logs", "-n", namespace, p.metadata.name, "-c", c.name, "--tail=25"], { allowFail: true });
            lines.push(logs.stdout.trim() || logs.stderr.trim());
        }
    }
    const events = kubectl(["get", "events", "-n", namespace, "--sort-by=.lastTimestamp"], { allowFail: true }).stdout.split("\n").slice(-15);
    return [...lines, ...events].join("\n");
}

/** Every pod Ready (or its Job's pod Succeeded), within the timeout. */
export async function waitReady(namespace: string, timeoutSec: number): Promise<void> {
    const deadline = Date.now() + timeoutSec * 1000;
    for (;;) {
        const list = pods(namespace);
        const notReady = list.filter((p) => p.status.phase !== "Succeeded" && !(p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"));
        const failed = list.filter((p) => p.status.phase === "Failed" && !p.metadata.labels?.kubernetes_executor);
        if (failed.length) throw new Error(`pods failed: ${failed.map((p) => p.metadata.name).join(", ")}\n${describeFailures(namespace)}`);
        if (list.length && !notReady.length) return;
        if (Date.now() > deadline) {
            throw new Error(`not Ready after ${timeoutSec}s: ${notReady.map((p) => p.metadata.name).join(", ")}\n${describeFailures(namespace)}`);
        }
        await sleep(2000);
    }
}

export function secretValue(namespace: string, name: string, key: string): string {
    const b64 = kubectl(["get", "secret", name, "-n", namespace, "-o", `jsonpath={.data.${key.replace(/\./g, "\\.")}}`]).stdout;
    return Buffer.from(b64, "base64").toString("utf8");
}

/** The API server's Service address (its cluster IP, routed to the pod by the node's kube-proxy). */
/** The ClusterIP Service in front of the API server (or the standalone pod): http://ip:port. */
export function uiServiceUrl(namespace: string): string {
    const services = JSON.parse(kubectl(["get", "services", "-n", namespace, "-o", "json"]).stdout).items as any[];
    const ui = services.find((s) => ["api-server", "standalone"].includes(s.spec.selector?.["app.kubernetes.io/component"]) && s.spec.clusterIP !== "None");
    if (!ui) throw new Error(`no API server Service in ${namespace}`);
    return `http://${ui.spec.clusterIP}:${ui.spec.ports[0].port}`;
}

/** A REST API client for the generated admin, through the Service; `basePath` is base_url's path (e.g. /airflow). */
export function apiFor(namespace: string, basePath = ""): AirflowApi {
    return new AirflowApi(`${uiServiceUrl(namespace)}${basePath}`, "admin", secretValue(namespace, "airflow-keys", "admin-password"));
}

export async function waitFor<T>(what: string, timeoutSec: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutSec * 1000;
    let lastError = "";
    for (;;) {
        try {
            const v = await probe();
            if (v !== undefined) return v;
        } catch (e) {
            lastError = (e as Error).message;
        }
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutSec}s waiting for ${what}${lastError ? `: ${lastError}` : ""}`);
        await sleep(1000);
    }
}
