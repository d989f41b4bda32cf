// Validation of a cluster's settings: every problem in one pass, each naming the setting, its
// value and the fix, before anything is created. Returns the settings with defaults filled in.
import { checkLegacyFlag } from "./legacy-flags";
import { MANAGED_FLAGS, unknownFlags } from "./flags";
import { BOOTSTRAP_MODES, BootstrapMode, DEFAULT_PORTS, DiscoveryProtocol, Ports } from "./model";
import { ClusterConfigError, ConfigProblem } from "./problems";
import { ClusterSettings, DEFAULTS, DiscoverySettings } from "./settings";
import { checkCidr, isDnsName, isWorldOpen } from "./net";
import { capabilitiesOf, DEFAULT_ETCD_VERSION, ETCD_LINES, EtcdVersion, parseEtcdVersion } from "./versions";

export const MEMBER_COUNTS: readonly number[] = [1, 3, 5, 7];
const VOLUME_TYPES = ["gp3", "gp2", "io1", "io2"];

/** Discovery settings after validation. */
export interface ResolvedDiscovery {
    readonly protocol: DiscoveryProtocol;
    readonly size: number;
    readonly endpoints?: readonly string[];
    readonly serviceUrl?: string;
    readonly url?: string;
    readonly proxy?: string;
}

/** Settings after validation, with every default applied. */
export interface ResolvedSettings {
    readonly clusterName: string;
    readonly memberCount: number;
    readonly version: EtcdVersion;
    readonly mode: BootstrapMode;
    readonly tls: boolean;
    readonly auth: boolean;
    readonly certificateValidityDays: number;
    readonly certificateRenewalDays: number;
    readonly domain: string;
    readonly srvName?: string;
    readonly clusterToken: string;
    readonly clientCidrs: readonly string[];
    readonly sshCidrs: readonly string[];
    readonly monitoringCidrs: readonly string[];
    readonly allowPublicAccess: boolean;
    readonly instanceType: string;
    readonly volumeSizeGiB: number;
    readonly volumeType: string;
    readonly volumeIops?: number;
    readonly mirrorBaseUrl: string;
    readonly etcdSha256?: string;
    readonly extraFlags: Readonly<Record<string, string>>;
    readonly ports: Ports;
    readonly discovery?: ResolvedDiscovery;
    /** Notes for the user that are not errors (legacy flags translated, public access). */
    readonly warnings: readonly string[];
}

/** Where the settings come from, for defaults and cross-cluster checks. */
export interface ValidationContext {
    readonly project: string;
    readonly stack: string;
    /** Cluster tokens already taken by other clusters (other stacks' files, this program). */
    readonly tokensInUse?: readonly { token: string; owner: string }[];
}

type Problems = ConfigProblem[];

const CLUSTER_NAME = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const SHA256 = /^[0-9a-f]{64}$/;

function isHttpUrl(text: unknown): text is string {
    if (typeof text !== "string") {
        return false;
    }
    try {
        const url = new URL(text);
        return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    } catch {
        return false;
    }
}

function isInteger(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value);
}

function checkClusterName(name: string, problems: Problems): void {
    if (!CLUSTER_NAME.test(name)) {
        problems.push({
            setting: "name",
            value: name,
            problem: "cluster names become member names, DNS labels and AWS names",
            fix: "use 1-40 lowercase letters, digits and inner hyphens, starting with a letter",
        });
    }
}

function resolveMemberCount(settings: ClusterSettings, problems: Problems): number {
    const count = settings.memberCount ?? DEFAULTS.memberCount;
    if (!isInteger(count) || !MEMBER_COUNTS.includes(count)) {
        problems.push({
            setting: "memberCount",
            value: count,
            problem:
                isInteger(count) && count % 2 === 0
                    ? "an even member count tolerates no more failures than the odd count below it"
                    : "etcd clusters are run with an odd number of members, at most 7",
            fix: `use one of ${MEMBER_COUNTS.join(", ")} (3 for most clusters, 5 to survive two failures)`,
        });
        return DEFAULTS.memberCount;
    }
    return count;
}

function resolveVersion(settings: ClusterSettings, problems: Problems): EtcdVersion {
    const text = settings.etcdVersion ?? DEFAULT_ETCD_VERSION;
    const version = typeof text === "string" ? parseEtcdVersion(text) : undefined;
    if (!version) {
        problems.push({
            setting: "etcdVersion",
            value: text,
            problem: `not a supported etcd release (lines ${ETCD_LINES.join(", ")})`,
            fix: `give a full release such as "${DEFAULT_ETCD_VERSION}"`,
        });
        return parseEtcdVersion(DEFAULT_ETCD_VERSION) as EtcdVersion;
    }
    return version;
}

function resolveMode(settings: ClusterSettings, problems: Problems): BootstrapMode {
    const mode = settings.bootstrapMode ?? DEFAULTS.bootstrapMode;
    if (!BOOTSTRAP_MODES.includes(mode as BootstrapMode)) {
        problems.push({
            setting: "bootstrapMode",
            value: mode,
            problem: "unknown bootstrap mode",
            fix: `use one of ${BOOTSTRAP_MODES.map((m) => `"${m}"`).join(", ")}`,
        });
        return "static";
    }
    return mode as BootstrapMode;
}

function resolveCidrs(setting: string, cidrs: unknown, allowPublic: boolean, problems: Problems): string[] {
    if (cidrs === undefined) {
        return [];
    }
    if (!Array.isArray(cidrs)) {
        problems.push({ setting, value: cidrs, problem: "must be a list of CIDRs", fix: 'write e.g. ["10.0.0.0/16"]' });
        return [];
    }
    const valid: string[] = [];
    cidrs.forEach((cidr, i) => {
        const check = typeof cidr === "string" ? checkCidr(cidr) : { ok: false as const, reason: "is not a string" };
        if (!check.ok) {
            problems.push({ setting: `${setting}[${i}]`, value: cidr, problem: `${check.reason}`, fix: "give an IPv4 CIDR with zero host bits" });
        } else if (isWorldOpen(cidr) && !allowPublic) {
            problems.push({
                setting: `${setting}[${i}]`,
                value: cidr,
                problem: "opens etcd's ports to the whole internet",
                fix: "list the networks that need access, or set allowPublicAccess: true if you really mean it",
            });
        } else {
            valid.push(cidr);
        }
    });
    return valid;
}

function resolvePorts(settings: ClusterSettings, problems: Problems): Ports {
    const ports = {
        client: settings.clientPort ?? DEFAULT_PORTS.client,
        peer: settings.peerPort ?? DEFAULT_PORTS.peer,
        metrics: settings.metricsPort ?? DEFAULT_PORTS.metrics,
    };
    const entries: [string, number][] = [
        ["clientPort", ports.client],
        ["peerPort", ports.peer],
        ["metricsPort", ports.metrics],
    ];
    for (const [setting, port] of entries) {
        if (port === 22) {
            problems.push({ setting, value: port, problem: "port 22 is SSH", fix: "pick another port" });
        } else if (!isInteger(port) || port < 1024 || port > 65535) {
            problems.push({ setting, value: port, problem: "ports must be integers from 1024 to 65535 (etcd runs unprivileged)", fix: "use the default or another free port" });
        }
    }
    const distinct = new Set(entries.map(([, port]) => port));
    if (distinct.size !== entries.length) {
        problems.push({
            setting: "clientPort/peerPort/metricsPort",
            value: entries.map(([, port]) => port),
            problem: "client, peer and metrics ports must differ",
            fix: "give each its own port (defaults 2379, 2380, 2381)",
        });
    }
    return ports;
}

function resolveExtraFlags(settings: ClusterSettings, version: EtcdVersion, problems: Problems, warnings: string[]): Record<string, string> {
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
        if (name === "config-file") {
            problems.push({
                setting,
                value,
                problem: "with --config-file etcd ignores every other flag and ETCD_* variable, so the rendered configuration (name, URLs, bootstrap, TLS) would be dropped",
                fix: "remove it; give the settings you need as single extraFlags",
            });
            continue;
        }
        if (MANAGED_FLAGS.has(name)) {
            problems.push({
                setting,
                value,
                problem: `--${name} is derived from the cluster's shape so that every member is listed with the URL it advertises`,
                fix: "remove it; use the package's settings (bootstrapMode, domain, discovery, tls, ports) instead",
            });
            continue;
        }
        if (unknownFlags([{ name }], version.line).length > 0) {
            problems.push({
                setting,
                value,
                problem: `etcd ${version.text} has no --${name} flag and would refuse to start`,
                fix: version.line === "3.7" && name.startsWith("experimental-")
                    ? "3.7 removed --experimental-* flags: use the unprefixed flag or a feature gate"
                    : "remove it or correct its name (see `etcd --help` of that version)",
            });
            continue;
        }
        result[name] = value;
    }
    const heartbeat = Number(result["heartbeat-interval"] ?? 100);
    const election = Number(result["election-timeout"] ?? 1000);
    if (!(election >= 5 * heartbeat)) {
        problems.push({
            setting: "extraFlags.election-timeout",
            value: result["election-timeout"] ?? "1000 (default)",
            problem: `the election timeout must be at least 5 times the heartbeat interval (${heartbeat} ms)`,
            fix: `set election-timeout to ${5 * heartbeat} or more, or lower heartbeat-interval`,
        });
    }
    return result;
}

function resolveDiscovery(
    settings: ClusterSettings,
    mode: BootstrapMode,
    version: EtcdVersion,
    memberCount: number,
    problems: Problems,
): ResolvedDiscovery | undefined {
    const given: DiscoverySettings | undefined = settings.discovery;
    if (mode !== "discovery") {
        if (given !== undefined) {
            problems.push({
                setting: "discovery",
                value: given,
                problem: `discovery settings conflict with bootstrapMode "${mode}" (etcd refuses two bootstrap methods at once)`,
                fix: 'remove discovery, or set bootstrapMode: "discovery"',
            });
        }
        return undefined;
    }
    const caps = capabilitiesOf(version);
    const discovery = given ?? {};
    const protocol = discovery.protocol ?? (caps.v3Discovery ? "v3" : "v2");
    if (protocol !== "v2" && protocol !== "v3") {
        problems.push({ setting: "discovery.protocol", value: protocol, problem: "unknown discovery protocol", fix: 'use "v3" (etcd 3.6+) or "v2" (etcd 3.4-3.6)' });
        return undefined;
    }
    if (protocol === "v3" && !caps.v3Discovery) {
        problems.push({
            setting: "discovery.protocol",
            value: protocol,
            problem: `etcd ${version.text} has no v3 discovery (--discovery-token arrived in 3.6)`,
            fix: 'use protocol "v2" with a v2 discovery service, or etcd 3.6+',
        });
    }
    if (protocol === "v2" && !caps.v2Discovery) {
        problems.push({
            setting: "discovery.protocol",
            value: protocol,
            problem: `etcd ${version.text} removed v2 discovery (--discovery <url>)`,
            fix: 'use protocol "v3" with discovery.endpoints of a discovery etcd cluster',
        });
    }
    const size = discovery.size ?? (discovery.url !== undefined ? undefined : memberCount);
    if (size === undefined) {
        problems.push({
            setting: "discovery.size",
            value: undefined,
            problem: "a ready discovery URL was given without the size it was created with; members cannot tell whether they fit",
            fix: "set discovery.size to the size the service registered (the N of /new?size=N)",
        });
    } else if (!isInteger(size) || size < 1) {
        problems.push({ setting: "discovery.size", value: size, problem: "must be a positive integer", fix: "use the member count" });
    } else if (size < memberCount) {
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
    if (protocol === "v3") {
        for (const field of ["serviceUrl", "url", "proxy"] as const) {
            if (discovery[field] !== undefined) {
                problems.push({ setting: `discovery.${field}`, value: discovery[field], problem: "is a v2 discovery setting", fix: 'remove it, or set discovery.protocol: "v2"' });
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
        } else {
            endpoints.forEach((endpoint, i) => {
                if (!isHttpUrl(endpoint)) {
                    problems.push({ setting: `discovery.endpoints[${i}]`, value: endpoint, problem: "is not an http(s) URL", fix: "write e.g. http://10.0.0.5:2379" });
                }
            });
        }
        return { protocol, size: size ?? memberCount, endpoints };
    }
    if (discovery.endpoints !== undefined) {
        problems.push({ setting: "discovery.endpoints", value: discovery.endpoints, problem: "is a v3 discovery setting", fix: 'remove it, or use protocol "v3" (etcd 3.6+)' });
    }
    if ((discovery.serviceUrl === undefined) === (discovery.url === undefined)) {
        problems.push({
            setting: "discovery.serviceUrl/discovery.url",
            value: { serviceUrl: discovery.serviceUrl, url: discovery.url },
            problem: "v2 discovery needs exactly one of them",
            fix: "give serviceUrl (the package registers a new token there) or url (a ready token URL with its size)",
        });
    }
    for (const field of ["serviceUrl", "url", "proxy"] as const) {
        if (discovery[field] !== undefined && !isHttpUrl(discovery[field])) {
            problems.push({ setting: `discovery.${field}`, value: discovery[field], problem: "is not an http(s) URL", fix: "write a full URL with scheme and host" });
        }
    }
    return { protocol, size: size ?? memberCount, serviceUrl: discovery.serviceUrl, url: discovery.url, proxy: discovery.proxy };
}

/**
 * Checks every setting, collects every problem, and throws one ClusterConfigError naming them
 * all; otherwise returns the settings with defaults applied.
 */
export function resolveSettings(clusterName: string, settings: ClusterSettings, context: ValidationContext): ResolvedSettings {
    const problems: Problems = [];
    const warnings: string[] = [];
    checkClusterName(clusterName, problems);
    const memberCount = resolveMemberCount(settings, problems);
    const version = resolveVersion(settings, problems);
    const mode = resolveMode(settings, problems);
    const tls = settings.tls ?? DEFAULTS.tls;
    if (typeof tls !== "boolean") {
        problems.push({ setting: "tls", value: tls, problem: "must be true or false", fix: "write tls: true (recommended) or tls: false" });
    }
    const auth = settings.auth ?? DEFAULTS.auth;
    if (typeof auth !== "boolean") {
        problems.push({ setting: "auth", value: auth, problem: "must be true or false", fix: "write auth: true or auth: false" });
    } else if (auth && tls === false) {
        problems.push({
            setting: "auth",
            value: true,
            problem: "etcd authentication without TLS sends passwords and tokens in clear text",
            fix: "set tls: true, or leave auth off",
        });
    }

    const certificateValidityDays = settings.certificateValidityDays ?? DEFAULTS.certificateValidityDays;
    const certificateRenewalDays = settings.certificateRenewalDays ?? DEFAULTS.certificateRenewalDays;
    if (!isInteger(certificateValidityDays) || certificateValidityDays < 1 || certificateValidityDays > 3650) {
        problems.push({ setting: "certificateValidityDays", value: certificateValidityDays, problem: "must be a whole number of days from 1 to 3650", fix: "use 365 (renewed by pulumi up before expiry)" });
    } else if (!isInteger(certificateRenewalDays) || certificateRenewalDays < 1 || certificateRenewalDays >= certificateValidityDays) {
        problems.push({
            setting: "certificateRenewalDays",
            value: certificateRenewalDays,
            problem: `must be a whole number of days from 1 to less than the validity (${certificateValidityDays})`,
            fix: "use about a tenth of the validity, e.g. 30 for 365",
        });
    }

    const domain = settings.domain ?? `${clusterName}.etcd.internal`;
    if (typeof domain !== "string" || !isDnsName(domain) || !domain.includes(".")) {
        problems.push({ setting: "domain", value: domain, problem: "is not a lowercase DNS domain with at least two labels", fix: 'write e.g. "etcd.prod.internal"' });
    }
    if (settings.srvName !== undefined && !/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(settings.srvName)) {
        problems.push({ setting: "srvName", value: settings.srvName, problem: "becomes part of the SRV service name", fix: "use lowercase letters, digits and inner hyphens" });
    }
    if (mode === "dns" && tls === false && !capabilitiesOf(version).plainHttpSrvBootstrap) {
        problems.push({
            setting: "tls",
            value: false,
            problem: `etcd ${version.text} cannot bootstrap from plain-http _etcd-server._tcp records (only _etcd-server-ssl works on 3.4)`,
            fix: 'enable tls, use etcd 3.5 or later, or use bootstrapMode "static"',
        });
    }

    const clusterToken = settings.clusterToken ?? `${context.project}-${context.stack}-${clusterName}`;
    if (typeof clusterToken !== "string" || !TOKEN.test(clusterToken)) {
        problems.push({ setting: "clusterToken", value: clusterToken, problem: "must be 1-128 letters, digits, dots, underscores or hyphens", fix: "remove it to get the default <project>-<stack>-<cluster>" });
    }
    for (const taken of context.tokensInUse ?? []) {
        if (taken.token === clusterToken) {
            problems.push({
                setting: "clusterToken",
                value: clusterToken,
                problem: `already used by ${taken.owner}; two clusters with one token and overlapping URLs get the same IDs and corrupt each other`,
                fix: "give each cluster its own token, or remove the setting to get a unique default",
            });
        }
    }

    const allowPublicAccess = settings.allowPublicAccess ?? false;
    const clientCidrs = resolveCidrs("clientCidrs", settings.clientCidrs, allowPublicAccess, problems);
    const sshCidrs = resolveCidrs("sshCidrs", settings.sshCidrs, allowPublicAccess, problems);
    const monitoringCidrs = resolveCidrs("monitoringCidrs", settings.monitoringCidrs, allowPublicAccess, problems);
    if (allowPublicAccess && [...clientCidrs, ...sshCidrs, ...monitoringCidrs].some(isWorldOpen)) {
        warnings.push("allowPublicAccess: 0.0.0.0/0 is allowed on an etcd port; anyone on the internet can reach it");
    }

    const instanceType = settings.instanceType ?? DEFAULTS.instanceType;
    if (typeof instanceType !== "string" || !INSTANCE_TYPE.test(instanceType)) {
        problems.push({ setting: "instanceType", value: instanceType, problem: "is not an EC2 instance type", fix: 'write e.g. "t3.medium" or "m6i.large"' });
    }
    const volumeSizeGiB = settings.volumeSizeGiB ?? DEFAULTS.volumeSizeGiB;
    if (!isInteger(volumeSizeGiB) || volumeSizeGiB < 8 || volumeSizeGiB > 16384) {
        problems.push({ setting: "volumeSizeGiB", value: volumeSizeGiB, problem: "must be a whole number of GiB from 8 to 16384", fix: "use 20 or more for production (etcd's quota is 2 GiB plus history)" });
    }
    const volumeType = settings.volumeType ?? DEFAULTS.volumeType;
    if (!VOLUME_TYPES.includes(volumeType)) {
        problems.push({ setting: "volumeType", value: volumeType, problem: "etcd needs SSD-backed storage", fix: `use one of ${VOLUME_TYPES.join(", ")}` });
    }
    const volumeIops = settings.volumeIops;
    if (volumeIops !== undefined && (!isInteger(volumeIops) || volumeIops < 100 || volumeIops > 64000)) {
        problems.push({ setting: "volumeIops", value: volumeIops, problem: "must be a whole number from 100 to 64000", fix: "remove it for gp3's 3000 IOPS baseline" });
    } else if (volumeIops !== undefined && volumeType === "gp2") {
        problems.push({ setting: "volumeIops", value: volumeIops, problem: "gp2 volumes have no provisioned IOPS (EC2 refuses the setting)", fix: 'remove volumeIops, or use volumeType "gp3", "io1" or "io2"' });
    } else if (volumeIops !== undefined && volumeType === "gp3" && volumeIops < 3000) {
        problems.push({ setting: "volumeIops", value: volumeIops, problem: "gp3 volumes take 3000 IOPS or more (3000 is their baseline)", fix: "remove volumeIops for the baseline, or set 3000 or more" });
    } else if ((volumeType === "io1" || volumeType === "io2") && volumeIops === undefined) {
        problems.push({ setting: "volumeIops", value: undefined, problem: `${volumeType} volumes need provisioned IOPS`, fix: "set volumeIops, e.g. 3000" });
    }

    const mirrorBaseUrl = (settings.mirrorBaseUrl ?? DEFAULTS.mirrorBaseUrl).replace(/\/+$/, "");
    if (!isHttpUrl(mirrorBaseUrl)) {
        problems.push({ setting: "mirrorBaseUrl", value: settings.mirrorBaseUrl, problem: "is not an http(s) URL", fix: "give the base URL that holds v<version>/etcd-v<version>-linux-amd64.tar.gz and SHA256SUMS" });
    }
    if (settings.etcdSha256 !== undefined && !SHA256.test(settings.etcdSha256)) {
        problems.push({ setting: "etcdSha256", value: settings.etcdSha256, problem: "is not a lowercase hex SHA-256", fix: "copy the tarball's line from the release's SHA256SUMS" });
    }

    const ports = resolvePorts(settings, problems);
    const extraFlags = resolveExtraFlags(settings, version, problems, warnings);
    const discovery = resolveDiscovery(settings, mode, version, memberCount, problems);

    if (problems.length > 0) {
        throw new ClusterConfigError(`etcd cluster "${clusterName}"`, problems);
    }
    return {
        clusterName,
        memberCount,
        version,
        mode,
        tls,
        auth,
        certificateValidityDays,
        certificateRenewalDays,
        domain,
        srvName: settings.srvName,
        clusterToken,
        clientCidrs,
        sshCidrs,
        monitoringCidrs,
        allowPublicAccess,
        instanceType,
        volumeSizeGiB,
        volumeType,
        volumeIops,
        mirrorBaseUrl,
        etcdSha256: settings.etcdSha256,
        extraFlags,
        ports,
        discovery,
        warnings,
    };
}
