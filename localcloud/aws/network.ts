// The local cloud's security groups: aws.ec2.SecurityGroup and the vpc.SecurityGroupIngressRule / EgressRule
// resources, kept as state and enforced on the local hosts' addresses by nftables, in a table of this module's own
// (inet etcd_aws_localcloud_<hash of the state directory>, so two local clouds or a test's never share one) that
// holds rules only for interface addresses in the local cloud's range 127.0.20.0 - 127.0.31.255 (its subnets
// 127.0.20+k.0/24, localcloud/aws/vpc.ts) and is deleted when no interface has a group any more.
//
// What is enforced, and what is not (every process here shares one loopback):
// - Ingress is stateful, as on AWS: a new connection to an interface's address is accepted only when a rule of one
//   of its groups admits its protocol, port and source; replies and established connections pass.
// - A connection made on this machine leaves from 127.0.0.1 unless the program binds its own address (etcd and the
//   SSH client do not), so the operator and every local host have the same source address: a CIDR rule admits
//   local connections when it contains 127.0.0.1, and a rule whose source is a security group admits its
//   interfaces' addresses and 127.0.0.1. A port no rule opens is closed to everyone, which is what shows a rule
//   deleted too early (the SSH rule before the leave hooks).
// - Egress is stateful too, and told apart by the process, not the address: every process of an instance runs in
//   the instance's cgroup (localcloud/aws/cgroups.ts), and a new connection or datagram a socket of that cgroup
//   sends must be admitted by an egress rule of the interface's groups (protocol, port, destination CIDR, or the
//   addresses of a referenced group's interfaces); anything else is dropped, as on AWS (a group without egress
//   rules lets nothing out: the provider revokes AWS's default allow-all). As on AWS, two destinations are never
//   filtered: the instance's own address (traffic to itself stays on the instance) and the VPC resolver (the local
//   cloud's DNS server, localcloud/aws/dns.ts, UDP and TCP 53; AWS does not filter AmazonProvidedDNS), and neither
//   is a stand-in registered as "unfiltered" (the instance metadata service). The local stand-ins of AWS's HTTPS
//   endpoints (an S3 server, registered with registerServiceEndpoint) listen on some loopback port but are judged as
//   the port they stand for (443): a rule opening 443 to a CIDR holding their address opens them. Commands the operator runs on a host from outside (LocalHost.exec in a test) are not in
//   the cgroup, and not filtered.
// When nft is missing or the kernel refuses the table, the rules are only recorded (firewall.json says so); without
// a cgroup2 hierarchy egress is only recorded (firewall.json's egressReason says why).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { awsDiff } from "../providers/aws";
import { OldState, Properties, ResourceType } from "../providers/server";
import { CgroupRef, cgroupsMissing, instanceCgroup, localCloudTag, removeLocalCloudCgroups } from "./cgroups";
import { dnsServerAddress } from "./dns";
import { localcloudDir, newId, recordMode, ResourceStore } from "./state";

/** The nftables table of the current state directory (family inet; IPv4 rules only). */
export function firewallTable(): string {
    return localCloudTag();
}

/** The local cloud's subnets 127.0.20.0/24 - 127.0.31.0/24: only interface addresses in them get rules. */
const LOCAL_CLOUD_THIRD_OCTETS = { from: 20, to: 31 };

/** Where every local connection comes from (see the top of the file). */
const LOCAL_SOURCE = "127.0.0.1";

const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";

/** A security group rule as state keeps it (the resource's inputs). */
export interface SecurityGroupRule {
    direction: "ingress" | "egress";
    securityGroupId: string;
    ipProtocol: string;
    fromPort?: number;
    toPort?: number;
    cidrIpv4?: string;
    referencedSecurityGroupId?: string;
    description?: string;
}

/** An interface of a local host: its address, the security groups it is in, and its instance's cgroup. */
export interface HostInterface {
    address: string;
    securityGroupIds: string[];
    /** The cgroup of the instance on it, whose sockets' traffic is its egress (none: egress not enforced). */
    cgroup?: CgroupRef;
}

/**
 * A local stand-in of an AWS service on address:port (TCP). Egress rules judge it as port `standsFor` (an HTTPS API
 * such as S3: 443), or never filter it ("unfiltered": what AWS never filters, the instance metadata service).
 */
export interface ServiceEndpoint {
    name: string;
    address: string;
    port: number;
    standsFor: number | "unfiltered";
}

/** Where egress is never filtered, and what stands for AWS's endpoints (firewallRuleset's options). */
export interface EgressContext {
    /** The VPC resolver's address (UDP and TCP 53 to it always pass). */
    resolver?: string;
    endpoints?: ServiceEndpoint[];
}

const groups = new ResourceStore<Properties>("security-groups");
const rules = new ResourceStore<SecurityGroupRule>("security-group-rules");
const endpoints = new ResourceStore<ServiceEndpoint>("service-endpoints");

/** True for an address in the local cloud's subnets. */
export function inLocalCloudRange(address: string): boolean {
    const match = /^127\.0\.(\d{1,3})\.(\d{1,3})$/.exec(address);
    const third = Number(match?.[1]);
    return (
        match !== null &&
        Number(match[2]) <= 255 &&
        third >= LOCAL_CLOUD_THIRD_OCTETS.from &&
        third <= LOCAL_CLOUD_THIRD_OCTETS.to
    );
}

/** A rule's protocol as nft names it ("all" for -1), or an error naming one it cannot enforce. */
function protocolName(rule: SecurityGroupRule): "all" | "tcp" | "udp" | "icmp" {
    const protocol = String(rule.ipProtocol).toLowerCase();
    if (protocol === "-1" || protocol === "all") return "all";
    if (protocol === "tcp" || protocol === "6") return "tcp";
    if (protocol === "udp" || protocol === "17") return "udp";
    if (protocol === "icmp" || protocol === "1") return "icmp";
    throw new Error(`local aws provider: security group rule protocol ${rule.ipProtocol} is not supported`);
}

/** The ports a TCP or UDP rule opens (EC2's default: all). */
const portRange = (rule: SecurityGroupRule): [number, number] => [rule.fromPort ?? 0, rule.toPort ?? 65535];

/** The nft match of a rule's protocol and ports; undefined for "all traffic" (-1). */
function protocolMatch(rule: SecurityGroupRule): string | undefined {
    const protocol = protocolName(rule);
    if (protocol === "all") return undefined;
    if (protocol === "icmp") return "meta l4proto icmp";
    const [from, to] = portRange(rule);
    return `${protocol} dport ${from === to ? from : `${from}-${to}`}`;
}

/** An IPv4 address as a number. */
const ipv4Number = (address: string): number =>
    address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);

/** True when the IPv4 CIDR holds the address. */
export function cidrContains(cidr: string, address: string): boolean {
    const [base, bits] = cidr.split("/");
    const size = 2 ** (32 - Number(bits ?? 32));
    return Math.floor(ipv4Number(address) / size) === Math.floor(ipv4Number(base!) / size);
}

/** The source addresses a rule admits, as an nft set or prefix. */
function sourceMatch(rule: SecurityGroupRule, interfaces: HostInterface[]): string {
    if (rule.cidrIpv4 !== undefined) return `ip saddr ${rule.cidrIpv4}`;
    if (rule.referencedSecurityGroupId !== undefined) {
        const members = interfaces
            .filter((eni) => eni.securityGroupIds.includes(rule.referencedSecurityGroupId as string))
            .map((eni) => eni.address);
        return `ip saddr { ${[...new Set([LOCAL_SOURCE, ...members])].sort().join(", ")} }`;
    }
    throw new Error(`local aws provider: rule of ${rule.securityGroupId} has no supported source (cidrIpv4 or group)`);
}

/** The chain names of one interface address: its ingress and its instance's egress. */
const chainOf = (address: string) => `eni_${address.replaceAll(".", "_")}`;
const egressChainOf = (address: string) => `egress_${address.replaceAll(".", "_")}`;

/**
 * The nft lines one egress rule admits: its protocol and ports to its destination (a CIDR, or the addresses of the
 * referenced group's interfaces), and each service endpoint the rule would open were it the port it stands for.
 */
function egressAccepts(
    rule: SecurityGroupRule,
    interfaces: HostInterface[],
    serviceEndpoints: ServiceEndpoint[],
): string[] {
    const protocol = protocolMatch(rule);
    const accept = (destination: string, match = protocol) =>
        `        ${destination}${match ? ` ${match}` : ""} accept`;
    if (rule.cidrIpv4 !== undefined) {
        const [from, to] = portRange(rule);
        const name = protocolName(rule);
        const standIns = serviceEndpoints
            .filter(
                ({ standsFor }) =>
                    typeof standsFor === "number" && name === "tcp" && from <= standsFor && standsFor <= to,
            )
            .filter((endpoint) => cidrContains(rule.cidrIpv4 as string, endpoint.address))
            .map((endpoint) => accept(`ip daddr ${endpoint.address}`, `tcp dport ${endpoint.port}`));
        return [accept(`ip daddr ${rule.cidrIpv4}`), ...standIns];
    }
    if (rule.referencedSecurityGroupId !== undefined) {
        const members = interfaces
            .filter((eni) => eni.securityGroupIds.includes(rule.referencedSecurityGroupId as string))
            .map((eni) => eni.address);
        const unique = [...new Set(members)].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
        return unique.length === 0 ? [] : [accept(`ip daddr { ${unique.join(", ")} }`)];
    }
    throw new Error(
        `local aws provider: rule of ${rule.securityGroupId} has no supported destination (cidrIpv4 or group)`,
    );
}

/** The egress chain of an instance: its own address and the resolver pass, then its groups' rules, then drop. */
function egressChain(
    eni: HostInterface,
    interfaces: HostInterface[],
    allRules: SecurityGroupRule[],
    context: EgressContext,
): string {
    const always = [
        `        ip daddr ${eni.address} accept`,
        ...(context.resolver
            ? ["udp", "tcp"].map((protocol) => `        ip daddr ${context.resolver} ${protocol} dport 53 accept`)
            : []),
        ...(context.endpoints ?? [])
            .filter((endpoint) => endpoint.standsFor === "unfiltered")
            .map((endpoint) => `        ip daddr ${endpoint.address} tcp dport ${endpoint.port} accept`),
    ];
    const admitted = allRules
        .filter((rule) => rule.direction === "egress" && eni.securityGroupIds.includes(rule.securityGroupId))
        .flatMap((rule) => egressAccepts(rule, interfaces, context.endpoints ?? []));
    return [`    chain ${egressChainOf(eni.address)} {`, ...always, ...new Set(admitted), "        drop", "    }"].join(
        "\n",
    );
}

/**
 * The nftables table (as `nft -f` input) that enforces the ingress rules on the interfaces and the egress rules on
 * the traffic of their instances' cgroups, or undefined when no interface in the local cloud's range has a group
 * (then the table is deleted).
 */
export function firewallRuleset(
    table: string,
    interfaces: HostInterface[],
    allRules: SecurityGroupRule[],
    context: EgressContext = {},
): string | undefined {
    const guarded = interfaces
        .filter((eni) => inLocalCloudRange(eni.address) && eni.securityGroupIds.length > 0)
        .sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }));
    if (guarded.length === 0) return undefined;
    const chains = guarded.map((eni) => {
        const admitted = allRules
            .filter((rule) => rule.direction === "ingress" && eni.securityGroupIds.includes(rule.securityGroupId))
            .map((rule) => {
                const protocol = protocolMatch(rule);
                return `        ${sourceMatch(rule, interfaces)}${protocol ? ` ${protocol}` : ""} accept`;
            });
        return [`    chain ${chainOf(eni.address)} {`, ...[...new Set(admitted)], "        drop", "    }"].join("\n");
    });
    const dispatch = guarded.map((eni) => `        ip daddr ${eni.address} jump ${chainOf(eni.address)}`);
    const originating = guarded.filter((eni) => eni.cgroup !== undefined);
    const egress =
        originating.length === 0
            ? []
            : [
                  "    chain output {",
                  "        type filter hook output priority filter; policy accept;",
                  "        ct state established,related accept",
                  ...originating.map(
                      ({ address, cgroup }) =>
                          `        socket cgroupv2 level ${cgroup!.level} "${cgroup!.path}" jump ${egressChainOf(address)}`,
                  ),
                  "    }",
                  ...originating.map((eni) => egressChain(eni, interfaces, allRules, context)),
              ];
    return [
        `table inet ${table} {`,
        "    chain input {",
        "        type filter hook input priority filter; policy accept;",
        "        ct state established,related accept",
        ...dispatch,
        "    }",
        ...chains,
        ...egress,
        "}",
        "",
    ].join("\n");
}

/** What the last sync did, for the README's "how faithful" and for tests: enforced or only recorded, and why. */
export interface FirewallStatus {
    enforced: boolean;
    reason?: string;
    /** Whether egress rules are enforced (they need the instances' cgroups), and why not. */
    egressEnforced?: boolean;
    egressReason?: string;
    ruleset?: string;
}

/** The firewall's folder in the state directory. */
const firewallDir = () => path.join(localcloudDir(), "firewall");

/** Loads `ruleset` into the kernel, replacing the table (one nft transaction), or deletes the table. */
function applyRuleset(table: string, ruleset: string | undefined): FirewallStatus {
    const replace = [`add table inet ${table}`, `delete table inet ${table}`, ruleset ?? ""];
    try {
        execFileSync("nft", ["-f", "-"], {
            input: replace.join("\n"),
            stdio: ["pipe", "ignore", "pipe"],
            timeout: 10_000,
        });
        return { enforced: ruleset !== undefined, ruleset };
    } catch (error) {
        const reason = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
        return { enforced: false, reason: `nft refused the table: ${reason}`, ruleset };
    }
}

/**
 * The interfaces of the local hosts as the compute emulation records them, one per address: a network interface
 * (its private IP and securityGroups; an instance's own interface, launched with it, has the instance's
 * vpcSecurityGroupIds, which an update of the instance changes) and the cgroup of the instance on it.
 */
export function hostInterfaces(): HostInterface[] {
    type Record = { outputs: Properties; ownNetworkInterface?: string };
    const groupIds = (ids: unknown): string[] => (Array.isArray(ids) ? ids.map(String) : []);
    const byAddress = new Map<string, HostInterface>();
    for (const [, { outputs }] of new ResourceStore<Record>("network-interfaces").list()) {
        if (typeof outputs.privateIp !== "string") continue;
        byAddress.set(outputs.privateIp, {
            address: outputs.privateIp,
            securityGroupIds: groupIds(outputs.securityGroups),
        });
    }
    for (const [id, record] of new ResourceStore<Record>("instances").list()) {
        const address = record.outputs.privateIp;
        if (typeof address !== "string") continue;
        const eni = byAddress.get(address) ?? { address, securityGroupIds: [] };
        if (record.ownNetworkInterface !== undefined || !byAddress.has(address)) {
            eni.securityGroupIds = groupIds(record.outputs.vpcSecurityGroupIds);
        }
        const cgroup = instanceCgroup(id);
        byAddress.set(address, cgroup ? { ...eni, cgroup } : eni);
    }
    return [...byAddress.values()];
}

/**
 * Registers a local stand-in of an AWS HTTPS endpoint (e.g. the S3 server on 127.0.19.x:<port>): egress rules judge
 * connections to it as port `standsFor` (443), so the program's own rules decide who reaches it.
 */
export function registerServiceEndpoint(endpoint: ServiceEndpoint): FirewallStatus {
    endpoints.put(endpoint.name, endpoint);
    return syncFirewall();
}

/** Forgets a stand-in registered with registerServiceEndpoint. */
export function removeServiceEndpoint(name: string): FirewallStatus {
    endpoints.remove(name);
    return syncFirewall();
}

/**
 * Recomputes the table from the state (every rule, every interface) and loads it; in record mode it is only
 * written down. Called by every change of a group's rules and of an interface's groups.
 */
export function syncFirewall(interfaces: HostInterface[] = hostInterfaces()): FirewallStatus {
    const table = firewallTable();
    const ruleset = firewallRuleset(
        table,
        interfaces,
        rules.list().map(([, rule]) => rule),
        { resolver: dnsServerAddress(), endpoints: endpoints.list().map(([, endpoint]) => endpoint) },
    );
    const applied = recordMode()
        ? { enforced: false, reason: "record mode (LOCALCLOUD_RECORD=1)", ruleset }
        : applyRuleset(table, ruleset);
    const egressReason = !applied.enforced ? applied.reason : cgroupsMissing();
    const status: FirewallStatus = { ...applied, egressEnforced: applied.enforced && egressReason === undefined };
    if (!status.egressEnforced && egressReason !== undefined) status.egressReason = egressReason;
    fs.mkdirSync(firewallDir(), { recursive: true });
    fs.writeFileSync(path.join(firewallDir(), "firewall.json"), `${JSON.stringify(status, null, 2)}\n`);
    return status;
}

/** Deletes the table (the local cloud is being torn down); no error when it is not there. */
export function removeFirewall(): void {
    if (recordMode()) return;
    applyRuleset(firewallTable(), undefined);
    removeLocalCloudCgroups();
}

/** The name the real provider generates when none is given (terraform's id.PrefixedUniqueId("terraform-")). */
function generatedName(urn: string): string {
    return `${urn.split("::").pop()}-${newId("", 7)}`;
}

const diffOf = (token: string) => (olds: OldState, news: Properties) => awsDiff(token, olds, news);

const securityGroup: ResourceType = {
    defaults: { description: "Managed by Pulumi", revokeRulesOnDelete: false },
    diff: diffOf(SECURITY_GROUP),
    async create(inputs, urn) {
        const id = newId("sg-");
        const outputs = {
            ...inputs,
            name: inputs.name ?? generatedName(urn),
            arn: `arn:aws:ec2:local:000000000000:security-group/${id}`,
            ownerId: "000000000000",
            ingress: inputs.ingress ?? [],
            egress: inputs.egress ?? [],
        };
        groups.put(id, outputs);
        return { id, outputs };
    },
    async update(id, olds, news) {
        const outputs = { ...olds.outputs, ...news };
        groups.put(id, outputs);
        return outputs;
    },
    async delete(id) {
        // AWS refuses to delete a group an interface still uses (DependencyViolation); so does this.
        const users = hostInterfaces().filter((eni) => eni.securityGroupIds.includes(id));
        if (users.length > 0) {
            throw new Error(
                `DependencyViolation: security group ${id} is in use by ${users.map((eni) => eni.address).join(", ")}`,
            );
        }
        for (const [ruleId, rule] of rules.list()) {
            if (rule.securityGroupId === id) rules.remove(ruleId);
        }
        groups.remove(id);
        syncFirewall();
    },
};

function ruleOf(direction: SecurityGroupRule["direction"], inputs: Properties): SecurityGroupRule {
    const rule = { ...inputs, direction } as SecurityGroupRule;
    if (!groups.get(rule.securityGroupId)) {
        throw new Error(`InvalidGroup.NotFound: the security group '${rule.securityGroupId}' does not exist`);
    }
    protocolMatch(rule);
    return rule;
}

function ruleType(direction: SecurityGroupRule["direction"], token: string): ResourceType {
    return {
        diff: diffOf(token),
        async create(inputs) {
            const id = newId("sgr-");
            rules.put(id, ruleOf(direction, inputs));
            syncFirewall();
            return {
                id,
                outputs: {
                    ...inputs,
                    securityGroupRuleId: id,
                    arn: `arn:aws:ec2:local:000000000000:security-group-rule/${id}`,
                },
            };
        },
        async update(id, olds, news) {
            rules.put(id, ruleOf(direction, news));
            syncFirewall();
            return { ...olds.outputs, ...news };
        },
        async delete(id) {
            rules.remove(id);
            syncFirewall();
        },
    };
}

/** The security group resource types of the local aws provider, by type token. */
export const NETWORK_RESOURCES: Record<string, ResourceType> = {
    [SECURITY_GROUP]: securityGroup,
    [INGRESS_RULE]: ruleType("ingress", INGRESS_RULE),
    [EGRESS_RULE]: ruleType("egress", EGRESS_RULE),
};
