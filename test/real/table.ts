// A plain-text table with padded columns, for the summaries the real suite prints after its run.

import { at } from "../helpers/elements";

export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => at(row, i).length)));
    const line = (row: readonly string[]) => row.map((cell, i) => cell.padEnd(at(widths, i))).join("  ");
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
