// Test helper: one test per diff-table row of a local provider's resource type.
import * as assert from "node:assert/strict";
import { DiffResult, DiffRule, OldState, Properties } from "../../localcloud/providers/server";

type Diff = (olds: OldState, news: Properties) => DiffResult;

/** Asserts that changing `property` from `old` to `now` (nothing else) is the one diff, replacing or not. */
function assertChange(diff: Diff, outputs: Properties, property: string, old: unknown, now: unknown, replace: boolean) {
    const olds = { [property]: old };
    assert.deepEqual(diff({ inputs: olds, outputs: { ...outputs, ...olds } }, { [property]: now }), {
        diffs: [property],
        replaces: replace ? [property] : [],
    });
}

/**
 * For each row, a change of only that property through the type's own diff: it is the one diff, and a replace
 * exactly when the row says so; for a row with nested `fields`, a change of each field replaces and a change of
 * another field updates. Rows with a `replaceIf` condition need their own tests. The test name cites the source.
 */
export function itFollowsEachRow(diff: Diff, table: DiffRule[], outputs: Properties = {}): void {
    for (const row of table.filter((rule) => !rule.replaceIf)) {
        const effect = row.change === "replace" ? "a replace" : "an update";
        if (!row.fields) {
            it(`a change of ${row.property} is ${effect} (${row.source})`, () =>
                assertChange(diff, outputs, row.property, "old value", "new value", row.change === "replace"));
            continue;
        }
        for (const field of row.fields) {
            it(`a change of ${row.property}[].${field} is ${effect} (${row.source})`, () =>
                assertChange(diff, outputs, row.property, [{ [field]: "old" }], [{ [field]: "new" }], true));
        }
        it(`a change of another field of ${row.property} (tags) is an update (${row.source})`, () =>
            assertChange(diff, outputs, row.property, [{ tags: { a: "1" } }], [{ tags: { a: "2" } }], false));
    }
}
