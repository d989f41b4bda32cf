import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import { remote } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ReleaseSpec, renderInstallScript } from "../core";
import { DEFAULT_SSH_USER, RUN_SCRIPT_COMMAND } from "../core/host-contract";

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
    /** AMI of the instance. Required. */
    amiId: pulumi.Input<string>;
    /** EC2 instance type. Required (validated settings). */
    instanceType: string;
    /** Subnet, and so availability zone, of the member. Required. */
    subnetId: pulumi.Input<string>;
    /** Security groups of the instance (the members' group first). Required. */
    securityGroupIds: pulumi.Input<string>[];
    /** Data volume size in GiB. Required (validated settings). */
    volumeSizeGiB: number;
    /** Data volume type. Required (validated settings). */
    volumeType: string;
    /** Provisioned IOPS of io1/io2 data volumes. Default none. */
    volumeIops?: number;
    /** KMS key for the root and data volumes. Default: the account's EBS default key. */
    kmsKeyId?: pulumi.Input<string>;
    /** The etcd release to install. Required. */
    release: ReleaseSpec;
    /** The release's mirror URL can hold a credential: keep the install script secret. Default false. */
    releaseIsSecret?: boolean;
    /** SSH access for the remote commands (an output when it comes from another language with its key secret). Required. */
    ssh: pulumi.Input<SshSettings>;
    /** Tags for the instance and its volumes. Default none. */
    tags?: Record<string, string>;
}

/** Name of the data volume device as attached; it appears as an NVMe device with the volume ID as serial. */
const DATA_DEVICE = "/dev/sdf";

/**
 * One etcd member host: an instance with IMDSv2 required, encrypted root and data volumes,
 * then two remote commands: wait until SSH answers, and install etcd (idempotent).
 */
export class EtcdMember extends pulumi.ComponentResource {
    /** The member's instance. */
    public readonly instance: aws.ec2.Instance;
    /** Private IP address etcd listens on. */
    public readonly privateIp: pulumi.Output<string>;
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
        // Read through an output: from other languages the settings arrive as one (their key is secret).
        const ssh = pulumi.output(args.ssh);
        this.instance = new aws.ec2.Instance(
            name,
            {
                ami: args.amiId,
                instanceType: args.instanceType,
                subnetId: args.subnetId,
                vpcSecurityGroupIds: args.securityGroupIds,
                // Not secret, though the key beside them is.
                keyName: pulumi.unsecret(ssh.apply((settings) => settings.keyName)),
                associatePublicIpAddress: pulumi.unsecret(ssh.apply((settings) => settings.bastion === undefined)),
                metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
                rootBlockDevice: {
                    encrypted: true,
                    kmsKeyId: args.kmsKeyId,
                    volumeType: "gp3",
                    volumeSize: 16,
                    deleteOnTermination: true,
                    tags,
                },
                ebsBlockDevices: [
                    {
                        deviceName: DATA_DEVICE,
                        encrypted: true,
                        kmsKeyId: args.kmsKeyId,
                        volumeSize: args.volumeSizeGiB,
                        volumeType: args.volumeType,
                        iops: args.volumeIops,
                        deleteOnTermination: true,
                        tags: { ...tags, Name: `${args.memberName}-data` },
                    },
                ],
                tags,
            },
            { parent: this },
        );
        this.privateIp = this.instance.privateIp;

        this.connection = pulumi.secret(
            pulumi
                .all([ssh, this.instance.publicIp, this.instance.privateIp])
                .apply(([settings, publicIp, privateIp]) => {
                    const user = settings.user ?? DEFAULT_SSH_USER;
                    const bastion = settings.bastion;
                    return {
                        host: bastion === undefined ? publicIp : privateIp,
                        user,
                        privateKey: settings.privateKey,
                        proxy:
                            bastion === undefined
                                ? undefined
                                : {
                                      host: bastion.host,
                                      user: bastion.user ?? user,
                                      privateKey: bastion.privateKey ?? settings.privateKey,
                                      port: bastion.port ?? 22,
                                  },
                    };
                }),
        );

        // A booting instance refuses connections for a while: retry without limit, bounded in time.
        const ready = new remote.Command(
            `${name}-wait`,
            {
                connection: this.connection.apply((c) => ({ ...c, dialErrorLimit: -1, perDialTimeout: 15 })),
                create: "cloud-init status --wait >/dev/null 2>&1 || true; echo ready",
                // Ubuntu's sshd refuses the PULUMI_COMMAND_* variables (a warning on every update).
                addPreviousOutputInEnv: false,
            },
            { parent: this, customTimeouts: { create: "15m" } },
        );
        const dataVolumeId = this.instance.ebsBlockDevices.apply(
            (devices) => devices.find((d) => d.deviceName === DATA_DEVICE)?.volumeId ?? "",
        );
        this.installed = new remote.Command(
            `${name}-install`,
            {
                connection: this.connection,
                create: RUN_SCRIPT_COMMAND,
                addPreviousOutputInEnv: false,
                stdin: (args.releaseIsSecret ? pulumi.secret : pulumi.output)(
                    dataVolumeId.apply((volumeId) =>
                        renderInstallScript({
                            release: args.release,
                            dataVolumeId: volumeId,
                            memberName: args.memberName,
                            clusterName: args.clusterName,
                        }),
                    ),
                ),
                // The script logs the download URL, which then holds the credential.
                logging: args.releaseIsSecret ? "none" : undefined,
            },
            {
                parent: this,
                dependsOn: [ready],
                additionalSecretOutputs: args.releaseIsSecret ? ["stdout", "stderr"] : [],
                customTimeouts: { create: "10m", update: "10m" },
            },
        );
        this.registerOutputs({ privateIp: this.privateIp });
    }
}
