// The task_images Variable: the task images DAGs pick by name, written into the metadata database by
// a one-shot Job named by the map's content. A new task image changes that Job and nothing else: no
// Airflow pod carries the map in its env, so none rolls; the dag-processor reads the new value at
// its next parse of the DAG files, and the next task runs the new digest.
import * as crypto from "crypto";
import * as k8s from "../kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AirflowPodFactory } from "../airflowPod";
import type { ControlPlane } from "./args";
import { databaseJob, databasePodSpec } from "./migration";

/** The Airflow Variable DAGs read the task images from. */
export const TASK_IMAGES_VARIABLE = "task_images";

/** The map as the Variable holds it: JSON, keys sorted, so the same images give the same Job. */
export function taskImagesJson(taskImages: Record<string, string>): string {
    return JSON.stringify(
        Object.fromEntries(
            Object.keys(taskImages)
                .sort()
                .map((k) => [k, taskImages[k]]),
        ),
    );
}

/**
 * The Job that sets the Variable: after the migrations (the table must exist), with the migration
 * Job's identity, image and database access. The dag-processor waits for it, so DAGs are first parsed
 * with the Variable set; a later change replaces only this Job.
 */
export function taskImagesVariableJob(
    cp: ControlPlane,
    factory: AirflowPodFactory,
    account: k8s.core.v1.ServiceAccount,
    migration: k8s.batch.v1.Job,
    taskImages: pulumi.Input<Record<string, pulumi.Input<string>>>,
): k8s.batch.v1.Job {
    const json = pulumi.output(taskImages).apply((m) => taskImagesJson(m as Record<string, string>));
    const suffix = json.apply((j) => crypto.createHash("sha256").update(j).digest("hex").slice(0, 10));
    const script = ["set -euo pipefail", `airflow variables set ${TASK_IMAGES_VARIABLE} "$TASK_IMAGES" --description "Task images by name (set by the deployment)"`];
    const spec = databasePodSpec(cp, factory, account, { shellScript: script }, { extraEnv: [{ name: "TASK_IMAGES", value: json }] });
    return databaseJob(cp, `${cp.name}-task-images`, suffix, spec, 600, [migration]);
}
