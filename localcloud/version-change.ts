// The etcdVersion change a stack's configuration asks of the release its cluster runs, judged by the program's own
// validation (core/validate/upgrade.ts over core/upgrade.ts): the local stack refuses an unsupported one before it
// touches anything, with the program's message, and scripts/preview.sh shows the hop of an allowed one. Pure.
import { ConfigProblem, formatProblems } from "../core/problems";
import { asStackProblem, readStackConfig } from "../core/stack-config";
import { UpgradeHop } from "../core/upgrade";
import { resolveSecurity, resolveVersion } from "../core/validate/membership";
import { resolveUpgrade } from "../core/validate/upgrade";

/** What a stack file's config asks of the running release. */
export interface VersionChange {
    /** The program's refusal, word for word as its validation reports it; undefined when the change is allowed. */
    readonly refusal?: string;
    /** The hop of an allowed change; undefined when the release stays (or on the first deployment). */
    readonly hop?: UpgradeHop;
}

/** A stack file's value as the program's `config.get` returns it: text, or the YAML value as JSON. */
function configText(value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string") return value;
    // A secure value is the secrets provider's, never the version's business.
    if (typeof value === "object" && !Array.isArray(value)) return undefined;
    return JSON.stringify(value);
}

/**
 * The change from `runningVersion` (the stack's last deployed `etcdVersion`; undefined before the first deployment)
 * to the release the stack file's `config` (keys as the file spells them, `<project>:<key>`) asks for.
 */
export function versionChange(
    project: string,
    stack: string,
    config: Readonly<Record<string, unknown>>,
    runningVersion: string | undefined,
): VersionChange {
    const { config: stackConfig } = readStackConfig((key) => configText(config[`${project}:${key}`]));
    const settings = stackConfig.settings;
    const problems: ConfigProblem[] = [];
    const version = resolveVersion(settings, problems);
    const { auth } = resolveSecurity(settings, [], []);
    const hop = resolveUpgrade(runningVersion, settings, version, auth, problems);
    if (problems.length > 0) {
        return { refusal: formatProblems(`stack "${stack}"`, problems.map(asStackProblem)) };
    }
    return { hop };
}

/** The hop as preview.sh prints it: the releases, what the roll does, then each extra flag rewritten. */
export function describeHop(hop: UpgradeHop): string[] {
    const rewrites = hop.flagRewrites.map((rewrite) =>
        rewrite.to === undefined
            ? `--${rewrite.from} is dropped (etcd ${hop.to} removed it)`
            : `--${rewrite.from} becomes --${rewrite.to.name}=${rewrite.to.value}`,
    );
    return [
        `etcd ${hop.kind} ${hop.from} -> ${hop.to}: each member reinstalled and restarted in turn under the ` +
            "membership lock, a leader hands leadership over first, each caught up before the next",
        ...[...hop.steps, ...rewrites].map((line) => `  - ${line}`),
    ];
}
