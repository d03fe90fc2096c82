import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { SharedStorage, SharedStorageArgs, FILESTORE_MOUNT_OPTIONS, ROOT_REASON_ANNOTATION } from "../components/storage";
import { installComponentMocks, MOCK_FILESTORE_IP, recorded, Recorder, valueOf } from "./componentMocks";
import { kubernetesObjects } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const base: SharedStorageArgs = {
    namespace: "data",
    instance: "airflow",
    mode: "pvc",
    dagsSize: "5Gi",
    logsSize: "20Gi",
    singleShare: false,
    needsDags: true,
    needsLogs: true,
};

const filestore: SharedStorageArgs = {
    ...base,
    mode: "filestore",
    filestoreProject: "acme-data",
    filestoreLocation: "europe-west1-b",
    filestoreTier: "BASIC_HDD",
    filestoreCapacityGb: 1024,
    filestoreNetwork: "projects/acme-net/global/networks/shared",
    filestoreShareName: "airflow",
};

async function render(args: SharedStorageArgs): Promise<{ rec: Recorder; storage: SharedStorage; objects: any[] }> {
    const rec = installComponentMocks();
    const storage = new SharedStorage("airflow-storage", args);
    const objects = kubernetesObjects(await recorded(rec));
    return { rec, storage, objects };
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
            assert.match(c.command[2], /mkdir -p \/share\/dags \/share\/logs; chmod 2775 \/share\/dags \/share\/logs/);
            assert.ok(c.resources.limits.memory && c.resources.requests.cpu);
        });

        it("renders objects the Kubernetes schema accepts", async () => {
            await assertValidObjects(objects);
        });

        it("makes nothing when neither DAGs nor logs need a volume", async () => {
            const r = await render({ ...filestore, needsDags: false, needsLogs: false });
            assert.strictEqual((await recorded(r.rec)).length, 1, "only the component itself");
            assert.strictEqual(r.storage.dagsClaimName, undefined);
            assert.strictEqual(r.storage.logsClaimName, undefined);
        });

        it("requires a location", () => {
            installComponentMocks();
            assert.throws(
                () => new SharedStorage("s", { ...filestore, filestoreLocation: undefined }),
                (e: Error) => pulumi.ResourceError.isInstance(e) && /storage\.filestore\.location/.test(e.message),
            );
        });
    });

    describe("pvc mode (unchanged)", () => {
        it("makes separate RWX claims on the StorageClass, schema-valid", async () => {
            const { storage, objects } = await render({ ...base, storageClassName: "standard-rwx" });
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
            const { storage, objects } = await render({ ...base, singleShare: true });
            assert.strictEqual(objects.filter((o) => o.kind === "PersistentVolumeClaim").length, 1);
            assert.strictEqual(await valueOf(storage.dagsClaimName!), "airflow-storage-shared");
            assert.strictEqual(storage.dagsSubPath, "dags");
            assert.strictEqual(storage.logsSubPath, "logs");
        });
    });

    describe("existing mode (unchanged)", () => {
        it("passes claim names through and creates nothing", async () => {
            const { rec, storage } = await render({ ...base, mode: "existing", dagsClaimName: "team-dags", logsClaimName: "team-logs" });
            assert.strictEqual(await valueOf(storage.dagsClaimName!), "team-dags");
            assert.strictEqual(await valueOf(storage.logsClaimName!), "team-logs");
            assert.strictEqual((await recorded(rec)).length, 1);
        });
    });
});
