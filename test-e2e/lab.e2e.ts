// End-to-end suite: real kube-apiserver + controller-manager + scheduler + kwok fake nodes (lab/).
// Run: npm run e2e   (or: lab/e2e.sh, which builds the toolchain and starts the lab first)
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { CheckError, isExternalCluster, kubectl, LAB_DIR, REPO_DIR, runCheck } from "../lab/ts";

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

    // The worker pod template reaches no API server at deploy time: the scheduler creates a Pod from
    // it for every task. So each one is created here as the scheduler would (a name, its namespace),
    // with a server-side dry-run, for the default workers and for workers with every extension point.
    describe("the worker pod template, as a Pod (server-side dry-run)", function () {
        const NS = "lab-worker-template";
        const WORKERS = {
            nodeSelector: { "kubernetes.io/os": "linux" },
            tolerations: [{ key: "dedicated", operator: "Equal", value: "airflow", effect: "NoSchedule" }],
            affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: "pool", operator: "In", values: ["tasks"] }] } }] } },
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { kubernetes_executor: "True" } } }],
            extraVolumes: [{ name: "ca", secret: { secretName: "corp-ca" } }],
            extraVolumeMounts: [{ name: "ca", mountPath: "/etc/corp-ca", readOnly: true }],
            extraInitContainers: [{ name: "warm", image: "busybox:1.37.0", command: ["true"] }],
            extraContainers: [{ name: "shipper", image: "busybox:1.37.0", command: ["sleep", "3600"] }],
            podAnnotations: { "example.com/team": "data" },
            podLabels: { team: "data" },
        };
        const templates: { title: string; sets: string[] }[] = [
            { title: "default workers", sets: [] },
            { title: "workers with every extension point", sets: [`workers=${JSON.stringify(WORKERS)}`] },
        ];

        function templatePod(sets: string[]): any {
            const file = render("Pulumi.local.yaml", sets);
            try {
                const objects = JSON.parse(fs.readFileSync(file, "utf8")) as any[];
                const cm = objects.find((o) => o.kind === "ConfigMap" && typeof o.data?.["pod_template.yaml"] === "string");
                assert.ok(cm, "a ConfigMap with pod_template.yaml is rendered");
                const pod = yaml.load(cm.data["pod_template.yaml"]) as any;
                return { ...pod, metadata: { ...pod.metadata, name: "lab-task-pod", namespace: NS } };
            } finally {
                fs.rmSync(path.dirname(file), { recursive: true, force: true });
            }
        }

        function dryRun(pod: any): { ok: boolean; output: string } {
            const r = kubectl(["create", "--dry-run=server", "--validate=strict", "-o", "name", "-f", "-"], { input: JSON.stringify(pod), allowFail: true });
            return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() };
        }

        before(function () {
            kubectl(["create", "namespace", NS]);
        });
        after(function () {
            kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=false"], { allowFail: true });
        });

        for (const t of templates) {
            it(`${t.title}: accepted as a Pod`, function () {
                const pod = templatePod(t.sets);
                // the ServiceAccount admission checks that the pod's account exists
                if (pod.spec.serviceAccountName) kubectl(["create", "serviceaccount", pod.spec.serviceAccountName, "-n", NS], { allowFail: true });
                const r = dryRun(pod);
                log(`${t.title}: ${r.output}`);
                assert.ok(r.ok, `the API server refused the worker pod template:\n${r.output}`);
            });
        }

        it("the dry-run refuses what Kubernetes would (an affinity operator it does not have)", function () {
            const pod = templatePod([]);
            pod.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "Within", values: ["a"] }] }] } } };
            const r = dryRun(pod);
            assert.ok(!r.ok && /operator/i.test(r.output), `refused, naming the operator:\n${r.output}`);
        });
    });
});
