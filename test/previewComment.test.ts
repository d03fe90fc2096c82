// The pull-request comment (scripts/previewComment.ts) on previews recorded from real runs of
// `pulumi preview --json --diff` on this machine (test/recordings/preview/README.md says how each was
// made): the `local` stack deployed on the lab, then one setting changed; and a preview that failed.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { changes, marker, type PreviewJson, parsePath, previewComment, SECRET_MASK, urnName, urnType } from "../scripts/previewComment";

const RECORDINGS = path.join(__dirname, "recordings", "preview");
const recording = (name: string): PreviewJson => JSON.parse(fs.readFileSync(path.join(RECORDINGS, `${name}.json`), "utf8"));
const STACK = "lab-preview";

/** The table's rows: operation, type, name, changed properties. */
function rows(comment: string): string[][] {
    return comment
        .split("\n")
        .filter((l) => /^\| [~+-]/.test(l))
        .map((l) =>
            l
                .slice(2, -2)
                .split(" | ")
                .map((c) => c.trim()),
        );
}

/** Every "[secret]" the recording holds, by where: the engine's mask for a secret value. */
function secretMarkers(preview: PreviewJson): string[] {
    const found: string[] = [];
    const walk = (v: unknown, where: string): void => {
        if (v === SECRET_MASK) found.push(where);
        else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
    };
    for (const step of preview.steps ?? []) walk({ old: step.oldState, new: step.newState }, urnName(step.urn));
    return found;
}

describe("the pull-request comment from `pulumi preview --json --diff` (scripts/previewComment.ts)", () => {
    it("reads the engine's property paths: dots, indexes, quoted keys", () => {
        assert.deepStrictEqual(parsePath("spec.template.spec.containers[0].image"), ["spec", "template", "spec", "containers", 0, "image"]);
        assert.deepStrictEqual(parsePath('metadata.annotations["pulumi.com/skipAwait"]'), ["metadata", "annotations", "pulumi.com/skipAwait"]);
        assert.deepStrictEqual(parsePath('data["a\\"b"]'), ["data", 'a"b']);
        assert.deepStrictEqual(parsePath("spec"), ["spec"]);
    });

    it("names a resource by its URN: the type after the last parent, and the name", () => {
        const urn = "urn:pulumi:prod::airflow::airflow-kubernetes:index:AirflowOnKubernetes$kubernetes:apps/v1:Deployment::airflow-scheduler";
        assert.strictEqual(urnType(urn), "kubernetes:apps/v1:Deployment");
        assert.strictEqual(urnName(urn), "airflow-scheduler");
    });

    it("an unchanged stack: no rows, and the engine's count of unchanged resources", () => {
        const preview = recording("unchanged");
        const comment = previewComment(preview, { stack: STACK, exitCode: 0 });
        assert.deepStrictEqual(rows(comment), []);
        assert.ok(comment.startsWith(`${marker(STACK)}\n`), "the marker the workflow finds its comment by comes first");
        assert.match(comment, new RegExp(`\\*\\*No changes\\*\\*: ${preview.changeSummary?.same} resource\\(s\\) unchanged`));
        assert.ok((preview.changeSummary?.same ?? 0) > 30, "the recording is of the whole deployed stack");
    });

    it("scheduler.replicas 1 → 2: the scheduler's Deployment (spec.replicas 1 → 2) and its new PodDisruptionBudget, nothing else", () => {
        const preview = recording("scheduler-replicas");
        const comment = previewComment(preview, { stack: STACK, exitCode: 0 });
        assert.deepStrictEqual(rows(comment), [
            ["~ update", "`kubernetes:apps/v1:Deployment`", "`airflow-scheduler`", "`spec.replicas`: 1 → 2<br>`spec.template.spec.topologySpreadConstraints`: ∅ → [1 item]"],
            ["+ create", "`kubernetes:policy/v1:PodDisruptionBudget`", "`airflow-scheduler`", ""],
        ]);
        assert.match(comment, /\*\*2 resource\(s\) change\*\*: 1 to create, 1 to update; \d+ unchanged\./);
        assert.strictEqual(
            changes(preview).length,
            Object.entries(preview.changeSummary ?? {})
                .filter(([op]) => op !== "same" && op !== "read")
                .reduce((n, [, c]) => n + c, 0),
        );
    });

    it("ui.authManager simple: the keys Secret's new entry shows as [secret]; the workloads replaced with it are named, each once", () => {
        const preview = recording("simple-auth");
        const comment = previewComment(preview, { stack: STACK, exitCode: 0 });
        const table = rows(comment);
        assert.deepStrictEqual(
            table.map((r) => `${r[0]} ${r[1]} ${r[2]}`),
            [
                "+- replace `kubernetes:apps/v1:Deployment` `airflow-api-server`",
                "+- replace `kubernetes:apps/v1:Deployment` `airflow-dag-processor`",
                "+- replace `kubernetes:apps/v1:Deployment` `airflow-scheduler`",
                "+- replace `kubernetes:apps/v1:Deployment` `airflow-triggerer`",
                "~ update `kubernetes:batch/v1:CronJob` `airflow-db-clean`",
                "+- replace `kubernetes:batch/v1:Job` `airflow-migrate`",
                "+- replace `kubernetes:core/v1:Secret` `airflow-keys`",
            ],
        );
        assert.strictEqual(table[6][3], '`data["simple-auth-passwords.json"]` (replaces): ∅ → [secret]');
        // the engine gives no property diff for what it replaces with a replaced dependency: the comment says so
        assert.strictEqual(table[0][3], "no property diff from the engine: replaced along with a resource it depends on");
        // a long value keeps its start and its end
        assert.strictEqual(
            table[4][3],
            '`spec.jobTemplate.spec.template.spec.containers[0].env[10].value`: "airflow.providers.fab.auth_m…b_auth_manager.FabAuthManager" → "airflow.api_fastapi.auth.man…uth_manager.SimpleAuthManager"',
        );
    });

    it("secrets: the engine masks them as [secret] in the recording (the Secret's data, old and new), and the comment shows only that mask for them", () => {
        const preview = recording("simple-auth");
        const markers = secretMarkers(preview);
        assert.ok(markers.includes("airflow-keys.old.outputs.data") && markers.includes("airflow-keys.new.inputs.data"), markers.join(", "));
        const comment = previewComment(preview, { stack: STACK, exitCode: 0 });
        const secretRow = rows(comment).find((r) => r[1] === "`kubernetes:core/v1:Secret`");
        assert.ok(secretRow?.[3].endsWith(`→ ${SECRET_MASK}`), JSON.stringify(secretRow));
        // the Secret's own values are never shown, even where the engine would not mask them
        assert.ok(
            changes(preview)
                .filter((c) => c.type === "kubernetes:core/v1:Secret")
                .every((c) => c.properties.every((p) => p.before === undefined || p.before === SECRET_MASK)),
        );
    });

    it("a failed preview (the cluster unreachable) says so, with the engine's error", () => {
        const preview = recording("unreachable-cluster");
        const comment = previewComment(preview, { stack: "lab-pv", exitCode: 255 });
        assert.match(comment, /\*\*The preview failed\*\* \(exit code 255\): 2 error\(s\) below\./);
        assert.match(comment, /<summary>Errors \(2\)<\/summary>[\s\S]*failed to read resource state due to unreachable cluster/);
    });

    it("a preview that wrote no JSON (it failed before the engine ran: an empty file) is reported as failed, pointing at the log", () => {
        const script = path.join(__dirname, "..", "scripts", "previewComment.ts");
        const tsNode = path.join(__dirname, "..", "node_modules", ".bin", "ts-node");
        const r = spawnSync(tsNode, ["--transpile-only", script, "--stack", STACK, "--exit-code", "255", "/dev/null"], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        const comment = r.stdout;
        assert.match(comment, /\*\*The preview failed\*\* \(exit code 255\): the engine reported no error here, see the job's log\./);
    });

    it("the command: reads the file, prints the comment; a missing --stack fails naming it", () => {
        const script = path.join(__dirname, "..", "scripts", "previewComment.ts");
        const tsNode = path.join(__dirname, "..", "node_modules", ".bin", "ts-node");
        const ok = spawnSync(tsNode, ["--transpile-only", script, "--stack", STACK, path.join(RECORDINGS, "scheduler-replicas.json")], { encoding: "utf8" });
        assert.strictEqual(ok.status, 0, ok.stderr);
        assert.strictEqual(ok.stdout, previewComment(recording("scheduler-replicas"), { stack: STACK }));
        const bad = spawnSync(tsNode, ["--transpile-only", script, path.join(RECORDINGS, "unchanged.json")], { encoding: "utf8" });
        assert.strictEqual(bad.status, 2);
        assert.match(bad.stderr, /--stack NAME is required/);
    });
});
