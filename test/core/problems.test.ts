import * as assert from "node:assert/strict";
import { formatProblems } from "../../core";

describe("core/problems", () => {
    const problems = [
        { setting: "memberCount", value: 4, problem: "even", fix: "use 3" },
        { setting: "discovery.size", value: undefined, problem: "missing", fix: "set it" },
        { setting: "clientCidrs", value: ["a"], problem: "bad", fix: "fix it" },
    ];

    it("formats one numbered line per problem: setting = JSON value: problem. Fix: fix.", () => {
        assert.equal(
            formatProblems('etcd cluster "orders"', problems),
            [
                'etcd cluster "orders": 3 problems in the configuration, nothing was deployed:',
                "  1. memberCount = 4: even. Fix: use 3.",
                "  2. discovery.size = (not set): missing. Fix: set it.",
                '  3. clientCidrs = ["a"]: bad. Fix: fix it.',
            ].join("\n"),
        );
    });

    it("says 1 problem in the singular", () => {
        assert.equal(
            formatProblems("x", problems.slice(0, 1)).split("\n")[0],
            "x: 1 problem in the configuration, nothing was deployed:",
        );
    });
});
