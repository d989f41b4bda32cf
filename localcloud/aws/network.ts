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
// - Egress rules are recorded, not enforced: with every source 127.0.0.1, a host's outbound traffic cannot be
//   told from the machine's own.
// When nft is missing or the kernel refuses the table, the rules are only recorded (firewall.json says so).
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { awsDiff } from "../providers/aws";
import { OldState, Properties, ResourceType } from "../providers/server";
import { localcloudDir, newId, recordMode, ResourceStore } from "./state";

/** The nftables table of the current state directory (family inet; IPv4 rules only). */
export function firewallTable(): string {
    const digest = crypto.createHash("sha256").update(path.resolve(localcloudDir())).digest("hex");
    return `etcd_aws_localcloud_${digest.slice(0, 8)}`;
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

/** An interface of a local host: its address and the security groups it is in. */
export interface HostInterface {
    address: string;
    securityGroupIds: string[];
}

const groups = new ResourceStore<Properties>("security-groups");
const rules = new ResourceStore<SecurityGroupRule>("security-group-rules");

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

/** The nft match of a rule's protocol and ports; undefined for "all traffic" (-1). */
function protocolMatch(rule: SecurityGroupRule): string | undefined {
    const protocol = String(rule.ipProtocol).toLowerCase();
    if (protocol === "-1" || protocol === "all") return undefined;
    if (protocol === "tcp" || protocol === "udp" || protocol === "6" || protocol === "17") {
        const name = protocol === "6" ? "tcp" : protocol === "17" ? "udp" : protocol;
        const from = rule.fromPort ?? 0;
        const to = rule.toPort ?? 65535;
        return `${name} dport ${from === to ? from : `${from}-${to}`}`;
    }
    if (protocol === "icmp" || protocol === "1") return "meta l4proto icmp";
    throw new Error(`local aws provider: security group rule protocol ${rule.ipProtocol} is not supported`);
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

/** The chain name of one interface address. */
const chainOf = (address: string) => `eni_${address.replaceAll(".", "_")}`;

/**
 * The nftables table (as `nft -f` input) that enforces the ingress rules on the interfaces, or undefined when no
 * interface in the local cloud's range has a group (then the table is deleted).
 */
export function firewallRuleset(
    table: string,
    interfaces: HostInterface[],
    allRules: SecurityGroupRule[],
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
    return [
        `table inet ${table} {`,
        "    chain input {",
        "        type filter hook input priority filter; policy accept;",
        "        ct state established,related accept",
        ...dispatch,
        "    }",
        ...chains,
        "}",
        "",
    ].join("\n");
}

/** What the last sync did, for the README's "how faithful" and for tests: enforced or only recorded, and why. */
export interface FirewallStatus {
    enforced: boolean;
    reason?: string;
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
 * The interfaces of the local hosts as the compute emulation records them: network interfaces (their private IP
 * and securityGroups) and instances without a separate interface (privateIp and vpcSecurityGroupIds).
 */
export function hostInterfaces(): HostInterface[] {
    const stored = (kind: string, groupsKey: string): HostInterface[] =>
        new ResourceStore<{ outputs?: Properties } & Properties>(kind).list().flatMap(([, value]) => {
            const outputs = value.outputs ?? value;
            const address = outputs.privateIp;
            const ids = outputs[groupsKey];
            return typeof address === "string" && Array.isArray(ids) && ids.length > 0
                ? [{ address, securityGroupIds: ids.map(String) }]
                : [];
        });
    return [...stored("network-interfaces", "securityGroups"), ...stored("instances", "vpcSecurityGroupIds")];
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
    );
    const status = recordMode()
        ? { enforced: false, reason: "record mode (LOCALCLOUD_RECORD=1)", ruleset }
        : applyRuleset(table, ruleset);
    fs.mkdirSync(firewallDir(), { recursive: true });
    fs.writeFileSync(path.join(firewallDir(), "firewall.json"), `${JSON.stringify(status, null, 2)}\n`);
    return status;
}

/** Deletes the table (the local cloud is being torn down); no error when it is not there. */
export function removeFirewall(): void {
    if (!recordMode()) applyRuleset(firewallTable(), undefined);
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
