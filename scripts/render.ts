// Prints the Kubernetes objects a stack config renders, as a JSON array (Namespace first), by running
// the real program under Pulumi mocks (tools/render/). The lab feeds this to a real API server.
//   npx ts-node scripts/render.ts --config Pulumi.local.yaml [--set architecture=standalone]
// With AIRFLOW_RENDER_SECRETS_FILE set (the lab's deploy path without the Pulumi engine), random
// resources get real random values, kept in that file like Pulumi state keeps them; with
// AIRFLOW_RENDER_KUBERNETES_API (the JSON of the cluster's `default/kubernetes` EndpointSlice) the
// program reads that endpoint, as it would from the cluster it deploys to, instead of the mocked one.
import * as fs from "fs";
import * as yaml from "js-yaml";
import { persistentRandom } from "../tools/render/randomValues";
import { renderStack } from "../tools/render/render";

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const file = args[args.indexOf("--config") + 1];
    if (args.indexOf("--config") < 0 || !file) {
        throw new Error("usage: render.ts --config Pulumi.<stack>.yaml [--set key=value ...]");
    }
    const doc = (yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> }) ?? {};
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        if (key.startsWith("airflow:")) config[key.slice("airflow:".length)] = value;
    }
    args.forEach((arg, i) => {
        if (arg === "--set") {
            const [key, ...rest] = args[i + 1].split("=");
            const text = rest.join("=");
            try {
                config[key] = JSON.parse(text);
            } catch {
                config[key] = text;
            }
        }
    });
    const secretsFile = process.env.AIRFLOW_RENDER_SECRETS_FILE;
    const slice = process.env.AIRFLOW_RENDER_KUBERNETES_API;
    const rendered = await renderStack(config, {}, { random: secretsFile ? persistentRandom(secretsFile) : undefined, kubernetesApiSlice: slice ? JSON.parse(slice) : undefined });
    const order = (kind: string) => (kind === "Namespace" ? 0 : 1);
    const objects = [...rendered.objects].sort((a, b) => order(a.kind) - order(b.kind));
    process.stdout.write(JSON.stringify(objects, null, 2) + "\n");
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
});
