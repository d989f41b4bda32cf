// A configuration problem and how a list of them reads to the person who made them.

export interface ConfigProblem {
    /** The setting as the user spells it, e.g. `etcd-aws:memberCount` or `discovery.size`. */
    readonly setting: string;
    /** The offending value as given (undefined when the setting is missing). */
    readonly value: unknown;
    /** What is wrong, in etcd's or AWS's terms. */
    readonly problem: string;
    /** What to change so that it works. */
    readonly fix: string;
}

function shown(value: unknown): string {
    if (value === undefined) {
        return "(not set)";
    }
    return JSON.stringify(value);
}

/**
 * One line per problem: setting, value, what is wrong, how to fix it. `outcome` says what was
 * not done (a program refuses before deploying anything; a second cluster after the first).
 */
export function formatProblems(
    subject: string,
    problems: readonly ConfigProblem[],
    outcome = "nothing was deployed",
): string {
    const lines = problems.map((p, i) => `  ${i + 1}. ${p.setting} = ${shown(p.value)}: ${p.problem}. Fix: ${p.fix}.`);
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    return [`${subject}: ${count} in the configuration, ${outcome}:`, ...lines].join("\n");
}
