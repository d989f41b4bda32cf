// A measurement that may fail: the bench records why and goes on, since the other runs still count.
import { median } from "./stats";

export type Outcome<T> = { readonly ok: T } | { readonly error: string };

export async function outcome<T>(measure: () => Promise<T>): Promise<Outcome<T>> {
    try {
        return { ok: await measure() };
    } catch (error) {
        return { error: (error as Error).message };
    }
}

export function successes<T>(outcomes: readonly Outcome<T>[]): T[] {
    return outcomes.flatMap((o) => ("ok" in o ? [o.ok] : []));
}

export function failures<T>(outcomes: readonly Outcome<T>[]): string[] {
    return outcomes.flatMap((o) => ("error" in o ? [o.error] : []));
}

/** The median of each numeric figure of a sample. */
export type Medians<T> = { readonly [K in keyof T as T[K] extends number ? K : never]: number };

/** A configuration with its runs: how many succeeded, why the others failed, each figure's median, every sample. */
export type SummaryRow<C, T> = C &
    Medians<T> & { readonly runs: number; readonly failures: readonly string[]; readonly samples: readonly T[] };

export function summaryRow<C extends object, T extends object>(
    configuration: C,
    outcomes: readonly Outcome<T>[],
): SummaryRow<C, T> {
    const samples = successes(outcomes);
    const figures = Object.keys(samples[0] ?? {}).filter(
        (key) => typeof (samples[0] as Record<string, unknown>)[key] === "number",
    );
    const medians = Object.fromEntries(
        figures.map((key) => [
            key,
            median(
                samples.flatMap((s) => {
                    const value = (s as Record<string, unknown>)[key];
                    return typeof value === "number" ? [value] : [];
                }),
            ),
        ]),
    ) as Medians<T>;
    return { ...configuration, ...medians, runs: samples.length, failures: failures(outcomes), samples };
}
