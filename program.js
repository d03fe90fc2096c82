// Pulumi.yaml's entry point. It runs the program that `npm run build:program` (run by npm ci)
// precompiled into bin/: a preview then skips compiling TypeScript, about 0.7 s on every run
// (npm run bench, row (c)). When a TypeScript source is newer than that build (an edit since, or no
// build yet), it compiles index.ts in memory instead (transpile-only), so an edit never runs stale.
// Type-checking is not skipped, only moved: `npx tsc --noEmit -p .` runs in CI before the tests.
// First of all, it defers the parts of the Pulumi SDK a deployment never calls (tools/deferPulumiExtras.js).
"use strict";
require("./tools/deferPulumiExtras").install();
const path = require("path");
const { programBuildIsFresh } = require("./tools/programBuild");

if (programBuildIsFresh(__dirname)) {
    // The Node.js harness installs source-map-support, but bin/ has no source maps: it would only slow
    // every stack trace the SDK records (one per promise it creates, 0.4 s of a preview on the lab)
    // and change no line of them. V8's own formatting it is.
    Error.prepareStackTrace = undefined;
    module.exports = require(path.join(__dirname, "bin", "index.js"));
} else {
    console.error("bin/ is older than the TypeScript sources: compiling them in memory (`npm run build:program` makes previews faster)");
    require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "tsconfig.pulumi.json") });
    module.exports = require("./index.ts");
}
