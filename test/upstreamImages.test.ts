// The names the lab's registry mirror serves its stand-ins under (lab/ts/upstreamImages.ts).
import * as assert from "assert";
import { qualified, upstreamDefaults } from "../lab/ts/upstreamImages";

describe("lab stand-ins under upstream names", () => {
    it("qualifies references as the container runtime does", () => {
        assert.deepStrictEqual(qualified("postgres:17.6-bookworm"), { host: "docker.io", path: "library/postgres", ref: "docker.io/library/postgres:17.6-bookworm" });
        assert.strictEqual(qualified("apache/airflow:3.3.2").ref, "docker.io/apache/airflow:3.3.2");
        assert.strictEqual(qualified("busybox").ref, "docker.io/library/busybox:latest");
        assert.strictEqual(qualified("quay.io/prometheus/statsd-exporter:v0.28.0").host, "quay.io");
        assert.strictEqual(qualified("localhost:5000/a/b@sha256:abc").ref, "localhost:5000/a/b@sha256:abc");
        assert.strictEqual(qualified("registry.k8s.io/git-sync/git-sync:v4.7.1").path, "git-sync/git-sync");
        assert.strictEqual(qualified("127.0.0.1:25000/x:1").host, "127.0.0.1:25000");
    });

    it("takes each stand-in's name from the package's defaults", () => {
        const d = upstreamDefaults();
        assert.match(d.airflow, /^apache\/airflow:3\.3\.\d+$/);
        assert.match(d.postgres, /^postgres:17\./, "the Postgres stand-in is built for the major version the package defaults to");
        assert.ok(d.gitSync.startsWith("registry.k8s.io/git-sync/git-sync:"));
    });
});
