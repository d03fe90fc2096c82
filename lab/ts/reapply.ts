// Comparing the live objects before and after a re-apply: a second apply of the same objects must change nothing.
import { FIELD_MANAGER } from "./kubectl";
import { KObject, ref } from "./objects";

function ourApplyEntry(o: KObject): string {
    const e = (o.metadata.managedFields || []).filter((m) => m.manager === FIELD_MANAGER && m.operation === "Apply" && !m.subresource);
    return JSON.stringify(e.map((m) => m.time));
}

function withoutVolatile(o: KObject): unknown {
    const copy = JSON.parse(JSON.stringify(o)) as KObject;
    delete copy.status;
    delete copy.metadata.resourceVersion;
    delete copy.metadata.managedFields;
    return copy;
}

function diffPaths(a: unknown, b: unknown, p = "", out: string[] = []): string[] {
    if (out.length > 20) return out;
    if (JSON.stringify(a) === JSON.stringify(b)) return out;
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
        const ao = a as Record<string, unknown>;
        const bo = b as Record<string, unknown>;
        for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) diffPaths(ao[k], bo[k], `${p}.${k}`, out);
        return out;
    }
    out.push(`${p || "."}: ${JSON.stringify(a)?.slice(0, 120)} -> ${JSON.stringify(b)?.slice(0, 120)}`);
    return out;
}

/**
 * What a re-apply changed, object by object (`before` and `after` in the order of `objects`), and how
 * many objects only had status updates from controllers meanwhile.
 */
export function compareLive(objects: KObject[], before: (KObject | undefined)[], after: (KObject | undefined)[]): { changed: string[]; statusOnly: number } {
    const changed: string[] = [];
    let statusOnly = 0;
    for (let i = 0; i < objects.length; i++) {
        const b = before[i];
        const a = after[i];
        if (!b || !a) {
            changed.push(`${ref(objects[i])}: missing ${!b ? "before" : "after"} re-apply`);
            continue;
        }
        if (b.metadata.resourceVersion === a.metadata.resourceVersion) continue;
        const paths = diffPaths(withoutVolatile(b), withoutVolatile(a));
        if (paths.length > 0) {
            changed.push(`${ref(objects[i])} changed: ${paths.join("; ")}`);
        } else if (ourApplyEntry(b) !== ourApplyEntry(a)) {
            changed.push(`${ref(objects[i])}: the re-apply was recorded as a write by ${FIELD_MANAGER}`);
        } else {
            statusOnly++;
        }
    }
    return { changed, statusOnly };
}
