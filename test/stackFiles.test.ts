// The committed stack files are working examples: they parse, render and pass the schema.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { parseStackConfig } from "../components/config";
import { rawConfig, renderStack } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const root = path.join(__dirname, "..");
const stackFiles = fs.readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));

describe("stack files", () => {
    it("include the dev and local stacks", () => {
        assert.ok(stackFiles.includes("Pulumi.dev.yaml") && stackFiles.includes("Pulumi.local.yaml"), stackFiles.join(", "));
    });
    for (const file of stackFiles) {
        it(`${file} is valid and renders schema-valid objects`, async () => {
            const doc = yaml.load(fs.readFileSync(path.join(root, file), "utf8")) as { config: Record<string, unknown> };
            const config = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^airflow:/, ""), v]));
            assert.ok(Object.keys(doc.config).every((k) => k.startsWith("airflow:")), "every key is in the airflow namespace");
            parseStackConfig(rawConfig(config));
            const rendered = await renderStack(config);
            await assertValidObjects(rendered.objects);
        });
    }
});
