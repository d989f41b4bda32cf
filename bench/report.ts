// The results of a run as JSON (everything, for tools) and markdown (the tables people read),
// with each benchmark's target checked.
import { table } from "../plan/markdown";
import type { EvaluationGrowth, EvaluationRow } from "./eval-bench";
import { MODES, targetChain, type GraphRow } from "./graph-bench";
import { PHASE_NAMES, type InstallRow } from "./install-bench";
import { GUIDE, type LaunchRow } from "./launch-bench";
import type { LockResults } from "./lock-bench";
import { lockSection, lockVerdict } from "./lock-report";
import type { Machine } from "./machine";
import type { PerfRow } from "./perf-bench";
import type { Disturbances } from "./quiet";
import type { UpgradeResults } from "./upgrade-bench";
import { upgradeSection, upgradeVerdict } from "./upgrade-report";

export interface Results {
    readonly measuredAt: string;
    readonly durationSeconds: number;
    readonly machine: Machine;
    readonly method: { readonly runs: number; readonly perfRuns: number } & Readonly<Disturbances>;
    readonly graph?: readonly GraphRow[];
    readonly evaluation?: { readonly rows: readonly EvaluationRow[]; readonly growth: EvaluationGrowth };
    readonly launch?: readonly LaunchRow[];
    readonly install?: readonly InstallRow[];
    readonly perf?: readonly PerfRow[];
    readonly lock?: LockResults;
    readonly upgrade?: UpgradeResults;
}

export interface Verdict {
    readonly benchmark: string;
    readonly target: string;
    readonly measured: string;
    /** undefined: no target, only figures. */
    readonly met?: boolean;
}

/** The launch-to-healthy target: at most this times the guide's hand-written commands. */
const LAUNCH_RATIO_TARGET = 1.2;
/** The check perf target: at least this share of the throughput with etcd's defaults. */
const THROUGHPUT_RATIO_TARGET = 0.95;
/** Growth counts as linear when a line explains at least this share of the variance. */
const LINEAR_R2 = 0.95;

const seconds = (value: number) => (Number.isNaN(value) ? "n/a" : `${value.toFixed(2)} s`);
const ms = (value: number) => `${Math.round(value)} ms`;
const mib = (value: number) => `${Math.round(value)} MiB`;
const ratio = (value: number) => (Number.isNaN(value) ? "n/a" : `${value.toFixed(2)}x`);

function graphVerdict(rows: readonly GraphRow[]): Verdict {
    const perMode = Object.keys(MODES).map((mode) => {
        const lengths = [...new Set(rows.filter((row) => row.mode === mode).map((row) => row.ours.chainLength))];
        const naive = rows.filter((row) => row.mode === mode).map((row) => row.oneAfterAnother.chainLength);
        const target = targetChain(mode).length;
        const met = lengths.length === 1 && lengths.every((length) => length <= target);
        return {
            met,
            text: `${mode}: ${lengths.join("/")} (target ${target}; one after another ${naive.join(", ")})`,
        };
    });
    return {
        benchmark: "1. critical path of pulumi up",
        target: "chain length the same for 1-7 members and no longer than the mode's chain below",
        measured: perMode.map((m) => m.text).join("; "),
        met: perMode.every((m) => m.met),
    };
}

function evaluationVerdict(evaluation: NonNullable<Results["evaluation"]>): Verdict {
    const fit = evaluation.growth.byResources.evaluationMs;
    const memory = evaluation.growth.byResources.peakRssMiB;
    const [first, last] = [evaluation.rows[0], evaluation.rows.at(-1)];
    if (first === undefined || last === undefined) {
        throw new Error("the evaluation benchmark has no rows to report");
    }
    const extremes = [first, last];
    return {
        benchmark: "2. program evaluation under mocks",
        target: `linear in the resources registered, small constant (line fit R² >= ${LINEAR_R2})`,
        measured:
            `${fit.slope.toFixed(2)} ms per resource + ${ms(fit.intercept)} (R² ${fit.r2.toFixed(3)}); peak RSS ${(memory.slope * 1024).toFixed(0)} KiB per resource + ${mib(memory.intercept)} (R² ${memory.r2.toFixed(3)}); ` +
            extremes
                .map(
                    (row) =>
                        `${row.clusters} x ${row.members} members: ${ms(row.evaluationMs)}, ${mib(row.peakRssMiB)}`,
                )
                .join("; "),
        met: fit.r2 >= LINEAR_R2,
    };
}

/** Ours over the guide's commands of the same version, by the probe and by the gate. */
export function launchRatios(rows: readonly LaunchRow[]): { row: LaunchRow; probe: number; gate: number }[] {
    return rows
        .filter((row) => row.deployment !== GUIDE)
        .map((row) => {
            const guide = rows.find((r) => r.deployment === GUIDE && r.version === row.version) as LaunchRow;
            return { row, probe: row.probeSeconds / guide.probeSeconds, gate: row.gateSeconds / guide.gateSeconds };
        });
}

function launchVerdict(rows: readonly LaunchRow[]): Verdict {
    const ratios = launchRatios(rows);
    return {
        benchmark: "3. launch to healthy, local hosts",
        target: `ours / guide's hand-written commands <= ${LAUNCH_RATIO_TARGET}`,
        measured: ratios
            .map(({ row, probe, gate }) => `${row.deployment} ${row.version}: ${ratio(probe)} (gate ${ratio(gate)})`)
            .join("; "),
        met: ratios.every(({ probe, gate }) => probe <= LAUNCH_RATIO_TARGET && gate <= LAUNCH_RATIO_TARGET),
    };
}

function installVerdict(rows: readonly InstallRow[]): Verdict {
    return {
        benchmark: "4. install script, local mirror",
        target: "(figures only)",
        measured: rows.map((row) => `${row.version} ${row.state} ${seconds(row.seconds)}`).join("; "),
    };
}

export function throughputRatio(rows: readonly PerfRow[]): number {
    const ours = rows.find((row) => row.deployment !== GUIDE);
    const guide = rows.find((row) => row.deployment === GUIDE);
    if (ours === undefined || guide === undefined) {
        throw new Error("the check perf rows need both our deployment and the guide's");
    }
    return ours.writesPerSecond / guide.writesPerSecond;
}

function perfVerdict(rows: readonly PerfRow[]): Verdict {
    const value = throughputRatio(rows);
    return {
        benchmark: "5. etcdctl check perf --load s",
        target: `throughput ours / etcd defaults >= ${THROUGHPUT_RATIO_TARGET}`,
        measured: `${rows.map((row) => `${row.deployment === GUIDE ? "defaults" : "ours"} ${row.writesPerSecond} writes/s`).join(", ")}: ${ratio(value)}`,
        met: value >= THROUGHPUT_RATIO_TARGET,
    };
}

export function verdicts(results: Results): Verdict[] {
    return [
        ...(results.graph ? [graphVerdict(results.graph)] : []),
        ...(results.evaluation ? [evaluationVerdict(results.evaluation)] : []),
        ...(results.launch ? [launchVerdict(results.launch)] : []),
        ...(results.install ? [installVerdict(results.install)] : []),
        ...(results.perf ? [perfVerdict(results.perf)] : []),
        ...(results.lock ? [lockVerdict(results.lock)] : []),
        ...(results.upgrade ? [upgradeVerdict(results.upgrade)] : []),
    ];
}

export function summaryTable(results: Results): string {
    const met = (v: Verdict) => (v.met === undefined ? "-" : v.met ? "met" : "**missed**");
    return table(
        ["benchmark", "target", "measured (medians)", ""],
        verdicts(results).map((v) => [v.benchmark, v.target, v.measured, met(v)]),
    );
}

export function machineTable(machine: Machine): string {
    return table(
        ["", ""],
        [
            ["CPU", `${machine.cpus} x ${machine.cpuModel}`],
            ["memory", `${machine.memoryGiB} GiB`],
            ["OS, kernel", `${machine.os}, Linux ${machine.kernel}`],
            ["node", machine.node],
            ["etcd", machine.etcd.join("<br>")],
            [
                "code",
                `commit ${machine.commit}${machine.uncommitted.length > 0 ? ` plus uncommitted changes to ${machine.uncommitted.join(", ")}` : ""}`,
            ],
        ],
    );
}

function graphSection(rows: readonly GraphRow[]): string {
    const shape = table(
        ["mode", "members", "operations", "longest chain", "widest step", "one member after another: chain", "widest"],
        rows.map((row) => [
            row.mode,
            String(row.members),
            String(row.ours.operations),
            String(row.ours.chainLength),
            `${row.ours.widestStep.width} at step ${row.ours.widestStep.step}`,
            String(row.oneAfterAnother.chainLength),
            String(row.oneAfterAnother.widestStep.width),
        ]),
    );
    const chains = Object.keys(MODES).map((mode) => {
        const row = rows.find((r) => r.mode === mode && r.members === 3) as GraphRow;
        return `- ${mode} (3 members): ${row.ours.chain.join(" → ")} (target: ${targetChain(mode).join(" → ")})`;
    });
    return [
        "## 1. Critical path of `pulumi up` (mocked resource graph)",
        "",
        "Every custom resource is one operation that starts once all it depends on is done (component resources are not operations: a dependency on one is a dependency on every operation below it). Figures are exact (the graph is deterministic).",
        "",
        shape,
        "",
        "The longest chains:",
        "",
        ...chains,
        "",
        "One member after another: the same graph with member i's instance depending on member i-1's launch (and each launch knowing only the members before it), as a deployment that creates members in turn would run.",
    ].join("\n");
}

function evaluationSection(evaluation: NonNullable<Results["evaluation"]>): string {
    const rows = table(
        [
            "clusters x members",
            "resources",
            "runs",
            "process (start to exit)",
            "load",
            "evaluation",
            "peak RSS",
            "peak above loaded",
        ],
        evaluation.rows.map((row) => [
            `${row.clusters} x ${row.members}`,
            String(row.resources),
            String(row.runs),
            ms(row.processMs),
            ms(row.loadMs),
            ms(row.evaluationMs),
            mib(row.peakRssMiB),
            mib(row.peakAboveLoadMiB),
        ]),
    );
    const fit = (name: string, unit: string, f: EvaluationGrowth["byMembers"]) =>
        `- per ${unit} (${name}): evaluation ${f.evaluationMs.slope.toFixed(1)} ms + ${ms(f.evaluationMs.intercept)} (R² ${f.evaluationMs.r2.toFixed(3)}), peak RSS ${f.peakRssMiB.slope.toFixed(2)} MiB + ${mib(f.peakRssMiB.intercept)} (R² ${f.peakRssMiB.r2.toFixed(3)})`;
    return [
        "## 2. Program evaluation under mocks",
        "",
        "Each run is a fresh Node process: load the SDK, the providers and the package (ts-node, as Pulumi runs a TypeScript program), then build the clusters under plan/mock-engine.ts. Evaluation is from the first constructor call to the last resource registered; peak RSS is the process's maxRSS.",
        "",
        rows,
        "",
        "Growth (least-squares lines through the medians):",
        "",
        fit("1 cluster of 3, 5, 7 members", "member", evaluation.growth.byMembers),
        fit("1, 5, 10 clusters of 3 members", "cluster", evaluation.growth.byClusters),
        fit("every shape", "resource", evaluation.growth.byResources),
    ].join("\n");
}

function launchSection(rows: readonly LaunchRow[]): string {
    const ratios = launchRatios(rows);
    const ratioOf = (row: LaunchRow) => ratios.find((r) => r.row === row);
    return [
        "## 3. Launch to healthy on local hosts",
        "",
        "Three members on local hosts (own mount namespace and loopback address each), etcd installed by core's install script from the local mirror. The clock starts when the members are started (our launch scripts, or the guide's commands from a shell) and stops when the cluster is healthy: every member listed as started and answering /health, probed every 100 ms; and when core's health gate (polling every 2 s, what `pulumi up` waits for) passes, run at the same time.",
        "",
        table(
            [
                "etcd",
                "deployment",
                "runs",
                "start commands returned",
                "healthy (probe)",
                "health gate passed",
                "ours / guide (probe)",
                "ours / guide (gate)",
            ],
            rows.map((row) => [
                row.version,
                row.deployment,
                `${row.runs}${row.failures.length > 0 ? ` (${row.failures.length} failed)` : ""}`,
                seconds(row.startSeconds),
                seconds(row.probeSeconds),
                seconds(row.gateSeconds),
                ratio(ratioOf(row)?.probe ?? Number.NaN),
                ratio(ratioOf(row)?.gate ?? Number.NaN),
            ]),
        ),
        "",
        "DNS SRV on etcd 3.4 is not run: 3.4 bootstraps from SRV records only over TLS, which the local hosts do not run. discovery is v2 (3.4 and 3.5 have no v3 discovery) against a local discovery etcd; public-discovery goes through Debian's discovery.etcd.io server in front of it.",
    ].join("\n");
}

function installSection(rows: readonly InstallRow[]): string {
    return [
        "## 4. Install script against the local mirror",
        "",
        "core's install script on a fresh local host (cold), then again on the same host (warm: all installed, nothing changes). Phases from bash xtrace timestamps.",
        "",
        table(
            ["etcd", "state", "runs", "total", ...PHASE_NAMES],
            rows.map((row) => [
                row.version,
                row.state,
                String(row.runs),
                seconds(row.seconds),
                ...PHASE_NAMES.map((name) => seconds(row.phases[name] ?? 0)),
            ]),
        ),
    ].join("\n");
}

function perfSection(rows: readonly PerfRow[], perfRuns: number): string {
    const version = rows[0]?.version;
    if (version === undefined) {
        throw new Error("the check perf benchmark has no rows to report");
    }
    return [
        "## 5. `etcdctl check perf --load s`",
        "",
        `A fresh 3-member etcd ${version} cluster per run, started with our flags (install and launch scripts) or with etcd's defaults (the guide's commands), alternating. The s load offers 150 writes/s from 50 clients for 60 s, so throughput is capped and runs agree within a write per second; hence ${perfRuns} runs each (each pair costs over 2 minutes of a bench meant to stay well under 15), every run's figures in results.json.`,
        "",
        table(
            ["flags", "runs", "throughput", "slowest request", "stddev", "check perf PASS"],
            rows.map((row) => [
                row.deployment === GUIDE ? "etcd defaults (guide)" : "ours",
                `${row.runs}${row.failures.length > 0 ? ` (${row.failures.length} failed)` : ""}`,
                `${row.writesPerSecond} writes/s`,
                seconds(row.slowestSeconds),
                seconds(row.stddevSeconds),
                `${row.passes} of ${row.runs}`,
            ]),
        ),
        "",
        `Throughput ours / defaults: ${ratio(throughputRatio(rows))}.`,
    ].join("\n");
}

function failureSection(results: Results): string {
    const failed = [
        ...(results.launch ?? []),
        ...(results.install ?? []),
        ...(results.perf ?? []),
        ...(results.lock?.rows ?? []),
        ...(results.upgrade?.rows ?? []),
    ].flatMap((row) => row.failures.map((f) => `- ${f.split("\n")[0]}`));
    return failed.length > 0 ? ["## Failed runs", "", ...failed].join("\n") : "";
}

export function renderMarkdown(results: Results): string {
    const { method } = results;
    return [
        "# Benchmarks",
        "",
        `Written by \`scripts/bench.sh\` on ${results.measuredAt} in ${(results.durationSeconds / 60).toFixed(1)} min. Each figure is the median of ${method.runs} runs (check perf: ${method.perfRuns}); compared configurations ran interleaved in the same run (forward, then backward, round after round). Every run waited until no test suite ran on the machine (${Math.round(method.secondsWaited)} s in all) and was done again when one started during it (${method.repeatedRuns} runs; ${method.disturbedRuns} kept after three disturbed attempts); etcd processes of others running when a run started: at most ${method.otherEtcdProcesses}.`,
        "",
        machineTable(results.machine),
        "",
        summaryTable(results),
        "",
        ...[
            results.graph && graphSection(results.graph),
            results.evaluation && evaluationSection(results.evaluation),
            results.launch && launchSection(results.launch),
            results.install && installSection(results.install),
            results.perf && perfSection(results.perf, method.perfRuns),
            results.lock && lockSection(results.lock),
            results.upgrade && upgradeSection(results.upgrade),
            failureSection(results),
        ].flatMap((section) => (section ? [section, ""] : [])),
    ].join("\n");
}

export function renderJson(results: Results): string {
    return `${JSON.stringify({ ...results, verdicts: verdicts(results) }, null, 2)}\n`;
}
