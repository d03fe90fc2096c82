// `npm run local`'s decision and deploy steps (lab/local.sh runs them):
//   ts-node scripts/local.ts decide [--context <name>]   where to run (lab/ts/localTarget.ts): prints the
//       first line on stderr and `lab`, or `context<TAB>name<TAB>state dir`, on stdout; exit 1: nowhere
//   ts-node scripts/local.ts up|down                      the lab: the `local` stack with the images built on
//       this machine (lab/local.sh runs it once the lab is up), to a healthy API server
//   ts-node scripts/local.ts up|down --context <name>     a user's cluster: the `local` stack as committed
//       (public images), building nothing, to every pod Ready; down removes what up created there
//   ts-node scripts/local.ts wait-api <url>               the API server healthy at <url> (a port-forward)
// Deploys through the Pulumi engine when it is installed, else through the rendered objects.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { labCacheDir } from "../lab/ts";
import { AirflowApi } from "../lab/ts/airflow/airflowApi";
import { apiFor, waitFor, waitReady } from "../lab/ts/airflow/cluster";
import { deploy, deployPath, deployStateDir, destroy, labStackOverrides, writeStackConfig } from "../lab/ts/airflow/deploy";
import { imageSourceLine } from "../lab/ts/airflow/engineImages";
import { kubectl, withEnv } from "../lab/ts/kubectl";
import { chooseLocalTarget, contextId, parseLocalArgs, StorageClassInfo, storageOnCluster, targetLine } from "../lab/ts/localTarget";

// the `local` stack's settings (Pulumi.local.yaml, read only) deployed as the lab's own stack
const STACK = "lab-local";
const NAMESPACE = "airflow-local";
const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[local ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);

/** The kubeconfig files kubectl would read: KUBECONFIG's list, else ~/.kube/config. */
function kubeconfigPaths(): string[] {
    const list = (process.env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
    return list.length ? list : [path.join(os.homedir(), ".kube", "config")];
}

function decide(argv: string[]): void {
    const unreadable: string[] = [];
    const kubeconfigs = kubeconfigPaths().flatMap((p) => {
        if (!fs.existsSync(p)) return [];
        try {
            return [{ path: p, text: fs.readFileSync(p, "utf8") }];
        } catch (e) {
            unreadable.push(`${p} cannot be read (${(e as NodeJS.ErrnoException).code}): ignored`);
            return [];
        }
    });
    const target = chooseLocalTarget({ kubeconfigs, env: process.env, argv, platform: process.platform, uid: process.getuid?.() });
    log(targetLine(target));
    for (const line of [...(target.help ?? []), ...unreadable]) process.stderr.write(`  ${line}\n`);
    if (target.kind === "refuse") process.exit(1);
    if (target.kind === "lab") process.stdout.write("lab\n");
    else process.stdout.write(`context\t${target.context}\t${path.dirname(contextStateDir(target.context as string))}\n`);
}

// --- the lab ---------------------------------------------------------------------------------------

async function labUp(): Promise<void> {
    const via = deployPath();
    log(`deploying the local stack through ${via.path === "pulumi" ? "the Pulumi engine" : "the rendered objects (strict server-side apply)"}: ${via.why}`);
    log(imageSourceLine());
    const configFile = writeStackConfig(STACK, labStackOverrides());
    deploy(STACK, configFile, via.path, log);
    log("waiting for every pod to be Ready");
    await waitReady(NAMESPACE, 900);
    const api = apiFor(NAMESPACE);
    await waitFor("a healthy API server", 300, async () => ((await api.health()).scheduler?.status === "healthy" ? true : undefined));
    log("API server healthy");
    fs.writeFileSync(path.join(labCacheDir(), "run", "local-api"), api.baseUrl);
}

async function labDown(): Promise<void> {
    const configFile = path.join(labCacheDir(), "run", "deploy", `Pulumi.${STACK}.yaml`);
    if (fs.existsSync(configFile)) destroy(STACK, deployPath().path, configFile, NAMESPACE);
}

// --- a user's cluster (a kubeconfig context) ---------------------------------------------------------

/** Where a context's deploy state lives (the lab library's, with AIRFLOW_LAB_CONTEXT set). */
function contextStateDir(context: string): string {
    return withEnv({ AIRFLOW_LAB_CONTEXT: context }, deployStateDir);
}

/** Points the lab library at the user's kubeconfig and context: kubectl from PATH, state under contexts/. */
function useContext(context: string): void {
    process.env.AIRFLOW_LAB_KUBECONFIG = kubeconfigPaths().join(path.delimiter);
    process.env.AIRFLOW_LAB_CONTEXT = context;
}

/** What `up` created on a context, recorded so `down` removes only that and a later `up` may update it. */
type Created = { context: string; stack: string; namespace: string; deployPath: string; configFile: string };
const recordFile = () => path.join(deployStateDir(), "created.json");

function readRecord(): Created | undefined {
    return fs.existsSync(recordFile()) ? (JSON.parse(fs.readFileSync(recordFile(), "utf8")) as Created) : undefined;
}

function storageClasses(): StorageClassInfo[] {
    const list = JSON.parse(kubectl(["get", "storageclasses", "-o", "json"]).stdout).items as any[];
    return list.map((c) => ({
        name: c.metadata.name,
        isDefault: ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"].some((a) => c.metadata.annotations?.[a] === "true"),
        provisioner: c.provisioner,
    }));
}

async function contextUp(context: string): Promise<void> {
    useContext(context);
    const stack = `lab-local-${contextId(context)}`;
    const base = yaml.load(fs.readFileSync(path.resolve(__dirname, "..", "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> };
    const namespace = String(base.config["airflow:namespace"] ?? NAMESPACE);
    const record = readRecord();
    const exists = kubectl(["get", "namespace", namespace, "--ignore-not-found", "-o", "name"]).stdout.trim() !== "";
    if (exists && !record) {
        throw new Error(
            `the namespace ${namespace} exists on ${context} and npm run local did not create it (no record in ${recordFile()}): not touching it; delete it or name another context`,
        );
    }
    const storage = storageOnCluster(base.config, storageClasses());
    if (storage.problem) throw new Error(storage.problem);
    for (const note of storage.notes) log(`storage: ${note}`);
    const via = deployPath();
    log(
        `deploying the local stack as committed (images as Pulumi.local.yaml has them, building none) to ${context}, namespace ${namespace}, through ${via.path === "pulumi" ? "the Pulumi engine" : "the rendered objects (strict server-side apply)"}: ${via.why}`,
    );
    const configFile = writeStackConfig(stack, storage.overrides);
    // recorded before the first object, so a failed or interrupted up is still removed by down
    fs.writeFileSync(recordFile(), `${JSON.stringify({ context, stack, namespace, deployPath: via.path, configFile } satisfies Created, null, 2)}\n`);
    deploy(stack, configFile, via.path, log);
    log("waiting for every pod to be Ready (the first pulls of the public images take a while)");
    await waitReady(namespace, 900);
    log(`every pod Ready in ${namespace}`);
}

function contextDown(context: string): void {
    useContext(context);
    const record = readRecord();
    if (!record) {
        log(`nothing to remove on ${context}: npm run local has no record of deploying there (${recordFile()})`);
        return;
    }
    log(`removing what npm run local created on ${context}: stack ${record.stack}, namespace ${record.namespace} (the cluster stays)`);
    destroy(record.stack, record.deployPath === "pulumi" ? "pulumi" : "render", record.configFile, record.namespace);
    if (record.deployPath === "pulumi") kubectl(["delete", "namespace", record.namespace, "--ignore-not-found", "--timeout=180s"]);
    fs.rmSync(deployStateDir(), { recursive: true, force: true });
    log(`removed namespace ${record.namespace} from ${context}`);
}

async function waitApi(url: string): Promise<void> {
    const api = new AirflowApi(url, "admin", "");
    await waitFor(`a healthy API server at ${url}`, 300, async () => ((await api.health()).scheduler?.status === "healthy" ? true : undefined));
    log("API server healthy");
}

async function main(): Promise<void> {
    const [command, ...rest] = process.argv.slice(2);
    if (command === "decide") return decide(rest);
    if (command === "wait-api") return waitApi(rest[0]);
    const { context, problem } = parseLocalArgs(rest);
    if (problem) throw new Error(problem);
    if (command === "up") return context ? contextUp(context) : labUp();
    if (command === "down") return context ? contextDown(context) : labDown();
    throw new Error("usage: local.ts decide|up|down [--context <name>] | wait-api <url>");
}

main().catch((e) => {
    log(`failed: ${(e as Error).message}`);
    process.exit(1);
});
