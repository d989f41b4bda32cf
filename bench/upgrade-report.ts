// Benchmark 7's part of bench/results.md: the target checked, where each way's time went, and each member's
// unavailability and the writes' longest stall, ours over by hand.
import { table } from "../plan/markdown";
import type { Verdict } from "./report";
import { upgradeRatio, type UpgradeResults, type UpgradeRow } from "./upgrade-bench";

/** The issue's target: our total time at most this times the guide's procedure done by hand. */
const TOTAL_RATIO_TARGET = 1.2;

// (A figure a way does not have is NaN, which results.json keeps as null.)
const known = (value: number | null): value is number => typeof value === "number" && Number.isFinite(value);
const seconds = (value: number | null) => (known(value) ? `${value.toFixed(2)} s` : "-");
const ratio = (value: number) => (known(value) ? `${value.toFixed(2)}x` : "n/a");
const runs = (row: UpgradeRow) => `${row.runs}${row.failures.length > 0 ? ` (${row.failures.length} failed)` : ""}`;

function rowOf(upgrade: UpgradeResults, way: UpgradeRow["way"]): UpgradeRow {
    const row = upgrade.rows.find((r) => r.way === way);
    if (row === undefined) throw new Error(`the upgrade benchmark has no row for ${way}`);
    return row;
}

export function upgradeVerdict(upgrade: UpgradeResults): Verdict {
    const ours = rowOf(upgrade, "ours");
    const byHand = rowOf(upgrade, "by hand");
    const total = upgradeRatio(upgrade.rows, "totalSeconds");
    return {
        benchmark: "7. rolling upgrade of 3 members, local stack",
        target: `total time ours / the guide's procedure by hand <= ${TOTAL_RATIO_TARGET}x`,
        measured:
            `${seconds(ours.totalSeconds)} / ${seconds(byHand.totalSeconds)}: ${ratio(total)}; ` +
            `longest unavailability of a member ${seconds(ours.longestUnavailableSeconds)} / ${seconds(byHand.longestUnavailableSeconds)} (${ratio(upgradeRatio(upgrade.rows, "longestUnavailableSeconds"))}); ` +
            `longest write stall ${seconds(ours.longestStallSeconds)} / ${seconds(byHand.longestStallSeconds)} (${ratio(upgradeRatio(upgrade.rows, "longestStallSeconds"))})`,
        met: total <= TOTAL_RATIO_TARGET && ours.runs > 0 && byHand.runs > 0 && ours.failures.length === 0,
    };
}

/** How alone the rolls ran on the shared machine. */
function disturbances(upgrade: UpgradeResults): string {
    const { secondsWaited, repeatedRuns, disturbedRuns, otherEtcdProcesses } = upgrade.disturbances;
    const all = upgrade.rows.reduce((sum, row) => sum + row.runs + row.failures.length, 0);
    return `rolls waited ${Math.round(secondsWaited)} s in all for other test suites to finish, ${repeatedRuns} were done again and ${disturbedRuns} of ${all} ran beside one; etcd processes running when a roll started (the two stacks' 6 included): at most ${otherEtcdProcesses}`;
}

/** etcd's graceful stop of its gRPC server gives open streams this long (request timeout 5 s + 2 elections of 1 s). */
const GRACEFUL_STOP_SECONDS = 7;

/** How many of a way's restarts took at least etcd's graceful gRPC stop, of all its restarts. */
function longRestarts(row: UpgradeRow): string {
    const restarts = row.samples.flatMap((sample) => sample.members);
    const long = restarts.filter((member) => member.restartSeconds >= GRACEFUL_STOP_SECONDS);
    return `${long.length} of ${restarts.length}`;
}

/** Where ours spent its time, from the medians. */
function oursBreakdown(ours: UpgradeRow, byHand: UpgradeRow): string {
    return [
        `Where ours spends its time (medians, so the parts add up to the total only roughly): ${seconds(ours.outsideEngineSeconds)} outside the engine's update (local-cluster.sh's bootstrap check, the CLI starting, the stack's file written, the outputs read and printed: the total less pulumi's own "Duration");`,
        `the first member's release is installed ${seconds(ours.firstInstalledSeconds)} after the start (that share of the time outside the engine, then the program evaluated, the stack reference read, the version path checked, the diff, and the first install over SSH: download, check, unpack, disk check, links);`,
        `the launches before each restart take ${seconds(ours.launchesSeconds)} in all (the membership lock, the other members' health, a leader's hand-over);`,
        `the three restarts ${seconds(ours.restartsSeconds)} (by hand ${seconds(byHand.restartsSeconds)});`,
        `from a member serving again to the next member's release installed ${seconds(ours.nextInstallsSeconds)} in all (the member healthy and caught up, its ready check, the next install over SSH; by hand, from a member healthy to the next one stopped: ${seconds(byHand.betweenRestartsSeconds)}, the next SSH session and its fetch);`,
        `and ${seconds(ours.afterLastRestartSeconds)} after the last restart (its health, the last ready check, the health gate, the outputs; by hand ${seconds(byHand.afterLastRestartSeconds)}).`,
    ].join(" ");
}

/** The floor of any `up` of ours (nothing to change), when measured: a paragraph and a blank line. */
function unchangedUp(upgrade: UpgradeResults): string[] {
    const ups = upgrade.unchangedUpSeconds ?? [];
    if (ups.length === 0) return [];
    const sorted = [...ups].sort((a, b) => a - b);
    const middle = sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
    return [
        `The floor: an \`up\` of ours' stack with nothing to change (the same command with the version it runs, ${ups.length} times after the rounds) took ${ups.map((up) => seconds(up)).join(", ")} (median ${seconds(middle)}): the CLI, the engine, the program and the local providers starting, the diff and the read-only steps, before any member is touched.`,
        "",
    ];
}

export function upgradeSection(upgrade: UpgradeResults): string {
    const ours = rowOf(upgrade, "ours");
    const byHand = rowOf(upgrade, "by hand");
    /** Ours / by hand under each figure's column (the rolls' column and any after the figures left empty). */
    const ratioRow = (figures: readonly (keyof UpgradeRow)[], emptyAfter: number) => [
        "ours / by hand",
        "",
        ...figures.map((figure) => ratio(upgradeRatio(upgrade.rows, figure))),
        ...Array<string>(emptyAfter).fill(""),
    ];
    const [from, to] = upgrade.versions;
    return [
        "## 7. Rolling upgrade of 3 members on the local stack",
        "",
        `Measured on ${upgrade.measuredAt} in ${(upgrade.durationSeconds / 60).toFixed(1)} min, commit ${upgrade.commit}; ${disturbances(upgrade)}. Two identical 3-member stacks of the real program under the real engine against the local cloud (TLS, static bootstrap, etcd ${from} at first; created one after the other in ${seconds(upgrade.createSeconds)}, destroyed in ${seconds(upgrade.destroySeconds)}), both running throughout. Ours: \`scripts/local-cluster.sh up --set etcd-aws:etcdVersion=<to>\` on one, timed from the command's start to its exit. By hand: on the other, what etcd's upgrade guide asks of an operator: first, on the first member over SSH, the guide's preparation (every endpoint's \`etcdctl endpoint health\`, then \`etcdctl snapshot save\`: "the running cluster must be healthy", "Before beginning, download the snapshot backup"; runs before 2026-12-02 12:20 UTC had no such step), then member after member in the order of memberNames, each over SSH with the stack's key as root: download the release from the same mirror, check it against SHA256SUMS and unpack it while etcd still runs, \`systemctl stop\`, \`install\` the three binaries over /usr/local/bin's, \`systemctl start\`, and \`etcdctl endpoint health\` every 0.2 s until true; timed from the first session's start to the last one's end. ${upgrade.rounds} rounds alternate ${from} -> ${to} and back (a patch downgrade, which the planner allows), and which way rolls first; each stack rolls every round. Restarts come from etcd's own logs (told to stop -> serving client traffic again). While each roll runs, every member's \`/health\` is sampled every 150 ms (a member's unavailability: from its last healthy answer before failed ones to its first healthy one after, so within about 0.15 s), and a writer puts a key every 50 ms through all three endpoints (each write retried for 5 s), from 10 acknowledged writes before the roll to 10 after. Every roll ends with every member reporting the new release (\`/version\`). Figures are medians over the rounds; every roll's figures are in results.json.`,
        "",
        table(
            [
                "way",
                "rolls",
                "total",
                "before the first restart",
                "3 restarts",
                "between restarts",
                "after the last restart",
                "outside the engine",
                "fetch (3 members)",
            ],
            [
                ...[ours, byHand].map((row) => [
                    row.way,
                    runs(row),
                    seconds(row.totalSeconds),
                    seconds(row.beforeFirstRestartSeconds),
                    seconds(row.restartsSeconds),
                    seconds(row.betweenRestartsSeconds),
                    seconds(row.afterLastRestartSeconds),
                    seconds(row.outsideEngineSeconds),
                    seconds(row.fetchSeconds),
                ]),
                ratioRow(
                    [
                        "totalSeconds",
                        "beforeFirstRestartSeconds",
                        "restartsSeconds",
                        "betweenRestartsSeconds",
                        "afterLastRestartSeconds",
                    ],
                    2,
                ),
            ],
        ),
        "",
        table(
            [
                "way",
                "leader restarted (median place)",
                "unavailable: 1st member restarted",
                "2nd",
                "3rd",
                "longest of a member",
                "longest write stall",
                "writes (failed)",
            ],
            [
                ...[ours, byHand].map((row) => [
                    row.way,
                    String(row.leaderPosition),
                    seconds(row.firstUnavailableSeconds),
                    seconds(row.secondUnavailableSeconds),
                    seconds(row.thirdUnavailableSeconds),
                    seconds(row.longestUnavailableSeconds),
                    seconds(row.longestStallSeconds),
                    `${row.writes} (${row.failedWrites})`,
                ]),
                ratioRow(
                    [
                        "firstUnavailableSeconds",
                        "secondUnavailableSeconds",
                        "thirdUnavailableSeconds",
                        "longestUnavailableSeconds",
                        "longestStallSeconds",
                    ],
                    1,
                ),
            ],
        ),
        "",
        `Ours / by hand: total ${ratio(upgradeRatio(upgrade.rows, "totalSeconds"))} (target ${TOTAL_RATIO_TARGET}x), longest unavailability of a member ${ratio(upgradeRatio(upgrade.rows, "longestUnavailableSeconds"))}, longest write stall ${ratio(upgradeRatio(upgrade.rows, "longestStallSeconds"))}.`,
        "",
        oursBreakdown(ours, byHand),
        "",
        ...unchangedUp(upgrade),
        `Restarts of ${GRACEFUL_STOP_SECONDS} s or more: ours ${longRestarts(ours)}, by hand ${longRestarts(byHand)}. In etcd's logs of such a restart the member waits ${GRACEFUL_STOP_SECONDS}.00 s between "received signal; shutting down" and stopping its gRPC server, in every other restart (ours and by hand) a few milliseconds: that is etcd's graceful stop waiting its limit for a client stream still open on the member. By hand no client holds one. Before the lock fix (54dbeb4) ours had the membership lock's \`etcdctl lock\` (a lease keep-alive stream) open through every voting member's endpoint, the restarting member's too, and 5 of 12 restarts waited those ${GRACEFUL_STOP_SECONDS} s; since it the lock of a restart goes only through the other members. The other restarts of ours take about as long as by hand's (results.json has each one).`,
    ].join("\n");
}
