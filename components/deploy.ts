// Composition of the whole deployment, in the order data flows: config -> cluster provider -> images
// -> namespace -> keys -> network policies -> DAG source -> storage -> database -> metrics -> airflow
// (or the standalone pod) -> outputs. The AirflowOnKubernetes component (airflowOnKubernetes.ts) calls
// deployAirflow with its validated config, as the parent of everything. Each component takes its
// sections of the config as the schema gives them.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Airflow } from "./airflow";
import { AirflowKeys } from "./airflowKeys";
import type { StackConfig } from "./config";
import { DAGS_MOUNT } from "./airflowPod";
import { dagSourceParts, DagSourceParts } from "./dagSource";
import { GitSync } from "./gitSync";
import { AirflowImages } from "./images";
import { DatabaseBackup } from "./databaseBackup";
import { MetadataDatabase } from "./metadataDatabase";
import { StatsdExporter } from "./metrics";
import { kubernetesApiEndpoint, NetworkPolicies } from "./networkPolicies";
import { PgBouncer } from "./pgbouncer";
import { labels } from "./podParts";
import { childName, DeployOptions, StackOutputs } from "./stack";
import { StandaloneAirflow } from "./standalone";
import { SharedStorage } from "./storage";

/** Kubernetes kinds this package creates outside any namespace. */
const CLUSTER_SCOPED = new Set(["kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolume"]);

/**
 * The kinds that own pods. Pulumi deletes them itself before the namespace: the namespace controller,
 * finding a running pod in a namespace being deleted, checks again only after half the longest
 * terminationGracePeriodSeconds plus one (16 s for the default 30 s) however soon the pod is gone,
 * while a deleted Deployment's pods are gone as soon as they have stopped (measured with npm run
 * bench:deploy and bench:node: the namespace delete with the pods in it took 15.7 s on the kwok lab).
 */
const POD_OWNERS = new Set(["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod"]);

/**
 * The kubernetes provider's annotation for how a delete cascades; its default is foreground, where
 * the owner stays (and Pulumi waits) until every pod it owns has stopped.
 */
const DELETION_PROPAGATION = "pulumi.com/deletionPropagationPolicy";

/**
 * On destroy, deleting the namespace the stack created deletes everything in it, so Pulumi need not
 * delete (and wait for) each namespaced object in turn: teardown deletes the pod owners (in the
 * reverse of their dependency order) and then the namespace, and a finished worker pod that still
 * holds the log claim cannot hold a claim's deletion up (seen in the lab). The pod owners are deleted
 * in the background: each is gone at once and its pods stop while Pulumi goes on, instead of one
 * level of the dependency order waiting for the pods of the level before (4 s of the 14 s teardown
 * on the kwok lab, measured with npm run bench:deploy's critical path); the namespace's deletion
 * still waits for every pod to be gone. Updates that replace or drop one object still delete it.
 */
export function deleteWithNamespace(namespace: k8s.core.v1.Namespace): pulumi.ResourceTransformation {
    return (args) => {
        if (!args.type.startsWith("kubernetes:") || args.type.startsWith("pulumi:providers:") || CLUSTER_SCOPED.has(args.type)) return undefined;
        if (!POD_OWNERS.has(args.type)) return { props: args.props, opts: pulumi.mergeOptions(args.opts, { deletedWith: namespace }) };
        const metadata = args.props.metadata ?? {};
        const annotations = pulumi.output(metadata.annotations).apply((a: Record<string, string> | undefined) => ({ ...a, [DELETION_PROPAGATION]: "background" }));
        return { props: { ...args.props, metadata: { ...metadata, annotations } }, opts: args.opts };
    };
}

/** Where the children go: their parent, the cluster's provider, and the options every component gets. */
interface Placement {
    instance: string;
    parent: pulumi.Resource;
    /** Options of the direct children that predate the component (see cluster()). */
    child: pulumi.CustomResourceOptions;
    infra?: pulumi.StackReference;
    provider?: k8s.Provider;
    /** The options of every component. */
    opts: pulumi.ComponentResourceOptions;
}

/** The cluster: from another stack when named, else the provider the component was given (or the ambient kubeconfig). */
function cluster(c: StackConfig, options: DeployOptions): Placement {
    const { instance, parent } = options;
    // Stacks made before the package had one top-level component kept these children at the stack's
    // root, under the same names: the alias lets their next update adopt them instead of replacing all.
    const child: pulumi.CustomResourceOptions = { parent, ...(instance === "airflow" ? { aliases: [{ parent: pulumi.rootStackResource }] } : {}) };
    const infra = c.infrastructure ? new pulumi.StackReference(childName(instance, c.infrastructure.stack), { name: c.infrastructure.stack }, child) : undefined;
    const provider =
        infra && c.infrastructure
            ? new k8s.Provider(childName(instance, "cluster"), { kubeconfig: infra.requireOutput(c.infrastructure.kubeconfigOutput).apply(String) }, child)
            : undefined;
    return { instance, parent, child, infra, provider, opts: { ...child, ...(provider ? { providers: [provider] } : {}) } };
}

function images(c: StackConfig, at: Placement, registryPassword: pulumi.Input<string> | undefined): AirflowImages {
    const registryOutput = c.infrastructure?.registryOutput;
    return new AirflowImages(
        `${at.instance}-images`,
        {
            airflowVersion: c.airflowVersion,
            images: c.images,
            registry: c.registry,
            infrastructureRegistry: at.infra && registryOutput ? at.infra.requireOutput(registryOutput).apply(String) : undefined,
            registryPassword,
        },
        at.opts,
    );
}

/** The namespace, created unless the config says a platform team owns it; then every component is deleted with it. */
function namespace(c: StackConfig, at: Placement): { name: pulumi.Output<string>; at: Placement } {
    if (!c.createNamespace) return { name: pulumi.output(c.namespace), at };
    const ns = new k8s.core.v1.Namespace(
        childName(at.instance, "namespace"),
        { metadata: { name: c.namespace, labels: labels(at.instance, "namespace") } },
        { ...at.child, ...(at.provider ? { provider: at.provider } : {}) },
    );
    return { name: ns.metadata.name, at: { ...at, opts: { ...at.opts, transformations: [...(at.opts.transformations ?? []), deleteWithNamespace(ns)] } } };
}

function networkPolicies(c: StackConfig, at: Placement, ns: pulumi.Output<string>): void {
    const kubernetesApi = c.network.kubernetesApi ?? kubernetesApiEndpoint(at.instance, { parent: at.parent, ...(at.provider ? { provider: at.provider } : {}) });
    new NetworkPolicies(at.instance, { namespace: ns, instance: at.instance, config: c, kubernetesApi }, at.opts);
}

/** What both architectures are built from. */
interface Built {
    at: Placement;
    namespace: pulumi.Output<string>;
    images: AirflowImages;
    /** The task images, when there are any (built, or prebuilt in images.taskImages). */
    taskImages?: pulumi.Output<Record<string, string>>;
    keys: AirflowKeys;
    dags: DagSourceParts;
}

export function deployAirflow(c: StackConfig, options: DeployOptions): StackOutputs {
    const placed = cluster(c, options);
    const built = images(c, placed, options.registryPassword);
    const ns = namespace(c, placed);
    const at = ns.at;
    const keys = new AirflowKeys(
        `${at.instance}-keys`,
        { namespace: ns.name, instance: at.instance, simpleAuthUsername: c.ui.authManager === "simple" ? c.ui.adminUsername : undefined, generation: c.keys.generation },
        at.opts,
    );
    if (c.networkPolicies) networkPolicies(c, at, ns.name);
    const hasTaskImages = Object.keys(c.images.tasks).length > 0 || Object.keys(c.images.taskImages).length > 0;
    const parts: Built = { at, namespace: ns.name, images: built, taskImages: hasTaskImages ? built.taskImages : undefined, keys, dags: dagSourceParts(c) };
    const common = { namespace: ns.name, airflowImage: built.airflowImage, adminUsername: c.ui.adminUsername, adminPassword: keys.adminPassword, architecture: c.architecture };
    return { ...common, ...(c.architecture === "standalone" ? standalone(c, parts) : production(c, parts)) };
}

type ArchitectureOutputs = Pick<StackOutputs, "uiServiceName" | "uiUrl" | "metadataSecretName" | "dagsClaimName" | "logsClaimName" | "migrationJobName">;

/** database.backup: the snapshot claim and scripts (and, given the database, the production CronJobs). */
function databaseBackup(
    c: StackConfig,
    b: Built,
    database?: { connection: { secretName: pulumi.Input<string>; secretKey: string }; ready: pulumi.Resource[] },
): DatabaseBackup | undefined {
    if (!c.database.backup.enabled) return undefined;
    const storageClassName = c.architecture === "standalone" ? c.standalone.storageClassName : c.database.storageClassName;
    return new DatabaseBackup(
        `${b.at.instance}-db-backups`,
        {
            namespace: b.namespace,
            instance: b.at.instance,
            backup: c.database.backup,
            defaultStorageClassName: storageClassName,
            images: c.images,
            keyGeneration: c.keys.generation,
            database: database?.connection,
            databaseReady: database?.ready,
        },
        b.at.opts,
    );
}

function standalone(c: StackConfig, b: Built): ArchitectureOutputs {
    const pod = new StandaloneAirflow(
        b.at.instance,
        {
            namespace: b.namespace,
            instance: b.at.instance,
            config: c,
            image: b.images.airflowImage,
            keysSecretName: b.keys.secretName,
            dagsFolder: b.dags.dagsFolder,
            dagSync: b.dags.sidecar,
            dagProcessorDefaults: b.dags.dagProcessorDefaults,
            dagBundles: b.dags.dagBundles,
            taskImages: b.taskImages,
            backup: databaseBackup(c, b),
        },
        b.at.opts,
    );
    return { uiServiceName: pod.serviceName, uiUrl: pod.uiUrl, metadataSecretName: pod.metadataSecretName };
}

/** The shared volumes, and the git-sync CronJob that writes DAGs onto them. */
function storage(c: StackConfig, b: Built): SharedStorage {
    const { instance, opts } = b.at;
    // Bundles are cloned by the pods themselves: without another source, no pod reads a DAG claim.
    const needsDags = b.dags.dagsFolder.startsWith(DAGS_MOUNT) && b.dags.sidecar === undefined && b.dags.dagBundles === undefined;
    const needsLogs = c.logging.remoteBaseLogFolder === undefined || c.storage.logsClaimName !== undefined;
    const shared = new SharedStorage(`${instance}-storage`, { namespace: b.namespace, instance, storage: c.storage, images: c.images, needsDags, needsLogs }, opts);
    if (b.dags.git && c.gitSync.mode === "cronjob" && shared.dagsClaimName) {
        new GitSync(
            `${instance}-git-sync`,
            { namespace: b.namespace, instance, gitSync: b.dags.git, images: c.images, dagsClaimName: shared.dagsClaimName, dagsSubPath: shared.dagsSubPath },
            { ...opts, dependsOn: [shared] },
        );
    }
    return shared;
}

/** The metadata database, and PgBouncer in front of it (migrations and `db clean` keep the direct connection). */
function database(c: StackConfig, b: Built): { db: MetadataDatabase; pgbouncer?: PgBouncer } {
    const { instance, opts } = b.at;
    const db = new MetadataDatabase(`${instance}-postgres`, { namespace: b.namespace, instance, database: c.database, images: c.images }, opts);
    if (!c.database.pgbouncer.enabled) return { db };
    const pgbouncer = new PgBouncer(
        `${instance}-pgbouncer`,
        { namespace: b.namespace, instance, images: c.images, pgbouncer: c.database.pgbouncer, server: { secretName: db.connectionSecretName, secretKey: db.connectionSecretKey } },
        { ...opts, dependsOn: db.statefulSet ? [db.statefulSet] : [] },
    );
    return { db, pgbouncer };
}

function production(c: StackConfig, b: Built): ArchitectureOutputs {
    const { instance, opts } = b.at;
    const shared = storage(c, b);
    const { db, pgbouncer } = database(c, b);
    // --- metrics: StatsD from every Airflow process into one exporter ---
    const metrics = c.metrics.enabled ? new StatsdExporter(`${instance}-statsd`, { namespace: b.namespace, instance, images: c.images, metrics: c.metrics }, opts) : undefined;
    const direct = { secretName: db.connectionSecretName, secretKey: db.connectionSecretKey };
    const backup = databaseBackup(c, b, { connection: direct, ready: db.statefulSet ? [db.statefulSet] : [] });
    const airflow = new Airflow(
        instance,
        {
            namespace: b.namespace,
            instance,
            config: c,
            image: b.images.airflowImage,
            // the base image (its digest when built, else the prebuilt image): what decides the schema
            schemaImage: b.images.baseImage,
            database: {
                airflow: pgbouncer ? { secretName: pgbouncer.connectionSecretName, secretKey: pgbouncer.connectionSecretKey } : direct,
                direct: pgbouncer ? direct : undefined,
                // Not the component's dependsOn, which every child would inherit: its ConfigMaps, accounts,
                // Services and policies are created at once, the migration waits for the database only.
                ready: [...(db.statefulSet ? [db.statefulSet] : []), ...(pgbouncer ? [pgbouncer] : [])],
            },
            keysSecretName: b.keys.secretName,
            storage: {
                dagsClaimName: shared.dagsClaimName,
                dagsSubPath: shared.dagsSubPath,
                logsClaimName: shared.logsClaimName,
                logsSubPath: shared.logsSubPath,
                ready: [shared],
            },
            dagsFolder: b.dags.dagsFolder,
            taskImages: b.taskImages,
            dagSync: b.dags.sidecar,
            dagProcessorDefaults: b.dags.dagProcessorDefaults,
            dagBundles: b.dags.dagBundles,
            statsdHost: metrics?.host,
            backup: backup?.migrationParts(direct),
        },
        opts,
    );
    return {
        uiServiceName: airflow.apiServiceName,
        uiUrl: airflow.uiUrl,
        dagsClaimName: shared.dagsClaimName,
        logsClaimName: shared.logsClaimName,
        metadataSecretName: db.connectionSecretName,
        migrationJobName: airflow.migrationJobName,
    };
}
