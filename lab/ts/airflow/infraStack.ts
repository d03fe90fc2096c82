// The lab's infrastructure stack (lab/infra): deployed with the real engine into the lab's local
// backend, beside the Airflow stacks, which read its outputs through a StackReference.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { labKubeconfig, LAB_DIR } from "../kubectl";
import { deployStateDir, pulumi } from "./deploy";

const PROJECT_DIR = path.join(LAB_DIR, "infra");
const PROJECT = "lab-infrastructure";
export const INFRA_STACK = "lab-infra";
/** Its fully qualified name, as `infrastructure.stack` takes it (a local backend's organization is `organization`). */
export const INFRA_STACK_NAME = `organization/${PROJECT}/${INFRA_STACK}`;

/** Deploys (or updates) the infrastructure stack with these outputs; returns the stack's outputs as the CLI shows them. */
export function deployInfraStack(registry: string, log: (l: string) => void): Record<string, unknown> {
    const ls = JSON.parse(pulumi(["stack", "ls", "--json"], false, PROJECT_DIR).stdout || "[]") as { name: string }[];
    if (!ls.some((s) => s.name === INFRA_STACK)) {
        fs.rmSync(path.join(PROJECT_DIR, `Pulumi.${INFRA_STACK}.yaml`), { force: true });
        pulumi(["stack", "init", INFRA_STACK], false, PROJECT_DIR);
    }
    const configFile = path.join(deployStateDir(), `Pulumi.${INFRA_STACK}.yaml`);
    fs.writeFileSync(configFile, yaml.dump({ config: { [`${PROJECT}:kubeconfigFile`]: labKubeconfig(), [`${PROJECT}:registry`]: registry } }));
    const up = pulumi(["up", "--yes", "--skip-preview", "--stack", INFRA_STACK, "--config-file", configFile, "--suppress-progress"], false, PROJECT_DIR);
    log(
        `infrastructure stack ${INFRA_STACK_NAME}: ${up.stdout
            .split("\n")
            .filter((l) => /Resources:|[0-9]+ (created|updated|unchanged)|Outputs:|registry/.test(l))
            .join(" ")
            .replace(/\s+/g, " ")
            .trim()}`,
    );
    return JSON.parse(pulumi(["stack", "output", "--json", "--stack", INFRA_STACK], false, PROJECT_DIR).stdout);
}

/** Destroys the infrastructure stack (it owns no resource but its outputs) and removes it. */
export function destroyInfraStack(): void {
    pulumi(["destroy", "--yes", "--skip-preview", "--stack", INFRA_STACK, "--suppress-progress"], true, PROJECT_DIR);
    pulumi(["stack", "rm", "--yes", "--force", INFRA_STACK], true, PROJECT_DIR);
    fs.rmSync(path.join(PROJECT_DIR, `Pulumi.${INFRA_STACK}.yaml`), { force: true });
}
