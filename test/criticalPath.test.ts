import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { criticalPathReport } from "../scripts/critical-path";

const urn = (type: string, name: string) => `urn:pulumi:s::p::${type}::${name}`;
const step = (t0: number, t1: number, type: string, name: string) => [
    { timestamp: t0, resourcePreEvent: { metadata: { op: "create", urn: urn(type, name), type } } },
    { timestamp: t1, resOutputsEvent: { metadata: { op: "create", urn: urn(type, name), type } } },
];

describe("scripts/critical-path.ts", () => {
    it("finds the chain of steps that ends last, ignoring components and parallel steps", () => {
        const events = [
            ...step(100, 140, "airflow-kubernetes:index:AirflowOnKubernetes", "airflow"),
            ...step(100, 101, "kubernetes:core/v1:Namespace", "namespace"),
            ...step(101, 110, "kubernetes:apps/v1:StatefulSet", "postgres"),
            ...step(101, 103, "kubernetes:core/v1:Secret", "keys"),
            ...step(110, 125, "kubernetes:batch/v1:Job", "migrate"),
            ...step(125, 140, "kubernetes:apps/v1:Deployment", "scheduler"),
        ];
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "events-")), "up.events.jsonl");
        fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join("\n"));
        const report = criticalPathReport(file);
        const chain = report.slice(report.indexOf("critical path")).split("\n").slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/).pop());
        assert.deepStrictEqual(chain, ["namespace", "postgres", "migrate", "scheduler"]);
        assert.match(report, /critical path \(40 s of 40 s\)/);
        assert.doesNotMatch(report, /AirflowOnKubernetes/);
    });

    it("ends on zero-length steps that tie in the same second (whole-second stamps)", () => {
        const events = [
            ...step(200, 200, "kubernetes:core/v1:ConfigMap", "a"),
            ...step(200, 200, "kubernetes:core/v1:ConfigMap", "b"),
            ...step(200, 203, "kubernetes:apps/v1:Deployment", "c"),
        ];
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "events-")), "up.events.jsonl");
        fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join("\n"));
        assert.match(criticalPathReport(file), /critical path \(3 s of 3 s\)/);
    });
});
