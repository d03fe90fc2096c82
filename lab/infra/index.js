// The lab's infrastructure stack: where a platform team's stack would create the cluster and the
// registry, this one exports the lab's (the kubeconfig file's content as a secret, the loopback
// registry's path), so the Airflow stacks consume them through infrastructure.stack, as they would
// a real one's.
const fs = require("fs");
const pulumi = require("@pulumi/pulumi");

const config = new pulumi.Config();
module.exports = {
    kubeconfig: pulumi.secret(fs.readFileSync(config.require("kubeconfigFile"), "utf8")),
    registry: config.require("registry"),
};
