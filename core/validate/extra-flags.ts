// The user's extra etcd flags: names the release knows, not derived from the cluster's shape,
// with etcd 0.4 names translated, a newer line's renames and feature gates applied, and timing
// flags that keep elections possible.
import { MANAGED_FLAGS } from "../flags";
import { checkLegacyFlag } from "../legacy-flags";
import { ClusterSettings } from "../settings";
import { featureGateEntry, flagSuccessor } from "../upgrade";
import { EtcdVersion } from "../versions";
import { Problems } from "./checks";

/** The problem with one extra flag, or undefined when etcd takes it as given. */
function flagProblem(name: string, version: EtcdVersion): { problem: string; fix: string } | undefined {
    if (name === "config-file") {
        return {
            problem:
                "with --config-file etcd ignores every other flag and ETCD_* variable, so the rendered configuration (name, URLs, bootstrap, TLS) would be dropped",
            fix: "remove it; give the settings you need as single extraFlags",
        };
    }
    if (MANAGED_FLAGS.has(name)) {
        return {
            problem: `--${name} is derived from the cluster's shape so that every member is listed with the URL it advertises`,
            fix: "remove it; use the package's settings (bootstrapMode, domain, discovery, tls, ports) instead",
        };
    }
    const successor = flagSuccessor(name, version.line);
    if (successor.kind === "removed") {
        return {
            problem:
                successor.removedIn === undefined
                    ? `etcd ${version.text} has no --${name} flag and would refuse to start`
                    : `etcd ${successor.removedIn} removed --${name}, so etcd ${version.text} would refuse to start with it`,
            fix: "remove it or correct its name (see `etcd --help` of that version)",
        };
    }
    return undefined;
}

/** A flag value etcd reads as true (a bare flag is given as ""). */
function isOn(value: string): boolean {
    return value === "" || value.toLowerCase() === "true";
}

/**
 * Flags that switch off one of etcd's own safety checks, from the vendored flag tables: the
 * value that does it, and why that is refused.
 */
const UNSAFE_FLAGS: Readonly<
    Record<string, { readonly unsafe: (value: string) => boolean; readonly problem: string }>
> = {
    "unsafe-no-fsync": {
        unsafe: isOn,
        problem: "etcd stops syncing its write-ahead log to disk, so a power loss or crash loses acknowledged writes",
    },
    "force-new-cluster": {
        unsafe: isOn,
        problem:
            "every restart would drop the other members and make this member a cluster of one, splitting the cluster",
    },
    "strict-reconfig-check": {
        unsafe: (value) => !isOn(value),
        problem: "etcd would accept membership changes that cost the cluster its quorum",
    },
    "peer-skip-client-san-verification": {
        unsafe: isOn,
        problem: "peers would accept any certificate of the CA, whatever address it was issued for",
    },
    "experimental-peer-skip-client-san-verification": {
        unsafe: isOn,
        problem: "peers would accept any certificate of the CA, whatever address it was issued for",
    },
    "auto-tls": { unsafe: isOn, problem: "clients would get self-signed certificates nobody can verify" },
    "peer-auto-tls": {
        unsafe: isOn,
        problem: "peers would use self-signed certificates nobody verifies, so anyone could join",
    },
    "discovery-insecure-skip-tls-verify": {
        unsafe: isOn,
        problem: "members would trust any discovery server, so a stranger could hand them peers",
    },
    "tls-min-version": {
        unsafe: (value) => value === "TLS1.0" || value === "TLS1.1",
        problem: "TLS 1.0 and 1.1 are broken and refused by current clients",
    },
};

/** Flags whose value turns off a check etcd can do for data safety: allowed, with a warning. */
const WEAKENING_FLAGS: Readonly<
    Record<string, { readonly weak: (value: string) => boolean; readonly warning: string }>
> = {
    "experimental-initial-corrupt-check": {
        weak: (value) => !isOn(value),
        warning: "members will not compare their data with their peers' before serving",
    },
    "feature-gates": {
        weak: (value) => /(^|,)\s*(InitialCorruptCheck|CompactHashCheck)\s*=\s*false/i.test(value),
        warning: "it turns off a corruption check (InitialCorruptCheck or CompactHashCheck)",
    },
    "enable-pprof": {
        weak: isOn,
        warning: "anyone who reaches the client port can read profiling data of the members",
    },
};

/** The table's own entry for a flag name (never an inherited property such as "constructor"). */
function entryOf<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
    return Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
}

function checkElectionTiming(flags: Record<string, string>, problems: Problems): void {
    const heartbeat = Number(flags["heartbeat-interval"] ?? 100);
    const election = Number(flags["election-timeout"] ?? 1000);
    if (!(election >= 5 * heartbeat)) {
        problems.push({
            setting: "extraFlags.election-timeout",
            value: flags["election-timeout"] ?? "1000 (default)",
            problem: `the election timeout must be at least 5 times the heartbeat interval (${heartbeat} ms)`,
            fix: `set election-timeout to ${5 * heartbeat} or more, or lower heartbeat-interval`,
        });
    }
}

export function resolveExtraFlags(
    settings: ClusterSettings,
    version: EtcdVersion,
    problems: Problems,
    warnings: string[],
): Record<string, string> {
    const given = settings.extraFlags ?? {};
    const result: Record<string, string> = {};
    for (const [rawName, value] of Object.entries(given)) {
        const setting = `extraFlags.${rawName}`;
        const legacy = checkLegacyFlag(rawName);
        let name = rawName.replace(/^-+/, "");
        if (legacy?.kind === "refused") {
            problems.push({ setting, value, problem: legacy.problem, fix: legacy.fix });
            continue;
        }
        if (legacy?.kind === "renamed") {
            warnings.push(`extraFlags: etcd 0.4's "${rawName}" is now "--${legacy.successor}"; using that`);
            name = legacy.successor;
        }
        if (typeof value !== "string" || /[\n'\\]/.test(value)) {
            problems.push({
                setting,
                value,
                problem: "flag values must be strings without newlines, quotes or backslashes",
                fix: "quote the value as a plain string",
            });
            continue;
        }
        const successor = flagSuccessor(name, version.line);
        let flagValue = value;
        if (successor.kind === "renamed" || successor.kind === "gate") {
            const [newName, newValue] =
                successor.kind === "renamed"
                    ? [successor.name, value]
                    : ["feature-gates", featureGateEntry(successor.gate, value)];
            warnings.push(
                `extraFlags: etcd ${version.line} takes "${name}" as ${newName}=${newValue}; using that (write it so in the settings)`,
            );
            [name, flagValue] = [newName, newValue];
        }
        const refusal = flagProblem(name, version);
        if (refusal) {
            problems.push({ setting, value, ...refusal });
            continue;
        }
        const unsafe = entryOf(UNSAFE_FLAGS, name);
        if (unsafe?.unsafe(flagValue)) {
            problems.push({ setting, value, problem: unsafe.problem, fix: `remove ${name} from extraFlags` });
            continue;
        }
        const weakening = entryOf(WEAKENING_FLAGS, name);
        if (weakening?.weak(flagValue)) {
            warnings.push(`extraFlags: ${name}=${flagValue}: ${weakening.warning}; remove it unless you mean it`);
        }
        // Feature gates from several flags (a 3.7 rewrite next to the user's own) share one flag.
        const gates = name === "feature-gates" ? result[name] : undefined;
        result[name] = gates === undefined ? flagValue : `${gates},${flagValue}`;
    }
    checkElectionTiming(result, problems);
    return result;
}
