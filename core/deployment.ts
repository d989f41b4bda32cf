// Decisions about deploying a validated cluster that do not depend on Pulumi: what the members
// connect to outside the cluster, who makes and registers the discovery token, what each
// member's launch waits for, where members are placed, and the checks of the arguments that
// reference cloud resources. The component turns these into resources.
import { createHash } from "crypto";
import { CpuArchitecture } from "./install";
import { ClusterSpec, memberCertificateSans, MemberSpec } from "./model";
import { ConfigProblem } from "./problems";
import { ClusterSettings } from "./settings";
import { ArgKind } from "./validate/arg-types";
import { checkIntegerIn } from "./validate/checks";
import { TokenInUse } from "./validate/membership";
import { EXAMPLE_HOST_KEY_LINE, openSshPublicKeyProblem } from "./validate/ssh-keys";
import { ResolvedSettings } from "./validate";

/** Seconds the health gate waits for the cluster when `healthTimeoutSeconds` is not set. */
export const DEFAULT_HEALTH_TIMEOUT_SECONDS = 600;

/** Seconds a remote command may run beyond the health gate's own timeout before Pulumi stops it. */
const HEALTH_COMMAND_GRACE_SECONDS = 120;

/** Owner of the official Ubuntu images (Canonical). */
export const UBUNTU_AMI_OWNER = "099720109477";

/** Name pattern of the Ubuntu 24.04 LTS server images for an architecture. */
export function ubuntuAmiNamePattern(arch: CpuArchitecture): string {
    return `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${arch}-server-*`;
}

/**
 * The URLs members connect to outside the cluster: the release mirror and the discovery service.
 * The security group opens egress to their ports.
 */
export function outboundUrls(settings: Pick<ResolvedSettings, "mirrorBaseUrl" | "discovery">): string[] {
    const discovery = settings.discovery;
    return [settings.mirrorBaseUrl, ...(discovery?.endpoints ?? []), discovery?.serviceUrl, discovery?.url].filter(
        (url): url is string => url !== undefined,
    );
}

/**
 * Whether the settings hold a value that can carry a credential (a mirror or discovery URL with
 * user:password, a ready discovery URL whose token admits members): every resource input such a
 * value reaches is then secret, whether or not the user marked it so.
 */
export function credentialSettingsGiven(settings: ClusterSettings): boolean {
    const discovery = settings.discovery;
    return [settings.mirrorBaseUrl, discovery?.serviceUrl, discovery?.url, discovery?.proxy].some(
        (value) => value !== undefined,
    );
}

/**
 * The member that runs the cluster-wide commands (discovery size registration, health gate,
 * authentication): the first, which exists at every member count.
 */
export const CONTROL_MEMBER = 0;

/** How long one member's launch may take (install done; joining waits for the membership lock). */
export const LAUNCH_TIMEOUT = "10m";

/** How long the pre-change step may take: a large snapshot, or a downgrade's wait for the storage version. */
export const PREPARE_CHANGE_TIMEOUT = "20m";

/** Seconds a member's ready check waits for it to serve as a started, caught-up voting member. */
export const MEMBER_READY_TIMEOUT_SECONDS = 600;

/**
 * Whether the cluster already runs, from the stack's own last `memberNames` output (a self
 * StackReference): a non-empty list means members exist, so changes that stop or replace
 * instances must roll one member at a time. Anything else (first deployment, no output) is false.
 */
export function rollingFromLastMemberNames(lastMemberNames: unknown): boolean {
    return Array.isArray(lastMemberNames) && lastMemberNames.length > 0;
}

/**
 * Whether member `i`'s instance waits for the member before it to be ready again: when the
 * cluster runs (`rolling`), so instances are stopped or replaced one at a time; never on the
 * first deployment (a chain would serialise creation for nothing).
 */
export function waitsForPreviousMember(index: number, rolling: boolean): boolean {
    return rolling && index > 0;
}

/**
 * The instance properties Pulumi ignores: the AMI when it came from the newest-image lookup,
 * pinned once created so a new upstream image replaces nothing. An explicit AMI is followed
 * (one member at a time when rolling).
 */
export function instanceIgnoreChanges(amiFromLookup: boolean): string[] {
    return amiFromLookup ? ["ami"] : [];
}

/** The data volume's properties Pulumi ignores: its KMS key, whose change would replace the volume. */
export const DATA_VOLUME_IGNORED_CHANGES = ["kmsKeyId"];

/**
 * A script or command as a given instance runs it: a first line naming the instance, so a
 * replaced instance changes the command's input and Pulumi runs it again as an update on the new
 * host (triggers would replace it instead, and a replaced launch runs its delete: leave, on the
 * new host). A shell comment: the ID (or a plan's placeholder) is never interpreted.
 */
export function forInstance(script: string, instanceId: string): string {
    return `# etcd-aws: for instance ${instanceId.replace(/\s+/g, " ")}\n${script}`;
}

/** The wait for a booted member: cloud-init done (host key and user set up), on this instance. */
export function waitForBootCommand(instanceId: string): string {
    return forInstance("cloud-init status --wait >/dev/null 2>&1 || true; echo ready", instanceId);
}

/**
 * The package makes a discovery token (and registers the size under it) unless the user gave a
 * ready discovery URL; the registration runs on the control member, which has etcdctl and curl.
 */
export function discoveryRegistration(
    settings: Pick<ResolvedSettings, "discovery">,
): { readonly member: number } | undefined {
    return settings.discovery !== undefined && settings.discovery.url === undefined
        ? { member: CONTROL_MEMBER }
        : undefined;
}

/** What a member's launch waits for besides its own install. */
export interface LaunchDependencies {
    /** The SRV and A records (DNS bootstrap reads them). */
    readonly dnsRecords: boolean;
    /** The token's size registration (discovery bootstrap: members join up to it). */
    readonly discoverySize: boolean;
}

/**
 * Members start only when their peers can find them: SRV records published (DNS mode), size
 * registered (discovery with a token the package made). Static members need only addresses.
 */
export function launchDependencies(settings: Pick<ResolvedSettings, "mode" | "discovery">): LaunchDependencies {
    return { dnsRecords: settings.mode === "dns", discoverySize: discoveryRegistration(settings) !== undefined };
}

/** The subnet of each member: the given subnets dealt in turn (one per zone spreads the members). */
export function subnetPerMember<T>(subnets: readonly T[], memberCount: number): T[] {
    return Array.from({ length: memberCount }, (_, i) => {
        const subnet = subnets[i % subnets.length];
        if (subnet === undefined) {
            throw new Error(`no subnet to place member ${i} in: the subnet list is empty`);
        }
        return subnet;
    });
}

/**
 * Entry `i` of a list that holds one entry per member (names, subnets, addresses, certificates).
 * The lists are built from the member count, so a missing entry is a bug; this names it.
 */
export function ofMember<T>(entries: readonly T[], i: number, what: string): T {
    const entry = entries[i];
    if (entry === undefined) {
        throw new Error(`${what} has no entry for member ${i}: it has ${entries.length}`);
    }
    return entry;
}

/** Changes when any member's launch script changes: the health gate runs again then. */
export function launchScriptsDigest(scripts: readonly string[]): string {
    return createHash("sha256").update(scripts.join("\0")).digest("hex");
}

/** What `diskChecks` says of a member whose install printed no disk check (not run, or turned off). */
export const DISK_NOT_MEASURED = "not measured";

/** The install's disk check line (`etcd-aws disk check: fsync p99 ...: ok|slow`) in its output. */
const DISK_CHECK_LINE = /^etcd-aws disk check: .*$/m;

/** A member's entry of the `diskChecks` output: its install's disk check line, or DISK_NOT_MEASURED. */
export function diskCheckOf(installStdout: string | undefined): string {
    return DISK_CHECK_LINE.exec(installStdout ?? "")?.[0].trim() ?? DISK_NOT_MEASURED;
}

/** How long the health gate may wait, and how long Pulumi lets its command run. */
export function healthGateTimeouts(healthTimeoutSeconds: number | undefined): {
    readonly scriptSeconds: number;
    readonly commandTimeout: string;
} {
    const scriptSeconds = healthTimeoutSeconds ?? DEFAULT_HEALTH_TIMEOUT_SECONDS;
    return { scriptSeconds, commandTimeout: `${scriptSeconds + HEALTH_COMMAND_GRACE_SECONDS}s` };
}

/**
 * Tokens a cluster must not take, with who holds them: the clusters created earlier in the same
 * program (token -> cluster name) and tokens reserved for clusters elsewhere.
 */
export function tokensInUse(taken: {
    readonly program?: ReadonlyMap<string, string>;
    readonly reserved?: readonly string[];
}): TokenInUse[] {
    return [
        ...[...(taken.program ?? [])].map(([token, owner]) => ({ token, owner: `cluster "${owner}" in this program` })),
        ...(taken.reserved ?? []).map((token) => ({ token, owner: "another cluster (reservedClusterTokens)" })),
    ];
}

/** The kinds of the component's arguments that are not settings (checked before anything reads them). */
export const RESOURCE_ARG_KINDS: Readonly<Record<string, ArgKind>> = {
    vpcId: "string",
    subnetIds: "stringList",
    clientSecurityGroupIds: "stringList",
    ssh: "object",
    zoneId: "string",
    amiId: "string",
    kmsKeyId: "string",
    healthTimeoutSeconds: "number",
    reservedClusterTokens: "stringList",
    rolling: "booleanInput",
    privateEgress: "string",
    tags: "stringMap",
};

/** A valid value of each argument, for the fix of a wrongly typed one. */
export const RESOURCE_ARG_EXAMPLES: Readonly<Record<string, unknown>> = {
    vpcId: "vpc-0123456789abcdef0",
    subnetIds: ["subnet-0123456789abcdef0"],
    clientSecurityGroupIds: ["sg-0123456789abcdef0"],
    zoneId: "Z0123456789ABCDEFGHIJ",
    amiId: "ami-0123456789abcdef0",
    healthTimeoutSeconds: 600,
    reservedClusterTokens: ["orders-prod"],
    rolling: true,
    privateEgress: "nat",
    tags: { team: "storage" },
};
export const SSH_ARG_EXAMPLES: Readonly<Record<string, unknown>> = { user: "ubuntu", keyName: "etcd-prod" };
export const BASTION_ARG_EXAMPLES: Readonly<Record<string, unknown>> = {
    host: "bastion.example.com",
    user: "ubuntu",
    port: 22,
    hostKey: EXAMPLE_HOST_KEY_LINE,
};

/** The kinds of the SSH settings and of their bastion. */
export const SSH_ARG_KINDS: Readonly<Record<string, ArgKind>> = {
    user: "string",
    privateKey: "string",
    keyName: "string",
    bastion: "object",
};
export const BASTION_ARG_KINDS: Readonly<Record<string, ArgKind>> = {
    host: "string",
    user: "string",
    privateKey: "string",
    port: "number",
    hostKey: "string",
};

/**
 * Members that would share a subnet, and so an availability zone: one warning saying which, and
 * whether the cluster keeps its quorum when that zone fails.
 */
export function placementWarnings(
    clusterName: string,
    memberCount: number,
    subnetCount: number | undefined,
    source = "subnetIds",
): string[] {
    if (subnetCount === undefined || subnetCount === 0 || subnetCount >= memberCount) {
        return [];
    }
    const sharing = Array.from({ length: memberCount }, (_, i) => i)
        .filter((i) => i % subnetCount === 0)
        .map((i) => `${clusterName}-${i}`);
    return [
        `${source}: ${memberCount} members in ${subnetCount} subnet${subnetCount === 1 ? "" : "s"} put ${sharing.join(", ")} in one subnet; ` +
            `${zoneLoss(sharing.length, memberCount)}. List ${memberCount} subnets in different availability zones`,
    ];
}

/** What losing a zone that holds `lost` of the members does to the cluster. */
function zoneLoss(lost: number, memberCount: number): string {
    const quorum = Math.floor(memberCount / 2) + 1;
    return `losing its zone takes ${lost} of ${memberCount} members and ${memberCount - lost >= quorum ? "the rest keep quorum" : "the cluster loses its quorum"}`;
}

/**
 * Members whose distinct subnets lie in one availability zone (only the cloud knows a subnet's
 * zone): a warning naming the zone and the members, given each member's zone in member order.
 */
export function sharedZoneWarnings(clusterName: string, zones: readonly string[]): string[] {
    const byZone = new Map<string, string[]>();
    zones.forEach((zone, i) => byZone.set(zone, [...(byZone.get(zone) ?? []), `${clusterName}-${i}`]));
    const [zone, members] = [...byZone].reduce((most, entry) => (entry[1].length > most[1].length ? entry : most));
    if (members.length < 2) {
        return [];
    }
    return [
        `subnetIds: the subnets of ${members.join(", ")} are all in ${zone}; ${zoneLoss(members.length, zones.length)}. ` +
            `List subnets in ${zones.length} different availability zones`,
    ];
}

/**
 * Plaintext in a production-shaped cluster: five or more members, or members in private subnets
 * behind a bastion. Such a cluster carries data someone depends on, so clear text is warned about.
 */
export function plaintextWarnings(settings: Pick<ResolvedSettings, "tls" | "memberCount">, bastion: boolean): string[] {
    if (settings.tls || (settings.memberCount < 5 && !bastion)) {
        return [];
    }
    const shape = settings.memberCount >= 5 ? `${settings.memberCount} members` : "members behind a bastion";
    return [
        `tls: false in a production-shaped cluster (${shape}): keys, values and peer traffic cross the network in clear text; set tls: true`,
    ];
}

/** The shape of the arguments that reference cloud resources, as far as it is known before deployment. */
export interface ResourceArgsShape {
    /** False when no SSH private key was given (unknown, so true, when SSH arrives as one output). */
    readonly sshPrivateKeyGiven: boolean;
    readonly subnetCount?: number;
    readonly vpcGiven: boolean;
    readonly healthTimeoutSeconds?: number;
    /** The bastion, when members are reached through one: whether its host key was given, and its text when known. */
    readonly bastion?: { readonly hostKeyGiven: boolean; readonly hostKey?: string };
    /** The SSH settings arrive as one output (other languages): whether there is a bastion is not known yet. */
    readonly sshDeferred?: boolean;
    /** How members behind a bastion reach the internet (see PRIVATE_EGRESS). */
    readonly privateEgress?: string;
    /** Whether mirrorBaseUrl was set (else the public GitHub releases). */
    readonly mirrorBaseUrlGiven?: boolean;
}

/**
 * How members in private subnets (behind a bastion, no public IP) reach mirrorBaseUrl and the
 * discovery service; the package creates neither, so the stack says which one exists.
 */
export const PRIVATE_EGRESS = {
    /** The subnets' route tables send 0.0.0.0/0 to a NAT gateway (or instance) you manage. */
    nat: "a NAT gateway on the subnets' default route",
    /** mirrorBaseUrl is a mirror the VPC reaches without the internet (internal server, S3 gateway endpoint). */
    mirror: "a release mirror inside the VPC (mirrorBaseUrl)",
} as const;

function privateEgressProblems(args: ResourceArgsShape): ConfigProblem[] {
    const choices = Object.keys(PRIVATE_EGRESS)
        .map((choice) => `"${choice}"`)
        .join(" or ");
    if (args.privateEgress !== undefined && !(args.privateEgress in PRIVATE_EGRESS)) {
        return [
            {
                setting: "privateEgress",
                value: args.privateEgress,
                problem: `is not one of ${choices}`,
                fix: 'use "nat" when the subnets route to a NAT gateway, "mirror" when mirrorBaseUrl is inside the VPC',
            },
        ];
    }
    if (args.bastion === undefined && args.privateEgress !== undefined && args.sshDeferred !== true) {
        return [
            {
                setting: "privateEgress",
                value: args.privateEgress,
                problem:
                    "applies only to members behind a bastion (private subnets); these members connect through Elastic IPs",
                fix: "remove privateEgress, or set ssh.bastion for members in private subnets",
            },
        ];
    }
    if (args.bastion !== undefined && args.privateEgress === undefined) {
        return [
            {
                setting: "privateEgress",
                value: undefined,
                problem:
                    "members behind a bastion have no public IP, so they download etcd from mirrorBaseUrl " +
                    "(and reach discovery) only through a NAT gateway or a mirror inside the VPC; the package creates neither",
                fix: 'set privateEgress to "nat" once the subnets route 0.0.0.0/0 to a NAT gateway, or to "mirror" with mirrorBaseUrl on a mirror the VPC reaches',
            },
        ];
    }
    if (args.bastion !== undefined && args.privateEgress === "mirror" && args.mirrorBaseUrlGiven !== true) {
        return [
            {
                setting: "privateEgress",
                value: "mirror",
                problem: "says the release mirror is inside the VPC, but mirrorBaseUrl is the public GitHub default",
                fix: 'set mirrorBaseUrl to the mirror inside the VPC, or privateEgress to "nat"',
            },
        ];
    }
    return [];
}

function bastionHostKeyProblems(bastion: ResourceArgsShape["bastion"]): ConfigProblem[] {
    const fix = `set ssh.bastion.hostKey to the bastion's host key line (ssh-keyscan -t ed25519 <host>, without the host name), e.g. "${EXAMPLE_HOST_KEY_LINE}"`;
    if (bastion === undefined) {
        return [];
    }
    if (!bastion.hostKeyGiven) {
        return [
            {
                setting: "ssh.bastion.hostKey",
                value: undefined,
                problem:
                    "is required with a bastion: without it the deployment's keys and tokens go to whatever answers at the bastion's address",
                fix,
            },
        ];
    }
    const problem = bastion.hostKey === undefined ? undefined : openSshPublicKeyProblem(bastion.hostKey);
    return problem === undefined ? [] : [{ setting: "ssh.bastion.hostKey", value: bastion.hostKey, problem, fix }];
}

export function resourceArgsProblems(args: ResourceArgsShape): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (!args.sshPrivateKeyGiven) {
        problems.push({
            setting: "ssh.privateKey",
            value: undefined,
            problem: "the remote commands that install and start etcd connect over SSH",
            fix: "set the private key of the instances' login user (as a secret)",
        });
    }
    if (args.subnetCount === 0) {
        problems.push({
            setting: "subnetIds",
            value: [],
            problem: "no subnet to place members in",
            fix: "list one subnet per availability zone, or remove it to use the default VPC",
        });
    }
    if (args.subnetCount !== undefined && !args.vpcGiven) {
        problems.push({
            setting: "vpcId",
            value: undefined,
            problem: "subnetIds were given without their VPC",
            fix: "set vpcId to the subnets' VPC",
        });
    }
    if (args.healthTimeoutSeconds !== undefined) {
        checkIntegerIn(problems, "healthTimeoutSeconds", args.healthTimeoutSeconds, {
            min: 30,
            max: 3600,
            problem: "must be a whole number of seconds from 30 to 3600",
            fix: "use the default 600",
        });
    }
    problems.push(...bastionHostKeyProblems(args.bastion), ...privateEgressProblems(args));
    return problems;
}

/**
 * A member's certificate request: names from the spec, and the member's own address as the
 * deployment knows it (an output of its instance, say) where the spec has its placeholder.
 */
export function memberCertificateRequest<Address>(
    spec: Pick<ClusterSpec, "mode" | "domain">,
    member: Pick<MemberSpec, "name" | "address">,
    address: Address,
): { name: string; dnsNames: string[]; ipAddresses: (string | Address)[] } {
    const sans = memberCertificateSans(spec, member);
    return {
        name: member.name,
        dnsNames: [...sans.dnsNames],
        ipAddresses: sans.ipAddresses.map((ip) => (ip === member.address ? address : ip)),
    };
}
