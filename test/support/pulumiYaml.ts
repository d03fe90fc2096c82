// The YAML the Pulumi CLI writes for a stack file (Pulumi.<stack>.yaml), to check that committed stack
// files are already in that form, so `pulumi stack init` or `pulumi config set` do not reformat them.
//
// The CLI saves a stack file by marshalling it with gopkg.in/yaml.v2: block style only (flow maps such
// as `{ cpu: 100m }` are expanded), two-space indentation, sequence items at their key's indentation,
// map keys in yaml.v2's order (below), the top level in the order of Pulumi's ProjectStack struct
// (secretsprovider, encryptedkey, encryptionsalt, config, environment), strings quoted only when plain
// text would read as something else ("2", "true") or is not allowed plain ('*/5 * * * *').
import * as crypto from "crypto";

const STACK_FIELDS = ["secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment"];

/** A stack file's text as the Pulumi CLI writes it. */
export function pulumiStackYaml(doc: Record<string, unknown>): string {
    const ordered = Object.fromEntries(STACK_FIELDS.filter((k) => doc[k] !== undefined).map((k) => [k, doc[k]]));
    // A key's value is a string to the CLI unless it is an object or a list (config.Value): `true` or `5`
    // at the top of a key is saved as "true" / "5". Inside an object, values keep their JSON types.
    if (isMap(ordered.config)) {
        ordered.config = Object.fromEntries(Object.entries(ordered.config).map(([k, v]) => [k, isMap(v) || Array.isArray(v) || v === null ? v : String(v)]));
    }
    return emitMap(ordered, 0, false).join("\n") + "\n";
}

/**
 * yaml.v2's map key order (sorter.go): runs of digits compare as numbers, a letter sorts after a
 * non-letter, letters compare by code point.
 */
export function yamlV2KeyLess(a: string, b: string): boolean {
    const ar = [...a];
    const br = [...b];
    const isLetter = (c: string) => /\p{L}/u.test(c);
    const isDigit = (c: string) => /\p{Nd}/u.test(c);
    for (let i = 0; i < ar.length && i < br.length; i++) {
        if (ar[i] === br[i]) continue;
        const al = isLetter(ar[i]);
        const bl = isLetter(br[i]);
        if (al && bl) return ar[i] < br[i];
        if (al || bl) return bl;
        let an = 0;
        let bn = 0;
        if (ar[i] === "0" || br[i] === "0") {
            for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
                if (ar[j] !== "0") {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let ai = i;
        let bi = i;
        for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + Number(ar[ai]);
        for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + Number(br[bi]);
        if (an !== bn) return an < bn;
        if (ai !== bi) return ai < bi;
        return ar[i] < br[i];
    }
    return ar.length < br.length;
}

function sortedKeys(map: Record<string, unknown>): string[] {
    return Object.keys(map).sort((a, b) => (yamlV2KeyLess(a, b) ? -1 : yamlV2KeyLess(b, a) ? 1 : 0));
}

function emitMap(map: Record<string, unknown>, indent: number, sort = true): string[] {
    const pad = " ".repeat(indent);
    return (sort ? sortedKeys(map) : Object.keys(map)).flatMap((key) => {
        const value = map[key];
        const head = `${pad}${scalar(key)}:`;
        if (isMap(value)) return Object.keys(value).length ? [head, ...emitMap(value, indent + 2)] : [`${head} {}`];
        // yaml.v2 writes a sequence under a key at the key's own indentation.
        if (Array.isArray(value)) return value.length ? [head, ...emitList(value, indent)] : [`${head} []`];
        return [`${head} ${scalar(value)}`];
    });
}

function emitList(list: unknown[], indent: number): string[] {
    const pad = " ".repeat(indent);
    return list.flatMap((item) => {
        if (isMap(item) && Object.keys(item).length) {
            const [first, ...rest] = emitMap(item, indent + 2);
            return [`${pad}- ${first.trimStart()}`, ...rest];
        }
        if (Array.isArray(item) && item.length) {
            const [first, ...rest] = emitList(item, indent + 2);
            return [`${pad}- ${first.trimStart()}`, ...rest];
        }
        return [`${pad}- ${isMap(item) ? "{}" : Array.isArray(item) ? "[]" : scalar(item)}`];
    });
}

function isMap(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Plain text YAML 1.1 (yaml.v2) would read as a bool, null, number or base-60 number. */
const NOT_A_STRING = [
    /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
    /^(~|null|Null|NULL|)$/,
    /^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$/,
    /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/,
    /^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$/,
    /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/,
];

function scalar(value: unknown): string {
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (value === null || value === undefined) return "null";
    const s = String(value);
    if (NOT_A_STRING.some((re) => re.test(s))) return JSON.stringify(s);
    const plain =
        !/^[-?:,[\]{}#&*!|>'"%@`\s]/.test(s) && !/\s$/.test(s) && !/: |:$| #|[\n\t\r]/.test(s) && !/^[-?:](\s|$)/.test(s) && !/[^\x20-\x7e]/.test(s);
    if (plain) return s;
    return /[\n\t\r\\]/.test(s) ? JSON.stringify(s) : `'${s.replace(/'/g, "''")}'`;
}

/**
 * The `encryptionsalt` of Pulumi's passphrase secrets provider: `v1:<salt>:v1:<nonce>:<ciphertext>`,
 * the word "pulumi" sealed with AES-256-GCM under a key derived from the passphrase (PBKDF2-SHA256,
 * 1,000,000 rounds). `pulumi stack init --secrets-provider passphrase` keeps a salt the passphrase
 * opens instead of writing a new one.
 */
export function passphraseOpensSalt(passphrase: string, encryptionSalt: string): boolean {
    const [version, salt, cipherVersion, nonce, sealed] = encryptionSalt.split(":");
    if (version !== "v1" || cipherVersion !== "v1" || !salt || !nonce || !sealed) return false;
    const key = crypto.pbkdf2Sync(passphrase, Buffer.from(salt, "base64"), 1_000_000, 32, "sha256");
    const body = Buffer.from(sealed, "base64");
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
    decipher.setAuthTag(body.subarray(body.length - 16));
    try {
        return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString("utf8") === "pulumi";
    } catch {
        return false;
    }
}

/** A new `encryptionsalt` for a passphrase, as `pulumi stack init` makes one. */
export function newEncryptionSalt(passphrase: string): string {
    const salt = crypto.randomBytes(8);
    const key = crypto.pbkdf2Sync(passphrase, salt, 1_000_000, 32, "sha256");
    const nonce = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", key, nonce);
    const sealed = Buffer.concat([cipher.update("pulumi", "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1:${salt.toString("base64")}:v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
}
