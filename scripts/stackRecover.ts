// npm run stack:recover -- --stack <name> [--cwd <project dir>]
//
// After a `pulumi up` that was killed (the CLI's SIGKILL, a CI runner that was stopped, a machine that
// went down), the stack keeps a lock and marks the operations that were under way as pending. Creates
// are the hard case: the object may exist in the cluster while the state does not know it, and the
// next `pulumi up` is refused with "already exists" (the Kubernetes provider does not adopt objects).
// `pulumi refresh --import-pending-creates` does not help here: the CLI (v3.277) turns each into a
// pending import that the refresh then drops. So this command, with the pulumi CLI of PATH (the user's
// backend and passphrase from the environment, as for any pulumi command), after `pulumi cancel` has
// removed the lock of the update that no longer runs:
// 1. moves every pending Kubernetes create whose inputs name its object into the state as a resource
//    with the provider's ID for it (`namespace/name`), through `pulumi stack export` / `stack import`;
// 2. runs `pulumi refresh --clear-pending-creates`: each such object is read back from the cluster
//    (dropped from the state when the killed update never created it), the other pending creates are
//    dropped, and the next `pulumi up` creates what is missing.
// Nothing is duplicated and nothing is orphaned; secrets stay encrypted (the export is ciphertext,
// written to a private temporary file and removed).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface PendingOperation {
    type: string;
    resource: { urn: string; type: string; inputs?: { metadata?: { name?: unknown; namespace?: unknown } }; [key: string]: unknown };
}

interface Deployment {
    resources?: Record<string, unknown>[];
    pending_operations?: PendingOperation[];
}

/**
 * The provider IDs of the pending creates this command adopts: each create of a Kubernetes object
 * whose inputs name it (`namespace/name`, or `name` for a cluster-scoped object), by URN. The other
 * pending operations are left to `--clear-pending-creates`.
 */
export function pendingCreateImports(pending: readonly PendingOperation[]): [urn: string, id: string][] {
    const pairs: [string, string][] = [];
    for (const op of pending) {
        if (op.type !== "creating" || !op.resource.type.startsWith("kubernetes:")) continue;
        const meta = op.resource.inputs?.metadata;
        if (typeof meta?.name !== "string" || !meta.name) continue;
        const id = typeof meta.namespace === "string" && meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
        pairs.push([op.resource.urn, id]);
    }
    return pairs;
}

/**
 * The deployment with the adoptable pending creates moved into its resources (after every resource
 * already there: their parents and dependencies were created before them), each with its ID and its
 * inputs as outputs until the refresh reads the live object. Undefined when nothing is adopted.
 */
export function adoptPendingCreates(deployment: Deployment): Deployment | undefined {
    const pending = deployment.pending_operations ?? [];
    const ids = new Map(pendingCreateImports(pending));
    if (!ids.size) return undefined;
    const adopted = pending.filter((op) => op.type === "creating" && ids.has(op.resource.urn));
    return {
        ...deployment,
        resources: [...(deployment.resources ?? []), ...adopted.map((op) => ({ ...op.resource, id: ids.get(op.resource.urn), outputs: op.resource.inputs ?? {} }))],
        pending_operations: pending.filter((op) => !adopted.includes(op)),
    };
}

export type Runner = (args: string[]) => { status: number | null; stdout: string; stderr: string };

/** Settles what an interrupted update left in `stack`'s state; says what it runs. Returns whether anything was pending. */
export function recoverStack(stack: string, pulumi: Runner, log: (l: string) => void): boolean {
    const check = (what: string, r: ReturnType<Runner>) => {
        if (r.status !== 0) throw new Error(`pulumi ${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(-3000)}`);
        return r;
    };
    const exported = JSON.parse(check(`stack export --stack ${stack}`, pulumi(["stack", "export", "--stack", stack])).stdout) as { deployment?: Deployment };
    const pending = exported.deployment?.pending_operations ?? [];
    if (!pending.length) {
        log(`stack ${stack}: no pending operations`);
        return false;
    }
    const adopted = exported.deployment && adoptPendingCreates(exported.deployment);
    if (adopted) {
        const ids = pendingCreateImports(pending).map(([, id]) => id);
        log(
            `${pending.length} operations of an interrupted update are pending; adopting the ${ids.length} Kubernetes objects it was creating (${ids.join(", ")}): pulumi stack import`,
        );
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-recover-"));
        try {
            const file = path.join(dir, "state.json");
            fs.writeFileSync(file, JSON.stringify({ ...exported, deployment: adopted }), { mode: 0o600 });
            check("stack import", pulumi(["stack", "import", "--stack", stack, "--file", file]));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    log("reading them back and dropping the other pending creates: pulumi refresh --clear-pending-creates");
    check("refresh", pulumi(["refresh", "--yes", "--skip-preview", "--clear-pending-creates", "--stack", stack]));
    return true;
}

function main(argv: string[]): void {
    const flag = (name: string) => {
        const i = argv.indexOf(name);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const stack = flag("--stack");
    if (!stack) {
        process.stderr.write("usage: npm run stack:recover -- --stack <name> [--cwd <project dir>]\n");
        process.exit(2);
    }
    const cwd = flag("--cwd") ?? process.cwd();
    const pulumi: Runner = (args) => {
        const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        if (r.error) throw new Error(`could not run pulumi: ${r.error.message}`);
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    recoverStack(stack, pulumi, (l) => process.stdout.write(`${l}\n`));
    process.stdout.write("now run: pulumi up\n");
}

if (require.main === module) main(process.argv.slice(2));
