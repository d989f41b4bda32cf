// The real Pulumi engine with the local aws provider in record mode (LOCALCLOUD_RECORD=1: every record and output,
// nothing started, so no fixed address is used): the functions the package calls, the member graph's resource
// types with the real id formats and outputs, the provider's region, a preview whose reasons follow the diff tables
// (a volume resize updates, a newly published image replaces the instance), and a destroy that leaves no record.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { publishImage } from "../../localcloud/aws/images";
import { PULUMI, PulumiProject, pulumiProject } from "./pulumi-project";

const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const aws = require("@pulumi/aws");
const config = new pulumi.Config();
const filters = [{ name: "name", values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] }];
const ami = aws.ec2.getAmiOutput({ owners: ["099720109477"], mostRecent: true, filters });
const vpc = aws.ec2.getVpcOutput({ default: true });
const defaults = aws.ec2.getSubnetsOutput({ filters: [{ name: "vpc-id", values: [vpc.id] }] });
const subnetId = "subnet-0aa1aa1aa1aa1aa10";
const subnet = aws.ec2.getSubnetOutput({ id: subnetId });
const nic = new aws.ec2.NetworkInterface("nic", { subnetId });
const eip = new aws.ec2.Eip("eip", { domain: "vpc", networkInterface: nic.id });
const size = Number(config.get("size") || 20);
const data = new aws.ebs.Volume("data", { availabilityZone: subnet.availabilityZone, size, type: "gp3", encrypted: true });
const vm = new aws.ec2.Instance("vm", {
    ami: ami.id,
    instanceType: "t3.small",
    networkInterfaces: [{ networkInterfaceId: nic.id, deviceIndex: 0 }],
    keyName: "absent-in-record-mode",
}, { deleteBeforeReplace: true });
const attach = new aws.ec2.VolumeAttachment("attach", {
    deviceName: "/dev/sdf", instanceId: vm.id, volumeId: data.id, stopInstanceBeforeDetaching: true,
}, { deleteBeforeReplace: true });
module.exports = {
    ami: ami.id, amiName: ami.name, vpc: vpc.id, defaultSubnets: defaults.ids, zone: subnet.availabilityZone,
    cidr: subnet.cidrBlock, eni: nic.id, privateIp: nic.privateIp, eip: eip.id, publicIp: eip.publicIp,
    volume: data.id, instance: vm.id, instanceArn: vm.arn, instanceEni: vm.primaryNetworkInterfaceId,
    attach: attach.id,
};
`;

describe("localcloud aws provider under the real engine (record mode)", function () {
    this.timeout(180_000);
    let project: PulumiProject | undefined;
    let cloud: string;
    const pulumi = (...args: string[]): Promise<string> => project!.pulumi(...args);

    before(async function () {
        if (!fs.existsSync(PULUMI)) {
            console.log(`    skipped: ${PULUMI} is missing (scripts/bootstrap.sh builds it)`);
            this.skip();
        }
        project = pulumiProject("localcloud-aws-engine", PROGRAM, { LOCALCLOUD_RECORD: "1" });
        cloud = path.join(project.directory, "cloud");
        project.env.LOCALCLOUD_DIR = cloud;
        await pulumi("stack", "init", "dev", "--secrets-provider", "passphrase");
        await pulumi("config", "set", "aws:region", "eu-west-1");
    });

    after(() => project?.remove());

    it("up: lookups, network interface, Eip, volume, instance and attachment with the real id formats and outputs", async () => {
        await pulumi("up", "--yes", "--skip-preview");
        const out = JSON.parse(await pulumi("stack", "output", "--json")) as Record<string, unknown>;
        assert.equal(out.ami, "ami-0c0ffee0000000001");
        assert.equal(out.amiName, "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101");
        assert.match(String(out.vpc), /^vpc-[0-9a-f]{17}$/);
        assert.equal((out.defaultSubnets as string[]).length, 3);
        assert.deepEqual([out.zone, out.cidr, out.privateIp], ["eu-west-1a", "127.0.20.0/24", "127.0.20.10"]);
        assert.match(String(out.eni), /^eni-[0-9a-f]{17}$/);
        assert.match(String(out.eip), /^eipalloc-[0-9a-f]{17}$/);
        assert.match(String(out.volume), /^vol-[0-9a-f]{17}$/);
        assert.match(String(out.instance), /^i-[0-9a-f]{17}$/);
        assert.match(String(out.attach), /^vai-\d+$/);
        assert.equal(out.instanceArn, `arn:aws:ec2:eu-west-1:000000000000:instance/${String(out.instance)}`);
        // The instance's own publicIp is what it had at launch (the Eip may associate after it): the SSH host is the Eip's.
        assert.deepEqual([out.instanceEni, out.publicIp], [out.eni, "127.0.20.10"]);
        assert.equal(fs.existsSync(path.join(cloud, "hosts")), false, "record mode starts no host");
    });

    it("preview --diff: a larger volume updates it; a newly published image replaces the instance and its attachment", async () => {
        await pulumi("config", "set", "size", "40");
        const previous = process.env.LOCALCLOUD_DIR;
        process.env.LOCALCLOUD_DIR = cloud;
        try {
            publishImage();
        } finally {
            if (previous === undefined) delete process.env.LOCALCLOUD_DIR;
            else process.env.LOCALCLOUD_DIR = previous;
        }
        const preview = JSON.parse(await pulumi("preview", "--diff", "--json")) as {
            steps: { op: string; urn: string; diffReasons?: string[] }[];
        };
        const changed = preview.steps
            .filter((step) => step.op !== "same")
            .map((step) => [step.op, step.urn.split("::").pop(), step.diffReasons ?? []]);
        assert.deepEqual(changed.sort(), [
            ["replace", "attach", []],
            ["replace", "vm", ["ami"]],
            ["update", "data", ["size"]],
        ]);
    });

    it("destroy deletes every resource and leaves no record in the local cloud", async () => {
        await pulumi("destroy", "--yes");
        for (const kind of ["instances", "network-interfaces", "eips", "volumes", "volume-attachments", "addresses"]) {
            assert.deepEqual(fs.readdirSync(path.join(cloud, kind)), [], kind);
        }
    });
});
