// The Airflow control plane for the KubernetesExecutor: a thin component over the builders in
// controlPlane/, each of which makes one part (identities, env and the pod factory, the worker pod
// template, the migration and admin Jobs, the four Deployments, the Service and Ingress, the autoscaler and
// disruption budgets), plus the retention CronJobs.
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import { AirflowArgs, ControlPlane } from "./controlPlane/args";
import { availability } from "./controlPlane/availability";
import { apiUrls, podFactory } from "./controlPlane/env";
import { exposure } from "./controlPlane/exposure";
import { identities } from "./controlPlane/identities";
import { adminJob, fernetRotationJob, migrationJob, webserverConfigParts } from "./controlPlane/migration";
import { taskImagesVariableJob } from "./controlPlane/taskImagesVariable";
import { workerPodTemplate } from "./controlPlane/podTemplate";
import { workloads } from "./controlPlane/workloads";
import { retentionCronJobs } from "./retention";

export type { AirflowArgs, ControlPlaneConfig, MetadataConnection } from "./controlPlane/args";
export { FAB_CONFIG_DIR } from "./controlPlane/migration";

/** Airflow 3 with the KubernetesExecutor. */
export class Airflow extends pulumi.ComponentResource {
    /** Name of the API server (UI) Service. */
    readonly apiServiceName: pulumi.Output<string>;
    /** In-cluster URL of the UI and REST API, or the URL people open when the UI has one. */
    readonly uiUrl: pulumi.Output<string>;
    /** Name of the migration Job (changes with the schema image and the Airflow version). */
    readonly migrationJobName: pulumi.Output<string>;
    /** The worker pod template as rendered into its ConfigMap. */
    readonly podTemplateYaml: pulumi.Output<string>;

    constructor(name: string, args: AirflowArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("Airflow"), name, {}, withLegacyType("Airflow", opts));
        const cp: ControlPlane = { name, args, parent: this };
        const ids = identities(cp);
        const urls = apiUrls(cp);
        const factory = podFactory(cp, urls);
        const podTemplate = workerPodTemplate(cp, factory, ids.worker);
        const webserverConfig = webserverConfigParts(args.config.ui);
        const migration = migrationJob(cp, factory, ids.migrate, webserverConfig);
        adminJob(cp, factory, ids.migrate, webserverConfig, migration);
        const taskImagesVariable = args.taskImages !== undefined ? taskImagesVariableJob(cp, factory, ids.migrate, migration, args.taskImages) : undefined;
        const { apiServer, all } = workloads(cp, { factory, ids, podTemplate, webserverConfig, urls, migration, taskImagesVariable });
        fernetRotationJob(cp, factory, ids.migrate, all);
        exposure(cp, urls);
        availability(cp, apiServer);
        retentionCronJobs(name, {
            factory,
            namespace: args.namespace,
            instance: args.instance,
            retention: args.config.retention,
            logsOnClaim: args.storage.logsClaimName !== undefined,
            // Maintenance runs as the migration Job does: no token, no cloud identity.
            serviceAccountName: ids.migrate.metadata.name,
            database: args.database.direct ?? args.database.airflow,
            parent: this,
            migration,
            storageReady: args.storage.ready,
            podCleanerAccountName: ids.workerCleanup?.metadata.name,
        });

        this.apiServiceName = pulumi.output(urls.serviceName);
        this.uiUrl = urls.ui;
        this.migrationJobName = migration.metadata.name;
        this.podTemplateYaml = podTemplate.yaml;
        this.registerOutputs({ apiServiceName: this.apiServiceName, uiUrl: this.uiUrl, migrationJobName: this.migrationJobName });
    }
}
