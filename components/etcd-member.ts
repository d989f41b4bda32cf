import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import { remote } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ClusterSpec, formatProblems, ReleaseSpec, renderInstallScript } from "../core";
import {
    DATA_VOLUME_IGNORED_CHANGES,
    instanceIgnoreChanges,
    resourceArgsProblems,
    waitForBootCommand,
    waitsForPreviousMember,
} from "../core/deployment";
import { DEFAULT_SSH_USER, RUN_SCRIPT_COMMAND } from "../core/host-contract";
import { DATA_DEVICE_NAME } from "../core/install";
import { DiskCheck } from "../core/model";
import { hostKeyLine, renderMemberUserData } from "../core/user-data";

/** How the deployment reaches members over SSH. */
export interface SshSettings {
    /** Login user with passwordless sudo. Default "ubuntu" (the user of the Ubuntu AMIs looked up by default). */
    user?: string;
    /** Private key of that user (OpenSSH or PEM). Keep it secret (`pulumi config set --secret`). Required. */
    privateKey: pulumi.Input<string>;
    /** Name of the EC2 key pair installed on the instances. Default none (the image's own keys). */
    keyName?: pulumi.Input<string>;
    /**
     * Bastion host for members in private subnets: commands connect to members' private IPs
     * through it, and members get no public IP. Default none (connect to public IPs).
     */
    bastion?: BastionSettings;
}

/** A jump host reachable from where `pulumi up` runs. */
export interface BastionSettings {
    /** Bastion address. Required. */
    host: pulumi.Input<string>;
    /**
     * The bastion's SSH host key, one OpenSSH public key line (`ssh-ed25519 AAAA...`, as
     * `ssh-keyscan -t ed25519 <host>` prints it without the host name). Required: every
     * connection pins it, so keys and tokens never go to whatever else answers at `host`.
     */
    hostKey: pulumi.Input<string>;
    /** Bastion login user. Default: the members' user. */
    user?: string;
    /** Bastion private key. Default: the members' key. */
    privateKey?: pulumi.Input<string>;
    /** Bastion SSH port. Default 22. */
    port?: number;
}

export interface EtcdMemberArgs {
    /** etcd member name, also the instance's Name tag. Required. */
    memberName: string;
    /** Cluster the member belongs to, for tags and script headers. Required. */
    clusterName: string;
    /** Position of the member in the cluster (0 first). Required. */
    index: number;
    /** AMI of the instance. Required. */
    amiId: pulumi.Input<string>;
    /** The AMI came from the newest-image lookup: pinned once created (a new image replaces nothing). Required. */
    amiFromLookup: boolean;
    /** EC2 instance type. Required (validated settings). */
    instanceType: string;
    /** Subnet, and so availability zone, of the member. Required. */
    subnetId: pulumi.Input<string>;
    /** The subnet's availability zone (the data volume's). Required. */
    availabilityZone: pulumi.Input<string>;
    /** Security groups of the network interface (the members' group first). Required. */
    securityGroupIds: pulumi.Input<string>[];
    /**
     * Whether the member gets an Elastic IP that SSH connects to (no bastion). Known before the
     * SSH settings resolve (from other languages they arrive as one secret output). Required.
     */
    publicAddress: boolean;
    /** How private members reach the internet (EtcdClusterArgs.privateEgress), checked against the resolved SSH settings. Default none. */
    privateEgress?: string;
    /** Data volume size in GiB. Required (validated settings). */
    volumeSizeGiB: number;
    /** Data volume type. Required (validated settings). */
    volumeType: string;
    /** Provisioned IOPS of io1/io2 data volumes. Default none. */
    volumeIops?: number;
    /** What the install does with the data volume's fsync measurement (the diskCheck setting). Default "warn". */
    diskCheck?: DiskCheck;
    /**
     * The cluster's spec (its members' addresses are known only after every member's interface):
     * the install stops etcd for an offline filesystem grow only under the cluster's membership
     * lock. Default none (an install that cannot grow the volume online fails then).
     */
    clusterSpec?: Promise<pulumi.Output<ClusterSpec>>;
    /** KMS key for the root and data volumes. Default: the account's EBS default key. */
    kmsKeyId?: pulumi.Input<string>;
    /** The etcd release to install. Required. */
    release: ReleaseSpec;
    /** The release's mirror URL can hold a credential: keep the install script secret. Default false. */
    releaseIsSecret?: boolean;
    /** SSH access for the remote commands (an output when it comes from another language with its key secret). Required. */
    ssh: pulumi.Input<SshSettings>;
    /**
     * The cluster already runs: the instance waits for `previousMemberReady`, so instances are
     * stopped or replaced one at a time. Default false (first deployment: all in parallel).
     */
    rolling?: pulumi.Input<boolean>;
    /** The previous member's ready check (rolling only). Default none. */
    previousMemberReady?: pulumi.Input<pulumi.Resource>;
    /**
     * The cluster's pre-change step (snapshot, downgrade API): the instance and the data volume
     * wait for it, so no member is stopped, replaced or resized before it succeeded. Default none.
     */
    changePrepared?: pulumi.Input<pulumi.Resource>;
    /**
     * What the SSH connections pass through (the security group's rules): every command depends
     * on them, so destroy removes the SSH rule only after the last command's delete ran. Default none.
     */
    connectionDependsOn?: pulumi.Resource[];
    /** Instance profile of the instance (the backups' rights). Default none. */
    iamInstanceProfile?: pulumi.Input<string>;
    /** Tags for the instance and its volumes. Default none. */
    tags?: Record<string, string>;
}

/**
 * The SSH settings' checks once they resolve (from other languages they arrive as one output, so
 * the cluster could not check the bastion's host key, nor that privateEgress matches a bastion).
 */
function checkResolvedSsh(memberName: string, settings: SshSettings, privateEgress: string | undefined): void {
    const bastion = settings.bastion;
    const problems = resourceArgsProblems({
        sshPrivateKeyGiven: settings.privateKey !== undefined,
        vpcGiven: true,
        bastion: bastion && {
            hostKeyGiven: bastion.hostKey !== undefined,
            hostKey: typeof bastion.hostKey === "string" ? bastion.hostKey : undefined,
        },
        privateEgress,
        // The mirror itself was checked with the other settings.
        mirrorBaseUrlGiven: true,
    });
    if (problems.length > 0) {
        throw new pulumi.RunError(formatProblems(`etcd member "${memberName}"`, problems, "no member started"));
    }
}

/**
 * One etcd member host: a network interface that keeps the member's private IP (and so its
 * peer URL) across instance replacement, an Elastic IP on it when there is no bastion, a data
 * volume that outlives the instance, an SSH host key the program generates and every connection
 * pins, and the instance (IMDSv2 required, encrypted root volume) with the volume attached; then
 * two remote commands: wait until the instance booted, and install etcd (idempotent).
 */
export class EtcdMember extends pulumi.ComponentResource {
    /** The member's instance (replaced around the network interface and the data volume). */
    public readonly instance: aws.ec2.Instance;
    /** The member's network interface: its private IP outlives the instance. */
    public readonly networkInterface: aws.ec2.NetworkInterface;
    /** The member's data volume (etcd's data directory): resized in place, outlives the instance. */
    public readonly dataVolume: aws.ebs.Volume;
    /** Private IP address etcd listens on. */
    public readonly privateIp: pulumi.Output<string>;
    /** The SSH host key line every connection to the member pins. */
    public readonly hostPublicKey: pulumi.Output<string>;
    /** SSH connection the remote commands use (secret: it holds the key). */
    public readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /** The install command; configuration must wait for it. */
    public readonly installed: remote.Command;

    constructor(name: string, args: EtcdMemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-aws:index:EtcdMember", name, {}, opts);
        const tags = {
            ...args.tags,
            Name: args.memberName,
            "etcd-aws:cluster": args.clusterName,
            "etcd-aws:member": args.memberName,
        };
        const parent = { parent: this };
        // Read through an output: from other languages the settings arrive as one (their key is secret).
        const ssh = pulumi.output(args.ssh);
        const changePrepared = args.changePrepared;

        this.networkInterface = new aws.ec2.NetworkInterface(
            `${name}-nic`,
            { subnetId: args.subnetId, securityGroups: args.securityGroupIds, tags },
            parent,
        );
        this.privateIp = this.networkInterface.privateIp;
        const publicIp = args.publicAddress
            ? new aws.ec2.Eip(
                  `${name}-eip`,
                  { domain: "vpc", networkInterface: this.networkInterface.id, tags },
                  parent,
              ).publicIp
            : undefined;
        this.dataVolume = new aws.ebs.Volume(
            `${name}-data`,
            {
                availabilityZone: args.availabilityZone,
                size: args.volumeSizeGiB,
                type: args.volumeType,
                iops: args.volumeIops,
                encrypted: true,
                kmsKeyId: args.kmsKeyId,
                tags: { ...tags, Name: `${args.memberName}-data` },
            },
            {
                parent: this,
                // A new key would replace every member's volume (and its data) at once: it applies to
                // volumes created after the change; re-encrypting one takes a snapshot copy.
                ignoreChanges: DATA_VOLUME_IGNORED_CHANGES,
                dependsOn: changePrepared ? [changePrepared] : [],
            },
        );
        const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, parent);
        this.hostPublicKey = hostKey.publicKeyOpenssh.apply(hostKeyLine);

        const previousMemberReady = args.previousMemberReady;
        this.instance = new aws.ec2.Instance(
            name,
            {
                ami: args.amiId,
                instanceType: args.instanceType,
                networkInterfaces: [{ networkInterfaceId: this.networkInterface.id, deviceIndex: 0 }],
                // Not secret, though the key beside them is.
                keyName: pulumi.unsecret(ssh.apply((settings) => settings.keyName)),
                metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
                iamInstanceProfile: args.iamInstanceProfile,
                rootBlockDevice: {
                    encrypted: true,
                    kmsKeyId: args.kmsKeyId,
                    volumeType: "gp3",
                    volumeSize: 16,
                    deleteOnTermination: true,
                    tags,
                },
                // It holds the host's private key.
                userData: pulumi.secret(
                    pulumi
                        .all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh])
                        .apply(([privateKeyOpenssh, publicKeyOpenssh]) =>
                            renderMemberUserData({ privateKeyOpenssh, publicKeyOpenssh }),
                        ),
                ),
                tags,
            },
            {
                parent: this,
                // The network interface takes one instance: the old one goes first.
                deleteBeforeReplace: true,
                ignoreChanges: instanceIgnoreChanges(args.amiFromLookup),
                dependsOn: pulumi
                    .output(args.rolling ?? false)
                    .apply((rolling) => [
                        ...(waitsForPreviousMember(args.index, rolling) && previousMemberReady
                            ? [previousMemberReady]
                            : []),
                        ...(changePrepared ? [changePrepared] : []),
                    ]),
            },
        );
        const attachment = new aws.ec2.VolumeAttachment(
            `${name}-attach`,
            {
                deviceName: DATA_DEVICE_NAME,
                instanceId: this.instance.id,
                volumeId: this.dataVolume.id,
                // etcd stops cleanly (the unit's stop) before its data volume goes.
                stopInstanceBeforeDetaching: true,
            },
            { parent: this, deleteBeforeReplace: true },
        );

        this.connection = pulumi.secret(
            pulumi
                .all([ssh, publicIp ?? "", this.privateIp, this.hostPublicKey])
                .apply(([settings, publicAddress, privateAddress, memberHostKey]) => {
                    checkResolvedSsh(args.memberName, settings, args.privateEgress);
                    const user = settings.user ?? DEFAULT_SSH_USER;
                    const bastion = settings.bastion;
                    return {
                        host: args.publicAddress ? publicAddress : privateAddress,
                        user,
                        privateKey: settings.privateKey,
                        hostKey: memberHostKey,
                        proxy:
                            bastion === undefined
                                ? undefined
                                : {
                                      host: bastion.host,
                                      user: bastion.user ?? user,
                                      privateKey: bastion.privateKey ?? settings.privateKey,
                                      port: bastion.port ?? 22,
                                      hostKey: bastion.hostKey,
                                  },
                    };
                }),
        );

        // A booting instance refuses connections for a while: retry without limit, bounded in time.
        const booted = new remote.Command(
            `${name}-wait`,
            {
                connection: this.connection.apply((c) => ({ ...c, dialErrorLimit: -1, perDialTimeout: 15 })),
                // Names the instance: a replaced instance runs the wait again (an update).
                create: pulumi.unsecret(this.instance.id.apply(waitForBootCommand)),
                // Ubuntu's sshd refuses the PULUMI_COMMAND_* variables (a warning on every update).
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: [...(args.connectionDependsOn ?? [])],
                customTimeouts: { create: "15m", update: "15m" },
            },
        );
        this.installed = new remote.Command(
            `${name}-install`,
            {
                connection: this.connection,
                create: RUN_SCRIPT_COMMAND,
                addPreviousOutputInEnv: false,
                // The volume, its size and the instance: a new instance or a grown volume runs it again.
                // The spec is secret for its discovery token, which the install never renders (only
                // endpoints, file paths and the lock key): unsecret, so previews show the install.
                stdin: (args.releaseIsSecret ? pulumi.secret : pulumi.unsecret)(
                    pulumi
                        .all([this.dataVolume.id, this.instance.id, pulumi.output(args.clusterSpec)])
                        .apply(([volumeId, instanceId, spec]) => {
                            const member = spec?.members[args.index];
                            return renderInstallScript({
                                release: args.release,
                                dataVolumeId: volumeId,
                                volumeSizeGiB: args.volumeSizeGiB,
                                instanceId,
                                memberName: args.memberName,
                                clusterName: args.clusterName,
                                diskCheck: args.diskCheck,
                                cluster: spec && member ? { spec: spec as ClusterSpec, member } : undefined,
                            });
                        }),
                ),
                // The script logs the download URL, which then holds the credential.
                logging: args.releaseIsSecret ? "none" : undefined,
            },
            {
                parent: this,
                dependsOn: [booted, attachment, ...(args.connectionDependsOn ?? [])],
                additionalSecretOutputs: args.releaseIsSecret ? ["stdout", "stderr"] : [],
                customTimeouts: { create: "10m", update: "10m" },
            },
        );
        this.registerOutputs({ privateIp: this.privateIp, hostPublicKey: this.hostPublicKey });
    }
}
