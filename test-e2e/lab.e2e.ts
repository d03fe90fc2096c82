// End-to-end suite: real kube-apiserver + controller-manager + scheduler + kwok fake nodes (lab/).
// Run: npm run e2e   (or: lab/e2e.sh, which builds the toolchain and starts the lab first)
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CheckError, isExternalCluster, LAB_DIR, REPO_DIR, runCheck } from "../lab/ts";

const TESTDATA = path.join(LAB_DIR, "testdata");
const log = (line: string) => process.stdout.write(`      ${line}\n`);

function sh(script: string, args: string[] = []): void {
    const t = Date.now();
    const r = spawnSync("bash", [path.join(LAB_DIR, script), ...args], { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) throw new Error(`lab/${script} failed (exit ${r.status})`);
    log(`lab/${script}: ${((Date.now() - t) / 1000).toFixed(1)}s`);
}

function render(stackFile: string, sets: string[]): string {
    const args = ["scripts/render.ts", "--config", stackFile, ...sets.flatMap((s) => ["--set", s])];
    const t = Date.now();
    const r = spawnSync(path.join(REPO_DIR, "node_modules", ".bin", "ts-node"), ["--transpile-only", ...args], {
        cwd: REPO_DIR,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`render ${args.join(" ")} failed:\n${r.stderr}`);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "airflow-lab-render-")), "objects.json");
    fs.writeFileSync(out, r.stdout);
    log(`rendered ${stackFile} ${sets.join(" ")} in ${((Date.now() - t) / 1000).toFixed(1)}s -> ${JSON.parse(r.stdout).length} objects`);
    return out;
}

describe("local lab (real Kubernetes API server, kwok nodes)", function () {
    before(function () {
        if (!isExternalCluster()) {
            sh("toolchain.sh");
            sh("up.sh");
        }
    });

    describe("lab/check.sh on hand-written manifests", function () {
        it("applies the sample with strict validation, waits until ready, re-applies as a no-op, deletes cleanly", function () {
            const res = runCheck(path.join(TESTDATA, "sample.yaml"), { log });
            assert.strictEqual(res.namespace, "lab-sample");
            assert.deepStrictEqual(res.warnings, []);
        });

        it("is rejected by the API server when a container has an unknown field (portz)", function () {
            assert.throws(
                () => runCheck(path.join(TESTDATA, "broken.yaml"), { log }),
                (e: unknown) => e instanceof CheckError && e.step === "apply" && /from server/i.test(e.message) && /portz/.test(e.message),
            );
        });

        it("notices when re-applying changes an object", function () {
            assert.throws(
                () => runCheck(path.join(TESTDATA, "sample.yaml"), { log, reapplyFile: path.join(TESTDATA, "sample-changed-configmap.yaml") }),
                (e: unknown) => e instanceof CheckError && e.step === "re-apply" && /ConfigMap\/lab-sample\/sample-config changed: \.data/.test(e.message),
            );
        });
    });

    const stacks: { title: string; file: string; sets: string[] }[] = [
        { title: "Pulumi.local.yaml (production architecture)", file: "Pulumi.local.yaml", sets: [] },
        { title: "Pulumi.local-standalone.yaml (standalone architecture)", file: "Pulumi.local-standalone.yaml", sets: [] },
    ];
    describe("objects rendered by scripts/render.ts", function () {
        for (const s of stacks) {
            it(`${s.title}: accepted, ready, idempotent, deleted cleanly`, function () {
                if (!fs.existsSync(path.join(REPO_DIR, "scripts", "render.ts")) || !fs.existsSync(path.join(REPO_DIR, s.file))) this.skip();
                const file = render(s.file, s.sets);
                try {
                    const res = runCheck(file, { log });
                    for (const w of res.warnings) log(`warning: ${w}`);
                    // deprecations, duplicate env names, PodSecurity warn mode ... are findings too
                    assert.deepStrictEqual(res.warnings.filter((w) => /^Warning:/i.test(w)), [], "the API server returned warnings");
                } finally {
                    fs.rmSync(path.dirname(file), { recursive: true, force: true });
                }
            });
        }
    });
});
