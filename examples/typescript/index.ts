// Another team's Pulumi program reusing the package: Airflow for the analytics team, deployed into
// the cluster and the registry that the platform's infrastructure stack exports.
//
//   npm install @airflow-pulumi/airflow-kubernetes   (its peers: @pulumi/pulumi, kubernetes, random, docker, gcp)
//   pulumi config set infrastructureStack acme/infrastructure/prod
//   pulumi up
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AirflowOnKubernetes } from "@airflow-pulumi/airflow-kubernetes";

/** Labels the analytics team puts on everything it runs (cost reports, ownership). */
const TEAM_LABELS = { "example.com/team": "analytics", "example.com/cost-center": "cc-4711" };

/**
 * A transformation that labels every Kubernetes object the component creates: given to the component,
 * it reaches every child, sub-components' children included. (`transforms` work the same way and also
 * run when the component is consumed from another language.)
 */
const teamLabels: pulumi.ResourceTransformation = ({ type, props, opts }) => {
    if (!type.startsWith("kubernetes:") || type.startsWith("pulumi:providers:") || props.metadata === undefined) return undefined;
    return { props: { ...props, metadata: { ...props.metadata, labels: { ...props.metadata.labels, ...TEAM_LABELS } } }, opts };
};

export = async () => {
    const config = new pulumi.Config();
    // The platform's infrastructure stack: its outputs, not hard-coded values, say where to deploy.
    const infra = new pulumi.StackReference(config.get("infrastructureStack") ?? "acme/infrastructure/prod");
    const cluster = new k8s.Provider("cluster", { kubeconfig: infra.requireOutput("kubeconfig").apply(String) });
    // Image references decide what the component renders, so they are plain values: read the registry once.
    const registry = String((await infra.getOutputDetails("registry")).value);

    const airflow = new AirflowOnKubernetes(
        "analytics",
        {
            namespace: "analytics",
            images: {
                airflow: `${registry}/airflow:3.3.2`,
                // Business logic with its own dependencies, built by its own repository's CI.
                taskImages: { forecasting: `${registry}/tasks/forecasting:2.4.1` },
            },
            // A handful of DAGs: requests below the defaults (500m each), so the control plane fits two cores.
            scheduler: { resources: { limits: { cpu: "1", memory: "2Gi" } } },
            apiServer: { resources: { requests: { cpu: "250m" } } },
            dagProcessor: { resources: { requests: { cpu: "250m" } } },
            workers: { podLauncher: true },
            ui: { authManager: "simple", adminUsername: "analytics-admin" },
            logging: { remoteBaseLogFolder: "gs://acme-analytics-airflow/logs" },
        },
        { providers: [cluster], transformations: [teamLabels] },
    );

    return {
        namespace: airflow.namespace,
        uiUrl: airflow.uiUrl,
        airflowImage: airflow.airflowImage,
        adminUsername: airflow.adminUsername,
        adminPassword: airflow.adminPassword,
    };
};
