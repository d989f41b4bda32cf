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
export function checkIntegerIn(
    problems: Problems,
    setting: string,
    value: unknown,
    range: IntegerRange,
): value is number {
    if (isInteger(value) && value >= range.min && value <= (range.max ?? Number.MAX_SAFE_INTEGER)) {
        return true;
    }
    problems.push({ setting, value, problem: range.problem, fix: range.fix });
    return false;
}

/** True when `value` is one of `allowed`; otherwise appends `problem` with a fix naming them. */
export function checkOneOf<T extends string>(
    problems: Problems,
    setting: string,
    value: unknown,
    allowed: readonly T[],
    problem: string,
): value is T {
    if (allowed.includes(value as T)) {
        return true;
    }
    problems.push({ setting, value, problem, fix: `use one of ${allowed.map((known) => `"${known}"`).join(", ")}` });
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

/**
 * A URL setting's value as a message may show it: the password (or a lone user name, which
 * can be a token), the query and, where the path is the credential (a ready discovery URL),
 * the path replaced by ***. Scheme, host and port stay, so the user sees which URL is meant.
 */
export function redactUrl(value: unknown, pathIsSecret = false): unknown {
    if (typeof value !== "string") {
        return value;
    }
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        return value.replace(/[^/@]*@/, "***@");
    }
    const userinfo =
        url.username === "" && url.password === "" ? "" : url.password === "" ? "***@" : `${url.username}:***@`;
    const path =
        pathIsSecret && url.pathname !== "/"
            ? "/***"
            : url.pathname === "/" && !value.endsWith("/")
              ? ""
              : url.pathname;
    return `${url.protocol}//${userinfo}${url.host}${path}${url.search === "" ? "" : "?***"}`;
}
