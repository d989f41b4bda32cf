import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    buildClusterSpec,
    checkBootstrapPlan,
    clientEndpoints,
    ClusterSettings,
    ClusterSpec,
    ConfigProblem,
    CpuArchitecture,
    cpuArchitecture,
    formatProblems,
    HostFile,
    memberName,
    memberTlsFiles,
    placeholderAddresses,
    renderAuthScript,
    renderDnsRecords,
    renderHealthGateScript,
    renderLaunchScript,
    ResolvedSettings,
    TokenInUse,
    validateSettings,
} from "../core";
import { checkKinds } from "../core/validate/arg-types";
import {
    BASTION_ARG_EXAMPLES,
    BASTION_ARG_KINDS,
    CONTROL_MEMBER,
    credentialSettingsGiven,
    discoveryRegistration,
    diskCheckOf,
    healthGateTimeouts,
    LAUNCH_TIMEOUT,
    launchDependencies,
    PREPARE_CHANGE_TIMEOUT,
    forInstance,
    launchScriptsDigest,
    MEMBER_READY_TIMEOUT_SECONDS,
    memberCertificateRequest,
    outboundUrls,
    placementWarnings,
    plaintextWarnings,
    RESOURCE_ARG_EXAMPLES,
    RESOURCE_ARG_KINDS,
    resourceArgsProblems,
    sharedZoneWarnings,
    SSH_ARG_EXAMPLES,
    SSH_ARG_KINDS,
    ofMember,
    subnetPerMember,
    tokensInUse,
    UBUNTU_AMI_OWNER,
    ubuntuAmiNamePattern,
} from "../core/deployment";
import { LAUNCH_COMMANDS, RUN_SCRIPT_COMMAND } from "../core/host-contract";
import { renderMemberReadyScript } from "../core/scripts/member-ready";
import { MemberServices } from "../core/launch";
import {
    BACKUP_PATHS,
    BACKUP_TIMER_UNIT,
    backupHostFiles,
    BackupSettings,
    renderRestoreScript,
    restoreClusterToken,
    restoreCommand,
} from "../core/scripts/backup";
import { DEFRAG_TIMER, defragUnitFiles } from "../core/scripts/defrag";
import { quorumRecoveryFiles } from "../core/scripts/quorum-recovery";
import { renderPrepareChangeScript } from "../core/scripts/prepare-change";
import { EtcdBackup } from "./etcd-backup";
import { EtcdDiscovery } from "./etcd-discovery";
import { EtcdDns } from "./etcd-dns";
import { EtcdMember, SshSettings } from "./etcd-member";
import { EtcdPki } from "./etcd-pki";
import { EtcdSecurityGroup } from "./etcd-security-group";

export interface EtcdClusterArgs extends ClusterSettings {
    /** VPC of the cluster. Default: the account's default VPC. */
    vpcId?: pulumi.Input<string>;
    /**
     * Subnets the members are spread over, one member per subnet in turn; give one subnet per
     * availability zone. Default: the default VPC's default subnet of each zone.
     */
    subnetIds?: pulumi.Input<string>[];
    /** Security groups of clients allowed to reach port 2379, besides `clientCidrs`. Default none. */
    clientSecurityGroupIds?: pulumi.Input<string>[];
    /** SSH access for the remote commands that install and start etcd. Required. */
    ssh: SshSettings;
    /** Existing Route53 zone for the records. Default: a new private zone for `domain` in the VPC. */
    zoneId?: pulumi.Input<string>;
    /** AMI of the members. Default: the newest Ubuntu 24.04 LTS image from Canonical for the instance's architecture. */
    amiId?: pulumi.Input<string>;
    /** KMS key for the EBS volumes. Default: the account's default EBS key. */
    kmsKeyId?: pulumi.Input<string>;
    /** Seconds the health gate waits for the cluster before failing the deployment. Default 600. */
    healthTimeoutSeconds?: number;
    /**
     * Cluster tokens of other clusters (other stacks or programs) that this one must not reuse:
     * clusters sharing a token and peer URLs get the same IDs. Default none.
     */
    reservedClusterTokens?: string[];
    /**
     * The cluster already runs (the program reads it from the stack's last outputs). Then each
     * member's instance waits until the member before it is back, a started voting member that
     * caught up, so a change that stops or replaces instances (a new AMI, an instance type)
     * takes down one member at a time and the cluster keeps its quorum. Default false: the first
     * deployment creates every member in parallel (a chain would only serialise creation).
     */
    rolling?: pulumi.Input<boolean>;
    /**
     * How members behind a bastion (private subnets, no public IP) reach `mirrorBaseUrl` and the
     * discovery service: "nat" (the subnets route 0.0.0.0/0 to a NAT gateway you manage) or
     * "mirror" (`mirrorBaseUrl` is a mirror inside the VPC). Required with `ssh.bastion`, refused
     * without: the package creates neither path, so the stack states which one exists.
     */
    privateEgress?: string;
    /** Tags for every resource that takes tags. Default none. */
    tags?: Record<string, string>;
}

/** What a refusal in the constructor says happened: this cluster's resources, not the program's. */
const CLUSTER_NOT_CREATED = "no resource of this cluster was created";

/** Thrown before any resource is registered when the arguments have problems; lists every one. */
export class EtcdClusterConfigError extends pulumi.RunError {
    constructor(
        readonly problems: readonly ConfigProblem[],
        message: string,
    ) {
        super(message);
        this.name = "EtcdClusterConfigError";
    }
}

/** Tokens of the clusters this program has created (token -> cluster name), so a second cluster cannot reuse one. */
const tokensInThisProgram = new Map<string, string>();
/** Names of the clusters this program has created: a second cluster of one name would collide. */
const namesInThisProgram = new Set<string>();

/** What validation needs besides the arguments. */
export interface ValidateClusterArgsOptions {
    /** Tokens other clusters already have (e.g. the clusters created earlier in this program). Default none. */
    readonly tokensInUse?: readonly TokenInUse[];
    /** Names of the other clusters in this program. Default none. */
    readonly namesInUse?: readonly string[];
    /**
     * The etcd release the cluster runs now (its last deployed etcdVersion), so that a change etcd
     * does not support from it is refused with the way there. Default: none (a new cluster).
     */
    readonly runningVersion?: string;
    /**
     * How many members the cluster runs now (its last deployed memberNames), so that a restore is refused
     * while the member count changes (a member added during a restore would restore over the data it
     * joined with). Default: none (a new cluster).
     */
    readonly runningMemberCount?: number;
}

/** What validateClusterArgs finds: every problem, the warnings, and the settings when there are no problems. */
export interface ClusterArgsValidation {
    problems: ConfigProblem[];
    warnings: string[];
    resolved?: ResolvedSettings;
}

const isDeferred = (value: unknown): boolean => pulumi.Output.isInstance(value) || value instanceof Promise;

/** The arguments with every wrongly typed one refused (and dropped), down to the SSH bastion. */
function checkArgKinds(args: EtcdClusterArgs, problems: ConfigProblem[]): EtcdClusterArgs {
    const kept = checkKinds("", args, RESOURCE_ARG_KINDS, problems, isDeferred, RESOURCE_ARG_EXAMPLES);
    if (kept.ssh === undefined || isDeferred(kept.ssh)) {
        return kept;
    }
    const ssh = checkKinds("ssh.", kept.ssh, SSH_ARG_KINDS, problems, isDeferred, SSH_ARG_EXAMPLES);
    const bastion =
        ssh.bastion &&
        checkKinds("ssh.bastion.", ssh.bastion, BASTION_ARG_KINDS, problems, isDeferred, BASTION_ARG_EXAMPLES);
    return { ...kept, ssh: { ...ssh, bastion } as SshSettings };
}

/**
 * Every problem in the plain part of the arguments, found in one pass without creating
 * anything, and the warnings; `resolved` is set when there are no problems.
 */
export function validateClusterArgs(
    name: string,
    args: EtcdClusterArgs,
    options: ValidateClusterArgsOptions = {},
): ClusterArgsValidation {
    const problems: ConfigProblem[] = [];
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) {
        problems.push({
            setting: "args",
            value: args,
            problem: `is ${Array.isArray(args) ? "a list" : typeof args}, not an object`,
            fix: "pass an object of settings",
        });
    }
    const given = checkArgKinds(problems.length === 0 && args ? args : ({} as EtcdClusterArgs), problems);
    const ssh = isDeferred(given.ssh) ? undefined : given.ssh;
    const resourceProblems = resourceArgsProblems({
        // (From other languages ssh arrives as one output, checked when it resolves.)
        sshPrivateKeyGiven: isDeferred(given.ssh) || ssh?.privateKey !== undefined,
        subnetCount: given.subnetIds?.length,
        vpcGiven: given.vpcId !== undefined,
        healthTimeoutSeconds: given.healthTimeoutSeconds,
        // (Given inside an output from other languages: checked by the member once it resolves.)
        bastion: ssh?.bastion && {
            hostKeyGiven: ssh.bastion.hostKey !== undefined,
            hostKey: typeof ssh.bastion.hostKey === "string" ? ssh.bastion.hostKey : undefined,
        },
        privateEgress: given.privateEgress,
        sshDeferred: isDeferred(given.ssh),
        mirrorBaseUrlGiven: given.mirrorBaseUrl !== undefined,
    });
    const settingsValidation = validateSettings(name, given, {
        project: pulumi.getProject(),
        stack: pulumi.getStack(),
        tokensInUse: [...(options.tokensInUse ?? []), ...tokensInUse({ reserved: given.reservedClusterTokens })],
        namesInUse: options.namesInUse,
        runningVersion: options.runningVersion,
        runningMemberCount: options.runningMemberCount,
    });
    const { resolved } = settingsValidation;
    const warnings = [...settingsValidation.warnings];
    if (!resolved) {
        return { problems: [...problems, ...settingsValidation.problems, ...resourceProblems], warnings };
    }
    warnings.push(
        ...placementWarnings(name, resolved.memberCount, given.subnetIds?.length),
        ...plaintextWarnings(resolved, ssh?.bastion !== undefined),
    );
    // The guide's invariants on the flags members would start with (addresses stand in).
    problems.push(
        ...resourceProblems,
        ...checkBootstrapPlan(buildClusterSpec(resolved, placeholderAddresses(resolved.memberCount), "token")),
    );
    return problems.length > 0 ? { problems, warnings } : { problems, warnings, resolved };
}

/**
 * The default VPC's default subnet of each zone (one per zone), dealt to members in turn; with
 * fewer zones than members, a warning once the lookup says how many there are.
 */
function defaultSubnetPerMember(
    name: string,
    cluster: pulumi.Resource,
    vpcId: pulumi.Input<string>,
    count: number,
): pulumi.Output<string>[] {
    const ids = aws.ec2
        .getSubnetsOutput(
            {
                filters: [
                    { name: "vpc-id", values: [vpcId] },
                    { name: "default-for-az", values: ["true"] },
                ],
            },
            { parent: cluster },
        )
        .ids.apply((found) => {
            for (const warning of placementWarnings(name, count, found.length, "the default VPC's default subnets")) {
                pulumi.log.warn(warning, cluster);
            }
            return [...found].sort();
        });
    return Array.from({ length: count }, (_, i) =>
        ids.apply((sorted) => ofMember(subnetPerMember(sorted, count), i, "the default subnets")),
    );
}

/** Warns once the subnets' zones are known if members in different subnets share a zone. */
function warnOnSharedZones(name: string, cluster: pulumi.Resource, zones: pulumi.Output<string>[]): void {
    pulumi.all(zones).apply((known) => {
        for (const warning of sharedZoneWarnings(name, known)) {
            pulumi.log.warn(warning, cluster);
        }
    });
}

/** The stack's AWS region (aws:region), which signs the backups' uploads. */
function backupRegion(name: string): string {
    const region = aws.config.region;
    if (!region) {
        const problems = [
            {
                setting: "aws:region",
                value: undefined,
                problem: "backups sign their uploads for the bucket's region, and the stack sets none",
                fix: "pulumi config set aws:region <region>, e.g. eu-west-1",
            },
        ];
        throw new EtcdClusterConfigError(
            problems,
            formatProblems(`etcd cluster "${name}"`, problems, CLUSTER_NOT_CREATED),
        );
    }
    return region;
}

/** The newest Ubuntu 24.04 LTS image from Canonical for the architecture. */
function newestUbuntuAmi(arch: CpuArchitecture, opts: pulumi.InvokeOutputOptions): pulumi.Output<string> {
    const filters = [
        { name: "name", values: [ubuntuAmiNamePattern(arch)] },
        { name: "virtualization-type", values: ["hvm"] },
    ];
    return aws.ec2.getAmiOutput({ owners: [UBUNTU_AMI_OWNER], mostRecent: true, filters }, opts).id;
}

/**
 * The TLS files member `i` is given: the CA and its own certificates and keys (server, peer and
 * admin); never another member's key, never the application's.
 */
function tlsFilesOf(pki: EtcdPki, i: number): pulumi.Output<HostFile[]> {
    const member = ofMember(pki.members, i, "the certificates");
    return pulumi
        .all([
            pki.caCertPem,
            member.serverCertPem,
            member.peerCertPem,
            member.keyPem,
            member.adminCertPem,
            member.adminKeyPem,
        ])
        .apply(([ca, serverCertPem, peerCertPem, keyPem, adminCertPem, adminKeyPem]) =>
            memberTlsFiles(ca, { serverCertPem, peerCertPem, keyPem, adminCertPem, adminKeyPem }),
        );
}

/**
 * The services every member runs beside etcd: the defrag timer (and the space recovery an operator
 * runs), the recovery from quorum loss (an operator runs it on the one surviving member), and the
 * backup timer when the cluster has backups.
 */
function memberServices(
    spec: ClusterSpec,
    member: ClusterSpec["members"][number],
    backup: BackupSettings | undefined,
): MemberServices {
    return {
        files: [
            ...defragUnitFiles(spec, member),
            ...quorumRecoveryFiles(spec, member),
            ...(backup ? backupHostFiles(spec, member, backup) : []),
        ],
        timers: [DEFRAG_TIMER, ...(backup ? [BACKUP_TIMER_UNIT] : [])],
    };
}

/**
 * A production etcd cluster on EC2: members spread over availability zones, a security group
 * that opens etcd's ports to exactly who needs them, Route53 A and SRV records, mutual TLS,
 * and remote commands that install etcd, start every member with flags rendered from the
 * cluster's shape (static, DNS SRV or discovery bootstrap), and wait until the cluster is
 * healthy. Every setting is validated, all at once, before anything is created.
 */
export class EtcdCluster extends pulumi.ComponentResource {
    /** Client URLs of the members, as etcdctl's --endpoints wants them. */
    public readonly clientEndpoints: pulumi.Output<string[]>;
    /** Member names, `<cluster>-<n>`. */
    public readonly memberNames: pulumi.Output<string[]>;
    /** Private IP of each member. */
    public readonly memberPrivateIps: pulumi.Output<string[]>;
    /** EC2 instance ID of each member. */
    public readonly instanceIds: pulumi.Output<string[]>;
    /** The members' security group (reference it to let more clients in). */
    public readonly securityGroupId: pulumi.Output<string>;
    /** Route53 zone holding the members' A records and the SRV records. */
    public readonly zoneId: pulumi.Output<string>;
    /** DNS domain of the members and SRV records (`etcdctl --discovery-srv <domain>`). */
    public readonly domain: pulumi.Output<string>;
    /** `--initial-cluster-token` of the cluster. */
    public readonly clusterToken: pulumi.Output<string>;
    /** The etcd version installed. */
    public readonly etcdVersion: pulumi.Output<string>;
    /** How the cluster bootstrapped: static, dns or discovery. */
    public readonly bootstrapMode: pulumi.Output<string>;
    /** The discovery token (secret); empty unless bootstrapMode is discovery. */
    public readonly discoveryToken: pulumi.Output<string>;
    /** CA certificate to trust (empty without TLS). */
    public readonly caCertPem: pulumi.Output<string>;
    /**
     * Application client certificate (empty without TLS): its common name is `clientUser`, the
     * etcd user it acts as with auth on; never root.
     */
    public readonly clientCertPem: pulumi.Output<string>;
    /** The application certificate's key (secret; empty without TLS). */
    public readonly clientKeyPem: pulumi.Output<string>;
    /** The etcd user the application certificate acts as (empty without TLS). */
    public readonly clientUser: pulumi.Output<string>;
    /** Password of etcd user root (secret; empty unless auth is on). */
    public readonly rootPassword: pulumi.Output<string>;
    /**
     * Each member's data volume fsync check from its install (member name -> `etcd-aws disk check:
     * fsync p99 <ms> ms over <n> writes (etcd asks <= 10 ms): ok|slow`), or "not measured".
     */
    public readonly diskChecks: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { problems, warnings, resolved } = validateClusterArgs(name, args, {
            tokensInUse: tokensInUse({ program: tokensInThisProgram }),
            namesInUse: [...namesInThisProgram],
        });
        if (!resolved) {
            throw new EtcdClusterConfigError(
                problems,
                formatProblems(`etcd cluster "${name}"`, problems, CLUSTER_NOT_CREATED),
            );
        }
        const settings = resolved;
        super("etcd-aws:index:EtcdCluster", name, {}, opts);
        tokensInThisProgram.set(settings.clusterToken, name);
        namesInThisProgram.add(name);
        for (const warning of warnings) {
            pulumi.log.warn(warning, this);
        }
        const parent = { parent: this };
        const tags = { ...args.tags, "etcd-aws:cluster": name };
        const names = Array.from({ length: settings.memberCount }, (_, i) => memberName(name, i));
        const arch = cpuArchitecture(settings.instanceType);

        const vpcId =
            args.vpcId !== undefined ? pulumi.output(args.vpcId) : aws.ec2.getVpcOutput({ default: true }, parent).id;
        const subnetIds: pulumi.Input<string>[] = args.subnetIds
            ? subnetPerMember(args.subnetIds, settings.memberCount)
            : defaultSubnetPerMember(name, this, vpcId, settings.memberCount);
        const zones = subnetIds.map((id) => aws.ec2.getSubnetOutput({ id }, parent).availabilityZone);
        if (args.subnetIds && args.subnetIds.length >= settings.memberCount) {
            // Fewer subnets than members were warned about already; here each member has its own.
            warnOnSharedZones(name, this, zones);
        }
        const amiId = args.amiId ?? newestUbuntuAmi(arch, parent);
        // From other languages the SSH settings arrive as one output: privateEgress, required
        // exactly when there is a bastion, says whether members are private before they resolve.
        const publicAddress = isDeferred(args.ssh) ? args.privateEgress === undefined : args.ssh.bastion === undefined;

        const release = {
            version: settings.version,
            arch,
            mirrorBaseUrl: settings.mirrorBaseUrl,
            sha256: settings.etcdSha256,
        };
        const network = new EtcdSecurityGroup(
            `${name}-network`,
            {
                vpcId,
                ports: settings.ports,
                clientCidrs: [...settings.clientCidrs],
                clientSecurityGroupIds: args.clientSecurityGroupIds,
                sshCidrs: [...settings.sshCidrs],
                monitoringCidrs: [...settings.monitoringCidrs],
                outboundUrls: outboundUrls(settings),
                tags,
            },
            parent,
        );

        const backup = settings.backup
            ? new EtcdBackup(
                  `${name}-backup`,
                  {
                      clusterName: name,
                      bucketName: settings.backup.bucket,
                      createBucket: settings.backup.createBucket,
                      region: backupRegion(name),
                      prefix: settings.backup.prefix,
                      intervalMinutes: settings.backup.intervalMinutes,
                      retentionDays: settings.backup.retentionDays,
                      objectLock: settings.backup.objectLock,
                      kmsKeyArn: args.kmsKeyId,
                      s3Endpoint: settings.backup.s3Endpoint,
                      imdsEndpoint: settings.backup.imdsEndpoint,
                      s3CaPem: settings.backup.s3CaPem,
                      tags,
                  },
                  parent,
              )
            : undefined;

        // Member i's instance waits for member i-1's ready check (rolling), which is created
        // after the launches: each member gets the promise of its predecessor's.
        const readyResolvers: ((ready: pulumi.Resource) => void)[] = [];
        const readyPromises = names.map(() => new Promise<pulumi.Resource>((resolve) => readyResolvers.push(resolve)));
        // Every member's instance and data volume wait for the pre-change step, created after them.
        let changePreparedResolver: (prepared: pulumi.Resource) => void = () => undefined;
        const changePrepared = new Promise<pulumi.Resource>((resolve) => (changePreparedResolver = resolve));
        // The installs take the cluster's spec, known once every member's interface has its address.
        let specResolver: (spec: pulumi.Output<ClusterSpec>) => void = () => undefined;
        const clusterSpec = new Promise<pulumi.Output<ClusterSpec>>((resolve) => (specResolver = resolve));
        const members = names.map(
            (member, i) =>
                new EtcdMember(
                    member,
                    {
                        memberName: member,
                        clusterName: name,
                        index: i,
                        amiId,
                        amiFromLookup: args.amiId === undefined,
                        instanceType: settings.instanceType,
                        subnetId: ofMember(subnetIds, i, "the subnets"),
                        availabilityZone: ofMember(zones, i, "the subnets' zones"),
                        securityGroupIds: [network.securityGroupId],
                        publicAddress,
                        privateEgress: args.privateEgress,
                        rolling: args.rolling,
                        previousMemberReady: i > 0 ? readyPromises[i - 1] : undefined,
                        changePrepared,
                        clusterSpec,
                        diskCheck: settings.diskCheck,
                        iamInstanceProfile: backup?.instanceProfileName,
                        connectionDependsOn: network.rules,
                        volumeSizeGiB: settings.volumeSizeGiB,
                        volumeType: settings.volumeType,
                        volumeIops: settings.volumeIops,
                        kmsKeyId: args.kmsKeyId,
                        release,
                        releaseIsSecret: credentialSettingsGiven(args),
                        ssh: args.ssh,
                        tags,
                    },
                    parent,
                ),
        );
        const addresses = pulumi.all(members.map((member) => member.privateIp));
        const specFor = (ips: readonly string[], token: string): ClusterSpec => buildClusterSpec(settings, ips, token);
        // Names, SRV records and URLs that do not depend on addresses are known before deployment.
        const staticSpec = specFor(placeholderAddresses(settings.memberCount), "");

        const dns = new EtcdDns(
            `${name}-dns`,
            {
                domain: settings.domain,
                zoneId: args.zoneId,
                vpcId,
                records: renderDnsRecords(staticSpec),
                memberAddresses: members.map((member) => member.privateIp),
                tags,
            },
            parent,
        );

        const registration = discoveryRegistration(settings);
        const registrar = registration ? members[registration.member] : undefined;
        const discovery = registrar
            ? new EtcdDiscovery(
                  `${name}-discovery`,
                  {
                      specForToken: (token) => specFor(placeholderAddresses(settings.memberCount), token),
                      registerSize: true,
                      connection: registrar.connection,
                      dependsOn: [registrar.installed, ...network.rules],
                  },
                  parent,
              )
            : undefined;
        const discoveryToken = discovery ? discovery.token : pulumi.secret(pulumi.output(""));

        const pki = settings.tls
            ? new EtcdPki(
                  `${name}-pki`,
                  {
                      clusterName: name,
                      // Names from the placeholder spec; the IP SAN is the member's real address.
                      members: staticSpec.members.map((member, i) =>
                          memberCertificateRequest(staticSpec, member, ofMember(members, i, "the members").privateIp),
                      ),
                      validityHours: settings.certificateValidityDays * 24,
                      earlyRenewalHours: settings.certificateRenewalDays * 24,
                      clientUser: settings.clientUser,
                  },
                  parent,
              )
            : undefined;

        const spec = pulumi.all([addresses, discoveryToken]).apply(([ips, token]) => {
            const rendered = specFor(ips, token);
            const problems = checkBootstrapPlan(rendered);
            if (problems.length > 0) {
                throw new EtcdClusterConfigError(
                    problems,
                    formatProblems(
                        `etcd cluster "${name}"`,
                        problems,
                        "the deployment stopped before any member started",
                    ),
                );
            }
            return rendered;
        });
        specResolver(spec);
        const waitsFor = launchDependencies(settings);
        const startAfter: pulumi.Resource[] = [
            ...(waitsFor.dnsRecords ? dns.recordResources : []),
            ...(waitsFor.discoverySize && discovery?.registration ? [discovery.registration] : []),
        ];
        // What each member's launch writes: its flags, certificates and the member list.
        const configurations = members.map((_, i) =>
            pulumi.all([spec, pki ? tlsFilesOf(pki, i) : []]).apply(([rendered, files]) => {
                const member = ofMember(rendered.members, i, "the cluster spec");
                return renderLaunchScript(
                    rendered,
                    member,
                    files,
                    {},
                    memberServices(rendered, member, backup?.settings),
                );
            }),
        );
        // Each names its instance: a replaced instance runs its launch again, as an update.
        const launchScripts = members.map((member, i) =>
            pulumi
                .all([ofMember(configurations, i, "the configurations"), member.instance.id])
                .apply(([configuration, instanceId]) => forInstance(configuration, instanceId)),
        );
        const control = ofMember(members, CONTROL_MEMBER, "the members");
        // Before anything stops, replaces, removes or re-versions a member: a checked snapshot, and
        // the downgrade API's steps when the release goes down. It runs on the first member, which
        // every change keeps, through its network interface (no instance: the instances wait for it).
        // Nothing runs on creation (no cluster answers there yet, nor on a graph from before this
        // step); an update runs whenever the shape in its script changes, which only a risky change
        // does: the members, the release, the instance type, an explicit AMI, the data volumes or
        // any member's configuration (flags, certificates).
        const prepareChange = new command.remote.Command(
            `${name}-prepare-change`,
            {
                connection: control.connection,
                update: RUN_SCRIPT_COMMAND,
                stdin: pulumi
                    .all([
                        spec,
                        pulumi.unsecret(pulumi.all(configurations).apply(launchScriptsDigest)),
                        args.amiId ?? "",
                    ])
                    .apply(([rendered, configurationDigest, amiId]) =>
                        renderPrepareChangeScript(rendered, {
                            backupCommand: backup ? BACKUP_PATHS.backupScript : undefined,
                            shape: {
                                memberNames: names,
                                etcdVersion: settings.version.text,
                                instanceType: settings.instanceType,
                                amiId,
                                volume: `${settings.volumeSizeGiB} GiB ${settings.volumeType}${settings.volumeIops ? ` ${settings.volumeIops} IOPS` : ""}`,
                                configurationDigest,
                            },
                        }),
                    ),
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: [...network.rules],
                // A large snapshot, or a downgrade's wait for every member's storage version.
                customTimeouts: { update: PREPARE_CHANGE_TIMEOUT },
            },
        );
        changePreparedResolver(prepareChange);
        // Launches run in parallel, so creation takes as long for seven members as for one. On an
        // update each script restarts its member only under the cluster-wide membership lock and
        // only when every other member is healthy, then waits until it serves again: changes roll
        // one member at a time and stop at the first member that does not come back. A member
        // that goes away (scale-in, destroy) leaves the cluster first, keeping quorum.
        const launches = members.map(
            (member, i) =>
                new command.remote.Command(
                    `${ofMember(names, i, "the member names")}-launch`,
                    {
                        connection: member.connection,
                        // Bootstrap only on creation; on update restart or join; leave before deletion.
                        create: LAUNCH_COMMANDS.create,
                        update: LAUNCH_COMMANDS.update,
                        delete: LAUNCH_COMMANDS.delete,
                        stdin: pulumi.secret(ofMember(launchScripts, i, "the launch scripts")),
                        addPreviousOutputInEnv: false,
                    },
                    {
                        parent: this,
                        dependsOn: [member.installed, prepareChange, ...startAfter, ...network.rules],
                        // The script carries keys and tokens; keep whatever it prints out of plain state too.
                        additionalSecretOutputs: ["stdout", "stderr"],
                        customTimeouts: { create: LAUNCH_TIMEOUT, update: LAUNCH_TIMEOUT, delete: LAUNCH_TIMEOUT },
                    },
                ),
        );
        // After each launch: the member is a started voting member, healthy and caught up. Its
        // instance, type or AMI changing runs it again; the next member's instance waits for it.
        const readyChecks = members.map((member, i) => {
            const memberName = ofMember(names, i, "the member names");
            const ready = new command.remote.Command(
                `${memberName}-ready`,
                {
                    connection: member.connection,
                    create: RUN_SCRIPT_COMMAND,
                    stdin: spec.apply((rendered) =>
                        renderMemberReadyScript(rendered, ofMember(rendered.members, i, "the cluster spec"), {
                            timeoutSeconds: MEMBER_READY_TIMEOUT_SECONDS,
                        }),
                    ),
                    triggers: [member.instance.id, member.instance.instanceType, member.instance.ami],
                    addPreviousOutputInEnv: false,
                },
                {
                    parent: this,
                    dependsOn: [ofMember(launches, i, "the launches"), ...network.rules],
                    // On failure it prints etcd's last log lines.
                    additionalSecretOutputs: ["stdout", "stderr"],
                    customTimeouts: {
                        create: `${MEMBER_READY_TIMEOUT_SECONDS + 120}s`,
                        update: `${MEMBER_READY_TIMEOUT_SECONDS + 120}s`,
                    },
                },
            );
            ofMember(readyResolvers, i, "the ready checks")(ready);
            return ready;
        });
        // restoreFromSnapshot (with its intent): after every member is ready, each restores the backup
        // at once as a member of a new cluster (a token derived from the URI); the health gate then
        // checks the restored cluster. The same URI renders the same script, so the next up changes
        // nothing, and a member's later launch keeps the restored data (an existing data directory
        // ignores the initial cluster token and state).
        const restoreFrom = settings.backup?.restoreFrom;
        const restores =
            restoreFrom && backup
                ? members.map(
                      (member, i) =>
                          new command.remote.Command(
                              `${ofMember(names, i, "the member names")}-restore`,
                              {
                                  connection: member.connection,
                                  create: restoreCommand(restoreFrom),
                                  update: restoreCommand(restoreFrom),
                                  stdin: spec.apply((rendered) =>
                                      renderRestoreScript(
                                          rendered,
                                          ofMember(rendered.members, i, "the cluster spec"),
                                          backup.settings,
                                          restoreClusterToken(rendered.clusterToken, restoreFrom),
                                      ),
                                  ),
                                  addPreviousOutputInEnv: false,
                              },
                              {
                                  parent: this,
                                  dependsOn: [...launches, ...readyChecks, ...network.rules],
                                  customTimeouts: { create: LAUNCH_TIMEOUT, update: LAUNCH_TIMEOUT },
                              },
                          ),
                  )
                : [];
        const healthTimeout = healthGateTimeouts(args.healthTimeoutSeconds);
        const healthGate = new command.remote.Command(
            `${name}-health`,
            {
                connection: control.connection,
                create: RUN_SCRIPT_COMMAND,
                stdin: spec.apply((rendered) =>
                    renderHealthGateScript(rendered, { timeoutSeconds: healthTimeout.scriptSeconds }),
                ),
                // Any member's new configuration runs the gate again.
                triggers: [
                    pulumi.unsecret(pulumi.all(launchScripts).apply(launchScriptsDigest)),
                    ...(restoreFrom ? [restoreFrom] : []),
                ],
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: [...launches, ...readyChecks, ...restores, ...network.rules],
                // On failure it prints etcd's last log lines, which name the discovery token and URL.
                additionalSecretOutputs: ["stdout", "stderr"],
                customTimeouts: { create: healthTimeout.commandTimeout, update: healthTimeout.commandTimeout },
            },
        );

        const rootPassword = settings.auth
            ? new random.RandomPassword(`${name}-root-password`, { length: 32, special: false }, parent).result
            : pulumi.secret(pulumi.output(""));
        if (settings.auth) {
            // After the gate: authentication on a cluster that has not formed would lock it out.
            new command.remote.Command(
                `${name}-auth`,
                {
                    connection: control.connection,
                    create: RUN_SCRIPT_COMMAND,
                    stdin: pulumi.secret(
                        pulumi.all([spec, rootPassword]).apply(([rendered, password]) =>
                            renderAuthScript(rendered, {
                                rootPassword: password,
                                clientUser: settings.clientUser,
                                clientKeyPrefix: settings.clientKeyPrefix,
                            }),
                        ),
                    ),
                    logging: "none",
                    addPreviousOutputInEnv: false,
                },
                {
                    parent: this,
                    dependsOn: [healthGate, ...network.rules],
                    additionalSecretOutputs: ["stdout", "stderr"],
                },
            );
        }

        // From the addresses alone: the spec also holds the (secret) discovery token.
        this.clientEndpoints = addresses.apply((ips) => clientEndpoints(specFor(ips, "")));
        this.memberNames = pulumi.output(names);
        this.memberPrivateIps = addresses;
        this.instanceIds = pulumi.all(members.map((member) => member.instance.id));
        this.securityGroupId = network.securityGroupId;
        this.zoneId = dns.zoneId;
        this.domain = pulumi.output(settings.domain);
        this.clusterToken = pulumi.output(settings.clusterToken);
        this.etcdVersion = pulumi.output(settings.version.text);
        this.bootstrapMode = pulumi.output(settings.mode);
        this.discoveryToken = discoveryToken;
        this.caCertPem = pki ? pki.caCertPem : pulumi.output("");
        this.clientCertPem = pki ? pki.clientCertPem : pulumi.output("");
        this.clientKeyPem = pki ? pki.clientKeyPem : pulumi.secret(pulumi.output(""));
        this.clientUser = pulumi.output(pki ? settings.clientUser : "");
        this.rootPassword = pulumi.secret(rootPassword);
        this.diskChecks = pulumi
            .all(members.map((member) => member.installed.stdout))
            .apply((outputs) => Object.fromEntries(names.map((member, i) => [member, diskCheckOf(outputs[i])])));
        this.registerOutputs({
            clientEndpoints: this.clientEndpoints,
            memberNames: this.memberNames,
            memberPrivateIps: this.memberPrivateIps,
            instanceIds: this.instanceIds,
            securityGroupId: this.securityGroupId,
            zoneId: this.zoneId,
            domain: this.domain,
            clusterToken: this.clusterToken,
            etcdVersion: this.etcdVersion,
            bootstrapMode: this.bootstrapMode,
            discoveryToken: this.discoveryToken,
            caCertPem: this.caCertPem,
            clientCertPem: this.clientCertPem,
            clientKeyPem: this.clientKeyPem,
            clientUser: this.clientUser,
            rootPassword: this.rootPassword,
            diskChecks: this.diskChecks,
        });
    }
}
