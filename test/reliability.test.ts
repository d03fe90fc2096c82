// Issue 21, deliverables 3-5 (config and rendering): database snapshots before schema-changing
// migrations, on demand and restored (database.backup), and key rotation by one setting
// (keys.generation). The lab runs them for real: test-e2e/airflow/reliability.e2e.ts.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig, StackConfigError, StackConfigInput } from "../components/config";
import { keySlots, slotKeepers } from "../components/airflowKeys";
import { restoreScript, snapshotScript } from "../components/databaseBackup";
import { restoreDatabase } from "../scripts/dbRestore";
import { container, envOf, find, ofKind, Rendered, renderStack, workerPodTemplate } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const problems = (config: Record<string, unknown>): string[] => {
    try {
        parseStackConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])));
    } catch (e) {
        assert.ok(e instanceof StackConfigError, String(e));
        return e.problems;
    }
    assert.fail(`accepted ${JSON.stringify(config)}`);
};
const migrationJob = (r: Rendered) => ofKind(r.objects, "Job").find((j) => j.metadata.name.startsWith("airflow-migrate-"));
const BACKUP: StackConfigInput = { database: { backup: { enabled: true, retain: 3 } } };

describe("database.backup: config", () => {
    it("is off by default, and its keys are checked by name", () => {
        const c = parseStackConfig({});
        assert.deepStrictEqual([c.database.backup.enabled, c.database.backup.retain, c.database.backup.schedule], [false, 5, undefined]);
        assert.deepStrictEqual(problems({ database: { backup: { enabled: true, retain: 0, schedule: "every day", storageSize: "lots" } } }), [
            "airflow:database.backup.retain: must be at least 1 (the snapshot just taken) (got 0)",
            'airflow:database.backup.schedule: must be a cron schedule with five fields (minute hour day-of-month month day-of-week), such as */5 * * * *; got 2 (got "every day")',
            'airflow:database.backup.storageSize: must be a Kubernetes quantity such as 250m, 1, 0.5, 512Mi or 20Gi (got "lots")',
        ]);
    });

    it("refuses what the chosen setup would ignore: keys while off, a size beside an existing claim, a schedule or resources in standalone", () => {
        assert.deepStrictEqual(problems({ database: { backup: { retain: 3 } } }), [
            "airflow:database.backup.retain: has no effect while database.backup.enabled is not true: set database.backup.enabled: true, or remove it",
        ]);
        assert.deepStrictEqual(problems({ database: { backup: { enabled: true, claimName: "backups", storageSize: "20Gi" } } }), [
            "airflow:database.backup.storageSize: sizes the snapshot claim the package makes, and database.backup.claimName names an existing one instead: remove one of them",
        ]);
        assert.deepStrictEqual(problems({ architecture: "standalone", database: { backup: { enabled: true, schedule: "0 3 * * *", resources: { limits: { cpu: "1" } } } } }), [
            "airflow:database.backup.schedule: is not used by the standalone architecture, whose Postgres runs in the Airflow pod: take snapshots with npm run db:restore -- --snapshot-now (docs/operations.md)",
            "airflow:database.backup.resources: is not used by the standalone architecture: its snapshots and restores run in the pod's Postgres container, sized by database.resources",
        ]);
        // what standalone takes
        assert.strictEqual(
            parseStackConfig({ architecture: "standalone", database: JSON.stringify({ backup: { enabled: true, retain: 2, storageSize: "4Gi" } }) }).database.backup.retain,
            2,
        );
    });

    it("keys.generation is a whole number from 0", () => {
        assert.strictEqual(parseStackConfig({}).keys.generation, 0);
        assert.deepStrictEqual(problems({ keys: { generation: -1 } }), ["airflow:keys.generation: must be 0 or more (got -1)"]);
        assert.deepStrictEqual(problems({ keys: { generation: 1.5, rotate: true } }), [
            "airflow:keys.generation: must be a whole number: 0 for the first keys, then 1, 2, ... (raise it by one to rotate) (got 1.5)",
            'airflow:keys: unknown key "rotate"; allowed: generation',
        ]);
    });
});

describe("database.backup: what production renders", () => {
    let on: Rendered;
    let off: Rendered;
    before(async () => {
        off = await renderStack({});
        on = await renderStack(BACKUP);
    });

    it("a claim, the scripts, a suspended snapshot CronJob and a restore CronJob that never runs by itself; none when off", () => {
        assertValidObjects(on.objects);
        const claim = find(on.objects, "PersistentVolumeClaim", "airflow-db-backups");
        assert.deepStrictEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
        assert.strictEqual(claim.spec.resources.requests.storage, "8Gi");
        const cron = (name: string) => find(on.objects, "CronJob", `airflow-${name}`);
        assert.deepStrictEqual([cron("db-snapshot").spec.suspend, cron("db-restore").spec.suspend], [true, true]);
        const restore = cron("db-restore").spec.jobTemplate.spec;
        assert.strictEqual(restore.backoffLimit, 0, "a failed restore is looked at, not retried");
        const c = container(restore.template.spec, "db-restore");
        assert.deepStrictEqual(c.command, ["sh", "/opt/db-backup/restore.sh"]);
        assert.deepStrictEqual(envOf(c).DATABASE_URI, { secretKeyRef: { name: "airflow-postgres-credentials", key: "connection" } });
        assert.strictEqual(envOf(c).BACKUP_RETAIN, "3");
        for (const kind of ["PersistentVolumeClaim", "ConfigMap", "CronJob"]) {
            assert.deepStrictEqual(
                ofKind(off.objects, kind).filter((o) => /db-(backups|snapshot|restore)/.test(o.metadata.name)),
                [],
                `no ${kind} of the snapshots when off`,
            );
        }
    });

    it("a schedule makes the snapshot CronJob run by itself", async () => {
        const r = await renderStack({ database: { backup: { enabled: true, schedule: "0 2 * * *" } } });
        const cron = find(r.objects, "CronJob", "airflow-db-snapshot").spec;
        assert.deepStrictEqual(
            [cron.schedule, cron.suspend, container(cron.jobTemplate.spec.template.spec, "db-snapshot").command],
            ["0 2 * * *", false, ["sh", "/opt/db-backup/snapshot.sh", "scheduled"]],
        );
    });

    it("the migration Job checks the schema with its image, then snapshots, then migrates; a new Job name", () => {
        const job = migrationJob(on);
        assert.notStrictEqual(job.metadata.name, migrationJob(off).metadata.name, "a Job template cannot change: the snapshot step comes with a new name");
        const spec = job.spec.template.spec;
        assert.deepStrictEqual(
            spec.initContainers.map((c: any) => c.name),
            ["schema-check", "snapshot"],
        );
        const [check, snapshot] = spec.initContainers;
        assert.strictEqual(check.image, container(spec, "migrate").image, "the schema check runs the image that migrates");
        assert.match(check.args[2], /airflow db check-migrations --migration-wait-timeout 1/);
        assert.deepStrictEqual(snapshot.command, ["sh", "/opt/db-backup/snapshot.sh", "pre-migration"]);
        assert.match(snapshot.image, /postgres/, "pg_dump of the server's own version");
        // the decision passes from one to the other in an emptyDir
        const mounts = (c: any) => c.volumeMounts.map((m: any) => `${m.name}:${m.mountPath}`);
        assert.ok(mounts(check).includes("snapshot-state:/snapshot-state") && mounts(snapshot).includes("snapshot-state:/snapshot-state"));
        assert.ok(mounts(snapshot).includes("db-backups:/backups"));
        assert.ok(
            on.dependsOn.get(job.metadata.name.replace(/-[0-9a-f]{10}$/, ""))?.some((d) => d.includes("db-backups")),
            "the Job waits for the claim and scripts",
        );
    });

    it("the NetworkPolicies let the snapshot and restore pods, and only with backups on, reach Postgres", () => {
        const selector = (r: Rendered) => find(r.objects, "NetworkPolicy", "airflow-allow-postgres").spec.ingress[0].from[0].podSelector.matchExpressions[0].values;
        assert.ok(selector(on).includes("db-snapshot") && selector(on).includes("db-restore"), String(selector(on)));
        assert.ok(!selector(off).includes("db-snapshot"));
    });
});

describe("database.backup: the standalone pod", () => {
    it("mounts the claim and scripts in its Postgres container and restores at start when asked", async () => {
        const r = await renderStack({ architecture: "standalone", database: { backup: { enabled: true } } });
        assertValidObjects(r.objects);
        const spec = find(r.objects, "StatefulSet", "airflow").spec.template.spec;
        const postgres = container(spec, "postgres");
        assert.ok(postgres.volumeMounts.some((m: any) => m.name === "db-backups" && m.mountPath === "/backups"));
        const restore = spec.initContainers[0];
        assert.deepStrictEqual([restore.name, restore.command, restore.image], ["db-restore", ["sh", "/opt/db-backup/restore-on-start.sh"], postgres.image]);
        assert.deepStrictEqual(
            restore.volumeMounts.map((m: any) => m.name).sort(),
            ["data", "db-backup-scripts", "db-backups", "postgres-run", "postgres-tmp"],
            "the restore runs on the pod's data before Postgres and Airflow start",
        );
        assert.deepStrictEqual(ofKind(r.objects, "CronJob"), [], "no CronJobs in standalone");
    });
});

describe("database.backup: the scripts (fake pg tools on PATH)", () => {
    let root: string;
    const run = (script: string, args: string[], env: Record<string, string>) =>
        execFileSync("sh", ["-c", script, "script", ...args], {
            stdio: ["ignore", "pipe", "pipe"],
            env: { PATH: `${root}/bin:${process.env.PATH}`, BACKUPS_DIR: `${root}/backups`, SNAPSHOT_STATE_DIR: `${root}/state`, ...env },
            encoding: "utf8",
        });
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "db-backup-"));
        for (const d of ["bin", "backups", "state"]) fs.mkdirSync(path.join(root, d));
        // psql answers the two questions the script asks; pg_dump and pg_restore record their arguments
        const tool = (name: string, body: string) => fs.writeFileSync(path.join(root, "bin", name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
        tool("psql", `case "$*" in *to_regclass*) echo "\${FAKE_HAS_SCHEMA:-t}";; *alembic_version*) echo 0123abcd;; esac`);
        tool("pg_dump", `echo "$@" >> "${root}/calls"; for a; do case "$a" in --file=*) echo dump > "\${a#--file=}";; esac; done`);
        tool("pg_restore", `echo "pg_restore $*" >> "${root}/calls"`);
        tool("pg_isready", "exit 0");
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
    const listing = () => fs.readdirSync(path.join(root, "backups")).sort();
    const uri = { DATABASE_URI: "postgresql+psycopg2://airflow:pw@db:5432/airflow", BACKUP_RETAIN: "2", KEY_GENERATION: "4" };

    it("pre-migration: no dump while the schema is current or absent, one when it changes", () => {
        fs.writeFileSync(path.join(root, "state", "schema"), "current\n");
        assert.match(run(snapshotScript(), ["pre-migration"], uri), /schema is current/);
        fs.writeFileSync(path.join(root, "state", "schema"), "pending\n");
        assert.match(run(snapshotScript(), ["pre-migration"], { ...uri, FAKE_HAS_SCHEMA: "f" }), /no Airflow schema in the database yet/);
        assert.deepStrictEqual(listing(), []);
        const out = run(snapshotScript(), ["pre-migration"], uri);
        assert.match(out, /^snapshot airflow-\d{8}T\d{6}Z-g4-pre-migration-0123abcd\.dump: 5 bytes, schema revision 0123abcd$/m);
        // libpq's URI, without SQLAlchemy's driver
        assert.match(fs.readFileSync(path.join(root, "calls"), "utf8"), /^postgresql:\/\/airflow:pw@db:5432\/airflow --format=custom/);
    });

    it("keeps the newest BACKUP_RETAIN snapshots; restore picks the newest, a named one, or refuses a path", () => {
        for (const t of ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"]) fs.writeFileSync(path.join(root, "backups", `airflow-${t}-g0-manual-aa.dump`), "x");
        const out = run(snapshotScript(), ["manual"], uri);
        assert.match(out, /deleted airflow-20260102T000000Z-g0-manual-aa.dump \(keeping the newest 2\)/);
        assert.deepStrictEqual(listing().length, 2);
        assert.ok(listing().includes("airflow-20260103T000000Z-g0-manual-aa.dump"));
        const newest = listing().sort().reverse()[0];
        assert.match(run(restoreScript(), [], { ...uri, SNAPSHOT: "latest" }), new RegExp(`restored ${newest}: schema revision 0123abcd`));
        run(restoreScript(), [], { ...uri, SNAPSHOT: "airflow-20260103T000000Z-g0-manual-aa.dump" });
        const calls = fs.readFileSync(path.join(root, "calls"), "utf8");
        assert.match(
            calls,
            /pg_restore --dbname=postgresql:\/\/airflow:pw@db:5432\/airflow --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error .*airflow-20260103T000000Z-g0-manual-aa.dump/,
        );
        assert.throws(() => run(restoreScript(), [], { ...uri, SNAPSHOT: "../etc/passwd" }), /Command failed/);
        assert.throws(() => run(restoreScript(), [], { ...uri, SNAPSHOT: "airflow-29990101T000000Z-g0-manual-aa.dump" }), /Command failed/);
    });
});

describe("keys.generation: rotation", () => {
    const secret = (r: Rendered) => ofKind(r.objects, "Secret").find((x) => x.metadata.labels["app.kubernetes.io/component"] === "keys").stringData;
    const passwords = (r: Rendered) =>
        r.resources
            .filter((x) => x.type === "random:index/randomPassword:RandomPassword")
            .map((x) => `${x.name} ${JSON.stringify(x.inputs.keepers ?? null)}`)
            .sort();

    it("alternates two random slots: the new generation replaces one, the other still holds the previous key", () => {
        assert.deepStrictEqual(keySlots(0), [{ slot: "even", generation: 0, current: true }]);
        assert.deepStrictEqual(keySlots(1), [
            { slot: "even", generation: 0, current: false },
            { slot: "odd", generation: 1, current: true },
        ]);
        assert.deepStrictEqual(keySlots(2), [
            { slot: "even", generation: 2, current: true },
            { slot: "odd", generation: 1, current: false },
        ]);
        assert.deepStrictEqual(keySlots(3), [
            { slot: "even", generation: 2, current: false },
            { slot: "odd", generation: 3, current: true },
        ]);
        // generation 0 keeps the resources of a stack made before rotation existed: no keepers, no replacement
        assert.deepStrictEqual([slotKeepers(0), slotKeepers(2)], [undefined, { generation: "2" }]);
    });

    it("generation 0 renders as before: one Fernet key, no annotation, no rotation Job", async () => {
        const r = await renderStack({});
        assert.ok(!secret(r)["fernet-key"].includes(","));
        assert.deepStrictEqual(passwords(r), [
            "airflow-keys-admin-password null",
            "airflow-keys-api-secret-key null",
            "airflow-keys-fernet-seed null",
            "airflow-keys-jwt-secret null",
            "airflow-postgres-password null",
        ]);
        for (const d of ofKind(r.objects, "Deployment")) assert.strictEqual(d.spec.template.metadata.annotations?.["airflow.pulumi.com/key-generation"], undefined);
        assert.deepStrictEqual(
            ofKind(r.objects, "Job").filter((j) => j.metadata.name.includes("rotate")),
            [],
        );
    });

    it("generation 1: the new key first and the previous second, the API secret key renewed, the control plane restarted, then rotate-fernet-key", async () => {
        const before = await renderStack({});
        const r = await renderStack({ keys: { generation: 1 } });
        assertValidObjects(r.objects);
        const [first, second] = secret(r)["fernet-key"].split(",");
        assert.strictEqual(second, secret(before)["fernet-key"], "the previous key stays, second");
        assert.notStrictEqual(first, second);
        assert.match(first, /^[A-Za-z0-9_-]{43}=$/, "a Fernet key");
        assert.deepStrictEqual(passwords(r), [
            "airflow-keys-admin-password null",
            'airflow-keys-api-secret-key {"generation":"1"}',
            "airflow-keys-fernet-seed null",
            'airflow-keys-fernet-seed-odd {"generation":"1"}',
            "airflow-keys-jwt-secret null",
            'airflow-keys-jwt-secret-odd {"generation":"1"}',
            "airflow-postgres-password null",
        ]);
        for (const name of ["scheduler", "api-server", "dag-processor", "triggerer"]) {
            assert.strictEqual(find(r.objects, "Deployment", `airflow-${name}`).spec.template.metadata.annotations["airflow.pulumi.com/key-generation"], "1", name);
        }
        // a new Secret per generation (the provider replaces a changed Secret; under its old name it would delete the Deployments with it)
        assert.deepStrictEqual(
            ofKind(r.objects, "Secret")
                .filter((x) => x.metadata.labels["app.kubernetes.io/component"] === "keys")
                .map((x) => x.metadata.name),
            ["airflow-keys-g1"],
        );
        assert.deepStrictEqual(envOf(container(find(r.objects, "Deployment", "airflow-scheduler").spec.template.spec, "scheduler")).AIRFLOW__CORE__FERNET_KEY, {
            secretKeyRef: { name: "airflow-keys-g1", key: "fernet-key" },
        });
        assert.notStrictEqual(
            migrationJob(r).metadata.name,
            migrationJob(before).metadata.name,
            "the migration Job reads the admin password from the new Secret: a new Job, never one replaced in place",
        );
        const job = find(r.objects, "Job", "airflow-rotate-keys-g1");
        assert.deepStrictEqual(container(job.spec.template.spec, "rotate-keys").args, ["rotate-fernet-key"]);
        assert.deepStrictEqual(
            [...(r.dependsOn.get("airflow-rotate-keys") ?? [])].sort(),
            ["airflow-api-server", "airflow-dag-processor", "airflow-scheduler", "airflow-triggerer"],
            "after every Deployment rolled out with both keys",
        );
        // workers carry no Fernet key: their pod template does not change
        assert.deepStrictEqual(workerPodTemplate(r.objects), workerPodTemplate(before.objects));
    });

    it("JWTs from generation 1: the scheduler and API server sign with an Ed25519 key and trust this and the previous generation's key", async () => {
        const zero = await renderStack({});
        const one = await renderStack({ keys: { generation: 1 } });
        const two = await renderStack({ keys: { generation: 2 } });
        const jwks = (r: Rendered) => JSON.parse(secret(r)["jwt-jwks.json"]).keys as Record<string, string>[];
        assert.deepStrictEqual([secret(zero)["jwt-jwks.json"], secret(zero)["jwt-private-key.pem"]], [undefined, undefined], "generation 0: the symmetric secret only");
        // generation 0's tokens carry kid "not-used" (no jwt_kid) and are HS512 with its secret
        assert.deepStrictEqual(
            jwks(one).map((k) => [k.kid, k.alg, k.kty]),
            [
                ["airflow-g1", "EdDSA", "OKP"],
                ["not-used", "HS512", "oct"],
            ],
        );
        assert.strictEqual(Buffer.from(jwks(one)[1].k, "base64url").toString(), secret(zero)["jwt-secret"]);
        assert.deepStrictEqual(
            jwks(two).map((k) => [k.kid, k.alg]),
            [
                ["airflow-g2", "EdDSA"],
                ["airflow-g1", "EdDSA"],
            ],
        );
        assert.deepStrictEqual(jwks(two)[1], jwks(one)[0], "generation 1's public key stays trusted in generation 2");
        assert.match(secret(one)["jwt-private-key.pem"], /^-----BEGIN PRIVATE KEY-----\n/);
        for (const name of ["scheduler", "api-server"]) {
            const spec = find(one.objects, "Deployment", `airflow-${name}`).spec.template.spec;
            const env = envOf(container(spec, name));
            assert.deepStrictEqual(
                [env.AIRFLOW__API_AUTH__JWT_PRIVATE_KEY_PATH, env.AIRFLOW__API_AUTH__TRUSTED_JWKS_URL, env.AIRFLOW__API_AUTH__JWT_KID],
                ["/etc/airflow/jwt/private.pem", "/etc/airflow/jwt/jwks.json", "airflow-g1"],
                name,
            );
            const volume = spec.volumes.find((v: any) => v.name === "jwt-keys");
            assert.deepStrictEqual(
                volume.secret.items.map((i: any) => i.key),
                ["jwt-private-key.pem", "jwt-jwks.json"],
            );
        }
        for (const name of ["dag-processor", "triggerer"]) {
            const spec = find(one.objects, "Deployment", `airflow-${name}`).spec.template.spec;
            assert.strictEqual(envOf(container(spec, name)).AIRFLOW__API_AUTH__TRUSTED_JWKS_URL, undefined, name);
        }
        // a user may not set what the rotation drives
        assert.match(problems({ extraEnv: { AIRFLOW__API_AUTH__JWT_KID: "mine" } })[0], /^airflow:extraEnv.AIRFLOW__API_AUTH__JWT_KID: is set by this package/);
    });

    it("generation 2: the generation-1 key second, the first one gone", async () => {
        const one = await renderStack({ keys: { generation: 1 } });
        const two = await renderStack({ keys: { generation: 2 } });
        // the mocks derive a value from the resource's name: the odd slot (generation 1) is the same resource in both
        assert.strictEqual(secret(two)["fernet-key"].split(",")[1], secret(one)["fernet-key"].split(",")[0]);
        assert.ok(passwords(two).includes('airflow-keys-fernet-seed {"generation":"2"}'));
        find(two.objects, "Job", "airflow-rotate-keys-g2");
    });

    it("standalone: the pod restarts with the new keys and re-encrypts before its processes start", async () => {
        const r = await renderStack({ architecture: "standalone", keys: { generation: 1 } });
        const sts = find(r.objects, "StatefulSet", "airflow");
        assert.strictEqual(sts.spec.template.metadata.annotations["airflow.pulumi.com/key-generation"], "1");
        const script = container(sts.spec.template.spec, "airflow").args[2] as string;
        assert.ok(
            script.indexOf("airflow rotate-fernet-key") > script.indexOf("airflow db migrate") &&
                script.indexOf("airflow rotate-fernet-key") < script.indexOf("airflow api-server"),
            script,
        );
        const zero = await renderStack({ architecture: "standalone" });
        assert.ok(!(container(find(zero.objects, "StatefulSet", "airflow").spec.template.spec, "airflow").args[2] as string).includes("rotate-fernet-key"));
    });
});

describe("npm run db:restore", () => {
    it("refuses a snapshot name that is not one (before any kubectl call)", async () => {
        const o = { namespace: "airflow", instance: "airflow", snapshotNow: false, timeoutSec: 1, log: () => {} };
        for (const snapshot of ["'; rm -rf /", "../x.dump", "airflow-1-g0-manual-ab.sql"]) {
            await assert.rejects(restoreDatabase({ ...o, snapshot }), /--snapshot must be latest, none or a snapshot's file name/, snapshot);
        }
    });
});
