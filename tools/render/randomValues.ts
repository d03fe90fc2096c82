// Values for the random provider's resources when a render must deploy (scripts/render.ts for the
// lab's deploy path without the Pulumi engine): real random values, generated once per resource name
// and kept in a file (mode 0600) the way Pulumi state keeps them, so a re-render never rotates a secret.
import * as crypto from "crypto";
import * as fs from "fs";

/** Where the mocks take random resources' values from (see mocks.ts: without one, recognisable mock values). */
export interface RandomValues {
    password(resourceName: string, length: number): string;
    bytes(resourceName: string, length: number): Buffer;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Random values kept in `file` (created on first use), one per resource name. */
export function persistentRandom(file: string): RandomValues {
    const values: Record<string, string> = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    const keep = (name: string, make: () => string) => {
        if (!(name in values)) {
            values[name] = make();
            fs.writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
        }
        return values[name];
    };
    return {
        password: (name, length) => keep(name, () => Array.from(crypto.randomBytes(length), (b) => ALPHABET[b % ALPHABET.length]).join("")),
        bytes: (name, length) =>
            Buffer.from(
                keep(name, () => crypto.randomBytes(length).toString("hex")),
                "hex",
            ),
    };
}
