// The KubernetesExecutor's worker pod template (container `base`, restartPolicy Never), rendered to
// the ConfigMap the scheduler reads.
import * as k8s from "../kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { AirflowPodFactory, IMAGE_DAGS_FOLDER } from "../airflowPod";
import { COMPONENT } from "../names";
import { extendPodSpec, labels, podMetadata } from "../podParts";
import { ControlPlane } from "./args";

/** The executor's name for the container that runs the task. */
export const WORKER_CONTAINER = "base";

export interface WorkerPodTemplate {
    /** The template as rendered into its ConfigMap. */
    yaml: pulumi.Output<string>;
    configMap: k8s.core.v1.ConfigMap;
}

export function workerPodTemplate(cp: ControlPlane, factory: AirflowPodFactory, account: k8s.core.v1.ServiceAccount): WorkerPodTemplate {
    const workers = cp.args.config.workers;
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: podMetadata(cp.args.instance, COMPONENT.worker, workers),
        spec: extendPodSpec(
            factory.podSpec({
                component: COMPONENT.worker,
                containerName: WORKER_CONTAINER,
                role: "worker",
                readsDags: true,
                dagsAtStartOnly: true,
                // it clones the commit its DAG run recorded
                dagBundles: "clone",
                copyImageDags: cp.args.dagsFolder === IMAGE_DAGS_FOLDER && cp.args.taskImages !== undefined,
                resources: workers.resources,
                settings: workers,
                serviceAccountName: account.metadata.name,
                // A token only for tasks that launch pods of their own.
                automountServiceAccountToken: workers.podLauncher,
                restartPolicy: "Never",
            }),
            workers,
            WORKER_CONTAINER,
        ),
    };
    const rendered = pulumi.output(pod).apply((p) => yaml.dump(JSON.parse(JSON.stringify(p)), { sortKeys: true, lineWidth: -1 }));
    const configMap = new k8s.core.v1.ConfigMap(
        `${cp.name}-pod-template`,
        {
            // Auto-named: a changed template gets a new ConfigMap, which rolls the scheduler.
            metadata: { namespace: cp.args.namespace, labels: labels(cp.args.instance, COMPONENT.worker) },
            data: { "pod_template.yaml": rendered },
        },
        { parent: cp.parent },
    );
    return { yaml: rendered, configMap };
}
