// The Airflow Deployments (scheduler, apiServer, dagProcessor, triggerer) and the worker pods.
import { z } from "zod";
import { podExtensionProblems } from "../../kubernetesObjects";
import { MEDIUM, OWN_POD_NAMES, SMALL } from "../constants";
import { placement, resources, workload, workloadShape } from "../fields";

export const workloadsSections = {
    /** The scheduler Deployment (it launches the worker pods): replicas, resources, placement, env. */
    scheduler: workload("scheduler", "scheduler", 1, MEDIUM),
    /** The API server Deployment (UI, REST API and the workers' execution API): replicas, resources, placement, env, uvicorn workers. */
    apiServer: z
        .strictObject({
            ...workloadShape("apiServer", 1, MEDIUM),
            /** uvicorn worker processes per API server pod. */
            workers: z.int().min(1).max(16).default(2),
            /**
             * A HorizontalPodAutoscaler on CPU (needs the cluster's metrics-server). The Deployment then
             * carries no replica count, so `pulumi up` never resets what the autoscaler chose.
             */
            autoscaling: z
                .strictObject({
                    enabled: z.boolean().default(false),
                    minReplicas: z.int().min(1).max(100).default(2),
                    maxReplicas: z.int().min(1).max(100).default(5),
                    targetCPUUtilizationPercentage: z.int().min(1).max(100).default(80),
                })
                .prefault({})
                .superRefine((a, ctx) => {
                    if (a.minReplicas > a.maxReplicas)
                        ctx.addIssue({ code: "custom", path: ["minReplicas"], input: a.minReplicas, message: `must not exceed maxReplicas (${a.maxReplicas})` });
                }),
        })
        .prefault({})
        .superRefine(podExtensionProblems(OWN_POD_NAMES.airflow("api-server"))),
    /** The dag-processor Deployment (parses the DAG files): replicas, resources, placement, env. */
    dagProcessor: workload("dagProcessor", "dag-processor", 1, MEDIUM),
    /** The triggerer Deployment (runs deferred tasks' triggers): replicas, resources, placement, env. */
    triggerer: workload("triggerer", "triggerer", 1, SMALL),

    /** Worker pods launched by the KubernetesExecutor, one per task. */
    workers: z
        .strictObject({
            resources: resources(SMALL),
            ...placement("workers"),
            /** Delete worker pods when the task ends; failed pods can be kept for debugging. */
            deleteOnSuccess: z.boolean().default(true),
            deleteOnFailure: z.boolean().default(true),
            /**
             * Let tasks launch pods of their own (KubernetesPodOperator, @task.kubernetes): the worker
             * ServiceAccount gets a namespaced Role for that, and worker pods mount its token.
             */
            podLauncher: z.boolean().default(false),
        })
        .prefault({})
        .superRefine(podExtensionProblems(OWN_POD_NAMES.airflow("base"))),
};
