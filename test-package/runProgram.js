// Runs a compiled Pulumi program under Pulumi's mocks with the program's OWN @pulumi/pulumi (the one
// its node_modules holds, next to the installed package), and prints what it registered as JSON:
//   node runProgram.js <program dir> <entry .js> '<stack outputs of StackReferences as JSON>' '<config as JSON>'
// Kubernetes objects get their state echoed back; StackReferences return the given outputs.
"use strict";
const path = require("path");

async function main() {
    const [dir, entry, stackOutputsJson = "{}", configJson = "{}"] = process.argv.slice(2);
    const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [dir] }));
    const stackOutputs = JSON.parse(stackOutputsJson);
    const resources = [];
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                let state = { ...args.inputs };
                if (args.type === "pulumi:pulumi:StackReference") state = { name: args.inputs.name, outputs: stackOutputs, secretOutputNames: [] };
                if (args.type.startsWith("random:")) state = { ...args.inputs, result: `mock-${args.name}` };
                resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
                return { id: `${args.name}-id`, state };
            },
            call(args) {
                return args.inputs;
            },
        },
        "example",
        "test",
        false,
    );
    pulumi.runtime.setAllConfig(JSON.parse(configJson));
    const exported = require(path.resolve(dir, entry));
    const outputs = await (typeof exported === "function" ? exported() : exported);
    const resolved = {};
    const secret = [];
    for (const [key, value] of Object.entries(outputs ?? {})) {
        const output = pulumi.output(value);
        resolved[key] = await new Promise((resolve) => output.apply(resolve));
        if (await output.isSecret) secret.push(key);
    }
    // Let every registration reach the mocks.
    await require(require.resolve("@pulumi/pulumi/runtime/settings", { paths: [dir] })).waitForRPCs();
    process.stdout.write(JSON.stringify({ resources, outputs: resolved, secretOutputs: secret }));
}

main().catch((e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exit(1);
});
