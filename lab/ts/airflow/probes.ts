// What the level-2 specs watch from outside while they break things: the API server's health through
// its Service during a deploy, and a stored connection read back in the scheduler's pod.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { kubectl } from "../kubectl";
import { AirflowApi } from "./airflowApi";
import { uiServiceUrl, waitFor } from "./cluster";

/**
 * Runs `f` (a synchronous deploy) while a separate process asks the API server's health endpoint of
 * `namespace` every 2 s through its Service; what `f` returned or threw, and how many answers were not
 * HTTP 200, of how many, with the seconds from the start to the last failed answer.
 */
export function whileServing<T>(namespace: string, f: () => T): { result: T | Error; failed: number; polls: number; lastFailedSec?: number } {
    const url = `${uiServiceUrl(namespace)}/api/v2/monitor/health`;
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "airflow-serving-")), "health");
    const t0 = Date.now();
    const poller = spawn("bash", ["-c", `while :; do echo "$(date +%s.%N) $(curl -s -o /dev/null -m 5 --noproxy '*' -w '%{http_code}' "$0")" >>"$1"; sleep 2; done`, url, out], {
        stdio: "ignore",
        detached: true,
    });
    let result: T | Error;
    try {
        result = f();
    } catch (e) {
        result = e as Error;
    } finally {
        process.kill(-(poller.pid as number), "SIGKILL");
    }
    const answers = (fs.existsSync(out) ? fs.readFileSync(out, "utf8").trim().split("\n").filter(Boolean) : []).map((l) => l.split(" "));
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
    const failures = answers.filter(([, code]) => code !== "200");
    const last = failures.at(-1);
    return { result, failed: failures.length, polls: answers.length, lastFailedSec: last ? Number(last[0]) - t0 / 1000 : undefined };
}

/** Runs `script` with bash in `container` of the first pod of `target` (deploy/<name>, or a pod name). */
export function execIn(namespace: string, target: string, container: string, script: string, allowFail = false) {
    return kubectl(["exec", "-n", namespace, target, "-c", container, "--", "bash", "-c", script], { allowFail, timeoutMs: 300_000 });
}

/** Where Airflow's CLI and Python run: the scheduler's Deployment (production) or the standalone pod. */
export interface AirflowShell {
    target: string;
    container: string;
}
export const SCHEDULER_SHELL: AirflowShell = { target: "deploy/airflow-scheduler", container: "scheduler" };
export const STANDALONE_SHELL: AirflowShell = { target: "airflow-0", container: "airflow" };

/** Reads connection `connId`'s password where `at` says, with its key list or the one given (a Fernet key list). */
export function readConnection(namespace: string, connId: string, opts: { fernetKeys?: string; at?: AirflowShell } = {}) {
    const python = [
        "from sqlalchemy import select",
        "from airflow.models.connection import Connection",
        "from airflow.utils.session import create_session",
        "with create_session() as s:",
        `    c = s.scalar(select(Connection).where(Connection.conn_id == "${connId}"))`,
        "    print(c.password)",
    ].join("\n");
    const env = opts.fernetKeys === undefined ? "" : `AIRFLOW__CORE__FERNET_KEY='${opts.fernetKeys}' `;
    const at = opts.at ?? SCHEDULER_SHELL;
    return execIn(namespace, at.target, at.container, `${env}python -c '${python.replace(/'/g, "'\\''")}' 2>&1 | tail -n 3`, true);
}

/** One line of `sql`'s answer from the metadata database, with psql in the Postgres container of `pod`. */
export function psql(namespace: string, pod: string, sql: string): string {
    return kubectl(["exec", "-n", namespace, pod, "-c", "postgres", "--", "psql", "-U", "airflow", "-d", "airflow", "-XtAq", "-c", sql]).stdout.trim();
}

/** The metadata database's schema revision (Alembic's), read in the Postgres container of `pod`. */
export function schemaRevision(namespace: string, pod: string): string {
    return psql(namespace, pod, "select version_num from alembic_version");
}

/** The migration Jobs of `namespace` (`job.batch/airflow-migrate-<hash>`), sorted. */
export function migrationJobs(namespace: string): string[] {
    return kubectl(["get", "jobs", "-n", namespace, "-o", "name"])
        .stdout.split("\n")
        .filter((j) => j.startsWith("job.batch/airflow-migrate-"))
        .sort();
}

/** One retry, 5 s after a failure, for every task: Airflow's own rule, through the package's extraEnv. */
export const ONE_RETRY = { AIRFLOW__CORE__DEFAULT_TASK_RETRIES: "1", AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY: "5" };

/** Until DAG run `runId` of `dagId` ends: its final state, success or failed. */
export async function runToEnd(api: AirflowApi, dagId: string, runId: string, timeoutSec: number): Promise<string> {
    return waitFor(`${dagId} run ${runId} to finish`, timeoutSec, async () => {
        const s = (await api.dagRun(dagId, runId)).state;
        return ["success", "failed"].includes(s) ? s : undefined;
    });
}
