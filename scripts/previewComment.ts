// The pull-request comment of .github/workflows/preview.yml: a summary of `pulumi preview --json --diff`
// (the engine's own JSON, not its text display), one row per resource that changes, with the property
// paths the provider reports as changed. Secret values show as [secret]: the engine's JSON has them
// as that string (also with --show-secrets, CLI v3.277.0), and a Kubernetes Secret's data is never
// shown, marked or not; objects and lists show only their size, so nothing nested is printed.
//
//   pulumi preview --json --diff --stack prod > preview.json; npm run --silent preview:comment -- --stack prod preview.json
//
// Prints Markdown on stdout. The first line is a marker (`<!-- pulumi-preview:<stack> -->`) by which the
// workflow finds and edits its earlier comment.
import * as fs from "fs";

/** One step of the engine's preview JSON (`pulumi preview --json`). */
export interface PreviewStep {
    op: string;
    urn: string;
    oldState?: { type?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> } | null;
    newState?: { type?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> } | null;
    diffReasons?: string[] | null;
    replaceReasons?: string[] | null;
    detailedDiff?: Record<string, { kind: string; inputDiff?: boolean }> | null;
}

export interface PreviewJson {
    steps?: PreviewStep[] | null;
    changeSummary?: Record<string, number> | null;
    diagnostics?: { urn?: string; message: string; severity: string }[] | null;
}

export interface Change {
    op: "create" | "update" | "replace" | "delete";
    type: string;
    name: string;
    urn: string;
    /** Changed property paths, each with old → new as shown (secrets masked), in the provider's order. */
    properties: { path: string; kind: string; before?: string; after?: string }[];
}

/** How the engine's preview JSON writes a secret value (with or without --show-secrets). */
export const SECRET_MASK = "[secret]";

const SECRET = Symbol("secret");
const MISSING = Symbol("missing");
type Looked = unknown | typeof SECRET | typeof MISSING;

/** Parses a property path as the engine prints it: `spec.template.spec.containers[0].image`, `data["a.b"]`. */
export function parsePath(path: string): (string | number)[] {
    const out: (string | number)[] = [];
    let i = 0;
    while (i < path.length) {
        const c = path[i];
        if (c === ".") {
            i++;
        } else if (c === "[") {
            if (path[i + 1] === '"') {
                let j = i + 2;
                let key = "";
                while (j < path.length && path[j] !== '"') {
                    if (path[j] === "\\" && j + 1 < path.length) j++;
                    key += path[j++];
                }
                out.push(key);
                i = path.indexOf("]", j) + 1 || path.length;
            } else {
                const end = path.indexOf("]", i);
                const index = path.slice(i + 1, end < 0 ? undefined : end);
                out.push(/^\d+$/.test(index) ? Number(index) : index);
                i = end < 0 ? path.length : end + 1;
            }
        } else {
            let j = i;
            while (j < path.length && path[j] !== "." && path[j] !== "[") j++;
            out.push(path.slice(i, j));
            i = j;
        }
    }
    return out;
}

function unwrap(v: unknown): Looked {
    return v === SECRET_MASK ? SECRET : v;
}

/** The value at `path` in `props`: a secret anywhere on the way makes the whole value secret. */
function lookup(props: Record<string, unknown> | undefined, path: (string | number)[]): Looked {
    let v: Looked = unwrap(props);
    for (const key of path) {
        if (v === SECRET) return v;
        if (v === null || typeof v !== "object") return MISSING;
        v = unwrap((v as Record<string | number, unknown>)[key]);
        if (v === undefined) return MISSING;
    }
    return v;
}

const MAX_VALUE = 60;
/** A value as the comment shows it: scalars as JSON, objects and lists by their size only. */
function show(v: Looked): string | undefined {
    if (v === MISSING) return undefined;
    if (v === SECRET) return SECRET_MASK;
    if (v === null) return "null";
    if (Array.isArray(v)) return `[${v.length} item${v.length === 1 ? "" : "s"}]`;
    if (typeof v === "object") {
        const n = Object.keys(v as object).length;
        return `{${n} key${n === 1 ? "" : "s"}}`;
    }
    const text = typeof v === "string" ? JSON.stringify(v) : String(v);
    // a long value keeps its start and its end (where a dotted name or a tag has its last part)
    return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE / 2 - 1)}…${text.slice(text.length - MAX_VALUE / 2)}` : text;
}

/** Properties whose values are never shown, marked secret or not: a Kubernetes Secret's contents. */
function alwaysSecret(type: string, path: (string | number)[]): boolean {
    return type === "kubernetes:core/v1:Secret" && (path[0] === "data" || path[0] === "stringData");
}

const OPS: Record<string, Change["op"] | undefined> = {
    create: "create",
    update: "update",
    delete: "delete",
    replace: "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    discard: "delete",
};

/** The resources a preview changes, one entry per URN, by type and name (reads and no-ops left out). */
export function changes(preview: PreviewJson): Change[] {
    const byUrn = new Map<string, Change>();
    for (const step of preview.steps ?? []) {
        const op = OPS[step.op];
        if (!op) continue; // same, read, refresh, import: nothing this update changes
        const seen = byUrn.get(step.urn);
        if (seen) {
            if (op === "replace") seen.op = "replace";
            if (!seen.properties.length) seen.properties = properties(step, seen.type);
            continue;
        }
        const type = step.newState?.type ?? step.oldState?.type ?? urnType(step.urn);
        byUrn.set(step.urn, { op, type, name: urnName(step.urn), urn: step.urn, properties: properties(step, type) });
    }
    // the engine runs steps in parallel, so its order varies from run to run: the comment's is fixed
    return [...byUrn.values()].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name) || a.urn.localeCompare(b.urn));
}

function properties(step: PreviewStep, type: string): Change["properties"] {
    const detailed = step.detailedDiff ?? undefined;
    const entries: [string, { kind: string; inputDiff?: boolean }][] = detailed
        ? Object.entries(detailed)
        : [...(step.diffReasons ?? [])].map((p) => [p, { kind: (step.replaceReasons ?? []).includes(p) ? "update-replace" : "update", inputDiff: true }]);
    if (step.op === "create" || step.op === "delete") return [];
    return entries.map(([path, d]) => {
        const parsed = parsePath(path);
        // inputDiff false (the Kubernetes provider's server-side diff): the path is in the outputs, which a
        // preview has only for the old state; the inputs hold the same path for the new one.
        const sides: ("inputs" | "outputs")[] = d.inputDiff === false ? ["outputs", "inputs"] : ["inputs", "outputs"];
        const at = (state: PreviewStep["oldState"]) => {
            for (const side of sides) {
                const v = lookup(state?.[side] ?? undefined, parsed);
                if (v !== MISSING) return v;
            }
            return MISSING;
        };
        const secret = alwaysSecret(type, parsed);
        const before = d.kind.startsWith("add") ? undefined : secret ? SECRET_MASK : show(at(step.oldState));
        const after = d.kind.startsWith("delete") ? undefined : secret ? SECRET_MASK : show(at(step.newState));
        return { path, kind: d.kind, before, after };
    });
}

/** `urn:pulumi:stack::project::a$b$kubernetes:apps/v1:Deployment::name` → the resource's own type. */
export function urnType(urn: string): string {
    const parts = urn.split("::");
    const types = parts[2] ?? "";
    return types.slice(types.lastIndexOf("$") + 1);
}

export function urnName(urn: string): string {
    return urn.split("::").slice(3).join("::");
}

/** Text safe inside a Markdown table cell's code span. */
function code(text: string): string {
    return `\`${text.replace(/`/g, "'").replace(/\|/g, "\\|").replace(/\r?\n/g, " ")}\``;
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export interface CommentOptions {
    stack: string;
    /** The exit code of `pulumi preview`: non-zero says the preview failed. */
    exitCode?: number;
}

/** GitHub's limit on a comment is 65,536 characters; the table stops well short of it. */
const MAX_COMMENT = 60_000;
const SYMBOL: Record<Change["op"], string> = { create: "+ create", update: "~ update", replace: "+- replace", delete: "- delete" };

export function marker(stack: string): string {
    return `<!-- pulumi-preview:${stack} -->`;
}

/** The comment's Markdown. */
export function previewComment(preview: PreviewJson, options: CommentOptions): string {
    const list = changes(preview);
    const summary = preview.changeSummary ?? {};
    const counts = (["create", "update", "replace", "delete"] as const)
        .map((op) => [op, list.filter((c) => c.op === op).length] as const)
        .filter(([, n]) => n > 0)
        .map(([op, n]) => `${n} to ${op}`);
    const errors = (preview.diagnostics ?? []).filter((d) => d.severity === "error");
    const warnings = (preview.diagnostics ?? []).filter((d) => d.severity === "warning");
    const failed = (options.exitCode ?? 0) !== 0 || errors.length > 0;
    const lines = [marker(options.stack), `### Pulumi preview of \`${options.stack}\``, ""];
    if (failed) {
        const where = errors.length ? `${errors.length} error(s) below` : "the engine reported no error here, see the job's log";
        lines.push(`**The preview failed** (exit code ${options.exitCode ?? "?"}): ${where}.`, "");
    }
    lines.push(
        list.length
            ? `**${list.length} resource(s) change**: ${counts.join(", ")}; ${summary.same ?? 0} unchanged.`
            : `**No changes**: ${summary.same ?? 0} resource(s) unchanged.`,
    );
    if (list.length) {
        lines.push("", "| Operation | Type | Name | Changed properties |", "|---|---|---|---|");
        let length = lines.join("\n").length;
        let shown = 0;
        for (const c of list) {
            const props = c.properties.length
                ? c.properties
                      .map(
                          (p) =>
                              `${code(p.path)}${p.kind.endsWith("-replace") ? " (replaces)" : ""}${p.before !== undefined || p.after !== undefined ? `: ${cell(p.before ?? "∅")} → ${cell(p.after ?? "∅")}` : ""}`,
                      )
                      .join("<br>")
                : c.op === "replace"
                  ? "no property diff from the engine: replaced along with a resource it depends on"
                  : "";
            const row = `| ${SYMBOL[c.op]} | ${code(c.type)} | ${code(c.name)} | ${props} |`;
            if (length + row.length > MAX_COMMENT) break;
            lines.push(row);
            length += row.length + 1;
            shown++;
        }
        if (shown < list.length) lines.push("", `… and ${list.length - shown} more resource(s) (the comment is limited in size; the workflow's log has the full preview).`);
    }
    const diagnostics = (title: string, list: { message: string }[]) => {
        if (!list.length) return;
        lines.push("", `<details><summary>${title} (${list.length})</summary>`, "", "```");
        for (const d of list) lines.push(d.message.trim().split("\n").slice(0, 20).join("\n").slice(0, 2000).replace(/```/g, "'''"));
        lines.push("```", "</details>");
    };
    diagnostics("Errors", errors);
    diagnostics("Warnings", warnings);
    lines.push("", `<sub>\`pulumi preview --json --diff\`, summarised by \`npm run preview:comment\`; secret values show as ${SECRET_MASK}.</sub>`);
    return `${lines.join("\n")}\n`;
}

function main(argv: string[]): void {
    let stack: string | undefined;
    let exitCode: number | undefined;
    let file: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--stack") stack = argv[++i];
        else if (a === "--exit-code") exitCode = Number(argv[++i]);
        else if (a.startsWith("--")) throw new Error(`unknown option ${a} (allowed: --stack NAME, --exit-code N, then the preview JSON file or - for stdin)`);
        else file = a;
    }
    if (!stack) throw new Error("--stack NAME is required (the stack the preview ran on; it names the comment)");
    if (exitCode !== undefined && !Number.isInteger(exitCode)) throw new Error("--exit-code takes the integer exit code of `pulumi preview`");
    const text = fs.readFileSync(file === undefined || file === "-" ? 0 : file, "utf8");
    let preview: PreviewJson;
    try {
        preview = text.trim() ? JSON.parse(text) : {};
    } catch (e) {
        throw new Error(`${file ?? "stdin"} is not the JSON of \`pulumi preview --json\`: ${(e as Error).message}`);
    }
    process.stdout.write(previewComment(preview, { stack, exitCode }));
}

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`preview:comment: ${(e as Error).message}\n`);
        process.exit(2);
    }
}
