// localcloud/aws/s3.ts, iam.ts and imds.ts: the bucket resources and the members' role, policy and instance profile
// made for real in the local cloud's moto_server (HTTPS with the local cloud's CA, on a test address of its own,
// signatures checked), the IMDSv2 stand-in's answers, the credentials it serves being bound by the role's policy,
// and nothing left running once the last resource is deleted. Plus the diff table rows, one test each.
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { backupMemberPolicy } from "../../core/scripts/backup";
import { IAM_RESOURCES } from "../../localcloud/aws/iam";
import { imdsHandler, socketInode } from "../../localcloud/aws/imds";
import { localMoto, motoRequest, MotoCredentials, xmlValue } from "../../localcloud/aws/moto";
import { S3_RESOURCES } from "../../localcloud/aws/s3";
import { configureRegion, region } from "../../localcloud/aws/vpc";
import { isRunning, readPidFile } from "../../local/process";
import { AWS_DIFF_TABLES, awsDiff } from "../../localcloud/providers/aws";
import { itFollowsEachRow } from "./diff-table";
import { servedType, urnOf, useLocalCloudDir } from "./local-cloud-env";

const TEST_MOTO_ADDRESS = "127.0.19.180:4566";
const TEST_IMDS_ADDRESS = "127.0.19.181:8080";
const BUCKET = "orders-etcd-backups";

const s3Type = (token: string) => servedType(S3_RESOURCES, token);
const iamType = (token: string) => servedType(IAM_RESOURCES, token);

describe("localcloud/aws/s3 and iam (a real moto_server, signatures checked)", function () {
    this.timeout(90_000);
    after(() => {
        // A failed test may leave moto or the stand-in running (this hook runs before the directory is removed).
        for (const pid of motoPids()) if (pid !== undefined && isRunning(pid)) process.kill(pid, "SIGKILL");
    });
    const state = useLocalCloudDir("localcloud-s3-", {
        LOCALCLOUD_MOTO_ADDRESS: TEST_MOTO_ADDRESS,
        LOCALCLOUD_IMDS_ADDRESS: TEST_IMDS_ADDRESS,
    });
    const motoPids = () =>
        ["moto_server.pid", "imds.pid"].map((file) => readPidFile(path.join(state.dir(), "moto", file)));

    let admin: MotoCredentials;
    const s3Get = async (query: string) =>
        (await motoRequest(admin, { method: "GET", target: `/${BUCKET}?${query}=`, service: "s3" })).body;

    // The local stack's region: moto keeps the buckets in us-east-1 whatever it is.
    let savedRegion = "";
    before(() => {
        savedRegion = region();
        configureRegion({ region: "local-1" });
    });
    after(() => configureRegion({ region: savedRegion }));

    it("makes the bucket (Object Lock on) and puts versioning, encryption, public access block, policy, lifecycle and Object Lock into moto as S3 reads them back", async () => {
        const created = await s3Type("aws:s3/bucket:Bucket").create(
            { bucket: BUCKET, objectLockEnabled: true, forceDestroy: true },
            urnOf("aws:s3/bucket:Bucket", "backup-bucket"),
        );
        assert.equal(created.id, BUCKET);
        assert.equal(created.outputs.arn, `arn:aws:s3:::${BUCKET}`);
        admin = await localMoto();
        const put = (token: string, inputs: Record<string, unknown>) =>
            s3Type(token).create({ bucket: BUCKET, ...inputs }, urnOf(token, "x"));
        await put("aws:s3/bucketVersioning:BucketVersioning", { versioningConfiguration: { status: "Enabled" } });
        await put("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", {
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: false }],
        });
        await put("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        const tlsOnly = {
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ],
        };
        await put("aws:s3/bucketPolicy:BucketPolicy", { policy: JSON.stringify(tlsOnly) });
        await put("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", {
            rules: [
                {
                    id: "expire-backups",
                    status: "Enabled",
                    filter: { prefix: "etcd-backups/orders/" },
                    expiration: { days: 8 },
                    noncurrentVersionExpiration: { noncurrentDays: 1 },
                },
            ],
        });
        await put("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", {
            rule: { defaultRetention: { mode: "GOVERNANCE", days: 7 } },
        });
        assert.equal(xmlValue(await s3Get("versioning"), "Status"), "Enabled");
        assert.equal(xmlValue(await s3Get("encryption"), "SSEAlgorithm"), "AES256");
        assert.equal(xmlValue(await s3Get("publicAccessBlock"), "BlockPublicPolicy"), "true");
        // (Recorded, not put: moto would deny every request under it, see s3.ts.)
        const recorded = JSON.parse(
            fs.readFileSync(path.join(state.dir(), "s3-bucket-policies", `${BUCKET}.json`), "utf8"),
        );
        assert.deepEqual(JSON.parse(recorded.policy).Statement[0].Condition, tlsOnly.Statement[0]?.Condition);
        const lifecycle = await s3Get("lifecycle");
        assert.equal(xmlValue(lifecycle, "Prefix"), "etcd-backups/orders/");
        assert.equal(xmlValue(lifecycle, "Days"), "8");
        const lock = await s3Get("object-lock");
        assert.equal(xmlValue(lock, "Mode"), "GOVERNANCE");
        assert.equal(xmlValue(lock, "Days"), "7");
    });

    let profileName = "";
    let roleName = "";
    it("makes the members' role (autonamed), its policy and an instance profile holding it, in moto's IAM", async () => {
        const role = await iamType("aws:iam/role:Role").create(
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
                    ],
                }),
            },
            urnOf("aws:iam/role:Role", "backup-role"),
        );
        roleName = role.id;
        assert.match(roleName, /^backup-role-[0-9a-f]{7}$/);
        assert.match(String(role.outputs.arn), new RegExp(`^arn:aws:iam::\\d{12}:role/${roleName}$`));
        const policy = await iamType("aws:iam/rolePolicy:RolePolicy").create(
            { role: roleName, policy: JSON.stringify(backupMemberPolicy(BUCKET, "etcd-backups/orders/")) },
            urnOf("aws:iam/rolePolicy:RolePolicy", "backup-backup-rights"),
        );
        assert.equal(policy.id, `${roleName}:${String(policy.outputs.name)}`);
        const profile = await iamType("aws:iam/instanceProfile:InstanceProfile").create(
            { role: roleName },
            urnOf("aws:iam/instanceProfile:InstanceProfile", "backup-profile"),
        );
        profileName = profile.id;
        const answer = await motoRequest(admin, {
            method: "POST",
            target: "/",
            service: "iam",
            form: { Action: "GetInstanceProfile", Version: "2010-05-08", InstanceProfileName: profileName },
        });
        assert.equal(xmlValue(answer.body, "RoleName"), roleName);
    });

    it("the IMDSv2 stand-in: no credentials without a session token, the role's name and credentials bound by its policy with one, 403 behind a proxy", async () => {
        const handler = imdsHandler(() => ({ role: roleName, status: 200, text: roleName }));
        const server = http.createServer((request, response) => void handler(request, response));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const { port } = server.address() as net.AddressInfo;
        const call = (method: string, url: string, headers: Record<string, string> = {}) =>
            new Promise<{ status: number; body: string }>((resolve, reject) => {
                const request = http.request({ host: "127.0.0.1", port, method, path: url, headers }, (response) => {
                    let body = "";
                    response.on("data", (chunk: Buffer) => (body += chunk.toString()));
                    response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
                });
                request.on("error", reject);
                request.end();
            });
        try {
            const base = "/latest/meta-data/iam/security-credentials/";
            assert.equal((await call("GET", base)).status, 401);
            assert.equal((await call("PUT", "/latest/api/token")).status, 400);
            const token = (await call("PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "300" }))
                .body;
            const withToken = { "X-aws-ec2-metadata-token": token };
            assert.deepEqual(await call("GET", base, withToken), { status: 200, body: roleName });
            const proxied = await call("GET", base, { ...withToken, "X-Forwarded-For": "10.0.0.1" });
            assert.equal(proxied.status, 403);
            const answer = await call("GET", `${base}${roleName}`, withToken);
            assert.equal(answer.status, 200, answer.body);
            const credentials = JSON.parse(answer.body) as Record<string, string>;
            assert.equal(credentials.Code, "Success", JSON.stringify(credentials));
            assert.ok(credentials.AccessKeyId && credentials.SecretAccessKey);
            // Those credentials carry the role's rights: moto lets them put under the cluster's prefix and nowhere else.
            const role: MotoCredentials = {
                ...admin,
                accessKey: credentials.AccessKeyId,
                secretKey: credentials.SecretAccessKey,
            };
            const file = path.join(state.dir(), "object");
            fs.writeFileSync(file, "snapshot");
            // The Object Lock bucket takes an upload only with a checksum algorithm (the backup script's) or its MD5.
            const withChecksum = [
                "x-amz-sdk-checksum-algorithm: SHA256",
                `x-amz-checksum-sha256: ${createHash("sha256").update("snapshot").digest("base64")}`,
            ];
            const putAt = async (key: string, headers = withChecksum) => {
                const put = await motoRequest(role, {
                    method: "PUT",
                    target: `/${BUCKET}/${key}`,
                    service: "s3",
                    file,
                    headers,
                });
                return `${put.status} ${xmlValue(put.body, "Code") ?? ""}`.trim();
            };
            assert.equal(await putAt("etcd-backups/orders/20261202T000000Z-rev1.db"), "200");
            assert.equal(
                await putAt("etcd-backups/orders/20261202T000001Z-rev1.db", [
                    `Content-MD5: ${createHash("md5").update("snapshot").digest("base64")}`,
                ]),
                "200",
            );
            assert.match(await putAt("etcd-backups/orders/20261202T000002Z-rev1.db", []), /^400 /);
            assert.equal(await putAt("elsewhere/20261202T000000Z-rev1.db"), "403 AccessDenied");
        } finally {
            server.close();
        }
    });

    it("finds the TCP socket of a connection in /proc/net/tcp's table (local and remote, little-endian hex)", () => {
        const table = [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 0100007F:C350 FE13007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 424242 1",
        ].join("\n");
        assert.equal(socketInode(table, "127.0.0.1:50000", "127.0.19.254:80"), "424242");
        assert.equal(socketInode(table, "127.0.0.1:50001", "127.0.19.254:80"), undefined);
    });

    it("deletes everything (a bucket holding objects only with forceDestroy, as S3) and stops moto and the stand-in with the last resource", async () => {
        const pids = motoPids();
        assert.ok(
            pids.every((pid) => pid !== undefined && isRunning(pid)),
            `running: ${pids.join(", ")}`,
        );
        await iamType("aws:iam/instanceProfile:InstanceProfile").delete?.(profileName, { role: roleName });
        const policyName = (
            await motoRequest(admin, {
                method: "POST",
                target: "/",
                service: "iam",
                form: { Action: "ListRolePolicies", Version: "2010-05-08", RoleName: roleName },
            })
        ).body.match(/<member>([^<]+)<\/member>/)?.[1];
        await iamType("aws:iam/rolePolicy:RolePolicy").delete?.(`${roleName}:${policyName}`, {
            role: roleName,
            name: policyName,
        });
        await iamType("aws:iam/role:Role").delete?.(roleName, {});
        const bucket = s3Type("aws:s3/bucket:Bucket");
        await assert.rejects(bucket.delete!(BUCKET, { forceDestroy: false }), /BucketNotEmpty/);
        await bucket.delete!(BUCKET, { forceDestroy: true });
        assert.ok(
            pids.every((pid) => pid === undefined || !isRunning(pid)),
            "moto and the stand-in stopped",
        );
    });
});

describe("localcloud/aws diff tables of S3 and IAM", () => {
    for (const token of [
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/instanceProfile:InstanceProfile",
    ]) {
        describe(token, () => itFollowsEachRow((olds, news) => awsDiff(token, olds, news), AWS_DIFF_TABLES[token]!));
    }
});
