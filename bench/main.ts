// scripts/bench.sh: runs the benchmarks and writes bench/results.json and bench/results.md.
//   scripts/bench.sh [--only graph,evaluation,launch,install,perf,lock,upgrade,backup]
// Environment: BENCH_RUNS (runs per figure, 5), BENCH_PERF_RUNS (check perf runs per side, 2),
// BENCH_LOCK_ROUNDS (rolling restarts per member count and lock, 3), BENCH_UPGRADE_ROUNDS (rolling
// upgrades per way, 4), BENCH_MAX_WAIT_MINUTES (how
// long to wait for another test suite to finish, 30; 0: do not wait, count disturbed runs). With --only, the benchmarks not run keep
// their figures from the last bench/results.json.
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "node:util";
import { stopAll, stopAllAndRemove } from "../local/process";
import { backupSection } from "./backup-bench";
import { benchEvaluation } from "./eval-bench";
import { benchGraph } from "./graph-bench";
import { benchInstall } from "./install-bench";
import { benchLaunch } from "./launch-bench";
import { BENCH_DIR, withMirror } from "./local-env";
import { benchLock } from "./lock-bench";
import { describeMachine } from "./machine";
import { benchPerf } from "./perf-bench";
import { alone, Disturbances } from "./quiet";
import { renderJson, renderMarkdown, Results } from "./report";
import { benchUpgrade } from "./upgrade-bench";

const BENCHMARKS = ["graph", "evaluation", "launch", "install", "perf", "lock", "upgrade", "backup"] as const;
type Benchmark = (typeof BENCHMARKS)[number];
const LOCAL_BENCHMARKS: readonly Benchmark[] = ["launch", "install", "perf", "lock", "upgrade", "backup"];

function numberFromEnv(name: string, fallback: number, least = 1): number {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(value) || value < least) {
        throw new Error(`${name} must be a whole number of at least ${least}, not ${process.env[name]}`);
    }
    return value;
}

function selectedBenchmarks(args: string[]): Benchmark[] {
    const usage = `usage: scripts/bench.sh [--only ${BENCHMARKS.join(",")}]`;
    let only: string | undefined;
    try {
        only = parseArgs({ args, options: { only: { type: "string" } } }).values.only;
    } catch {
        throw new Error(usage);
    }
    if (only === undefined) {
        return [...BENCHMARKS];
    }
    const names = only.split(",");
    if (names.some((name) => !BENCHMARKS.includes(name as Benchmark))) {
        throw new Error(usage);
    }
    return names as Benchmark[];
}

/** Part of a run: says what it does and how long it took. */
async function step<T>(title: string, work: () => Promise<T>): Promise<T> {
    console.log(`== ${title}`);
    const started = Date.now();
    const result = await work();
    console.log(`   (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    return result;
}

async function runBenchmarks(selected: readonly Benchmark[]): Promise<Results> {
    const runs = numberFromEnv("BENCH_RUNS", 5);
    // Each is 60 s of writes at a capped rate (their throughputs agree within a write per second):
    // two per side keep the whole bench near 11 minutes.
    const perfRuns = numberFromEnv("BENCH_PERF_RUNS", 2);
    // A roll of 7 members with the old lock takes near a minute.
    const lockRounds = numberFromEnv("BENCH_LOCK_ROUNDS", 3);
    // Each round rolls both stacks (ours near a minute, by hand near 15 s): with the two stacks made
    // and destroyed, 4 rounds take near 9 minutes.
    const upgradeRounds = numberFromEnv("BENCH_UPGRADE_ROUNDS", 4);
    // 0: measure at once, beside whatever runs (each disturbed run is counted).
    const maxWaitMs = numberFromEnv("BENCH_MAX_WAIT_MINUTES", 30, 0) * 60_000;
    if (selected.some((b) => LOCAL_BENCHMARKS.includes(b)) && process.getuid?.() !== 0) {
        throw new Error("the local benchmarks need mount namespaces (unshare --mount): run as root");
    }
    const started = Date.now();
    const noise: Disturbances = { secondsWaited: 0, repeatedRuns: 0, disturbedRuns: 0, otherEtcdProcesses: 0 };
    const quiet = alone(maxWaitMs, noise);
    const machine = describeMachine();
    const graph = selected.includes("graph") ? await step("1. critical path of pulumi up", benchGraph) : undefined;
    const evaluation = selected.includes("evaluation")
        ? await step(`2. program evaluation under mocks (${runs} runs each)`, () => benchEvaluation(runs, quiet))
        : undefined;
    const local = await withMirror(async (mirror) => ({
        launch: selected.includes("launch")
            ? await step(`3. launch to healthy (${runs} runs each)`, () => benchLaunch(runs, mirror, quiet))
            : undefined,
        install: selected.includes("install")
            ? await step(`4. install script (${runs} runs each)`, () => benchInstall(runs, mirror, quiet))
            : undefined,
        perf: selected.includes("perf")
            ? await step(`5. etcdctl check perf (${perfRuns} runs each)`, () => benchPerf(perfRuns, mirror, quiet))
            : undefined,
        lock: selected.includes("lock")
            ? await step(`6. membership lock hand-over (${lockRounds} rolls each)`, () =>
                  benchLock(lockRounds, mirror, quiet, noise, machine.commit),
              )
            : undefined,
        upgrade: selected.includes("upgrade")
            ? await step(`7. rolling upgrade of 3 members, local stack (${upgradeRounds} rounds)`, () =>
                  benchUpgrade(upgradeRounds, quiet, noise, machine.commit),
              )
            : undefined,
    }));
    return {
        measuredAt: new Date(started).toISOString(),
        durationSeconds: (Date.now() - started) / 1000,
        machine,
        method: { runs, perfRuns, ...noise },
        graph,
        evaluation,
        ...local,
    };
}

const RESULTS_JSON = path.join(__dirname, "results.json");

/**
 * A run of some benchmarks only (--only) keeps the others' figures from the last results.json,
 * with its header (when and on what they were measured); the lock benchmark says its own.
 */
function withEarlierFigures(results: Results, selected: readonly Benchmark[]): Results {
    if (selected.length === BENCHMARKS.length || !fs.existsSync(RESULTS_JSON)) {
        return results;
    }
    // (renderJson works out the verdicts again.)
    const earlier = JSON.parse(fs.readFileSync(RESULTS_JSON, "utf8")) as Results;
    const fresh = Object.fromEntries(
        selected
            .filter((name) => name !== "backup")
            .map((name) => [name, results[name as Exclude<Benchmark, "backup">]]),
    );
    return { ...earlier, ...fresh };
}

const STOP_PASS_INTERVAL_MS = 500;
const STOP_PASSES = 20;
const QUIET_PASSES = 3;

/** Processes stopped by one pass; undefined when the directory changed under it (a script still runs). */
async function stopPass(): Promise<number[] | undefined> {
    try {
        return await stopAll(BENCH_DIR);
    } catch {
        return undefined;
    }
}

/**
 * On SIGINT or SIGTERM: stops what the bench started, by the PIDs it recorded, and exits. Scripts
 * already running on the hosts (they cannot be called back) may still start etcd meanwhile, so
 * passes repeat every 0.5 s until three in a row find nothing (10 s at most).
 */
async function stopOnSignal(): Promise<never> {
    for (let pass = 0, quiet = 0; pass < STOP_PASSES && quiet < QUIET_PASSES; pass++) {
        quiet = (await stopPass())?.length === 0 ? quiet + 1 : 0;
        await new Promise((resolve) => setTimeout(resolve, STOP_PASS_INTERVAL_MS));
    }
    fs.rmSync(BENCH_DIR, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    process.exit(130);
}

async function main(args: string[]): Promise<void> {
    const selected = selectedBenchmarks(args);
    // A run killed halfway leaves its members running: stop them (by their PID files) first.
    await stopAllAndRemove(BENCH_DIR);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => void stopOnSignal());
    }
    try {
        const results = withEarlierFigures(await runBenchmarks(selected), selected);
        fs.writeFileSync(RESULTS_JSON, renderJson(results));
        // (Benchmark 8 keeps its figures in bench/backup-results.json: bench/backup-bench.ts.)
        const markdown = `${renderMarkdown(results)}${await backupSection(selected.includes("backup"), results.machine.commit)}`;
        fs.writeFileSync(path.join(__dirname, "results.md"), markdown);
        console.log(`\n${markdown}\n(written to bench/results.md and bench/results.json)`);
    } finally {
        await stopAllAndRemove(BENCH_DIR);
    }
}

main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`error: ${error.message}`);
    process.exit(1);
});
