import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DnsRecords } from "../core";
import { ofMember } from "../core/deployment";
import { DNS_TTL_SECONDS } from "../core/dns";

export interface EtcdDnsArgs {
    /** Domain of the members and SRV records, e.g. "prod.etcd.internal". Required. */
    domain: string;
    /**
     * Existing Route53 zone to write the records into. Default: a new private hosted zone for
     * `domain`, attached to `vpcId`, so each cluster's SRV set stands alone.
     */
    zoneId?: pulumi.Input<string>;
    /** VPC the private zone is attached to. Required when `zoneId` is not given. */
    vpcId?: pulumi.Input<string>;
    /**
     * The record set rendered by the configuration core. Names and SRV targets are known before
     * deployment; A record addresses come from `memberAddresses`.
     */
    records: DnsRecords;
    /** Private IP of each member, in the order of `records.a`. Required. */
    memberAddresses: pulumi.Input<string>[];
    /** Tags for the zone. Default none. */
    tags?: Record<string, string>;
}

/** A record per member and the `_etcd-server(-ssl)` / `_etcd-client(-ssl)` SRV sets. */
export class EtcdDns extends pulumi.ComponentResource {
    /** The Route53 zone holding the records. */
    public readonly zoneId: pulumi.Output<string>;
    /** Every record, so dependents (members starting in DNS mode) can wait for all of them. */
    public readonly recordResources: aws.route53.Record[];

    constructor(name: string, args: EtcdDnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-aws:index:EtcdDns", name, {}, opts);
        const zoneId =
            args.zoneId !== undefined
                ? pulumi.output(args.zoneId)
                : new aws.route53.Zone(
                      `${name}-zone`,
                      {
                          name: args.domain,
                          comment: `etcd cluster records for ${args.domain}`,
                          vpcs: [{ vpcId: args.vpcId as pulumi.Input<string> }],
                          tags: args.tags,
                      },
                      { parent: this },
                  ).zoneId;

        const aRecords = args.records.a.map(
            (record, i) =>
                new aws.route53.Record(
                    `${name}-${record.name.split(".")[0]}-a`,
                    {
                        zoneId,
                        name: record.name,
                        type: "A",
                        ttl: DNS_TTL_SECONDS,
                        records: [ofMember(args.memberAddresses, i, "the member addresses")],
                    },
                    { parent: this },
                ),
        );
        const srvRecords = args.records.srv.map(
            (set) =>
                new aws.route53.Record(
                    `${name}-srv-${set.role}`,
                    {
                        zoneId,
                        name: set.name,
                        type: "SRV",
                        ttl: DNS_TTL_SECONDS,
                        records: [...set.records],
                    },
                    // The targets are the A records' names: publish them first.
                    { parent: this, dependsOn: aRecords },
                ),
        );
        this.zoneId = zoneId;
        this.recordResources = [...aRecords, ...srvRecords];
        this.registerOutputs({ zoneId: this.zoneId });
    }
}
