// Summaries of repeated measurements, and the order in which compared configurations run.

export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    const upper = sorted[middle];
    if (upper === undefined) {
        // No values.
        return Number.NaN;
    }
    // An even count is at least 2, so the element before the middle one exists.
    return sorted.length % 2 === 1 ? upper : (sorted[middle - 1]! + upper) / 2;
}

export interface LinearFit {
    readonly slope: number;
    readonly intercept: number;
    /** Share of the variance the line explains (1: every point on it). */
    readonly r2: number;
}

/** Least-squares line through the points. */
export function linearFit(points: readonly { x: number; y: number }[]): LinearFit {
    const n = points.length;
    const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
    const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
    const sxx = points.reduce((sum, p) => sum + (p.x - meanX) ** 2, 0);
    const sxy = points.reduce((sum, p) => sum + (p.x - meanX) * (p.y - meanY), 0);
    const syy = points.reduce((sum, p) => sum + (p.y - meanY) ** 2, 0);
    const slope = sxy / sxx;
    return { slope, intercept: meanY - slope * meanX, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/**
 * Runs every configuration once per round: forward on even rounds, backward on odd ones, so a
 * drift in the machine's speed during the run weighs on every configuration alike.
 */
export async function interleaved<C, R>(
    configurations: readonly C[],
    rounds: number,
    measure: (configuration: C, round: number) => Promise<R>,
): Promise<Map<C, R[]>> {
    const results = new Map<C, R[]>(configurations.map((c) => [c, []]));
    for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? configurations : [...configurations].reverse();
        for (const configuration of order) {
            (results.get(configuration) as R[]).push(await measure(configuration, round));
        }
    }
    return results;
}

export function round(value: number, digits = 2): number {
    const scale = 10 ** digits;
    return Math.round(value * scale) / scale;
}
