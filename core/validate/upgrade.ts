// The change from the release the cluster runs to the requested one: refused, with the way there,
// when etcd does not support it (core/upgrade.ts); the hop the deployment makes otherwise.
import { ClusterSettings } from "../settings";
import { planUpgrade, UpgradeHop } from "../upgrade";
import { DEFAULT_ETCD_VERSION, EtcdVersion, parseEtcdVersion } from "../versions";
import { Problems } from "./checks";

/** The user's extra flags with string values, names without dashes, as the planner rewrites them. */
function givenFlags(settings: ClusterSettings): Record<string, string> {
    return Object.fromEntries(
        Object.entries(settings.extraFlags ?? {})
            .filter(([, value]) => typeof value === "string")
            .map(([name, value]) => [name.replace(/^-+/, ""), value]),
    );
}

/**
 * The hop from `runningVersion` (the stack's last deployed release; undefined before the first
 * deployment) to `version`; a refusal is a problem of etcdVersion. A requested version that is
 * not a release has its own problem already and is not planned.
 */
export function resolveUpgrade(
    runningVersion: string | undefined,
    settings: ClusterSettings,
    version: EtcdVersion,
    auth: boolean,
    problems: Problems,
): UpgradeHop | undefined {
    if (runningVersion === undefined || parseEtcdVersion(settings.etcdVersion ?? DEFAULT_ETCD_VERSION) === undefined) {
        return undefined;
    }
    const running = parseEtcdVersion(runningVersion);
    if (running === undefined) {
        problems.push({
            setting: "etcdVersion",
            value: version.text,
            problem: `the last deployment reports etcd ${runningVersion}, not a release of a line this package knows, so no upgrade path can be checked from it`,
            fix: "deploy with an etcd-aws release that knows that line",
        });
        return undefined;
    }
    const plan = planUpgrade(running, version, { auth, extraFlags: givenFlags(settings) });
    if (!plan.allowed) {
        problems.push({
            setting: "etcdVersion",
            value: version.text,
            problem: plan.refusal.problem,
            fix: plan.refusal.fix,
        });
        return undefined;
    }
    if (plan.hop?.kind === "downgrade") {
        // etcd supports it, but rolling the older binary without its downgrade steps would leave
        // members that refuse the storage version the newer release wrote.
        problems.push({
            setting: "etcdVersion",
            value: version.text,
            problem: `the cluster runs etcd ${running.text}, and ${running.text} -> ${version.text} is a downgrade, which etcd supports through its downgrade API (${plan.hop.steps.join("; ")}), but this release of etcd-aws does not run those steps yet`,
            fix: `keep etcdVersion=${running.text}, or run the downgrade steps by hand on the cluster first, then set etcdVersion=${version.text} and deploy`,
        });
        return undefined;
    }
    return plan.hop;
}
