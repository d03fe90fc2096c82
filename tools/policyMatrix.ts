// The table of docs/network-policies.md ("Who may reach what"): for each source component and each
// destination, allow or deny. The unit tests evaluate the rendered policies against it and the lab's
// level-2 scenario probes it with real connections, so the promise, the policies and the cluster agree.
import * as fs from "fs";
import * as path from "path";

export type Verdict = "allow" | "deny";

export interface PolicyMatrix {
    destinations: string[];
    /** source -> destination -> verdict; a blank cell is not in the map. */
    rows: Map<string, Map<string, Verdict>>;
}

export function readPolicyMatrix(root = path.join(__dirname, "..")): PolicyMatrix {
    const text = fs.readFileSync(path.join(root, "docs", "network-policies.md"), "utf8");
    const section = text.split(/^## /m).find((s) => s.startsWith("Who may reach what"));
    if (!section) throw new Error("docs/network-policies.md has no section 'Who may reach what'");
    const lines = section.split("\n").filter((l) => l.startsWith("|"));
    const cells = (line: string) => line.split("|").slice(1, -1).map((c) => c.trim());
    const [header, , ...body] = lines;
    const destinations = cells(header).slice(1);
    const rows = new Map<string, Map<string, Verdict>>();
    for (const line of body) {
        const [source, ...verdicts] = cells(line);
        const row = new Map<string, Verdict>();
        verdicts.forEach((v, i) => {
            if (v === "") return;
            if (v !== "allow" && v !== "deny") throw new Error(`docs/network-policies.md: ${source} -> ${destinations[i]}: '${v}' is neither allow nor deny`);
            row.set(destinations[i], v);
        });
        rows.set(source, row);
    }
    return { destinations, rows };
}
