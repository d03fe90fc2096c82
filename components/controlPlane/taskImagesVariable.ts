// The task_images Variable: the task images DAGs pick by name, written into the metadata database by
// a one-shot Job named by the map's content. A new task image changes that Job and nothing else: no
// Airflow pod carries the map in its env, so none rolls; the dag-processor reads the new value at
// its next parse of the DAG files, and the next task runs the new digest.
import * as crypto from "crypto";
import * as k8s from "../kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AIRFLOW_ENV } from "../airflowSettings";
import type { AirflowPodFactory } from "../airflowPod";
import { COMPONENT } from "../names";
import { secretEnv } from "../podParts";
import type { ControlPlane } from "./args";
import { databaseJob } from "./migration";

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
 * Job's identity, image and database access. The workloads wait for it, so DAGs are first parsed
 * with the Variable set; a later change replaces only this Job.
 */
export function taskImagesVariableJob(
    cp: ControlPlane,
    factory: AirflowPodFactory,
    account: k8s.core.v1.ServiceAccount,
    migration: k8s.batch.v1.Job,
    taskImages: pulumi.Input<Record<string, pulumi.Input<string>>>,
): k8s.batch.v1.Job {
    const { config: c, database } = cp.args;
    const json = pulumi.output(taskImages).apply((m) => taskImagesJson(m as Record<string, string>));
    const suffix = json.apply((j) => crypto.createHash("sha256").update(j).digest("hex").slice(0, 10));
    const directDatabase = database.direct ? [secretEnv(AIRFLOW_ENV.sqlAlchemyConn, database.direct.secretName, database.direct.secretKey)] : [];
    const spec = factory.podSpec({
        // labelled as the migrations: the same database access, NetworkPolicies and Pod Security
        component: COMPONENT.migrate,
        image: cp.args.schemaImage,
        shellScript: ["set -euo pipefail", `airflow variables set ${TASK_IMAGES_VARIABLE} "$TASK_IMAGES" --description "Task images by name (set by the deployment)"`],
        role: "control-plane",
        readsDags: false,
        logsOnEmptyDir: true,
        resources: c.scheduler.resources,
        settings: c.scheduler,
        serviceAccountName: account.metadata.name,
        restartPolicy: "Never",
        extraEnv: [{ name: "TASK_IMAGES", value: json }, ...directDatabase],
    });
    return databaseJob(cp, `${cp.name}-task-images`, suffix, spec, 600, [migration]);
}
