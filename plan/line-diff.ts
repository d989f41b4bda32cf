// A unified line diff (expected -> actual) for the plan snapshot check: a stale snapshot fails
// with the lines that changed, not with two 1000-line strings.

type Edit = { kind: " " | "-" | "+"; line: string };

/** Longest-common-subsequence edit script of the part between the common prefix and suffix. */
function edits(before: string[], after: string[]): Edit[] {
    let prefix = 0;
    while (prefix < before.length && prefix < after.length && before[prefix] === after[prefix]) {
        prefix++;
    }
    let suffix = 0;
    while (suffix < before.length - prefix && suffix < after.length - prefix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) {
        suffix++;
    }
    const a = before.slice(prefix, before.length - suffix);
    const b = after.slice(prefix, after.length - suffix);
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
    for (let i = a.length - 1; i >= 0; i--) {
        for (let j = b.length - 1; j >= 0; j--) {
            lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
        }
    }
    const middle: Edit[] = [];
    let [i, j] = [0, 0];
    while (i < a.length || j < b.length) {
        if (i < a.length && j < b.length && a[i] === b[j]) {
            middle.push({ kind: " ", line: a[i] });
            i++;
            j++;
        } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
            middle.push({ kind: "-", line: a[i++] });
        } else {
            middle.push({ kind: "+", line: b[j++] });
        }
    }
    const same = (lines: string[]): Edit[] => lines.map((line) => ({ kind: " ", line }));
    return [...same(before.slice(0, prefix)), ...middle, ...same(before.slice(before.length - suffix))];
}

/** `--- expected` / `+++ actual` hunks with `context` unchanged lines around each change; "" when equal. */
export function unifiedDiff(expected: string, actual: string, context = 3): string {
    const script = edits(expected.split("\n"), actual.split("\n"));
    const changed = script.map((edit, index) => (edit.kind === " " ? -1 : index)).filter((index) => index >= 0);
    if (changed.length === 0) {
        return "";
    }
    const lines = ["--- expected", "+++ actual"];
    let last = -1;
    for (const index of changed) {
        const from = Math.max(index - context, last + 1);
        if (from > last + 1 || last < 0) {
            lines.push(`@@ near line ${script.slice(0, from).filter((edit) => edit.kind !== "+").length + 1} @@`);
        }
        const to = Math.min(index + context, script.length - 1);
        for (let k = from; k <= to; k++) {
            lines.push(`${script[k].kind}${script[k].line}`);
        }
        last = to;
    }
    return lines.join("\n");
}
