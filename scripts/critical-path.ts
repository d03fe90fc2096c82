// Where the seconds of a `pulumi up` go: reads the engine's event log (`PULUMI_DEBUG_COMMANDS=true pulumi up --event-log FILE`)
// and prints each resource's step on a timeline (start offset, duration) and the critical path: from
// the step that finished last, back through the step that finished last before it started.
// The engine stamps events in whole seconds, so figures are ±1 s.
//   npx ts-node scripts/critical-path.ts FILE.events.jsonl
import * as fs from "fs";

type Step = { urn: string; type: string; op: string; start: number; end: number };

function steps(file: string): Step[] {
    const open = new Map<string, Step>();
    const done: Step[] = [];
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue;
        const e = JSON.parse(line);
        const pre = e.resourcePreEvent?.metadata;
        const out = e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
        if (pre && pre.op !== "same") open.set(pre.urn, { urn: pre.urn, type: pre.type, op: pre.op, start: e.timestamp, end: e.timestamp });
        if (out && open.has(out.urn)) {
            const s = open.get(out.urn)!;
            s.end = e.timestamp;
            done.push(s);
            open.delete(out.urn);
        }
    }
    // custom resources only: components (airflow*, the stack) span their children
    return done.filter((s) => !s.type.startsWith("pulumi:") && !s.type.startsWith("airflow"));
}

/** The report for an event log: a timeline table and the critical path. */
export function criticalPathReport(file: string): string {
    const all = steps(file).sort((a, b) => a.start - b.start || a.end - b.end);
    if (!all.length) throw new Error(`${file}: no resource steps`);
    const t0 = Math.min(...all.map((s) => s.start));
    const name = (s: Step) => `${s.type.split(":").slice(1).join(":")} ${s.urn.split("::").pop()}`;
    const out: string[] = [`| start (s) | duration (s) | op | resource |`, `|---|---|---|---|`];
    for (const s of all) out.push(`| ${s.start - t0} | ${s.end - s.start} | ${s.op} | ${name(s)} |`);
    // critical path, backwards
    const chain: Step[] = [];
    let cur: Step | undefined = [...all].sort((a, b) => b.end - a.end)[0];
    while (cur) {
        chain.unshift(cur);
        const startOf: number = cur.start;
        // steps already on the path are skipped: with whole-second stamps, zero-length steps tie
        cur = all.filter((s) => s.end <= startOf && !chain.includes(s)).sort((a, b) => b.end - a.end)[0];
        if (cur && startOf - cur.end > 1) cur = undefined; // a gap: the program, not a dependency
    }
    out.push("", `critical path (${chain[chain.length - 1].end - t0} s of ${Math.max(...all.map((s) => s.end)) - t0} s):`);
    // steps under a second tie in the engine's whole-second stamps: counted, not listed
    const short = chain.filter((s) => s.end === s.start).length;
    for (const s of chain.filter((s) => s.end > s.start)) out.push(`  ${String(s.start - t0).padStart(4)}s +${String(s.end - s.start).padStart(3)}s  ${name(s)}`);
    if (short) out.push(`  (and ${short} step${short === 1 ? "" : "s"} under 1 s)`);
    return out.join("\n") + "\n";
}

/**
 * The critical path of the median run among `runs` (each an event log and the seconds the command
 * took), headed for `command`; `about` says what the seconds are. Empty without runs.
 */
export function medianCriticalPath(command: string, runs: { seconds: number; file: string }[], about = (s: number) => `${s.toFixed(1)} s; engine events in whole seconds`): string {
    if (!runs.length) return "";
    const median = [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
    return `Critical path of the median \`${command}\` (${about(median.seconds)}):\n\n${criticalPathReport(median.file).split("\n\n")[1]}`;
}

if (require.main === module) {
    const file = process.argv[2];
    if (!file) throw new Error("usage: critical-path.ts FILE.events.jsonl (from PULUMI_DEBUG_COMMANDS=true pulumi up --event-log FILE)");
    process.stdout.write(criticalPathReport(file));
}
