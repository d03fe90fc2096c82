// How the UI and the API are reached: the API server's Service, and an Ingress in front of it.
import * as k8s from "../kubernetes";
import { COMPONENT } from "../names";
import { awaitedWorkloadService, selectorLabels } from "../podParts";
import { ControlPlane, meta } from "./args";
import type { ApiUrls } from "./env";

export function exposure(cp: ControlPlane, urls: ApiUrls): void {
    const ui = cp.args.config.ui;
    const name = `${cp.name}-${COMPONENT.apiServer}`;
    const service = new k8s.core.v1.Service(
        name,
        {
            metadata: awaitedWorkloadService(meta(cp, urls.serviceName, COMPONENT.apiServer), ui.serviceType),
            spec: {
                type: ui.serviceType,
                selector: selectorLabels(cp.args.instance, COMPONENT.apiServer),
                ports: [{ name: "http", port: ui.port, targetPort: "http" }],
            },
        },
        { parent: cp.parent },
    );
    const ingress = ui.ingress;
    if (!ingress.enabled) return;
    new k8s.networking.v1.Ingress(
        name,
        {
            metadata: { ...meta(cp, urls.serviceName, COMPONENT.apiServer), ...(Object.keys(ingress.annotations).length ? { annotations: ingress.annotations } : {}) },
            spec: {
                ...(ingress.className ? { ingressClassName: ingress.className } : {}),
                // The schema requires the host while the Ingress is enabled.
                ...(ingress.tlsSecretName ? { tls: [{ hosts: [ingress.host!], secretName: ingress.tlsSecretName }] } : {}),
                rules: [
                    {
                        host: ingress.host,
                        http: {
                            // The path reaches Airflow unchanged (no rewrite): it serves everything under base_url's path.
                            paths: [{ path: ingress.pathPrefix, pathType: "Prefix", backend: { service: { name: service.metadata.name, port: { name: "http" } } } }],
                        },
                    },
                ],
            },
        },
        { parent: cp.parent },
    );
}
