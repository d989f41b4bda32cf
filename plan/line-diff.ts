// A unified line diff (expected -> actual) for the plan snapshot check: a stale snapshot fails
// with the lines that changed, not with two 1000-line strings.
import { FILE_HEADERS_ONLY, structuredPatch, formatPatch } from "diff";

/** `--- expected` / `+++ actual` hunks with `context` unchanged lines around each change; "" when equal. */
export function unifiedDiff(expected: string, actual: string, context = 3): string {
    const patch = structuredPatch("expected", "actual", expected, actual, undefined, undefined, { context });
    return patch.hunks.length === 0 ? "" : formatPatch(patch, FILE_HEADERS_ONLY).trimEnd();
}
