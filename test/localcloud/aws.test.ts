import * as assert from "node:assert/strict";
import {
    AWS_DIFF_TABLES,
    awsDiff,
    EIP_DIFF,
    INSTANCE_DIFF,
    NETWORK_INTERFACE_DIFF,
    RECORD_DIFF,
    SECURITY_GROUP_DIFF,
    SECURITY_GROUP_RULE_DIFF,
    VOLUME_ATTACHMENT_DIFF,
    VOLUME_DIFF,
    ZONE_DIFF,
} from "../../localcloud/providers/aws";
import { OldState, Properties } from "../../localcloud/providers/server";
import { itFollowsEachRow } from "./diff-table";

const INSTANCE = "aws:ec2/instance:Instance";
const NETWORK_INTERFACE = "aws:ec2/networkInterface:NetworkInterface";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const state = (inputs: Properties): OldState => ({ inputs, outputs: inputs });
const diffOf = (token: string) => (olds: OldState, news: Properties) => awsDiff(token, olds, news);

describe("localcloud/providers/aws diff tables", () => {
    describe("ec2.Instance", () => itFollowsEachRow(diffOf(INSTANCE), INSTANCE_DIFF));
    describe("ebs.Volume", () => itFollowsEachRow(diffOf("aws:ebs/volume:Volume"), VOLUME_DIFF));
    describe("ec2.VolumeAttachment", () =>
        itFollowsEachRow(diffOf("aws:ec2/volumeAttachment:VolumeAttachment"), VOLUME_ATTACHMENT_DIFF));
    describe("ec2.NetworkInterface", () => itFollowsEachRow(diffOf(NETWORK_INTERFACE), NETWORK_INTERFACE_DIFF));
    describe("ec2.Eip", () => itFollowsEachRow(diffOf("aws:ec2/eip:Eip"), EIP_DIFF));
    describe("ec2.SecurityGroup", () =>
        itFollowsEachRow(diffOf("aws:ec2/securityGroup:SecurityGroup"), SECURITY_GROUP_DIFF));
    describe("vpc.SecurityGroupIngressRule", () => itFollowsEachRow(diffOf(INGRESS), SECURITY_GROUP_RULE_DIFF));
    describe("route53.Zone", () => itFollowsEachRow(diffOf("aws:route53/zone:Zone"), ZONE_DIFF));
    describe("route53.Record", () => itFollowsEachRow(diffOf("aws:route53/record:Record"), RECORD_DIFF));

    for (const property of ["userData", "userDataBase64"]) {
        it(`ec2.Instance: a change of ${property} replaces only with userDataReplaceOnChange (ForceNewIf)`, () => {
            const olds = { [property]: "old", userDataReplaceOnChange: false };
            assert.deepEqual(awsDiff(INSTANCE, state(olds), { ...olds, [property]: "new" }).replaces, []);
            const flagged = { ...olds, userDataReplaceOnChange: true };
            assert.deepEqual(awsDiff(INSTANCE, state(flagged), { ...flagged, [property]: "new" }).replaces, [property]);
        });
    }

    for (const source of ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"]) {
        it(`security group rule: a new ${source} of the same source kind updates, a new source kind replaces`, () => {
            const olds = { securityGroupId: "sg-1", [source]: "old" };
            assert.deepEqual(awsDiff(INGRESS, state(olds), { ...olds, [source]: "new" }), {
                diffs: [source],
                replaces: [],
            });
            const other = source === "cidrIpv4" ? "referencedSecurityGroupId" : "cidrIpv4";
            assert.deepEqual(awsDiff(INGRESS, state(olds), { securityGroupId: "sg-1", [other]: "x" }), {
                diffs: [other, source].sort(),
                replaces: [other, source].sort(),
            });
        });
    }

    it("ec2.NetworkInterface: new privateIps replace only when they drop the primary IP of the state (ForceNewIf)", () => {
        const olds = { inputs: { subnetId: "subnet-1" }, outputs: { privateIpLists: ["10.0.0.10"] } };
        const diff = (privateIps: string[]) => awsDiff(NETWORK_INTERFACE, olds, { subnetId: "subnet-1", privateIps });
        assert.deepEqual(diff(["10.0.0.10", "10.0.0.11"]), { diffs: ["privateIps"], replaces: [] });
        assert.deepEqual(diff(["10.0.0.12"]), { diffs: ["privateIps"], replaces: ["privateIps"] });
    });

    it("ec2.NetworkInterface: with privateIpListEnabled, a new first address of privateIpLists replaces", () => {
        const inputs = { subnetId: "subnet-1", privateIpListEnabled: true, privateIpLists: ["10.0.0.10"] };
        const diff = (privateIpLists: string[]) =>
            awsDiff(NETWORK_INTERFACE, state(inputs), { ...inputs, privateIpLists });
        assert.deepEqual(diff(["10.0.0.10", "10.0.0.11"]).replaces, []);
        assert.deepEqual(diff(["10.0.0.11", "10.0.0.10"]).replaces, ["privateIpLists"]);
        const unlisted = { ...inputs, privateIpListEnabled: false };
        assert.deepEqual(
            awsDiff(NETWORK_INTERFACE, state(unlisted), { ...unlisted, privateIpLists: ["10.0.0.11"] }).replaces,
            [],
        );
    });

    it("ec2.Instance: the issue's cases - a new AMI or data volume size replaces, a type change updates", () => {
        const olds = {
            ami: "ami-1",
            instanceType: "t3.small",
            ebsBlockDevices: [{ deviceName: "/dev/sdf", volumeSize: 20, tags: { a: "1" } }],
            rootBlockDevice: { volumeSize: 8, encrypted: true },
        };
        const diff = (news: Properties) => awsDiff(INSTANCE, state(olds), { ...olds, ...news });
        assert.deepEqual(diff({ ami: "ami-2" }).replaces, ["ami"]);
        assert.deepEqual(diff({ ebsBlockDevices: [{ deviceName: "/dev/sdf", volumeSize: 40, tags: {} }] }).replaces, [
            "ebsBlockDevices",
        ]);
        assert.deepEqual(diff({ instanceType: "t3.large", rootBlockDevice: { volumeSize: 16, encrypted: true } }), {
            diffs: ["instanceType", "rootBlockDevice"],
            replaces: [],
        });
    });

    it("covers every resource type the package registers and refuses one without a table", () => {
        assert.equal(Object.keys(AWS_DIFF_TABLES).length, 20);
        assert.throws(() => awsDiff("aws:kms/key:Key", state({}), {}), /no diff table for aws:kms\/key:Key/);
    });
});
