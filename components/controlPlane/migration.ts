// Migrations: a Job whose name changes with what decides the schema (the Airflow version and the base
// image, not the DAGs), so an upgrade runs it again and a DAG-only change leaves it alone; then, with
// FAB, a second such Job creates the admin user beside the workloads' rollout. Both read FAB's
// webserver_config.py as the API server does.
import * as crypto from "crypto";
import * as k8s from "../kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AIRFLOW_ENV } from "../airflowSettings";
import { adminEnv, adminScript, migrationScript } from "../airflowAdmin";
import type { AirflowPodFactory } from "../airflowPod";
import type { StackConfig } from "../config";
import { mapPodContainers, withEphemeralStorage } from "../ephemeralStorage";
import { COMPONENT } from "../names";
import { labels, secretEnv } from "../podParts";
import { ControlPlane, meta } from "./args";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** Where the API server and the migration Job read FAB's webserver_config.py (ui.webserverConfig). */
export const FAB_CONFIG_DIR = "/etc/airflow/fab";

/** What a pod needs to read FAB's webserver_config.py. */
export interface WebserverConfigParts {
    volumes: k8s.types.input.core.v1.Volume[];
    mounts: k8s.types.input.core.v1.VolumeMount[];
    env: EnvVar[];
}

/** FAB's webserver_config.py from the user's Secret or ConfigMap, read-only, where [fab] config_file points. */
export function webserverConfigParts(ui: StackConfig["ui"]): WebserverConfigParts {
    const wc = ui.webserverConfig;
    if (!wc) return { volumes: [], mounts: [], env: [] };
    const items = [{ key: wc.key, path: "webserver_config.py" }];
    // The schema requires exactly one of the two.
    const source =
        wc.secretName !== undefined ? { secret: { secretName: wc.secretName, defaultMode: 0o440, items } } : { configMap: { name: wc.configMapName!, defaultMode: 0o440, items } };
    return {
        volumes: [{ name: "webserver-config", ...source }],
        mounts: [{ name: "webserver-config", mountPath: FAB_CONFIG_DIR, readOnly: true }],
        env: [{ name: AIRFLOW_ENV.fabConfigFile, value: `${FAB_CONFIG_DIR}/webserver_config.py` }],
    };
}

/** What one of the schema Jobs runs: its name's part, its script, the env only it reads, what it waits for. */
interface SchemaJobParts {
    part: string;
    /** The pre-migration snapshot (database.backup) runs before it: the migration Job only. */
    snapshot?: boolean;
    script: string[];
    env: EnvVar[];
    dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/**
 * A Job that talks to the schema (migrations, FAB's admin): the base image, the scheduler's resources,
 * the direct database connection, named after what decides the schema (the Airflow version and the
 * base image, not the DAGs), so an upgrade runs it again and a DAG-only change leaves it alone.
 */
function schemaJob(
    cp: ControlPlane,
    factory: AirflowPodFactory,
    account: k8s.core.v1.ServiceAccount,
    webserverConfig: WebserverConfigParts,
    job: SchemaJobParts,
): k8s.batch.v1.Job {
    const c = cp.args.config;
    const directDatabase = directDatabaseEnv(cp);
    const backup = cp.args.backup;
    // A snapshot step changes the pod template, which a Job cannot change: it comes with a new name.
    const suffix = pulumi.output(cp.args.schemaImage).apply((image) =>
        crypto
            .createHash("sha256")
            // the keys Secret is named by the generation, and the Job reads the admin password from it
            .update(`${c.airflowVersion}\n${image}${backup ? `\nsnapshot ${backup.scriptsHash}` : ""}${c.keys.generation > 0 ? `\nkeys ${c.keys.generation}` : ""}`)
            .digest("hex")
            .slice(0, 10),
    );
    const spec = databasePodSpec(
        cp,
        factory,
        account,
        { shellScript: ["set -euo pipefail", ...job.script] },
        {
            leadingEnv: job.env,
            extraEnv: webserverConfig.env,
            extraVolumes: webserverConfig.volumes,
            extraMounts: webserverConfig.mounts,
        },
    );
    if (backup && job.snapshot) {
        // Before `airflow db migrate`: the image's own check of the schema, then the dump when it changes.
        const check = factory.container({
            component: "schema-check",
            image: cp.args.schemaImage,
            shellScript: backup.schemaCheckScript,
            role: "control-plane",
            readsDags: false,
            logsOnEmptyDir: true,
            resources: c.scheduler.resources,
            settings: c.scheduler,
            extraEnv: directDatabase,
            extraMounts: [backup.stateMount],
        });
        spec.initContainers = [...((spec.initContainers as k8s.types.input.core.v1.Container[] | undefined) ?? []), ...backup.initContainers(check)];
        spec.volumes = [...((spec.volumes as k8s.types.input.core.v1.Volume[] | undefined) ?? []), ...backup.volumes];
    }
    return databaseJob(cp, `${cp.name}-${job.part}`, suffix, spec, 1800, job.dependsOn);
}

/** Migrations and `db clean` talk to the database itself, never through PgBouncer. */
function directDatabaseEnv(cp: ControlPlane): EnvVar[] {
    const { direct } = cp.args.database;
    return direct ? [secretEnv(AIRFLOW_ENV.sqlAlchemyConn, direct.secretName, direct.secretKey)] : [];
}

/**
 * The pod of a one-shot database Job: the schema image (Airflow and its providers, never the DAG
 * files), the database itself (never through PgBouncer), its output in its pod log (no shared volume).
 */
export function databasePodSpec(
    cp: ControlPlane,
    factory: AirflowPodFactory,
    account: k8s.core.v1.ServiceAccount,
    command: { shellScript: string[] } | { args: string[] },
    more: {
        component?: string;
        leadingEnv?: EnvVar[];
        extraEnv?: EnvVar[];
        extraVolumes?: k8s.types.input.core.v1.Volume[];
        extraMounts?: k8s.types.input.core.v1.VolumeMount[];
    } = {},
): k8s.types.input.core.v1.PodSpec {
    const c = cp.args.config;
    const directDatabase = directDatabaseEnv(cp);
    return factory.podSpec({
        component: more.component ?? COMPONENT.migrate,
        image: cp.args.schemaImage,
        ...command,
        role: "control-plane",
        readsDags: false,
        logsOnEmptyDir: true,
        resources: c.scheduler.resources,
        settings: c.scheduler,
        serviceAccountName: account.metadata.name,
        restartPolicy: "Never",
        extraEnv: [...(more.leadingEnv ?? []), ...directDatabase, ...(more.extraEnv ?? [])],
        extraVolumes: more.extraVolumes,
        extraMounts: more.extraMounts,
    });
}

/**
 * A failed container's last log lines become its termination message (the kubelet keeps up to 80
 * lines, 2 KiB), which the Kubernetes provider puts in the failed update's error: the user reads why
 * a migration failed (a refused connection, a schema error) in the `pulumi up` output itself.
 */
export function withLogsAsTerminationMessage(spec: k8s.types.input.core.v1.PodSpec): k8s.types.input.core.v1.PodSpec {
    return mapPodContainers(spec, (c) => ({ ...c, terminationMessagePolicy: "FallbackToLogsOnError" }));
}

/**
 * A one-shot Job of the migrations' kind (their labels, so their database access and policies), named
 * `<name>-<suffix>`: a new suffix means a new Job (Job templates are immutable), the old one deleted after.
 */
export function databaseJob(
    cp: ControlPlane,
    name: string,
    suffix: pulumi.Input<string>,
    spec: k8s.types.input.core.v1.PodSpec,
    activeDeadlineSeconds: number,
    dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]>,
    component: string = COMPONENT.migrate,
): k8s.batch.v1.Job {
    return new k8s.batch.v1.Job(
        name,
        {
            metadata: { ...meta(cp, name, component), name: pulumi.interpolate`${name}-${suffix}` },
            spec: {
                backoffLimit: 4,
                activeDeadlineSeconds,
                template: { metadata: { labels: labels(cp.args.instance, component) }, spec: withEphemeralStorage(withLogsAsTerminationMessage(spec)) },
            },
        },
        { parent: cp.parent, dependsOn },
    );
}

/**
 * keys.generation above 0: `airflow rotate-fernet-key` once per generation, after every Deployment
 * has rolled out with the new key list (new key first, previous second). Before that, a pod with only
 * the previous key could still be serving, and could not read what was re-encrypted.
 */
export function fernetRotationJob(cp: ControlPlane, factory: AirflowPodFactory, account: k8s.core.v1.ServiceAccount, rolledOut: pulumi.Resource[]): k8s.batch.v1.Job | undefined {
    const generation = cp.args.config.keys.generation;
    if (generation === 0) return undefined;
    const spec = databasePodSpec(cp, factory, account, { args: ["rotate-fernet-key"] }, { component: COMPONENT.rotateKeys });
    return databaseJob(cp, `${cp.name}-${COMPONENT.rotateKeys}`, `g${generation}`, spec, 1800, rolledOut, COMPONENT.rotateKeys);
}

/** The migration Job: it starts once the database is up; the workloads wait for it, nothing else does. */
export function migrationJob(cp: ControlPlane, factory: AirflowPodFactory, account: k8s.core.v1.ServiceAccount, webserverConfig: WebserverConfigParts): k8s.batch.v1.Job {
    const ready = [...cp.args.database.ready, ...(cp.args.backup?.ready ?? [])];
    return schemaJob(cp, factory, account, webserverConfig, { part: COMPONENT.migrate, script: migrationScript(false), env: [], dependsOn: ready, snapshot: true });
}

/**
 * FAB's admin user, created by its own Job once the migrations are done, beside the workloads'
 * rollout instead of before it: no workload needs the user, and `airflow users create` is a second
 * interpreter start with FAB's app (4.3 s on this machine's host, against 1.8 s for `airflow
 * version`). The update still waits for it, so the admin exists when `pulumi up` ends.
 */
export function adminJob(
    cp: ControlPlane,
    factory: AirflowPodFactory,
    account: k8s.core.v1.ServiceAccount,
    webserverConfig: WebserverConfigParts,
    migration: k8s.batch.v1.Job,
): k8s.batch.v1.Job | undefined {
    const c = cp.args.config;
    if (c.ui.authManager !== "fab") return undefined;
    return schemaJob(cp, factory, account, webserverConfig, {
        part: "admin",
        script: adminScript(),
        env: adminEnv(cp.args.keysSecretName, c.ui.adminUsername),
        dependsOn: [migration],
    });
}
