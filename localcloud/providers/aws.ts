// The local `aws` provider (@pulumi/aws 7.x, a bridge of hashicorp/terraform-provider-aws). Its diff side: per
// resource type the package uses (or issue 12's fixed graph will use), which input changes replace and which update,
// each row read from the terraform-provider-aws source file it cites (ForceNew / RequiresReplace / ForceNewIf), at the
// commit named (the stored versions read; inputs newer than them, e.g. aws 7's per-resource `region`, have no row).
// Inputs without a row update in place. The emulation (localcloud/aws/: compute.ts says what is emulated and what is
// not, network.ts the security groups) and the functions the package calls (getAmi, getSubnet(s), getVpc) build on it.
import { providerVersion } from "../plugins";
import { COMPUTE_RESOURCES } from "../aws/compute";
import { DNS_RESOURCES } from "../aws/dns";
import { IAM_RESOURCES } from "../aws/iam";
import { getAmi } from "../aws/images";
import { NETWORK_RESOURCES } from "../aws/network";
import { S3_RESOURCES } from "../aws/s3";
import { configureRegion, getSubnet, getSubnets, getVpc } from "../aws/vpc";
import { diffByTable, DiffResult, DiffRule, OldState, Properties, ProviderSpec, serveProvider } from "./server";

const EC2 = "hashicorp/terraform-provider-aws internal/service/ec2";
const ROUTE53 = "hashicorp/terraform-provider-aws internal/service/route53";
const S3 = "hashicorp/terraform-provider-aws internal/service/s3";
const IAM = "hashicorp/terraform-provider-aws internal/service/iam";

function rows(change: DiffRule["change"], source: string, properties: string[]): DiffRule[] {
    return properties.map((property) => ({ property, change, source }));
}

const INSTANCE = `${EC2}/ec2_instance.go@0015dfcd`;

/** aws_instance's user_data(_base64): customdiff.ForceNewIf user_data_replace_on_change. */
const userDataReplaceOnChange = (_olds: Properties, news: Properties): boolean => news.userDataReplaceOnChange === true;

/** aws_instance (ec2_instance.go ResourceInstance's schema and CustomizeDiff). */
export const INSTANCE_DIFF: DiffRule[] = [
    ...rows("replace", INSTANCE, [
        "ami",
        "associatePublicIpAddress",
        "availabilityZone",
        "ebsOptimized",
        "ephemeralBlockDevices",
        "hibernation",
        "hostId",
        "ipv6AddressCount",
        "ipv6Addresses",
        "keyName",
        "launchTemplate",
        "placementGroup",
        "placementPartitionNumber",
        "privateDnsNameOptions",
        "privateIp",
        "securityGroups",
        "subnetId",
        "tenancy",
    ]),
    {
        property: "cpuOptions",
        change: "replace",
        source: INSTANCE,
        fields: ["amdSevSnp", "coreCount", "threadsPerCore"],
    },
    {
        property: "ebsBlockDevices",
        change: "replace",
        source: INSTANCE,
        fields: [
            "deleteOnTermination",
            "deviceName",
            "encrypted",
            "iops",
            "kmsKeyId",
            "snapshotId",
            "throughput",
            "volumeSize",
            "volumeType",
        ],
    },
    { property: "enclaveOptions", change: "replace", source: INSTANCE, fields: ["enabled"] },
    {
        property: "networkInterfaces",
        change: "replace",
        source: INSTANCE,
        fields: ["deleteOnTermination", "deviceIndex", "networkCardIndex", "networkInterfaceId"],
    },
    // "For the root volume, you can only modify ... volume size, volume type, and the Delete on Termination flag."
    { property: "rootBlockDevice", change: "replace", source: INSTANCE, fields: ["encrypted", "kmsKeyId"] },
    { property: "userData", change: "replace", source: INSTANCE, replaceIf: userDataReplaceOnChange },
    { property: "userDataBase64", change: "replace", source: INSTANCE, replaceIf: userDataReplaceOnChange },
    ...rows("update", INSTANCE, [
        "instanceType",
        "vpcSecurityGroupIds",
        "tags",
        "userDataReplaceOnChange",
        "metadataOptions",
        "monitoring",
        "disableApiStop",
        "disableApiTermination",
        "iamInstanceProfile",
        "sourceDestCheck",
        "secondaryPrivateIps",
        "creditSpecification",
        "maintenanceOptions",
        "instanceInitiatedShutdownBehavior",
        "volumeTags",
    ]),
];

const VOLUME = `${EC2}/ebs_volume.go@0073593e`;

/** aws_ebs_volume: size, type, iops and throughput are modified in place (ModifyVolume); the rest replaces. */
export const VOLUME_DIFF: DiffRule[] = [
    ...rows("replace", VOLUME, [
        "availabilityZone",
        "encrypted",
        "kmsKeyId",
        "multiAttachEnabled",
        "outpostArn",
        "snapshotId",
    ]),
    ...rows("update", VOLUME, [
        "size",
        "type",
        "iops",
        "throughput",
        "tags",
        "finalSnapshot",
        "volumeInitializationRate",
    ]),
];

const ATTACHMENT = `${EC2}/ebs_volume_attachment.go@0620f2a6`;

/** aws_volume_attachment: device, instance and volume are ForceNew; Update is a no-op for the flags. */
export const VOLUME_ATTACHMENT_DIFF: DiffRule[] = [
    ...rows("replace", ATTACHMENT, ["deviceName", "instanceId", "volumeId"]),
    ...rows("update", ATTACHMENT, ["forceDetach", "skipDestroy", "stopInstanceBeforeDetaching"]),
];

const NETWORK_INTERFACE = `${EC2}/vpc_network_interface.go@01c08000`;

/** The first (primary) address of a list of private IPs. */
const primaryOf = (list: unknown): unknown => (Array.isArray(list) ? list[0] : undefined);

/**
 * aws_network_interface's CustomizeDiff ForceNewIf("private_ips"): without private_ip_list_enabled, a new set of
 * private IPs replaces only when it no longer holds the old primary IP (the first of the state's private_ip_list).
 */
const primaryIpDropped = (_olds: Properties, news: Properties, oldOutputs: Properties): boolean =>
    news.privateIpListEnabled !== true &&
    Array.isArray(news.privateIps) &&
    !news.privateIps.includes(primaryOf(oldOutputs.privateIpLists));

/** ForceNewIf("private_ip_list"): with private_ip_list_enabled, a new first address of the list replaces. */
const primaryIpChanged = (olds: Properties, news: Properties): boolean =>
    news.privateIpListEnabled === true &&
    Array.isArray(olds.privateIpLists) &&
    Array.isArray(news.privateIpLists) &&
    primaryOf(olds.privateIpLists) !== primaryOf(news.privateIpLists);

/** aws_network_interface: subnet_id and interface_type are ForceNew; a new primary IP replaces (CustomizeDiff). */
export const NETWORK_INTERFACE_DIFF: DiffRule[] = [
    ...rows("replace", NETWORK_INTERFACE, ["subnetId", "interfaceType"]),
    { property: "privateIps", change: "replace", source: NETWORK_INTERFACE, replaceIf: primaryIpDropped },
    { property: "privateIpLists", change: "replace", source: NETWORK_INTERFACE, replaceIf: primaryIpChanged },
    ...rows("update", NETWORK_INTERFACE, [
        "attachments",
        "description",
        "ipv4PrefixCount",
        "ipv4Prefixes",
        "ipv6AddressCount",
        "ipv6AddressListEnabled",
        "ipv6AddressLists",
        "ipv6Addresses",
        "ipv6PrefixCount",
        "ipv6Prefixes",
        // Optional and Computed without ForceNew: the provider's Update has no call for it, AWS keeps the address.
        "privateIp",
        "privateIpListEnabled",
        "privateIpsCount",
        "securityGroups",
        "sourceDestCheck",
        "tags",
    ]),
];

const EIP = `${EC2}/ec2_eip.go@01606926`;

/** aws_eip: address, domain and the pools are ForceNew; the association (instance, network_interface) updates. */
export const EIP_DIFF: DiffRule[] = [
    ...rows("replace", EIP, ["address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool"]),
    ...rows("update", EIP, ["associateWithPrivateIp", "customerOwnedIpv4Pool", "instance", "networkInterface", "tags"]),
];

const SECURITY_GROUP = `${EC2}/vpc_security_group.go@01606926`;

/** aws_security_group: description, name, name_prefix, vpc_id are ForceNew; inline rules update. */
export const SECURITY_GROUP_DIFF: DiffRule[] = [
    ...rows("replace", SECURITY_GROUP, ["description", "name", "namePrefix", "vpcId"]),
    ...rows("update", SECURITY_GROUP, ["ingress", "egress", "tags", "revokeRulesOnDelete"]),
];

const RULE = `${EC2}/vpc_security_group_ingress_rule.go@00a32209 (its schema; egress_rule.go@050ac111 embeds it)`;

/** The source inputs of a security group rule: exactly one is set (ConfigValidators ExactlyOneOf). */
const RULE_SOURCES = ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"];

/** ModifyPlan: "When you modify a rule, you cannot change the rule's source type" - a new source kind replaces. */
const sourceKindChanged = (olds: Properties, news: Properties): boolean =>
    RULE_SOURCES.find((name) => olds[name] !== undefined) !== RULE_SOURCES.find((name) => news[name] !== undefined);

/** aws_vpc_security_group_ingress_rule / _egress_rule: the group replaces, the rest is ModifySecurityGroupRules. */
export const SECURITY_GROUP_RULE_DIFF: DiffRule[] = [
    { property: "securityGroupId", change: "replace", source: RULE },
    ...RULE_SOURCES.map((property): DiffRule => ({
        property,
        change: "replace",
        source: RULE,
        replaceIf: sourceKindChanged,
    })),
    ...rows("update", RULE, ["description", "fromPort", "toPort", "ipProtocol", "tags"]),
];

const ZONE = `${ROUTE53}/zone.go@036631a1`;

/** aws_route53_zone: name and delegation_set_id are ForceNew; comment, VPC associations and tags update. */
export const ZONE_DIFF: DiffRule[] = [
    ...rows("replace", ZONE, ["name", "delegationSetId"]),
    ...rows("update", ZONE, ["comment", "vpcs", "forceDestroy", "tags"]),
];

const RECORD = `${ROUTE53}/record.go@00655c16`;

/** aws_route53_record: name and zone_id are ForceNew; records, ttl, type, aliases and policies are UPSERTed. */
export const RECORD_DIFF: DiffRule[] = [
    ...rows("replace", RECORD, ["name", "zoneId"]),
    ...rows("update", RECORD, [
        "records",
        "ttl",
        "type",
        "aliases",
        "setIdentifier",
        "allowOverwrite",
        "healthCheckId",
        "weightedRoutingPolicies",
        "failoverRoutingPolicies",
        "latencyRoutingPolicies",
        "geolocationRoutingPolicies",
        "geoproximityRoutingPolicy",
        "cidrRoutingPolicy",
        "multivalueAnswerRoutingPolicy",
    ]),
];

// bucket.go and bucket_lifecycle_configuration.go: the newest stored versions' commits; their rows are the ones
// the registry's docs mark "forces new resource" (the schemas were not re-read line by line, unlike the others).
const BUCKET = `${S3}/bucket.go@4c72bcc7`;

/** aws_s3_bucket: bucket, bucket_prefix and object_lock_enabled are ForceNew (S3 sets Object Lock at creation). */
export const BUCKET_DIFF: DiffRule[] = [
    ...rows("replace", BUCKET, ["bucket", "bucketPrefix", "objectLockEnabled"]),
    ...rows("update", BUCKET, ["forceDestroy", "tags"]),
];

/** The bucket configurations: the bucket and expected_bucket_owner are ForceNew, the configuration is put again. */
const bucketConfigurationDiff = (file: string, updates: string[]): DiffRule[] => [
    ...rows("replace", `${S3}/${file}`, ["bucket", "expectedBucketOwner"]),
    ...rows("update", `${S3}/${file}`, updates),
];

/** aws_s3_bucket_versioning (versioning_configuration and mfa update in place). */
export const BUCKET_VERSIONING_DIFF = bucketConfigurationDiff("bucket_versioning.go@01c08000", [
    "versioningConfiguration",
    "mfa",
]);

/** aws_s3_bucket_server_side_encryption_configuration (rule updates in place). */
export const BUCKET_ENCRYPTION_DIFF = bucketConfigurationDiff(
    "bucket_server_side_encryption_configuration.go@01606926",
    ["rules"],
);

/** aws_s3_bucket_lifecycle_configuration (the framework resource: bucket and owner RequiresReplace; rules update). */
export const BUCKET_LIFECYCLE_DIFF = bucketConfigurationDiff("bucket_lifecycle_configuration.go@edd83424", [
    "rules",
    "transitionDefaultMinimumObjectSize",
]);

/** aws_s3_bucket_object_lock_configuration: object_lock_enabled is ForceNew too; rule and token update. */
export const BUCKET_OBJECT_LOCK_DIFF: DiffRule[] = [
    ...rows("replace", `${S3}/bucket_object_lock_configuration.go@01c08000`, [
        "bucket",
        "expectedBucketOwner",
        "objectLockEnabled",
    ]),
    ...rows("update", `${S3}/bucket_object_lock_configuration.go@01c08000`, ["rule", "token"]),
];

const PUBLIC_ACCESS_BLOCK = `${S3}/bucket_public_access_block.go@01606926`;

/** aws_s3_bucket_public_access_block: only the bucket is ForceNew; the four flags are put again. */
export const BUCKET_PUBLIC_ACCESS_BLOCK_DIFF: DiffRule[] = [
    ...rows("replace", PUBLIC_ACCESS_BLOCK, ["bucket"]),
    ...rows("update", PUBLIC_ACCESS_BLOCK, [
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
        "skipDestroy",
    ]),
];

const BUCKET_POLICY = `${S3}/bucket_policy.go@0073593e`;

/** aws_s3_bucket_policy: the bucket is ForceNew; the policy is put again (Update is resourceBucketPolicyPut). */
export const BUCKET_POLICY_DIFF: DiffRule[] = [
    ...rows("replace", BUCKET_POLICY, ["bucket"]),
    ...rows("update", BUCKET_POLICY, ["policy"]),
];

const ROLE = `${IAM}/role.go@0040ea69`;

/** aws_iam_role: name, name_prefix and path are ForceNew; the trust policy, limits, policies and tags update. */
export const ROLE_DIFF: DiffRule[] = [
    ...rows("replace", ROLE, ["name", "namePrefix", "path"]),
    ...rows("update", ROLE, [
        "assumeRolePolicy",
        "description",
        "forceDetachPolicies",
        "inlinePolicies",
        "managedPolicyArns",
        "maxSessionDuration",
        "permissionsBoundary",
        "tags",
    ]),
];

const ROLE_POLICY = `${IAM}/role_policy.go@02f97af8`;

/** aws_iam_role_policy: name, name_prefix and role are ForceNew; the policy is put again. */
export const ROLE_POLICY_DIFF: DiffRule[] = [
    ...rows("replace", ROLE_POLICY, ["name", "namePrefix", "role"]),
    ...rows("update", ROLE_POLICY, ["policy"]),
];

const INSTANCE_PROFILE = `${IAM}/instance_profile.go@013f1736`;

/** aws_iam_instance_profile: name, name_prefix and path are ForceNew; the role is removed and added in place. */
export const INSTANCE_PROFILE_DIFF: DiffRule[] = [
    ...rows("replace", INSTANCE_PROFILE, ["name", "namePrefix", "path"]),
    ...rows("update", INSTANCE_PROFILE, ["role", "tags"]),
];

/** The diff table of each resource type, by type token. */
export const AWS_DIFF_TABLES: Record<string, DiffRule[]> = {
    "aws:ec2/instance:Instance": INSTANCE_DIFF,
    "aws:ebs/volume:Volume": VOLUME_DIFF,
    "aws:ec2/volumeAttachment:VolumeAttachment": VOLUME_ATTACHMENT_DIFF,
    "aws:ec2/networkInterface:NetworkInterface": NETWORK_INTERFACE_DIFF,
    "aws:ec2/eip:Eip": EIP_DIFF,
    "aws:ec2/securityGroup:SecurityGroup": SECURITY_GROUP_DIFF,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": SECURITY_GROUP_RULE_DIFF,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": SECURITY_GROUP_RULE_DIFF,
    "aws:route53/zone:Zone": ZONE_DIFF,
    "aws:route53/record:Record": RECORD_DIFF,
    "aws:s3/bucket:Bucket": BUCKET_DIFF,
    "aws:s3/bucketVersioning:BucketVersioning": BUCKET_VERSIONING_DIFF,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": BUCKET_ENCRYPTION_DIFF,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": BUCKET_PUBLIC_ACCESS_BLOCK_DIFF,
    "aws:s3/bucketPolicy:BucketPolicy": BUCKET_POLICY_DIFF,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": BUCKET_LIFECYCLE_DIFF,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": BUCKET_OBJECT_LOCK_DIFF,
    "aws:iam/role:Role": ROLE_DIFF,
    "aws:iam/rolePolicy:RolePolicy": ROLE_POLICY_DIFF,
    "aws:iam/instanceProfile:InstanceProfile": INSTANCE_PROFILE_DIFF,
};

/** The AWS provider's diff of one resource of type `token`. */
export function awsDiff(token: string, olds: OldState, news: Properties): DiffResult {
    const table = AWS_DIFF_TABLES[token];
    if (!table) throw new Error(`local aws provider: no diff table for ${token}`);
    return diffByTable(table, olds.inputs, news, olds.outputs);
}

/**
 * The local aws provider: its resource types and functions. Built on call (the resource modules import this one's
 * diff tables, so they are complete only once this module has loaded).
 */
export function awsProvider(): ProviderSpec {
    return {
        name: "aws",
        version: providerVersion("aws"),
        resources: { ...COMPUTE_RESOURCES, ...NETWORK_RESOURCES, ...DNS_RESOURCES, ...S3_RESOURCES, ...IAM_RESOURCES },
        invokes: {
            "aws:ec2/getAmi:getAmi": getAmi,
            "aws:ec2/getSubnet:getSubnet": getSubnet,
            "aws:ec2/getSubnets:getSubnets": getSubnets,
            "aws:ec2/getVpc:getVpc": getVpc,
        },
        configure: configureRegion,
    };
}

if (require.main === module) serveProvider(awsProvider());
