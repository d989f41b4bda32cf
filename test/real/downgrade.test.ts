// Issue 15's downgrade (item 3) and issue 14's snapshot before a risky change (item 3), on the local stack: a
// 3-member stack created at etcd 3.7.3 (scripts/local-cluster.sh up, the real `pulumi up` of the program), then
// `up --set etcd-aws:etcdVersion=3.6.16` twice. First with member 0's data volume full: the pre-change step
// (host/etcd-aws-prepare-change.sh) finds no room for its snapshot and fails the update before the engine touches any
// instance, install or launch (every member still runs 3.7.3, its etcd process the same). Then, the volume freed, with
// a writer running through every endpoint: the pre-change step saves a checked snapshot on member 0's data volume,
// runs etcd's downgrade API (validate, enable 3.6, every member's storage version 3.6) before the engine's first step
// on a member, and the members roll to 3.6.16 one at a time: every acknowledged key read back with its value from
// every member, no write failed after its retries, every member on 3.6.16 and the cluster version 3.6.0 at the end.
// Run it alone:
//   flock /tmp/etcd-aws-real.lock npx mocha --timeout 600000 test/real/downgrade.test.ts
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { PRE_CHANGE_SNAPSHOT_DIR } from "../../core/scripts/prepare-change";
import { run } from "../../local/process";
import { EtcdClient } from "../../local/writer";
import { pulumiEnvironment, stackPaths } from "../../localcloud/stack";
import {
    enterLocalCloud,
    leaveLocalCloud,
    memberHost,
    printedEndpoints,
    PULUMI,
    stackCommandRunner,
    stackVersions,
    stepNames,
    upWith,
} from "./local-stack-run";
import { localClient, readBackThrough, writeThrough } from "./writes";

const ROOT = path.resolve(__dirname, "..", "..");
const STACK = "local-downgrade";
const FROM = "3.7.3";
const TO = "3.6.16";
/** One `up`: the pre-change step, then 3 members reinstalled and restarted in turn. */
const UP_TIMEOUT_MS = 300_000;
/** The cluster version follows the members within a few of the leader's checks (every 4 s or so). */
const CLUSTER_VERSION_TIMEOUT_MS = 30_000;
/** Left free on member 0's data volume: less than a snapshot needs (itself, a defrag's copy and 64 MiB of log). */
const LEFT_FREE_BYTES = 16 * 1024 * 1024;
const FILLER = "/var/lib/etcd/filler";

describe(`downgrade on the local stack: ${FROM} -> ${TO} through etcd's downgrade API after a pre-change snapshot, a writer running`, function () {
    this.timeout(UP_TIMEOUT_MS + 120_000);
    let dir = "";
    let env: NodeJS.ProcessEnv = {};
    let endpoints: string[] = [];
    let client: EtcdClient = localClient(TO);
    const outputs: string[] = [];
    const started = Date.now();

    const stackCommand = stackCommandRunner(STACK, () => env, outputs, UP_TIMEOUT_MS);
    const memberVersions = async () => (await stackVersions(STACK, client, endpoints)).members;
    const clusterVersions = async () => (await stackVersions(STACK, client, endpoints)).cluster;

    const hostOf = (member: string) => memberHost(dir, member);

    /** A command on `member`'s host (its data volume mounted); its stdout. */
    async function onHost(member: string, command: string): Promise<string> {
        const result = await hostOf(member).exec(["bash", "-c", command], { timeoutMs: 60_000 });
        assert.equal(result.code, 0, `${command} on ${member}: ${result.stderr}`);
        return result.stdout.trim();
    }

    const members = [0, 1, 2].map((i) => `${STACK}-${i}`);

    before(async function () {
        ({ dir, env } = enterLocalCloud(this, STACK));
        const { output, seconds } = await stackCommand(
            upWith("etcd-aws:memberCount=3", `etcd-aws:etcdVersion=${FROM}`),
        );
        endpoints = printedEndpoints(output) ?? [];
        const { clientDir } = stackPaths(STACK);
        client = localClient(TO, [
            `--cacert=${path.join(clientDir, "ca.pem")}`,
            `--cert=${path.join(clientDir, "client.pem")}`,
            `--key=${path.join(clientDir, "client-key.pem")}`,
        ]);
        console.log(`      first up (3 members on ${FROM}): ${seconds.toFixed(0)} s`);
        assert.equal(endpoints.length, 3);
        assert.deepEqual(await memberVersions(), [FROM, FROM, FROM]);
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") console.log(outputs.at(-1)?.slice(-12_000) ?? "");
    });

    after(async function () {
        this.timeout(UP_TIMEOUT_MS + 60_000);
        const seconds = await leaveLocalCloud(STACK, dir, env, UP_TIMEOUT_MS);
        if (seconds !== undefined) console.log(`      destroy: ${seconds.toFixed(0)} s`);
        console.log(`      the whole file: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    });

    it(`member 0's data volume full: the pre-change snapshot fails and stops the update before any member is touched`, async () => {
        const free = Number(await onHost(members[0]!, "df --output=avail -B1 /var/lib/etcd | tail -1"));
        await onHost(members[0]!, `fallocate -l ${free - LEFT_FREE_BYTES} ${FILLER}`);
        const pids = members.map((member) => hostOf(member).etcdPid());
        try {
            await assert.rejects(stackCommand(["up", "--set", `etcd-aws:etcdVersion=${TO}`]), (error: Error) => {
                assert.match(error.message, /bytes free: a snapshot of the \d+-byte database needs \d+/);
                assert.match(error.message, new RegExp(`${STACK}-prepare-change`));
                return true;
            });
        } finally {
            await onHost(members[0]!, `rm -f ${FILLER}`);
        }
        const touched = stepNames(outputs.at(-1) ?? "").filter((name) =>
            members.some((member) => name === member || /-(install|launch|data|ready)$/.test(name)),
        );
        assert.deepEqual(touched, [], "no instance, volume, install, launch or ready check had a step");
        assert.deepEqual(await memberVersions(), [FROM, FROM, FROM], "every member still runs it");
        assert.deepEqual(
            members.map((member) => hostOf(member).etcdPid()),
            pids,
            "no etcd was restarted",
        );
        for (const member of members) {
            assert.match(await onHost(member, "readlink /usr/local/bin/etcd"), new RegExp(`/v${FROM}/etcd$`));
        }
    });

    it(`${FROM} -> ${TO}: snapshot and downgrade enabled before the first member step, every key kept, every member on ${TO} and the cluster on 3.6 after`, async () => {
        const changed = await writeThrough(
            client,
            endpoints,
            "local-stack/downgrade",
            () => stackCommand(["up", "--set", `etcd-aws:etcdVersion=${TO}`]),
            UP_TIMEOUT_MS + 60_000,
        );
        const { output, seconds } = changed.result;
        // The engine's order: the pre-change step's update comes before any step of a member.
        const steps = stepNames(output);
        const prepared = steps.indexOf(`${STACK}-prepare-change`);
        const firstMemberStep = steps.findIndex((name) => /-(install|launch)$/.test(name) || members.includes(name));
        assert.ok(prepared >= 0, `the pre-change step ran: ${steps.join(", ")}`);
        assert.ok(firstMemberStep > prepared, `after it, first member step: ${steps[firstMemberStep]}`);
        // The engine's record: every instance and launch depends on it.
        const exportRun = await run([PULUMI, "--cwd", ROOT, "stack", "export", "--stack", STACK], {
            timeoutMs: 60_000,
            env: pulumiEnvironment(),
        });
        assert.equal(exportRun.code, 0, exportRun.stderr);
        const exported = JSON.parse(exportRun.stdout) as {
            deployment: {
                resources: { urn: string; type: string; dependencies?: string[]; outputs?: { stderr?: string } }[];
            };
        };
        const dependents = exported.deployment.resources.filter(
            (r) => r.type === "aws:ec2/instance:Instance" || r.urn.endsWith("-launch"),
        );
        assert.equal(dependents.length, 6, "3 instances and 3 launches");
        // What the pre-change step did, in its order (its log, kept in the state).
        const prepareLog =
            exported.deployment.resources.find((r) => r.urn.endsWith(`::${STACK}-prepare-change`))?.outputs?.stderr ??
            "";
        const said = [
            /saved \/var\/lib\/etcd\/pre-change-snapshots\/\d{8}T\d{6}Z-rev\d+\.db from /,
            /downgrade to 3\.6 enabled/,
            /every member's storage version is 3\.6/,
        ].map((line) => prepareLog.search(line));
        assert.ok(
            said.every((at, i) => at >= 0 && (i === 0 || at > (said[i - 1] ?? 0))),
            `snapshot, enable, storage version, in order:\n${prepareLog}`,
        );
        for (const resource of dependents) {
            assert.ok(
                resource.dependencies?.some((urn) => urn.endsWith(`::${STACK}-prepare-change`)),
                `${resource.urn} depends on the pre-change step`,
            );
        }
        const readBack = await readBackThrough(client, endpoints, "local-stack/downgrade", changed.report.written);
        console.log(
            `      up ${seconds.toFixed(0)} s; ${changed.report.written.length} keys written, ${readBack} read back, ${changed.report.failed.length} failed, ${changed.report.retries} retries, longest stall ${changed.report.longestStallMs} ms`,
        );
        assert.deepEqual(changed.report.failed, [], "no write failed after its retries");
        assert.ok(readBack >= changed.report.written.length);
        assert.deepEqual(await memberVersions(), [TO, TO, TO]);
        const deadline = Date.now() + CLUSTER_VERSION_TIMEOUT_MS;
        let cluster = await clusterVersions();
        while (cluster.some((v) => v !== "3.6.0") && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            cluster = await clusterVersions();
        }
        assert.deepEqual(cluster, ["3.6.0", "3.6.0", "3.6.0"]);
        const snapshots = (await onHost(members[0]!, `ls ${PRE_CHANGE_SNAPSHOT_DIR}`)).split("\n");
        assert.equal(snapshots.length, 1, `one pre-change snapshot: ${snapshots.join(", ")}`);
        assert.match(snapshots[0] ?? "", /^\d{8}T\d{6}Z-rev\d+\.db$/);
        const status = JSON.parse(
            await onHost(members[0]!, `etcdutl snapshot status -w json ${PRE_CHANGE_SNAPSHOT_DIR}/${snapshots[0]}`),
        ) as { revision: number; totalKey: number };
        assert.ok(status.totalKey > 0 && status.revision > 1, JSON.stringify(status));
    });
});
