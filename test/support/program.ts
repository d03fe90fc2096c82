// Runs the Pulumi program (index.ts) under mocks with a given config map, as `pulumi up` would.
import * as pulumi from "@pulumi/pulumi";
import { installMocks, RecordedResource } from "./harness";

export interface ProgramRun {
    /** Resources registered while the program module loaded (0 when the config was refused). */
    resources: number;
    /** The live list of registered resources. */
    recorded: RecordedResource[];
    error?: Error;
    /** The module's exports: the stack outputs. */
    exports?: Record<string, unknown>;
    /** What the program logged with pulumi.log.warn, and how many resources existed at that moment. */
    warnings: { message: string; resourcesBefore: number }[];
}

/**
 * Loads index.ts afresh with `config` as Pulumi's config map (`namespace:key` -> raw string value);
 * `secretKeys` are the keys the stack file holds encrypted, as the language host lists them.
 */
export function runProgram(config: Record<string, string>, secretKeys: string[] = []): ProgramRun {
    const recorded = installMocks();
    pulumi.runtime.setAllConfig(config, secretKeys);
    const warnings: ProgramRun["warnings"] = [];
    const log = pulumi.log as { warn: typeof pulumi.log.warn };
    const warn = log.warn;
    log.warn = (message: string) => {
        warnings.push({ message, resourcesBefore: recorded.length });
        return Promise.resolve();
    };
    const modulePath = require.resolve("../../index");
    delete require.cache[modulePath];
    try {
        return { resources: recorded.length, recorded, exports: require(modulePath), warnings };
    } catch (e) {
        return { resources: recorded.length, recorded, error: e as Error, warnings };
    } finally {
        log.warn = warn;
    }
}
