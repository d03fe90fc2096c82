import * as assert from "assert";
import { StackConfigError, StackConfigInput, stackConfigSchema, validateStackConfig } from "../components/config";
import { SharedStorage, SharedStorageArgs, FILESTORE_MOUNT_OPTIONS, ROOT_REASON_ANNOTATION } from "../components/storage";
import { installComponentMocks, MOCK_FILESTORE_IP, recorded, Recorder, valueOf } from "./componentMocks";
import { kubernetesObjects, ofKind, renderStack } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

type Storage = NonNullable<StackConfigInput["storage"]>;
interface Needs {
    needsDags?: boolean;
    needsLogs?: boolean;
    /** images.setup */
    setupImage?: string;
}

/** pvc mode with its defaults (5Gi of DAGs, 20Gi of logs, two claims). */
const base: Storage = {};

const filestore: Storage = {
    mode: "filestore",
    filestore: { project: "acme-data", location: "europe-west1-b", tier: "BASIC_HDD", capacityGb: 1024, network: "projects/acme-net/global/networks/shared", shareName: "airflow" },
};

/** The component's args from the storage section as written in a stack file: the schema applies the defaults. */
function storageArgs(storage: Storage, needs: Needs = {}): SharedStorageArgs {
    const c = stackConfigSchema.parse({ storage, ...(needs.setupImage ? { images: { setup: needs.setupImage } } : {}) });
    return { namespace: "data", instance: "airflow", storage: c.storage, images: c.images, needsDags: needs.needsDags ?? true, needsLogs: needs.needsLogs ?? true };
}

async function render(storage: Storage, needs: Needs = {}): Promise<{ rec: Recorder; storage: SharedStorage; objects: any[] }> {
    const rec = installComponentMocks();
    const component = new SharedStorage("airflow-storage", storageArgs(storage, needs));
    const objects = kubernetesObjects(await recorded(rec));
    return { rec, storage: component, objects };
}

describe("SharedStorage", () => {
    describe("filestore mode", () => {
        let rec: Recorder;
        let storage: SharedStorage;
        let objects: any[];
        before(async () => ({ rec, storage, objects } = await render(filestore)));

        it("creates one Filestore instance with the tier, capacity, share and network", async () => {
            const instances = await recorded(rec, "gcp:filestore/instance:Instance");
            assert.strictEqual(instances.length, 1, "one instance for DAGs and logs: the minimum size is 1 TiB");
            const i = instances[0].inputs;
            assert.strictEqual(i.project, "acme-data");
            assert.strictEqual(i.location, "europe-west1-b");
            assert.strictEqual(i.tier, "BASIC_HDD");
            assert.deepStrictEqual(i.fileShares, { name: "airflow", capacityGb: 1024 });
            assert.deepStrictEqual(i.networks, [{ network: "projects/acme-net/global/networks/shared", modes: ["MODE_IPV4"] }]);
        });

        it("exposes the share as a Retain NFS PersistentVolume at the instance's IP", () => {
            const pvs = objects.filter((o) => o.kind === "PersistentVolume");
            assert.strictEqual(pvs.length, 1);
            const pv = pvs[0].spec;
            assert.deepStrictEqual(pv.nfs, { server: MOCK_FILESTORE_IP, path: "/airflow" });
            assert.deepStrictEqual(pv.accessModes, ["ReadWriteMany"]);
            assert.deepStrictEqual(pv.capacity, { storage: "1024Gi" });
            assert.strictEqual(pv.persistentVolumeReclaimPolicy, "Retain");
            assert.strictEqual(pv.storageClassName, "");
            assert.deepStrictEqual(pv.mountOptions, FILESTORE_MOUNT_OPTIONS);
            assert.ok(pv.mountOptions.includes("nfsvers=3"));
            assert.deepStrictEqual(pv.claimRef, { namespace: "data", name: "airflow-storage-shared" });
        });

        it("binds one RWX claim to that volume by name, with no StorageClass", () => {
            const pv = objects.find((o) => o.kind === "PersistentVolume");
            const claims = objects.filter((o) => o.kind === "PersistentVolumeClaim");
            assert.strictEqual(claims.length, 1);
            const pvc = claims[0];
            assert.strictEqual(pvc.metadata.name, "airflow-storage-shared");
            assert.strictEqual(pvc.metadata.namespace, "data");
            assert.strictEqual(pvc.spec.volumeName, pv.metadata.name);
            assert.strictEqual(pvc.spec.storageClassName, "");
            assert.deepStrictEqual(pvc.spec.accessModes, ["ReadWriteMany"]);
            assert.deepStrictEqual(pvc.spec.resources, { requests: { storage: "1024Gi" } });
        });

        it("gives DAGs and logs sub-paths of the one claim", async () => {
            assert.strictEqual(await valueOf(storage.dagsClaimName!), "airflow-storage-shared");
            assert.strictEqual(await valueOf(storage.logsClaimName!), "airflow-storage-shared");
            assert.strictEqual(storage.dagsSubPath, "dags");
            assert.strictEqual(storage.logsSubPath, "logs");
            assert.strictEqual(await valueOf(storage.filestoreIp!), MOCK_FILESTORE_IP);
        });

        it("prepares group-writable sub-directories with a locked-down, annotated Job", () => {
            const job = objects.find((o) => o.kind === "Job");
            assert.ok(job, "a share preparation Job");
            assert.ok(job.metadata.annotations[ROOT_REASON_ANNOTATION]);
            const pod = job.spec.template.spec;
            assert.strictEqual(pod.volumes[0].persistentVolumeClaim.claimName, "airflow-storage-shared");
            assert.strictEqual(pod.automountServiceAccountToken, false);
            const c = pod.containers[0];
            assert.deepStrictEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
            assert.match(c.command[2], /^for d in \/share\/dags \/share\/logs; do$/m);
            assert.match(c.command[2], /mkdir -p "\$d"\n {2}chgrp 0 "\$d".*\n {2}chmod 2775 "\$d"/);
            assert.ok(c.resources.limits.memory && c.resources.requests.cpu);
        });

        it("renders objects the Kubernetes schema accepts", async () => {
            await assertValidObjects(objects);
        });

        it("makes nothing when neither DAGs nor logs need a volume", async () => {
            const r = await render(filestore, { needsDags: false, needsLogs: false });
            assert.strictEqual((await recorded(r.rec)).length, 1, "only the component itself");
            assert.strictEqual(r.storage.dagsClaimName, undefined);
            assert.strictEqual(r.storage.logsClaimName, undefined);
        });

        it("requires a location, refused by validation before the component exists", () => {
            assert.throws(
                () => validateStackConfig({ storage: { mode: "filestore", filestore: { project: "acme-data" } } }),
                (e: Error) => e instanceof StackConfigError && e.problems.some((p) => /storage\.filestore\.location: is required/.test(p)),
            );
        });
    });

    describe("pvc mode", () => {
        const prepareJobs = (objects: any[]) => objects.filter((o) => o.kind === "Job");

        it("prepares the claims with the same Job as Filestore: each claim's root made group-writable for gid 0", async () => {
            const { objects } = await render({ storageClassName: "standard-rwx" }, { setupImage: "mirror.example.com/busybox:1.37.0" });
            const [job] = prepareJobs(objects);
            assert.strictEqual(prepareJobs(objects).length, 1);
            const fromFilestore = prepareJobs((await render(filestore)).objects)[0];
            // Built once: the same identity, lock-down, resources and annotation as the Filestore Job.
            for (const path of ["metadata.annotations", "spec.backoffLimit", "spec.template.spec.securityContext", "spec.template.spec.automountServiceAccountToken"]) {
                const at = (o: any) => path.split(".").reduce((v, k) => v?.[k], o);
                assert.deepStrictEqual(at(job), at(fromFilestore), path);
            }
            assert.ok(job.metadata.annotations[ROOT_REASON_ANNOTATION]);
            const pod = job.spec.template.spec;
            const c = pod.containers[0];
            assert.strictEqual(c.image, "mirror.example.com/busybox:1.37.0");
            assert.deepStrictEqual(c.securityContext, fromFilestore.spec.template.spec.containers[0].securityContext);
            const claimAt = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, pod.volumes.find((v: any) => v.name === m.name).persistentVolumeClaim.claimName]));
            assert.deepStrictEqual(claimAt, { "/share/dags": "airflow-storage-dags", "/share/logs": "airflow-storage-logs" });
            assert.match(c.command[2], /^for d in \/share\/dags \/share\/logs; do$/m);
            assert.match(c.command[2], /chmod 2775 "\$d"/);
            await assertValidObjects(objects);
        });

        it("prepares dags/ and logs/ on a single share, and only the claims that exist", async () => {
            const single = prepareJobs((await render({ singleShare: true })).objects)[0];
            assert.deepStrictEqual(single.spec.template.spec.containers[0].volumeMounts, [{ name: "share-0", mountPath: "/share" }]);
            assert.match(single.spec.template.spec.containers[0].command[2], /^for d in \/share\/dags \/share\/logs; do$/m);
            const logsOnly = prepareJobs((await render(base, { needsDags: false })).objects)[0];
            assert.deepStrictEqual(logsOnly.spec.template.spec.containers[0].volumeMounts, [{ name: "share-0", mountPath: "/share/logs" }]);
            assert.strictEqual(prepareJobs((await render(base, { needsDags: false, needsLogs: false })).objects).length, 0);
        });

        it("is what the Airflow workloads and CronJobs wait for in the stack, not the migration Job or the rest", async () => {
            const r = await renderStack({});
            for (const name of ["airflow-scheduler", "airflow-api-server", "airflow-dag-processor", "airflow-triggerer", "airflow-log-cleanup"]) {
                assert.ok(r.dependsOn.get(name)?.includes("airflow-storage"), `${name} waits for the storage component and its Job`);
            }
            // the migration's logs are its pod log: it does not mount the log claim, so it need not wait
            assert.ok(!r.dependsOn.get("airflow-migrate")?.includes("airflow-storage"));
            const migrate = ofKind(r.objects, "Job").find((j) => j.metadata.name.startsWith("airflow-migrate-"))!;
            assert.ok(migrate.spec.template.spec.volumes.find((v: any) => v.name === "logs").emptyDir);
            // no component-level dependsOn, which every child would inherit
            assert.strictEqual(r.dependsOn.get("airflow")?.length ?? 0, 0);
            assert.ok(ofKind(r.objects, "Job").some((j) => j.metadata.annotations?.[ROOT_REASON_ANNOTATION]));
        });
    });

    describe("pvc mode (claims)", () => {
        it("makes separate RWX claims on the StorageClass, schema-valid", async () => {
            const { storage, objects } = await render({ storageClassName: "standard-rwx" });
            const claims = objects.filter((o) => o.kind === "PersistentVolumeClaim");
            assert.deepStrictEqual(
                claims.map((c) => [c.metadata.name, c.spec.storageClassName, c.spec.accessModes[0], c.spec.resources.requests.storage]),
                [
                    ["airflow-storage-dags", "standard-rwx", "ReadWriteMany", "5Gi"],
                    ["airflow-storage-logs", "standard-rwx", "ReadWriteMany", "20Gi"],
                ],
            );
            assert.strictEqual(storage.dagsSubPath, undefined);
            await assertValidObjects(objects);
        });

        it("uses one claim with sub-paths when singleShare", async () => {
            const { storage, objects } = await render({ singleShare: true });
            assert.strictEqual(objects.filter((o) => o.kind === "PersistentVolumeClaim").length, 1);
            assert.strictEqual(await valueOf(storage.dagsClaimName!), "airflow-storage-shared");
            assert.strictEqual(storage.dagsSubPath, "dags");
            assert.strictEqual(storage.logsSubPath, "logs");
        });
    });

    describe("existing mode (unchanged)", () => {
        it("passes claim names through and creates nothing", async () => {
            const { rec, storage } = await render({ mode: "existing", dagsClaimName: "team-dags", logsClaimName: "team-logs" });
            assert.strictEqual(await valueOf(storage.dagsClaimName!), "team-dags");
            assert.strictEqual(await valueOf(storage.logsClaimName!), "team-logs");
            assert.strictEqual((await recorded(rec)).length, 1);
        });
    });
});
