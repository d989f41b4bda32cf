import { strict as assert } from "assert";
import { unifiedDiff } from "../../plan/line-diff";

describe("plan/line-diff", () => {
    it("is empty for equal texts", () => {
        assert.equal(unifiedDiff("a\nb\n", "a\nb\n"), "");
    });

    it("shows each change with three lines of context in a numbered hunk, expected as - and actual as +", () => {
        const expected = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", ""].join("\n");
        const actual = ["1", "two", "3", "4", "5", "6", "7", "8", "9", "10", "11", ""].join("\n");
        assert.equal(
            unifiedDiff(expected, actual),
            [
                "--- expected",
                "+++ actual",
                "@@ -1,5 +1,5 @@",
                " 1",
                "-2",
                "+two",
                " 3",
                " 4",
                " 5",
                "@@ -8,3 +8,4 @@",
                " 8",
                " 9",
                " 10",
                "+11",
            ].join("\n"),
        );
    });
});
