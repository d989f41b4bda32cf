// EtcdBackup under mocks: the bucket's protections and the members' least rights, read from the
// recorded graph (the policy documents parsed).
import { strict as assert } from "assert";
import * as path from "path";
import type { EtcdBackupArgs } from "../../components/etcd-backup";
import { MockRun, RecordedResource, runUnderMocks } from "../../plan/mock-engine";
import { at } from "../helpers/elements";

const ROOT = path.resolve(__dirname, "../..");
const ARGS: EtcdBackupArgs = { clusterName: "orders", bucketName: "orders-etcd-backups", region: "eu-west-1" };

function runBackup(args: EtcdBackupArgs): Promise<MockRun> {
    return runUnderMocks({ stack: "test" }, () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run, as test/helpers/cluster.ts
        const { EtcdBackup } = require(
            path.join(ROOT, "components/etcd-backup"),
        ) as typeof import("../../components/etcd-backup");
        const backup = new EtcdBackup("backup", args);
        return { profile: backup.instanceProfileName, bucket: backup.bucketName, settings: backup.settings };
    });
}

function one(run: MockRun, type: string): RecordedResource {
    const found = run.resources.filter((r) => r.type === type);
    assert.equal(found.length, 1, `${found.length} resources of type ${type}`);
    return at(found, 0);
}

interface Statement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource: string | string[];
    Principal?: unknown;
    Condition?: Record<string, Record<string, unknown>>;
}

function statements(resource: RecordedResource): Statement[] {
    return (JSON.parse(resource.inputs.policy as string) as { Statement: Statement[] }).Statement;
}

describe("EtcdBackup", () => {
    it("makes a versioned bucket, encrypted by default (AES256 without a key), its public access blocked", async () => {
        const run = await runBackup(ARGS);
        assert.equal(one(run, "aws:s3/bucket:Bucket").inputs.bucket, "orders-etcd-backups");
        assert.equal(
            one(run, "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration.status,
            "Enabled",
        );
        const encryption = one(
            run,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        );
        assert.deepEqual(encryption.inputs.rules[0].applyServerSideEncryptionByDefault, { sseAlgorithm: "AES256" });
        const block = one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
        assert.deepEqual(
            [block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets],
            [true, true, true, true],
        );
    });

    it("encrypts with the cluster's KMS key when given, and lets the members use that key only", async () => {
        const key = "arn:aws:kms:eu-west-1:123456789012:key/abc";
        const run = await runBackup({ ...ARGS, kmsKeyArn: key });
        const encryption = one(
            run,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        );
        assert.deepEqual(encryption.inputs.rules[0].applyServerSideEncryptionByDefault, {
            sseAlgorithm: "aws:kms",
            kmsMasterKeyId: key,
        });
        const kms = statements(one(run, "aws:iam/rolePolicy:RolePolicy")).find((s) => s.Sid === "BackupKey");
        assert.equal(kms?.Resource, key);
    });

    it("denies every request without TLS, on the bucket and its objects", async () => {
        const run = await runBackup(ARGS);
        const [deny] = statements(one(run, "aws:s3/bucketPolicy:BucketPolicy"));
        assert.equal(deny?.Effect, "Deny");
        assert.equal(deny?.Principal, "*");
        assert.deepEqual(deny?.Resource, ["arn:aws:s3:::orders-etcd-backups", "arn:aws:s3:::orders-etcd-backups/*"]);
        assert.deepEqual(deny?.Condition, { Bool: { "aws:SecureTransport": "false" } });
    });

    it("expires the cluster's backups a day after the scripts' retention, under its prefix only", async () => {
        const run = await runBackup(ARGS);
        const [rule] = one(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
        assert.equal(rule.status, "Enabled");
        assert.deepEqual(rule.filter, { prefix: "etcd-backups/orders/" });
        assert.equal(rule.expiration.days, 8);
    });

    it("gives the members' role (EC2 only) put, get and delete under the cluster's prefix and the list of that prefix, nothing else; an instance profile of that role", async () => {
        const run = await runBackup({ ...ARGS, prefix: "prod" });
        const role = one(run, "aws:iam/role:Role");
        const trust = (JSON.parse(role.inputs.assumeRolePolicy as string) as { Statement: Statement[] }).Statement;
        assert.deepEqual(
            trust.map((s) => s.Principal),
            [{ Service: "ec2.amazonaws.com" }],
        );
        const rights = statements(one(run, "aws:iam/rolePolicy:RolePolicy"));
        assert.deepEqual(
            rights.map((s) => [s.Effect, s.Action, s.Resource, s.Condition]),
            [
                [
                    "Allow",
                    ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                    "arn:aws:s3:::orders-etcd-backups/prod/orders/*",
                    undefined,
                ],
                [
                    "Allow",
                    "s3:ListBucket",
                    "arn:aws:s3:::orders-etcd-backups",
                    { StringLike: { "s3:prefix": ["prod/orders/*"] } },
                ],
            ],
        );
        // (A role's ID is its name.)
        assert.equal(one(run, "aws:iam/instanceProfile:InstanceProfile").inputs.role, role.id);
    });

    it("makes an Object Lock bucket when asked: every backup locked for the retention days in the mode asked", async () => {
        const run = await runBackup({ ...ARGS, objectLock: "compliance", retentionDays: 3 });
        assert.equal(one(run, "aws:s3/bucket:Bucket").inputs.objectLockEnabled, true);
        const lock = one(run, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration");
        assert.deepEqual(lock.inputs.rule.defaultRetention, { mode: "COMPLIANCE", days: 3 });
        const [rule] = one(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
        assert.equal(rule.expiration.days, 4);
        const plain = await runBackup(ARGS);
        assert.equal(one(plain, "aws:s3/bucket:Bucket").inputs.objectLockEnabled, false);
        assert.equal(plain.resources.filter((r) => r.type.includes("ObjectLock")).length, 0);
    });

    it("with an existing bucket makes only the members' role, rights and profile, scoped to that bucket; refuses Object Lock on it", async () => {
        const run = await runBackup({ ...ARGS, createBucket: false });
        assert.deepEqual(
            run.resources.filter((r) => r.type.startsWith("aws:s3")).map((r) => r.type),
            [],
        );
        assert.equal(run.outputs.bucket, "orders-etcd-backups");
        const [objects] = statements(one(run, "aws:iam/rolePolicy:RolePolicy"));
        assert.equal(objects?.Resource, "arn:aws:s3:::orders-etcd-backups/etcd-backups/orders/*");
        one(run, "aws:iam/instanceProfile:InstanceProfile");
        await assert.rejects(
            runBackup({ ...ARGS, createBucket: false, objectLock: "governance" }),
            /objectLock needs a bucket made here/,
        );
    });

    it("gives the members' backup settings: the bucket, region, prefix, interval and retention asked, credentials from IMDS at the endpoint asked, the S3 endpoint's CA", async () => {
        const run = await runBackup({
            ...ARGS,
            intervalMinutes: 30,
            retentionDays: 2,
            s3Endpoint: "http://127.0.19.80:9000",
            imdsEndpoint: "http://127.0.19.254",
            s3CaPem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        });
        assert.deepEqual(run.outputs.settings, {
            bucket: "orders-etcd-backups",
            region: "eu-west-1",
            prefix: "etcd-backups",
            intervalSeconds: 1800,
            retentionSeconds: 2 * 86400,
            credentials: "imds",
            endpoint: "http://127.0.19.80:9000",
            imdsEndpoint: "http://127.0.19.254",
            s3CaPem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        });
    });

    it("keeps the bucket, every protection and so every backup when the stack is destroyed (retainOnDelete), unless told not to; the members' role and profile go", async () => {
        const bucketTypes = (run: MockRun) => run.resources.filter((r) => r.type.startsWith("aws:s3/"));
        const kept = await runBackup({ ...ARGS, objectLock: "governance" });
        assert.equal(bucketTypes(kept).length, 7);
        for (const resource of bucketTypes(kept)) assert.equal(resource.retainOnDelete, true, resource.type);
        for (const type of [
            "aws:iam/role:Role",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:iam/instanceProfile:InstanceProfile",
        ]) {
            assert.equal(one(kept, type).retainOnDelete, false, type);
        }
        const deleted = await runBackup({ ...ARGS, retainOnDestroy: false });
        for (const resource of bucketTypes(deleted)) assert.equal(resource.retainOnDelete, false, resource.type);
    });
});
