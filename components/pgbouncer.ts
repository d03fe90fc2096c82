// PgBouncer in front of the metadata database (internal Postgres or an external one): with the
// KubernetesExecutor every running task is a pod with connections of its own, and hundreds of them
// exhaust Postgres' max_connections. PgBouncer multiplexes them onto `defaultPoolSize` server
// connections.
//
// Credentials. Airflow logs in to PgBouncer as its own client user with a generated password (kept in
// this component's Secret, with the SQLAlchemy URI Airflow uses); PgBouncer logs in to the database as
// the user of the database's URI. That URI stays in the database's Secret: an init container reads it
// at start-up (secretKeyRef) and writes pgbouncer.ini and the auth file into a memory-backed emptyDir,
// so the server password is in no pod spec, ConfigMap or Pulumi state, and an external database's URI
// (which this program never sees) works the same way. Migrations and `airflow db clean` keep talking to
// the database directly (the Airflow component's directMetadataSecretName).
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import * as random from "@pulumi/random";
import type { StackConfig } from "./config";
import type { MetadataConnection } from "./controlPlane/args";
import { withEphemeralStorage } from "./ephemeralStorage";
import { AddOnArgs, awaitedWorkloadService, disruptionBudget, isolatedPodSpec, labels, restrictedContainer, secretEnv, selectorLabels } from "./podParts";

export const PGBOUNCER_PORT = 6432;
/** The `postgres` user of the Alpine-based PgBouncer images. */
export const PGBOUNCER_UID = 70;
/** The user Airflow logs in to PgBouncer as (distinct from the database's own user). */
export const PGBOUNCER_CLIENT_USER = "airflow_pool";
/** The database name Airflow asks PgBouncer for. */
export const PGBOUNCER_DATABASE = "airflow";
const CONFIG_DIR = "/etc/pgbouncer";

export interface PgBouncerArgs extends AddOnArgs {
    /** The database.pgbouncer section: the image (with `pgbouncer` and a POSIX shell on PATH), replicas, pool settings, resources. */
    pgbouncer: StackConfig["database"]["pgbouncer"];
    /** The database behind PgBouncer: Secret and key holding its SQLAlchemy URI (postgresql+psycopg2://user:password@host:port/db?sslmode=...). */
    server: MetadataConnection;
}

/**
 * POSIX shell that turns the server URI ($SERVER_URI) and the client password ($CLIENT_PASSWORD) into
 * pgbouncer.ini and userlist.txt: user and password percent-decoded, port 5432 unless given, the URI's
 * sslmode (e.g. require for a cloud database) as server_tls_sslmode.
 */
export function pgbouncerConfigScript(a: { poolMode: string; maxClientConnections: number; defaultPoolSize: number }): string {
    return [
        "set -eu",
        // %XX -> byte, one character at a time (no \\x in POSIX printf: through octal)
        "decode() { s=$1; out=''; while [ -n \"$s\" ]; do case $s in",
        "  %[0-9A-Fa-f][0-9A-Fa-f]*) h=${s#%}; h=${h%\"${h#??}\"}; out=\"$out$(printf \"\\\\$(printf '%03o' \"0x$h\")\")\"; s=${s#%??} ;;",
        "  *) out=\"$out${s%\"${s#?}\"}\"; s=${s#?} ;;",
        "esac; done; printf '%s' \"$out\"; }",
        // the auth file doubles a double quote inside a quoted value
        "quote() { printf '\"%s\"' \"$(printf '%s' \"$1\" | sed 's/\"/\"\"/g')\"; }",
        'rest=${SERVER_URI#*://}',
        'creds=${rest%%@*}; rest=${rest#*@}',
        'user=$(decode "${creds%%:*}"); password=$(decode "${creds#*:}")',
        'hostport=${rest%%/*}; path=${rest#*/}; db=${path%%\\?*}',
        'query=""; case $path in *\\?*) query=${path#*\\?} ;; esac',
        'host=${hostport%:*}; port=${hostport##*:}; [ "$host" != "$hostport" ] || port=5432',
        'sslmode=$(printf \'%s\' "$query" | tr \'&\' \'\\n\' | sed -n \'s/^sslmode=//p\' | head -n 1)',
        `umask 077`,
        `{ quote ${PGBOUNCER_CLIENT_USER}; printf ' '; quote "$CLIENT_PASSWORD"; echo; quote "$user"; printf ' '; quote "$password"; echo; } > ${CONFIG_DIR}/userlist.txt`,
        `cat > ${CONFIG_DIR}/pgbouncer.ini <<EOF`,
        "[databases]",
        `${PGBOUNCER_DATABASE} = host=$host port=$port dbname=$db user=$user`,
        "[pgbouncer]",
        "listen_addr = *",
        `listen_port = ${PGBOUNCER_PORT}`,
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        `auth_file = ${CONFIG_DIR}/userlist.txt`,
        `pool_mode = ${a.poolMode}`,
        `max_client_conn = ${a.maxClientConnections}`,
        `default_pool_size = ${a.defaultPoolSize}`,
        "ignore_startup_parameters = extra_float_digits,options",
        "EOF",
        `[ -z "$sslmode" ] || echo "server_tls_sslmode = $sslmode" >> ${CONFIG_DIR}/pgbouncer.ini`,
    ].join("\n");
}

/** A PgBouncer Deployment and Service, and the Secret with the URI Airflow connects through. */
export class PgBouncer extends pulumi.ComponentResource {
    /** Secret holding the SQLAlchemy URI of PgBouncer (for Airflow's connection). */
    readonly connectionSecretName: pulumi.Output<string>;
    /** Key of the URI in that Secret. */
    readonly connectionSecretKey = "connection";
    readonly serviceName: pulumi.Output<string>;

    constructor(name: string, args: PgBouncerArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("PgBouncer"), name, {}, withLegacyType("PgBouncer", opts));
        const component = "pgbouncer";
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: labels(args.instance, component) });
        const p = args.pgbouncer;
        const replicas = p.replicas;

        this.serviceName = pulumi.output(name);
        // Generated once and kept in state: updates never rotate it.
        const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
        const secret = new k8s.core.v1.Secret(
            `${name}-credentials`,
            {
                metadata: meta(`${name}-credentials`),
                type: "Opaque",
                stringData: {
                    password: password.result,
                    [this.connectionSecretKey]: pulumi.interpolate`postgresql+psycopg2://${PGBOUNCER_CLIENT_USER}:${password.result}@${name}.${args.namespace}.svc:${PGBOUNCER_PORT}/${PGBOUNCER_DATABASE}`,
                },
            },
            { parent: this, additionalSecretOutputs: ["stringData", "data"] },
        );
        this.connectionSecretName = secret.metadata.name;

        const config = { name: "config", mountPath: CONFIG_DIR };
        const tcp = { tcpSocket: { port: "pgbouncer" } };
        const container = (c: k8s.types.input.core.v1.Container & { name: string }) =>
            restrictedContainer({ image: p.image, imagePullPolicy: args.images.pullPolicy, ...c }, p.resources);
        const podSpec: k8s.types.input.core.v1.PodSpec = withEphemeralStorage({
            ...isolatedPodSpec(PGBOUNCER_UID, args.images.pullSecrets),
            initContainers: [
                container({
                    name: "config",
                    command: ["sh", "-c", pgbouncerConfigScript(p)],
                    env: [secretEnv("SERVER_URI", args.server.secretName, args.server.secretKey), secretEnv("CLIENT_PASSWORD", secret.metadata.name, "password")],
                    volumeMounts: [config],
                }),
            ],
            containers: [
                container({
                    name: "pgbouncer",
                    // Straight to the binary: the image's entrypoint would write its own config.
                    command: ["pgbouncer", `${CONFIG_DIR}/pgbouncer.ini`],
                    ports: [{ name: "pgbouncer", containerPort: PGBOUNCER_PORT }],
                    volumeMounts: [config],
                    readinessProbe: { ...tcp, periodSeconds: 10, failureThreshold: 3 },
                    livenessProbe: { ...tcp, periodSeconds: 20, failureThreshold: 5, initialDelaySeconds: 10 },
                }),
            ],
            // In memory: the file holds the database password.
            volumes: [{ name: "config", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }],
        });
        new k8s.apps.v1.Deployment(
            name,
            {
                metadata: meta(name),
                spec: {
                    replicas,
                    selector: { matchLabels: selectorLabels(args.instance, component) },
                    template: { metadata: { labels: labels(args.instance, component) }, spec: podSpec },
                },
            },
            { parent: this },
        );
        new k8s.core.v1.Service(
            name,
            {
                metadata: awaitedWorkloadService(meta(name)),
                spec: { selector: selectorLabels(args.instance, component), ports: [{ name: "pgbouncer", port: PGBOUNCER_PORT, targetPort: "pgbouncer" }] },
            },
            { parent: this },
        );
        if (replicas > 1) {
            disruptionBudget(name, args.namespace, args.instance, component, this);
        }
        this.registerOutputs({ connectionSecretName: this.connectionSecretName, serviceName: this.serviceName });
    }
}
