// The way from the etcd release a cluster runs to the one its settings ask for, as etcd's upgrade
// guide allows it: a patch change within a line, one minor up at a time (from a patch the next
// line requires), or one minor down from 3.6 on through the downgrade API. A request that skips a
// step is refused with every step spelled out. The user's extra flags are carried over to the
// target line: a flag the line renamed gets its new name, one it moved becomes a feature gate.
import { ETCD_FLAGS } from "./etcd-flags";
import { ETCD_LINES, EtcdLine, EtcdVersion, NEWEST_KNOWN_RELEASES, parseEtcdVersion } from "./versions";

/**
 * The patch every member must run before the cluster may move to a line (etcd's upgrade guide):
 * 3.5.26 carries the fixes for "too many learner members" and zombie members that 3.6 relies on.
 */
export const MINIMUM_BEFORE: Readonly<Partial<Record<EtcdLine, string>>> = {
    "3.6": "3.5.26",
    "3.7": "3.6.11",
};

/** The first line with etcd's downgrade API (`etcdctl downgrade validate|enable|cancel`). */
export const FIRST_DOWNGRADABLE_LINE: EtcdLine = "3.6";

/**
 * 3.7 turned six `--experimental-*` switches into `--feature-gates` entries. The other experimental
 * flags it removed became the name without the prefix, which the flag tables show.
 */
const FEATURE_GATES: Readonly<Record<string, string>> = {
    "experimental-compact-hash-check-enabled": "CompactHashCheck",
    "experimental-initial-corrupt-check": "InitialCorruptCheck",
    "experimental-enable-lease-checkpoint": "LeaseCheckpoint",
    "experimental-enable-lease-checkpoint-persist": "LeaseCheckpointPersist",
    "experimental-stop-grpc-service-on-defrag": "StopGRPCServiceOnDefrag",
    "experimental-txn-mode-write-with-shared-buffer": "TxnModeWriteWithSharedBuffer",
};

/** What a flag written for an older line becomes on `line`. */
export type FlagSuccessor =
    | { readonly kind: "same" }
    | { readonly kind: "renamed"; readonly name: string }
    | { readonly kind: "gate"; readonly gate: string }
    | { readonly kind: "removed"; readonly removedIn?: EtcdLine };

function lineIndex(line: EtcdLine): number {
    return ETCD_LINES.indexOf(line);
}

/** The line after the newest earlier one that registered the flag, when `line` does not register it. */
function removedIn(name: string, line: EtcdLine): EtcdLine | undefined {
    const earlier = ETCD_LINES.slice(0, lineIndex(line)).filter((known) => ETCD_FLAGS[known].has(name));
    const last = earlier.at(-1);
    return last === undefined ? undefined : ETCD_LINES[lineIndex(last) + 1];
}

/** How `name` (without dashes) is spelled on `line`, from the flag tables of the releases. */
export function flagSuccessor(name: string, line: EtcdLine): FlagSuccessor {
    const flags = ETCD_FLAGS[line];
    if (flags.has(name)) {
        return { kind: "same" };
    }
    const unprefixed = name.replace(/^experimental-/, "");
    if (unprefixed !== name && flags.has(unprefixed)) {
        return { kind: "renamed", name: unprefixed };
    }
    const gate = Object.hasOwn(FEATURE_GATES, name) ? FEATURE_GATES[name] : undefined;
    if (gate !== undefined && flags.has("feature-gates")) {
        return { kind: "gate", gate };
    }
    return { kind: "removed", removedIn: removedIn(name, line) };
}

/** A `--feature-gates` entry for a switch's value: a bare flag ("") is on. */
export function featureGateEntry(gate: string, value: string): string {
    return `${gate}=${value === "" ? "true" : value}`;
}

/** One of the user's flags as the hop's target line takes it. */
export interface FlagRewrite {
    readonly from: string;
    /** The flag it becomes (`feature-gates` for a gate); undefined when the target line removed it. */
    readonly to?: { readonly name: string; readonly value: string };
}

/** The rewrites the flags need on `line`, in the flags' order (flags the line takes as they are are left out). */
export function flagRewrites(flags: Readonly<Record<string, string>>, line: EtcdLine): FlagRewrite[] {
    return Object.entries(flags).flatMap(([from, value]): FlagRewrite[] => {
        const successor = flagSuccessor(from, line);
        switch (successor.kind) {
            case "same":
                return [];
            case "renamed":
                return [{ from, to: { name: successor.name, value } }];
            case "gate":
                return [{ from, to: { name: "feature-gates", value: featureGateEntry(successor.gate, value) } }];
            case "removed":
                return [{ from }];
        }
    });
}

export type HopKind = "patch" | "upgrade" | "downgrade";

/** One supported step: the whole cluster from one release to the next, member by member. */
export interface UpgradeHop {
    readonly from: string;
    readonly to: string;
    readonly kind: HopKind;
    /** What the roll does besides replacing the binary, in order, one sentence each. */
    readonly steps: readonly string[];
    /** The user's extra flags as the target line takes them. */
    readonly flagRewrites: readonly FlagRewrite[];
}

/** Why a requested version cannot be deployed over the running one, and the supported way there. */
export interface UpgradeRefusal {
    readonly problem: string;
    readonly fix: string;
    /** The releases to deploy one after the other (the last is the requested one); empty when there is none. */
    readonly path: readonly string[];
}

export type UpgradePlan =
    | { readonly allowed: true; readonly hop?: UpgradeHop }
    | { readonly allowed: false; readonly refusal: UpgradeRefusal };

/** What the planner needs of the cluster besides the two versions. */
export interface UpgradeContext {
    /** etcd authentication is on: a rolling 3.4 -> 3.5 upgrade is not supported with it. */
    readonly auth: boolean;
    /** The user's extra flags (names without dashes), rewritten for each hop. */
    readonly extraFlags?: Readonly<Record<string, string>>;
}

function version(text: string): EtcdVersion {
    const parsed = parseEtcdVersion(text);
    if (parsed === undefined) {
        throw new Error(`${text} is not an etcd release of a supported line`);
    }
    return parsed;
}

function atLeast(given: EtcdVersion, minimum: string): boolean {
    const min = version(minimum);
    return lineIndex(given.line) > lineIndex(min.line) || (given.line === min.line && given.patch >= min.patch);
}

/** The releases to deploy in turn to go up from `running` to `requested`, each one supported hop. */
function upgradePath(running: EtcdVersion, requested: EtcdVersion): string[] {
    const path: string[] = [];
    let current = running;
    for (const line of ETCD_LINES.slice(lineIndex(running.line) + 1, lineIndex(requested.line) + 1)) {
        const minimum = MINIMUM_BEFORE[line];
        if (minimum !== undefined && !atLeast(current, minimum)) {
            current = version(NEWEST_KNOWN_RELEASES[current.line]);
            path.push(current.text);
        }
        current = line === requested.line ? requested : version(NEWEST_KNOWN_RELEASES[line]);
        path.push(current.text);
    }
    return path;
}

const AUTH_ACROSS_3_5 =
    "etcd 3.5 changed the write-ahead log entries of authentication, so a rolling 3.4 -> 3.5 upgrade is not supported with auth on";

/** The fix's steps: each release set and deployed in turn, auth off around a 3.4 -> 3.5 hop when it is on. */
function pathSteps(running: EtcdVersion, path: readonly string[], auth: boolean): string[] {
    const steps: string[] = [];
    let from = running;
    for (const text of path) {
        const to = version(text);
        const authOff = auth && from.line === "3.4" && to.line === "3.5";
        if (authOff) {
            steps.push("turn authentication off (`etcdctl auth disable` as root), set auth=false and deploy");
        }
        steps.push(`set etcdVersion=${text} and deploy`);
        if (authOff) {
            steps.push("set auth=true and deploy (turns it on again)");
        }
        from = to;
    }
    return steps;
}

function refused(problem: string, running: EtcdVersion, path: readonly string[], auth: boolean): UpgradePlan {
    return { allowed: false, refusal: { problem, fix: pathSteps(running, path, auth).join(", then "), path } };
}

/** What etcd's guide asks around an upgrade into `line`, besides the binary. */
function upgradeSteps(line: EtcdLine): string[] {
    switch (line) {
        case "3.6":
            return [
                "`etcdutl check v2store` on the first member before any binary changes: 3.6 has no v2 store, and one that holds data (--enable-v2 was set once) must be emptied first",
                "--snapshot-count's default drops from 100000 to 10000",
            ];
        default:
            return [];
    }
}

/** What the deployment does for a downgrade onto `target`'s line (host/etcd-aws-prepare-change.sh, then the roll). */
function downgradeSteps(target: EtcdVersion): string[] {
    const to = target.line;
    return [
        `\`etcdctl downgrade validate ${to}\` and \`etcdctl downgrade enable ${to}\` on the first member, after its pre-change snapshot`,
        `wait until every member's storage version is ${to} (\`etcdctl downgrade cancel\` and stop if it does not get there)`,
        "roll the members to the older binary, one at a time under the membership lock",
        "`etcdctl downgrade cancel` on the next deployment if etcdVersion goes back while versions are mixed",
    ];
}

/**
 * A downgrade to a line below the first with the downgrade API. (Every other downgrade is one
 * minor down onto 3.6 or later: with 3.7 the newest line, no two-minor downgrade stays on 3.6+.)
 */
function refuseDowngrade(running: EtcdVersion, requested: EtcdVersion): UpgradePlan {
    return {
        allowed: false,
        refusal: {
            problem: `the cluster runs etcd ${running.text}, and ${running.text} -> ${requested.text} is a downgrade below ${FIRST_DOWNGRADABLE_LINE}: an older binary refuses a data dir a newer release wrote, and etcd's downgrade API exists from ${FIRST_DOWNGRADABLE_LINE} on`,
            fix: `keep etcdVersion=${running.text}, or restore a snapshot taken before the upgrade into a new cluster`,
            path: [],
        },
    };
}

/** The supported hop from the running release to the requested one, or why there is none. */
export function planUpgrade(running: EtcdVersion, requested: EtcdVersion, context: UpgradeContext): UpgradePlan {
    if (running.text === requested.text) {
        return { allowed: true };
    }
    const flags = context.extraFlags ?? {};
    const hop = (kind: HopKind, steps: string[]): UpgradePlan => ({
        allowed: true,
        hop: {
            from: running.text,
            to: requested.text,
            kind,
            steps,
            flagRewrites: flagRewrites(flags, requested.line),
        },
    });
    const distance = lineIndex(requested.line) - lineIndex(running.line);
    if (distance === 0) {
        return hop("patch", []);
    }
    if (distance < 0) {
        return distance === -1 && lineIndex(requested.line) >= lineIndex(FIRST_DOWNGRADABLE_LINE)
            ? hop("downgrade", downgradeSteps(requested))
            : refuseDowngrade(running, requested);
    }
    const path = upgradePath(running, requested);
    const step = `${running.text} -> ${requested.text}`;
    const minimum = MINIMUM_BEFORE[requested.line];
    if (distance > 1) {
        const skipped = ETCD_LINES.slice(lineIndex(running.line) + 1, lineIndex(requested.line)).join(" and ");
        return refused(
            `the cluster runs etcd ${running.text}, and ${step} skips ${skipped}: etcd upgrades one minor release at a time`,
            running,
            path,
            context.auth,
        );
    }
    if (minimum !== undefined && !atLeast(running, minimum)) {
        return refused(
            `the cluster runs etcd ${running.text}, and ${step} needs ${minimum} or later first: etcd's upgrade guide asks every member to run it before ${requested.line}`,
            running,
            path,
            context.auth,
        );
    }
    if (context.auth && running.line === "3.4") {
        return refused(`the cluster runs etcd ${running.text}, and ${AUTH_ACROSS_3_5}`, running, path, true);
    }
    return hop("upgrade", upgradeSteps(requested.line));
}
