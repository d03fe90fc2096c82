// examples/typescript deployed for real against the lab: a scratch copy of the example, the package
// as it would be installed (its package.json, dist/ and preload, linked from this repository beside
// the repository's other node_modules), a stack in the lab's local backend that reads the cluster
// and the registry from the lab's infrastructure stack (infraStack.ts).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { REPO_DIR } from "../kubectl";
import { deployStateDir, pulumi } from "./deploy";

const PROJECT = "airflow-analytics"; // examples/typescript/Pulumi.yaml
export const EXAMPLE_STACK = "lab-example";
/** The namespace the example deploys into (its index.ts). */
export const EXAMPLE_NAMESPACE = "analytics";

const exampleDir = () => path.join(deployStateDir(), "example-typescript");

/** The scratch copy with its node_modules: every package of this repository's, and the package itself. */
function prepare(): string {
    const dir = exampleDir();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(path.join(REPO_DIR, "examples", "typescript"), dir, { recursive: true, filter: (f) => !/node_modules|bin$/.test(f) });
    const modules = path.join(dir, "node_modules");
    fs.mkdirSync(modules);
    const repoModules = fs.realpathSync(path.join(REPO_DIR, "node_modules"));
    for (const entry of fs.readdirSync(repoModules)) {
        if (entry.startsWith(".") && entry !== ".bin") continue;
        fs.symlinkSync(path.join(repoModules, entry), path.join(modules, entry));
    }
    // the package as npm would lay it out: package.json, dist/ (compiled now), tools/preload.js
    const build = spawnSync("npm", ["run", "build:package"], { cwd: REPO_DIR, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`npm run build:package failed:\n${build.stderr}`);
    fs.mkdirSync(path.join(modules, "@airflow-pulumi"));
    fs.symlinkSync(REPO_DIR, path.join(modules, "@airflow-pulumi", "airflow-kubernetes"));
    return dir;
}

function configFile(infrastructureStack: string): string {
    const file = path.join(deployStateDir(), `Pulumi.${EXAMPLE_STACK}.yaml`);
    fs.writeFileSync(file, yaml.dump({ config: { [`${PROJECT}:infrastructureStack`]: infrastructureStack } }));
    return file;
}

/** `pulumi up` of the example with `infrastructureStack`; returns the CLI's summary line. */
export function deployExample(infrastructureStack: string): string {
    const dir = prepare();
    const ls = JSON.parse(pulumi(["stack", "ls", "--json"], false, dir).stdout || "[]") as { name: string }[];
    if (!ls.some((s) => s.name === EXAMPLE_STACK)) pulumi(["stack", "init", EXAMPLE_STACK], false, dir);
    const up = pulumi(["up", "--yes", "--skip-preview", "--stack", EXAMPLE_STACK, "--config-file", configFile(infrastructureStack), "--suppress-progress"], false, dir);
    return up.stdout
        .split("\n")
        .filter((l) => /Resources:|Duration:|[0-9]+ (created|updated|unchanged)/.test(l))
        .join(" ")
        .replace(/\s+/g, " ")
        .trim();
}

/** Destroys the example's stack and removes it (and the scratch copy). */
export function destroyExample(infrastructureStack: string): void {
    const dir = exampleDir();
    if (!fs.existsSync(dir)) return;
    pulumi(["destroy", "--yes", "--skip-preview", "--stack", EXAMPLE_STACK, "--config-file", configFile(infrastructureStack), "--suppress-progress"], true, dir);
    pulumi(["stack", "rm", "--yes", "--force", EXAMPLE_STACK], true, dir);
    fs.rmSync(dir, { recursive: true, force: true });
}
