// Issue 4 on real etcd: a static 3-member cluster deployed from core's rendered scripts keeps quorum
// and every acknowledged key through faults the local stack's changes do not make (kill -9 of the
// leader, two of three down, a member's data wiped, every script run again, a restart refused while
// another member is down). The changes themselves (scale 3 -> 5 -> 3, a rolling flag change) run in
// the engine's own order in test/real/local-stack-changes.test.ts. The scenarios run in turn on one
// cluster per version (each starts from three healthy members); in each, a bounded writer runs
// before, during and after the fault, and its keys are read back from every member.
import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import { clientEndpoints, HOST_PATHS } from "../../core";
import { LAUNCH_TIMEOUT_MS, LocalCluster, LocalMember } from "../../local/cluster";
import { LocalHost } from "../../local/host";
import { waitFor } from "../../local/process";
import { prepareScenario, reshapeScenario, ScenarioInput } from "../../local/scenario";
import { Writer, WriterReport } from "../../local/writer";
import { describeOutcome, recordChange } from "./change-report";
import { restartWindows } from "./restarts";
import { CHANGE_VERSIONS, CLUSTER_OPTIONS, clusterName, scenarioInput, useWorkspace } from "./support";
import { localClient, readBack, waitForWrites, writeThrough } from "./writes";
import { at } from "../helpers/elements";

const HEALTH_TIMEOUT_MS = 60_000;

/**
 * A scenario's timeout: longer than the launch and leave scripts it runs one after another may
 * wait themselves, so a stuck script ends with its own diagnosis (what it waited for, the last
 * error, etcd's log) instead of a bare mocha timeout.
 */
function scenarioTimeout(scriptPhases: number): number {
    return scriptPhases * LAUNCH_TIMEOUT_MS + 2 * HEALTH_TIMEOUT_MS;
}

/** What `endpoint status -w json` says of one member (its plain table gained columns in 3.6). */
interface MemberStatus {
    readonly header: { readonly member_id: number };
    readonly leader: number;
    readonly errors?: readonly string[];
}

async function memberStatus(cluster: LocalCluster, index: number): Promise<MemberStatus> {
    const { stdout } = await cluster.etcdctl(index, ["endpoint", "status", "--write-out=json"]);
    // IDs are uint64 and parse as rounded numbers: the same ID rounds alike, so they still compare.
    return at(JSON.parse(stdout) as { Status: MemberStatus }[], 0, "endpoint status").Status;
}

/** Index of the member that reports itself leader. */
async function leaderIndex(cluster: LocalCluster): Promise<number> {
    const statuses = await Promise.all(cluster.members.map((_, index) => memberStatus(cluster, index)));
    const index = statuses.findIndex((status) => status.leader === status.header.member_id);
    assert.ok(index >= 0, JSON.stringify(statuses));
    return index;
}

/** Waits until member `index` answers a health check itself. */
async function healthy(cluster: LocalCluster, index: number): Promise<void> {
    const name = at(cluster.members, index).member.name;
    await waitFor(`${name} to be healthy`, HEALTH_TIMEOUT_MS, async () =>
        (await cluster.etcdctl(index, ["endpoint", "health"]).catch(() => undefined)) ? true : undefined,
    );
}

function pids(members: readonly LocalMember[]): (number | undefined)[] {
    return members.map(({ host }) => host.etcdPid());
}

/** The etcd process's own environment: what it really runs with. */
function processEnvironment(host: LocalHost): string[] {
    return fs.readFileSync(`/proc/${host.etcdPid()}/environ`, "utf8").split("\0");
}

interface FileState {
    readonly file: string;
    readonly sha256: string;
    readonly mtimeMs: number;
    readonly mode: number;
}

/** Content digest, mtime and mode of every file the install and launch scripts write on the host. */
function fileStates(host: LocalHost): FileState[] {
    const files = [
        HOST_PATHS.envFile,
        HOST_PATHS.joinEnvFile,
        HOST_PATHS.unitFile,
        HOST_PATHS.leaveScript,
        `${HOST_PATHS.binDir}/etcd`,
        `${HOST_PATHS.binDir}/etcdctl`,
    ];
    return files
        .filter((file) => fs.existsSync(host.hostPath(file)))
        .map((file) => {
            const stat = fs.lstatSync(host.hostPath(file));
            const content = stat.isSymbolicLink()
                ? fs.readlinkSync(host.hostPath(file))
                : fs.readFileSync(host.hostPath(file));
            return {
                file,
                sha256: createHash("sha256").update(content).digest("hex"),
                mtimeMs: stat.mtimeMs,
                mode: stat.mode,
            };
        });
}

for (const version of CHANGE_VERSIONS) {
    describe(`etcd ${version}: keeping quorum and every key through change (scenarios in turn on one 3-member cluster, a writer running)`, () => {
        const workspace = useWorkspace(`change-${version}`);
        let input: ScenarioInput;
        let cluster: LocalCluster;

        /** Runs the writer around `fault`, reads every key back from every member, records and prints the outcome. */
        async function scenario<T>(
            name: string,
            fault: (writer: Writer) => Promise<T>,
        ): Promise<{ report: WriterReport; result: T }> {
            const endpoints = clientEndpoints(cluster.spec);
            const prefix = `change/${name.replace(/\W+/g, "-")}`;
            const run = await writeThrough(localClient(version), endpoints, prefix, fault);
            const readBackCount = await readBack(cluster, prefix, run.report.written);
            console.log(`      ${name}: ${describeOutcome(recordChange(name, version, run.report, readBackCount))}`);
            return run;
        }

        before(async function () {
            this.timeout(240_000);
            input = { ...scenarioInput(workspace(), "static", version), clusterName: clusterName("change", version) };
            cluster = await prepareScenario(input, CLUSTER_OPTIONS);
            await cluster.bringUp();
        });

        beforeEach(async function () {
            this.timeout(HEALTH_TIMEOUT_MS + 30_000);
            await cluster.healthGate();
        });

        // Printed here because a retried test reports only its last failure, and the first
        // one carries the launch scripts' own diagnosis.
        afterEach(function () {
            if (this.currentTest?.state === "failed") {
                console.log(`${this.currentTest.err?.message ?? ""}\n${cluster.logs()}`);
            }
        });

        it("keeps acknowledging writes while the leader is killed with kill -9; relaunched (update), it catches up and holds every key itself", async function () {
            this.timeout(scenarioTimeout(1));
            const index = await leaderIndex(cluster);
            const { host, member } = at(cluster.members, index);
            const { report } = await scenario("kill -9 the leader", async (writer) => {
                const killedAt = Date.now();
                const pid = await host.killEtcd();
                await waitForWrites(writer, `while ${member.name} (pid ${pid}) is killed`, killedAt);
                assert.ok(!host.etcdRunning());
                const launch = at(await cluster.launch([at(cluster.members, index)], "update"), 0, "launch result");
                assert.match(launch.stderr, /starting etcd on its existing data/);
                await healthy(cluster, index);
                console.log(
                    `      killed leader ${member.name} (pid ${pid}); ${writer.acknowledgedSince(killedAt)} writes acknowledged since; relaunched as pid ${host.etcdPid()}`,
                );
            });
            assert.strictEqual(report.failed.length, 0, JSON.stringify(report.failed));
        });

        it('fails writes while two of three members are stopped (the survivor reports "etcdserver: no leader"); started again, the cluster recovers with every key', async function () {
            this.timeout(scenarioTimeout(1));
            const stopped = cluster.members.slice(1);
            const { report, result } = await scenario("stop two of three", async (writer) => {
                await cluster.systemctl(stopped, "stop");
                await waitFor("a write to fail after its retries", 60_000, () =>
                    writer.failures > 0 ? true : undefined,
                );
                const put = await cluster.etcdctl(0, ["put", "change/quorum-probe", "x"]).then(
                    () => "",
                    (error: Error) => error.message,
                );
                // The errors the survivor's status reports.
                const status = ((await memberStatus(cluster, 0)).errors ?? []).join("; ");
                await cluster.launch(stopped, "update");
                await cluster.healthGate();
                return { put, status };
            });
            const putError = result.put.split("\n").find((line) => line.startsWith("Error:"));
            console.log(
                `      on the remaining member: put fails with "${putError}"; endpoint status reports "${result.status}"`,
            );
            assert.match(putError ?? "", /context deadline exceeded|etcdserver: request timed out/);
            assert.strictEqual(result.status, "etcdserver: no leader");
            assert.ok(report.failed.length > 0);
        });

        it("rejoins a replaced member (stopped, data dir wiped, install and launch re-run without --bootstrap): stale entry removed, learner added and promoted, new ID, no key lost", async function () {
            this.timeout(scenarioTimeout(1));
            const target = at(cluster.members, 2);
            const before = await cluster.memberIds();
            const { report, result: launch } = await scenario("replace a member", async () => {
                await cluster.systemctl([target], "stop");
                target.host.wipeEtcdData();
                await cluster.install([target]);
                return at(await cluster.launch([target], "update"), 0, "launch result").stderr;
            });
            const old = before.find((m) => m.name === target.member.name)?.id;
            assert.match(launch, new RegExp(`removed stale member ${old} \\(${target.member.name}\\)`));
            assert.match(launch, /added \S+ as learner [0-9a-f]+/);
            assert.match(launch, /promoted \S+ \([0-9a-f]+\) to voting member/);
            const after = await cluster.memberIds();
            assert.deepStrictEqual(
                after.map((m) => [m.name, m.learner]),
                cluster.spec.members.map((m) => [m.name, false]),
            );
            const replaced = after.find((m) => m.name === target.member.name)?.id;
            assert.notStrictEqual(replaced, old);
            (await cluster.endpointHealth()).forEach((line) => assert.match(line, /is healthy/));
            console.log(`      ${target.member.name}: member ${old} replaced by ${replaced}`);
            assert.strictEqual(report.failed.length, 0, JSON.stringify(report.failed));
        });

        it("changes nothing when install, launch (update) and the health gate run again on a healthy cluster: same etcd PIDs and member IDs, same files, mtimes and modes, no restart", async function () {
            this.timeout(scenarioTimeout(1));
            const before = pids(cluster.members);
            const files = cluster.members.map(({ host }) => fileStates(host));
            const members = await cluster.memberIds();
            const since = Date.now();
            const { report, result } = await scenario("re-run every script", async () => {
                await cluster.install();
                const launches = await cluster.launch(cluster.members, "update");
                await cluster.healthGate();
                return launches;
            });
            result.forEach((launch) => assert.match(launch.stderr, /etcd is running with this configuration already/));
            assert.deepStrictEqual(pids(cluster.members), before);
            assert.deepStrictEqual(
                cluster.members.map(({ host }) => fileStates(host)),
                files,
            );
            assert.deepStrictEqual(await cluster.memberIds(), members);
            assert.deepStrictEqual(restartWindows(cluster.members, since), []);
            assert.strictEqual(report.failed.length, 0, JSON.stringify(report.failed));
        });

        it("refuses a configuration change's restart while another member is down and keeps serving; run again once the member is back, the change is applied", async function () {
            this.timeout(scenarioTimeout(2));
            const down = at(cluster.members, 2);
            const first = at(cluster.members, 0);
            const firstPid = first.host.etcdPid();
            const updated = reshapeScenario(cluster, input, { extraFlags: { "snapshot-count": "6000" } });
            const { report, result: refusal } = await scenario("refused restart (a member down)", async (writer) => {
                await cluster.systemctl([down], "stop");
                const refusedAt = Date.now();
                const error = await updated.launch([at(updated.members, 0)], "update").then(
                    () => "",
                    (failure: Error) => failure.message,
                );
                await waitForWrites(writer, "after the refusal", refusedAt);
                assert.strictEqual(first.host.etcdPid(), firstPid);
                await cluster.systemctl([down], "start");
                await healthy(cluster, 2);
                await updated.launch(updated.members, "update");
                return error;
            });
            cluster = updated;
            const reason = /refusing to restart member [0-9a-f]+: only 1 of the other 2 members are healthy/.exec(
                refusal,
            )?.[0];
            assert.ok(reason, refusal);
            console.log(`      ${first.member.name}'s launch: ${reason}`);
            assert.notStrictEqual(first.host.etcdPid(), firstPid);
            cluster.members.forEach(({ host }) =>
                assert.ok(processEnvironment(host).includes("ETCD_SNAPSHOT_COUNT=6000")),
            );
            assert.strictEqual(report.failed.length, 0, JSON.stringify(report.failed));
        });
    });
}
