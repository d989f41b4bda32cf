// The local cloud's network plan and lookups: the region (from the provider's configuration), one default VPC, a
// local /24 per subnet id (127.0.<20+k>.0/24, k in the order the ids were first seen, kept in subnets.json), and
// the private addresses of network interfaces (127.0.<20+k>.<10+n>, each claimed by an exclusively created file, so
// two provider processes never hand out the same one). getSubnet answers ANY subnet id, so a stack's real-looking
// ids (stacks/Pulumi.staging.yaml) resolve to local subnets.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Properties } from "../providers/server";
import { localcloudDir } from "./state";

/** The account every local resource belongs to (ARNs, owner ids). */
export const ACCOUNT_ID = "000000000000";

/** First third octet of the subnets (127.0.20.0/24 is subnet 0) and the first host of each (.10). */
const FIRST_SUBNET_OCTET = 20;
const FIRST_HOST = 10;
/** Subnets 127.0.20.0/24 to 127.0.31.0/24: the range the local cloud's firewall guards (localcloud/aws/network.ts). */
const SUBNET_COUNT = 12;
const LAST_HOST = 250;

/** The zones of the region, dealt to subnets in turn. */
const ZONE_LETTERS = ["a", "b", "c"];

let configuredRegion: string | undefined;

/** Takes the provider configuration's region (aws:region); AWS_REGION / us-east-1 when the stack sets none. */
export function configureRegion(config: Properties): void {
    if (typeof config.region === "string" && config.region !== "") configuredRegion = config.region;
}

export function region(): string {
    return configuredRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
}

/** A regional EC2 ARN, e.g. arn:aws:ec2:eu-west-1:000000000000:instance/i-0123. */
export function ec2Arn(resource: string): string {
    return `arn:aws:ec2:${region()}:${ACCOUNT_ID}:${resource}`;
}

/** A stable AWS-style id derived from a name (so the default VPC and its subnets keep their ids). */
function derivedId(prefix: string, name: string): string {
    return `${prefix}${crypto.createHash("sha256").update(name).digest("hex").slice(0, 17)}`;
}

/** The default VPC of the region. */
export function defaultVpcId(): string {
    return derivedId("vpc-", `default-vpc-${region()}`);
}

/** The default subnet of each zone of the default VPC. */
function defaultSubnetIds(): string[] {
    return ZONE_LETTERS.map((letter) => derivedId("subnet-", `default-subnet-${region()}${letter}`));
}

const subnetsFile = (): string => path.join(localcloudDir(), "subnets.json");

/** The index k of a subnet id (127.0.<20+k>.0/24), assigned on first sight and kept. */
function subnetIndex(subnetId: string): number {
    const file = subnetsFile();
    let known: Record<string, number> = {};
    try {
        known = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, number>;
    } catch {
        // none yet
    }
    const found = known[subnetId];
    if (found !== undefined) return found;
    const used = new Set(Object.values(known));
    const index = Array.from({ length: SUBNET_COUNT }, (_, i) => i).find((i) => !used.has(i));
    if (index === undefined) throw new Error(`the local cloud has room for ${SUBNET_COUNT} subnets only`);
    known[subnetId] = index;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(known, null, 2)}\n`);
    fs.renameSync(`${file}.tmp`, file);
    return index;
}

/** A subnet as ec2.getSubnet returns it (the fields the package and the emulation read). */
export interface LocalSubnet {
    id: string;
    cidrBlock: string;
    /** "127.0.<20+k>", the /24's first three octets. */
    prefix: string;
    availabilityZone: string;
    vpcId: string;
}

export function subnet(subnetId: string): LocalSubnet {
    const index = subnetIndex(subnetId);
    const prefix = `127.0.${FIRST_SUBNET_OCTET + index}`;
    return {
        id: subnetId,
        cidrBlock: `${prefix}.0/24`,
        prefix,
        availabilityZone: `${region()}${ZONE_LETTERS[index % ZONE_LETTERS.length]}`,
        // The local cloud has one VPC: a stack's own subnet ids are reported in it.
        vpcId: defaultVpcId(),
    };
}

const addressesDir = (): string => path.join(localcloudDir(), "addresses");

/** Claims the next free address of the subnet for `owner` (an ENI id). */
export function claimAddress(subnetId: string, owner: string): string {
    const { prefix } = subnet(subnetId);
    fs.mkdirSync(addressesDir(), { recursive: true });
    for (let host = FIRST_HOST; host <= LAST_HOST; host++) {
        const address = `${prefix}.${host}`;
        try {
            fs.writeFileSync(path.join(addressesDir(), address), `${owner}\n`, { flag: "wx" });
            return address;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
    }
    throw new Error(`subnet ${subnetId} (${prefix}.0/24) has no free address`);
}

/** Gives an address back (its network interface was deleted). */
export function releaseAddress(address: string): void {
    fs.rmSync(path.join(addressesDir(), address), { force: true });
}

/** aws:ec2/getSubnet:getSubnet: any id (or the default subnet of a zone) as a local subnet. */
export function getSubnet(args: Properties): Properties {
    const zone = typeof args.availabilityZone === "string" ? args.availabilityZone : undefined;
    const id =
        typeof args.id === "string"
            ? args.id
            : (defaultSubnetIds().find((candidate) => subnet(candidate).availabilityZone === zone) ??
              defaultSubnetIds()[0]!);
    const found = subnet(id);
    return {
        id,
        arn: ec2Arn(`subnet/${id}`),
        availabilityZone: found.availabilityZone,
        availabilityZoneId: `${region()}-az${ZONE_LETTERS.indexOf(found.availabilityZone.slice(-1)) + 1}`,
        cidrBlock: found.cidrBlock,
        defaultForAz: defaultSubnetIds().includes(id),
        mapPublicIpOnLaunch: defaultSubnetIds().includes(id),
        ownerId: ACCOUNT_ID,
        state: "available",
        vpcId: found.vpcId,
        tags: {},
    };
}

/** aws:ec2/getSubnets:getSubnets: the default VPC's default subnets (the one query the package makes). */
export function getSubnets(args: Properties): Properties {
    return { id: region(), ids: defaultSubnetIds(), filters: args.filters, tags: {} };
}

/** aws:ec2/getVpc:getVpc: the default VPC (or the VPC asked for by id). */
export function getVpc(args: Properties): Properties {
    const id = typeof args.id === "string" ? args.id : defaultVpcId();
    return {
        id,
        arn: ec2Arn(`vpc/${id}`),
        cidrBlock: "127.0.16.0/20",
        default: id === defaultVpcId(),
        ownerId: ACCOUNT_ID,
        state: "available",
        tags: {},
    };
}
