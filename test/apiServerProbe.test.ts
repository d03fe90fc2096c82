// The API server's start-up probe (components/podParts.ts executionApiStartupProbe),
// run for real: its script against a local HTTP server standing in for the API server.
import * as assert from "assert";
import { execFile, spawnSync } from "child_process";
import * as http from "http";
import type { AddressInfo } from "net";
import { executionApiStartupProbe } from "../components/podParts";
import { container, find, renderStack } from "./support/harness";

/** The probe's command, as rendered (the input types allow Outputs; this one is plain). */
const commandOf = (prefix: string, workers: number): string[] => (executionApiStartupProbe(`http://127.0.0.1:8080${prefix}`, workers, 300) as any).exec.command;

const python = spawnSync("python3", ["--version"]).status === 0 ? "python3" : undefined;

/** Runs the probe's script against `server` (its address replacing the pod's 127.0.0.1:8080); resolves to the exit code. */
function runProbe(command: string[], server: http.Server): Promise<number> {
    const port = (server.address() as AddressInfo).port;
    const script = command[2].replace("127.0.0.1:8080", `127.0.0.1:${port}`);
    return new Promise((resolve) => execFile(python!, ["-c", script], (error) => resolve(error ? Number(error.code ?? 1) : 0)));
}

function serve(status: (path: string) => number, seen: string[]): Promise<http.Server> {
    const server = http.createServer((req, res) => {
        seen.push(req.url ?? "");
        res.writeHead(status(req.url ?? ""), { "content-type": "application/json" }).end("{}");
    });
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("the API server's start-up probe warms the execution API in every uvicorn worker", () => {
    it("is an exec probe of the configured workers, every 2 s within the start-up budget", async () => {
        const r = await renderStack({ apiServer: { workers: 3 } });
        const probe = container(find(r.objects, "Deployment", "airflow-api-server").spec.template.spec, "api-server").startupProbe;
        assert.deepStrictEqual(probe.exec.command.slice(0, 2), ["python", "-c"]);
        assert.deepStrictEqual(probe.exec.command, commandOf("", 3));
        assert.deepStrictEqual([probe.periodSeconds, probe.failureThreshold, probe.timeoutSeconds], [2, 150, 30]);
    });

    (python ? it : it.skip)("asks the core API once, then twice as many execution API requests as workers at once, and passes when all answer 200", async () => {
        const seen: string[] = [];
        const server = await serve(() => 200, seen);
        try {
            assert.strictEqual(await runProbe(commandOf("/airflow", 3), server), 0);
        } finally {
            server.close();
        }
        assert.deepStrictEqual(seen, ["/airflow/api/v2/monitor/health", ...Array(6).fill("/airflow/execution/health")]);
    });

    (python ? it : it.skip)("fails while the execution API does not answer 200, or the core API does not", async () => {
        for (const failing of ["/execution/health", "/api/v2/monitor/health"]) {
            const server = await serve((path) => (path.endsWith(failing) ? 503 : 200), []);
            try {
                assert.notStrictEqual(await runProbe(commandOf("", 2), server), 0, failing);
            } finally {
                server.close();
            }
        }
    });
});
