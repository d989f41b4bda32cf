// Where the cluster is reached: its DNS names, the networks let in, and the ports.
import { DEFAULT_PORTS } from "../host-contract";
import { BootstrapMode, Ports } from "../model";
import { checkCidr, isDnsName, isWorldOpen } from "../net";
import { ClusterSettings } from "../settings";
import { capabilitiesOf, EtcdVersion } from "../versions";
import { checkIntegerIn, Problems } from "./checks";

const SRV_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** The members' domain and SRV name, and whether the release can bootstrap from those records. */
export function resolveNames(
    clusterName: string,
    settings: ClusterSettings,
    bootstrap: { readonly mode: BootstrapMode; readonly tls: boolean; readonly version: EtcdVersion },
    problems: Problems,
): { domain: string; srvName?: string } {
    const domain = settings.domain ?? `${clusterName}.etcd.internal`;
    if (!isDnsName(domain) || !domain.includes(".")) {
        problems.push({
            setting: "domain",
            value: domain,
            problem: "is not a lowercase DNS domain with at least two labels",
            fix: 'write e.g. "etcd.prod.internal"',
        });
    }
    if (settings.srvName !== undefined && !SRV_NAME.test(settings.srvName)) {
        problems.push({
            setting: "srvName",
            value: settings.srvName,
            problem: "becomes part of the SRV service name",
            fix: "use lowercase letters, digits and inner hyphens",
        });
    }
    const { mode, tls, version } = bootstrap;
    if (mode === "dns" && tls === false && !capabilitiesOf(version).plainHttpSrvBootstrap) {
        problems.push({
            setting: "tls",
            value: false,
            problem: `etcd ${version.text} cannot bootstrap from plain-http _etcd-server._tcp records (only _etcd-server-ssl works on 3.4)`,
            fix: 'enable tls, use etcd 3.5 or later, or use bootstrapMode "static"',
        });
    }
    return { domain, srvName: settings.srvName };
}

const PUBLIC_ACCESS_FIX =
    "list only the networks that need access, or set allowPublicAccess: true if you really mean it";

/** The addresses a valid IPv4 CIDR covers, as an inclusive range of 32-bit numbers. */
function cidrRange(cidr: string): [number, number] {
    const [address, prefix] = cidr.split("/");
    if (address === undefined || prefix === undefined) {
        throw new Error(`cidrRange needs a CIDR checked by checkCidr, got "${cidr}"`);
    }
    const start = address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
    return [start, start + 2 ** (32 - Number(prefix)) - 1];
}

/** True when the CIDRs together cover every IPv4 address (0.0.0.0/1 and 128.0.0.0/1, say). */
function coversEveryAddress(cidrs: readonly string[]): boolean {
    let next = 0;
    for (const [start, end] of cidrs.map(cidrRange).sort((a, b) => a[0] - b[0])) {
        if (start > next) {
            return false;
        }
        next = Math.max(next, end + 1);
    }
    return next === 2 ** 32;
}

/** Why a valid CIDR admits the internet, or undefined. No private network is larger than a /8. */
function publicReach(cidr: string): string | undefined {
    const prefix = Number(cidr.split("/")[1]);
    if (isWorldOpen(cidr)) {
        return "opens etcd's ports to the whole internet";
    }
    return prefix < 8
        ? `admits ${(2 ** (32 - prefix)).toLocaleString("en")} addresses, most of them on the internet`
        : undefined;
}

function cidrProblem(cidr: string): string | undefined {
    if (cidr.includes(":")) {
        return /\/0+$/.test(cidr)
            ? "opens etcd's ports to the whole IPv6 internet (and the rules take IPv4 CIDRs only)"
            : "is IPv6; the rules take IPv4 CIDRs only";
    }
    const check = checkCidr(cidr);
    return check.ok ? undefined : check.reason;
}

/** The valid CIDRs of a list (its type checked by arg-types). */
function resolveCidrs(
    setting: string,
    cidrs: readonly string[] | undefined,
    allowPublic: boolean,
    problems: Problems,
): string[] {
    if (cidrs === undefined) {
        return [];
    }
    const valid: string[] = [];
    cidrs.forEach((cidr, i) => {
        const malformed = cidrProblem(cidr);
        const reach = malformed === undefined ? publicReach(cidr) : undefined;
        if (malformed !== undefined) {
            problems.push({
                setting: `${setting}[${i}]`,
                value: cidr,
                problem: malformed,
                fix: "give an IPv4 CIDR with zero host bits, e.g. 10.0.0.0/16",
            });
        } else if (reach !== undefined && !allowPublic) {
            problems.push({ setting: `${setting}[${i}]`, value: cidr, problem: reach, fix: PUBLIC_ACCESS_FIX });
        } else {
            valid.push(cidr);
        }
    });
    if (!allowPublic && valid.length > 1 && coversEveryAddress(valid)) {
        problems.push({
            setting,
            value: cidrs,
            problem: "together these CIDRs admit every IPv4 address, as 0.0.0.0/0 would",
            fix: PUBLIC_ACCESS_FIX,
        });
        return [];
    }
    return valid;
}

/** The networks let in on the client, SSH and metrics ports; the internet only when explicitly allowed. */
export function resolveAccess(
    settings: ClusterSettings,
    problems: Problems,
    warnings: string[],
): { clientCidrs: string[]; sshCidrs: string[]; monitoringCidrs: string[]; allowPublicAccess: boolean } {
    const allowPublicAccess = settings.allowPublicAccess ?? false;
    const clientCidrs = resolveCidrs("clientCidrs", settings.clientCidrs, allowPublicAccess, problems);
    const sshCidrs = resolveCidrs("sshCidrs", settings.sshCidrs, allowPublicAccess, problems);
    const monitoringCidrs = resolveCidrs("monitoringCidrs", settings.monitoringCidrs, allowPublicAccess, problems);
    const lists = { clientCidrs, sshCidrs, monitoringCidrs };
    for (const [setting, cidrs] of Object.entries(lists)) {
        if (allowPublicAccess && (cidrs.some((cidr) => publicReach(cidr) !== undefined) || coversEveryAddress(cidrs))) {
            warnings.push(
                `allowPublicAccess: ${setting} lets the internet reach an etcd port; anyone can try to connect`,
            );
        }
    }
    return { clientCidrs, sshCidrs, monitoringCidrs, allowPublicAccess };
}

export function resolvePorts(settings: ClusterSettings, problems: Problems): Ports {
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
        } else {
            checkIntegerIn(problems, setting, port, {
                min: 1024,
                max: 65535,
                problem: "ports must be integers from 1024 to 65535 (etcd runs unprivileged)",
                fix: "use the default or another free port",
            });
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
