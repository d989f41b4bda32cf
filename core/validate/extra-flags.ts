// The user's extra etcd flags: names the release knows, not derived from the cluster's shape,
// with etcd 0.4 names translated, and timing flags that keep elections possible.
import { MANAGED_FLAGS, unknownFlags } from "../flags";
import { checkLegacyFlag } from "../legacy-flags";
import { ClusterSettings } from "../settings";
import { EtcdVersion } from "../versions";
import { Problems } from "./checks";

/** The problem with one extra flag, or undefined when etcd takes it as given. */
function flagProblem(name: string, version: EtcdVersion): { problem: string; fix: string } | undefined {
    if (name === "config-file") {
        return {
            problem: "with --config-file etcd ignores every other flag and ETCD_* variable, so the rendered configuration (name, URLs, bootstrap, TLS) would be dropped",
            fix: "remove it; give the settings you need as single extraFlags",
        };
    }
    if (MANAGED_FLAGS.has(name)) {
        return {
            problem: `--${name} is derived from the cluster's shape so that every member is listed with the URL it advertises`,
            fix: "remove it; use the package's settings (bootstrapMode, domain, discovery, tls, ports) instead",
        };
    }
    if (unknownFlags([{ name }], version.line).length > 0) {
        return {
            problem: `etcd ${version.text} has no --${name} flag and would refuse to start`,
            fix: version.line === "3.7" && name.startsWith("experimental-")
                ? "3.7 removed --experimental-* flags: use the unprefixed flag or a feature gate"
                : "remove it or correct its name (see `etcd --help` of that version)",
        };
    }
    return undefined;
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

export function resolveExtraFlags(settings: ClusterSettings, version: EtcdVersion, problems: Problems, warnings: string[]): Record<string, string> {
    const given = settings.extraFlags ?? {};
    const result: Record<string, string> = {};
    if (typeof given !== "object" || Array.isArray(given)) {
        problems.push({ setting: "extraFlags", value: given, problem: "must be a map of flag name to value", fix: 'write e.g. {"snapshot-count": "10000"}' });
        return result;
    }
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
            problems.push({ setting, value, problem: "flag values must be strings without newlines, quotes or backslashes", fix: "quote the value as a plain string" });
            continue;
        }
        const refusal = flagProblem(name, version);
        if (refusal) {
            problems.push({ setting, value, ...refusal });
            continue;
        }
        result[name] = value;
    }
    checkElectionTiming(result, problems);
    return result;
}
