// Checked element access for tests under noUncheckedIndexedAccess: a missing element fails the
// test with a message naming what was expected, instead of a TypeError further on.

/** The element at `index` (negative counts from the end, as Array.prototype.at); throws if there is none. */
export function at<T>(items: readonly T[], index: number, what = "element"): T {
    const item = items.at(index);
    if (item === undefined) {
        throw new Error(`expected a ${what} at index ${index}, but there are ${items.length}`);
    }
    return item;
}

/** Capture group `index` of a regular-expression match; throws if the match or the group is missing. */
export function group(match: RegExpMatchArray | RegExpExecArray | null, index = 1, what = "match"): string {
    const value = match?.[index];
    if (value === undefined) {
        throw new Error(
            `expected group ${index} of the ${what}, but ${match ? "the group did not take part" : "nothing matched"}`,
        );
    }
    return value;
}
