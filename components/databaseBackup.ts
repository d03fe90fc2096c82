// Snapshots of the metadata database (database.backup, opt-in), in the Postgres image (pg_dump and
// pg_restore of the server's version), onto a claim of their own:
// - before every migration that changes the schema: the migration Job's Airflow init container asks
//   `airflow db check-migrations` whether the image's schema is the database's, and the snapshot
//   init container dumps the database only when it is not (a fresh database has nothing to keep);
// - on demand (`kubectl create job --from=cronjob/<name>-db-snapshot`), or on database.backup.schedule;
// - the newest `retain` snapshots are kept;
// - a restore CronJob that never runs by itself: `npm run db:restore` (scripts/dbRestore.ts) stops
//   the Airflow Deployments, runs it with the snapshot to restore, and starts them again.
// The standalone pod mounts the same claim in its Postgres container: snapshots are taken there
// (`npm run db:restore -- --snapshot-now`), and a restore runs in an init container before Postgres
// and Airflow start, when a restore request is on the claim.
import * as crypto from "crypto";
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import type { MetadataConnection, MigrationSnapshotParts } from "./controlPlane/args";
import { FIXED_SCRATCH_SIZES, withEphemeralStorage } from "./ephemeralStorage";
import { BACKUP_COMPONENT, componentType } from "./names";
import { AIRFLOW_GID, AIRFLOW_UID, emptyDir, imagePullSecrets, labels, podSecurityContext, restrictedContainer, secretEnv } from "./podParts";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** Where the snapshot claim and the scripts are mounted. */
export const BACKUPS_MOUNT = "/backups";
export const BACKUP_SCRIPTS_MOUNT = "/opt/db-backup";
/** The decision of the migration Job's schema check (`current` or `pending`), read by its snapshot step. */
const STATE_MOUNT = "/snapshot-state";
/** The file on the claim that asks the standalone pod to restore a snapshot at its next start. */
export const RESTORE_REQUEST_FILE = `${BACKUPS_MOUNT}/restore-request`;
/** A CronJob that only runs when a Job is made from it: suspended, with a schedule that would otherwise be yearly. */
const NEVER = "0 0 1 1 *";

/** Where the scripts find the claim and the schema check's decision (the mounts; other folders in unit tests). */
const DIRS = [
    `dir="\${BACKUPS_DIR:-${BACKUPS_MOUNT}}"`,
    // the snapshots, newest first (their names start with the time)
    'snapshots() { for f in "$dir"/airflow-*.dump; do [ -f "$f" ] && printf \'%s\\n\' "${f##*/}"; done | sort -r; }',
];
const STATE = `state="\${SNAPSHOT_STATE_DIR:-${STATE_MOUNT}}"`;

/**
 * How the scripts reach the database: DATABASE_URI (a SQLAlchemy URI from the database Secret, its
 * driver suffix dropped for libpq), or else the POSTGRES_* env of the standalone pod's Postgres container.
 */
const CONNECT = [
    'if [ -n "${DATABASE_URI:-}" ]; then',
    "  target=$(printf '%s' \"$DATABASE_URI\" | sed -E 's#^postgres(ql)?(\\+[a-z0-9]+)?://#postgresql://#')",
    "else",
    '  export PGHOST="${PGHOST:-127.0.0.1}" PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD" PGDATABASE="$POSTGRES_DB"',
    '  target="dbname=$POSTGRES_DB"',
    "fi",
    // a new pod's first packets can beat the NetworkPolicy engine's update for it (seen on the lab:
    // kube-router refused the snapshot pod's first connection): wait for the database to answer
    "i=0",
    'until pg_isready -q -d "$target"; do i=$((i + 1)); [ "$i" -le 60 ] || { echo "the database does not answer" >&2; exit 1; }; sleep 1; done',
];

/**
 * snapshot.sh <reason>: pg_dump (custom format) to a temporary name, renamed when complete, then the
 * oldest beyond BACKUP_RETAIN deleted. `pre-migration` dumps only when the schema check said the
 * migration changes the schema, and nothing while the database has no Airflow schema yet. Names sort
 * by time and say the key generation (the Fernet keys that read it) and the schema revision.
 */
export function snapshotScript(): string {
    return [
        "#!/bin/sh",
        "set -eu",
        'reason="${1:-manual}"',
        ...DIRS,
        STATE,
        ...CONNECT,
        'if [ "$reason" = pre-migration ] && [ "$(cat "$state/schema" 2>/dev/null || echo pending)" = current ]; then',
        '  echo "schema is current: the migration changes nothing, no snapshot"; exit 0',
        "fi",
        'has=$(psql "$target" -XtAq -v ON_ERROR_STOP=1 -c "select to_regclass(\'public.alembic_version\') is not null")',
        'if [ "$has" != t ]; then echo "no Airflow schema in the database yet: nothing to snapshot"; exit 0; fi',
        "revision=$(psql \"$target\" -XtAq -v ON_ERROR_STOP=1 -c \"select coalesce(string_agg(version_num, '+'), 'none') from alembic_version\")",
        `name="airflow-$(date -u +%Y%m%dT%H%M%SZ)-g\${KEY_GENERATION:-0}-$reason-$revision.dump"`,
        `pg_dump "$target" --format=custom --no-owner --no-privileges --file="$dir/.$name.partial"`,
        `mv "$dir/.$name.partial" "$dir/$name"`,
        `echo "snapshot $name: $(wc -c < "$dir/$name") bytes, schema revision $revision"`,
        "snapshots | tail -n +$((${BACKUP_RETAIN:-5} + 1)) | while read -r old; do",
        `  rm -f "$dir/$old"; echo "deleted $old (keeping the newest \${BACKUP_RETAIN:-5})"`,
        "done",
    ].join("\n");
}

/**
 * restore.sh: lists the snapshots, then restores SNAPSHOT (`latest`, a file name, or `none` to only
 * list) with pg_restore --clean --if-exists in one transaction: every object of the snapshot is
 * replaced, and a failure leaves the database as it was.
 */
export function restoreScript(): string {
    return [
        "#!/bin/sh",
        "set -eu",
        ...DIRS,
        ...CONNECT,
        'echo "snapshots:"',
        "snapshots | sed 's/^/  /'",
        'choice="${SNAPSHOT:-latest}"',
        '[ "$choice" = none ] && exit 0',
        'if [ "$choice" = latest ]; then',
        "  choice=$(snapshots | head -n 1)",
        '  [ -n "$choice" ] || { echo "no snapshot to restore" >&2; exit 1; }',
        "fi",
        'case "$choice" in */*|.*) echo "SNAPSHOT must be a file name from the list above" >&2; exit 1;; esac',
        `[ -f "$dir/$choice" ] || { echo "no snapshot $choice" >&2; exit 1; }`,
        'echo "restoring $choice"',
        `pg_restore --dbname="$target" --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error "$dir/$choice"`,
        "revision=$(psql \"$target\" -XtAq -v ON_ERROR_STOP=1 -c \"select coalesce(string_agg(version_num, '+'), 'none') from alembic_version\")",
        'echo "restored $choice: schema revision $revision"',
    ].join("\n");
}

/**
 * The standalone pod's restore at start: when the claim holds a restore request, Postgres is started
 * on its socket only (initialised first by the image's entrypoint if the data is gone), the snapshot
 * restored, Postgres stopped, and the request removed; Airflow starts after, on the restored data.
 */
export function restoreOnStartScript(): string {
    return [
        "#!/bin/sh",
        "set -eu",
        `[ -f ${RESTORE_REQUEST_FILE} ] || { echo "no restore requested"; exit 0; }`,
        `snapshot=$(cat ${RESTORE_REQUEST_FILE})`,
        // the entrypoint execs the server at the end: the final postmaster is this process
        "docker-entrypoint.sh postgres -c listen_addresses= &",
        "pid=$!",
        "i=0",
        'until [ "$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null)" = "$pid" ] && pg_isready -q -h /var/run/postgresql; do',
        '  i=$((i + 1)); [ "$i" -le 300 ] || { echo "Postgres did not start" >&2; exit 1; }; sleep 1',
        "done",
        `PGHOST=/var/run/postgresql SNAPSHOT="$snapshot" sh ${BACKUP_SCRIPTS_MOUNT}/restore.sh`,
        'kill -INT "$pid"; wait "$pid" || true',
        `rm -f ${RESTORE_REQUEST_FILE}`,
    ].join("\n");
}

/** The schema check of the migration Job (Airflow image): does this image's schema differ from the database's? */
export function schemaCheckScript(): string[] {
    return [
        "set -uo pipefail",
        // exits non-zero when the database's heads are not the image's (or there is no schema yet)
        `if airflow db check-migrations --migration-wait-timeout 1 >/dev/null 2>&1; then echo current; else echo pending; fi > ${STATE_MOUNT}/schema`,
        `echo "schema check: $(cat ${STATE_MOUNT}/schema)"`,
    ];
}

export interface DatabaseBackupArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    backup: StackConfig["database"]["backup"];
    /** The claim's StorageClass when backup.storageClassName is not set (the database's). */
    defaultStorageClassName?: string;
    images: Pick<StackConfig["images"], "postgres" | "pullPolicy" | "pullSecrets">;
    /** keys.generation: recorded in each snapshot's name (the Fernet keys that read its secrets). */
    keyGeneration: number;
    /** Production: the database to dump (directly, never through PgBouncer); the CronJobs are made. Standalone: omitted. */
    database?: MetadataConnection;
    /** What must be up before the CronJobs (the database). */
    databaseReady?: pulumi.Resource[];
}

/** The snapshot claim, the scripts, and (production) the snapshot and restore CronJobs. */
export class DatabaseBackup extends pulumi.ComponentResource {
    readonly claimName: pulumi.Output<string>;
    readonly snapshotCronJobName?: pulumi.Output<string>;
    readonly restoreCronJobName?: pulumi.Output<string>;
    private readonly scripts: k8s.core.v1.ConfigMap;
    /** Hash of the scripts (the ConfigMap's name ends with it). */
    readonly scriptsHash: string;
    private readonly claim?: k8s.core.v1.PersistentVolumeClaim;

    constructor(
        name: string,
        private readonly args: DatabaseBackupArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super(componentType("DatabaseBackup"), name, {}, opts);
        const parent = { parent: this };
        const b = args.backup;
        const meta = (objectName: string, component: string) => ({ name: objectName, namespace: args.namespace, labels: labels(args.instance, component) });
        if (b.claimName === undefined) {
            this.claim = new k8s.core.v1.PersistentVolumeClaim(
                `${name}-claim`,
                {
                    metadata: meta(name, BACKUP_COMPONENT.snapshot),
                    spec: {
                        accessModes: ["ReadWriteOnce"],
                        storageClassName: b.storageClassName ?? args.defaultStorageClassName,
                        resources: { requests: { storage: b.storageSize } },
                    },
                },
                // Pulumi never deletes the snapshots (turning backups off, a destroy); a deleted namespace does
                { ...parent, retainOnDelete: true },
            );
            this.claimName = this.claim.metadata.name;
        } else {
            this.claimName = pulumi.output(b.claimName);
        }
        const data = { "snapshot.sh": snapshotScript(), "restore.sh": restoreScript(), "restore-on-start.sh": restoreOnStartScript() };
        // Named by its content: the provider replaces a changed ConfigMap, and under the same name it
        // would delete it first, with the Jobs that mount it. A new name is created first instead.
        this.scriptsHash = crypto.createHash("sha256").update(JSON.stringify(data)).digest("hex").slice(0, 8);
        this.scripts = new k8s.core.v1.ConfigMap(`${name}-scripts`, { metadata: meta(`${name}-scripts-${this.scriptsHash}`, BACKUP_COMPONENT.snapshot), data }, parent);
        if (args.database) {
            const database = args.database;
            const dependsOn = [this.scripts, ...(this.claim ? [this.claim] : []), ...(args.databaseReady ?? [])];
            const scheduled = b.schedule !== undefined;
            const snapshot = this.cronJob(`${args.instance}-db-snapshot`, BACKUP_COMPONENT.snapshot, b.schedule ?? NEVER, !scheduled, database, [
                "sh",
                `${BACKUP_SCRIPTS_MOUNT}/snapshot.sh`,
                scheduled ? "scheduled" : "manual",
            ]);
            const restore = this.cronJob(
                `${args.instance}-db-restore`,
                BACKUP_COMPONENT.restore,
                NEVER,
                true,
                database,
                ["sh", `${BACKUP_SCRIPTS_MOUNT}/restore.sh`],
                [{ name: "SNAPSHOT", value: "latest" }],
            );
            this.snapshotCronJobName = new k8s.batch.v1.CronJob(snapshot.name, snapshot.args, { ...parent, dependsOn }).metadata.name;
            this.restoreCronJobName = new k8s.batch.v1.CronJob(restore.name, restore.args, { ...parent, dependsOn }).metadata.name;
        }
        this.registerOutputs({ claimName: this.claimName });
    }

    /** The claim and the scripts, as pod volumes. */
    volumes(): Volume[] {
        return [
            { name: "db-backups", persistentVolumeClaim: { claimName: this.claimName } },
            { name: "db-backup-scripts", configMap: { name: this.scripts.metadata.name, defaultMode: 0o555 } },
        ];
    }

    mounts(): VolumeMount[] {
        return [
            { name: "db-backups", mountPath: BACKUPS_MOUNT },
            { name: "db-backup-scripts", mountPath: BACKUP_SCRIPTS_MOUNT, readOnly: true },
        ];
    }

    /** Env of a container that runs the scripts (the connection comes separately). */
    env(): k8s.types.input.core.v1.EnvVar[] {
        return [
            { name: "BACKUP_RETAIN", value: String(this.args.backup.retain) },
            { name: "KEY_GENERATION", value: String(this.args.keyGeneration) },
        ];
    }

    /** A container of the Postgres image running `command` with the scripts and the claim. */
    container(name: string, command: string[], database: MetadataConnection | undefined, extraEnv: k8s.types.input.core.v1.EnvVar[] = []): Container {
        const a = this.args;
        return restrictedContainer(
            {
                name,
                image: a.images.postgres,
                imagePullPolicy: a.images.pullPolicy,
                command,
                env: [...this.env(), ...(database ? [secretEnv("DATABASE_URI", database.secretName, database.secretKey)] : []), ...extraEnv],
                volumeMounts: [...this.mounts(), { name: "db-backup-tmp", mountPath: "/tmp" }],
            },
            a.backup.resources,
        );
    }

    /** The migration Job's pre-migration snapshot: the Airflow schema check, then the dump. */
    migrationParts(database: MetadataConnection): MigrationSnapshotParts {
        const state = { name: "snapshot-state", mountPath: STATE_MOUNT };
        return {
            initContainers: (schemaCheck) => [
                schemaCheck,
                {
                    ...this.container("snapshot", ["sh", `${BACKUP_SCRIPTS_MOUNT}/snapshot.sh`, "pre-migration"], database),
                    volumeMounts: [...this.mounts(), { name: "db-backup-tmp", mountPath: "/tmp" }, state],
                },
            ],
            volumes: [...this.volumes(), emptyDir("db-backup-tmp", FIXED_SCRATCH_SIZES.retention), emptyDir("snapshot-state", "1Mi")],
            stateMount: state,
            schemaCheckScript: schemaCheckScript(),
            scriptsHash: this.scriptsHash,
            ready: [this.scripts, ...(this.claim ? [this.claim] : [])],
        };
    }

    private cronJob(
        objectName: string,
        component: string,
        schedule: string,
        suspend: boolean,
        database: MetadataConnection,
        command: string[],
        extraEnv: k8s.types.input.core.v1.EnvVar[] = [],
    ): { name: string; args: k8s.batch.v1.CronJobArgs } {
        const a = this.args;
        const l = labels(a.instance, component);
        const spec: k8s.types.input.core.v1.PodSpec = {
            automountServiceAccountToken: false,
            restartPolicy: "Never",
            // the Airflow uid and group 0, as the claim's other writers: the claim is group 0's (fsGroup)
            securityContext: podSecurityContext(AIRFLOW_UID, AIRFLOW_GID),
            ...imagePullSecrets(a.images.pullSecrets),
            containers: [this.container(component, command, database, extraEnv)],
            volumes: [...this.volumes(), emptyDir("db-backup-tmp", FIXED_SCRATCH_SIZES.retention)],
        };
        return {
            name: objectName,
            args: {
                metadata: { name: objectName, namespace: a.namespace, labels: l },
                spec: {
                    schedule,
                    suspend,
                    concurrencyPolicy: "Forbid",
                    startingDeadlineSeconds: 600,
                    successfulJobsHistoryLimit: 1,
                    failedJobsHistoryLimit: 3,
                    jobTemplate: {
                        metadata: { labels: l },
                        spec: {
                            // a failed restore is looked at, not retried
                            backoffLimit: component === BACKUP_COMPONENT.restore ? 0 : 2,
                            activeDeadlineSeconds: 3 * 3600,
                            ttlSecondsAfterFinished: 24 * 3600,
                            template: { metadata: { labels: l }, spec: withEphemeralStorage(spec) },
                        },
                    },
                },
            },
        };
    }
}
