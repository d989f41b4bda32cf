import * as assert from "node:assert/strict";
import { checkIntegerIn, isHttpUrl } from "../../core/validate/checks";
import { ConfigProblem } from "../../core";

describe("core/validate/checks", () => {
    const range = { min: 8, max: 16, problem: "must be from 8 to 16", fix: "use 8" };

    it("checkIntegerIn accepts whole numbers from min to max inclusive and reports nothing", () => {
        const problems: ConfigProblem[] = [];
        assert.deepEqual(
            [8, 12, 16].map((value) => checkIntegerIn(problems, "x", value, range)),
            [true, true, true],
        );
        assert.deepEqual(problems, []);
    });

    it("checkIntegerIn reports fractions, strings and values outside the range with the range's words", () => {
        const problems: ConfigProblem[] = [];
        const given = [7, 17, 8.5, "10", undefined];
        assert.deepEqual(
            given.map((value) => checkIntegerIn(problems, "x", value, range)),
            [false, false, false, false, false],
        );
        assert.deepEqual(
            problems,
            given.map((value) => ({ setting: "x", value, problem: "must be from 8 to 16", fix: "use 8" })),
        );
    });

    it("checkIntegerIn without max has no upper bound", () => {
        assert.equal(checkIntegerIn([], "x", 1e9, { min: 1, problem: "p", fix: "f" }), true);
    });

    it("isHttpUrl takes http(s) URLs with a host only", () => {
        assert.deepEqual(
            ["http://a:1", "https://b/c", "ftp://a", "https://", "a.b", 3].map((text) => isHttpUrl(text)),
            [true, true, false, false, false, false],
        );
    });
});
