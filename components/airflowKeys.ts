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
import { jwtKid } from "./airflowSettings";
import { labels } from "./podParts";

export interface AirflowKeysArgs {
    namespace: pulumi.Input<string>;
    instance: string;
    /**
     * Simple auth manager: also store its passwords file, `{"<this user>": "<admin password>"}`, under
     * SECRET_KEYS.simpleAuthPasswords.
     */
    simpleAuthUsername?: string;
    /** keys.generation: raising it by one rotates the Fernet key, the JWT signing key and the API secret key. */
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
        // The JWT: Airflow 3.3 checks tokens against one symmetric [api_auth] jwt_secret (generation 0),
        // or against a JWKS of public keys picked by the token's kid. From generation 1 the scheduler and
        // API server sign with an Ed25519 key and trust the JWKS of this and the previous generation
        // (generation 0's secret as an HS512 key under the kid its tokens carry), so tokens issued before
        // a rotation (running tasks', signed-in users') stay valid until the next one.
        const jwtSlots = keySlots(generation).map((k) => ({ ...k, seed: password(k.slot === "even" ? "jwt-secret" : "jwt-secret-odd", 64, slotKeepers(k.generation)) }));
        const jwtCurrent = jwtSlots.find((k) => k.current)!;
        const jwtPrevious = jwtSlots.find((k) => !k.current);
        const jwt: Record<string, pulumi.Output<string>> =
            generation === 0 || !jwtPrevious
                ? { [SECRET_KEYS.jwtSecret]: jwtCurrent.seed }
                : {
                      // unused while the JWKS is configured; kept so nothing falls back to a generated one
                      [SECRET_KEYS.jwtSecret]: jwtCurrent.seed.apply((seed) => crypto.createHmac("sha256", seed).update("airflow-jwt-secret").digest("base64url")),
                      [SECRET_KEYS.jwtPrivateKey]: jwtCurrent.seed.apply((seed) => ed25519(seed).privatePem),
                      [SECRET_KEYS.jwtJwks]: pulumi
                          .all([jwtCurrent.seed, jwtPrevious.seed])
                          .apply(([current, previous]) => JSON.stringify({ keys: [ed25519(current).jwk(jwtKid(generation)), previousJwk(previous, generation - 1)] })),
                  };
        const admin = password("admin-password", 24);
        this.adminPassword = pulumi.secret(admin);
        const simpleAuthUser = args.simpleAuthUsername;

        const secret = new k8s.core.v1.Secret(
            name,
            {
                // A new Secret per generation: the provider replaces a Secret whose data changes, and with the
                // same name it would delete it first, and with it every Deployment that reads it (no rolling
                // update). Under a new name it is created first, the pods roll to it, the old one goes last.
                metadata: { name: keysSecretName(name, generation), namespace: args.namespace, labels: labels(args.instance, "keys") },
                type: "Opaque",
                stringData: {
                    [SECRET_KEYS.fernetKey]: fernetKeys,
                    ...jwt,
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

/** The keys Secret's name: the component's at generation 0 (as before rotation existed), then one per generation. */
export function keysSecretName(name: string, generation: number): string {
    return generation === 0 ? name : `${name}-g${generation}`;
}

/** The kid Airflow 3.3 puts in tokens signed with the symmetric jwt_secret (no jwt_kid set). */
const SYMMETRIC_KID = "not-used";

/** An Ed25519 key from a generated seed (SHA-256 of it): the private key as PEM, the public one as a JWK. */
export function ed25519(seed: string): { privatePem: string; jwk(kid: string): Record<string, string> } {
    // PKCS#8 of an Ed25519 private key is a fixed prefix and the 32-byte seed (RFC 8410)
    const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), crypto.createHash("sha256").update(seed).digest()]);
    const key = crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    const pub = crypto.createPublicKey(key).export({ format: "jwk" }) as Record<string, string>;
    return { privatePem: key.export({ type: "pkcs8", format: "pem" }).toString(), jwk: (kid) => ({ kty: pub.kty, crv: pub.crv, x: pub.x, kid, alg: "EdDSA", use: "sig" }) };
}

/** The previous generation's key in the JWKS: generation 0's symmetric secret (HS512), else its Ed25519 public key. */
function previousJwk(seed: string, generation: number): Record<string, string> {
    return generation === 0 ? { kty: "oct", k: Buffer.from(seed).toString("base64url"), kid: SYMMETRIC_KID, alg: "HS512", use: "sig" } : ed25519(seed).jwk(jwtKid(generation));
}

function urlSafe(base64: string): string {
    return base64.replace(/\+/g, "-").replace(/\//g, "_");
}
