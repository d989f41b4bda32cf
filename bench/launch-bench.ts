// Benchmark 3: launch to healthy on local hosts for each bootstrap mode and etcd version, next to
// the clustering guide's hand-written static commands on the same kind of hosts, in the same run.
import { LocalCluster } from "../local/cluster";
import { prepareScenario, Scenario, SCENARIOS, ScenarioInput } from "../local/scenario";
import { startGuideMembers } from "../local/guide";
import { HealthyTimes, LOCAL_CLUSTER_OPTIONS, timeToHealthy } from "./healthy";
import { benchSubnet, measureInWorkDirs, staticCluster } from "./local-env";
import { SummaryRow, summaryRow } from "./outcome";
import { Alone } from "./quiet";

export const LOCAL_VERSIONS = ["3.4.23", "3.5.16"] as const;
export const GUIDE = "guide static (hand-written)";

export interface LaunchConfig {
    /** A scenario of the local harness, or the guide's commands. */
    readonly deployment: Scenario | typeof GUIDE;
    readonly version: string;
}

/** etcd 3.4 bootstraps from SRV records only over TLS, which the local hosts do not run. */
function supported(scenario: Scenario, version: string): boolean {
    return !(scenario === "dns" && version.startsWith("3.4."));
}

export const LAUNCH_CONFIGS: readonly LaunchConfig[] = LOCAL_VERSIONS.flatMap((version) => [
    { deployment: GUIDE, version },
    ...SCENARIOS.filter((scenario) => supported(scenario, version)).map((deployment) => ({ deployment, version })),
]);

/** Cluster names become member names and tokens: one per deployment and version. */
export function benchInput(config: LaunchConfig, dir: string, slot: number, mirrorBaseUrl: string): ScenarioInput {
    const scenario = config.deployment === GUIDE ? "static" : config.deployment;
    const line = config.version.split(".").slice(0, 2).join("");
    return {
        scenario,
        version: config.version,
        clusterName: `bench-${shortName(config)}-v${line}`,
        dir,
        subnet: benchSubnet(slot),
        mirrorBaseUrl,
    };
}

/** Fresh hosts with etcd installed, then the members started and timed until healthy. */
export async function startCluster(
    config: LaunchConfig,
    input: ScenarioInput,
): Promise<{ cluster: LocalCluster; times: HealthyTimes }> {
    if (config.deployment === GUIDE) {
        const cluster = staticCluster(input);
        await cluster.install();
        return {
            cluster,
            times: await withLogs(cluster, () => timeToHealthy(cluster, () => startGuideMembers(cluster))),
        };
    }
    const cluster = await prepareScenario(input, LOCAL_CLUSTER_OPTIONS);
    await cluster.install();
    await cluster.registerDiscoverySize();
    return { cluster, times: await withLogs(cluster, () => timeToHealthy(cluster, () => cluster.launch())) };
}

/** Adds the members' last log lines to a failure. */
export async function withLogs<T>(cluster: { logs(): string }, use: () => Promise<T>): Promise<T> {
    try {
        return await use();
    } catch (error) {
        throw new Error(`${(error as Error).message}\n${cluster.logs()}`, { cause: error });
    }
}

export type LaunchRow = SummaryRow<LaunchConfig, HealthyTimes>;

/** For directory and cluster names: "guide" for the guide's commands. */
function shortName(config: LaunchConfig): string {
    return config.deployment === GUIDE ? "guide" : config.deployment;
}

export function configLabel(config: LaunchConfig): string {
    return `${shortName(config)}-${config.version}`;
}

export async function benchLaunch(rounds: number, mirrorBaseUrl: string, alone: Alone): Promise<LaunchRow[]> {
    const results = await measureInWorkDirs(
        "launch",
        LAUNCH_CONFIGS,
        configLabel,
        rounds,
        alone,
        async (config, dir) => {
            const { times } = await startCluster(
                config,
                benchInput(config, dir, LAUNCH_CONFIGS.indexOf(config), mirrorBaseUrl),
            );
            return times;
        },
    );
    return LAUNCH_CONFIGS.map((config) => summaryRow(config, results.get(config) ?? []));
}
