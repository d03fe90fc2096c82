// Migrations: a Job whose name changes with what decides the schema (the Airflow version and the base
// image, not the DAGs), so an upgrade runs it again and a DAG-only change leaves it alone. It also
// creates FAB's admin user, and reads FAB's webserver_config.py as the API server does.
import * as crypto from "crypto";
import * as k8s from "../kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AIRFLOW_ENV } from "../airflowSettings";
import { adminEnv, migrationScript } from "../airflowAdmin";
import type { AirflowPodFactory } from "../airflowPod";
import type { StackConfig } from "../config";
import { withEphemeralStorage } from "../ephemeralStorage";
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

/** The migration Job: it starts once the database is up; the rest of the component does not wait for it. */
export function migrationJob(cp: ControlPlane, factory: AirflowPodFactory, account: k8s.core.v1.ServiceAccount, webserverConfig: WebserverConfigParts): k8s.batch.v1.Job {
    const { config: c, database } = cp.args;
    const fab = c.ui.authManager === "fab";
    const suffix = pulumi.output(cp.args.schemaImage).apply((image) => crypto.createHash("sha256").update(`${c.airflowVersion}\n${image}`).digest("hex").slice(0, 10));
    const spec = databasePodSpec(cp, factory, account, ["set -euo pipefail", ...migrationScript(fab)], {
        leadingEnv: fab ? adminEnv(cp.args.keysSecretName, c.ui.adminUsername) : [],
        extraEnv: webserverConfig.env,
        extraVolumes: webserverConfig.volumes,
        extraMounts: webserverConfig.mounts,
    });
    return databaseJob(cp, `${cp.name}-${COMPONENT.migrate}`, suffix, spec, 1800, database.ready);
}

/**
 * The pod of a one-shot database Job: the schema image (Airflow and its providers, never the DAG
 * files), the database itself (never through PgBouncer), its output in its pod log (no shared volume).
 */
export function databasePodSpec(
    cp: ControlPlane,
    factory: AirflowPodFactory,
    account: k8s.core.v1.ServiceAccount,
    shellScript: string[],
    more: { leadingEnv?: EnvVar[]; extraEnv?: EnvVar[]; extraVolumes?: k8s.types.input.core.v1.Volume[]; extraMounts?: k8s.types.input.core.v1.VolumeMount[] } = {},
): k8s.types.input.core.v1.PodSpec {
    const { config: c, database } = cp.args;
    const directDatabase = database.direct ? [secretEnv(AIRFLOW_ENV.sqlAlchemyConn, database.direct.secretName, database.direct.secretKey)] : [];
    return factory.podSpec({
        component: COMPONENT.migrate,
        image: cp.args.schemaImage,
        shellScript,
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
 * A one-shot Job of the migrations' kind (their labels, so their database access and policies), named
 * `<name>-<suffix>`: a new suffix means a new Job (Job templates are immutable), the old one deleted after.
 */
export function databaseJob(
    cp: ControlPlane,
    name: string,
    suffix: pulumi.Input<string>,
    spec: k8s.types.input.core.v1.PodSpec,
    activeDeadlineSeconds: number,
    dependsOn: pulumi.Resource[],
): k8s.batch.v1.Job {
    return new k8s.batch.v1.Job(
        name,
        {
            metadata: { ...meta(cp, name, COMPONENT.migrate), name: pulumi.interpolate`${name}-${suffix}` },
            spec: {
                backoffLimit: 4,
                activeDeadlineSeconds,
                template: { metadata: { labels: labels(cp.args.instance, COMPONENT.migrate) }, spec: withEphemeralStorage(spec) },
            },
        },
        { parent: cp.parent, dependsOn },
    );
}
