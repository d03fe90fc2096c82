// Runs the Pulumi program (index.ts) under mocks with a given config map, as `pulumi up` would.
import * as pulumi from "@pulumi/pulumi";
import { installMocks, RecordedResource, settle } from "./harness";

export interface ProgramRun {
    /**
     * Every resource registered since the program started loading, live. Registrations reach the mocks
     * asynchronously (none has arrived when the module returns or throws): read it after settle(), or
     * use runProgramToEnd.
     */
    recorded: RecordedResource[];
    error?: Error;
    /** The module's exports: the stack outputs. */
    exports?: Record<string, unknown>;
    /** What the program logged with pulumi.log.warn, in order. */
    warnings: string[];
}

export interface ProgramOptions {
    /**
     * Throw from pulumi.log.warn, stopping the program at its first warning: whatever is registered
     * afterwards (runProgramToEnd) was constructed before that warning.
     */
    stopAtWarning?: boolean;
}

/**
 * Loads index.ts afresh with `config` as Pulumi's config map (`namespace:key` -> raw string value);
 * `secretKeys` are the keys the stack file holds encrypted, as the language host lists them.
 */
export function runProgram(config: Record<string, string>, secretKeys: string[] = [], options: ProgramOptions = {}): ProgramRun {
    const recorded = installMocks();
    pulumi.runtime.setAllConfig(config, secretKeys);
    const warnings: string[] = [];
    const log = pulumi.log as { warn: typeof pulumi.log.warn };
    const warn = log.warn;
    log.warn = (message: string) => {
        warnings.push(message);
        if (options.stopAtWarning) throw new Error(`stopped at the warning: ${message}`);
        return Promise.resolve();
    };
    const modulePath = require.resolve("../../index");
    delete require.cache[modulePath];
    try {
        return { recorded, exports: require(modulePath), warnings };
    } catch (e) {
        return { recorded, error: e as Error, warnings };
    } finally {
        log.warn = warn;
    }
}

/**
 * runProgram, with every registration the program started awaited: `recorded` then holds all of them,
 * including those of resources constructed before an error. Earlier registrations (of another test) are
 * awaited first, so none of them is counted as this program's.
 */
export async function runProgramToEnd(config: Record<string, string>, secretKeys: string[] = [], options: ProgramOptions = {}): Promise<ProgramRun> {
    await settle();
    const run = runProgram(config, secretKeys, options);
    await settle();
    return run;
}

/** `type::name` of each recorded resource, for assertions that print what was registered. */
export function registrations(run: ProgramRun): string[] {
    return run.recorded.map((r) => `${r.type}::${r.name}`);
}
