// Benchmark 2: what evaluating the program under mocks costs (a preview before any provider call),
// for 3, 5 and 7 members and for 1, 5 and 10 clusters of 3 members in one program; each sample in
// a fresh process (eval-child.ts), so load time and peak memory are a cold program's.
import * as path from "path";
import { runChecked } from "../local/process";
import { Alone } from "./quiet";
import { interleaved, LinearFit, linearFit, median } from "./stats";

export interface EvaluationSample {
    /** Loading the SDK, the providers and the package (ts-node transpiling it, as Pulumi does). */
    readonly loadMs: number;
    /** First constructor call to the last resource registered. */
    readonly evaluationMs: number;
    readonly resources: number;
    readonly rssAfterLoadMiB: number;
    readonly peakRssMiB: number;
}

export interface ProgramShape {
    readonly members: number;
    readonly clusters: number;
}

export const PROGRAM_SHAPES: readonly ProgramShape[] = [
    { members: 3, clusters: 1 },
    { members: 5, clusters: 1 },
    { members: 7, clusters: 1 },
    { members: 3, clusters: 5 },
    { members: 3, clusters: 10 },
];

export interface EvaluationRow extends ProgramShape {
    readonly runs: number;
    readonly resources: number;
    /** Medians. */
    readonly processMs: number;
    readonly loadMs: number;
    readonly evaluationMs: number;
    readonly peakRssMiB: number;
    readonly peakAboveLoadMiB: number;
    readonly samples: readonly ChildSample[];
}

export interface EvaluationGrowth {
    /** Over the shapes of one cluster (3, 5, 7 members) and of 3 members (1, 5, 10 clusters). */
    readonly byMembers: { readonly evaluationMs: LinearFit; readonly peakRssMiB: LinearFit };
    readonly byClusters: { readonly evaluationMs: LinearFit; readonly peakRssMiB: LinearFit };
    /** Over every shape, against the number of resources registered. */
    readonly byResources: { readonly evaluationMs: LinearFit; readonly peakRssMiB: LinearFit };
}

/** A sample and the time its process took from start to exit. */
type ChildSample = EvaluationSample & { readonly processMs: number };

const CHILD = path.join(__dirname, "eval-child.ts");
const CHILD_TIMEOUT_MS = 120_000;

async function sampleInChild(shape: ProgramShape): Promise<ChildSample> {
    const started = performance.now();
    const stdout = await runChecked(
        [
            process.execPath,
            "--require",
            "ts-node/register/transpile-only",
            CHILD,
            String(shape.members),
            String(shape.clusters),
        ],
        {
            timeoutMs: CHILD_TIMEOUT_MS,
            env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, "..", "tsconfig.json") },
        },
    );
    return { ...(JSON.parse(stdout) as EvaluationSample), processMs: performance.now() - started };
}

function summarize(shape: ProgramShape, samples: readonly ChildSample[]): EvaluationRow {
    const counts = [...new Set(samples.map((s) => s.resources))];
    const [resources] = counts;
    if (resources === undefined || counts.length !== 1) {
        throw new Error(
            `${shape.clusters} x ${shape.members} members registered a varying number of resources: ${counts.join(", ")}`,
        );
    }
    const of = (pick: (s: ChildSample) => number) => median(samples.map(pick));
    return {
        ...shape,
        runs: samples.length,
        resources,
        processMs: of((s) => s.processMs),
        loadMs: of((s) => s.loadMs),
        evaluationMs: of((s) => s.evaluationMs),
        peakRssMiB: of((s) => s.peakRssMiB),
        peakAboveLoadMiB: of((s) => s.peakRssMiB - s.rssAfterLoadMiB),
        samples,
    };
}

function fits(rows: readonly EvaluationRow[], x: (row: EvaluationRow) => number) {
    return {
        evaluationMs: linearFit(rows.map((row) => ({ x: x(row), y: row.evaluationMs }))),
        peakRssMiB: linearFit(rows.map((row) => ({ x: x(row), y: row.peakRssMiB }))),
    };
}

export async function benchEvaluation(
    rounds: number,
    alone: Alone,
): Promise<{ rows: EvaluationRow[]; growth: EvaluationGrowth }> {
    const samples = await interleaved(PROGRAM_SHAPES, rounds, (shape) => alone(() => sampleInChild(shape)));
    const rows = PROGRAM_SHAPES.map((shape) => summarize(shape, samples.get(shape) ?? []));
    return {
        rows,
        growth: {
            byMembers: fits(
                rows.filter((row) => row.clusters === 1),
                (row) => row.members,
            ),
            byClusters: fits(
                rows.filter((row) => row.members === 3),
                (row) => row.clusters,
            ),
            byResources: fits(rows, (row) => row.resources),
        },
    };
}
