// DAG runs as the lab's specs drive them: start one, wait for its end, or both with the task logs
// in the error when it does not succeed.
import type { AirflowApi } from "./airflowApi";
import { seconds, waitFor } from "./cluster";

/** Unpauses the DAG and starts a run with this id (and conf). */
export async function startRun(api: AirflowApi, dagId: string, runId: string, conf?: Record<string, unknown>): Promise<void> {
    await api.unpause(dagId);
    await api.trigger(dagId, runId, conf);
}

/** Waits until the run is success or failed; that state. */
export function runEnd(api: AirflowApi, dagId: string, runId: string, timeoutSec: number): Promise<string> {
    return waitFor(`${dagId} run ${runId} to finish`, timeoutSec, async () => {
        const { state } = await api.dagRun(dagId, runId);
        return ["success", "failed"].includes(state) ? state : undefined;
    });
}

/** Starts a run and waits for it; seconds from the trigger to its end. A run that fails throws with every task's log. */
export async function runDag(api: AirflowApi, dagId: string, runId: string, timeoutSec: number, conf?: Record<string, unknown>): Promise<number> {
    const t = Date.now();
    await startRun(api, dagId, runId, conf);
    const state = await runEnd(api, dagId, runId, timeoutSec);
    if (state !== "success") {
        const tis = await api.taskInstances(dagId, runId);
        const logs = await Promise.all(
            tis.map(async (ti) => `--- ${ti.task_id} (${ti.state})\n${await api.taskLog(dagId, runId, ti.task_id, Math.max(ti.try_number, 1)).catch((e) => e.message)}`),
        );
        throw new Error(`${dagId} run ${runId} ended ${state}\n${logs.join("\n").slice(-6000)}`);
    }
    return seconds(t);
}
