import * as assert from "node:assert/strict";
import { renderLaunchScript } from "../../core";
import { hostScript } from "../../core/shell";
import { baselineMembership, handovers, percentile, withMembership } from "../../bench/lock-bench";
import { lockComparisons } from "../../bench/lock-report";
import { specOf } from "../core/helpers";
import { at } from "../helpers/elements";

const window = (member: string, stopped: number, serving: number) => ({ member, stopped, serving });

describe("bench/lock-bench", () => {
    it("the baseline is the old membership.sh from git: the fifo lock without a holding command", () => {
        const old = baselineMembership();
        assert.match(old, /etcdctl --endpoints "\$PEER_ENDPOINTS" lock "\$LOCK_KEY" >"\$lock_fifo"/);
        assert.doesNotMatch(old, /LOCK_TTL_SECONDS/);
    });

    it("withMembership puts the given text in place of the launch script's own membership.sh (not the copy in the leave script it writes), the rest unchanged", () => {
        const spec = specOf({});
        const rendered = renderLaunchScript(spec, at(spec.members, 0));
        const current = hostScript("lib/membership.sh").replace(/^#!.*\n/, "");
        assert.equal(rendered.split(current).length, 3, "the launch's own and the leave script's");
        const swapped = withMembership(rendered, "#!/usr/bin/env bash\nold_lock() { :; }\n");
        assert.equal(swapped.split(current).length, 2, "the leave script's only");
        assert.ok(
            swapped.includes("# ---- host/lib/membership.sh\nold_lock() { :; }\n\n# ---- host/etcd-aws-launch.sh\n"),
        );
        assert.equal(
            swapped.replace("old_lock() { :; }\n", () => current),
            rendered,
        );
        assert.throws(() => withMembership("#!/usr/bin/env bash\n", "x"), /no host\/lib\/membership\.sh part/);
    });

    it("handovers: each restart's stop after the previous member served again, in seconds; a restart before that, or one missing, throws", () => {
        const windows = [window("a", 1_000, 2_000), window("b", 2_250, 3_000), window("c", 4_000, 5_000)];
        assert.deepEqual(handovers(windows, 3), [0.25, 1]);
        assert.throws(() => handovers(windows, 4), /3 restarts in a roll of 4 members/);
        assert.throws(
            () => handovers([window("a", 1_000, 2_000), window("b", 1_500, 3_000)], 2),
            /b was stopped before a served again/,
        );
    });

    it("percentile: nearest rank", () => {
        const values = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
        assert.equal(percentile(values, 0.5), 5);
        assert.equal(percentile(values, 0.95), 10);
        assert.equal(percentile(values, 1), 10);
        assert.ok(Number.isNaN(percentile([], 0.5)));
    });

    it("lockComparisons: new over old of the same member count", () => {
        const row = (members: number, code: "old" | "new", medianSeconds: number) => ({
            members,
            code,
            rolls: 1,
            failures: [],
            handovers: members - 1,
            medianSeconds,
            p95Seconds: medianSeconds,
            maxSeconds: medianSeconds,
            medianRollSeconds: 1,
            samples: [],
        });
        const [three, seven] = lockComparisons([
            row(3, "old", 8),
            row(3, "new", 0.4),
            row(7, "old", 5),
            row(7, "new", 0.5),
        ]);
        assert.equal(three?.ratio, 0.05);
        assert.equal(seven?.ratio, 0.1);
    });
});
