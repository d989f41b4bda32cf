// Plain data that describes one etcd cluster: what every renderer in core/ takes as input.
// Nothing here knows about Pulumi; member addresses are plain strings (real IPs on a host,
// placeholders while the cloud has not assigned them yet).
import type { EtcdVersion } from "./versions";

/** How members find each other the first time: the three mechanisms of etcd's clustering guide. */
export type BootstrapMode = "static" | "dns" | "discovery";
export const BOOTSTRAP_MODES: readonly BootstrapMode[] = ["static", "dns", "discovery"];

/** v2: `--discovery <url>` (keys API); v3: `--discovery-token` + `--discovery-endpoints`. */
export type DiscoveryProtocol = "v2" | "v3";

export interface Ports {
    readonly client: number;
    readonly peer: number;
    readonly metrics: number;
}

export interface MemberSpec {
    /** etcd member name (`--name`), also the host's DNS label. */
    readonly name: string;
    /** The member's private IP address; etcd listens on it. */
    readonly address: string;
    /** Hand-set flags for this member only, over the rendered ones (the guide's worked examples). */
    readonly flagOverrides?: Readonly<Record<string, string>>;
}

export interface DiscoverySpec {
    readonly protocol: DiscoveryProtocol;
    /** The cluster's discovery token (secret: whoever has it can join the cluster). */
    readonly token: string;
    /** Number of members the token admits; more than this are refused with "cluster is full". */
    readonly size: number;
    /** v2: the token's URL on the discovery service, e.g. `http://disc:2379/v2/keys/_etcd/registry/<token>`. */
    readonly url?: string;
    /** v2: whether the package registers the size under the URL (false for a ready public-style URL). */
    readonly registerSize: boolean;
    /** v3: client URLs of the discovery etcd cluster. */
    readonly endpoints?: readonly string[];
    /** v2: HTTP proxy for discovery traffic (`--discovery-proxy`). */
    readonly proxy?: string;
}

/** `--auto-compaction-mode`: keep a span of time, or a number of revisions. */
export type AutoCompactionMode = "periodic" | "revision";

/** What the install does with its disk check: warn above etcd's 10 ms fsync p99, fail the install, or skip it. */
export type DiskCheck = "warn" | "fail" | "off";
export const DISK_CHECKS: readonly DiskCheck[] = ["warn", "fail", "off"];

/** How every member compacts its history and how large its database may grow. */
export interface MaintenanceSpec {
    readonly autoCompactionMode: AutoCompactionMode;
    /** `--auto-compaction-retention`: a duration (periodic) or a revision count (revision); "0" turns it off. */
    readonly autoCompactionRetention: string;
    /** `--quota-backend-bytes`: the size at which etcd raises the NOSPACE alarm and turns read-only. */
    readonly quotaBackendBytes: number;
}

export interface ClusterSpec {
    /** Cluster name; member names are `<clusterName>-<n>`. */
    readonly clusterName: string;
    readonly version: EtcdVersion;
    readonly mode: BootstrapMode;
    /** Mutual TLS on client and peer URLs. */
    readonly tls: boolean;
    readonly ports: Ports;
    /** DNS domain of the members (`<member>.<domain>`) and of the SRV records. */
    readonly domain: string;
    /** `--discovery-srv-name`: adds `-<srvName>` to the SRV service names. */
    readonly srvName?: string;
    /** `--initial-cluster-token`, unique per cluster and stack. */
    readonly clusterToken: string;
    /** etcd's data directory, on the data volume. */
    readonly dataDir: string;
    readonly discovery?: DiscoverySpec;
    readonly maintenance: MaintenanceSpec;
    /** What the install does when the data volume's fsync p99 is above etcd's 10 ms (the `diskCheck` setting). */
    readonly diskCheck: DiskCheck;
    /** Additional etcd flags for every member (without leading dashes); they win over the rendered ones. */
    readonly extraFlags: Readonly<Record<string, string>>;
    readonly members: readonly MemberSpec[];
}

export function memberName(clusterName: string, index: number): string {
    return `${clusterName}-${index}`;
}

export function memberHostName(spec: Pick<ClusterSpec, "domain">, member: Pick<MemberSpec, "name">): string {
    return `${member.name}.${spec.domain}`;
}

export function scheme(spec: Pick<ClusterSpec, "tls">): "http" | "https" {
    return spec.tls ? "https" : "http";
}

/**
 * The host a member advertises to peers and clients. DNS mode advertises names, because etcd
 * matches them against the SRV targets; the other modes advertise the IP and need no DNS to form.
 */
export function advertisedHost(spec: Pick<ClusterSpec, "mode" | "domain">, member: MemberSpec): string {
    return spec.mode === "dns" ? memberHostName(spec, member) : member.address;
}

export function peerUrl(spec: ClusterSpec, member: MemberSpec): string {
    return `${scheme(spec)}://${advertisedHost(spec, member)}:${spec.ports.peer}`;
}

export function clientUrl(spec: ClusterSpec, member: MemberSpec): string {
    return `${scheme(spec)}://${advertisedHost(spec, member)}:${spec.ports.client}`;
}

/** Client URLs of every member, as etcdctl's `--endpoints` wants them. */
export function clientEndpoints(spec: ClusterSpec): string[] {
    return spec.members.map((member) => clientUrl(spec, member));
}

/** Subject alternative names of a member's server and peer certificates. */
export interface CertificateSans {
    readonly dnsNames: readonly string[];
    readonly ipAddresses: readonly string[];
}

/**
 * What a member's certificates must name: its DNS name and localhost, its private IP and
 * 127.0.0.1 (clients on the host), and in DNS mode the SRV domain itself, which etcd checks
 * peers against.
 */
export function memberCertificateSans(
    spec: Pick<ClusterSpec, "mode" | "domain">,
    member: Pick<MemberSpec, "name" | "address">,
): CertificateSans {
    return {
        dnsNames: [memberHostName(spec, member), "localhost", ...(spec.mode === "dns" ? [spec.domain] : [])],
        ipAddresses: [member.address, "127.0.0.1"],
    };
}
