// Airflow's own secrets, generated once with @pulumi/random and kept in Pulumi state as secrets:
// an update never rotates them (a new Fernet key would make stored connections unreadable).
//
// Only RandomPassword is used: its id is "none" and its result is a secret output. RandomBytes would
// be the natural source of a Fernet key, but its id is its base64 value, and ids are stored (and shown
// by `pulumi stack export`) in plain text.
import * as crypto from "crypto";
import * as k8s from "./kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withLegacyType } from "./names";
import * as random from "@pulumi/random";
import { SECRET_KEYS } from "./airflowPod";
import { labels } from "./podParts";

export interface AirflowKeysArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    /**
     * Simple auth manager: also store its passwords file, `{"<this user>": "<admin password>"}`, under
     * SECRET_KEYS.simpleAuthPasswords.
     */
    simpleAuthUsername?: string;
}

/** Fernet key, JWT secret, API secret key and admin password in one Kubernetes Secret. */
export class AirflowKeys extends pulumi.ComponentResource {
    /** Secret holding the keys under SECRET_KEYS. */
    readonly secretName: pulumi.Output<string>;
    /** The generated admin password, a Pulumi secret. */
    readonly adminPassword: pulumi.Output<string>;

    constructor(name: string, args: AirflowKeysArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("AirflowKeys"), name, {}, withLegacyType("AirflowKeys", opts));
        const parent = { parent: this };

        const password = (suffix: string, length: number) => new random.RandomPassword(`${name}-${suffix}`, { length, special: false }, parent).result;
        // Fernet wants URL-safe base64 of 32 random bytes: SHA-256 of 64 random alphanumerics (~380 bits).
        const fernetKey = password("fernet-seed", 64).apply((seed) => urlSafe(crypto.createHash("sha256").update(seed).digest("base64")));
        const admin = password("admin-password", 24);
        this.adminPassword = pulumi.secret(admin);
        const simpleAuthUser = args.simpleAuthUsername;

        const secret = new k8s.core.v1.Secret(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: labels(args.instance, "keys") },
                type: "Opaque",
                stringData: {
                    [SECRET_KEYS.fernetKey]: fernetKey,
                    [SECRET_KEYS.jwtSecret]: password("jwt-secret", 64),
                    [SECRET_KEYS.apiSecretKey]: password("api-secret-key", 64),
                    [SECRET_KEYS.adminPassword]: admin,
                    ...(simpleAuthUser !== undefined
                        ? { [SECRET_KEYS.simpleAuthPasswords]: admin.apply((p) => JSON.stringify({ [simpleAuthUser]: p })) }
                        : {}),
                },
            },
            { ...parent, additionalSecretOutputs: ["stringData", "data"] },
        );
        this.secretName = secret.metadata.name;
        this.registerOutputs({ secretName: this.secretName });
    }
}

function urlSafe(base64: string): string {
    return base64.replace(/\+/g, "-").replace(/\//g, "_");
}
