import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Ports, renderFirewallRules, SECURITY_GROUP_DESCRIPTION } from "../core";

export interface EtcdSecurityGroupArgs {
    /** VPC the members run in. Required: the group belongs to one VPC. */
    vpcId: pulumi.Input<string>;
    /** etcd's client, peer and metrics ports. Required (validated cluster settings). */
    ports: Ports;
    /** CIDRs allowed to reach the client port. Default none: only members reach it. */
    clientCidrs?: string[];
    /** Security groups whose members may reach the client port (e.g. an app tier). Default none. */
    clientSecurityGroupIds?: pulumi.Input<string>[];
    /** CIDRs allowed to reach SSH (operators, the deployment's remote commands). Default none. */
    sshCidrs?: string[];
    /** CIDRs of monitoring systems allowed to reach the metrics port. Default none. */
    monitoringCidrs?: string[];
    /** URLs members connect to outside the cluster (release mirror, discovery); their ports get egress. Default none. */
    outboundUrls?: string[];
    /** Tags for every resource. Default none. */
    tags?: Record<string, string>;
}

/**
 * The members' security group: peers only from members, clients from members and the listed
 * sources, SSH and metrics only from their listed sources, and the egress members need, each
 * as its own rule resource so a changed source replaces one rule, not the group.
 */
export class EtcdSecurityGroup extends pulumi.ComponentResource {
    /** ID of the members' security group. */
    public readonly securityGroupId: pulumi.Output<string>;
    /**
     * Every rule resource of the group. Whatever connects through them (the remote commands)
     * depends on them, so `pulumi destroy` deletes the SSH rule only after the last leave hook ran.
     */
    public readonly rules: pulumi.Resource[];

    constructor(name: string, args: EtcdSecurityGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-aws:index:EtcdSecurityGroup", name, {}, opts);
        const clientSecurityGroupIds = args.clientSecurityGroupIds ?? [];
        const rules = renderFirewallRules({
            ports: args.ports,
            clientCidrs: args.clientCidrs ?? [],
            clientSecurityGroupCount: clientSecurityGroupIds.length,
            sshCidrs: args.sshCidrs ?? [],
            monitoringCidrs: args.monitoringCidrs ?? [],
            outboundUrls: args.outboundUrls ?? [],
        });

        const group = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: args.vpcId,
                description: SECURITY_GROUP_DESCRIPTION,
                tags: { ...args.tags, Name: name },
            },
            { parent: this },
        );
        this.rules = rules.map((rule) => {
            const peer = rule.peer;
            const target = {
                securityGroupId: group.id,
                ipProtocol: "tcp",
                fromPort: rule.port,
                toPort: rule.port,
                description: rule.description,
                cidrIpv4: peer.kind === "cidr" ? peer.cidr : undefined,
                referencedSecurityGroupId:
                    peer.kind === "members"
                        ? group.id
                        : peer.kind === "securityGroup"
                          ? clientSecurityGroupIds[peer.index]
                          : undefined,
                tags: args.tags,
            };
            return rule.direction === "ingress"
                ? new aws.vpc.SecurityGroupIngressRule(`${name}-${rule.key}`, target, { parent: this })
                : new aws.vpc.SecurityGroupEgressRule(`${name}-${rule.key}`, target, { parent: this });
        });
        this.securityGroupId = group.id;
        this.registerOutputs({ securityGroupId: this.securityGroupId });
    }
}
