import * as assert from "assert";
import { AIRFLOW_ON_KUBERNETES_TYPE } from "../components/airflowOnKubernetes";
import { BUNDLE_AIRFLOW_ENV, DERIVED_AIRFLOW_ENV, ownedAirflowEnv } from "../components/airflowSettings";
import { DEFAULT_AIRFLOW_VERSION, parseStackConfig, StackConfigError, StackConfigInput } from "../components/config";
import { podSpecs, rawConfig, renderStack } from "./support/harness";
import { ProgramRun, registrations, runProgram, runProgramToEnd } from "./support/program";

/** A config as Pulumi's config map holds it: `airflow:<key>` -> raw string value. */
const airflowKeys = (config: Record<string, unknown>) => Object.fromEntries(Object.entries(rawConfig(config)).map(([k, v]) => [`airflow:${k}`, v]));

function problemsOf(raw: Record<string, unknown>): string[] {
    try {
        parseStackConfig(rawConfig(raw));
    } catch (e) {
        assert.ok(e instanceof StackConfigError, `expected StackConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail(`config was accepted: ${JSON.stringify(raw)}`);
}

describe("stack config", () => {
    it("fills every default from an empty stack", () => {
        const c = parseStackConfig({});
        assert.strictEqual(c.architecture, "production");
        assert.strictEqual(c.namespace, "airflow");
        assert.strictEqual(c.airflowVersion, DEFAULT_AIRFLOW_VERSION);
        assert.strictEqual(c.scheduler.replicas, 1);
        assert.deepStrictEqual(c.scheduler.resources, { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } });
        assert.strictEqual(c.apiServer.workers, 2);
        assert.strictEqual(c.database.mode, "internal");
        assert.strictEqual(c.storage.mode, "pvc");
        assert.strictEqual(c.ui.authManager, "fab");
        assert.strictEqual(c.networkPolicies, true);
    });

    it("merges a partial override with the defaults of the same object", () => {
        const c = parseStackConfig(rawConfig({ scheduler: { replicas: 2, resources: { limits: { memory: "4Gi" } } } }));
        assert.strictEqual(c.scheduler.replicas, 2);
        assert.deepStrictEqual(c.scheduler.resources.limits, { cpu: "2", memory: "4Gi" });
        assert.deepStrictEqual(c.scheduler.resources.requests, { cpu: "500m", memory: "1Gi" });
    });

    it("reads plain strings and JSON values the way Pulumi stores them", () => {
        const c = parseStackConfig({ namespace: "data-platform", createNamespace: "false", scheduler: '{"replicas":3}' });
        assert.strictEqual(c.namespace, "data-platform");
        assert.strictEqual(c.createNamespace, false);
        assert.strictEqual(c.scheduler.replicas, 3);
    });

    it("ignores secret keys, which are read with requireSecret", () => {
        assert.doesNotThrow(() =>
            parseStackConfig({ images: '{"tasks":{"pandas":{"context":"images/tasks/example"}}}', registry: '{"server":"registry.example.com/airflow","username":"ci"}', registryPassword: "hunter2" }),
        );
    });

    // Each bad config is rejected with a message naming the key, the value and what is allowed, and with
    // no problem besides those listed: a mistake reported twice, or a rule firing on a config it should
    // not, fails the case. Some configs make a second, legitimate problem; it is listed.
    /** The second problem of a gitSync setting written while gitSync is off. */
    const gitSyncOff = /^airflow:gitSync.schedule: has no effect while gitSync.enabled is not true: set gitSync.enabled: true, or remove the gitSync settings$/;
    /** The second problem of a registry setting in a stack that builds no image. */
    const pushOnly = (key: string) => new RegExp(`^airflow:${key.replace(/\./g, "\\.")}: is only used to push built images: set images.build.enabled or images.tasks, or remove the registry settings$`);
    rejectsExactly([
        { name: "unknown architecture", raw: { architecture: "prod" }, problems: [/^airflow:architecture: .*"production"\|"standalone".*\(got "prod"\)/] },
        { name: "namespace not a DNS label", raw: { namespace: "Data_Platform" }, problems: [/^airflow:namespace: must be a DNS label.*\(got "Data_Platform"\)/] },
        { name: "Airflow 2 version", raw: { airflowVersion: "2.10.5" }, problems: [/^airflow:airflowVersion: must be an Airflow 3 version.*\(got "2.10.5"\)/] },
        { name: "zero replicas", raw: { scheduler: { replicas: 0 } }, problems: [/^airflow:scheduler.replicas: .*>=1.*\(got 0\)/] },
        { name: "fractional replicas", raw: { apiServer: { replicas: 1.5 } }, problems: [/^airflow:apiServer.replicas: .*int.*\(got 1.5\)/] },
        { name: "bad quantity", raw: { triggerer: { resources: { limits: { memory: "lots" } } } }, problems: [/^airflow:triggerer.resources.limits.memory: must be a Kubernetes quantity.*\(got "lots"\)/] },
        { name: "typo in a top-level key", raw: { schedulr: { replicas: 2 } }, problems: [/^airflow: ?unknown key "schedulr"; allowed: .*scheduler/] },
        { name: "typo in a nested key", raw: { scheduler: { replica: 2 } }, problems: [/^airflow:scheduler: unknown key "replica"; allowed: replicas, resources/] },
        { name: "secret set as plain env", raw: { extraEnv: { AIRFLOW__CORE__FERNET_KEY: "abc" } }, problems: [/^airflow:extraEnv.AIRFLOW__CORE__FERNET_KEY: is set by this package/] },
        { name: "bad env var name", raw: { scheduler: { extraEnv: { "1BAD": "x" } } }, problems: [/^airflow:scheduler.extraEnv.1BAD: must be an environment variable name/] },
        { name: "external database without secret", raw: { database: { mode: "external" } }, problems: [/^airflow:database.externalSecretName: is required when mode is external/] },
        { name: "git-sync without repo", raw: { gitSync: { enabled: true } }, problems: [/^airflow:gitSync.repo: is required when gitSync is enabled/] },
        { name: "git-sync ssh without secret", raw: { gitSync: { enabled: true, repo: "git@example.com:dags.git", auth: "ssh" } }, problems: [/^airflow:gitSync.credentialsSecretName: is required/] },
        { name: "bad cron schedule", raw: { gitSync: { schedule: "every minute" } }, problems: [/^airflow:gitSync.schedule: must be a cron schedule.*\(got "every minute"\)/, gitSyncOff] },
        { name: "filestore without settings", raw: { storage: { mode: "filestore" } }, problems: [/^airflow:storage.filestore: is required when storage.mode is filestore/] },
        {
            name: "filestore below the tier minimum",
            raw: { storage: { mode: "filestore", filestore: { location: "europe-west1-b", tier: "BASIC_SSD", capacityGb: 1024 } } },
            problems: [/^airflow:storage.filestore.capacityGb: must be at least 2560 and at most 65433 for tier BASIC_SSD \(got 1024\)/],
        },
        { name: "existing storage without log claim", raw: { storage: { mode: "existing", dagsClaimName: "dags" } }, problems: [/^airflow:storage.logsClaimName: is required in existing mode unless logging.remoteBaseLogFolder/] },
        { name: "DAGs from image and git", raw: { dagsInImage: true, gitSync: { enabled: true, repo: "https://example.com/dags.git" } }, problems: [/^airflow:dagsInImage: cannot be combined with gitSync.enabled/] },
        { name: "build without registry", raw: { images: { build: { enabled: true } } }, problems: [/^airflow:registry.server: is required when images.build.enabled/] },
        { name: "service type", raw: { ui: { serviceType: "Ingress" } }, problems: [/^airflow:ui.serviceType: .*"ClusterIP"\|"NodePort"\|"LoadBalancer".*\(got "Ingress"\)/] },
        { name: "infrastructure stack not fully qualified", raw: { infrastructure: { stack: "infra" } }, problems: [/^airflow:infrastructure.stack: must be a fully qualified stack name/] },
        { name: "image reference", raw: { images: { airflow: "Not An Image" } }, problems: [/^airflow:images.airflow: must be an image reference/] },
        // Values Kubernetes, a registry or Google Cloud would refuse mid-update are refused here, by key.
        { name: "cron minute out of range", raw: { gitSync: { schedule: "61 * * * *" } }, problems: [/^airflow:gitSync.schedule: must be a cron schedule.*minute "61" is out of range 0-59 \(got "61 \* \* \* \*"\)/, gitSyncOff] },
        { name: "cron day of week out of range", raw: { gitSync: { schedule: "0 3 * * 7" } }, problems: [/^airflow:gitSync.schedule: .*day of week "7" is out of range 0-6/, gitSyncOff] },
        { name: "cron step of zero", raw: { gitSync: { schedule: "*/0 * * * *" } }, problems: [/^airflow:gitSync.schedule: .*step "0" must be a positive number/, gitSyncOff] },
        { name: "cron range backwards", raw: { gitSync: { schedule: "0 18-6 * * *" } }, problems: [/^airflow:gitSync.schedule: .*hour "18-6" starts after it ends/, gitSyncOff] },
        { name: "cron macro Kubernetes does not know", raw: { gitSync: { schedule: "@reboot" } }, problems: [/^airflow:gitSync.schedule: must be a cron schedule: a macro is one of @yearly.*@hourly/, gitSyncOff] },
        { name: "cron time zone in the schedule", raw: { gitSync: { schedule: "CRON_TZ=UTC 0 * * * *" } }, problems: [/^airflow:gitSync.schedule: must not contain TZ= or CRON_TZ=/, gitSyncOff] },
        { name: "IPv4 CIDR prefix too long", raw: { ui: { allowedCidrs: ["10.0.0.0/33"] } }, problems: [/^airflow:ui.allowedCidrs.0: must be a CIDR.*at most 32 \(got "10.0.0.0\/33"\)/] },
        { name: "IPv4 CIDR octet out of range", raw: { ui: { allowedCidrs: ["10.0.0.0/8", "300.1.1.0/24"] } }, problems: [/^airflow:ui.allowedCidrs.1: must be a CIDR .*\(got "300.1.1.0\/24"\)/] },
        { name: "IPv6 CIDR prefix too long", raw: { ui: { allowedCidrs: ["fd00::/129"] } }, problems: [/^airflow:ui.allowedCidrs.0: must be a CIDR.*at most 128/] },
        { name: "CIDR without a prefix", raw: { ui: { allowedCidrs: ["192.168.1.10"] } }, problems: [/^airflow:ui.allowedCidrs.0: must be a CIDR/] },
        { name: "zero-sized claim", raw: { storage: { dagsSize: "0Gi" } }, problems: [/^airflow:storage.dagsSize: must be greater than zero \(got "0Gi"\)/] },
        { name: "zero CPU limit", raw: { scheduler: { resources: { limits: { cpu: 0 } } } }, problems: [/^airflow:scheduler.resources.limits.cpu: must be greater than zero \(got "0"\)/, /^airflow:scheduler.resources.requests.cpu: must not exceed limits.cpu \(0\) \(got "500m"\)$/] },
        { name: "negative memory", raw: { database: { resources: { requests: { memory: "-1Gi" } } } }, problems: [/^airflow:database.resources.requests.memory: must be greater than zero/] },
        { name: "quantity with a lowercase binary suffix", raw: { standalone: { storageSize: "8gi" }, architecture: "standalone" }, problems: [/^airflow:standalone.storageSize: must be a Kubernetes quantity.*\(got "8gi"\)/] },
        { name: "request above its limit", raw: { workers: { resources: { requests: { memory: "2Gi" } } } }, problems: [/^airflow:workers.resources.requests.memory: must not exceed limits.memory \(1Gi\) \(got "2Gi"\)/] },
        {
            name: "filestore above the tier maximum",
            raw: { storage: { mode: "filestore", filestore: { location: "europe-west1", tier: "ENTERPRISE", capacityGb: 20480 } } },
            problems: [/^airflow:storage.filestore.capacityGb: must be at least 1024 and at most 10240 for tier ENTERPRISE \(got 20480\)/],
        },
        { name: "filestore zonal tier in a region", raw: { storage: { mode: "filestore", filestore: { location: "europe-west1" } } }, problems: [/^airflow:storage.filestore.location: must be a zone \(e.g. europe-west1-b\) for tier BASIC_HDD \(got "europe-west1"\)/] },
        { name: "filestore project id", raw: { storage: { mode: "filestore", filestore: { location: "europe-west1-b", project: "My Project" } } }, problems: [/^airflow:storage.filestore.project: must be a Google Cloud project id/] },
        { name: "image repository in uppercase", raw: { images: { postgres: "Postgres:17" } }, problems: [/^airflow:images.postgres: must be an image reference.*lowercase/] },
        { name: "image tag too long", raw: { images: { airflow: `apache/airflow:${"x".repeat(129)}` } }, problems: [/^airflow:images.airflow: must be an image reference.*a tag is at most 128/] },
        { name: "image digest too short", raw: { images: { gitSync: "registry.k8s.io/git-sync/git-sync@sha256:abc" } }, problems: [/^airflow:images.gitSync: must be an image reference.*sha256:<64 lowercase hex digits>/] },
        { name: "claim name not a Kubernetes name", raw: { storage: { mode: "existing", dagsClaimName: "Team_Dags", logsClaimName: "logs" } }, problems: [/^airflow:storage.dagsClaimName: must be a Kubernetes object name.*\(got "Team_Dags"\)/] },
        { name: "StorageClass name not a Kubernetes name", raw: { database: { storageClassName: "Fast SSD" } }, problems: [/^airflow:database.storageClassName: must be a Kubernetes object name/] },
        { name: "node selector key", raw: { scheduler: { nodeSelector: { "bad key!": "x" } } }, problems: [/^airflow:scheduler.nodeSelector.bad key!: must be a label key/] },
        { name: "node selector value", raw: { workers: { nodeSelector: { pool: "has spaces" } } }, problems: [/^airflow:workers.nodeSelector.pool: must be a label value/] },
        { name: "toleration key", raw: { triggerer: { tolerations: [{ key: "-bad", operator: "Exists" }] } }, problems: [/^airflow:triggerer.tolerations.0.key: must be a label key/] },
        { name: "Artifact Registry repository id", raw: { registry: { artifactRegistry: { project: "acme-data", location: "europe-west1", repositoryId: "1airflow" } } }, problems: [/^airflow:registry.artifactRegistry.repositoryId: must be an Artifact Registry repository id/, pushOnly("registry.artifactRegistry")] },
        // Cross-field checks that used to fail inside components, after resources were registered.
        { name: "https auth with an SSH URL", raw: { gitSync: { enabled: true, repo: "git@github.com:acme/dags.git", auth: "https", credentialsSecretName: "git" } }, problems: [/^airflow:gitSync.repo: must be an https:\/\/ URL when gitSync.auth is https/] },
        { name: "ssh auth with an https URL", raw: { gitSync: { enabled: true, repo: "https://github.com/acme/dags.git", auth: "ssh", credentialsSecretName: "git" } }, problems: [/^airflow:gitSync.repo: must be an ssh:\/\/ or git@host:path URL when gitSync.auth is ssh/] },
        { name: "an SSH URL without SSH auth", raw: { gitSync: { enabled: true, repo: "ssh://git@github.com/acme/dags.git" } }, problems: [/^airflow:gitSync.repo: needs gitSync.auth: ssh and gitSync.credentialsSecretName/] },
        { name: "existing storage without the DAG claim Airflow reads", raw: { storage: { mode: "existing", logsClaimName: "logs" } }, problems: [/^airflow:storage.dagsClaimName: is required in existing mode: the Airflow pods read DAGs from it/] },
        { name: "registry user without the secret password", raw: { registry: { server: "ghcr.io/acme", username: "ci" } }, problems: [pushOnly("registry.server"), pushOnly("registry.username"), /^airflow:registryPassword: is required with registry.username: pulumi config set --secret registryPassword/] },
        // Settings the chosen architecture or mode would ignore.
        { name: "a prebuilt image with image builds", raw: { images: { airflow: "apache/airflow:3.3.2", build: { enabled: true } }, registry: { server: "ghcr.io/acme" } }, problems: [/^airflow:images.airflow: cannot be combined with images.build.enabled/] },
        { name: "standalone with an external database", raw: { architecture: "standalone", database: { mode: "external", externalSecretName: "db" } }, problems: [/^airflow:database.mode: is not used by the standalone architecture: its Postgres runs in the pod.*only database.resources applies/, /^airflow:database.externalSecretName: is not used by the standalone architecture: its Postgres runs in the pod/] },
        { name: "standalone with scheduler replicas", raw: { architecture: "standalone", scheduler: { replicas: 2 } }, problems: [/^airflow:scheduler: is not used by the standalone architecture: it runs every Airflow process in one pod .*reads standalone.\* \(storageSize.*set architecture: production to use it$/] },
        { name: "standalone with shared storage", raw: { architecture: "standalone", storage: { mode: "filestore", filestore: { location: "europe-west1-b" } } }, problems: [/^airflow:storage: is not used by the standalone architecture/] },
        { name: "standalone with worker settings", raw: { architecture: "standalone", workers: { deleteOnFailure: false } }, problems: [/^airflow:workers: is not used by the standalone architecture/] },
        { name: "standalone with a git-sync CronJob", raw: { architecture: "standalone", gitSync: { enabled: true, mode: "cronjob", repo: "https://git.example.com/dags.git" } }, problems: [/^airflow:gitSync.mode: cronjob is not supported by the standalone architecture.*sidecar every gitSync.period/] },
        { name: "standalone settings in production", raw: { standalone: { parallelism: 8 } }, problems: [/^airflow:standalone: is only used when architecture is standalone/] },
        { name: "a git-sync schedule for sidecars", raw: { gitSync: { enabled: true, mode: "sidecar", repo: "https://git.example.com/dags.git", schedule: "0 * * * *" } }, problems: [/^airflow:gitSync.schedule: is only used by the git-sync CronJob/] },
        { name: "a git-sync period for the CronJob", raw: { gitSync: { enabled: true, repo: "https://git.example.com/dags.git", period: "30s" } }, problems: [/^airflow:gitSync.period: is only used in gitSync.mode sidecar/] },
        { name: "git-sync settings while it is off", raw: { gitSync: { repo: "https://git.example.com/dags.git" } }, problems: [/^airflow:gitSync.repo: has no effect while gitSync.enabled is not true/] },
        { name: "build settings while builds are off", raw: { images: { build: { platform: "linux/arm64" } } }, problems: [/^airflow:images.build.platform: is only used when images.build.enabled is true/] },
        { name: "an external Secret for the internal database", raw: { database: { externalSecretName: "db" } }, problems: [/^airflow:database.externalSecretName: is only used when database.mode is external/] },
        { name: "a size for an external database", raw: { database: { mode: "external", externalSecretName: "db", storageSize: "20Gi" } }, problems: [/^airflow:database.storageSize: is only used by the internal Postgres/] },
        { name: "claim names in pvc mode", raw: { storage: { dagsClaimName: "dags" } }, problems: [/^airflow:storage.dagsClaimName: is only used when storage.mode is existing \(it is pvc\)/] },
        { name: "claim sizes in filestore mode", raw: { storage: { mode: "filestore", dagsSize: "5Gi", filestore: { location: "europe-west1-b" } } }, problems: [/^airflow:storage.dagsSize: is only used when storage.mode is pvc \(it is filestore\)/] },
        { name: "a registry with nothing to push", raw: { registry: { server: "ghcr.io/acme" } }, problems: [/^airflow:registry.server: is only used to push built images/] },
        { name: "UI CIDRs without network policies", raw: { networkPolicies: false, ui: { allowedCidrs: ["10.0.0.0/8"] } }, problems: [/^airflow:ui.allowedCidrs: is read by the NetworkPolicies, which networkPolicies: false turns off/] },
        // New keys.
        { name: "setup image reference", raw: { images: { setup: "BusyBox" } }, problems: [/^airflow:images.setup: must be an image reference/] },
        { name: "zero /tmp size", raw: { workers: { tmpSize: "0" } }, problems: [/^airflow:workers.tmpSize: must be greater than zero/] },
        { name: "HOME size not a quantity", raw: { apiServer: { homeSize: "big" } }, problems: [/^airflow:apiServer.homeSize: must be a Kubernetes quantity.*\(got "big"\)/] },
        { name: "standalone /tmp size not a quantity", raw: { architecture: "standalone", standalone: { tmpSize: "1 GB" } }, problems: [/^airflow:standalone.tmpSize: must be a Kubernetes quantity/] },
        // Secrets never as plain env: the message shows the Secret-based config to use instead.
        {
            name: "a connection as plain env",
            raw: { scheduler: { extraEnv: { AIRFLOW_CONN_WAREHOUSE: "postgresql://dwh/prod" } } },
            problems: [/^airflow:scheduler.extraEnv.AIRFLOW_CONN_WAREHOUSE: looks like a secret \(AIRFLOW_CONN_\*.*scheduler.secretEnv: \{AIRFLOW_CONN_WAREHOUSE: \{secretName: <secret>, key: <key>\}\}.*scheduler.envFromSecrets: \[<secret>\]/],
        },
        { name: "a password as plain env", raw: { extraEnv: { SMTP_PASSWORD: "hunter2" } }, problems: [/^airflow:extraEnv.SMTP_PASSWORD: looks like a secret \(its name part PASSWORD.* secretEnv: \{SMTP_PASSWORD: /] },
        { name: "an API key as plain env", raw: { workers: { extraEnv: { OPENAI_API_KEY: "sk-1" } } }, problems: [/^airflow:workers.extraEnv.OPENAI_API_KEY: looks like a secret \(its name part KEY.*workers.secretEnv/] },
        { name: "a *_CONN as plain env", raw: { dagProcessor: { extraEnv: { WAREHOUSE_CONN: "x" } } }, problems: [/^airflow:dagProcessor.extraEnv.WAREHOUSE_CONN: looks like a secret \(\*_CONN/] },
        { name: "a URL with a password as plain env", raw: { triggerer: { extraEnv: { BROKER: "redis://:hunter2@redis:6379/0" } } }, problems: [/^airflow:triggerer.extraEnv.BROKER: holds a URL with a password.*triggerer.secretEnv: \{BROKER: /] },
        {
            name: "a setting the package owns, in extraEnv",
            raw: { apiServer: { extraEnv: { AIRFLOW__CORE__EXECUTOR: "CeleryExecutor" } } },
            problems: [/^airflow:apiServer.extraEnv.AIRFLOW__CORE__EXECUTOR: is set by this package .*the package sets .*AIRFLOW__API_AUTH__JWT_SECRET, .*AIRFLOW__CORE__DAGS_FOLDER, .*AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE/],
        },
        { name: "a setting the package owns, in secretEnv", raw: { secretEnv: { AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: { secretName: "db", key: "uri" } } }, problems: [/^airflow:secretEnv.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: is set by this package/] },
        { name: "parallelism in extraEnv of the standalone pod", raw: { architecture: "standalone", extraEnv: { AIRFLOW__CORE__PARALLELISM: "8" } }, problems: [/^airflow:extraEnv.AIRFLOW__CORE__PARALLELISM: is set by this package .*AIRFLOW__CORE__PARALLELISM/] },
        { name: "secretEnv with a bad Secret name", raw: { dagProcessor: { secretEnv: { API_TOKEN: { secretName: "Team_Secrets", key: "token" } } } }, problems: [/^airflow:dagProcessor.secretEnv.API_TOKEN.secretName: must be a Kubernetes object name.*\(got "Team_Secrets"\)/] },
        { name: "secretEnv without a key", raw: { workers: { secretEnv: { API_TOKEN: { secretName: "team" } } } }, problems: [/^airflow:workers.secretEnv.API_TOKEN.key: /] },
        { name: "envFromSecrets with a bad Secret name", raw: { envFromSecrets: ["Team Secrets"] }, problems: [/^airflow:envFromSecrets.0: must be a Kubernetes object name/] },
        { name: "a bad image pull Secret name", raw: { images: { pullSecrets: ["Reg Cred"] } }, problems: [/^airflow:images.pullSecrets.0: must be a Kubernetes object name.*\(got "Reg Cred"\)/] },
        { name: "a bad ServiceAccount annotation key", raw: { workers: { serviceAccountAnnotations: { "not a key": "x" } } }, problems: [/^airflow:workers.serviceAccountAnnotations.not a key: must be an annotation key/] },
        { name: "a ServiceAccount annotation that is not a string", raw: { scheduler: { serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": 1 } } }, problems: [/^airflow:scheduler.serviceAccountAnnotations.iam.gke.io\/gcp-service-account: .*string/] },
        { name: "podLauncher not a boolean", raw: { workers: { podLauncher: "yes" } }, problems: [/^airflow:workers.podLauncher: .*boolean.*\(got "yes"\)/] },
        {
            name: "a git repository URL with a token",
            raw: { gitSync: { enabled: true, repo: "https://oauth2:glpat-abc@gitlab.example.com/data/dags.git" } },
            problems: [/^airflow:gitSync.repo: must not carry credentials.*gitSync: \{repo: https:\/\/<host>\/<org>\/<repo>.git, auth: https, credentialsSecretName: <secret>\}$/],
        },
        { name: "a git repository URL with a user token only", raw: { gitSync: { enabled: true, repo: "https://ghp_abc@github.com/acme/dags.git" } }, problems: [/^airflow:gitSync.repo: must not carry credentials/] },
        { name: "an admin name the simple auth manager cannot list", raw: { ui: { authManager: "simple", adminUsername: "ops:admin" } }, problems: [/^airflow:ui.adminUsername: must be a user name.*\(got "ops:admin"\)/] },
        { name: "a remote log connection that is not a string", raw: { logging: { remoteBaseLogFolder: "s3://logs/airflow", remoteConnId: 1 } }, problems: [/^airflow:logging.remoteConnId: .*string/] },
        // Issue 9: reaching the UI.
        { name: "an Ingress without a host", raw: { ui: { ingress: { enabled: true } } }, problems: [/^airflow:ui.ingress.host: is required when ui.ingress.enabled is true/] },
        { name: "an Ingress host that is not a DNS name", raw: { ui: { ingress: { enabled: true, host: "Airflow.Example.com" } } }, problems: [/^airflow:ui.ingress.host: must be a DNS name.*\(got "Airflow.Example.com"\)/] },
        { name: "an Ingress path with a trailing slash", raw: { ui: { ingress: { enabled: true, host: "a.example.com", pathPrefix: "/airflow/" } } }, problems: [/^airflow:ui.ingress.pathPrefix: must be \/ or a path such as \/airflow.*\(got "\/airflow\/"\)/] },
        { name: "trusted proxies that are not addresses", raw: { ui: { ingress: { enabled: true, host: "a.example.com", forwardedAllowIps: "10.0.0.0/8,proxy" } } }, problems: [/^airflow:ui.ingress.forwardedAllowIps: must be \* or IP addresses and CIDRs.*not "proxy"/] },
        { name: "Ingress settings while it is off", raw: { ui: { ingress: { host: "a.example.com" } } }, problems: [/^airflow:ui.ingress.host: has no effect while ui.ingress.enabled is not true/] },
        { name: "a base URL beside the Ingress", raw: { ui: { baseUrl: "https://a.example.com", ingress: { enabled: true, host: "a.example.com" } } }, problems: [/^airflow:ui.baseUrl: is made from ui.ingress/] },
        { name: "a base URL with a query", raw: { ui: { baseUrl: "https://a.example.com/?x=1" } }, problems: [/^airflow:ui.baseUrl: must be an http:\/\/ or https:\/\/ URL/] },
        { name: "an Ingress in the standalone architecture", raw: { architecture: "standalone", ui: { ingress: { enabled: true, host: "a.example.com" } } }, problems: [/^airflow:ui.ingress: is not used by the standalone architecture/] },
        // Issue 9: extension points, the same on every component.
        { name: "a mount of a volume the pod lacks", raw: { scheduler: { extraVolumeMounts: [{ name: "ca", mountPath: "/etc/ca" }] } }, problems: [/^airflow:scheduler.extraVolumeMounts.0.name: must name a volume of the pod: one of extraVolumes or the pod's own \(tmp, home, dags, logs.*\(got "ca"\)/] },
        { name: "an extra volume named like the pod's own", raw: { workers: { extraVolumes: [{ name: "logs", emptyDir: {} }] } }, problems: [/^airflow:workers.extraVolumes.0.name: is already a volume of this pod/] },
        { name: "an extra volume with two sources", raw: { database: { extraVolumes: [{ name: "ca", secret: { secretName: "ca" }, configMap: { name: "ca" } }] } }, problems: [/^airflow:database.extraVolumes.0: must have exactly one volume source \(got secret, configMap\)/] },
        { name: "a hostPath volume", raw: { triggerer: { extraVolumes: [{ name: "host", hostPath: { path: "/" } }] } }, problems: [/^airflow:triggerer.extraVolumes.0: unknown key "hostPath"; allowed: name, emptyDir, secret/, /^airflow:triggerer.extraVolumes.0: must have exactly one volume source \(e.g. secret, configMap, persistentVolumeClaim, emptyDir, csi\); hostPath is not allowed/] },
        { name: "an unknown field on an extra container", raw: { apiServer: { extraContainers: [{ name: "proxy", image: "envoyproxy/envoy:v1.31.0", portz: [] }] } }, problems: [/^airflow:apiServer.extraContainers.0: unknown key "portz"; allowed: name, image, imagePullPolicy, command/] },
        { name: "an extra container without an image", raw: { dagProcessor: { extraInitContainers: [{ name: "prepare" }] } }, problems: [/^airflow:dagProcessor.extraInitContainers.0.image: is required$/] },
        { name: "an extra container named like the pod's own", raw: { triggerer: { extraContainers: [{ name: "triggerer", image: "busybox:1.37.0" }] } }, problems: [/^airflow:triggerer.extraContainers.0.name: is already a container of this pod/] },
        { name: "an extra container with a secret as a plain env value", raw: { gitSync: { enabled: true, repo: "https://git.example.com/d.git", extraContainers: [{ name: "x", image: "busybox:1.37.0", env: [{ name: "DB_PASSWORD", value: "hunter2" }] }] } }, problems: [/^airflow:gitSync.extraContainers.0.env.0.value: DB_PASSWORD looks like a secret.*secretKeyRef/] },
        { name: "a native sidecar among the containers", raw: { scheduler: { extraContainers: [{ name: "x", image: "busybox:1.37.0", restartPolicy: "Always" }] } }, problems: [/^airflow:scheduler.extraContainers.0.restartPolicy: is only allowed on init containers/] },
        { name: "a pod label the package sets", raw: { scheduler: { podLabels: { "app.kubernetes.io/component": "x" } } }, problems: [/^airflow:scheduler.podLabels.app.kubernetes.io\/component: is set by this package/] },
        { name: "a spread without whenUnsatisfiable", raw: { apiServer: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname" }] } }, problems: [/^airflow:apiServer.topologySpreadConstraints.0.whenUnsatisfiable: is required: one of "DoNotSchedule"\|"ScheduleAnyway"$/] },
        { name: "an unknown affinity kind", raw: { workers: { affinity: { nodeAfinity: {} } } }, problems: [/^airflow:workers.affinity: unknown key "nodeAfinity"; allowed: nodeAffinity, podAffinity, podAntiAffinity/] },
        { name: "a priority class that is no object name", raw: { workers: { priorityClassName: "High Priority" } }, problems: [/^airflow:workers.priorityClassName: must be a Kubernetes object name/] },
        { name: "git-sync pod settings for the sidecar", raw: { gitSync: { enabled: true, mode: "sidecar", repo: "https://git.example.com/d.git", podLabels: { a: "b" } } }, problems: [/^airflow:gitSync.podLabels: is only used by the git-sync CronJob's pods/] },
        { name: "Postgres pod settings with an external database", raw: { database: { mode: "external", externalSecretName: "db", nodeSelector: { pool: "db" } } }, problems: [/^airflow:database.nodeSelector: is only used by the internal Postgres/] },
        // Issue 9: scale and availability.
        { name: "autoscaling minimum above the maximum", raw: { apiServer: { autoscaling: { enabled: true, minReplicas: 6, maxReplicas: 3 } } }, problems: [/^airflow:apiServer.autoscaling.minReplicas: must not exceed maxReplicas/] },
        { name: "replicas beside the autoscaler", raw: { apiServer: { replicas: 2, autoscaling: { enabled: true } } }, problems: [/^airflow:apiServer.replicas: is left to the HorizontalPodAutoscaler/] },
        { name: "autoscaling settings while it is off", raw: { apiServer: { autoscaling: { maxReplicas: 8 } } }, problems: [/^airflow:apiServer.autoscaling.maxReplicas: has no effect while apiServer.autoscaling.enabled is not true/] },
        { name: "an unknown PgBouncer pool mode", raw: { database: { pgbouncer: { enabled: true, poolMode: "statement" } } }, problems: [/^airflow:database.pgbouncer.poolMode: .*"transaction"\|"session".*\(got "statement"\)/] },
        { name: "PgBouncer settings while it is off", raw: { database: { pgbouncer: { defaultPoolSize: 50 } } }, problems: [/^airflow:database.pgbouncer.defaultPoolSize: has no effect while database.pgbouncer.enabled is not true/] },
        { name: "PgBouncer in the standalone architecture", raw: { architecture: "standalone", database: { pgbouncer: { enabled: true } } }, problems: [/^airflow:database.pgbouncer: is not used by the standalone architecture/] },
        // Issue 9: retention.
        { name: "a log retention of zero days", raw: { retention: { logs: { days: 0 } } }, problems: [/^airflow:retention.logs.days: .*>=1.*\(got 0\)/] },
        { name: "a database retention schedule that is no cron", raw: { retention: { database: { schedule: "nightly" } } }, problems: [/^airflow:retention.database.schedule: must be a cron schedule/] },
        { name: "log retention when logs only go to a bucket", raw: { logging: { remoteBaseLogFolder: "gs://logs/airflow" }, retention: { logs: { days: 7 } } }, problems: [/^airflow:retention.logs: cleans the shared log claim.*lifecycle rule/] },
        { name: "retention in the standalone architecture", raw: { architecture: "standalone", retention: { database: { days: 30 } } }, problems: [/^airflow:retention: is not used by the standalone architecture/] },
        // Issue 9: authentication.
        { name: "a webserver config from two places", raw: { ui: { webserverConfig: { secretName: "a", configMapName: "b" } } }, problems: [/^airflow:ui.webserverConfig: needs exactly one of secretName and configMapName/] },
        { name: "a webserver config with the simple auth manager", raw: { ui: { authManager: "simple", webserverConfig: { secretName: "a" } } }, problems: [/^airflow:ui.webserverConfig: configures the FAB auth manager/] },
        // Issue 9: metrics.
        { name: "metrics settings while they are off", raw: { metrics: { serviceMonitor: true } }, problems: [/^airflow:metrics.serviceMonitor: has no effect while metrics.enabled is not true/] },
        { name: "a scrape interval without a ServiceMonitor", raw: { metrics: { enabled: true, scrapeInterval: "10s" } }, problems: [/^airflow:metrics.scrapeInterval: is the ServiceMonitor's interval/] },
        { name: "a scraper namespace that is no DNS label", raw: { metrics: { enabled: true, scraperNamespace: "Monitoring" } }, problems: [/^airflow:metrics.scraperNamespace: must be a DNS label/] },
        { name: "an exporter image that is no reference", raw: { metrics: { enabled: true, image: "Statsd Exporter" } }, problems: [/^airflow:metrics.image: must be an image reference/] },
    ]);

    it("never repeats a refused secret value in its messages", () => {
        const secrets = ["postgresql://dwh/prod", "hunter2", "sk-1", "glpat-abc", "ghp_abc"];
        const problems = problemsOf({
            scheduler: { extraEnv: { AIRFLOW_CONN_WAREHOUSE: "postgresql://dwh/prod" } },
            extraEnv: { SMTP_PASSWORD: "hunter2", BROKER: "redis://:hunter2@redis:6379/0", AIRFLOW__CORE__FERNET_KEY: "sk-1" },
            gitSync: { enabled: true, repo: "https://oauth2:glpat-abc@gitlab.example.com/dags.git" },
        });
        assert.strictEqual(problems.length, 5, problems.join("\n"));
        for (const secret of secrets) {
            assert.ok(!problems.join("\n").includes(secret), `${secret} repeated in:\n${problems.join("\n")}`);
        }
    });

    it("accepts plain settings, Secret references, pull Secrets, annotations and the pod launcher", () => {
        const c = parseStackConfig(
            rawConfig({
                extraEnv: { AIRFLOW__CORE__PARALLELISM: "64", AIRFLOW__SECRETS__BACKEND: "airflow.providers.google.cloud.secrets.secret_manager.CloudSecretManagerBackend", GOOGLE_APPLICATION_CREDENTIALS: "/var/run/gcp/key.json" },
                secretEnv: { AIRFLOW_CONN_WAREHOUSE: { secretName: "warehouse", key: "uri" } },
                envFromSecrets: ["team-secrets"],
                images: { pullSecrets: ["regcred"] },
                workers: { podLauncher: true, serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": "tasks@proj.iam.gserviceaccount.com" } },
                gitSync: { enabled: true, repo: "ssh://git@github.com/acme/dags.git", auth: "ssh", credentialsSecretName: "git" },
            }),
        );
        assert.deepStrictEqual(c.secretEnv, { AIRFLOW_CONN_WAREHOUSE: { secretName: "warehouse", key: "uri" } });
        assert.deepStrictEqual(c.images.pullSecrets, ["regcred"]);
        assert.strictEqual(c.workers.podLauncher, true);
        const defaults = parseStackConfig({});
        assert.deepStrictEqual(defaults.images.pullSecrets, []);
        assert.strictEqual(defaults.workers.podLauncher, false);
        for (const section of [defaults, defaults.scheduler, defaults.apiServer, defaults.dagProcessor, defaults.triggerer, defaults.workers]) {
            assert.deepStrictEqual([section.secretEnv, section.envFromSecrets], [{}, []]);
        }
        for (const section of [defaults.scheduler, defaults.apiServer, defaults.dagProcessor, defaults.triggerer, defaults.workers]) {
            assert.deepStrictEqual(section.serviceAccountAnnotations, {});
        }
    });

    it("picks the remote log connection of the log folder's scheme unless one is given", () => {
        const connId = (logging: Record<string, string>) => parseStackConfig(rawConfig({ logging })).logging.remoteConnId;
        assert.strictEqual(connId({ remoteBaseLogFolder: "gs://logs/airflow" }), "google_cloud_default");
        assert.strictEqual(connId({ remoteBaseLogFolder: "s3://logs/airflow" }), "aws_default");
        assert.strictEqual(connId({ remoteBaseLogFolder: "wasb://logs@account.blob.core.windows.net/airflow" }), "wasb_default");
        assert.strictEqual(connId({ remoteBaseLogFolder: "s3://logs/airflow", remoteConnId: "logs_s3" }), "logs_s3");
        assert.strictEqual(connId({}), undefined);
    });

    it("reports every problem at once", () => {
        const problems = problemsOf({ architecture: "prod", namespace: "UPPER", scheduler: { replicas: -1, foo: 1 }, ui: { port: 0 } });
        // one problem for each of the five mistakes, each by its key
        assert.deepStrictEqual(
            problems.map((p) => p.slice(0, p.indexOf(": "))),
            ["airflow:namespace", "airflow:architecture", "airflow:scheduler.replicas", "airflow:scheduler", "airflow:ui.port"],
            problems.join("\n"),
        );
        const message = (() => {
            try {
                parseStackConfig(rawConfig({ architecture: "prod", namespace: "UPPER" }));
            } catch (e) {
                return (e as Error).message;
            }
            return "";
        })();
        assert.match(message, /^Invalid stack configuration \(2 problems\):\n  - airflow:/);
    });
});

/** A table of bad configs, each rejected with exactly the listed problems (whole messages) and no others. */
function rejectsExactly(table: { name: string; raw: Record<string, unknown>; problems: RegExp[] }[]): void {
    for (const bad of table) {
        it(`rejects ${bad.name}`, () => {
            const problems = problemsOf(bad.raw);
            assert.strictEqual(problems.length, bad.problems.length, `expected ${bad.problems.length} problem(s), got:\n  ${problems.join("\n  ")}`);
            bad.problems.forEach((expected, i) => assert.match(problems[i], expected));
        });
    }
}

describe("stack config: git-sync repository URLs", () => {
    const gitSync = (extra: Record<string, unknown>) => ({ gitSync: { enabled: true, ...extra } });
    rejectsExactly([
        {
            name: "a plain http:// repository",
            raw: gitSync({ repo: "http://git.internal/data/dags.git" }),
            problems: [/^airflow:gitSync.repo: uses plain http:\/\/, which neither git nor git-sync v4.7.1 refuses: the DAG code Airflow runs would travel unencrypted and unauthenticated, .*use an https:\/\/ or ssh:\/\/ URL, or set gitSync.allowInsecureTransport: true for a git server you trust on a network you control$/],
        },
        { name: "a git:// repository", raw: gitSync({ repo: "git://git.internal/data/dags.git" }), problems: [/^airflow:gitSync.repo: uses the git:\/\/ protocol, which neither git nor git-sync v4.7.1 refuses: .*gitSync.allowInsecureTransport: true/] },
        { name: "a repository URL of no transport git-sync speaks", raw: gitSync({ repo: "ftp://git.internal/dags.git" }), problems: [/^airflow:gitSync.repo: must be an https:\/\/, ssh:\/\/, git@host:path or file:\/\/ URL \(plain http:\/\/ and git:\/\/ only with allowInsecureTransport: true\)$/] },
        {
            name: "a token over plain http:// without the opt-in",
            raw: gitSync({ repo: "http://git.internal/data/dags.git", auth: "https", credentialsSecretName: "git" }),
            problems: [/^airflow:gitSync.repo: uses plain http:\/\/, .*gitSync.allowInsecureTransport: true/],
        },
        { name: "the opt-in with an https:// repository", raw: gitSync({ repo: "https://git.example.com/data/dags.git", allowInsecureTransport: true }), problems: [/^airflow:gitSync.allowInsecureTransport: only opts in to plain http:\/\/ and git:\/\/ URLs, and gitSync.repo uses neither: remove it \(got true\)$/] },
        { name: "the opt-in while git-sync is off", raw: { gitSync: { allowInsecureTransport: true } }, problems: [/^airflow:gitSync.allowInsecureTransport: has no effect while gitSync.enabled is not true/] },
        { name: "a sidecar period of zero, which git-sync refuses", raw: gitSync({ mode: "sidecar", repo: "https://git.example.com/d.git", period: "0s" }), problems: [/^airflow:gitSync.period: must be a duration such as 30s or 2m, at least 1s \(git-sync refuses a period under 10ms\) \(got "0s"\)$/] },
    ]);

    it("accepts a token over plain http:// with the opt-in (git-sync sends it through git's credential store, as the lab's git server checks)", () => {
        const c = parseStackConfig(rawConfig(gitSync({ repo: "http://git.internal/data/dags.git", allowInsecureTransport: true, auth: "https", credentialsSecretName: "git" })));
        assert.strictEqual(c.gitSync.auth, "https");
    });

    it("accepts plain http:// and git:// with the opt-in, and passes the URL to git-sync", async () => {
        for (const repo of ["http://git.internal/data/dags.git", "git://git.internal/data/dags.git"]) {
            const c = parseStackConfig(rawConfig(gitSync({ repo, allowInsecureTransport: true })));
            assert.strictEqual(c.gitSync.repo, repo);
        }
        const r = await renderStack(gitSync({ repo: "http://git.internal/data/dags.git", allowInsecureTransport: true }));
        const cronJob = r.objects.find((o) => o.kind === "CronJob" && o.metadata?.name === "airflow-git-sync") as any;
        assert.ok(cronJob.spec.jobTemplate.spec.template.spec.containers[0].args.includes("--repo=http://git.internal/data/dags.git"));
    });
});

describe("stack config: DAG bundles", () => {
    const team = { name: "team", repo: "https://github.com/acme/dags.git" };
    const bundles = (...list: Record<string, unknown>[]) => ({ dagBundles: list });
    const one = (extra: Record<string, unknown>) => bundles({ ...team, ...extra });
    rejectsExactly([
        // the repository URL and how the bundle authenticates
        {
            name: "a bundle URL with a token",
            raw: one({ repo: "https://oauth2:glpat-abc@gitlab.example.com/data/dags.git" }),
            problems: [/^airflow:dagBundles.0.repo: must not carry credentials: .*keys username and password \(a token\): dagBundles: \[\{name: <name>, repo: https:\/\/<host>\/<org>\/<repo>.git, auth: https, credentialsSecretName: <secret>\}\]$/],
        },
        { name: "a bundle from a file:// URL, which no other pod has", raw: one({ repo: "file:///srv/dags.git" }), problems: [/^airflow:dagBundles.0.repo: must be an https:\/\/, ssh:\/\/ or git@host:path URL \(plain http:\/\/ and git:\/\/ only with allowInsecureTransport: true\)$/] },
        {
            name: "a bundle's token over plain http://, even with the opt-in (its connection is known to work over https:// only)",
            raw: one({ repo: "http://git.internal/dags.git", allowInsecureTransport: true, auth: "https", credentialsSecretName: "git" }),
            problems: [/^airflow:dagBundles.0.repo: must be an https:\/\/ URL when dagBundles.0.auth is https \(the token is sent over HTTPS\)$/],
        },
        { name: "a bundle over plain http://", raw: one({ repo: "http://git.internal/dags.git" }), problems: [/^airflow:dagBundles.0.repo: uses plain http:\/\/, which neither git nor git-sync v4.7.1 refuses: .*set dagBundles.0.allowInsecureTransport: true for a git server you trust on a network you control$/] },
        { name: "the opt-in with an https:// bundle", raw: one({ allowInsecureTransport: true }), problems: [/^airflow:dagBundles.0.allowInsecureTransport: only opts in to plain http:\/\/ and git:\/\/ URLs, and dagBundles.0.repo uses neither: remove it \(got true\)$/] },
        { name: "https auth with an SSH URL", raw: one({ repo: "git@github.com:acme/dags.git", auth: "https", credentialsSecretName: "git" }), problems: [/^airflow:dagBundles.0.repo: must be an https:\/\/ URL when dagBundles.0.auth is https \(the token is sent over HTTPS\)$/] },
        { name: "ssh auth with an https URL", raw: one({ auth: "ssh", credentialsSecretName: "git" }), problems: [/^airflow:dagBundles.0.repo: must be an ssh:\/\/ or git@host:path URL when dagBundles.0.auth is ssh$/] },
        { name: "an SSH URL without SSH auth", raw: one({ repo: "ssh://git@github.com/acme/dags.git" }), problems: [/^airflow:dagBundles.0.repo: needs dagBundles.0.auth: ssh and dagBundles.0.credentialsSecretName \(SSH always authenticates with a key\)$/] },
        { name: "auth without a Secret", raw: one({ auth: "https" }), problems: [/^airflow:dagBundles.0.credentialsSecretName: is required when auth is https or ssh$/] },
        { name: "a Secret without auth", raw: one({ credentialsSecretName: "git" }), problems: [/^airflow:dagBundles.0.credentialsSecretName: is only used when dagBundles.0.auth is https or ssh: set the auth, or remove it \(got "git"\)$/] },
        { name: "a Secret name Kubernetes refuses", raw: one({ auth: "https", credentialsSecretName: "Git Token" }), problems: [/^airflow:dagBundles.0.credentialsSecretName: must be a Kubernetes object name.*\(got "Git Token"\)$/] },
        { name: "an unknown auth", raw: one({ auth: "token" }), problems: [/^airflow:dagBundles.0.auth: .*"none"\|"https"\|"ssh".*\(got "token"\)$/] },
        // names
        { name: "two bundles of one name", raw: bundles(team, { ...team, repo: "https://github.com/acme/more.git" }), problems: [/^airflow:dagBundles.1.name: is the name of dagBundles.0 too: bundle names must be unique \(Airflow refuses the whole bundle list otherwise\) \(got "team"\)$/] },
        {
            name: "two names that give one connection id",
            raw: bundles({ ...team, name: "team-a" }, { ...team, name: "team_a" }),
            problems: [/^airflow:dagBundles.1.name: gives the same connection id as dagBundles.0 \(team-a\): git_bundle_team_a, env AIRFLOW_CONN_GIT_BUNDLE_TEAM_A; names that differ only in '-' and '_' share one, so rename one of them \(got "team_a"\)$/],
        },
        { name: "a bundle name with capitals and spaces", raw: one({ name: "Team A" }), problems: [/^airflow:dagBundles.0.name: must be a bundle name: lowercase letters, digits, '-' and '_', starting with a letter .*at most 63 characters .*\(got "Team A"\)$/] },
        { name: "a bundle name of 64 characters", raw: one({ name: "a".repeat(64) }), problems: [/^airflow:dagBundles.0.name: must be a bundle name/] },
        { name: "the DAG image's bundle name", raw: one({ name: "dags-folder" }), problems: [/^airflow:dagBundles.0.name: is reserved: dags-folder is the DAG image's own bundle; pick another name \(got "dags-folder"\)$/] },
        { name: "Airflow's example bundle name", raw: one({ name: "example_dags" }), problems: [/^airflow:dagBundles.0.name: is reserved: Airflow keeps example_dags for its example DAGs; pick another name \(got "example_dags"\)$/] },
        { name: "a bundle without a name", raw: bundles({ repo: team.repo }), problems: [/^airflow:dagBundles.0.name: is required$/] },
        { name: "a bundle without a repository", raw: bundles({ name: "team" }), problems: [/^airflow:dagBundles.0.repo: is required$/] },
        { name: "a misspelt bundle key", raw: one({ branch: "main" }), problems: [/^airflow:dagBundles.0: unknown key "branch"; allowed: name, repo, ref, subdir, refreshInterval, auth, credentialsSecretName, allowInsecureTransport$/] },
        // what it tracks and how often
        { name: "a ref git would read as an option", raw: one({ ref: "--upload-pack=x" }), problems: [/^airflow:dagBundles.0.ref: must be a branch, tag or commit: no spaces, not starting with '-' \(git would read an option\) \(got "--upload-pack=x"\)$/] },
        { name: "a ref with '..'", raw: one({ ref: "main..dev" }), problems: [/^airflow:dagBundles.0.ref: must be a branch, tag or commit: '..' is not allowed in a git ref \(got "main..dev"\)$/] },
        { name: "an absolute subdir", raw: one({ subdir: "/etc" }), problems: [/^airflow:dagBundles.0.subdir: must be a relative path inside the repository such as dags or teams\/data\/dags: no leading or trailing '\/', no spaces \(got "\/etc"\)$/] },
        { name: "a subdir out of the repository", raw: one({ subdir: "dags/../.." }), problems: [/^airflow:dagBundles.0.subdir: must stay inside the repository: no '..' \(got "dags\/..\/.."\)$/] },
        { name: "a refresh interval under 10 s", raw: one({ refreshInterval: 5 }), problems: [/^airflow:dagBundles.0.refreshInterval: Too small: expected number to be >=10 \(got 5\)$/] },
        { name: "a refresh interval over a day", raw: one({ refreshInterval: 90000 }), problems: [/^airflow:dagBundles.0.refreshInterval: Too big: expected number to be <=86400 \(got 90000\)$/] },
        { name: "a refresh interval that is no whole number of seconds", raw: one({ refreshInterval: 1.5 }), problems: [/^airflow:dagBundles.0.refreshInterval: Invalid input: expected int, received number \(got 1.5\)$/] },
        // other DAG sources and env
        { name: "bundles with git-sync", raw: { ...bundles(team), gitSync: { enabled: true, repo: "https://git.example.com/dags.git" } }, problems: [/^airflow:dagBundles: cannot be combined with gitSync.enabled: git-sync's folder would be one unversioned bundle beside versioned ones.*list each repository as a bundle instead/] },
        { name: "the bundle list in a component's extraEnv", raw: { ...bundles(team), dagProcessor: { extraEnv: { AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST: "[]" } } }, problems: [/^airflow:dagProcessor.extraEnv.AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST: is set by this package from dagBundles \(the package sets AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST, AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH\)$/] },
        { name: "the bundle storage in the stack-wide secretEnv", raw: { ...bundles(team), secretEnv: { AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: { secretName: "s", key: "k" } } }, problems: [/^airflow:secretEnv.AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH: is set by this package from dagBundles/] },
        { name: "a bundle's connection in secretEnv", raw: { ...bundles(team), workers: { secretEnv: { AIRFLOW_CONN_GIT_BUNDLE_TEAM: { secretName: "s", key: "k" } } } }, problems: [/^airflow:workers.secretEnv.AIRFLOW_CONN_GIT_BUNDLE_TEAM: is the connection of dagBundles.0 \(team\), which the package makes from its repo and credentialsSecretName: pick another name$/] },
        { name: "a bundle's username variable in extraEnv", raw: { ...bundles(team), extraEnv: { GIT_BUNDLE_TEAM_USERNAME: "bot" } }, problems: [/^airflow:extraEnv.GIT_BUNDLE_TEAM_USERNAME: is the connection of dagBundles.0 \(team\)/] },
    ]);

    it("never repeats a token from a bundle URL", () => {
        const problems = problemsOf(one({ repo: "https://oauth2:glpat-secret1@gitlab.example.com/data/dags.git" }));
        assert.ok(!problems.join("\n").includes("glpat-secret1"), problems.join("\n"));
    });

    it("fills the defaults: tracking main, fetched every minute, public", () => {
        const [b] = parseStackConfig(rawConfig(bundles(team))).dagBundles;
        assert.deepStrictEqual(b, { ...team, ref: "main", refreshInterval: 60, auth: "none", allowInsecureTransport: false });
        assert.deepStrictEqual(parseStackConfig({}).dagBundles, []);
    });

    it("accepts bundles beside the DAG image, on existing storage without a DAG claim, in standalone, and http:// with the opt-in", () => {
        const ssh = { name: "team-ssh", repo: "git@github.com:acme/dags.git", auth: "ssh", credentialsSecretName: "team-git", subdir: "dags/prod", ref: "release/2.1", refreshInterval: 30 };
        for (const raw of [
            { ...bundles(team, ssh), dagsInImage: true },
            { ...bundles(team), images: { build: { enabled: true } }, registry: { server: "registry.example.com/airflow" } },
            { ...bundles(team), storage: { mode: "existing", logsClaimName: "logs" } },
            { ...bundles(ssh), architecture: "standalone" },
            one({ repo: "git://git.internal/dags.git", allowInsecureTransport: true }),
            // the dag-processor's refresh interval stays the user's to tune
            { ...bundles(team), dagProcessor: { extraEnv: { AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: "30" } } },
        ]) {
            assert.doesNotThrow(() => parseStackConfig(rawConfig(raw)), JSON.stringify(raw));
        }
    });

    it("leaves the bundle settings to extraEnv when the config has no bundles (a deployment's own bundle config)", () => {
        const c = parseStackConfig(rawConfig({ extraEnv: { AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST: "[]" } }));
        assert.strictEqual(c.extraEnv.AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST, "[]");
    });
});

describe("settings the package owns", () => {
    it("refuses in extraEnv and secretEnv every AIRFLOW__ setting the pods are rendered with, and lists no other", async () => {
        // Renders that between them set every setting the package knows.
        const renders: [StackConfigInput, "production" | "standalone"][] = [
            [{}, "production"],
            [{ ui: { authManager: "simple" }, logging: { remoteBaseLogFolder: "gs://logs/airflow" }, storage: { mode: "existing", dagsClaimName: "dags" } }, "production"],
            [{ ui: { ingress: { enabled: true, host: "airflow.example.com" }, webserverConfig: { secretName: "fab-config" } }, metrics: { enabled: true } }, "production"],
            // a key rotation: the JWT signing key and JWKS settings
            [{ keys: { generation: 1 } }, "production"],
            [{ architecture: "standalone" }, "standalone"],
            [{ architecture: "standalone", ui: { authManager: "simple" } }, "standalone"],
            [{ dagBundles: [{ name: "team", repo: "https://git.example.com/dags.git" }] }, "production"],
        ];
        const derived: string[] = Object.values(DERIVED_AIRFLOW_ENV);
        const everywhere = new Set<string>();
        for (const [config, architecture] of renders) {
            const rendered = new Set<string>();
            for (const { spec } of (await renderStack(config)).objects.flatMap(podSpecs)) {
                for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
                    for (const e of c.env ?? []) if (e.name.startsWith("AIRFLOW__")) rendered.add(e.name);
                }
            }
            for (const name of [...rendered].filter((n) => !derived.includes(n))) {
                everywhere.add(name);
                for (const key of ["extraEnv", "secretEnv"] as const) {
                    const value = key === "extraEnv" ? "x" : { secretName: "s", key: "k" };
                    // in the config it was rendered with: the bundle settings are the package's only when there are bundles
                    const problems = problemsOf({ ...config, architecture, [key]: { [name]: value } });
                    // that one problem and no other: the config is otherwise valid
                    assert.strictEqual(problems.length, 1, `${architecture} ${key}.${name}: ${problems.join("; ")}`);
                    assert.ok(problems[0].startsWith(`airflow:${key}.${name}: is set by this package`), `${architecture} ${key}.${name}: ${problems[0]}`);
                }
            }
        }
        // The list is the code's: no name in it that no pod is rendered with.
        assert.deepStrictEqual([...everywhere].sort(), [...ownedAirflowEnv("standalone"), ...Object.values(BUNDLE_AIRFLOW_ENV)].sort());
    });

    it("leaves the defaults it derives (the dag-processor's refresh interval) to extraEnv and secretEnv", () => {
        for (const name of Object.values(DERIVED_AIRFLOW_ENV)) {
            assert.ok(!ownedAirflowEnv("standalone").includes(name), name);
            const c = parseStackConfig(rawConfig({ dagProcessor: { extraEnv: { [name]: "10" } }, secretEnv: { [name]: { secretName: "s", key: "k" } } }));
            assert.strictEqual(c.dagProcessor.extraEnv[name], "10");
        }
    });
});

describe("program (index.ts)", () => {
    function loadProgram(config: Record<string, unknown>): ProgramRun {
        return runProgram(airflowKeys(config));
    }

    it("fails on invalid config before any resource is registered", async () => {
        // every registration from the moment the program starts loading, awaited to the end
        const run = await runProgramToEnd(airflowKeys({ architecture: "prod", scheduler: { replicas: 0 } }));
        assert.ok(run.error instanceof StackConfigError, `expected a config error, got ${run.error}`);
        assert.strictEqual(run.error.problems.length, 2, run.error.problems.join("\n"));
        assert.deepStrictEqual(registrations(run), []);
    });

    it("registers the whole stack for a valid config, through the same harness (the control of the tests that see nothing registered)", async () => {
        const run = await runProgramToEnd(airflowKeys({}));
        assert.ifError(run.error);
        const registered = registrations(run);
        // the component itself, the first object it makes, and the last ones (the workloads wait for the migration)
        for (const expected of [`${AIRFLOW_ON_KUBERNETES_TYPE}::airflow`, "kubernetes:core/v1:Namespace::namespace", "kubernetes:batch/v1:Job::airflow-migrate", "kubernetes:apps/v1:Deployment::airflow-scheduler"]) {
            assert.ok(registered.includes(expected), `${expected} not recorded; recorded:\n  ${registered.join("\n  ")}`);
        }
    });

    it("exports the outputs people and other stacks need, the admin password as a secret", async () => {
        const run = loadProgram({ namespace: "airflow-test" });
        assert.ifError(run.error);
        const { resolve } = await import("./support/harness");
        const out = run.exports as Record<string, unknown>;
        assert.strictEqual((await resolve(out.namespace)).value, "airflow-test");
        assert.strictEqual((await resolve(out.uiServiceName)).value, "airflow-api-server");
        assert.strictEqual((await resolve(out.uiUrl)).value, "http://airflow-api-server.airflow-test.svc:8080/");
        assert.strictEqual((await resolve(out.dagsClaimName)).value, "airflow-storage-dags");
        assert.strictEqual((await resolve(out.metadataSecretName)).value, "airflow-postgres-credentials");
        assert.strictEqual((await resolve(out.airflowImage)).value, `apache/airflow:${DEFAULT_AIRFLOW_VERSION}`);
        assert.match(String((await resolve(out.migrationJobName)).value), /^airflow-migrate-[0-9a-f]{10}$/);
        const password = await resolve(out.adminPassword);
        assert.strictEqual(password.secret, true, "adminPassword must be a secret output");
    });
});

describe("silently wrong configs, refused by key before anything is registered (issue 21)", () => {
    const digest = (hex: string) => `registry.example.com/tasks/pandas@sha256:${hex.repeat(32)}`;
    /** What the Pulumi CLI hands over for a key written without a value, e.g. `airflow:namespace:` (checked with v3.277: an empty string, with the warning that it will become null). */
    const NO_VALUE = "";
    const empty = (key: string) =>
        `airflow:${key}: must not be empty: the stack file gives it no value (YAML null, e.g. the key with nothing after its colon); give it a value, or remove the key (one with a default then takes it)`;

    it("refuses the same task name built (images.tasks) and prebuilt (images.taskImages): one would replace the other in task_images", () => {
        assert.deepStrictEqual(problemsOf({ images: { tasks: { pandas: { context: "images/tasks/example" } }, taskImages: { pandas: digest("cd"), other: digest("ef") } }, registry: { server: "registry.example.com/airflow" } }), [
            `airflow:images.taskImages.pandas: is also built from images.tasks.pandas: one would replace the other in the task_images Variable; a task name is either built (images.tasks) or prebuilt (images.taskImages), so drop one or rename it (got "${digest("cd")}")`,
        ]);
        // different names are both published
        assert.doesNotThrow(() => parseStackConfig(rawConfig({ images: { tasks: { pandas: { context: "images/tasks/example" } }, taskImages: { other: digest("ef") } }, registry: { server: "registry.example.com/airflow" } })));
    });

    it("refuses a key written without a value (YAML null) as empty, not as the text it arrives as", async () => {
        // top level: Pulumi passes "" (and "null" once it passes YAML null through), string keys included
        assert.deepStrictEqual(parseProblems({ namespace: NO_VALUE }), [empty("namespace")]);
        assert.deepStrictEqual(parseProblems({ namespace: "null", architecture: NO_VALUE, ui: NO_VALUE }), [empty("namespace"), empty("architecture"), empty("ui")]);
        // nested: the JSON null of the object's value; no second problem for the same key
        assert.deepStrictEqual(parseProblems({ scheduler: '{"replicas":null}' }), [empty("scheduler.replicas")]);
        assert.deepStrictEqual(parseProblems({ gitSync: '{"enabled":true,"mode":"sidecar","repo":"https://git.example.com/d.git","schedule":null}' }), [empty("gitSync.schedule")]);
        assert.deepStrictEqual(parseProblems({ architecture: "standalone", scheduler: NO_VALUE }), [empty("scheduler")]);
        // through the program: nothing registered
        const run = await runProgramToEnd(airflowKeys({ namespace: NO_VALUE }));
        assert.ok(run.error instanceof StackConfigError, String(run.error));
        assert.deepStrictEqual(run.error.problems, [empty("namespace")]);
        assert.deepStrictEqual(registrations(run), []);
    });

    it("refuses an Airflow image of another major version than airflowVersion (it only warned), and still only warns for the same major", () => {
        assert.deepStrictEqual(problemsOf({ images: { airflow: "apache/airflow:2.10.5-python3.12" } }), [
            'airflow:images.airflow: names Airflow 2.10.5 in its tag, another major version than airflowVersion 3.3.2: the package deploys Airflow 3 (the api-server, the execution API, its settings), which that image does not run; use an Airflow 3 image, ideally of airflowVersion (apache/airflow:3.3.2), or a digest (got "apache/airflow:2.10.5-python3.12")',
        ]);
        assert.deepStrictEqual(problemsOf({ images: { build: { enabled: true, baseImage: "apache/airflow:2.11.0" } }, registry: { server: "registry.example.com/airflow" } }), [
            'airflow:images.build.baseImage: names Airflow 2.11.0 in its tag, another major version than airflowVersion 3.3.2: the package deploys Airflow 3 (the api-server, the execution API, its settings), which that image does not run; use an Airflow 3 image, ideally of airflowVersion (apache/airflow:3.3.2), or a digest (got "apache/airflow:2.11.0")',
        ]);
        const run = runProgram(airflowKeys({ images: { airflow: "apache/airflow:3.2.1" } }));
        assert.ifError(run.error);
        assert.strictEqual(run.warnings.length, 1);
    });

    it("refuses registryPassword (or a provider's secret-looking key) in plain text in the stack file, and takes it encrypted", async () => {
        const config = airflowKeys({ images: { tasks: { pandas: { context: "images/tasks/example" } } }, registry: { server: "ghcr.io/acme", username: "ci" }, registryPassword: "hunter2" });
        const plain = await runProgramToEnd({ ...config, "gcp:accessToken": "ya29.token", "gcp:project": "acme-data" });
        assert.ok(plain.error instanceof StackConfigError, String(plain.error));
        assert.deepStrictEqual(plain.error.problems, [
            "airflow:registryPassword: is a secret and must not be plain text in the stack file: set it encrypted with pulumi config set --secret registryPassword <value> (the file then holds it as secure: ...)",
            "gcp:accessToken: is a secret and must not be plain text in the stack file: set it encrypted with pulumi config set --secret gcp:accessToken <value> (the file then holds it as secure: ...)",
        ]);
        assert.ok(!plain.error.message.includes("hunter2") && !plain.error.message.includes("ya29"), "the value is never repeated");
        assert.deepStrictEqual(registrations(plain), []);
        // the same values, held encrypted (pulumi config set --secret): accepted
        const encrypted = await runProgramToEnd({ ...config, "gcp:accessToken": "ya29.token" }, ["airflow:registryPassword", "gcp:accessToken"]);
        assert.ifError(encrypted.error);
        assert.ok(encrypted.recorded.some((x) => x.type === "docker:index/image:Image"));
    });

    it("says a missing required key is required (zod said \"expected string, received undefined\")", () => {
        assert.deepStrictEqual(problemsOf({ infrastructure: {} }), ["airflow:infrastructure.stack: is required"]);
        assert.deepStrictEqual(problemsOf({ secretEnv: { WAREHOUSE_URI: { secretName: "warehouse" } } }), ["airflow:secretEnv.WAREHOUSE_URI.key: is required"]);
        assert.deepStrictEqual(problemsOf({ dagProcessor: { extraInitContainers: [{ name: "prepare" }] } }), ["airflow:dagProcessor.extraInitContainers.0.image: is required"]);
        assert.deepStrictEqual(problemsOf({ apiServer: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname" }] } }), [
            'airflow:apiServer.topologySpreadConstraints.0.whenUnsatisfiable: is required: one of "DoNotSchedule"|"ScheduleAnyway"',
        ]);
    });
});

/** Problems of raw config strings, as Pulumi hands them over (no JSON encoding of strings). */
function parseProblems(raw: Record<string, string>): string[] {
    try {
        parseStackConfig(raw);
    } catch (e) {
        assert.ok(e instanceof StackConfigError, String(e));
        return e.problems;
    }
    assert.fail(`config was accepted: ${JSON.stringify(raw)}`);
}
