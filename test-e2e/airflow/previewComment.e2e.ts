// The pull-request comment (scripts/previewComment.ts) from a real `pulumi preview --json --diff`: the
// `local` stack deployed on the lab through the engine (local backend), then one setting changed at a
// time. The comment must name exactly the resources that setting touches, where "touches" comes from
// an independent oracle: the objects whose rendering (scripts/render.ts, the real program under mocks)
// differs between the two configs. Secret values must never reach the comment, even from a preview
// run with --show-secrets (the engine's JSON masks them either way; the spec checks that too).
// Needs the engine: without the CLI and its plugins the spec says so and skips.
// Run: node_modules/.bin/mocha --no-config --require ts-node/register/transpile-only --timeout 1200000 test-e2e/airflow/previewComment.e2e.ts
// AIRFLOW_LAB_PREVIEW_RECORD=<dir> keeps the previews' JSON (the unit tests' recordings come from there).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { kubectl, labVolumes } from "../../lab/ts";
import { waitReady } from "../../lab/ts/airflow/cluster";
import { deploy, deployPath, destroy, labStackOverrides, previewJson, renderObjects, writeStackConfig } from "../../lab/ts/airflow/deploy";
import { type Change, changes, type PreviewJson, previewComment, SECRET_MASK } from "../../scripts/previewComment";

const log = (line: string) => process.stdout.write(`      ${line}\n`);
const STACK = "lab-preview";
const NS = "airflow-local"; // Pulumi.local.yaml

const ref = (o: { kind?: string; metadata?: { name?: string } } | undefined) => `${o?.kind}/${o?.metadata?.name}`;

/** The objects whose rendering differs between two stack configs (added, removed or changed), as Kind/name. */
function renderedDifference(before: string, after: string): string[] {
    const index = (file: string) => new Map(renderObjects(file).map((o) => [ref(o), JSON.stringify(o)] as const));
    const a = index(before);
    const b = index(after);
    return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

/** The Kubernetes object a changed resource is, as Kind/name, from the engine's own step states. */
function objectOf(preview: PreviewJson, change: Change): string {
    const step = (preview.steps ?? []).find((s) => s.urn === change.urn && (s.newState?.inputs || s.oldState?.inputs));
    const inputs = (step?.newState?.inputs ?? step?.oldState?.inputs) as { kind?: string; metadata?: { name?: string } } | undefined;
    return ref(inputs);
}

/** The Name column of the comment's table. */
function namesInComment(comment: string): string[] {
    return comment
        .split("\n")
        .filter((l) => /^\| [~+-]/.test(l))
        .map((l) => l.split(" | ")[2].replace(/`/g, ""))
        .sort();
}

/** Every value of the stack's generated Secrets (Airflow's keys, the admin password, the database's credentials), read from the cluster. */
function secretValues(): string[] {
    const list = JSON.parse(kubectl(["get", "secrets", "-n", NS, "-o", "json"]).stdout).items as { metadata: { name: string }; data?: Record<string, string> }[];
    return list
        .filter((s) => ["airflow-keys", "airflow-postgres-credentials"].includes(s.metadata.name))
        .flatMap((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, "base64").toString("utf8")))
        .filter((v) => v.length >= 8);
}

describe("the pull-request comment from a real `pulumi preview --json --diff` (level 2)", function () {
    this.bail(true);
    const via = deployPath();
    const record = process.env.AIRFLOW_LAB_PREVIEW_RECORD;
    let baseFile = "";
    let deployed = false;

    const preview = (name: string, configFile: string, showSecrets = false) => {
        const t = Date.now();
        const r = previewJson(STACK, configFile, showSecrets);
        log(
            `pulumi preview --json --diff${showSecrets ? " --show-secrets" : ""} (${name}): exit ${r.code}, ${((Date.now() - t) / 1000).toFixed(1)}s, ${r.json.length} bytes of JSON`,
        );
        assert.strictEqual(r.code, 0, `the preview failed:\n${r.stderr.slice(-3000)}`);
        if (record && !showSecrets) {
            fs.mkdirSync(record, { recursive: true });
            fs.writeFileSync(path.join(record, `${name}.json`), r.json);
        }
        const json = JSON.parse(r.json) as PreviewJson;
        return { json, raw: r.json, comment: previewComment(json, { stack: STACK, exitCode: r.code }) };
    };

    /** One setting changed: the comment's rows are exactly the objects whose rendering that setting changes. */
    const checkOneSetting = (name: string, overrides: Record<string, unknown>) => {
        const file = writeStackConfig(`${STACK}-${name}`, { ...labStackOverrides(), ...overrides });
        const expected = renderedDifference(baseFile, file);
        const p = preview(name, file);
        const list = changes(p.json);
        log(`${name}: the render changes ${expected.join(", ")}; the comment names ${list.map((c) => `${c.op} ${c.name}`).join(", ")}`);
        assert.deepStrictEqual(list.map((c) => objectOf(p.json, c)).sort(), expected, "the preview's changed resources are the objects the setting changes");
        assert.deepStrictEqual(namesInComment(p.comment), list.map((c) => c.name).sort(), "one row per changed resource, and no other");
        return { ...p, list, file };
    };

    before(function () {
        log(`deploy path: ${via.path} (${via.why})`);
        if (via.path !== "pulumi") {
            log("skipping: the comment summarises the Pulumi engine's preview, which needs the pulumi CLI and its plugins");
            this.skip();
        }
    });

    after(function () {
        if (deployed) destroy(STACK, "pulumi", baseFile, NS);
    });

    it("deploys the local stack through the engine; the unchanged config's comment says no changes", async function () {
        baseFile = writeStackConfig(STACK, labStackOverrides());
        labVolumes(8);
        deployed = true;
        deploy(STACK, baseFile, "pulumi", log);
        await waitReady(NS, 600);
        const p = preview("unchanged", baseFile);
        assert.deepStrictEqual(changes(p.json), []);
        assert.match(p.comment, /\*\*No changes\*\*/);
        log(p.comment.split("\n").slice(0, 4).join(" / "));
    });

    it("scheduler.replicas 1 → 2: the comment names the scheduler's Deployment and its new PodDisruptionBudget, and only them", function () {
        const p = checkOneSetting("scheduler-replicas", { scheduler: { replicas: 2 } });
        const deployment = p.list.find((c) => c.type === "kubernetes:apps/v1:Deployment");
        assert.ok(deployment, "the scheduler's Deployment changes");
        // more than one replica is also spread over nodes (components/kubernetesScheduling.ts)
        assert.deepStrictEqual(
            deployment.properties.map((x) => `${x.path}: ${x.before} → ${x.after}`),
            ["spec.replicas: 1 → 2", "spec.template.spec.topologySpreadConstraints: undefined → [1 item]"],
        );
        assert.ok(
            p.list.some((c) => c.type === "kubernetes:policy/v1:PodDisruptionBudget" && c.op === "create"),
            "a PodDisruptionBudget is created",
        );
        log(`comment:\n${p.comment}`);
    });

    it("ui.authManager: simple — the keys Secret's new entry shows as [secret], and no secret value reaches the comment, even with --show-secrets", function () {
        const p = checkOneSetting("simple-auth", { ui: { authManager: "simple" } });
        const keys = p.list.find((c) => c.type === "kubernetes:core/v1:Secret");
        assert.ok(keys, "the keys Secret changes");
        assert.ok(
            keys.properties.length > 0 && keys.properties.every((x) => x.after === SECRET_MASK),
            `every changed entry of the Secret is masked: ${JSON.stringify(keys.properties)}`,
        );
        const secrets = secretValues();
        assert.ok(secrets.length >= 5, `the stack's generated secrets, read from the cluster (${secrets.length})`);
        const shown = preview("simple-auth", p.file, true);
        for (const [label, text] of [
            ["the preview's JSON", p.raw],
            ["the --show-secrets preview's JSON", shown.raw],
            ["the comment", p.comment],
            ["the comment of the --show-secrets preview", shown.comment],
        ]) {
            const leaked = secrets.filter((s) => text.includes(s) || text.includes(Buffer.from(s).toString("base64")));
            assert.strictEqual(leaked.length, 0, `${leaked.length} secret value(s) in ${label}`);
        }
        assert.strictEqual(shown.comment, p.comment, "--show-secrets changes nothing in the comment");
        log(`${secrets.length} secret values checked absent from both comments; the Secret's row: ${p.comment.split("\n").find((l) => l.includes("kubernetes:core/v1:Secret"))}`);
    });
});
