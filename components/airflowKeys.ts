// Airflow's own secrets, generated once with @pulumi/random and kept in Pulumi state as secrets:
// an update never rotates them by itself (a new Fernet key would make stored connections
// unreadable); raising keys.generation does, key by key as Airflow 3.3 allows (keyRotation below).
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
    /** keys.generation: raising it by one rotates the Fernet key and the API secret key. */
    generation?: number;
}

/**
 * Which random value each generation of a rotated key comes from. Two alternating slots: the even
 * slot keeps its original name (and no keepers at generation 0, so a stack made before rotation
 * existed keeps its keys), the odd one appears at the first rotation. Raising the generation by one
 * replaces only the slot of the new generation; the other slot still holds the previous key.
 */
export function keySlots(generation: number): { slot: "even" | "odd"; generation: number; current: boolean }[] {
    const even = generation % 2 === 0 ? generation : generation - 1;
    const odd = generation % 2 === 1 ? generation : generation - 1;
    return [
        { slot: "even", generation: even, current: even === generation },
        ...(odd >= 1 ? [{ slot: "odd" as const, generation: odd, current: odd === generation }] : []),
    ];
}

/** The keepers of a slot's RandomPassword: none for generation 0 (the keys of a stack made before rotation existed). */
export function slotKeepers(generation: number): Record<string, string> | undefined {
    return generation === 0 ? undefined : { generation: String(generation) };
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

        const generation = args.generation ?? 0;
        const password = (suffix: string, length: number, keepers?: Record<string, string>) =>
            new random.RandomPassword(`${name}-${suffix}`, { length, special: false, ...(keepers ? { keepers } : {}) }, parent).result;
        // Fernet wants URL-safe base64 of 32 random bytes: SHA-256 of 64 random alphanumerics (~380 bits).
        const fernet = (seed: pulumi.Output<string>) => seed.apply((s) => urlSafe(crypto.createHash("sha256").update(s).digest("base64")));
        // AIRFLOW__CORE__FERNET_KEY is a list: Airflow encrypts with the first key and decrypts with any,
        // so the previous generation's key stays second until the next rotation (the rotation Job
        // re-encrypts every stored secret with the first; snapshots taken before it still need it).
        const slots = keySlots(generation).map((k) => ({ ...k, key: fernet(password(k.slot === "even" ? "fernet-seed" : "fernet-seed-odd", 64, slotKeepers(k.generation))) }));
        const fernetKeys = pulumi.all([...slots.filter((k) => k.current), ...slots.filter((k) => !k.current)].map((k) => k.key)).apply((keys) => keys.join(","));
        const admin = password("admin-password", 24);
        this.adminPassword = pulumi.secret(admin);
        const simpleAuthUser = args.simpleAuthUsername;

        const secret = new k8s.core.v1.Secret(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: labels(args.instance, "keys") },
                type: "Opaque",
                stringData: {
                    [SECRET_KEYS.fernetKey]: fernetKeys,
                    // Airflow 3.3 checks a token against one [api_auth] jwt_secret: no overlap, so a new
                    // one would fail running tasks and sign everyone out. Not rotated (docs/operations.md).
                    [SECRET_KEYS.jwtSecret]: password("jwt-secret", 64),
                    // One key, no overlap either; it signs only short-lived things (FAB's sign-in
                    // session, log continuation and DAG file tokens), so a new one costs a retried page.
                    [SECRET_KEYS.apiSecretKey]: password("api-secret-key", 64, slotKeepers(generation)),
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
