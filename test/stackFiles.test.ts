// The committed stack files are working examples: they parse, render and pass the schema, and they are
// in the form the Pulumi CLI writes, so following the README leaves the working tree clean.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { parseStackConfig } from "../components/config";
import { passphraseOpensSalt, pulumiStackYaml, yamlV2KeyLess } from "./support/pulumiYaml";
import { rawConfig, renderStack } from "./support/harness";
import { assertValidObjects } from "./support/k8sSchema";

const root = path.join(__dirname, "..");
// committed stack files only (the lab scenario's Pulumi.lab-*.yaml stacks are generated and git-ignored)
const stackFiles = fs.readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f) && !f.startsWith("Pulumi.lab-"));
/** The lab's passphrase, published in the README: it protects nothing but a throwaway local cluster. */
const LOCAL_PASSPHRASE = "airflow-local-lab";
const LOCAL_STACKS = ["Pulumi.local.yaml", "Pulumi.local-standalone.yaml"];

const load = (file: string) => yaml.load(fs.readFileSync(path.join(root, file), "utf8")) as { encryptionsalt?: string; config: Record<string, unknown> };

describe("stack files", () => {
    it("include the dev and local stacks, one local stack per architecture", () => {
        for (const file of ["Pulumi.dev.yaml", ...LOCAL_STACKS]) {
            assert.ok(stackFiles.includes(file), `${file} in ${stackFiles.join(", ")}`);
        }
        assert.deepStrictEqual(LOCAL_STACKS.map((f) => load(f).config["airflow:architecture"]), ["production", "standalone"]);
    });

    for (const file of stackFiles) {
        it(`${file} is valid and renders schema-valid objects`, async () => {
            const doc = load(file);
            const config = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^airflow:/, ""), v]));
            assert.ok(Object.keys(doc.config).every((k) => k.startsWith("airflow:")), "every key is in the airflow namespace");
            parseStackConfig(rawConfig(config));
            const rendered = await renderStack(config);
            await assertValidObjects(rendered.objects);
        });

        it(`${file} is in the form the Pulumi CLI writes (block style, keys in Pulumi's order)`, () => {
            const text = fs.readFileSync(path.join(root, file), "utf8");
            // Comment lines are the only addition allowed: Pulumi writes none, but keeps a file it has no reason to save.
            const content = text
                .split("\n")
                .filter((line) => !/^\s*#/.test(line))
                .join("\n");
            assert.strictEqual(content, pulumiStackYaml(load(file)));
        });
    }

    it("sorts keys the way Pulumi's YAML library does", () => {
        const sorted = ["airflow:apiServer", "AIRFLOW__CORE__X", "airflow:namespace", "b10", "b9", "a_b", "ab"].sort((a, b) => (yamlV2KeyLess(a, b) ? -1 : 1));
        assert.deepStrictEqual(sorted, ["AIRFLOW__CORE__X", "a_b", "ab", "airflow:apiServer", "airflow:namespace", "b9", "b10"]);
    });

    for (const file of LOCAL_STACKS) {
        it(`${file} carries the encryptionsalt of the README's lab passphrase, so \`pulumi stack init\` does not rewrite it`, () => {
            const salt = load(file).encryptionsalt;
            assert.ok(salt, "an encryptionsalt: without one, stack init with the passphrase provider adds it");
            assert.ok(passphraseOpensSalt(LOCAL_PASSPHRASE, salt), "the README's passphrase opens it (or Pulumi asks for another and the stack cannot be used)");
        });
    }

    it("the README's deploy section initialises the local stacks with that passphrase and the passphrase provider", () => {
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        assert.ok(readme.includes(`PULUMI_CONFIG_PASSPHRASE=${LOCAL_PASSPHRASE}`), "the passphrase is documented");
        for (const file of LOCAL_STACKS) {
            const stack = file.replace(/^Pulumi\.|\.yaml$/g, "");
            assert.match(readme, new RegExp(`pulumi stack init ${stack} --secrets-provider passphrase`), stack);
        }
    });
});
