// The change from the release the cluster runs to the requested one: refused, with the way there,
// when etcd does not support it (core/upgrade.ts); the hop the deployment makes otherwise, a
// downgrade onto 3.6 or later included (the pre-change step runs etcd's downgrade API first).
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
    return plan.hop;
}
