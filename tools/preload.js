// Preloaded by Pulumi.yaml's nodeargs, before the SDK's Node.js harness loads anything of its own, so
// the deferral of tools/deferPulumiExtras.js covers the harness too.
"use strict";
require("./deferPulumiExtras").install();
