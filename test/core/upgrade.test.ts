import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { EtcdLine, EtcdVersion, parseEtcdVersion } from "../../core/versions";
import { flagRewrites, flagSuccessor, planUpgrade, UpgradeContext, UpgradePlan } from "../../core/upgrade";
import { validateSettings } from "../../core/validate";
import { at } from "../helpers/elements";

const FIXTURES = path.resolve(__dirname, "..", "fixtures", "etcd-flags");

/** The flags a vendored release table lists. */
function fixtureFlags(release: string): Set<string> {
    return new Set(
        fs
            .readFileSync(path.join(FIXTURES, `v${release}.txt`), "utf8")
            .split("\n")
            .filter(Boolean),
    );
}

function v(text: string): EtcdVersion {
    const parsed = parseEtcdVersion(text);
    assert.ok(parsed, text);
    return parsed;
}

function plan(running: string, requested: string, context: Partial<UpgradeContext> = {}): UpgradePlan {
    return planUpgrade(v(running), v(requested), { auth: false, ...context });
}

describe("core/upgrade", () => {
    describe("allowed hops", () => {
        const allowed: readonly (readonly [string, string, string, RegExp | undefined])[] = [
            ["3.4.23", "3.5.16", "upgrade", undefined],
            ["3.4.45", "3.5.33", "upgrade", undefined],
            ["3.5.16", "3.5.30", "patch", undefined],
            ["3.5.26", "3.6.14", "upgrade", /etcdutl check v2store/],
            ["3.5.30", "3.6.16", "upgrade", /etcdutl check v2store/],
            ["3.6.14", "3.6.16", "patch", undefined],
            ["3.6.16", "3.6.14", "patch", undefined],
            ["3.6.11", "3.7.3", "upgrade", undefined],
            ["3.6.16", "3.7.3", "upgrade", undefined],
            [
                "3.7.3",
                "3.6.16",
                "downgrade",
                /^`etcdctl downgrade validate 3\.6` and `etcdctl downgrade enable 3\.6` on the first member, after its pre-change snapshot$/,
            ],
        ];
        for (const [running, requested, kind, firstStep] of allowed) {
            it(`${running} -> ${requested} is one ${kind} hop`, () => {
                const result = plan(running, requested);
                assert.ok(result.allowed);
                assert.equal(result.hop?.kind, kind);
                assert.equal(result.hop.from, running);
                assert.equal(result.hop.to, requested);
                if (firstStep === undefined) {
                    assert.deepEqual(result.hop.steps, []);
                } else {
                    assert.match(result.hop.steps[0] ?? "", firstStep);
                }
            });
        }

        it("the same release is no hop at all", () => {
            assert.deepEqual(plan("3.6.14", "3.6.14"), { allowed: true });
        });

        it("a downgrade waits for every member's storage version, cancels when it does not get there, and when the user goes back", () => {
            const result = plan("3.7.3", "3.6.16");
            assert.ok(result.allowed);
            assert.deepEqual(result.hop?.steps.slice(1), [
                "wait until every member's storage version is 3.6 (`etcdctl downgrade cancel` and stop if it does not get there)",
                "roll the members to the older binary, one at a time under the membership lock",
                "`etcdctl downgrade cancel` on the next deployment if etcdVersion goes back while versions are mixed",
            ]);
        });

        it("3.4 -> 3.5 with auth off is allowed", () => {
            assert.equal(plan("3.4.23", "3.5.16", { auth: false }).allowed, true);
        });
    });

    describe("refused requests, with the path spelled out", () => {
        const refused: readonly {
            name: string;
            running: string;
            requested: string;
            auth?: boolean;
            problem: string;
            fix: string;
        }[] = [
            {
                name: "3.5.16 -> 3.6.x needs 3.5.26 or later first",
                running: "3.5.16",
                requested: "3.6.14",
                problem:
                    "the cluster runs etcd 3.5.16, and 3.5.16 -> 3.6.14 needs 3.5.26 or later first: etcd's upgrade guide asks every member to run it before 3.6",
                fix: "set etcdVersion=3.5.33 and deploy, then set etcdVersion=3.6.14 and deploy",
            },
            {
                name: "3.6.5 -> 3.7.x needs 3.6.11 or later first",
                running: "3.6.5",
                requested: "3.7.3",
                problem:
                    "the cluster runs etcd 3.6.5, and 3.6.5 -> 3.7.3 needs 3.6.11 or later first: etcd's upgrade guide asks every member to run it before 3.7",
                fix: "set etcdVersion=3.6.16 and deploy, then set etcdVersion=3.7.3 and deploy",
            },
            {
                name: "3.4 -> 3.6 skips 3.5",
                running: "3.4.23",
                requested: "3.6.14",
                problem:
                    "the cluster runs etcd 3.4.23, and 3.4.23 -> 3.6.14 skips 3.5: etcd upgrades one minor release at a time",
                fix: "set etcdVersion=3.5.33 and deploy, then set etcdVersion=3.6.14 and deploy",
            },
            {
                name: "3.5 -> 3.7 skips 3.6",
                running: "3.5.30",
                requested: "3.7.3",
                problem:
                    "the cluster runs etcd 3.5.30, and 3.5.30 -> 3.7.3 skips 3.6: etcd upgrades one minor release at a time",
                fix: "set etcdVersion=3.6.16 and deploy, then set etcdVersion=3.7.3 and deploy",
            },
            {
                name: "3.5.16 -> 3.7 goes through the newest 3.5 and 3.6 first",
                running: "3.5.16",
                requested: "3.7.3",
                problem:
                    "the cluster runs etcd 3.5.16, and 3.5.16 -> 3.7.3 skips 3.6: etcd upgrades one minor release at a time",
                fix: "set etcdVersion=3.5.33 and deploy, then set etcdVersion=3.6.16 and deploy, then set etcdVersion=3.7.3 and deploy",
            },
            {
                name: "3.4 -> 3.5 with auth on",
                running: "3.4.23",
                requested: "3.5.16",
                auth: true,
                problem:
                    "the cluster runs etcd 3.4.23, and etcd 3.5 changed the write-ahead log entries of authentication, so a rolling 3.4 -> 3.5 upgrade is not supported with auth on",
                fix: "turn authentication off (`etcdctl auth disable` as root), set auth=false and deploy, then set etcdVersion=3.5.16 and deploy, then set auth=true and deploy (turns it on again)",
            },
            {
                name: "3.4 -> 3.6 with auth on: auth off around the 3.5 hop only",
                running: "3.4.23",
                requested: "3.6.14",
                auth: true,
                problem:
                    "the cluster runs etcd 3.4.23, and 3.4.23 -> 3.6.14 skips 3.5: etcd upgrades one minor release at a time",
                fix: "turn authentication off (`etcdctl auth disable` as root), set auth=false and deploy, then set etcdVersion=3.5.33 and deploy, then set auth=true and deploy (turns it on again), then set etcdVersion=3.6.14 and deploy",
            },
            {
                name: "a downgrade below 3.6 (3.6 -> 3.5)",
                running: "3.6.14",
                requested: "3.5.33",
                problem:
                    "the cluster runs etcd 3.6.14, and 3.6.14 -> 3.5.33 is a downgrade below 3.6: an older binary refuses a data dir a newer release wrote, and etcd's downgrade API exists from 3.6 on",
                fix: "keep etcdVersion=3.6.14, or restore a snapshot taken before the upgrade into a new cluster",
            },
            {
                name: "a downgrade below 3.6 (3.5 -> 3.4)",
                running: "3.5.16",
                requested: "3.4.23",
                problem:
                    "the cluster runs etcd 3.5.16, and 3.5.16 -> 3.4.23 is a downgrade below 3.6: an older binary refuses a data dir a newer release wrote, and etcd's downgrade API exists from 3.6 on",
                fix: "keep etcdVersion=3.5.16, or restore a snapshot taken before the upgrade into a new cluster",
            },
            {
                name: "a downgrade of two minors (3.7 -> 3.5)",
                running: "3.7.3",
                requested: "3.5.33",
                problem:
                    "the cluster runs etcd 3.7.3, and 3.7.3 -> 3.5.33 is a downgrade below 3.6: an older binary refuses a data dir a newer release wrote, and etcd's downgrade API exists from 3.6 on",
                fix: "keep etcdVersion=3.7.3, or restore a snapshot taken before the upgrade into a new cluster",
            },
        ];
        for (const { name, running, requested, auth, problem, fix } of refused) {
            it(name, () => {
                const result = plan(running, requested, { auth: auth ?? false });
                assert.ok(!result.allowed);
                assert.equal(result.refusal.problem, problem);
                assert.equal(result.refusal.fix, fix);
            });
        }

        it("every refused upgrade's path is a chain of allowed hops ending at the requested release (the fix validates)", () => {
            const releases = ["3.4.23", "3.4.45", "3.5.16", "3.5.26", "3.5.33", "3.6.5", "3.6.11", "3.6.16", "3.7.3"];
            let chains = 0;
            for (const running of releases) {
                for (const requested of releases) {
                    for (const auth of [false, true]) {
                        const result = plan(running, requested, { auth });
                        if (result.allowed || result.refusal.path.length === 0) {
                            continue;
                        }
                        chains++;
                        assert.equal(result.refusal.path.at(-1), requested);
                        let from = running;
                        for (const to of result.refusal.path) {
                            // The fix turns auth off for a 3.4 -> 3.5 hop and on again after it.
                            const authOff = v(from).line === "3.4" && v(to).line === "3.5";
                            assert.equal(plan(from, to, { auth: auth && !authOff }).allowed, true, `${from} -> ${to}`);
                            from = to;
                        }
                    }
                }
            }
            assert.equal(chains, 36);
        });
    });

    describe("flags rewritten for each hop, checked against the vendored flag tables", () => {
        const tables: Readonly<Record<EtcdLine, string>> = {
            "3.4": "3.4.45",
            "3.5": "3.5.33",
            "3.6": "3.6.16",
            "3.7": "3.7.3",
        };
        const hops: readonly (readonly [EtcdLine, EtcdLine])[] = [
            ["3.4", "3.5"],
            ["3.5", "3.6"],
            ["3.6", "3.7"],
        ];
        for (const [from, to] of hops) {
            it(`every ${from} flag ${to} lacks becomes a ${to} flag, a feature gate or is named as removed in ${to}`, () => {
                const target = fixtureFlags(tables[to]);
                const lost = [...fixtureFlags(tables[from])].filter((flag) => !target.has(flag));
                assert.ok(lost.length > 0);
                for (const flag of lost) {
                    const successor = flagSuccessor(flag, to);
                    if (successor.kind === "renamed") {
                        assert.ok(target.has(successor.name), `${flag} -> ${successor.name}`);
                    } else if (successor.kind === "gate") {
                        assert.ok(target.has("feature-gates"), flag);
                    } else {
                        assert.deepEqual(successor, { kind: "removed", removedIn: to }, flag);
                    }
                }
            });
        }

        it("3.7 renames 17 of the 23 experimental flags it removed and makes six feature gates", () => {
            const target = fixtureFlags("3.7.3");
            const removed = [...fixtureFlags("3.6.16")].filter((f) => f.startsWith("experimental-") && !target.has(f));
            const kinds = removed.map((flag) => flagSuccessor(flag, "3.7"));
            assert.equal(removed.length, 23);
            assert.equal(kinds.filter((s) => s.kind === "renamed").length, 17);
            assert.deepEqual(kinds.flatMap((s) => (s.kind === "gate" ? [s.gate] : [])).sort(), [
                "CompactHashCheck",
                "InitialCorruptCheck",
                "LeaseCheckpoint",
                "LeaseCheckpointPersist",
                "StopGRPCServiceOnDefrag",
                "TxnModeWriteWithSharedBuffer",
            ]);
        });

        const withFlags: readonly {
            running: string;
            requested: string;
            flags: Record<string, string>;
            rewrites: ReturnType<typeof flagRewrites>;
        }[] = [
            {
                running: "3.4.23",
                requested: "3.5.16",
                flags: { "experimental-backend-bbolt-freelist-type": "map", "snapshot-count": "10000" },
                rewrites: [
                    {
                        from: "experimental-backend-bbolt-freelist-type",
                        to: { name: "backend-bbolt-freelist-type", value: "map" },
                    },
                ],
            },
            {
                running: "3.5.30",
                requested: "3.6.16",
                flags: { "enable-v2": "false", "proxy-dial-timeout": "1000", "snapshot-count": "10000" },
                rewrites: [{ from: "enable-v2" }, { from: "proxy-dial-timeout" }],
            },
            {
                running: "3.6.16",
                requested: "3.7.3",
                flags: {
                    "experimental-snapshot-catchup-entries": "5000",
                    "experimental-initial-corrupt-check": "",
                    "experimental-compact-hash-check-enabled": "false",
                    "max-learners": "1",
                },
                rewrites: [
                    {
                        from: "experimental-snapshot-catchup-entries",
                        to: { name: "snapshot-catchup-entries", value: "5000" },
                    },
                    {
                        from: "experimental-initial-corrupt-check",
                        to: { name: "feature-gates", value: "InitialCorruptCheck=true" },
                    },
                    {
                        from: "experimental-compact-hash-check-enabled",
                        to: { name: "feature-gates", value: "CompactHashCheck=false" },
                    },
                ],
            },
            {
                running: "3.7.3",
                requested: "3.6.16",
                flags: { "snapshot-catchup-entries": "5000", "feature-gates": "InitialCorruptCheck=true" },
                rewrites: [],
            },
        ];
        for (const { running, requested, flags, rewrites } of withFlags) {
            it(`${running} -> ${requested} rewrites the user's flags: ${Object.keys(flags).join(", ")}`, () => {
                const result = plan(running, requested, { extraFlags: flags });
                assert.ok(result.allowed);
                assert.deepEqual(result.hop?.flagRewrites, rewrites);
            });
        }
    });
});

describe("core/validate with the running version", () => {
    const context = { project: "etcd-aws", stack: "test" };

    it("refuses a skipped step as a problem of etcdVersion, with the path as the fix", () => {
        const validation = validateSettings(
            "etcd",
            { etcdVersion: "3.6.14" },
            { ...context, runningVersion: "3.5.16" },
        );
        assert.deepEqual(validation.problems, [
            {
                setting: "etcdVersion",
                value: "3.6.14",
                problem:
                    "the cluster runs etcd 3.5.16, and 3.5.16 -> 3.6.14 needs 3.5.26 or later first: etcd's upgrade guide asks every member to run it before 3.6",
                fix: "set etcdVersion=3.5.33 and deploy, then set etcdVersion=3.6.14 and deploy",
            },
        ]);
    });

    it("plans the default release against the running one when etcdVersion is not set", () => {
        const validation = validateSettings("etcd", {}, { ...context, runningVersion: "3.4.23" });
        assert.match(at(validation.problems, 0).problem, /3\.4\.23 -> 3\.6\.14 skips 3\.5/);
    });

    it("resolves an allowed hop with the flags it rewrites", () => {
        const validation = validateSettings(
            "etcd",
            { etcdVersion: "3.7.3", extraFlags: { "experimental-snapshot-catchup-entries": "5000" } },
            { ...context, runningVersion: "3.6.16" },
        );
        assert.deepEqual(validation.problems, []);
        assert.equal(validation.resolved?.upgrade?.kind, "upgrade");
        assert.deepEqual(validation.resolved.upgrade.flagRewrites, [
            {
                from: "experimental-snapshot-catchup-entries",
                to: { name: "snapshot-catchup-entries", value: "5000" },
            },
        ]);
        assert.deepEqual(validation.resolved.extraFlags, { "snapshot-catchup-entries": "5000" });
    });

    it("accepts a downgrade onto 3.6 or later: the hop with the downgrade API's steps, the flags for the older line", () => {
        const validation = validateSettings(
            "etcd",
            { etcdVersion: "3.6.16", extraFlags: { "snapshot-count": "20000" } },
            { ...context, runningVersion: "3.7.3" },
        );
        assert.deepEqual(validation.problems, []);
        const hop = validation.resolved?.upgrade;
        assert.equal(hop?.kind, "downgrade");
        assert.deepEqual([hop.from, hop.to], ["3.7.3", "3.6.16"]);
        assert.match(at(hop.steps, 0), /^`etcdctl downgrade validate 3\.6` and `etcdctl downgrade enable 3\.6`/);
        assert.deepEqual(hop.flagRewrites, []);
        // Below 3.6 it stays refused, with the reason.
        const below = validateSettings("etcd", { etcdVersion: "3.5.33" }, { ...context, runningVersion: "3.6.16" });
        assert.equal(below.problems.length, 1);
        assert.match(at(below.problems, 0).problem, /is a downgrade below 3\.6: an older binary refuses a data dir/);
    });

    it("plans nothing on the first deployment or when the release stays", () => {
        assert.equal(validateSettings("etcd", { etcdVersion: "3.4.23" }, context).resolved?.upgrade, undefined);
        const same = validateSettings("etcd", { etcdVersion: "3.5.16" }, { ...context, runningVersion: "3.5.16" });
        assert.ok(same.resolved);
        assert.equal(same.resolved.upgrade, undefined);
    });

    it("refuses to plan from a running release of a line it does not know", () => {
        const validation = validateSettings(
            "etcd",
            { etcdVersion: "3.4.23" },
            { ...context, runningVersion: "3.3.27" },
        );
        assert.equal(
            at(validation.problems, 0).problem,
            "the last deployment reports etcd 3.3.27, not a release of a line this package knows, so no upgrade path can be checked from it",
        );
    });
});
