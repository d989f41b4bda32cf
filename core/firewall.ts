// The member security group's rules: each etcd port open to exactly who needs it, and the
// egress members need (AWS provider 7 removes the default allow-all egress).
import { Ports } from "./model";

export type RuleSource =
    /** The members' own security group (self reference). */
    | { readonly kind: "members" }
    | { readonly kind: "cidr"; readonly cidr: string }
    /** The n-th security group of `clientSecurityGroupIds` (known only at deploy time). */
    | { readonly kind: "securityGroup"; readonly index: number };

export interface FirewallRule {
    /** Stable, content-derived key: the resource name suffix, unchanged when other rules change. */
    readonly key: string;
    readonly direction: "ingress" | "egress";
    readonly port: number;
    /** The peer of the rule: the source for ingress, the destination for egress. */
    readonly peer: RuleSource;
    readonly description: string;
}

export interface FirewallInput {
    readonly ports: Ports;
    readonly clientCidrs: readonly string[];
    readonly clientSecurityGroupCount: number;
    readonly sshCidrs: readonly string[];
    readonly monitoringCidrs: readonly string[];
    /** URLs members download from or talk to outside the cluster (release mirror, discovery). */
    readonly outboundUrls: readonly string[];
}

/**
 * The members' security group's description. Fixed text without ports or other settings: AWS
 * replaces a security group whose description changes, which would cut every member off.
 */
export const SECURITY_GROUP_DESCRIPTION = "etcd cluster members: client, peer and metrics traffic";

function cidrKey(cidr: string): string {
    return cidr.replace(/[./]/g, "-");
}

/** The TCP port a URL connects to. */
export function urlPort(url: string): number {
    const parsed = new URL(url);
    if (parsed.port !== "") {
        return Number(parsed.port);
    }
    return parsed.protocol === "https:" ? 443 : 80;
}

export function renderFirewallRules(input: FirewallInput): FirewallRule[] {
    const { ports } = input;
    // A CIDR listed twice would give two rules with one key (and EC2 refuses duplicate rules).
    const unique = (cidrs: readonly string[]): string[] => [...new Set(cidrs)];
    const members = { kind: "members" } as const;
    const rules: FirewallRule[] = [
        {
            key: "peer-from-members",
            direction: "ingress",
            port: ports.peer,
            peer: members,
            description: "etcd peers (raft) from members",
        },
        {
            key: "client-from-members",
            direction: "ingress",
            port: ports.client,
            peer: members,
            description: "etcd clients from members (health checks, membership changes)",
        },
    ];
    for (const cidr of unique(input.clientCidrs)) {
        rules.push({
            key: `client-from-${cidrKey(cidr)}`,
            direction: "ingress",
            port: ports.client,
            peer: { kind: "cidr", cidr },
            description: `etcd clients from ${cidr}`,
        });
    }
    for (let index = 0; index < input.clientSecurityGroupCount; index++) {
        rules.push({
            key: `client-from-sg-${index}`,
            direction: "ingress",
            port: ports.client,
            peer: { kind: "securityGroup", index },
            description: `etcd clients from client security group ${index}`,
        });
    }
    for (const cidr of unique(input.sshCidrs)) {
        rules.push({
            key: `ssh-from-${cidrKey(cidr)}`,
            direction: "ingress",
            port: 22,
            peer: { kind: "cidr", cidr },
            description: `SSH from ${cidr}`,
        });
    }
    for (const cidr of unique(input.monitoringCidrs)) {
        rules.push({
            key: `metrics-from-${cidrKey(cidr)}`,
            direction: "ingress",
            port: ports.metrics,
            peer: { kind: "cidr", cidr },
            description: `metrics scrapes from ${cidr}`,
        });
    }
    rules.push(
        {
            key: "peer-to-members",
            direction: "egress",
            port: ports.peer,
            peer: members,
            description: "etcd peers (raft) to members",
        },
        {
            key: "client-to-members",
            direction: "egress",
            port: ports.client,
            peer: members,
            description: "etcd clients to members",
        },
    );
    const outboundPorts = [...new Set([443, ...input.outboundUrls.map(urlPort)])].sort((a, b) => a - b);
    for (const port of outboundPorts) {
        rules.push({
            key: `out-${port}`,
            direction: "egress",
            port,
            peer: { kind: "cidr", cidr: "0.0.0.0/0" },
            description:
                port === 443
                    ? "HTTPS out (etcd release download, AWS APIs)"
                    : `out to port ${port} (release mirror or discovery service)`,
        });
    }
    return rules;
}
