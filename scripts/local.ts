// `npm run local`'s deploy step (lab/local.sh runs it once the lab is up): deploys the `local` stack
// with the images built on this machine, through the Pulumi engine when it is installed, else through
// the rendered objects, waits for a healthy API server and prints where to find it.
//   ts-node scripts/local.ts up|down
import * as fs from "fs";
import * as path from "path";
import { labCacheDir } from "../lab/ts";
import { deploy, deployPath, destroy, labStackOverrides, writeStackConfig } from "../lab/ts/airflow/deploy";
import { apiFor, waitFor, waitReady } from "../lab/ts/airflow/cluster";

// the `local` stack's settings (Pulumi.local.yaml, read only) deployed as the lab's own stack
const STACK = "lab-local";
const NAMESPACE = "airflow-local";
const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[local ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);

async function up(): Promise<void> {
    const via = deployPath();
    log(`deploying the local stack through ${via.path === "pulumi" ? "the Pulumi engine" : "the rendered objects (strict server-side apply)"}: ${via.why}`);
    const configFile = writeStackConfig(STACK, labStackOverrides());
    deploy(STACK, configFile, via.path, log);
    log("waiting for every pod to be Ready");
    await waitReady(NAMESPACE, 900);
    const api = apiFor(NAMESPACE);
    await waitFor("a healthy API server", 300, async () => ((await api.health()).scheduler?.status === "healthy" ? true : undefined));
    log("API server healthy");
    fs.writeFileSync(path.join(labCacheDir(), "run", "local-api"), api.baseUrl);
}

async function down(): Promise<void> {
    const configFile = path.join(labCacheDir(), "run", "deploy", `Pulumi.${STACK}.yaml`);
    if (fs.existsSync(configFile)) destroy(STACK, deployPath().path, configFile, NAMESPACE);
}

(process.argv[2] === "down" ? down() : up()).catch((e) => {
    log(`failed: ${(e as Error).message}`);
    process.exit(1);
});
