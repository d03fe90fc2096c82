// `pulumi preview` runs the program transpile-only (fast) while type-checking stays in CI.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import * as yaml from "js-yaml";

const root = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const tsconfig = (file: string) => ts.parseConfigFileTextToJson(file, read(file)).config;

describe("preview speed", () => {
    it("runs the TypeScript program transpile-only: Pulumi.yaml names a tsconfig with noCheck", () => {
        const project = yaml.load(read("Pulumi.yaml")) as any;
        assert.strictEqual(project.main, "index.ts", "no build step before a preview");
        assert.strictEqual(project.runtime.options.typescript, true);
        const file = project.runtime.options.tsconfig;
        // The Node.js language host reads noCheck from that file itself (it does not follow `extends`).
        assert.strictEqual(tsconfig(file).compilerOptions.noCheck, true);
        assert.strictEqual(tsconfig(file).extends, "./tsconfig.json");
    });

    it("keeps type-checking in CI: tsconfig.json checks, and .ci/run runs it before the tests", () => {
        assert.strictEqual(tsconfig("tsconfig.json").compilerOptions.noCheck, undefined);
        const ci = read(".ci/run");
        assert.ok(ci.indexOf("npx tsc --noEmit -p .") >= 0 && ci.indexOf("npx tsc --noEmit -p .") < ci.indexOf("npm test"));
    });
});
