import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_DEFAULTS } from "../core";
import { backupBucketPolicy, backupMemberPolicy, BackupSettings } from "../core/scripts/backup";

/** Object Lock's retention mode for every backup (S3's default retention of the bucket), or none. */
export type BackupObjectLock = "off" | "governance" | "compliance";

export interface EtcdBackupArgs {
    /** The cluster's name: its backups are under `<prefix>/<clusterName>/`. Required. */
    clusterName: string;
    /** The bucket's name (S3 names are global). Required. */
    bucketName: string;
    /**
     * false: the bucket exists (its owner set its protections); only the members' role and profile are made, allowed
     * the cluster's prefix of it. Default true: the bucket is made here with every protection.
     */
    createBucket?: boolean;
    /** The bucket's region (signs the scripts' requests). Required. */
    region: string;
    /** Key prefix (default "etcd-backups"). */
    prefix?: string;
    /** Minutes between two backups of the cluster (default 60). */
    intervalMinutes?: number;
    /** Days a backup is kept: the scripts delete older ones, the lifecycle a day later (default 7). */
    retentionDays?: number;
    /**
     * Object Lock (a bucket made here only; S3 sets it at creation): every backup is locked for the retention days
     * in this mode; "compliance" cannot be lifted by anyone, root included. Default "off".
     */
    objectLock?: BackupObjectLock;
    /**
     * Keep the bucket, its protections and every backup in S3 when the stack is destroyed (or the bucket replaced):
     * Pulumi forgets them, nothing is deleted. Default true, because the backups are what a destroyed cluster comes
     * back from, and S3 refuses to delete a bucket that holds objects (destroy would end in BucketNotEmpty). A new
     * stack then uses the kept bucket with `createBucket: false`. false: destroy deletes the bucket's protections
     * and the bucket, which fails while a backup (or a version of one) is in it.
     */
    retainOnDestroy?: boolean;
    /** KMS key for the bucket's default encryption (the cluster's key); default SSE-S3 (AES256). */
    kmsKeyArn?: pulumi.Input<string>;
    /** S3's endpoint as the members reach it (default https://s3.<region>.amazonaws.com). */
    s3Endpoint?: string;
    /** The members' instance metadata service (default EC2's, http://169.254.169.254). */
    imdsEndpoint?: string;
    /** The PEM of the S3 endpoint's CA when the system does not trust it (the local cloud's); default none. */
    s3CaPem?: string;
    tags?: Record<string, string>;
}

/**
 * The S3 bucket of a cluster's backups (versioned, encrypted by default, public access blocked,
 * plain HTTP denied, old backups expired) and the members' IAM role and instance profile, allowed
 * only the cluster's prefix (and the KMS key).
 */
export class EtcdBackup extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    /** For the members' launch template / instance `iamInstanceProfile`. */
    public readonly instanceProfileName: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;
    /** What the members' backup files are rendered with (core/scripts/backup.ts backupHostFiles). */
    public readonly settings: BackupSettings;

    constructor(name: string, args: EtcdBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-aws:index:EtcdBackup", name, {}, opts);
        const prefix = args.prefix ?? BACKUP_DEFAULTS.prefix;
        const objectPrefix = `${prefix ? `${prefix}/` : ""}${args.clusterName}/`;
        const retentionDays = args.retentionDays ?? BACKUP_DEFAULTS.retentionSeconds / 86400;
        this.settings = {
            bucket: args.bucketName,
            region: args.region,
            prefix,
            intervalSeconds: (args.intervalMinutes ?? BACKUP_DEFAULTS.intervalSeconds / 60) * 60,
            retentionSeconds: retentionDays * 86400,
            credentials: "imds",
            ...(args.s3Endpoint ? { endpoint: args.s3Endpoint } : {}),
            ...(args.imdsEndpoint ? { imdsEndpoint: args.imdsEndpoint } : {}),
            ...(args.s3CaPem ? { s3CaPem: args.s3CaPem } : {}),
        };
        if (args.createBucket === false && (args.objectLock ?? "off") !== "off") {
            throw new Error("EtcdBackup: objectLock needs a bucket made here (S3 enables Object Lock at creation)");
        }
        const bucketName =
            args.createBucket === false
                ? pulumi.output(args.bucketName)
                : this.protectedBucket(name, args, objectPrefix, retentionDays);

        const { role, profile } = this.memberRole(name, args, objectPrefix);
        this.bucketName = bucketName;
        this.instanceProfileName = profile.name;
        this.roleArn = role.arn;
        this.registerOutputs({
            bucketName: this.bucketName,
            instanceProfileName: this.instanceProfileName,
            roleArn: this.roleArn,
        });
    }

    /** The bucket with every protection; its name once they are all in place. */
    private protectedBucket(
        name: string,
        args: EtcdBackupArgs,
        objectPrefix: string,
        retentionDays: number,
    ): pulumi.Output<string> {
        // The bucket and every protection alike: a retained bucket whose public access block or TLS-only
        // policy were deleted would be less protected than the one the backups were written to.
        const parent = { parent: this, retainOnDelete: args.retainOnDestroy ?? true };
        const objectLock = args.objectLock ?? "off";
        const bucket = new aws.s3.Bucket(
            `${name}-bucket`,
            { bucket: args.bucketName, objectLockEnabled: objectLock !== "off", tags: args.tags },
            parent,
        );
        const versioning = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
            parent,
        );
        const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket: bucket.id,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: args.kmsKeyArn
                            ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }
                            : { sseAlgorithm: "AES256" },
                        bucketKeyEnabled: args.kmsKeyArn !== undefined,
                    },
                ],
            },
            parent,
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            {
                bucket: bucket.id,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            parent,
        );
        const tlsOnly = new aws.s3.BucketPolicy(
            `${name}-tls-only`,
            { bucket: bucket.id, policy: JSON.stringify(backupBucketPolicy(args.bucketName)) },
            // S3 refuses a policy change while the public access block is being set.
            { ...parent, dependsOn: [publicAccess] },
        );
        const lifecycle = new aws.s3.BucketLifecycleConfiguration(
            `${name}-expiration`,
            {
                bucket: bucket.id,
                rules: [
                    {
                        id: "expire-backups",
                        status: "Enabled",
                        filter: { prefix: objectPrefix },
                        expiration: { days: retentionDays + 1 },
                        // Versioning keeps deleted backups as noncurrent versions: those go too.
                        noncurrentVersionExpiration: { noncurrentDays: 1 },
                    },
                ],
            },
            parent,
        );

        const locks =
            objectLock === "off"
                ? []
                : [
                      new aws.s3.BucketObjectLockConfiguration(
                          `${name}-object-lock`,
                          {
                              bucket: bucket.id,
                              rule: {
                                  defaultRetention: {
                                      mode: objectLock === "compliance" ? "COMPLIANCE" : "GOVERNANCE",
                                      days: retentionDays,
                                  },
                              },
                          },
                          // Object Lock needs versioning enabled first.
                          { ...parent, dependsOn: [versioning] },
                      ),
                  ];
        // The name once every protection is in place: nothing backs up into a bucket still being set up.
        const protections = [versioning, encryption, publicAccess, tlsOnly, lifecycle, ...locks];
        return pulumi.all([bucket.bucket, ...protections.map((r) => r.id)]).apply(([bucketName]) => String(bucketName));
    }

    /** The members' EC2 role, its least rights, and its instance profile. */
    private memberRole(name: string, args: EtcdBackupArgs, objectPrefix: string) {
        const parent = { parent: this };
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
                    ],
                }),
                tags: args.tags,
            },
            parent,
        );
        new aws.iam.RolePolicy(
            `${name}-backup-rights`,
            {
                role: role.id,
                policy: pulumi
                    .output(args.kmsKeyArn)
                    .apply((key) => JSON.stringify(backupMemberPolicy(args.bucketName, objectPrefix, key))),
            },
            parent,
        );
        const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.id, tags: args.tags }, parent);
        return { role, profile };
    }
}
