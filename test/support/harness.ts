// The render harness of the tests: the mocks and the render live in tools/render/ (scripts/render.ts
// and bench/ use them too); this adds the query helpers the tests share.
import * as yaml from "js-yaml";
import type { K8sObject } from "../../tools/render/render";

export * from "../../tools/render/mocks";
export * from "../../tools/render/render";

// ---- small query helpers used across the tests ----

export function find(objects: K8sObject[], kind: string, name: string): any {
    const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
    if (!found) {
        throw new Error(`no ${kind} ${name}; have: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ")}`);
    }
    return found;
}

export function ofKind(objects: K8sObject[], kind: string): any[] {
    return objects.filter((o) => o.kind === kind);
}

export function container(podSpec: any, name: string): any {
    const found = [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])].find((c: any) => c.name === name);
    if (!found) throw new Error(`no container ${name}`);
    return found;
}

export function envOf(c: any): Record<string, any> {
    return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.valueFrom ?? e.value]));
}

/** Every pod spec in an object: workloads, Jobs, CronJobs, and pod templates inside ConfigMaps. */
export function podSpecs(obj: K8sObject): { where: string; spec: any }[] {
    const o = obj as any;
    const name = `${obj.kind}/${obj.metadata?.name}`;
    if (o.spec?.template?.spec) return [{ where: name, spec: o.spec.template.spec }];
    if (o.spec?.jobTemplate?.spec?.template?.spec) return [{ where: name, spec: o.spec.jobTemplate.spec.template.spec }];
    if (obj.kind === "ConfigMap" && o.data?.["pod_template.yaml"]) {
        return [{ where: `${name} pod_template.yaml`, spec: (yaml.load(o.data["pod_template.yaml"]) as any).spec }];
    }
    return [];
}

/** The worker pod template rendered into the pod-template ConfigMap, parsed. */
export function workerPodTemplate(objects: K8sObject[]): K8sObject {
    const cm = objects.find((o) => o.kind === "ConfigMap" && (o as any).data?.["pod_template.yaml"]) as any;
    if (!cm) throw new Error("no pod template ConfigMap");
    return yaml.load(cm.data["pod_template.yaml"]) as K8sObject;
}
