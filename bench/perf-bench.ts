// Benchmark 5: `etcdctl check perf --load s` (60 s of writes) on a local 3-member etcd 3.5 cluster
// started with our rendered flags (core's install and launch scripts) and on one started with
// etcd's defaults (the guide's hand-written commands), alternating in the same run.
import * as path from "path";
import { localRelease } from "../local/mirror";
import { run } from "../local/process";
import { clientUrlsByAddress } from "./healthy";
import { benchInput, configLabel, GUIDE, LaunchConfig, startCluster, withLogs } from "./launch-bench";
import { measureInWorkDirs } from "./local-env";
import { successes, SummaryRow, summaryRow } from "./outcome";
import { Alone } from "./quiet";

export const PERF_VERSION = "3.5.16";
export const PERF_CONFIGS: readonly LaunchConfig[] = [
    { deployment: "static", version: PERF_VERSION },
    { deployment: GUIDE, version: PERF_VERSION },
];
/** check perf runs 60 s; it gets that plus its set-up and clean-up, then is killed. */
const CHECK_TIMEOUT_MS = 120_000;

export interface PerfSample {
    readonly writesPerSecond: number;
    readonly slowestSeconds: number;
    readonly stddevSeconds: number;
    /** check perf's verdict on its own thresholds. */
    readonly pass: boolean;
}

function figure(output: string, pattern: RegExp): number {
    const match = pattern.exec(output);
    if (!match) {
        throw new Error(`check perf printed no ${pattern.source}:\n${output}`);
    }
    return Number(match[1]);
}

export function parseCheckPerf(output: string): PerfSample {
    return {
        writesPerSecond: figure(output, /Throughput is (\d+(?:\.\d+)?) writes\/s/),
        slowestSeconds: figure(output, /Slowest request took (\d+(?:\.\d+)?)s/),
        stddevSeconds: figure(output, /Stddev is (\d+(?:\.\d+)?)s/),
        pass: /^PASS$/m.test(output),
    };
}

async function checkPerf(endpoints: readonly string[]): Promise<PerfSample> {
    const etcdctl = path.join(localRelease(PERF_VERSION).binDir, "etcdctl");
    const result = await run([etcdctl, `--endpoints=${endpoints.join(",")}`, "check", "perf", "--load=s"], {
        timeoutMs: CHECK_TIMEOUT_MS,
        env: { ETCDCTL_API: "3" },
    });
    if (result.timedOut) {
        throw new Error(`check perf did not finish within ${CHECK_TIMEOUT_MS / 1000} s`);
    }
    // It exits non-zero when it fails its own thresholds; the figures still count.
    return parseCheckPerf(`${result.stdout}\n${result.stderr}`);
}

export type PerfRow = SummaryRow<LaunchConfig, PerfSample> & { readonly passes: number };

export async function benchPerf(rounds: number, mirrorBaseUrl: string, alone: Alone): Promise<PerfRow[]> {
    const results = await measureInWorkDirs("perf", PERF_CONFIGS, configLabel, rounds, alone, async (config, dir) => {
        const { cluster } = await startCluster(
            config,
            benchInput(config, dir, PERF_CONFIGS.indexOf(config), mirrorBaseUrl),
        );
        return withLogs(cluster, () => checkPerf(clientUrlsByAddress(cluster.spec)));
    });
    return PERF_CONFIGS.map((config) => {
        const outcomes = results.get(config) ?? [];
        return { ...summaryRow(config, outcomes), passes: successes(outcomes).filter((s) => s.pass).length };
    });
}
