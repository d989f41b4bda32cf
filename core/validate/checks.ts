// What every check of a setting shares: the list its problems go to and the tests of a value's
// shape, so each integer setting is checked against its range the same way.
import { ConfigProblem } from "../problems";

/** The problems of one validation pass; every check appends to it and none stops the others. */
export type Problems = ConfigProblem[];

export function isInteger(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value);
}

/** An integer setting's allowed range (inclusive) and what to say when a value is outside it. */
export interface IntegerRange {
    readonly min: number;
    readonly max?: number;
    readonly problem: string;
    readonly fix: string;
}

/** True when `value` is a whole number in the range; otherwise appends the range's problem. */
export function checkIntegerIn(problems: Problems, setting: string, value: unknown, range: IntegerRange): value is number {
    if (isInteger(value) && value >= range.min && value <= (range.max ?? Number.MAX_SAFE_INTEGER)) {
        return true;
    }
    problems.push({ setting, value, problem: range.problem, fix: range.fix });
    return false;
}

export function isHttpUrl(text: unknown): text is string {
    if (typeof text !== "string") {
        return false;
    }
    try {
        const url = new URL(text);
        return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    } catch {
        return false;
    }
}
