import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_DEFAULTS } from "../core";
import { backupBucketPolicy, backupMemberPolicy } from "../core/scripts/backup";

export interface EtcdBackupArgs {
    /** The cluster's name: its backups are under `<prefix>/<clusterName>/`. Required. */
    clusterName: string;
    /** The bucket's name (S3 names are global). Required. */
    bucketName: string;
    /** Key prefix (default "etcd-backups"). */
    prefix?: string;
    /** Days a backup is kept: the lifecycle expiration, a day past the scripts' own retention (default 8). */
    expirationDays?: number;
    /** KMS key for the bucket's default encryption (the cluster's key); default SSE-S3 (AES256). */
    kmsKeyArn?: pulumi.Input<string>;
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

    constructor(name: string, args: EtcdBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-aws:index:EtcdBackup", name, {}, opts);
        const parent = { parent: this };
        const prefix = args.prefix ?? BACKUP_DEFAULTS.prefix;
        const objectPrefix = `${prefix ? `${prefix}/` : ""}${args.clusterName}/`;
        const expirationDays = args.expirationDays ?? BACKUP_DEFAULTS.retentionSeconds / 86400 + 1;

        const bucket = new aws.s3.Bucket(`${name}-bucket`, { bucket: args.bucketName, tags: args.tags }, parent);
        new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
            parent,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
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
        new aws.s3.BucketPolicy(
            `${name}-tls-only`,
            { bucket: bucket.id, policy: JSON.stringify(backupBucketPolicy(args.bucketName)) },
            // S3 refuses a policy change while the public access block is being set.
            { parent: this, dependsOn: [publicAccess] },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-expiration`,
            {
                bucket: bucket.id,
                rules: [
                    {
                        id: "expire-backups",
                        status: "Enabled",
                        filter: { prefix: objectPrefix },
                        expiration: { days: expirationDays },
                        // Versioning keeps deleted backups as noncurrent versions: those go too.
                        noncurrentVersionExpiration: { noncurrentDays: 1 },
                    },
                ],
            },
            parent,
        );

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

        this.bucketName = bucket.bucket;
        this.instanceProfileName = profile.name;
        this.roleArn = role.arn;
        this.registerOutputs({
            bucketName: this.bucketName,
            instanceProfileName: this.instanceProfileName,
            roleArn: this.roleArn,
        });
    }
}
