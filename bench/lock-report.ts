// Benchmark 6's part of bench/results.md: the target checked, and the table of hand-overs.
import { table } from "../plan/markdown";
import type { LockResults, LockRow } from "./lock-bench";
import type { Verdict } from "./report";

/** The issue's target for a roll's median hand-over. */
const HANDOVER_TARGET_SECONDS = 1;

const seconds = (value: number) => (Number.isNaN(value) ? "n/a" : `${value.toFixed(2)} s`);

/** The new lock's row and the old one's for the same member count, with new / old of the median. */
export function lockComparisons(rows: readonly LockRow[]): { ours: LockRow; old: LockRow; ratio: number }[] {
    return rows
        .filter((row) => row.code === "new")
        .map((ours) => {
            const old = rows.find((row) => row.code === "old" && row.members === ours.members);
            if (old === undefined) {
                throw new Error(`the lock benchmark has no old-lock row for ${ours.members} members`);
            }
            return { ours, old, ratio: ours.medianSeconds / old.medianSeconds };
        });
}

export function lockVerdict(lock: LockResults): Verdict {
    const comparisons = lockComparisons(lock.rows);
    return {
        benchmark: "6. membership lock hand-over, rolling restart",
        target: `median <= ${HANDOVER_TARGET_SECONDS} s for 3 and 7 members, one restart at a time`,
        measured: comparisons
            .map(
                ({ ours, old, ratio }) =>
                    `${ours.members} members: ${seconds(ours.medianSeconds)} (p95 ${seconds(ours.p95Seconds)}; old lock ${seconds(old.medianSeconds)}, p95 ${seconds(old.p95Seconds)}; ${ratio.toFixed(2)}x)`,
            )
            .join("; "),
        met: comparisons.every(
            ({ ours }) => ours.medianSeconds <= HANDOVER_TARGET_SECONDS && ours.rolls > 0 && ours.failures.length === 0,
        ),
    };
}

/** How alone the rolls ran on the shared machine. */
function disturbances(lock: LockResults): string {
    const { secondsWaited, repeatedRuns, disturbedRuns, otherEtcdProcesses } = lock.disturbances;
    return `rolls waited ${Math.round(secondsWaited)} s in all for other test suites to finish, ${repeatedRuns} were done again and ${disturbedRuns} of ${lock.rows.reduce((sum, row) => sum + row.rolls + row.failures.length, 0)} ran beside one; etcd processes running when a roll started (its own 3 or 7 included): at most ${otherEtcdProcesses}`;
}

export function lockSection(lock: LockResults): string {
    const ratios = new Map(lockComparisons(lock.rows).map(({ ours, ratio }) => [ours, ratio]));
    return [
        "## 6. Membership lock: hand-over in a rolling restart",
        "",
        `Measured on ${lock.measuredAt} in ${(lock.durationSeconds / 60).toFixed(1)} min, commit ${lock.commit}; ${disturbances(lock)}. A static etcd ${lock.version} cluster of 3 and of 7 members on local hosts; each roll changes a restart-requiring flag (snapshot-count) and starts every member's launch script (update) at once, as \`pulumi up\` runs the launch updates, so all but one wait for the membership lock. A hand-over is the gap between one member serving again ("serving client traffic" in etcd's log) and the next one told to stop ("received signal; shutting down"): the holder seeing its member healthy and letting go, the next waiter taking the lock, checking the others and restarting; every restart began after the previous member served again (a roll that did not counts as failed). The old lock is host/lib/membership.sh as of ${lock.baselineCommit.slice(0, 7)}, read from git by the benchmark and put in place of the current one in the same rendered scripts; ${lock.rounds} rolls with each, alternating, on the same cluster.`,
        "",
        table(
            [
                "members",
                "lock",
                "rolls",
                "hand-overs",
                "median",
                "p95",
                "longest",
                "roll (median)",
                "new / old (median)",
            ],
            lock.rows.map((row) => [
                String(row.members),
                row.code === "new" ? "new" : `old (${lock.baselineCommit.slice(0, 7)})`,
                `${row.rolls}${row.failures.length > 0 ? ` (${row.failures.length} failed)` : ""}`,
                String(row.handovers),
                seconds(row.medianSeconds),
                seconds(row.p95Seconds),
                seconds(row.maxSeconds),
                seconds(row.medianRollSeconds),
                ratios.has(row) ? `${(ratios.get(row) as number).toFixed(2)}x` : "",
            ]),
        ),
        "",
        "Where the old lock's time went: its waiting `etcdctl lock` printed the key and then its value in a second write to a fifo that bash may have closed after reading the first line; then etcdctl died of SIGPIPE just after taking the lock, and its key held every other member off until etcdctl's default 10 s lease ran out. That is a race, lost more often on a quiet machine (2 of 4 hand-overs in two traced 3-member rolls, 10 s each; 3 of 5 lock takes against one etcd) than on a busy one: it shows as hand-overs near 10 s in the longest column. Besides, the holder saw its member healthy again up to a second or more late (1 s polls, each an etcdctl started while etcd restarted, which dials again only after a second), and the next holder checked the others one after another. The new lock holds through a command of `etcdctl lock --ttl 5` that ends when the script lets go or dies; the holder looks at its member every 0.2 s, each look given 0.5 s; the next holder checks the others at once. A holder that dies with its etcdctl (a lost host) costs the others its lease: at most 5 s (test/real/lock.test.ts).",
    ].join("\n");
}
