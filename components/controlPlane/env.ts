// Configuration shared by every Airflow process of the control plane and its worker pods: where the
// API is reached, the env every container gets, and the factory that builds their pods.
import * as pulumi from "@pulumi/pulumi";
import { AIRFLOW_ENV, AUTH_MANAGERS, STATSD_PREFIX } from "../airflowSettings";
import { AirflowPodFactory, LOGS_MOUNT, POD_TEMPLATE_FILE } from "../airflowPod";
import { uiBaseUrl } from "../config";
import { STATSD_PORT } from "../metrics";
import { COMPONENT } from "../names";
import { ControlPlane, pyBool } from "./args";

export interface ApiUrls {
    /** Name of the API server (UI) Service. */
    serviceName: string;
    /** The path Airflow serves everything under ("" at the root). */
    prefix: string;
    /** The API server in the cluster, under the prefix. */
    inCluster: pulumi.Output<string>;
    /** Airflow's base URL (`[api] base_url`), when the UI has a URL of its own. */
    baseUrl?: string;
    /** Where people open the UI. */
    ui: pulumi.Output<string>;
}

/**
 * Behind an Ingress under a path (or with ui.baseUrl), Airflow serves the UI, the REST API and the
 * execution API under [api] base_url's path: the in-cluster URLs and the probes move with it.
 */
export function apiUrls(cp: ControlPlane): ApiUrls {
    const ui = cp.args.config.ui;
    const serviceName = `${cp.name}-${COMPONENT.apiServer}`;
    const base = uiBaseUrl(ui);
    const prefix = base?.path ?? "";
    const inCluster = pulumi.interpolate`http://${serviceName}.${cp.args.namespace}.svc:${ui.port}${prefix}`;
    return { serviceName, prefix, inCluster, baseUrl: base?.url, ui: base ? pulumi.output(`${base.url}/`) : pulumi.interpolate`${inCluster}/` };
}

/** Env for every Airflow container, workers included (non-secret). */
function commonEnv(cp: ControlPlane, urls: ApiUrls): Record<string, pulumi.Input<string>> {
    const { config: c, statsdHost } = cp.args;
    const remote = c.logging.remoteBaseLogFolder;
    return {
        [AIRFLOW_ENV.executor]: "KubernetesExecutor",
        [AIRFLOW_ENV.dagsFolder]: cp.args.dagsFolder,
        [AIRFLOW_ENV.loadExamples]: "False",
        // Workers report task state here; a wrong URL fails every task.
        [AIRFLOW_ENV.executionApiServerUrl]: pulumi.interpolate`${urls.inCluster}/execution/`,
        [AIRFLOW_ENV.baseLogFolder]: LOGS_MOUNT,
        // Links Airflow builds (log URLs, callbacks, e-mails) point where people open the UI.
        ...(urls.baseUrl ? { [AIRFLOW_ENV.apiBaseUrl]: urls.baseUrl } : {}),
        ...(statsdHost !== undefined
            ? { [AIRFLOW_ENV.statsdOn]: "True", [AIRFLOW_ENV.statsdHost]: statsdHost, [AIRFLOW_ENV.statsdPort]: String(STATSD_PORT), [AIRFLOW_ENV.statsdPrefix]: STATSD_PREFIX }
            : {}),
        // The schema gives remoteConnId its scheme's connection whenever a folder is set.
        ...(remote !== undefined ? { [AIRFLOW_ENV.remoteLogging]: "True", [AIRFLOW_ENV.remoteBaseLogFolder]: remote, [AIRFLOW_ENV.remoteLogConnId]: c.logging.remoteConnId! } : {}),
        // the task_images Variable is in the database (taskImagesVariable.ts): a new task image rolls no pod
    };
}

/** Builds every Airflow pod of the control plane (and the worker pod template) from the same pieces. */
export function podFactory(cp: ControlPlane, urls: ApiUrls): AirflowPodFactory {
    const { config: c, storage, dagSync } = cp.args;
    return new AirflowPodFactory({
        image: cp.args.image,
        imagePullPolicy: c.images.pullPolicy,
        imagePullSecrets: c.images.pullSecrets,
        keysSecretName: cp.args.keysSecretName,
        metadataSecretName: cp.args.database.airflow.secretName,
        metadataSecretKey: cp.args.database.airflow.secretKey,
        dagsFolder: cp.args.dagsFolder,
        dagsClaimName: storage.dagsClaimName,
        dagsSubPath: storage.dagsSubPath,
        logsClaimName: storage.logsClaimName,
        logsSubPath: storage.logsSubPath,
        dagReaderSidecars: dagSync?.sidecars,
        dagReaderVolumes: dagSync?.volumes,
        dagReaderOnce: dagSync?.oneTime,
        dagBundles: cp.args.dagBundles,
        keyGeneration: c.keys.generation,
        commonEnv: commonEnv(cp, urls),
        // the stack-wide env knobs (extraEnv, secretEnv, envFromSecrets)
        sharedEnv: c,
        controlPlaneEnv: {
            [AIRFLOW_ENV.authManager]: AUTH_MANAGERS[c.ui.authManager],
            [AIRFLOW_ENV.executorNamespace]: cp.args.namespace,
            [AIRFLOW_ENV.podTemplateFile]: POD_TEMPLATE_FILE,
            [AIRFLOW_ENV.deleteWorkerPods]: pyBool(c.workers.deleteOnSuccess),
            [AIRFLOW_ENV.deleteWorkerPodsOnFailure]: pyBool(c.workers.deleteOnFailure),
        },
    });
}
