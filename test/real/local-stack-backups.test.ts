// Issue 14's backups and restore through `pulumi up` on the local stack (etcd 3.5.16): a 3-member stack with
// `backupBucket` set (the local cloud's moto bucket, IAM role and IMDS stand-in), keys written, a backup taken the way
// the members' timer does (`scripts/local-cluster.sh backup`, its s3:// URI printed), more keys written, then
// `up --set etcd-aws:restoreFromSnapshot=<uri> --set etcd-aws:restoreDiscardsCurrentData=<cluster>`: every member
// restores the backup as a member of a new cluster (<member>-restore before the health gate). Every key written before
// the backup is back with its value on every member, the keys written after it are gone (the data-loss window), the
// revision is bumped past 10^9, and the next `up` changes nothing. Last, with S3 unreachable from the members (an nft
// reset; IMDS still answers), a restart-requiring change: the pre-change step's upload fails and stops the update
// before any member is touched.
// Run it alone:
//   flock /tmp/etcd-aws-real.lock npx mocha --timeout 600000 test/real/local-stack-backups.test.ts
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EtcdClient } from "../../local/writer";
import { instanceCgroup } from "../../localcloud/aws/cgroups";
import { motoAddress } from "../../localcloud/aws/moto";
import {
    clientTlsFiles,
    enterLocalCloud,
    etcdctlThrough,
    leaveLocalCloud,
    memberHost,
    printedEndpoints,
    stackCommandRunner,
    stepNames,
    upWith,
} from "./local-stack-run";
import { localClient } from "./writes";

const STACK = "local-backups";
const VERSION = "3.5.16";
const BUCKET = "local-backups-bucket";
const UP_TIMEOUT_MS = 300_000;
const BEFORE = 40;
const AFTER = 15;
const PREFIX = "restore-test/";
/** The test's nftables table that makes S3 unreachable from the members. */
const S3_DOWN_TABLE = "etcd_aws_test_s3_down";

/** Loads `ruleset` with nft. */
function nft(ruleset: string): void {
    execFileSync("nft", ["-f", "-"], { input: ruleset, stdio: ["pipe", "ignore", "pipe"], timeout: 10_000 });
}

describe(`backups on the local stack (etcd ${VERSION}, 3 members, moto as S3): a backup, a restore through pulumi up, a change stopped by a failed upload`, function () {
    this.timeout(UP_TIMEOUT_MS + 120_000);
    // Each test builds on the one before (a backup, a restore of it, a change refused): a retry would start from
    // another state.
    this.retries(0);
    let dir = "";
    let env: NodeJS.ProcessEnv = {};
    let endpoints: string[] = [];
    let client: EtcdClient = localClient(VERSION);
    let uri = "";
    const outputs: string[] = [];
    const stackCommand = stackCommandRunner(STACK, () => env, outputs, UP_TIMEOUT_MS);

    /** Writes `count` keys from `first` through every endpoint. */
    async function put(first: number, count: number): Promise<void> {
        for (let i = first; i < first + count; i++) {
            await etcdctlThrough(client, endpoints, "put", `${PREFIX}k${i}`, `v${i}`);
        }
    }

    /** The keys under PREFIX and their values that member `endpoint` holds itself, and its revision. */
    async function heldBy(endpoint: string): Promise<{ values: Map<string, string>; revision: number }> {
        const answer = JSON.parse(
            await etcdctlThrough(client, [endpoint], "get", PREFIX, "--prefix", "--consistency=s", "-w", "json"),
        ) as { header: { revision: string | number }; kvs?: { key: string; value: string }[] };
        const decode = (text: string) => Buffer.from(text, "base64").toString();
        return {
            values: new Map((answer.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)])),
            revision: Number(answer.header.revision),
        };
    }

    before(async function () {
        ({ dir, env } = enterLocalCloud(this, STACK));
        const { output, seconds } = await stackCommand(
            upWith("etcd-aws:memberCount=3", `etcd-aws:etcdVersion=${VERSION}`, `etcd-aws:backupBucket=${BUCKET}`),
        );
        endpoints = printedEndpoints(output) ?? [];
        const tls = clientTlsFiles(STACK);
        client = localClient(VERSION, [`--cacert=${tls.cacert}`, `--cert=${tls.cert}`, `--key=${tls.key}`]);
        console.log(`      first up (3 members, backups on): ${seconds.toFixed(0)} s`);
        assert.equal(endpoints.length, 3);
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") console.log(outputs.at(-1)?.slice(-12_000) ?? "");
    });

    after(async function () {
        this.timeout(UP_TIMEOUT_MS + 60_000);
        // The backup bucket outlives the stack (retainOnDelete): its moto and IMDS stand-in are killed here.
        await leaveLocalCloud(STACK, dir, env, UP_TIMEOUT_MS);
    });

    it("local-cluster.sh backup uploads a checked snapshot through the members' instance profile and prints its s3:// URI under the cluster's prefix", async () => {
        await put(0, BEFORE);
        const { output, seconds } = await stackCommand(["backup"]);
        const printed = /^(s3:\/\/\S+)$/m.exec(output)?.[1];
        assert.ok(printed, output);
        uri = printed;
        assert.match(uri, new RegExp(`^s3://${BUCKET}/etcd-backups/${STACK}/\\d{8}T\\d{6}Z-rev\\d+\\.db$`));
        console.log(`      backup: ${uri} in ${seconds.toFixed(1)} s`);
        await put(BEFORE, AFTER);
    });

    it("restoreFromSnapshot with its intent: every member holds exactly the keys written before the backup, at a bumped revision; the next up changes nothing", async () => {
        assert.ok(uri, "the backup test ran first");
        const before = await heldBy(endpoints[0] as string);
        assert.equal(before.values.size, BEFORE + AFTER);
        const { seconds } = await stackCommand(
            upWith(`etcd-aws:restoreFromSnapshot=${uri}`, `etcd-aws:restoreDiscardsCurrentData=${STACK}`),
        );
        console.log(`      restore up: ${seconds.toFixed(0)} s; ${AFTER} keys written after the backup are gone`);
        for (const endpoint of endpoints) {
            const held = await heldBy(endpoint);
            assert.equal(held.values.size, BEFORE, `${endpoint} holds ${held.values.size} keys`);
            for (let i = 0; i < BEFORE; i++) assert.equal(held.values.get(`${PREFIX}k${i}`), `v${i}`, endpoint);
            assert.ok(held.revision > 1_000_000_000, `${endpoint}: revision ${held.revision}`);
        }
        const members = JSON.parse(await etcdctlThrough(client, endpoints, "member", "list", "-w", "json")) as {
            members: { name: string; isLearner?: boolean }[];
        };
        assert.deepEqual(
            members.members.map((m) => m.name).sort(),
            [0, 1, 2].map((i) => `${STACK}-${i}`),
        );
        await etcdctlThrough(client, endpoints, "put", `${PREFIX}after-restore`, "written");
        const again = await stackCommand(["preview"]);
        assert.doesNotMatch(again.output, /\((update|replace|create|delete)\)/, "nothing left to change");
    });

    it("S3 unreachable from the members (their connections to it refused, IMDS still answering): the pre-change backup's upload fails and stops a restart-requiring change before any member is touched", async () => {
        const members = [0, 1, 2].map((i) => `${STACK}-${i}`);
        const hosts = members.map((member) => memberHost(dir, member));
        const pids = hosts.map((host) => host.etcdPid());
        assert.ok(
            pids.every((pid) => pid !== undefined),
            `etcd runs on every member: ${pids.join(", ")}`,
        );
        const s3 = motoAddress();
        // A table of the test's own, before the local cloud's (priority -1): the members' new connections to S3 get a
        // reset, as from an endpoint that is down; the IMDS stand-in (outside their cgroups) still reaches moto.
        const rules = hosts.map((host) => {
            const cgroup = instanceCgroup(host.name);
            assert.ok(cgroup, `${host.name} has its cgroup`);
            return `socket cgroupv2 level ${cgroup.level} "${cgroup.path}" ip daddr ${s3.host} tcp dport ${s3.port} reject with tcp reset`;
        });
        nft(
            `table inet ${S3_DOWN_TABLE} {\n chain output {\n type filter hook output priority -1;\n ${rules.join("\n ")}\n }\n}\n`,
        );
        try {
            await assert.rejects(
                stackCommand(["up", "--set", "etcd-aws:extraFlags=snapshot-count=20000"]),
                (error: Error) => {
                    assert.match(error.message, new RegExp(`${STACK}-prepare-change`));
                    return true;
                },
            );
        } finally {
            nft(`delete table inet ${S3_DOWN_TABLE}\n`);
        }
        const output = outputs.at(-1) ?? "";
        assert.match(output, new RegExp(`PUT s3://${BUCKET}/\\S+: no answer from`), "the upload itself failed");
        assert.match(output, /the backup before the change was NOT uploaded/);
        assert.doesNotMatch(output, /no S3 credentials/, "the credentials came from IMDS");
        const touched = stepNames(output).filter((name) =>
            members.some((member) => name === member || name.startsWith(`${member}-`)),
        );
        assert.deepEqual(
            touched,
            [],
            "no step of a member's instance, volume, install, launch, ready check or restore",
        );
        assert.deepEqual(
            hosts.map((host) => host.etcdPid()),
            pids,
            "no etcd was restarted",
        );
        for (const host of hosts) {
            const envFile = fs.readFileSync(path.join(host.root, "etc", "etcd", "etcd.env"), "utf8");
            assert.doesNotMatch(envFile, /SNAPSHOT_COUNT=20000/, `${host.name} runs the old flags`);
        }
    });
});
