// Composition of the whole deployment, in the order data flows:
// config -> cluster provider -> images -> storage -> database -> keys -> airflow (env + pod template)
// -> workloads -> outputs. The AirflowOnKubernetes component (airflowOnKubernetes.ts) calls
// deployAirflow with its validated args, as the parent of everything; index.ts, the program, reads
// the stack config with readStackArgs and constructs that component.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Airflow } from "./airflow";
import { AirflowKeys } from "./airflowKeys";
import { API_PORT, DAGS_MOUNT, IMAGE_DAGS_FOLDER } from "./airflowPod";
import { dagBundlePodParts } from "./dagBundles";
import { GIT_SYNC_LINK, GitSync, gitSyncSidecar } from "./gitSync";
import { AirflowImages } from "./images";
import type { AirflowOnKubernetesArgs } from "./airflowOnKubernetesArgs";
import { DERIVED_AIRFLOW_ENV } from "./airflowSettings";
import { decodeStackConfig, parseProgramConfig, SECRET_CONFIG_KEYS, StackConfig } from "./config";
import { cronShortestGapSeconds, gitRepoPort } from "./formats";
import { MetadataDatabase } from "./metadataDatabase";
import { StatsdExporter } from "./metrics";
import { DAG_READERS, kubernetesApiEndpoint, NetworkPolicies } from "./networkPolicies";
import { PgBouncer } from "./pgbouncer";
import { labels } from "./podParts";
import { StandaloneAirflow } from "./standalone";
import { SharedStorage } from "./storage";

/**
 * Name of the program's AirflowOnKubernetes component: the prefix of its children's names and the
 * `app.kubernetes.io/instance` label (another instance name gives another set of object names).
 */
export const INSTANCE = "airflow";

export interface StackOutputs {
    namespace: pulumi.Output<string>;
    architecture: string;
    uiServiceName: pulumi.Output<string>;
    uiUrl: pulumi.Output<string>;
    /** Claim holding DAG files (undefined when DAGs are in the image or synced by a sidecar). */
    dagsClaimName?: pulumi.Output<string>;
    logsClaimName?: pulumi.Output<string>;
    metadataSecretName: pulumi.Output<string>;
    airflowImage: pulumi.Output<string>;
    migrationJobName?: pulumi.Output<string>;
    adminUsername?: string;
    adminPassword?: pulumi.Output<string>;
}

/**
 * Whether Pulumi holds a config value encrypted (`pulumi config set --secret`): the list the language
 * host passes the program (PULUMI_CONFIG_SECRET_KEYS), through the SDK's runtime.isConfigSecret. That
 * function is internal (absent from the SDK's typings), so it is looked up; without it nothing is refused.
 */
function isConfigSecret(key: string): boolean {
    const lookup = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
    return lookup ? lookup(key) : true;
}

/**
 * Reads the whole config map once and validates it, every problem reported by its config key
 * (`airflow:scheduler.replicas`): the project's namespace (everything but secret keys) against the
 * schema, every other key against the namespaces the providers read. Returns the component's args:
 * the config values as written (the component applies the defaults) and the secret registryPassword.
 */
export function readStackArgs(): AirflowOnKubernetesArgs {
    const config = new pulumi.Config();
    const all = pulumi.runtime.allConfig();
    parseProgramConfig(all, config.name, isConfigSecret);
    const prefix = `${config.name}:`;
    const own = Object.fromEntries(Object.entries(all).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])));
    const args = decodeStackConfig(own) as AirflowOnKubernetesArgs;
    const secrets = Object.fromEntries(SECRET_CONFIG_KEYS.flatMap((key) => (own[key] !== undefined ? [[key, config.requireSecret(key)]] : [])));
    return { ...args, ...secrets };
}

/**
 * The program's stack outputs: only those the architecture has (an undefined export makes every
 * preview print "Undefined value ... will not show as a stack output"), the admin password secret.
 */
export function programOutputs(s: StackOutputs | Partial<Record<keyof StackOutputs, unknown>>): Record<string, unknown> {
    const keys: (keyof StackOutputs)[] = [
        "namespace", "architecture", "uiServiceName", "uiUrl", "dagsClaimName", "logsClaimName",
        "metadataSecretName", "airflowImage", "migrationJobName", "adminUsername", "adminPassword",
    ];
    const outputs: Record<string, unknown> = Object.fromEntries(keys.map((key) => [key, s[key]]));
    if (outputs.adminPassword !== undefined) outputs.adminPassword = pulumi.secret(outputs.adminPassword);
    return Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
}

/** How the AirflowOnKubernetes component places what deployAirflow creates. */
export interface DeployOptions {
    /** The component's name: prefix of every child's name and the `app.kubernetes.io/instance` label. */
    instance: string;
    /** The component: parent of every resource created here (its providers and transformations apply). */
    parent: pulumi.Resource;
    /** registry.username's password (secret). */
    registryPassword?: pulumi.Input<string>;
}

/**
 * Name of a child that carries no instance prefix in the program ("namespace", "cluster"): kept as it
 * was for the program's instance, prefixed for any other, so two instances in one program never clash.
 */
export function childName(instance: string, name: string): string {
    return instance === INSTANCE ? name : `${instance}-${name}`;
}

/** The DAGs come in the image (the DAG image's folder, the `dags-folder` bundle beside any git bundles). */
export function dagsInImage(c: StackConfig): boolean {
    return c.dagsInImage || c.images.build.enabled;
}

/** Where the Airflow processes find DAG files. */
export function dagsFolderFor(c: StackConfig): string {
    if (c.gitSync.enabled) {
        // git-sync publishes each checkout atomically as the `repo` link.
        return [DAGS_MOUNT, GIT_SYNC_LINK, c.gitSync.subPath].filter(Boolean).join("/");
    }
    if (dagsInImage(c) || c.architecture === "standalone") {
        return IMAGE_DAGS_FOLDER;
    }
    return DAGS_MOUNT;
}

/** Airflow's own `[dag_processor] refresh_interval`: the dag-processor never looks for new files less often. */
export const AIRFLOW_DEFAULT_REFRESH_INTERVAL = 300;

/**
 * How often, in seconds, the DAG source changes the files the dag-processor reads: the git-sync
 * CronJob's shortest gap between runs, the sidecar's period, or the shortest refresh interval of the
 * DAG bundles; undefined when the DAGs only change with a deployment (the DAG image).
 */
export function dagSourcePeriodSeconds(c: StackConfig): number | undefined {
    const periods: number[] = [];
    if (c.gitSync.enabled) {
        const sidecar = c.gitSync.mode === "sidecar" || c.architecture === "standalone";
        periods.push(sidecar ? Number(c.gitSync.period.slice(0, -1)) * (c.gitSync.period.endsWith("m") ? 60 : 1) : cronShortestGapSeconds(c.gitSync.schedule));
    }
    periods.push(...c.dagBundles.map((b) => b.refreshInterval));
    return periods.length ? Math.min(...periods) : undefined;
}

/**
 * The dag-processor's `[dag_processor] refresh_interval` (how often it lists each bundle's files for
 * new and deleted ones): the DAG source's period, never longer than Airflow's default, so a change
 * lands within one period instead of up to five minutes later (a daily sync gains nothing from
 * daily listing). Existing files are re-parsed on their own schedule (min_file_process_interval).
 */
export function dagProcessorDefaults(c: StackConfig): Record<string, string> {
    const period = dagSourcePeriodSeconds(c);
    return period === undefined ? {} : { [DERIVED_AIRFLOW_ENV.dagProcessorRefreshInterval]: String(Math.max(1, Math.min(Math.ceil(period), AIRFLOW_DEFAULT_REFRESH_INTERVAL))) };
}

/**
 * Creates everything, as children of `options.parent`, from the validated config. Only
 * AirflowOnKubernetes calls this (it validates first and owns the outputs).
 */
/** Kubernetes kinds this package creates outside any namespace. */
const CLUSTER_SCOPED = new Set(["kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolume"]);

/**
 * On destroy, deleting the namespace the stack created deletes everything in it, so Pulumi need not
 * delete (and wait for) each namespaced object in turn: teardown is one wait, and a finished worker
 * pod that still holds the log claim cannot hold a claim's deletion up (seen in the lab). Updates
 * that replace or drop one object still delete it.
 */
export function deleteWithNamespace(namespace: k8s.core.v1.Namespace): pulumi.ResourceTransformation {
    return (args) =>
        args.type.startsWith("kubernetes:") && !args.type.startsWith("pulumi:providers:") && !CLUSTER_SCOPED.has(args.type)
            ? { props: args.props, opts: pulumi.mergeOptions(args.opts, { deletedWith: namespace }) }
            : undefined;
}

export function deployAirflow(c: StackConfig, options: DeployOptions): StackOutputs {
    // Every child name and the instance label derive from the component's name ("airflow" in the program).
    const INSTANCE = options.instance;
    const parent = options.parent;
    // --- cluster: from another stack when named, else the provider the component was given (or the ambient kubeconfig) ---
    // Stacks made before the package had one top-level component kept these children at the stack's
    // root, under the same names: the alias lets their next update adopt them instead of replacing all.
    const child: pulumi.CustomResourceOptions = { parent, ...(INSTANCE === "airflow" ? { aliases: [{ parent: pulumi.rootStackResource }] } : {}) };
    const infra = c.infrastructure ? new pulumi.StackReference(childName(INSTANCE, c.infrastructure.stack), { name: c.infrastructure.stack }, child) : undefined;
    const provider =
        infra && c.infrastructure
            ? new k8s.Provider(childName(INSTANCE, "cluster"), { kubeconfig: infra.requireOutput(c.infrastructure.kubeconfigOutput).apply(String) }, child)
            : undefined;
    let opts: pulumi.ComponentResourceOptions = { ...child, ...(provider ? { providers: [provider] } : {}) };

    // --- images ---
    const registryOutput = c.infrastructure?.registryOutput;
    const images = new AirflowImages(
        `${INSTANCE}-images`,
        {
            airflowVersion: c.airflowVersion,
            build: c.images.build.enabled,
            prebuiltImage: c.images.airflow,
            baseContext: c.images.build.baseContext,
            baseFromImage: c.images.build.baseImage,
            dagsContext: c.images.build.dagsContext,
            platform: c.images.build.platform,
            taskContexts: Object.fromEntries(Object.entries(c.images.tasks).map(([task, t]) => [task, t.context])),
            taskDockerfiles: Object.fromEntries(Object.entries(c.images.tasks).flatMap(([task, t]) => (t.dockerfile ? [[task, t.dockerfile]] : []))),
            registryServer: c.registry.server ?? (infra && registryOutput ? infra.requireOutput(registryOutput).apply(String) : undefined),
            registryUsername: c.registry.username,
            registryPassword: c.registry.username !== undefined ? options.registryPassword : undefined,
            artifactRegistryProject: c.registry.artifactRegistry?.project,
            artifactRegistryLocation: c.registry.artifactRegistry?.location,
            artifactRegistryRepositoryId: c.registry.artifactRegistry?.repositoryId,
        },
        opts,
    );
    const airflowImage = images.airflowImage;
    // built task images and prebuilt ones (images.taskImages) reach DAGs as one name -> reference map
    const taskImages =
        Object.keys(c.images.tasks).length || Object.keys(c.images.taskImages).length
            ? images.taskImages.apply((built) => ({ ...c.images.taskImages, ...built }))
            : undefined;

    // --- namespace ---
    const namespaceResource = c.createNamespace
        ? new k8s.core.v1.Namespace(
              childName(INSTANCE, "namespace"),
              { metadata: { name: c.namespace, labels: labels(INSTANCE, "namespace") } },
              { ...child, ...(provider ? { provider } : {}) },
          )
        : undefined;
    const namespace = namespaceResource ? namespaceResource.metadata.name : pulumi.output(c.namespace);
    if (namespaceResource) opts = { ...opts, transformations: [...(opts.transformations ?? []), deleteWithNamespace(namespaceResource)] };

    const dagsFolder = dagsFolderFor(c);
    const ui = c.ui;
    const keys = new AirflowKeys(
        `${INSTANCE}-keys`,
        { namespace, instance: INSTANCE, adminPassword: true, simpleAuthUsername: ui.authManager === "simple" ? ui.adminUsername : undefined },
        opts,
    );
    // The stack-wide env knobs, for every Airflow container.
    const env = { extraEnv: c.extraEnv, secretEnv: c.secretEnv, envFromSecrets: c.envFromSecrets };
    const imagePullSecrets = c.images.pullSecrets;

    if (c.networkPolicies) {
        const gitPort = c.gitSync.enabled && c.gitSync.repo !== undefined ? gitRepoPort(c.gitSync.repo) : undefined;
        const gitSidecars = c.gitSync.enabled && (c.gitSync.mode === "sidecar" || c.architecture === "standalone");
        const bundlePorts = c.dagBundles.map((b) => gitRepoPort(b.repo)).filter((p): p is number => p !== undefined);
        new NetworkPolicies(
            INSTANCE,
            {
                namespace,
                instance: INSTANCE,
                network: c.network,
                kubernetesApi: c.network.kubernetesApi ?? kubernetesApiEndpoint(INSTANCE, { parent, ...(provider ? { provider } : {}) }),
                apiPort: API_PORT,
                uiCidrs: ui.allowedCidrs,
                architecture: c.architecture,
                internalDatabase: c.database.mode === "internal",
                remoteLogging: c.logging.remoteBaseLogFolder !== undefined,
                // The CronJob's pods, or every DAG-reading pod when each syncs with a sidecar; and the
                // pods that clone DAG bundles (the dag-processor, and each worker for its task's version).
                gitClients: [...new Set([...(gitPort === undefined ? [] : gitSidecars ? DAG_READERS : ["git-sync"]), ...(bundlePorts.length ? ["dag-processor", "worker"] : [])])],
                gitPorts: [...new Set([...(gitPort === undefined ? [] : [gitPort]), ...bundlePorts])],
                kubernetesApiClients: [...(c.retention.workerPods.enabled ? ["worker-cleanup"] : []), ...(c.workers.podLauncher ? ["worker"] : [])],
                ingressControllerNamespace: ui.ingress.enabled ? ui.ingress.controllerNamespace : undefined,
                pgbouncer: c.database.pgbouncer.enabled,
                metricsScraperNamespace: c.metrics.enabled ? c.metrics.scraperNamespace : undefined,
                externalIdentityProvider: ui.webserverConfig !== undefined,
            },
            opts,
        );
    }

    const common = {
        namespace,
        airflowImage,
        adminUsername: ui.adminUsername,
        adminPassword: keys.adminPassword,
    };

    // --- DAGs from git: a CronJob onto the shared claim, or a sidecar in every DAG-reading pod ---
    const git = c.gitSync.enabled && c.gitSync.repo
        ? {
              repo: c.gitSync.repo,
              ref: c.gitSync.ref,
              auth: c.gitSync.auth,
              credentialsSecretName: c.gitSync.credentialsSecretName,
              allowInsecureTransport: c.gitSync.allowInsecureTransport,
              image: c.images.gitSync,
              imagePullPolicy: c.images.pullPolicy,
              resources: c.gitSync.resources,
          }
        : undefined;
    // The standalone pod has no shared claim: it always syncs with a sidecar.
    const sidecar = git && (c.gitSync.mode === "sidecar" || c.architecture === "standalone") ? gitSyncSidecar({ ...git, period: c.gitSync.period }) : undefined;
    // --- DAG bundles: the list for every Airflow process, connections and keys for those that clone ---
    const dagBundles = c.dagBundles.length ? dagBundlePodParts(c.dagBundles, dagsInImage(c)) : undefined;

    if (c.architecture === "standalone") {
        const standalone = new StandaloneAirflow(
            INSTANCE,
            {
                namespace,
                instance: INSTANCE,
                image: airflowImage,
                postgresImage: c.images.postgres,
                imagePullPolicy: c.images.pullPolicy,
                keysSecretName: keys.secretName,
                dagsFolder,
                storageSize: c.standalone.storageSize,
                storageClassName: c.standalone.storageClassName,
                parallelism: c.standalone.parallelism,
                airflowResources: c.standalone.resources,
                scratch: { tmpSize: c.standalone.tmpSize, homeSize: c.standalone.homeSize },
                postgresResources: c.database.resources,
                ui,
                env,
                imagePullSecrets,
                dagReaderSidecars: sidecar?.sidecars,
                dagReaderVolumes: sidecar?.volumes,
                dagProcessorDefaults: dagProcessorDefaults(c),
                dagBundles,
                taskImages,
            },
            opts,
        );
        return {
            ...common,
            architecture: c.architecture,
            uiServiceName: standalone.serviceName,
            uiUrl: standalone.uiUrl,
            metadataSecretName: standalone.metadataSecretName,
        };
    }

    // --- storage ---
    // Bundles are cloned by the pods themselves: without another source, no pod reads a DAG claim.
    const needsDagsClaim = dagsFolder.startsWith(DAGS_MOUNT) && sidecar === undefined && dagBundles === undefined;
    const needsLogs = c.logging.remoteBaseLogFolder === undefined || c.storage.logsClaimName !== undefined;
    const storage = new SharedStorage(
        `${INSTANCE}-storage`,
        {
            namespace,
            instance: INSTANCE,
            mode: c.storage.mode,
            storageClassName: c.storage.storageClassName,
            dagsSize: c.storage.dagsSize,
            logsSize: c.storage.logsSize,
            dagsClaimName: c.storage.dagsClaimName,
            logsClaimName: c.storage.logsClaimName,
            singleShare: c.storage.singleShare,
            needsDags: needsDagsClaim,
            needsLogs,
            filestoreProject: c.storage.filestore?.project,
            filestoreLocation: c.storage.filestore?.location,
            filestoreTier: c.storage.filestore?.tier,
            filestoreCapacityGb: c.storage.filestore?.capacityGb,
            filestoreNetwork: c.storage.filestore?.network,
            filestoreShareName: c.storage.filestore?.shareName,
            setupImage: c.images.setup,
            imagePullSecrets,
        },
        opts,
    );


    if (git && c.gitSync.mode === "cronjob" && storage.dagsClaimName) {
        new GitSync(
            `${INSTANCE}-git-sync`,
            {
                ...git,
                namespace,
                instance: INSTANCE,
                dagsClaimName: storage.dagsClaimName,
                dagsSubPath: storage.dagsSubPath,
                schedule: c.gitSync.schedule,
                imagePullSecrets,
                nodeSelector: c.gitSync.nodeSelector,
                tolerations: c.gitSync.tolerations,
                pod: c.gitSync,
            },
            { ...opts, dependsOn: [storage] },
        );
    }
    // --- database ---
    const database = new MetadataDatabase(
        `${INSTANCE}-postgres`,
        {
            namespace,
            instance: INSTANCE,
            mode: c.database.mode,
            image: c.images.postgres,
            imagePullPolicy: c.images.pullPolicy,
            imagePullSecrets,
            storageSize: c.database.storageSize,
            storageClassName: c.database.storageClassName,
            resources: c.database.resources,
            externalSecretName: c.database.externalSecretName,
            externalSecretKey: c.database.externalSecretKey,
            pod: c.database,
        },
        opts,
    );
    // PgBouncer between Airflow and the database; migrations and `db clean` keep the direct connection.
    const pgbouncer = c.database.pgbouncer.enabled
        ? new PgBouncer(
              `${INSTANCE}-pgbouncer`,
              {
                  namespace,
                  instance: INSTANCE,
                  image: c.database.pgbouncer.image,
                  imagePullPolicy: c.images.pullPolicy,
                  imagePullSecrets,
                  serverSecretName: database.connectionSecretName,
                  serverSecretKey: database.connectionSecretKey,
                  replicas: c.database.pgbouncer.replicas,
                  poolMode: c.database.pgbouncer.poolMode,
                  maxClientConnections: c.database.pgbouncer.maxClientConnections,
                  defaultPoolSize: c.database.pgbouncer.defaultPoolSize,
                  resources: c.database.pgbouncer.resources,
              },
              { ...opts, dependsOn: database.statefulSet ? [database.statefulSet] : [] },
          )
        : undefined;
    // --- metrics: StatsD from every Airflow process into one exporter ---
    const metrics = c.metrics.enabled
        ? new StatsdExporter(
              `${INSTANCE}-statsd`,
              {
                  namespace,
                  instance: INSTANCE,
                  image: c.metrics.image,
                  imagePullPolicy: c.images.pullPolicy,
                  imagePullSecrets,
                  resources: c.metrics.resources,
                  serviceMonitor: c.metrics.serviceMonitor,
                  scrapeInterval: c.metrics.scrapeInterval,
              },
              opts,
          )
        : undefined;

    // --- airflow control plane and workers ---
    const airflow = new Airflow(
        INSTANCE,
        {
            namespace,
            instance: INSTANCE,
            config: c,
            image: airflowImage,
            // the base image (its digest when built, else the prebuilt image): what decides the schema
            schemaImage: images.baseImage,
            database: {
                airflow: pgbouncer
                    ? { secretName: pgbouncer.connectionSecretName, secretKey: pgbouncer.connectionSecretKey }
                    : { secretName: database.connectionSecretName, secretKey: database.connectionSecretKey },
                direct: pgbouncer ? { secretName: database.connectionSecretName, secretKey: database.connectionSecretKey } : undefined,
                // Not the component's dependsOn, which every child would inherit: its ConfigMaps, accounts,
                // Services and policies are created at once, the migration waits for the database only.
                ready: [...(database.statefulSet ? [database.statefulSet] : []), ...(pgbouncer ? [pgbouncer] : [])],
            },
            keysSecretName: keys.secretName,
            storage: { dagsClaimName: storage.dagsClaimName, dagsSubPath: storage.dagsSubPath, logsClaimName: storage.logsClaimName, logsSubPath: storage.logsSubPath, ready: [storage] },
            dagsFolder,
            taskImages,
            dagSync: sidecar,
            dagProcessorDefaults: dagProcessorDefaults(c),
            dagBundles,
            statsdHost: metrics?.host,
        },
        opts,
    );

    return {
        ...common,
        architecture: c.architecture,
        uiServiceName: airflow.apiServiceName,
        uiUrl: airflow.uiUrl,
        dagsClaimName: storage.dagsClaimName,
        logsClaimName: storage.logsClaimName,
        metadataSecretName: database.connectionSecretName,
        migrationJobName: airflow.migrationJobName,
    };
}
