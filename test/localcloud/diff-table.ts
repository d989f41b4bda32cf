// Test helper: one test per diff-table row of a local provider's resource type.
import * as assert from "node:assert/strict";
import { DiffRule, ResourceType } from "../../localcloud/providers/server";

/**
 * For each row, a change of only that property through the type's own diff: it is the one diff, and a replace
 * exactly when the row says so. The test name carries the upstream source the row cites.
 */
export function itFollowsEachRow(type: ResourceType, table: DiffRule[], outputs: Record<string, unknown> = {}): void {
    for (const row of table) {
        const effect = row.change === "replace" ? "a replace" : "an update";
        it(`a change of ${row.property} is ${effect} (${row.source})`, () => {
            const olds = { [row.property]: "old value" };
            const result = type.diff(
                { inputs: olds, outputs: { ...outputs, ...olds } },
                { [row.property]: "new value" },
            );
            assert.deepEqual(result, {
                diffs: [row.property],
                replaces: row.change === "replace" ? [row.property] : [],
            });
        });
    }
}
