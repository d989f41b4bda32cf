import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_IMAGE, getAmi, publishImage } from "../../localcloud/aws/images";
import { claimAddress, configureRegion, getSubnet, getSubnets, getVpc, releaseAddress } from "../../localcloud/aws/vpc";

const UBUNTU = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*";

describe("localcloud/aws lookups: subnets, addresses and images of the local cloud", () => {
    let dir: string;
    const previous = process.env.LOCALCLOUD_DIR;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-lookups-"));
        process.env.LOCALCLOUD_DIR = dir;
        configureRegion({ region: "eu-west-1" });
    });
    afterEach(() => {
        if (previous === undefined) delete process.env.LOCALCLOUD_DIR;
        else process.env.LOCALCLOUD_DIR = previous;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("getSubnet answers any subnet id with its own /24 and zone, the same on every later lookup", () => {
        const ids = ["subnet-0aa1aa1aa1aa1aa10", "subnet-0bb2bb2bb2bb2bb20", "subnet-0cc3cc3cc3cc3cc30"];
        const first = ids.map((id) => getSubnet({ id }));
        assert.deepEqual(
            first.map((subnet) => [subnet.cidrBlock, subnet.availabilityZone]),
            [
                ["127.0.20.0/24", "eu-west-1a"],
                ["127.0.21.0/24", "eu-west-1b"],
                ["127.0.22.0/24", "eu-west-1c"],
            ],
        );
        assert.deepEqual(
            [...ids].reverse().map((id) => getSubnet({ id }).cidrBlock),
            ["127.0.22.0/24", "127.0.21.0/24", "127.0.20.0/24"],
        );
        assert.equal(first[0]?.vpcId, getVpc({ default: true }).id);
    });

    it("getSubnets returns the default VPC's three default subnets, each in its own zone", () => {
        const ids = getSubnets({ filters: [{ name: "default-for-az", values: ["true"] }] }).ids as string[];
        assert.equal(ids.length, 3);
        assert.deepEqual(ids.map((id) => getSubnet({ id }).availabilityZone).sort(), [
            "eu-west-1a",
            "eu-west-1b",
            "eu-west-1c",
        ]);
        assert.equal(
            ids.every((id) => getSubnet({ id }).defaultForAz === true),
            true,
        );
    });

    it("network interface addresses start at .10 of the subnet, are never handed out twice, and come back when released", () => {
        const subnetId = "subnet-0aa1aa1aa1aa1aa10";
        const [a, b] = [claimAddress(subnetId, "eni-a"), claimAddress(subnetId, "eni-b")];
        assert.deepEqual([a, b], ["127.0.20.10", "127.0.20.11"]);
        releaseAddress(a);
        assert.equal(claimAddress(subnetId, "eni-c"), "127.0.20.10");
        assert.equal(claimAddress(subnetId, "eni-d"), "127.0.20.12");
    });

    it("getAmi returns the default image until one is published, then the newest, named after the name filter", () => {
        const query = { owners: ["099720109477"], mostRecent: true, filters: [{ name: "name", values: [UBUNTU] }] };
        assert.equal(getAmi(query).id, DEFAULT_IMAGE.imageId);
        assert.equal(getAmi(query).name, UBUNTU.replace("*", DEFAULT_IMAGE.serial));
        const first = publishImage(new Date("2026-01-02T03:04:05Z"));
        const second = publishImage(new Date("2026-01-02T03:04:05Z"));
        assert.match(first.imageId, /^ami-[0-9a-f]{17}$/);
        assert.equal(getAmi(query).id, second.imageId);
        assert.ok(Date.parse(second.creationDate) > Date.parse(first.creationDate), "a later image is newer");
        assert.equal(getAmi(query).name, UBUNTU.replace("*", second.serial));
    });
});
