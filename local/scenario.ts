// One bootstrap scenario on local hosts: the settings a user would write, the servers the mode
// needs (dnsmasq, discovery), and the cluster's hosts, all on one loopback /24.
import { randomBytes } from "crypto";
import * as path from "path";
import {
    buildClusterSpec,
    capabilitiesOf,
    ClusterSettings,
    DiscoverySettings,
    parseEtcdVersion,
    formatProblems,
    renderDnsRecords,
    ResolvedSettings,
    validateSettings,
} from "../core";
import { isLoopback } from "../core/net";
import { ClusterOptions, LocalCluster } from "./cluster";
import { LocalRelease, localRelease } from "./mirror";
import {
    DiscoveryApi,
    newDiscoveryUrl,
    startDiscoveryEtcd,
    startDiscoveryService,
    startDnsServer,
    v2RegistryUrl,
} from "./services";

/** The clustering guide's three mechanisms; discovery through a custom etcd or a public-style service. */
export type Scenario = "static" | "dns" | "discovery" | "public-discovery";
export const SCENARIOS: readonly Scenario[] = ["static", "dns", "discovery", "public-discovery"];

export const MEMBER_COUNT = 3;

/** Who owns the local clusters (the default cluster token is <project>-<stack>-<cluster>). */
export const LOCAL_CONTEXT = { project: "etcd-aws", stack: "local" };

/** Addresses in one loopback /24, e.g. "127.0.1": members at .10, .11, .12. */
export interface AddressPlan {
    readonly members: readonly string[];
    /** A member beyond the cluster's size (the "cluster is full" case). */
    readonly extraMember: string;
    readonly dns: string;
    readonly discoveryEtcd: string;
    readonly discoveryService: string;
}

/** Addresses of `count` members in the /24 (.10 on; up to 7 members stay below the servers' .20). */
export function memberAddresses(subnet: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => `${subnet}.${10 + i}`);
}

export function addressPlan(subnet: string): AddressPlan {
    const at = (host: number) => `${subnet}.${host}`;
    const plan = {
        members: memberAddresses(subnet, MEMBER_COUNT),
        extraMember: at(10 + MEMBER_COUNT),
        dns: at(53),
        discoveryEtcd: at(20),
        discoveryService: at(21),
    };
    // Servers started here listen on these addresses only: never outside 127.0.0.0/8.
    for (const address of [...plan.members, plan.extraMember, plan.dns, plan.discoveryEtcd, plan.discoveryService]) {
        if (!isLoopback(address)) {
            throw new Error(`${address} is not a loopback address; local hosts live in 127.0.0.0/8`);
        }
    }
    return plan;
}

export interface ScenarioInput {
    readonly scenario: Scenario;
    /** A local etcd release, e.g. "3.5.16" or "3.7.3". */
    readonly version: string;
    readonly clusterName: string;
    /** Work directory: hosts, servers' logs and PID files. */
    readonly dir: string;
    /** The /24 of the addresses, e.g. "127.0.1". */
    readonly subnet: string;
    readonly mirrorBaseUrl: string;
    /** Mutual TLS (default off); the caller supplies the certificates as the launch scripts' files. */
    readonly tls?: boolean;
}

/** The settings a user would give for the scenario. */
export function scenarioSettings(input: ScenarioInput, discovery?: DiscoverySettings): ClusterSettings {
    return {
        memberCount: MEMBER_COUNT,
        etcdVersion: input.version,
        bootstrapMode: input.scenario === "public-discovery" ? "discovery" : input.scenario,
        tls: input.tls ?? false,
        mirrorBaseUrl: input.mirrorBaseUrl,
        discovery,
    };
}

function v3Discovery(version: string): boolean {
    const parsed = parseEtcdVersion(version);
    return parsed !== undefined && capabilitiesOf(parsed).v3Discovery;
}

/**
 * The "discovery" scenario's settings over a custom discovery etcd at `etcdUrl`: v3 discovery
 * (its client URL as the endpoint) where the release has it (3.6+), else v2 (its keys API).
 */
function customDiscovery(version: string, etcdUrl: string): DiscoverySettings {
    return v3Discovery(version) ? { endpoints: [etcdUrl] } : { serviceUrl: v2RegistryUrl(etcdUrl) };
}

/** The release of the scenario's discovery etcd: the members' own, or 3.5 where a v2 API is needed past 3.5 (3.6 dropped --enable-v2). */
function discoveryEtcdRelease(input: ScenarioInput, api: DiscoveryApi): LocalRelease {
    return api === "v2" && v3Discovery(input.version) ? localRelease("3.5") : localRelease(input.version);
}

/** Starts the discovery servers the scenario needs and returns its discovery settings. */
async function discoverySettings(
    input: ScenarioInput,
    plan: AddressPlan,
    servicesDir: string,
): Promise<DiscoverySettings | undefined> {
    if (input.scenario !== "discovery" && input.scenario !== "public-discovery") {
        return undefined;
    }
    // The public-style service (discovery.etcd.io) speaks v2 only.
    const api: DiscoveryApi = input.scenario === "discovery" && v3Discovery(input.version) ? "v3" : "v2";
    const etcdUrl = await startDiscoveryEtcd(servicesDir, plan.discoveryEtcd, discoveryEtcdRelease(input, api), api);
    if (input.scenario === "discovery") {
        return customDiscovery(input.version, etcdUrl);
    }
    const serviceUrl = await startDiscoveryService(servicesDir, plan.discoveryService, etcdUrl);
    return { protocol: "v2", url: await newDiscoveryUrl(serviceUrl, MEMBER_COUNT), size: MEMBER_COUNT };
}

/** Settings validated as the component validates them; throws the problems' message (e.g. DNS without TLS on 3.4). */
function validated(clusterName: string, settings: ClusterSettings): ResolvedSettings {
    const { problems, resolved } = validateSettings(clusterName, settings, LOCAL_CONTEXT);
    if (!resolved) {
        throw new Error(formatProblems(`etcd cluster "${clusterName}"`, problems));
    }
    return resolved;
}

/** Validated settings of the scenario (throws when validation refuses them). */
export function resolveScenario(input: ScenarioInput, discovery?: DiscoverySettings): ResolvedSettings {
    return validated(input.clusterName, scenarioSettings(input, discovery));
}

/**
 * `cluster` rendered again for the scenario's settings with `changes` (a flag, the member count):
 * what the changed stack deploys to the same hosts (members new to it get fresh hosts).
 */
export function reshapeScenario(cluster: LocalCluster, input: ScenarioInput, changes: ClusterSettings): LocalCluster {
    const settings = validated(input.clusterName, { ...scenarioSettings(input), ...changes });
    return cluster.withSpec(
        settings,
        buildClusterSpec(settings, memberAddresses(input.subnet, settings.memberCount), "unused"),
    );
}

/**
 * Validates the scenario's settings, starts the servers its mode needs and creates the hosts;
 * `bringUp()` on the result deploys it. Every process started records its PID under `dir`.
 */
export async function prepareScenario(input: ScenarioInput, options: ClusterOptions): Promise<LocalCluster> {
    const discovery = await discoverySettings(input, addressPlan(input.subnet), servicesDir(input));
    return createCluster(input, resolveScenario(input, discovery), options);
}

function servicesDir(input: ScenarioInput): string {
    return path.join(input.dir, "services");
}

/** The cluster of already validated settings: its spec, the DNS server in DNS mode, the hosts. */
export async function createCluster(
    input: ScenarioInput,
    settings: ResolvedSettings,
    options: ClusterOptions,
): Promise<LocalCluster> {
    const plan = addressPlan(input.subnet);
    // The component's discovery token: 16 random bytes, hex.
    const spec = buildClusterSpec(settings, plan.members, randomBytes(16).toString("hex"));
    let nameserver: string | undefined;
    if (settings.mode === "dns") {
        await startDnsServer(servicesDir(input), plan.dns, renderDnsRecords(spec), spec.domain);
        nameserver = plan.dns;
    }
    return LocalCluster.create(input.dir, settings, spec, { nameserver }, options);
}
