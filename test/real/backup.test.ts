// Backups and restore (host/etcd-aws-backup.sh, host/etcd-aws-restore.sh) as rendered, on three
// local hosts per release against a real S3 server that checks signatures (moto_server, see
// s3-server.ts): every member's timer at once makes one backup; a corrupted or truncated snapshot
// is refused before etcd is touched; wrong credentials fail the backup with S3's reason;
// retention deletes only this cluster's expired backups; and a cluster whose every member lost
// its data comes back from the backup with every key written before it.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BackupSettings, renderBackupScript, renderRestoreScript } from "../../core";
import { LocalCluster, LocalMember } from "../../local/cluster";
import { waitFor } from "../../local/process";
import { prepareScenario } from "../../local/scenario";
import { at } from "../helpers/elements";
import { S3_REGION, S3Server, startS3Server } from "./s3-server";
import { CLUSTER_OPTIONS, clusterName, scenarioInput, useWorkspace } from "./support";

const VERSIONS = ["3.4.23", "3.5.16"] as const;
const BUCKET = "etcd-aws-backups";
const PREFIX = "backups";
const KEYS_BEFORE = 200;
const KEYS_AFTER = 25;
const SCRIPT_TIMEOUT_MS = 120_000;

describe("backups to a real S3 server and restore (etcd 3.4 and 3.5, three local hosts each)", () => {
    let s3: S3Server;
    before(async function () {
        this.timeout(60_000);
        s3 = await startS3Server(BUCKET);
    });
    after(async function () {
        this.timeout(15_000);
        await s3?.stop();
    });

    for (const version of VERSIONS) {
        describe(`etcd ${version}`, () => {
            const workspace = useWorkspace(`backup-${version}`);
            let cluster: LocalCluster;
            let settings: BackupSettings;
            let uri = "";
            let snapshotRevision = 0;

            before(async function () {
                this.timeout(180_000);
                const input = {
                    ...scenarioInput(workspace(), "static", version),
                    clusterName: clusterName("backup", version),
                };
                cluster = await prepareScenario(input, CLUSTER_OPTIONS);
                await cluster.bringUp();
                settings = {
                    bucket: BUCKET,
                    region: S3_REGION,
                    endpoint: s3.endpoint,
                    prefix: PREFIX,
                    credentials: "environment",
                };
            });

            afterEach(function () {
                if (this.currentTest?.state === "failed") console.log(cluster.logs());
            });

            const credentials = (secret = s3.secretKey) => ({
                AWS_ACCESS_KEY_ID: s3.accessKey,
                AWS_SECRET_ACCESS_KEY: secret,
            });

            function backup(target: LocalMember, args: string[] = [], secret?: string) {
                return target.host.runScript(
                    renderBackupScript(cluster.spec, target.member, settings),
                    { timeoutMs: SCRIPT_TIMEOUT_MS, env: credentials(secret) },
                    args,
                );
            }

            function restore(target: LocalMember, from: string, token: string) {
                return target.host.runScript(
                    renderRestoreScript(cluster.spec, target.member, settings, token),
                    { timeoutMs: SCRIPT_TIMEOUT_MS, env: credentials() },
                    [from, "--discard-current-data"],
                );
            }

            async function revision(): Promise<number> {
                const { stdout } = await cluster.etcdctl(0, [
                    "get",
                    "backup-test/",
                    "--prefix",
                    "--limit=1",
                    "-w",
                    "json",
                ]);
                return Number((JSON.parse(stdout) as { header: { revision: number | string } }).header.revision);
            }

            const prefix = () => `${PREFIX}/${cluster.spec.clusterName}/`;

            it(`every member's backup at once makes ONE upload of the interval, named <prefix>/<cluster>/<timestamp>-rev<revision>.db with its status as metadata`, async function () {
                this.timeout(120_000);
                for (let i = 0; i < KEYS_BEFORE; i += 1) {
                    await cluster.etcdctl(i % 3, ["put", `backup-test/k${String(i).padStart(4, "0")}`, `value-${i}`]);
                }
                const before = await revision();
                const results = await Promise.all(cluster.members.map((target) => backup(target)));
                results.forEach((r, i) =>
                    assert.equal(r.code, 0, `${at(cluster.members, i).member.name}: ${r.stderr}`),
                );
                const printed = results.map((r) => r.stdout.trim()).filter(Boolean);
                assert.equal(printed.length, 1, `URIs printed: ${printed.join(", ")}`);
                uri = at(printed, 0);
                const match = new RegExp(`^s3://${BUCKET}/${prefix()}\\d{8}T\\d{6}Z-rev(\\d+)\\.db$`).exec(uri);
                assert.ok(match, uri);
                snapshotRevision = Number(match[1]);
                // (The backup lock's keys are written before the snapshot.)
                assert.ok(snapshotRevision >= before, `snapshot revision ${snapshotRevision}, ${before} before`);
                assert.equal(results.filter((r) => r.stderr.includes("this interval has a backup already")).length, 2);
                const head = await s3.request("GET", uri.slice(`s3://${BUCKET}/`.length));
                assert.equal(head.status, 200);
                console.log(`      ${uri}`);
            });

            async function uploadAltered(
                name: string,
                alter: (bytes: Buffer) => Buffer,
                sameSha: boolean,
            ): Promise<string> {
                const key = uri.slice(`s3://${BUCKET}/`.length);
                const original = path.join(workspace().dir, "original.db");
                // The snapshot as a file (binary safe) and the headers with its metadata.
                execFileSync("curl", [
                    "-sS",
                    "-f",
                    "--aws-sigv4",
                    `aws:amz:${S3_REGION}:s3`,
                    "--user",
                    `${s3.accessKey}:${s3.secretKey}`,
                    "-H",
                    `x-amz-content-sha256: ${createHash("sha256").digest("hex")}`,
                    "-D",
                    `${original}.headers`,
                    "-o",
                    original,
                    `${s3.endpoint}/${BUCKET}/${key}`,
                ]);
                const got = fs.readFileSync(original);
                const metadata = fs
                    .readFileSync(`${original}.headers`, "utf8")
                    .split("\r\n")
                    .filter((line) => /^x-amz-meta-/i.test(line));
                const altered = alter(got);
                const file = path.join(workspace().dir, name);
                fs.writeFileSync(file, altered);
                const headers = sameSha
                    ? metadata
                    : [
                          ...metadata.filter((line) => !/^x-amz-meta-sha256:/i.test(line)),
                          `x-amz-meta-sha256: ${createHash("sha256").update(altered).digest("hex")}`,
                      ];
                const target = `${prefix()}${name}`;
                const put = await s3.request("PUT", target, { file, headers });
                assert.equal(put.status, 200, put.body);
                return `s3://${BUCKET}/${target}`;
            }

            const cases: [string, (bytes: Buffer) => Buffer, boolean, RegExp][] = [
                [
                    "corrupted (bytes flipped, the recorded metadata)",
                    (b) => Buffer.concat([b.subarray(0, 8192), Buffer.alloc(4096, 0x5a), b.subarray(12288)]),
                    true,
                    /SHA-256 is .* corrupted or truncated/,
                ],
                [
                    "truncated (half, the recorded metadata)",
                    (b) => b.subarray(0, b.length >> 1),
                    true,
                    /SHA-256 is .* corrupted or truncated/,
                ],
                [
                    "truncated (half, its SHA-256 recorded as if whole)",
                    (b) => b.subarray(0, b.length >> 1),
                    false,
                    /snapshot status fails|its status/,
                ],
            ];
            for (const [what, alter, sameSha, refusal] of cases) {
                it(`refuses a ${what} snapshot before etcd is touched: the member keeps running on its data`, async function () {
                    this.timeout(60_000);
                    const from = await uploadAltered(what.replace(/\W+/g, "-"), alter, sameSha);
                    const target = at(cluster.members, 0);
                    const pid = target.host.etcdPid();
                    const result = await restore(target, from, `${cluster.spec.clusterToken}-restored`);
                    assert.notEqual(result.code, 0);
                    assert.match(result.stderr, refusal);
                    assert.match(result.stderr, /etcd and data are untouched/);
                    assert.equal(target.host.etcdPid(), pid);
                    assert.ok(target.host.etcdRunning());
                    assert.equal((await cluster.keysOn(0, "backup-test/")).length, KEYS_BEFORE);
                });
            }

            it("a backup with a wrong secret key fails with S3's reason and uploads nothing", async function () {
                this.timeout(60_000);
                const result = await backup(at(cluster.members, 1), ["--now"], "wrong-secret");
                assert.notEqual(result.code, 0);
                assert.match(result.stderr, /PUT s3:\/\/\S+ failed: HTTP 403 SignatureDoesNotMatch/);
                assert.match(result.stderr, /was NOT uploaded/);
                assert.equal(result.stdout, "");
            });

            it("retention deletes this cluster's backups older than it, and nothing else under the bucket", async function () {
                this.timeout(60_000);
                const file = path.join(workspace().dir, "old.db");
                fs.writeFileSync(file, "an old backup");
                const other = `${PREFIX}/${cluster.spec.clusterName}-other/20200101T000000Z-rev7.db`;
                const expired = [`${prefix()}20200101T000000Z-rev5.db`, `${prefix()}20200102T000000Z-rev6.db`];
                const kept = [other, `${prefix()}notes-20200101T000000Z.txt`, `${PREFIX}/20200101T000000Z-rev5.db`];
                for (const key of [...expired, ...kept]) {
                    assert.equal((await s3.request("PUT", key, { file })).status, 200);
                }
                const result = await backup(at(cluster.members, 2), ["--now"]);
                assert.equal(result.code, 0, result.stderr);
                assert.match(result.stderr, /retention: deleted 2 backup\(s\)/);
                const listing = await s3.request("GET", `?list-type=2&prefix=${PREFIX}/`);
                const keys = [...listing.body.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
                for (const key of expired) assert.ok(!keys.includes(key), `${key} is still there`);
                for (const key of [
                    ...kept,
                    uri.slice(`s3://${BUCKET}/`.length),
                    result.stdout.trim().slice(`s3://${BUCKET}/`.length),
                ]) {
                    assert.ok(keys.includes(key), `${key} was deleted`);
                }
            });

            it("every member's data destroyed, the restore on every member brings back every key written before the backup with its value, at a higher revision where the release can bump it", async function () {
                this.timeout(180_000);
                for (let i = 0; i < KEYS_AFTER; i += 1) {
                    await cluster.etcdctl(0, ["put", `backup-test/after${i}`, "lost"]);
                }
                const highest = await revision();
                await cluster.systemctl(cluster.members, "stop");
                for (const { host } of cluster.members) host.wipeEtcdData();
                const token = `${cluster.spec.clusterToken}-restored`;
                const started = Date.now();
                const results = await Promise.all(cluster.members.map((target) => restore(target, uri, token)));
                results.forEach((r, i) =>
                    assert.equal(r.code, 0, `${at(cluster.members, i).member.name}: ${r.stderr}`),
                );
                await waitFor("the restored cluster to be healthy", 60_000, async () => {
                    try {
                        return (await cluster.endpointHealth()).every((line) => /is healthy/.test(line))
                            ? true
                            : undefined;
                    } catch {
                        return undefined;
                    }
                });
                const seconds = (Date.now() - started) / 1000;
                const { stdout } = await cluster.etcdctl(1, ["get", "backup-test/", "--prefix", "-w", "json"]);
                const answer = JSON.parse(stdout) as {
                    header: { revision: number };
                    kvs?: { key: string; value: string }[];
                };
                const restored = new Map(
                    (answer.kvs ?? []).map((kv) => [
                        Buffer.from(kv.key, "base64").toString(),
                        Buffer.from(kv.value, "base64").toString(),
                    ]),
                );
                for (let i = 0; i < KEYS_BEFORE; i += 1) {
                    assert.equal(restored.get(`backup-test/k${String(i).padStart(4, "0")}`), `value-${i}`);
                }
                const lost =
                    KEYS_AFTER - [...restored.keys()].filter((key) => key.startsWith("backup-test/after")).length;
                assert.equal(lost, KEYS_AFTER);
                const after = Number(answer.header.revision);
                if (version.startsWith("3.4")) {
                    // etcdctl 3.4 cannot bump: the revision is the snapshot's.
                    assert.equal(after, snapshotRevision);
                } else {
                    assert.ok(after > highest, `revision ${after} after the restore, ${highest} before`);
                }
                const again = await restore(at(cluster.members, 0), uri, token);
                assert.equal(again.code, 0, again.stderr);
                assert.match(again.stderr, /already/);
                console.log(
                    `      restored ${KEYS_BEFORE} keys in ${seconds.toFixed(1)} s; revision ${highest} before, ${after} after; data-loss window: ${lost} keys written after the backup (interval ${settings.intervalSeconds ?? 3600} s)`,
                );
            });
        });
    }
});
