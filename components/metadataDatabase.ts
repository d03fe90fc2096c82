// Airflow's metadata database: a Postgres StatefulSet with its own PVC and generated password,
// or an existing Secret holding the connection URI of an external database.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { NO_POD_EXTENSIONS, PodExtensionSettings, ResourceSettings, SchedulingSettings } from "./config";
import { FIXED_SCRATCH_SIZES } from "./ephemeralStorage";
import {
    awaitedWorkloadService,
    emptyDir,
    execProbe,
    extendPodSpec,
    imagePullSecrets,
    labels,
    placement,
    podMetadata,
    podSecurityContext,
    POSTGRES_UID,
    READINESS_PROBE_PERIOD,
    restrictedContainer,
    secretEnv,
    selectorLabels,
    singlePodStatefulSetSpec,
} from "./podParts";

export const POSTGRES_PORT = 5432;
export const POSTGRES_USER = "airflow";
export const POSTGRES_DB = "airflow";

export interface MetadataDatabaseArgs {
    /** Namespace of every object. */
    namespace: pulumi.Input<string>;
    /** Instance label (`app.kubernetes.io/instance`). */
    instance: string;
    /**
     * `internal` runs Postgres here; `external` only references `externalSecretName`.
     * @default "internal"
     */
    mode: "internal" | "external";
    /** Postgres image. */
    image: pulumi.Input<string>;
    imagePullPolicy: string;
    /** Registry credentials (Secret names) for the Postgres pod. */
    imagePullSecrets?: string[];
    /** Size of the data volume. */
    storageSize: string;
    /** StorageClass of the data volume; the cluster default when omitted. */
    storageClassName?: string;
    resources: ResourceSettings;
    /** external mode: Secret holding a SQLAlchemy URI. */
    externalSecretName?: string;
    /** external mode: key of that Secret. @default "connection" */
    externalSecretKey?: string;
    /** Scheduling and extension points of the Postgres pod (extra volumes and containers, affinity, ...). */
    pod?: SchedulingSettings & PodExtensionSettings;
}

/** Postgres for Airflow's metadata, or a reference to an external database. */
export class MetadataDatabase extends pulumi.ComponentResource {
    /** Secret holding the SQLAlchemy connection URI. */
    readonly connectionSecretName: pulumi.Output<string>;
    /** Key of the URI in that Secret. */
    readonly connectionSecretKey: string;
    /** Host name of the database inside the cluster (internal mode). */
    readonly host?: pulumi.Output<string>;
    /** The Postgres StatefulSet (internal mode); workloads wait on it. */
    readonly statefulSet?: k8s.apps.v1.StatefulSet;

    constructor(name: string, args: MetadataDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:index:MetadataDatabase", name, {}, opts);
        const parent = { parent: this };

        if (args.mode === "external") {
            if (!args.externalSecretName) {
                throw new pulumi.ResourceError("externalSecretName is required when mode is external", this);
            }
            this.connectionSecretName = pulumi.output(args.externalSecretName);
            this.connectionSecretKey = args.externalSecretKey ?? "connection";
            this.registerOutputs({ connectionSecretName: this.connectionSecretName });
            return;
        }

        const component = "postgres";
        const pod = args.pod ?? NO_POD_EXTENSIONS;
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: labels(args.instance, component) });

        const serviceName = name;
        this.host = pulumi.interpolate`${serviceName}.${args.namespace}.svc`;
        const credentials = postgresCredentials(name, args.namespace, args.instance, this.host, this);
        this.connectionSecretName = credentials.secretName;
        this.connectionSecretKey = credentials.connectionKey;

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: awaitedWorkloadService(meta(serviceName)),
                spec: {
                    clusterIP: "None", // headless: stable DNS for the StatefulSet pod
                    selector: selectorLabels(args.instance, component),
                    ports: [{ name: "postgres", port: POSTGRES_PORT, targetPort: "postgres" }],
                },
            },
            parent,
        );

        this.statefulSet = new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata: meta(name),
                spec: singlePodStatefulSetSpec(
                    args.instance,
                    component,
                    service.metadata.name,
                    extendPodSpec(
                        {
                            automountServiceAccountToken: false,
                            securityContext: podSecurityContext(POSTGRES_UID, POSTGRES_UID),
                            ...imagePullSecrets(args.imagePullSecrets),
                            ...placement(pod),
                            containers: [postgresContainer(args.image, args.imagePullPolicy, credentials.secretName, args.resources)],
                            volumes: postgresScratchVolumes(),
                        },
                        pod,
                        "postgres",
                    ),
                    [postgresDataClaim(args.instance, args.storageSize, args.storageClassName)],
                    podMetadata(args.instance, component, pod),
                ),
            },
            parent,
        );

        this.registerOutputs({ connectionSecretName: this.connectionSecretName, host: this.host });
    }
}

/** A generated Postgres password and the Secret holding it plus the SQLAlchemy URI for `host`. */
export function postgresCredentials(
    name: string,
    namespace: pulumi.Input<string>,
    instance: string,
    host: pulumi.Input<string>,
    parent: pulumi.Resource,
): { secretName: pulumi.Output<string>; connectionKey: string } {
    // Generated once and kept in state: updates never rotate it.
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent });
    const connectionKey = "connection";
    const secret = new k8s.core.v1.Secret(
        `${name}-credentials`,
        {
            metadata: { name: `${name}-credentials`, namespace, labels: labels(instance, "postgres") },
            type: "Opaque",
            stringData: {
                password: password.result,
                [connectionKey]: pulumi.interpolate`postgresql+psycopg2://${POSTGRES_USER}:${password.result}@${host}:${POSTGRES_PORT}/${POSTGRES_DB}`,
            },
        },
        { parent, additionalSecretOutputs: ["stringData", "data"] },
    );
    return { secretName: secret.metadata.name, connectionKey };
}

/** The Postgres container: data under /var/lib/postgresql/data (the `data` claim), password from the Secret. */
export function postgresContainer(
    image: pulumi.Input<string>,
    imagePullPolicy: string,
    credentialsSecretName: pulumi.Input<string>,
    resources: ResourceSettings,
): k8s.types.input.core.v1.Container {
    const ready = execProbe(["pg_isready", "-U", POSTGRES_USER, "-d", POSTGRES_DB, "-h", "127.0.0.1"], READINESS_PROBE_PERIOD, 12, 5);
    return restrictedContainer(
        {
            name: "postgres",
            image,
            imagePullPolicy,
            ports: [{ name: "postgres", containerPort: POSTGRES_PORT }],
            env: [
                { name: "POSTGRES_USER", value: POSTGRES_USER },
                { name: "POSTGRES_DB", value: POSTGRES_DB },
                { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
                secretEnv("POSTGRES_PASSWORD", credentialsSecretName, "password"),
            ],
            volumeMounts: [
                { name: "data", mountPath: "/var/lib/postgresql/data" },
                { name: "postgres-run", mountPath: "/var/run/postgresql" },
                { name: "postgres-tmp", mountPath: "/tmp" },
            ],
            readinessProbe: ready,
            livenessProbe: { ...ready, periodSeconds: 20, initialDelaySeconds: 30 },
        },
        resources,
    );
}

/** Writable scratch paths Postgres needs beside its read-only root filesystem. */
export function postgresScratchVolumes(): k8s.types.input.core.v1.Volume[] {
    return [emptyDir("postgres-run", FIXED_SCRATCH_SIZES.postgresRun), emptyDir("postgres-tmp", FIXED_SCRATCH_SIZES.postgresTmp)];
}

/** A StatefulSet claim template (Postgres data by default): one ReadWriteOnce volume per pod. */
export function postgresDataClaim(instance: string, storage: string, storageClassName?: string, name = "data"): k8s.types.input.core.v1.PersistentVolumeClaim {
    return {
        metadata: { name, labels: labels(instance, "postgres") },
        spec: { accessModes: ["ReadWriteOnce"], storageClassName, resources: { requests: { storage } } },
    };
}
