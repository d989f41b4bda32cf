// Where the cluster is reached: its DNS names, the networks let in, and the ports.
import { BootstrapMode, DEFAULT_PORTS, Ports } from "../model";
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
    if (typeof domain !== "string" || !isDnsName(domain) || !domain.includes(".")) {
        problems.push({ setting: "domain", value: domain, problem: "is not a lowercase DNS domain with at least two labels", fix: 'write e.g. "etcd.prod.internal"' });
    }
    if (settings.srvName !== undefined && !SRV_NAME.test(settings.srvName)) {
        problems.push({ setting: "srvName", value: settings.srvName, problem: "becomes part of the SRV service name", fix: "use lowercase letters, digits and inner hyphens" });
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

/** The networks let in on the client, SSH and metrics ports; 0.0.0.0/0 only when explicitly allowed. */
export function resolveAccess(
    settings: ClusterSettings,
    problems: Problems,
    warnings: string[],
): { clientCidrs: string[]; sshCidrs: string[]; monitoringCidrs: string[]; allowPublicAccess: boolean } {
    const allowPublicAccess = settings.allowPublicAccess ?? false;
    const clientCidrs = resolveCidrs("clientCidrs", settings.clientCidrs, allowPublicAccess, problems);
    const sshCidrs = resolveCidrs("sshCidrs", settings.sshCidrs, allowPublicAccess, problems);
    const monitoringCidrs = resolveCidrs("monitoringCidrs", settings.monitoringCidrs, allowPublicAccess, problems);
    if (allowPublicAccess && [...clientCidrs, ...sshCidrs, ...monitoringCidrs].some(isWorldOpen)) {
        warnings.push("allowPublicAccess: 0.0.0.0/0 is allowed on an etcd port; anyone on the internet can reach it");
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
