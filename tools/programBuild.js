// Is bin/ (npm run build:program) at least as new as every TypeScript source of the program?
// program.js runs bin/ when it is and compiles in memory when not; the lab builds bin/ when not.
// Plain JavaScript: program.js needs it before anything can compile TypeScript.
"use strict";
const fs = require("fs");
const path = require("path");

/** @param {string} root the repository (or project) directory */
function programBuildIsFresh(root) {
    const mtime = (file) => fs.statSync(path.join(root, file)).mtimeMs;
    let built;
    try {
        built = mtime(path.join("bin", "index.js"));
    } catch {
        return false;
    }
    // components/ and its folders (components/config/, components/controlPlane/, ...)
    const components = fs.readdirSync(path.join(root, "components"), { recursive: true }).filter((f) => f.endsWith(".ts"));
    const sources = ["index.ts", ...components.map((f) => path.join("components", f))];
    return sources.every((file) => mtime(file) <= built);
}

module.exports = { programBuildIsFresh };
