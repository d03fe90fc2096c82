// Identities: one ServiceAccount per component, so each can carry its own cloud identity
// (serviceAccountAnnotations); only the scheduler, the worker pod clean-up and workers that launch
// pods talk to the Kubernetes API, each through a namespaced Role.
import * as k8s from "../kubernetes";
import { COMPONENT } from "../names";
import { ControlPlane, meta } from "./args";

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

export interface Identities {
    scheduler: k8s.core.v1.ServiceAccount;
    worker: k8s.core.v1.ServiceAccount;
    apiServer: k8s.core.v1.ServiceAccount;
    dagProcessor: k8s.core.v1.ServiceAccount;
    triggerer: k8s.core.v1.ServiceAccount;
    /** The migration Job's, and the maintenance CronJobs': no token, no cloud identity. */
    migrate: k8s.core.v1.ServiceAccount;
    /** The worker pod clean-up's (when it is enabled): list and delete pods, nothing else. */
    workerCleanup?: k8s.core.v1.ServiceAccount;
    /** The scheduler's right to launch worker pods: the scheduler waits for it. */
    executorBinding: k8s.rbac.v1.RoleBinding;
}

/** The KubernetesExecutor: the scheduler launches, watches and deletes worker pods. */
const EXECUTOR_RULES: PolicyRule[] = [
    { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
    { apiGroups: [""], resources: ["events"], verbs: ["list"] },
];
/**
 * Tasks that launch pods themselves (KubernetesPodOperator in its synchronous mode, @task.kubernetes),
 * as the cncf-kubernetes provider documents: exec reads XCom from the sidecar, events explain failures.
 */
const TASK_POD_LAUNCHER_RULES: PolicyRule[] = [
    { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
    { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
    { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
];
const WORKER_CLEANUP_RULES: PolicyRule[] = [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "delete"] }];

function account(cp: ControlPlane, component: string, annotations: Record<string, string> = {}): k8s.core.v1.ServiceAccount {
    const name = `${cp.name}-${component}`;
    return new k8s.core.v1.ServiceAccount(
        name,
        { metadata: { ...meta(cp, name, component), ...(Object.keys(annotations).length ? { annotations } : {}) }, automountServiceAccountToken: false },
        { parent: cp.parent },
    );
}

/** A namespaced Role and its binding for a ServiceAccount. */
function grant(cp: ControlPlane, roleName: string, component: string, rules: PolicyRule[], subject: k8s.core.v1.ServiceAccount): k8s.rbac.v1.RoleBinding {
    const role = new k8s.rbac.v1.Role(roleName, { metadata: meta(cp, roleName, component), rules }, { parent: cp.parent });
    return new k8s.rbac.v1.RoleBinding(
        roleName,
        {
            metadata: meta(cp, roleName, component),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: subject.metadata.name, namespace: cp.args.namespace }],
        },
        { parent: cp.parent },
    );
}

export function identities(cp: ControlPlane): Identities {
    const c = cp.args.config;
    const scheduler = account(cp, COMPONENT.scheduler, c.scheduler.serviceAccountAnnotations);
    const worker = account(cp, COMPONENT.worker, c.workers.serviceAccountAnnotations);
    const ids = {
        scheduler,
        worker,
        apiServer: account(cp, COMPONENT.apiServer, c.apiServer.serviceAccountAnnotations),
        dagProcessor: account(cp, COMPONENT.dagProcessor, c.dagProcessor.serviceAccountAnnotations),
        triggerer: account(cp, COMPONENT.triggerer, c.triggerer.serviceAccountAnnotations),
        migrate: account(cp, COMPONENT.migrate),
        executorBinding: grant(cp, `${cp.name}-pod-launcher`, COMPONENT.scheduler, EXECUTOR_RULES, scheduler),
    };
    if (c.workers.podLauncher) {
        grant(cp, `${cp.name}-task-pod-launcher`, COMPONENT.worker, TASK_POD_LAUNCHER_RULES, worker);
    }
    if (!c.retention.workerPods.enabled) return ids;
    const workerCleanup = account(cp, COMPONENT.workerCleanup);
    grant(cp, `${cp.name}-${COMPONENT.workerCleanup}`, COMPONENT.workerCleanup, WORKER_CLEANUP_RULES, workerCleanup);
    return { ...ids, workerCleanup };
}
