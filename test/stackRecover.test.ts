import * as assert from "assert";
import * as fs from "fs";
import { adoptPendingCreates, PendingOperation, pendingCreateImports, recoverStack } from "../scripts/stackRecover";

const op = (type: string, resourceType: string, metadata?: Record<string, unknown>, urn = `urn:pulumi:s::p::${resourceType}::x`): PendingOperation => ({
    type,
    resource: { urn, type: resourceType, inputs: metadata ? { metadata } : {} },
});

describe("stack:recover (what a killed pulumi up left pending)", () => {
    it("imports each pending Kubernetes create by its object's namespace and name, cluster-scoped ones by name", () => {
        const pending = [
            op("creating", "kubernetes:batch/v1:Job", { name: "airflow-migrate-22f171b31f", namespace: "airflow" }, "urn:job"),
            op("creating", "kubernetes:core/v1:Namespace", { name: "airflow" }, "urn:ns"),
        ];
        assert.deepStrictEqual(pendingCreateImports(pending), [
            ["urn:job", "airflow/airflow-migrate-22f171b31f"],
            ["urn:ns", "airflow"],
        ]);
    });

    it("leaves to --clear-pending-creates what it cannot name: other providers, unnamed objects, updates and deletes", () => {
        const pending = [
            op("creating", "random:index/randomPassword:RandomPassword"),
            op("creating", "kubernetes:core/v1:ConfigMap", { namespace: "airflow" }),
            op("updating", "kubernetes:apps/v1:Deployment", { name: "airflow-scheduler", namespace: "airflow" }),
            op("deleting", "kubernetes:core/v1:Secret", { name: "old", namespace: "airflow" }),
        ];
        assert.deepStrictEqual(pendingCreateImports(pending), []);
        assert.strictEqual(adoptPendingCreates({ resources: [], pending_operations: pending }), undefined);
    });

    it("moves the adoptable creates after the resources already in the state, with their IDs, and keeps the other pending operations", () => {
        const job = op("creating", "kubernetes:batch/v1:Job", { name: "j", namespace: "n" }, "urn:j");
        const password = op("creating", "random:index/randomPassword:RandomPassword", undefined, "urn:p");
        const adopted = adoptPendingCreates({ resources: [{ urn: "urn:stack" }], pending_operations: [job, password] });
        assert.deepStrictEqual(adopted?.resources, [{ urn: "urn:stack" }, { ...job.resource, id: "n/j", outputs: job.resource.inputs }]);
        assert.deepStrictEqual(adopted?.pending_operations, [password]);
    });

    it("runs the refresh only when the state has pending operations, and fails loudly when the refresh fails", () => {
        const calls: string[][] = [];
        const state = (pending: PendingOperation[]) => JSON.stringify({ deployment: { pending_operations: pending } });
        const quiet = () => undefined;
        assert.strictEqual(
            recoverStack(
                "dev",
                (a) => {
                    calls.push(a);
                    return { status: 0, stdout: state([]), stderr: "" };
                },
                quiet,
            ),
            false,
        );
        assert.deepStrictEqual(
            calls.map((c) => c[0]),
            ["stack"],
        );
        const pending = [op("creating", "kubernetes:batch/v1:Job", { name: "j", namespace: "n" }, "urn:j")];
        let imported: any;
        const order: string[] = [];
        assert.throws(
            () =>
                recoverStack(
                    "dev",
                    (a) => {
                        order.push(a.slice(0, 2).join(" "));
                        if (a[1] === "import") imported = JSON.parse(fs.readFileSync(a[a.indexOf("--file") + 1], "utf8"));
                        return a[0] === "stack" ? { status: 0, stdout: state(pending), stderr: "" } : { status: 1, stdout: "", stderr: "boom" };
                    },
                    quiet,
                ),
            /pulumi refresh failed \(exit 1\): boom/,
        );
        assert.deepStrictEqual(order, ["stack export", "stack import", "refresh --yes"]);
        assert.deepStrictEqual(
            imported.deployment.resources.map((r: any) => [r.urn, r.id]),
            [["urn:j", "n/j"]],
        );
        assert.deepStrictEqual(imported.deployment.pending_operations, []);
    });
});
