// Preloaded by Pulumi.yaml's nodeargs, before the SDK's Node.js harness loads anything of its own, so
// the deferral of tools/deferPulumiExtras.js covers the harness too. The npm package ships it as
// `@airflow-pulumi/airflow-kubernetes/preload` for the programs that use the component.
"use strict";
require("./deferPulumiExtras").install();
