// From validated settings and what the cloud assigned (addresses, the discovery token) to the
// ClusterSpec every renderer takes.
import { HOST_PATHS } from "./host-contract";
import { ClusterSpec, DiscoverySpec, memberName } from "./model";
import { ResolvedSettings } from "./validate";

/** The discovery token's URL on a v2 service (the package registers the size there). */
export function v2DiscoveryUrl(serviceUrl: string, token: string): string {
    return `${serviceUrl.replace(/\/+$/, "")}/${token}`;
}

function discoverySpec(settings: ResolvedSettings, token: string): DiscoverySpec | undefined {
    const discovery = settings.discovery;
    if (!discovery) {
        return undefined;
    }
    if (discovery.protocol === "v3") {
        return { protocol: "v3", token, size: discovery.size, endpoints: discovery.endpoints, registerSize: true };
    }
    if (discovery.url !== undefined) {
        // A ready URL carries its own token; the package's token is not used.
        const readyToken = discovery.url.replace(/\/+$/, "").split("/").pop() ?? "";
        return {
            protocol: "v2",
            token: readyToken,
            size: discovery.size,
            url: discovery.url,
            proxy: discovery.proxy,
            registerSize: false,
        };
    }
    return {
        protocol: "v2",
        token,
        size: discovery.size,
        url: v2DiscoveryUrl(discovery.serviceUrl ?? "", token),
        proxy: discovery.proxy,
        registerSize: true,
    };
}

/**
 * The cluster as renderers see it. `addresses[i]` is member i's private IP; `discoveryToken` is
 * the cluster's token (used in discovery mode only).
 */
export function buildClusterSpec(
    settings: ResolvedSettings,
    addresses: readonly string[],
    discoveryToken: string,
): ClusterSpec {
    if (addresses.length !== settings.memberCount) {
        throw new Error(`expected ${settings.memberCount} member addresses, got ${addresses.length}`);
    }
    return {
        clusterName: settings.clusterName,
        version: settings.version,
        mode: settings.mode,
        tls: settings.tls,
        ports: settings.ports,
        domain: settings.domain,
        srvName: settings.srvName,
        clusterToken: settings.clusterToken,
        dataDir: HOST_PATHS.dataDir,
        discovery: discoverySpec(settings, discoveryToken),
        maintenance: settings.maintenance,
        diskCheck: settings.diskCheck,
        extraFlags: settings.extraFlags,
        members: addresses.map((address, i) => ({ name: memberName(settings.clusterName, i), address })),
    };
}

/**
 * Addresses from the documentation range (RFC 5737) that stand in for member IPs before the
 * cloud assigns them, so the rendered plan can be checked before anything exists.
 */
export function placeholderAddresses(count: number): string[] {
    return Array.from({ length: count }, (_, i) => `192.0.2.${10 + i}`);
}
