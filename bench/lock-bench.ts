// Benchmark 6: the membership lock's hand-over in a rolling restart. N members (3 and 7) on local
// hosts with real etcd get a restart-requiring flag change and run their launch scripts at once,
// as `pulumi up` runs every member's launch update; the lock lets one member restart at a time.
// A hand-over is the gap between one member serving again and the next member being told to stop
// (both from etcd's own log, microsecond timestamps): the holder seeing its member healthy and
// letting go, the next waiter taking the lock, checking the others and restarting its own. The
// old lock code (host/lib/membership.sh as of BASELINE_COMMIT, read from git at run time) and the
// current one roll the same clusters in turn.
import { execFileSync } from "child_process";
import * as path from "path";
import { renderLaunchScript } from "../core";
import { LAUNCH_TIMEOUT_MS, LocalCluster } from "../local/cluster";
import { reshapeScenario, ScenarioInput } from "../local/scenario";
import { RestartWindow, restartWindows } from "../test/real/restarts";
import { benchSubnet, inWorkDir, staticCluster } from "./local-env";
import { Outcome, outcome, successes, failures } from "./outcome";
import { Alone, Disturbances } from "./quiet";
import { interleaved, median } from "./stats";

/** The last commit with the old lock (hand-overs of 5-10 s): the baseline's membership.sh. */
export const BASELINE_COMMIT = "177a858139b1ff4e3f929f6e435a8cb927c22bdd";
export const LOCK_VERSION = "3.5.16";
export const LOCK_MEMBER_COUNTS = [3, 7] as const;
export const LOCK_CODES = ["old", "new"] as const;
export type LockCode = (typeof LOCK_CODES)[number];
/** Slots the launch benchmark uses too: benchmarks run one after another, each stopping what it started. */
const SUBNET_SLOTS: Readonly<Record<(typeof LOCK_MEMBER_COUNTS)[number], number>> = { 3: 7, 7: 8 };

const REPO_ROOT = path.resolve(__dirname, "..");
const MEMBERSHIP_PART = /# ---- host\/lib\/membership\.sh\n[\s\S]*?(?=# ---- host\/)/g;

/** The baseline's host/lib/membership.sh, from git. */
export function baselineMembership(): string {
    return execFileSync("git", ["show", `${BASELINE_COMMIT}:host/lib/membership.sh`], {
        cwd: REPO_ROOT,
        encoding: "utf8",
    });
}

/**
 * A rendered bundle whose own host/lib/membership.sh part is `text` instead (as the bundle carries a
 * library). Its own is the last: the launch script's leave script, a file it writes, comes first.
 */
export function withMembership(bundle: string, text: string): string {
    const own = [...bundle.matchAll(MEMBERSHIP_PART)].at(-1);
    if (own === undefined) {
        throw new Error("the rendered launch script carries no host/lib/membership.sh part to replace");
    }
    // The part's own line breaks at its end (the bundle's separator) stay.
    const ending = /\n*$/.exec(own[0])?.[0] ?? "";
    const body = text.replace(/^#!.*\n/, "").replace(/\n*$/, "");
    const part = `# ---- host/lib/membership.sh\n${body}${ending}`;
    return `${bundle.slice(0, own.index)}${part}${bundle.slice(own.index + own[0].length)}`;
}

export interface RollSample {
    /** Seconds from one member serving again to the next one told to stop: N - 1 per roll. */
    readonly handovers: readonly number[];
    /** From starting the launches until the last one returned. */
    readonly rollSeconds: number;
}

/** Each next restart's gap after the previous member served again; throws unless they came one at a time. */
export function handovers(windows: readonly RestartWindow[], members: number): number[] {
    if (windows.length !== members) {
        throw new Error(`${windows.length} restarts in a roll of ${members} members`);
    }
    return windows.slice(1).map((window, i) => {
        const previous = windows[i] as RestartWindow;
        if (window.stopped < previous.serving) {
            throw new Error(`${window.member} was stopped before ${previous.member} served again`);
        }
        return (window.stopped - previous.serving) / 1000;
    });
}

/** Every member's launch (update) at once, with the lock code given; the hand-overs from etcd's logs. */
async function roll(cluster: LocalCluster, code: LockCode, baseline: string): Promise<RollSample> {
    const since = Date.now();
    await Promise.all(
        cluster.members.map(async ({ member, host }) => {
            const rendered = renderLaunchScript(cluster.spec, member);
            const script = code === "old" ? withMembership(rendered, baseline) : rendered;
            const result = await host.runScript(script, { timeoutMs: LAUNCH_TIMEOUT_MS });
            if (result.code !== 0) {
                throw new Error(
                    `launch (${code} lock) on ${member.name} exited with ${result.code}:\n${result.stderr}`,
                );
            }
        }),
    );
    const rollSeconds = (Date.now() - since) / 1000;
    return { handovers: handovers(restartWindows(cluster.members, since), cluster.members.length), rollSeconds };
}

/** The value below which `share` of the values lie (nearest rank). */
export function percentile(values: readonly number[], share: number): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)] ?? Number.NaN;
}

export interface LockRow {
    readonly members: number;
    readonly code: LockCode;
    readonly rolls: number;
    readonly failures: readonly string[];
    /** Over every hand-over of every roll. */
    readonly handovers: number;
    readonly medianSeconds: number;
    readonly p95Seconds: number;
    readonly maxSeconds: number;
    readonly medianRollSeconds: number;
    readonly samples: readonly RollSample[];
}

export function lockRow(members: number, code: LockCode, outcomes: readonly Outcome<RollSample>[]): LockRow {
    const samples = successes(outcomes);
    const all = samples.flatMap((s) => s.handovers);
    return {
        members,
        code,
        rolls: samples.length,
        failures: failures(outcomes),
        handovers: all.length,
        medianSeconds: median(all),
        p95Seconds: percentile(all, 0.95),
        maxSeconds: percentile(all, 1),
        medianRollSeconds: median(samples.map((s) => s.rollSeconds)),
        samples,
    };
}

export interface LockResults {
    /** When and on which commit this benchmark ran (a run with --only keeps the others' older figures). */
    readonly measuredAt: string;
    readonly durationSeconds: number;
    readonly commit: string;
    readonly version: string;
    readonly baselineCommit: string;
    readonly rounds: number;
    /** What keeping this benchmark's rolls away from other test suites took, and what it could not. */
    readonly disturbances: Disturbances;
    readonly rows: readonly LockRow[];
}

/** A healthy static cluster of `members` on fresh hosts. */
async function healthyCluster(input: ScenarioInput, members: number): Promise<LocalCluster> {
    const cluster = reshapeScenario(staticCluster(input), input, { memberCount: members });
    await cluster.bringUp();
    return cluster;
}

/**
 * Per member count: one cluster, then `rounds` rolls with each lock code, interleaved (old, new,
 * new, old, ...), each roll a new value of a restart-requiring flag; the cluster is healthy again
 * (the health gate) before the next.
 */
export async function benchLock(
    rounds: number,
    mirrorBaseUrl: string,
    alone: Alone,
    noise: Readonly<Disturbances>,
    commit: string,
): Promise<LockResults> {
    const started = Date.now();
    const before = { ...noise };
    const baseline = baselineMembership();
    const rows: LockRow[] = [];
    for (const members of LOCK_MEMBER_COUNTS) {
        const outcomes = await inWorkDir(`lock/${members}`, async (dir) => {
            const input: ScenarioInput = {
                scenario: "static",
                version: LOCK_VERSION,
                clusterName: `bench-lock-${members}`,
                dir,
                subnet: benchSubnet(SUBNET_SLOTS[members]),
                mirrorBaseUrl,
            };
            let cluster = await healthyCluster(input, members);
            let change = 0;
            return interleaved(LOCK_CODES, rounds, (code) =>
                alone(async () => {
                    change++;
                    cluster = reshapeScenario(cluster, input, {
                        memberCount: members,
                        extraFlags: { "snapshot-count": String(10_000 + change) },
                    });
                    const result = await outcome(() => roll(cluster, code, baseline));
                    await cluster.healthGate();
                    return result;
                }),
            );
        });
        rows.push(...LOCK_CODES.map((code) => lockRow(members, code, outcomes.get(code) ?? [])));
    }
    return {
        measuredAt: new Date(started).toISOString(),
        durationSeconds: (Date.now() - started) / 1000,
        commit,
        version: LOCK_VERSION,
        baselineCommit: BASELINE_COMMIT,
        rounds,
        disturbances: {
            secondsWaited: noise.secondsWaited - before.secondsWaited,
            repeatedRuns: noise.repeatedRuns - before.repeatedRuns,
            disturbedRuns: noise.disturbedRuns - before.disturbedRuns,
            otherEtcdProcesses: noise.otherEtcdProcesses,
        },
        rows,
    };
}
