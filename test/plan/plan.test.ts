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
            ...Array<string>(3).fill("-ebsBlockDevices[0].volumeSize: 10"),
            ...Array<string>(3).fill("+ebsBlockDevices[0].volumeSize: 12"),
            // The backend quota is sized from the volume, so each member's flags and the health
            // gate's trigger (a digest of the members' launch scripts) change with it.
            ...Array<string>(3).fill("-ETCD_QUOTA_BACKEND_BYTES=4831838208"),
            ...Array<string>(3).fill("+ETCD_QUOTA_BACKEND_BYTES=5905580032"),
        ];
        const [gateBefore, gateAfter] = [
            changed.find((l) => l.startsWith("-triggers:")),
            changed.find((l) => l.startsWith("+triggers:")),
        ];
        assert.ok(gateBefore && gateAfter, "the health gate's trigger changes");
        assert.deepEqual(changed, [...expected, gateBefore, gateAfter].sort());
    });

    it("shows deploy-time values as placeholders and secret inputs as <secret>", async () => {
        const plan = await planOnce("staging");
        assert.match(plan, /ETCD_INITIAL_ADVERTISE_PEER_URLS='https:\/\/<instance staging-etcd-0 private IP>:2380'/);
        assert.match(plan, /ETCD_DISCOVERY_TOKEN='<random password staging-etcd-discovery-token result>'/);
        assert.doesNotMatch(plan, /10\.0\.\d+\.10|BEGIN [A-Z ]*PRIVATE KEY|-id\b/);
        const commands = plan.match(/^### command:remote:Command /gm) ?? [];
        assert.equal((plan.match(/^connection: <secret>$/gm) ?? []).length, commands.length);
        assert.match(plan, /^clientKeyPem: <secret>$/m);
    });
});
