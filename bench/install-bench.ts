// Benchmark 4: core's install script on a fresh local host against the local release mirror, cold
// (nothing installed: user, download, verify, unpack, links, unit) and warm (the same script run
// again: everything is there, nothing changes). Phases come from bash's xtrace with timestamps,
// switched on in front of the script as rendered (it adds about a hundred short lines on stderr).
import { renderInstallScript } from "../core";
import { LocalCluster } from "../local/cluster";
import { benchSubnet, measureInWorkDirs, staticCluster } from "./local-env";
import { LOCAL_VERSIONS } from "./launch-bench";
import { failures, successes } from "./outcome";
import { Alone } from "./quiet";
import { median } from "./stats";

const TRACE = "PS4='+${EPOCHREALTIME} '\nset -x\n";
const INSTALL_TIMEOUT_MS = 120_000;
/** After the launch benchmark's subnets. */
const SUBNET_SLOT = 9;

/** Each phase starts at the first trace line running the command that begins it. */
const PHASES: readonly (readonly [string, RegExp])[] = [
    ["user and data volume", /^/],
    ["download", /^curl /],
    ["verify", /^awk /],
    ["unpack", /^rm -rf \S+\.partial$/],
    ["links and directories", /^link_binaries$/],
    ["unit", /^install_unit$/],
];
export const PHASE_NAMES = PHASES.map(([name]) => name);

export interface InstallSample {
    /** Running the script on the host, as the install command does (entering the host included). */
    readonly seconds: number;
    /** Seconds per phase; a phase the run skipped (warm: download, verify, unpack) is 0 or absent. */
    readonly phases: Readonly<Record<string, number>>;
}

/** Phase durations from xtrace lines "+<epoch seconds> <command>" (nested ones "++..."). */
export function tracedPhases(stderr: string): Record<string, number> {
    const lines = stderr
        .split("\n")
        .map((line) => /^\++(\d+\.\d+) (.*)$/.exec(line))
        .flatMap((match) => (match ? [{ time: Number(match[1]), command: match[2] ?? "" }] : []));
    const last = lines.at(-1);
    if (last === undefined) {
        throw new Error("the install script's stderr has no xtrace lines to time its phases by");
    }
    const end = last.time;
    const starts = PHASES.flatMap(([name, pattern]) => {
        const line = lines.find((l) => pattern.test(l.command));
        return line ? [{ name, time: line.time }] : [];
    });
    const phases: Record<string, number> = Object.fromEntries(PHASE_NAMES.map((name) => [name, 0]));
    starts.forEach(({ name, time }, i) => (phases[name] = (starts[i + 1]?.time ?? end) - time));
    return phases;
}

async function timedInstall(cluster: LocalCluster): Promise<InstallSample> {
    const { host, member } = cluster.member(0);
    const script = renderInstallScript({
        release: cluster.release,
        memberName: member.name,
        clusterName: cluster.spec.clusterName,
    });
    const started = performance.now();
    const result = await host.runScript(`${TRACE}${script}`, { timeoutMs: INSTALL_TIMEOUT_MS });
    const seconds = (performance.now() - started) / 1000;
    if (result.code !== 0) {
        throw new Error(
            `install on ${member.name} ${result.timedOut ? "timed out" : `exited with ${result.code}`}:\n${result.stderr}`,
        );
    }
    return { seconds, phases: tracedPhases(result.stderr) };
}

export interface InstallRow {
    readonly version: string;
    readonly state: "cold" | "warm";
    readonly runs: number;
    readonly failures: readonly string[];
    /** Medians, seconds. */
    readonly seconds: number;
    readonly phases: Readonly<Record<string, number>>;
    readonly samples: readonly InstallSample[];
}

function summarize(
    version: string,
    state: InstallRow["state"],
    samples: readonly InstallSample[],
    failed: readonly string[],
): InstallRow {
    const phases = Object.fromEntries(
        PHASE_NAMES.map((name) => [name, median(samples.map((s) => s.phases[name] ?? 0))]),
    );
    return {
        version,
        state,
        runs: samples.length,
        failures: failed,
        seconds: median(samples.map((s) => s.seconds)),
        phases,
        samples,
    };
}

export async function benchInstall(rounds: number, mirrorBaseUrl: string, alone: Alone): Promise<InstallRow[]> {
    const results = await measureInWorkDirs(
        "install",
        LOCAL_VERSIONS,
        (version) => version,
        rounds,
        alone,
        async (version, dir) => {
            const cluster = staticCluster({
                scenario: "static",
                version,
                clusterName: "bench-install",
                dir,
                subnet: benchSubnet(SUBNET_SLOT),
                mirrorBaseUrl,
            });
            const cold = await timedInstall(cluster);
            return { cold, warm: await timedInstall(cluster) };
        },
    );
    return LOCAL_VERSIONS.flatMap((version) => {
        const outcomes = results.get(version) ?? [];
        const ok = successes(outcomes);
        return [
            summarize(
                version,
                "cold",
                ok.map((r) => r.cold),
                failures(outcomes),
            ),
            summarize(
                version,
                "warm",
                ok.map((r) => r.warm),
                failures(outcomes),
            ),
        ];
    });
}
