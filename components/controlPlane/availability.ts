// Availability: the API server's HorizontalPodAutoscaler, and disruption budgets that keep all but one
// pod of each multi-replica component through voluntary disruptions (node drains).
import * as k8s from "../kubernetes";
import { COMPONENT } from "../names";
import { disruptionBudget } from "../podParts";
import { ControlPlane, meta } from "./args";
import { replicaRange } from "./workloads";

export function availability(cp: ControlPlane, apiServer: k8s.apps.v1.Deployment): void {
    const c = cp.args.config;
    const autoscaling = c.apiServer.autoscaling;
    if (autoscaling.enabled) {
        const name = `${cp.name}-${COMPONENT.apiServer}`;
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            name,
            {
                metadata: meta(cp, name, COMPONENT.apiServer),
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: apiServer.metadata.name },
                    minReplicas: autoscaling.minReplicas,
                    maxReplicas: autoscaling.maxReplicas,
                    metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: autoscaling.targetCPUUtilizationPercentage } } }],
                },
            },
            { parent: cp.parent },
        );
    }
    for (const [component, w] of [
        [COMPONENT.apiServer, c.apiServer],
        [COMPONENT.scheduler, c.scheduler],
        [COMPONENT.dagProcessor, c.dagProcessor],
        [COMPONENT.triggerer, c.triggerer],
    ] as const) {
        if (replicaRange(cp, component, w).min > 1) {
            disruptionBudget(`${cp.name}-${component}`, cp.args.namespace, cp.args.instance, component, cp.parent);
        }
    }
}
