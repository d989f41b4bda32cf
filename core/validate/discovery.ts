// Bootstrap through a discovery service: the protocol the release speaks, a token size that
// fits the member count, and the fields of that protocol only.
import { BootstrapMode, DiscoveryProtocol } from "../model";
import { ClusterSettings, DiscoverySettings } from "../settings";
import { capabilitiesOf, EtcdVersion } from "../versions";
import { checkIntegerIn, isHttpUrl, Problems } from "./checks";

/** Discovery settings after validation. */
export interface ResolvedDiscovery {
    readonly protocol: DiscoveryProtocol;
    readonly size: number;
    readonly endpoints?: readonly string[];
    readonly serviceUrl?: string;
    readonly url?: string;
    readonly proxy?: string;
}

const V2_FIELDS = ["serviceUrl", "url", "proxy"] as const;

function resolveProtocol(
    discovery: DiscoverySettings,
    version: EtcdVersion,
    problems: Problems,
): DiscoveryProtocol | undefined {
    const caps = capabilitiesOf(version);
    const protocol = discovery.protocol ?? (caps.v3Discovery ? "v3" : "v2");
    if (protocol !== "v2" && protocol !== "v3") {
        problems.push({
            setting: "discovery.protocol",
            value: protocol,
            problem: "unknown discovery protocol",
            fix: 'use "v3" (etcd 3.6+) or "v2" (etcd 3.4-3.6)',
        });
        return undefined;
    }
    if (protocol === "v3" && !caps.v3Discovery) {
        problems.push({
            setting: "discovery.protocol",
            value: protocol,
            problem: `etcd ${version.text} has no v3 discovery (--discovery-token arrived in 3.6)`,
            fix: 'set discovery.protocol to "v2" with a v2 discovery service, or use etcd 3.6+',
        });
    }
    if (protocol === "v2" && !caps.v2Discovery) {
        problems.push({
            setting: "discovery.protocol",
            value: protocol,
            problem: `etcd ${version.text} removed v2 discovery (--discovery <url>)`,
            fix: 'set discovery.protocol to "v3" with discovery.endpoints of a discovery etcd cluster',
        });
    }
    return protocol;
}

/** The token admits exactly the members that start: fewer fill it, more wait forever. */
function checkSize(size: number | undefined, memberCount: number, problems: Problems): void {
    if (size === undefined) {
        problems.push({
            setting: "discovery.size",
            value: undefined,
            problem:
                "a ready discovery URL was given without the size it was created with; members cannot tell whether they fit",
            fix: "set discovery.size to the size the service registered (the N of /new?size=N)",
        });
        return;
    }
    if (
        !checkIntegerIn(problems, "discovery.size", size, {
            min: 1,
            problem: "must be a positive integer",
            fix: "use the member count",
        })
    ) {
        return;
    }
    if (size < memberCount) {
        problems.push({
            setting: "discovery.size",
            value: size,
            problem: `${memberCount} members on a token of size ${size}: member ${size + 1} on would fail with "discovery: cluster is full"`,
            fix: `set discovery.size to ${memberCount} (or lower memberCount)`,
        });
    } else if (size > memberCount) {
        problems.push({
            setting: "discovery.size",
            value: size,
            problem: `a token of size ${size} makes the members wait for ${size} registrations, but only ${memberCount} members start; the cluster would never finish bootstrapping`,
            fix: `set discovery.size to ${memberCount} (or raise memberCount to ${size})`,
        });
    }
}

function checkV3Fields(discovery: DiscoverySettings, problems: Problems): void {
    for (const field of V2_FIELDS) {
        if (discovery[field] !== undefined) {
            problems.push({
                setting: `discovery.${field}`,
                value: discovery[field],
                problem: "is a v2 discovery setting",
                fix: 'remove it, or set discovery.protocol: "v2"',
            });
        }
    }
    const endpoints = discovery.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length === 0) {
        problems.push({
            setting: "discovery.endpoints",
            value: endpoints,
            problem: "v3 discovery needs the client URLs of the discovery etcd cluster",
            fix: 'set discovery.endpoints, e.g. ["http://10.0.0.5:2379"]',
        });
        return;
    }
    endpoints.forEach((endpoint, i) => {
        if (!isHttpUrl(endpoint)) {
            problems.push({
                setting: `discovery.endpoints[${i}]`,
                value: endpoint,
                problem: "is not an http(s) URL",
                fix: "write e.g. http://10.0.0.5:2379",
            });
        }
    });
}

function checkV2Fields(discovery: DiscoverySettings, problems: Problems): void {
    if (discovery.endpoints !== undefined) {
        problems.push({
            setting: "discovery.endpoints",
            value: discovery.endpoints,
            problem: "is a v3 discovery setting",
            fix: 'remove it, or set discovery.protocol to "v3" (etcd 3.6+)',
        });
    }
    if ((discovery.serviceUrl === undefined) === (discovery.url === undefined)) {
        problems.push({
            setting: "discovery.serviceUrl/discovery.url",
            value: { serviceUrl: discovery.serviceUrl, url: discovery.url },
            problem: "v2 discovery needs exactly one of them",
            fix: "give discovery.serviceUrl (the package registers a new token there) or discovery.url (a ready token URL, with discovery.size)",
        });
    }
    for (const field of V2_FIELDS) {
        if (discovery[field] !== undefined && !isHttpUrl(discovery[field])) {
            problems.push({
                setting: `discovery.${field}`,
                value: discovery[field],
                problem: "is not an http(s) URL",
                fix: "write a full URL with scheme and host",
            });
        }
    }
}

export function resolveDiscovery(
    settings: ClusterSettings,
    cluster: { readonly mode: BootstrapMode; readonly version: EtcdVersion; readonly memberCount: number },
    problems: Problems,
): ResolvedDiscovery | undefined {
    const { mode, version, memberCount } = cluster;
    const given: DiscoverySettings | undefined = settings.discovery;
    if (mode !== "discovery") {
        if (given !== undefined) {
            problems.push({
                setting: "discovery",
                value: given,
                problem: `discovery settings conflict with bootstrapMode "${mode}" (etcd refuses two bootstrap methods at once)`,
                fix: 'remove the discovery settings, or set bootstrapMode to "discovery"',
            });
        }
        return undefined;
    }
    const discovery = given ?? {};
    const protocol = resolveProtocol(discovery, version, problems);
    if (protocol === undefined) {
        return undefined;
    }
    const size = discovery.size ?? (discovery.url !== undefined ? undefined : memberCount);
    checkSize(size, memberCount, problems);
    if (protocol === "v3") {
        checkV3Fields(discovery, problems);
        return { protocol, size: size ?? memberCount, endpoints: discovery.endpoints };
    }
    checkV2Fields(discovery, problems);
    return {
        protocol,
        size: size ?? memberCount,
        serviceUrl: discovery.serviceUrl,
        url: discovery.url,
        proxy: discovery.proxy,
    };
}
