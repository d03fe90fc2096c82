// Airflow's metadata database: a Postgres StatefulSet with its own PVC and generated password,
// or an existing Secret holding the connection URI of an external database.
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import * as random from "@pulumi/random";
import { ResourceSettings, StackConfig } from "./config";
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
    /** `internal` runs Postgres here (its size, resources, scheduling and extension points); `external` only references `externalSecretName`. */
    database: StackConfig["database"];
    /** The Postgres image, the pull policy and the registry credentials of the Postgres pod. */
    images: Pick<StackConfig["images"], "postgres" | "pullPolicy" | "pullSecrets">;
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
        super(componentType("MetadataDatabase"), name, {}, withLegacyType("MetadataDatabase", opts));
        const parent = { parent: this };

        const db = args.database;
        if (db.mode === "external") {
            // The schema requires externalSecretName in external mode.
            this.connectionSecretName = pulumi.output(db.externalSecretName!);
            this.connectionSecretKey = db.externalSecretKey;
            this.registerOutputs({ connectionSecretName: this.connectionSecretName });
            return;
        }

        const component = "postgres";
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
                            ...imagePullSecrets(args.images.pullSecrets),
                            ...placement(db),
                            containers: [postgresContainer(args.images.postgres, args.images.pullPolicy, credentials.secretName, db.resources)],
                            volumes: postgresScratchVolumes(),
                        },
                        db,
                        "postgres",
                    ),
                    [postgresDataClaim(args.instance, db.storageSize, db.storageClassName)],
                    podMetadata(args.instance, component, db),
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
