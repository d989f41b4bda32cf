import { strict as assert } from "assert";
import * as fs from "fs";
import { unifiedDiff } from "../../plan/line-diff";
import { planPath, planStack } from "../../plan/plan";
import { stackNames } from "../../plan/stack-file";

/** The changed lines between two plans, as "-old" and "+new" entries, sorted. */
function changedLines(before: string, after: string): string[] {
    const hunks = unifiedDiff(before, after).split("\n").slice(2);
    return hunks.filter((line) => line.startsWith("-") || line.startsWith("+")).sort();
}

/** Each stack's plan, rendered once for all the tests that only read it. */
const plans = new Map<string, Promise<string>>();
function planOnce(stack: string): Promise<string> {
    if (!plans.has(stack)) {
        plans.set(stack, planStack(stack));
    }
    return plans.get(stack) as Promise<string>;
}

describe("offline plan (scripts/plan.sh)", () => {
    for (const stack of stackNames()) {
        it(`plans/${stack}.md is what the program registers for stacks/Pulumi.${stack}.yaml (else run scripts/plan.sh --update)`, async () => {
            const committed = fs.existsSync(planPath(stack)) ? fs.readFileSync(planPath(stack), "utf8") : "";
            const diff = unifiedDiff(committed, await planOnce(stack));
            if (diff !== "") {
                assert.fail(
                    `plans/${stack}.md is out of date; run scripts/plan.sh --update and review this diff:\n${diff}`,
                );
            }
        });
    }

    it("renders the same bytes on a second run in the same process", async () => {
        assert.equal(await planStack("dev"), await planOnce("dev"));
    });

    it("changes only the lines that depend on a changed setting", async () => {
        const changed = changedLines(await planOnce("dev"), await planStack("dev", { volumeSizeGiB: "12" }));
        const expected = [
            "-| `etcd-aws:volumeSizeGiB` | `10` |",
            "+| `etcd-aws:volumeSizeGiB` | `12` |",
            ...Array<string>(3).fill("-size: 10"),
            ...Array<string>(3).fill("+size: 12"),
            // The install scripts carry the size (a grown volume re-runs them to grow the filesystem).
            ...Array<string>(3).fill("-stdin DATA_VOLUME_SIZE_GIB=10"),
            ...Array<string>(3).fill("+stdin DATA_VOLUME_SIZE_GIB=12"),
            // The backend quota is sized from the volume, so each member's flags change with it.
            ...Array<string>(3).fill("-ETCD_QUOTA_BACKEND_BYTES=4831838208"),
            ...Array<string>(3).fill("+ETCD_QUOTA_BACKEND_BYTES=5905580032"),
        ];
        // ... and so their digests: one old and one new per member.
        const digests = changed.filter((line) => /^[-+]stdin: <script, \d+ lines, sha256 [0-9a-f]{12}>$/.test(line));
        assert.equal(digests.length, 6);
        assert.deepEqual(
            // (The health gate's trigger digests the members' launch scripts, which carry the quota.)
            changed.filter((line) => !digests.includes(line) && !/^[-+]triggers: \[[0-9a-f]{64}\]$/.test(line)),
            expected.sort(),
        );
    });

    it("shows deploy-time values as placeholders and secret inputs as <secret>", async () => {
        const plan = await planOnce("staging");
        assert.match(
            plan,
            /ETCD_INITIAL_ADVERTISE_PEER_URLS='https:\/\/<network interface staging-etcd-0-nic private IP>:2380'/,
        );
        assert.match(plan, /ETCD_DISCOVERY_TOKEN='<random password staging-etcd-discovery-token result>'/);
        assert.doesNotMatch(plan, /10\.0\.\d+\.10|BEGIN [A-Z ]*PRIVATE KEY|-id\b/);
        const commands = plan.match(/^### command:remote:Command /gm) ?? [];
        assert.equal((plan.match(/^connection: <secret>$/gm) ?? []).length, commands.length);
        assert.match(plan, /^clientKeyPem: <secret>$/m);
    });
});
