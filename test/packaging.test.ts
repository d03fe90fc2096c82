// What the README promises about the toolchain matches what the dependencies require.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const pkg = JSON.parse(read("package.json"));
/** The major version of a `>=N[.x.y]` range, or undefined for another form. */
const minimumMajor = (range: string | undefined) => (range && /^>=\s*(\d+)/.exec(range) ? Number(/^>=\s*(\d+)/.exec(range)![1]) : undefined);

describe("toolchain", () => {
    const ours = minimumMajor(pkg.engines?.node);

    it("declares a Node.js minimum no lower than any dependency's", () => {
        assert.ok(ours !== undefined, `engines.node must be >=N, got ${pkg.engines?.node}`);
        for (const name of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]) {
            const theirs = minimumMajor(JSON.parse(read(`node_modules/${name}/package.json`)).engines?.node);
            assert.ok(theirs === undefined || theirs <= ours!, `${name} needs Node.js >=${theirs}, package.json says >=${ours}`);
        }
        assert.strictEqual(JSON.parse(read("package-lock.json")).packages[""].engines?.node, pkg.engines.node, "package-lock.json agrees");
    });

    it("says the same in the README and runs CI on it", () => {
        assert.match(read("README.md"), new RegExp(`Node\\.js ${ours}\\+`));
        assert.doesNotMatch(read("README.md"), /Node\.js (1\d|2[01])\+/);
        for (const m of read(".github/workflows/preview.yml").matchAll(/node-version:\s*(\d+)/g)) {
            assert.ok(Number(m[1]) >= ours!, `CI runs Node.js ${m[1]}`);
        }
    });

    it("shows how to render a stack's objects without a cluster", () => {
        assert.ok(fs.existsSync(path.join(root, "scripts/render.ts")));
        assert.match(read("README.md"), /npx ts-node scripts\/render\.ts --config Pulumi\.[a-z-]+\.yaml/);
    });
});
