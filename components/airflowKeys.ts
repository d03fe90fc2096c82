// Airflow's own secrets, generated once with @pulumi/random and kept in Pulumi state as secrets:
// an update never rotates them (a new Fernet key would make stored connections unreadable).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { SECRET_KEYS } from "./airflowPod";
import { labels } from "./podParts";

export interface AirflowKeysArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    /** Generate an admin password (FAB auth manager). */
    adminPassword: boolean;
}

/** Fernet key, JWT secret, API secret key (and admin password) in one Kubernetes Secret. */
export class AirflowKeys extends pulumi.ComponentResource {
    /** Secret holding the keys under SECRET_KEYS. */
    readonly secretName: pulumi.Output<string>;
    /** The generated admin password, a Pulumi secret. */
    readonly adminPassword?: pulumi.Output<string>;

    constructor(name: string, args: AirflowKeysArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:index:AirflowKeys", name, {}, opts);
        const parent = { parent: this };

        const fernet = new random.RandomBytes(`${name}-fernet-key`, { length: 32 }, parent);
        const password = (suffix: string, length: number) => new random.RandomPassword(`${name}-${suffix}`, { length, special: false }, parent).result;
        const admin = args.adminPassword ? password("admin-password", 24) : undefined;
        this.adminPassword = admin ? pulumi.secret(admin) : undefined;

        const secret = new k8s.core.v1.Secret(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: labels(args.instance, "keys") },
                type: "Opaque",
                stringData: {
                    // Fernet wants URL-safe base64 of 32 random bytes.
                    [SECRET_KEYS.fernetKey]: fernet.base64.apply((b) => b.replace(/\+/g, "-").replace(/\//g, "_")),
                    [SECRET_KEYS.jwtSecret]: password("jwt-secret", 64),
                    [SECRET_KEYS.apiSecretKey]: password("api-secret-key", 64),
                    ...(admin ? { [SECRET_KEYS.adminPassword]: admin } : {}),
                },
            },
            { ...parent, additionalSecretOutputs: ["stringData", "data"] },
        );
        this.secretName = secret.metadata.name;
        this.registerOutputs({ secretName: this.secretName });
    }
}
