// A throwaway place to run the real Pulumi CLI without touching the repository or the machine's
// Pulumi state: a local file backend, a fixed passphrase, and a PULUMI_HOME whose plugin cache holds
// the installed provider plugins (hard links: the cache does not follow symbolic links) plus stand-ins
// for providers the package's dependencies name but a run never starts (docker, gcp), so the CLI does
// not try to download them from get.pulumi.com.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Provider plugins the package's dependencies name, at the versions package.json pins. */
export const PROVIDERS: [string, string][] = [
    ["kubernetes", "4.34.2"],
    ["random", "4.21.2"],
    ["docker", "5.2.0"],
    ["gcp", "9.37.0"],
];
/** Providers a no-cluster run really starts; without them the CLI cannot run here. */
const NEEDED = ["kubernetes", "random"];

export function onPath(binary: string): boolean {
    return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, binary)));
}

export interface Sandbox {
    dir: string;
    env: NodeJS.ProcessEnv;
}

/** Creates the sandbox under `dir`; undefined (with the reason) when the CLI or a needed plugin is missing. */
export function pulumiSandbox(dir: string): Sandbox | string {
    if (!onPath("pulumi")) return "the pulumi CLI is not on PATH";
    const home = path.join(dir, "pulumi-home");
    const problem = pulumiHome(home);
    if (problem) return problem;
    fs.mkdirSync(path.join(dir, "state"), { recursive: true });
    return {
        dir,
        env: {
            PULUMI_HOME: home,
            PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "sandbox",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        },
    };
}

/**
 * Prepares a PULUMI_HOME at `home` whose plugin cache holds the installed providers and stand-ins for
 * the ones a run does not start. Without them the CLI tries to download docker and gcp before every
 * command (about 2.5 s where get.pulumi.com is unreachable). Returns the problem when a needed
 * provider is not installed.
 */
export function pulumiHome(home: string): string | undefined {
    const plugins = path.join(home, "plugins");
    fs.mkdirSync(plugins, { recursive: true });
    const installed = path.join(process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "plugins");
    for (const [name, version] of PROVIDERS) {
        const plugin = `resource-${name}-v${version}`;
        const target = path.join(plugins, plugin);
        if (fs.existsSync(target)) continue;
        if (fs.existsSync(path.join(installed, plugin))) {
            fs.mkdirSync(target);
            for (const file of fs.readdirSync(path.join(installed, plugin))) {
                try {
                    fs.linkSync(path.join(installed, plugin, file), path.join(target, file));
                } catch {
                    fs.copyFileSync(path.join(installed, plugin, file), path.join(target, file));
                    fs.chmodSync(path.join(target, file), 0o755);
                }
            }
        } else if (NEEDED.includes(name)) {
            return `the ${name} ${version} provider plugin is not installed (pulumi plugin install resource ${name} ${version})`;
        } else {
            fs.mkdirSync(target);
            fs.writeFileSync(path.join(target, `pulumi-resource-${name}`), `#!/bin/sh\necho "stand-in: the ${name} provider is not installed" >&2\nexit 1\n`, { mode: 0o755 });
        }
        fs.writeFileSync(`${target}.lock`, "");
    }
    return undefined;
}

/** Runs a command; throws with its output when it fails. */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
    const r = childProcess.spawnSync(command, args, {
        cwd,
        encoding: "utf8",
        env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...env },
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} (in ${cwd}) failed with ${r.status}:\n${r.stdout}\n${r.stderr}`);
    }
    return r.stdout;
}
