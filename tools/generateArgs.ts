// Generates components/airflowOnKubernetesArgs.ts, the typed args of the AirflowOnKubernetes component,
// from the one source of truth: the zod schema of the stack config (components/config/).
//
//   npm run generate:args          (writes the file)
//   npm run generate:args -- --check   (exits 1 when the committed file is out of date)
//
// Structure, optionality and defaults come from the runtime schema (zod 4 defs); descriptions come from
// the TSDoc comments on the schema's fields, read with the TypeScript compiler from the schema's input
// type (z.input), which carries them. The output is shaped for Pulumi's component schema inference
// (@pulumi/pulumi/provider/experimental), so the same types serve TypeScript users and the multi-language
// package: every nested object is a named interface, enums are `as const` objects with a type of the same
// name, and unions are avoided (a Kubernetes quantity, `string | number` in config, is a string here: the
// Kubernetes SDKs type quantities as strings too). Identical shapes share one type; names come from the
// shortest path suffix that is unambiguous (`Toleration`, `ExtraContainer`), without an Args suffix,
// which SDK generators add. A shape the schema names in argsTypeNames (every component's resources:
// `ContainerResources`) is one type wherever it is, its defaults documented on each field that holds it.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { stackConfigSchema } from "../components/config";
import { argsTypeNames } from "../components/kubernetesObjects";

const ROOT = path.join(__dirname, "..");
export const ARGS_FILE = path.join(ROOT, "components/airflowOnKubernetesArgs.ts");
export const ROOT_TYPE = "AirflowOnKubernetesArgs";

// ---------------------------------------------------------------------------------------------------
// Descriptions: TSDoc of every field of z.input<typeof stackConfigSchema>, by path ("a.b", "a[]", "a{}").

function schemaDocs(): Map<string, string> {
    const probe = path.join(ROOT, "components", "__argsDocProbe.ts");
    const source = `import { z } from "zod";\nimport { stackConfigSchema } from "./config";\nexport type Probe = z.input<typeof stackConfigSchema>;\n`;
    const options: ts.CompilerOptions = {
        strict: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        skipLibCheck: true,
        types: [],
        noEmit: true,
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    host.getSourceFile = (file, language, ...rest) => (path.resolve(file) === probe ? ts.createSourceFile(file, source, language) : getSourceFile(file, language, ...rest));
    host.fileExists = (file) => path.resolve(file) === probe || fileExists(file);
    const program = ts.createProgram([probe], options, host);
    const checker = program.getTypeChecker();
    const alias = program.getSourceFile(probe)!.statements.find(ts.isTypeAliasDeclaration)!;
    const docs = new Map<string, string>();
    const walk = (type: ts.Type, at: string, depth: number) => {
        if (depth > 12) return;
        type = checker.getNonNullableType(type);
        if (type.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return;
        if (type.isUnion()) return; // literal unions (enums), string | number
        if (checker.isArrayType(type)) {
            walk(checker.getTypeArguments(type as ts.TypeReference)[0], `${at}[]`, depth + 1);
            return;
        }
        const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
        if (index) walk(index.type, `${at}{}`, depth + 1);
        for (const symbol of type.getProperties()) {
            const key = at ? `${at}.${symbol.name}` : symbol.name;
            const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
            if (text) docs.set(key, text);
            walk(checker.getTypeOfSymbol(symbol), key, depth + 1);
        }
    };
    walk(checker.getTypeAtLocation(alias.name), "", 0);
    return docs;
}

// ---------------------------------------------------------------------------------------------------
// The schema as a tree of fields.

type Shape =
    | { kind: "string" | "number" | "boolean" | "any" }
    | { kind: "enum"; values: string[]; segments: string[]; path: string }
    | { kind: "array"; item: Shape }
    | { kind: "map"; value: Shape }
    | { kind: "object"; fields: Field[]; segments: string[]; path: string; typeName?: string };

interface Field {
    name: string;
    optional: boolean;
    doc?: string;
    /** TSDoc @default text, undefined when there is none. */
    defaultText?: string;
    shape: Shape;
}

const def = (schema: any) => schema._zod.def;

/** Unwraps optional/default/prefault/pipe (input side) down to the value schema, noting defaults. */
function unwrap(schema: any): { schema: any; optional: boolean; defaultValue?: unknown; hasDefault: boolean } {
    let optional = false;
    let hasDefault = false;
    let defaultValue: unknown;
    for (;;) {
        const d = def(schema);
        if (d.type === "optional") {
            optional = true;
            schema = d.innerType;
        } else if (d.type === "default" || d.type === "prefault") {
            optional = true;
            if (!hasDefault) {
                hasDefault = true;
                defaultValue = d.defaultValue;
            }
            schema = d.innerType;
        } else if (d.type === "pipe") {
            schema = d.in;
        } else {
            return { schema, optional, defaultValue, hasDefault };
        }
    }
}

function shapeOf(schema: any, at: string, segments: string[], docs: Map<string, string>): Shape {
    const d = def(schema);
    switch (d.type) {
        case "string":
            return { kind: "string" };
        case "number":
            return { kind: "number" };
        case "boolean":
            return { kind: "boolean" };
        case "unknown":
        case "any":
            return { kind: "any" };
        case "enum":
            return { kind: "enum", values: Object.values(d.entries as Record<string, string>), segments, path: at };
        case "literal":
            if (!d.values.every((v: unknown) => typeof v === "string")) throw new Error(`${at}: only string literals are supported`);
            // A one-value enum has no multi-language form (the schema inference refuses a lone literal
            // type): a string, which the schema checks.
            return d.values.length === 1 ? { kind: "string" } : { kind: "enum", values: [...d.values], segments, path: at };
        case "union": {
            const kinds = d.options.map((o: any) => def(unwrap(o).schema).type).sort().join("|");
            // Kubernetes quantities (and similar): a number is accepted as its string form.
            if (kinds === "number|string") return { kind: "string" };
            throw new Error(`${at}: union ${kinds} cannot cross the multi-language boundary; use one type`);
        }
        case "array":
            return { kind: "array", item: shapeOf(unwrap(d.element).schema, `${at}[]`, [...segments.slice(0, -1), singular(segments[segments.length - 1])], docs) };
        case "record":
            return { kind: "map", value: shapeOf(unwrap(d.valueType).schema, `${at}{}`, [...segments.slice(0, -1), singular(segments[segments.length - 1])], docs) };
        case "object":
            return {
                kind: "object",
                segments,
                path: at,
                typeName: argsTypeNames.get(schema)?.name,
                fields: Object.entries(d.shape as Record<string, any>).map(([name, field]) => fieldOf(name, field, at ? `${at}.${name}` : name, [...segments, name], docs)),
            };
        default:
            throw new Error(`${at}: unsupported schema type ${d.type}`);
    }
}

function fieldOf(name: string, schema: any, at: string, segments: string[], docs: Map<string, string>): Field {
    const { schema: inner, optional, hasDefault, defaultValue } = unwrap(schema);
    const shape = shapeOf(inner, at, segments, docs);
    let defaultText: string | undefined;
    if (hasDefault) {
        if (shape.kind === "object") {
            // The value the schema produces for a missing key: every field at its default.
            const parsed = schema.safeParse(undefined);
            const json = parsed.success ? JSON.stringify(parsed.data) : undefined;
            defaultText = json && json.length <= 100 ? json : "every field at its default";
        } else {
            defaultText = JSON.stringify(defaultValue);
        }
    } else if (optional) {
        defaultText = "not set";
    }
    return { name, optional, doc: docs.get(at), defaultText, shape };
}

function singular(segment: string): string {
    if (/ies$/.test(segment)) return segment.replace(/ies$/, "y");
    if (/[^s]s$/.test(segment)) return segment.slice(0, -1);
    return segment;
}

// ---------------------------------------------------------------------------------------------------
// Naming: identical shapes share a type; the shortest unambiguous path suffix names it.

const pascal = (s: string) =>
    s
        .split(/[^A-Za-z0-9]+/)
        .filter(Boolean)
        .map((p) => p[0].toUpperCase() + p.slice(1))
        .join("");

/**
 * What makes two shapes one type: fields, docs and defaults; a shape the schema names
 * (argsTypeNames) is its name. `structural` compares fields and docs only, down through named shapes.
 */
function signature(shape: Shape, structural = false): string {
    switch (shape.kind) {
        case "enum":
            return `enum(${shape.values.join(",")})`;
        case "array":
            return `${signature(shape.item, structural)}[]`;
        case "map":
            return `{${signature(shape.value, structural)}}`;
        case "object":
            if (shape.typeName && !structural) return `named(${shape.typeName})`;
            return `object(${shape.fields.map((f) => JSON.stringify([f.name, f.optional, f.doc ?? "", structural ? "" : (f.defaultText ?? ""), signature(f.shape, structural)])).join(",")})`;
        default:
            return shape.kind;
    }
}

type ObjectShape = Extract<Shape, { kind: "object" }>;
type Named = Extract<Shape, { kind: "enum" | "object" }>;

function collectNamed(shape: Shape, into: Named[]): void {
    switch (shape.kind) {
        case "enum":
            into.push(shape);
            return;
        case "array":
            return collectNamed(shape.item, into);
        case "map":
            return collectNamed(shape.value, into);
        case "object":
            into.push(shape);
            shape.fields.forEach((f) => collectNamed(f.shape, into));
    }
}

function assignNames(root: ObjectShape): Map<Named, string> {
    const nodes: Named[] = [];
    collectNamed(root, nodes);
    // One type per shape: a shape that recurs under another name (extraContainers and
    // extraInitContainers, every component's extension points) reuses the first one's type.
    // Every section of the config keeps a type of its own even when two have the same shape
    // (scheduler and dagProcessor): a user looks for DagProcessorArgs by the key.
    const sections = new Set<Shape>(root.fields.map((f) => f.shape));
    const key = (n: Named) => (sections.has(n) ? `${n.segments.join(".")}:${signature(n)}` : signature(n));
    const first = new Map<string, Named>();
    for (const n of nodes) if (!first.has(key(n))) first.set(key(n), n);
    const given = new Map<Named, string>(nodes.flatMap((n) => (n.kind === "object" && n.typeName ? [[n, n.typeName] as [Named, string]] : [])));
    const reserved = new Set([ROOT_TYPE, ...given.values()]);
    const others = nodes.filter((n) => n !== root && !given.has(n) && first.get(key(n)) === n);
    const level = new Map<Named, number>(others.map((n) => [n, 1]));
    const nameAt = (n: Named) => {
        const segs = n.segments.slice(-level.get(n)!);
        // No "Args" suffix: SDK generators add Args to input types themselves (SchedulerArgs in Python).
        return pascal(segs.join(" "));
    };
    for (let round = 0; ; round++) {
        if (round > 50) throw new Error("could not find unambiguous type names");
        const byName = new Map<string, Named[]>();
        for (const n of others) byName.set(nameAt(n), [...(byName.get(nameAt(n)) ?? []), n]);
        let changed = false;
        for (const [name, group] of byName) {
            const sigs = new Set(group.map(key));
            if (sigs.size > 1 || reserved.has(name)) {
                for (const n of group) {
                    if (level.get(n)! < n.segments.length) {
                        level.set(n, level.get(n)! + 1);
                        changed = true;
                    }
                }
            }
        }
        if (!changed) {
            const names = new Map<Named, string>([[root, ROOT_TYPE], ...given]);
            for (const [name, group] of byName) {
                if (new Set(group.map(key)).size > 1) throw new Error(`two shapes would both be named ${name}: ${group.map((n) => n.segments.join(".")).join(", ")}`);
                group.forEach((n) => names.set(n, name));
            }
            for (const n of nodes) if (!names.has(n)) names.set(n, names.get(first.get(key(n))!)!);
            return names;
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Emission.

function tsType(shape: Shape, names: Map<Named, string>): string {
    switch (shape.kind) {
        case "enum":
        case "object":
            return names.get(shape)!;
        case "array": {
            const item = tsType(shape.item, names);
            return `${item}[]`;
        }
        case "map":
            return `{ [key: string]: ${tsType(shape.value, names)} }`;
        default:
            return shape.kind;
    }
}

function docComment(lines: string[], indent: string): string {
    // "*/" (a cron schedule) would end the comment.
    const body = lines.flatMap((l) => l.split("\n")).map((l) => l.replace(/\*\//g, "*\\/"));
    if (body.length === 1 && body[0].length < 100) return `${indent}/** ${body[0]} */\n`;
    return `${indent}/**\n${body.map((l) => (l ? `${indent} * ${l}` : `${indent} *`)).join("\n")}\n${indent} */\n`;
}

interface Place {
    shape: Named;
    /** The object whose field holds it (through arrays and maps); undefined for the root. */
    holder?: ObjectShape;
}

/**
 * Every place each emitted type is used, by type name, in one walk. A name the schema gives
 * (argsTypeNames) to shapes with different fields is an error.
 */
function placesByType(root: ObjectShape, names: Map<Named, string>): Map<string, Place[]> {
    const places = new Map<string, Place[]>();
    const walk = (shape: Shape, holder: ObjectShape | undefined) => {
        if (shape.kind === "array") return walk(shape.item, holder);
        if (shape.kind === "map") return walk(shape.value, holder);
        if (shape.kind !== "enum" && shape.kind !== "object") return;
        const name = names.get(shape)!;
        const group = places.get(name) ?? [];
        if (shape.kind === "object" && shape.typeName && group.length && signature(group[0].shape, true) !== signature(shape, true)) {
            throw new Error(`${name} names two different shapes: ${group[0].shape.path} and ${shape.path}`);
        }
        places.set(name, [...group, { shape, holder }]);
        if (shape.kind === "object") shape.fields.forEach((f) => walk(f.shape, shape));
    };
    walk(root, undefined);
    return places;
}

/**
 * Where a type is used, for its doc: the one path, or, for a type used in several places, the fields
 * that hold it and the types that have those fields ("`resources` of every ExtraContainer").
 */
function placesText(places: Place[], root: ObjectShape, names: Map<Named, string>): { several: boolean; text: string } {
    if (places.length === 1) return { several: false, text: `\`${places[0].shape.path}\`` };
    const fields = [...new Set(places.map((p) => `\`${p.holder && p.holder !== root ? p.shape.path.slice(p.holder.path.length + 1) : p.shape.path}\``))];
    const holders = [...new Set(places.map((p) => (p.holder ? names.get(p.holder)! : ROOT_TYPE)))];
    return { several: true, text: `${fields.join(" and ")} of ${holders.length === 1 ? `every ${holders[0]}` : holders.join(", ")}` };
}

const settingsDoc = (places: { several: boolean; text: string }) => (places.several ? `Used as ${places.text}.` : `Settings at ${places.text}.`);

/** Defaults that differ between the places of a named shape are documented at each place instead. */
const DIFFERS = "differs";

function fieldsOfShared(places: ObjectShape[]): Field[] {
    return places[0].fields.map((f, i) => (places.every((p) => p.fields[i].defaultText === f.defaultText) ? f : { ...f, defaultText: DIFFERS }));
}

function fieldDoc(f: Field): string[] {
    const lines: string[] = [];
    const text = f.doc ?? "";
    if (text) lines.push(text);
    if (f.defaultText === DIFFERS) {
        lines.push(`${text ? "\n" : ""}Default: depends on where this type is used; the field that holds it shows the default.`);
        return lines;
    }
    // The default once in the text (multi-language SDK docs keep only the text) and once as a tag.
    if (f.defaultText !== undefined) {
        const shown = f.defaultText === "not set" || f.defaultText === "every field at its default" ? f.defaultText : `\`${f.defaultText}\``;
        lines.push(`${text ? "\n" : ""}Default: ${shown}.`, `@default ${f.defaultText}`);
    } else {
        lines.push(`${text ? "\n" : ""}Required.`);
    }
    return lines;
}

const memberName = (value: string) => (value === "" ? "Empty" : pascal(value.toLowerCase() === value || value.toUpperCase() === value ? value.toLowerCase() : value));

export function generateArgsSource(): string {
    const docs = schemaDocs();
    const rootShape = shapeOf(stackConfigSchema, "", [], docs) as ObjectShape;
    const names = assignNames(rootShape);
    const places = placesByType(rootShape, names);
    const where = (name: string) => placesText(places.get(name)!, rootShape, names);
    const emitted = new Set<string>();
    const objectBySignature = new Map<string, string>();
    const out: string[] = [];
    const visit = (shape: Shape) => {
        if (shape.kind === "array") return visit(shape.item);
        if (shape.kind === "map") return visit(shape.value);
        if (shape.kind !== "enum" && shape.kind !== "object") return;
        const name = names.get(shape)!;
        if (emitted.has(name)) return;
        emitted.add(name);
        if (shape.kind === "enum") {
            const members = shape.values.map((v) => `${memberName(v)}: ${JSON.stringify(v)}`);
            const line = `export const ${name} = { ${members.join(", ")} } as const;`;
            // as the formatter writes it: one line when it fits in biome.jsonc's lineWidth, else one member a line
            const value = line.length <= 180 ? line : `export const ${name} = {\n${members.map((m) => `    ${m},\n`).join("")}} as const;`;
            out.push(`/** Values of ${where(name).text}. */\n${value}\nexport type ${name} = (typeof ${name})[keyof typeof ${name}];\n`);
            return;
        }
        // a section shaped like one emitted before (dagProcessor like scheduler): its own name, no copy
        const same = objectBySignature.get(signature(shape));
        if (same !== undefined) {
            out.push(`${docComment([`Settings at ${where(name).text}: the same fields and defaults as ${same}.`], "")}export interface ${name} extends ${same} {}\n`);
            return;
        }
        objectBySignature.set(signature(shape), name);
        const fields = (shape.typeName ? fieldsOfShared(places.get(name)!.map((p) => p.shape as ObjectShape)) : shape.fields).map((f) => `${docComment(fieldDoc(f), "    ")}    ${f.name}${f.optional ? "?" : ""}: ${tsType(f.shape, names)};\n`);
        if (shape === rootShape) {
            fields.push(
                docComment(
                    [
                        "Password or token for `registry.username`, kept as a Pulumi secret (in a stack: the secret config key `registryPassword`). Required with `registry.username`, refused without it.",
                        "\nDefault: not set.",
                        "@default not set",
                    ],
                    "    ",
                ) + "    registryPassword?: pulumi.Input<string>;\n",
            );
        }
        const doc =
            shape === rootShape
                ? "Arguments of the AirflowOnKubernetes component: the stack config of this package's program\n(`airflow:*` keys), one field per key, validated on construction with the same rules."
                : settingsDoc(where(name));
        out.push(`${docComment([doc], "")}export interface ${name} {\n${fields.join("")}}\n`);
        shape.fields.forEach((f) => visit(f.shape));
    };
    visit(rootShape);
    return [
        "// @generated by tools/generateArgs.ts from the zod schema of the stack config (components/config/).",
        "// Do not edit: change the schema (types, defaults, TSDoc) and run `npm run generate:args`; a test",
        "// fails while this file is out of date.",
        "/* eslint-disable */",
        'import type * as pulumi from "@pulumi/pulumi";',
        "",
        out.join("\n"),
    ].join("\n");
}

if (require.main === module) {
    const source = generateArgsSource();
    const current = fs.existsSync(ARGS_FILE) ? fs.readFileSync(ARGS_FILE, "utf8") : "";
    if (process.argv.includes("--check")) {
        if (current !== source) {
            process.stderr.write(`${path.relative(ROOT, ARGS_FILE)} is out of date: run npm run generate:args\n`);
            process.exit(1);
        }
    } else if (current !== source) {
        fs.writeFileSync(ARGS_FILE, source);
        process.stdout.write(`wrote ${path.relative(ROOT, ARGS_FILE)}\n`);
    }
}
