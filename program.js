// Pulumi.yaml's entry point. It runs the program that `npm run build:program` (run by npm ci)
// precompiled into bin/: a preview then skips compiling TypeScript, about 1.5 s on every run
// (npm run bench, row (c)). When a TypeScript source is newer than that build (an edit since, or no
// build yet), it compiles index.ts in memory instead (transpile-only), so an edit never runs stale.
// Type-checking is not skipped, only moved: `npx tsc --noEmit -p .` runs in CI before the tests.
"use strict";
const fs = require("fs");
const path = require("path");

const built = path.join(__dirname, "bin", "index.js");

function newestSource() {
    let newest = fs.statSync(path.join(__dirname, "index.ts")).mtimeMs;
    for (const entry of fs.readdirSync(path.join(__dirname, "components"))) {
        if (entry.endsWith(".ts")) newest = Math.max(newest, fs.statSync(path.join(__dirname, "components", entry)).mtimeMs);
    }
    return newest;
}

function fresh() {
    try {
        return fs.statSync(built).mtimeMs >= newestSource();
    } catch {
        return false;
    }
}

if (fresh()) {
    module.exports = require(built);
} else {
    console.error("bin/ is older than the TypeScript sources: compiling them in memory (`npm run build:program` makes previews faster)");
    require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "tsconfig.pulumi.json") });
    module.exports = require("./index.ts");
}
