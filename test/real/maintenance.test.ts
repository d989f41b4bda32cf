// Defragmentation and the NOSPACE recovery as rendered (core/scripts/defrag.ts), on three local
// hosts per release with a 16 MiB backend quota: the defrag script leaves members alone when little
// of their file is wasted and defragments them when much is, one at a time and the leader last
// (etcd's own log says when each defrag ran); history written until etcd answers "database space
// exceeded" makes the health gate fail naming NOSPACE and the recovery command, and the recovery
// script clears it: writes work again and the health gate passes.
import * as assert from "node:assert/strict";
import {
    DEFRAG_DEFAULTS,
    RECOVER_SPACE_COMMAND,
    renderDefragScript,
    renderRecoverSpaceScript,
} from "../../core/scripts/defrag";
import { clientUrl, HOST_PATHS, renderHealthGateScript } from "../../core";
import { LocalCluster, LocalMember } from "../../local/cluster";
import { RunResult, waitFor } from "../../local/process";
import { prepareScenario, reshapeScenario } from "../../local/scenario";
import { at } from "../helpers/elements";
import { logEvents } from "./restarts";
import { CLUSTER_OPTIONS, clusterName, scenarioInput, useWorkspace } from "./support";

const VERSIONS = ["3.5.16", "3.6.16"] as const;
const MIB = 1024 * 1024;
const QUOTA_BYTES = 16 * MIB;
const SCRIPT_TIMEOUT_MS = 120_000;

interface MemberStatus {
    readonly id: string;
    readonly dbSize: number;
    readonly dbSizeInUse: number;
    readonly leader: boolean;
}

/** When one member's etcd defragmented, from its log. */
interface DefragWindow {
    readonly member: string;
    readonly started: number;
    readonly finished: number;
}

for (const version of VERSIONS) {
    describe(`etcd ${version}: defrag and NOSPACE recovery (three local hosts, ${QUOTA_BYTES / MIB} MiB quota)`, () => {
        const workspace = useWorkspace(`maintenance-${version}`);
        let cluster: LocalCluster;

        before(async function () {
            this.timeout(180_000);
            const input = {
                ...scenarioInput(workspace(), "static", version),
                clusterName: clusterName("maint", version),
            };
            cluster = reshapeScenario(await prepareScenario(input, CLUSTER_OPTIONS), input, {
                extraFlags: { "quota-backend-bytes": String(QUOTA_BYTES) },
            });
            await cluster.bringUp();
        });

        afterEach(function () {
            if (this.currentTest?.state === "failed") console.log(cluster.logs(30));
        });

        /** Every member's status by name (IDs in hex, as the scripts log them). */
        async function statuses(): Promise<Map<string, MemberStatus>> {
            const endpoints = cluster.spec.members.map((m) => clientUrl(cluster.spec, m)).join(",");
            const { stdout } = await cluster.etcdctl(0, [
                `--endpoints=${endpoints}`,
                "endpoint",
                "status",
                "-w",
                "json",
            ]);
            const answer = JSON.parse(stdout.replace(/("(?:cluster_id|member_id|leader)":)(\d+)/g, '$1"$2"')) as {
                Endpoint: string;
                Status: { header: { member_id: string }; leader: string; dbSize: number; dbSizeInUse: number };
            }[];
            return new Map(
                answer.map(({ Endpoint, Status }) => {
                    const member = cluster.spec.members.find((m) => clientUrl(cluster.spec, m) === Endpoint);
                    assert.ok(member, Endpoint);
                    const status = {
                        id: BigInt(Status.header.member_id).toString(16),
                        dbSize: Status.dbSize,
                        dbSizeInUse: Status.dbSizeInUse,
                        leader: Status.leader === Status.header.member_id,
                    };
                    return [member.name, status];
                }),
            );
        }

        function leaderOf(found: Map<string, MemberStatus>): string {
            const leaders = [...found].filter(([, status]) => status.leader).map(([name]) => name);
            assert.equal(leaders.length, 1, `leaders: ${leaders.join(", ")}`);
            return at(leaders, 0);
        }

        /** The defrags each member's etcd logged since `since`, in time order. */
        function defragWindows(since: number): DefragWindow[] {
            return cluster.members
                .flatMap(({ member, host }) => {
                    const events = logEvents(host.hostPath(HOST_PATHS.logFile), since);
                    return events.flatMap((event, i) => {
                        if (event.msg !== "starting defragment") return [];
                        const finished = events.slice(i).find((later) => later.msg === "finished defragment");
                        return [{ member: member.name, started: event.at, finished: finished?.at ?? Infinity }];
                    });
                })
                .sort((a, b) => a.started - b.started);
        }

        /** Asserts one defrag per member, none overlapping another, the leader's last. */
        function assertOneAtATimeLeaderLast(windows: DefragWindow[], leader: string): void {
            console.log(
                windows
                    .map(
                        (w) =>
                            `      ${w.member}: defrag ${w.finished - w.started} ms, from ${new Date(w.started).toISOString().slice(11, 23)}`,
                    )
                    .join("\n"),
            );
            assert.deepEqual(windows.map((w) => w.member).sort(), cluster.spec.members.map((m) => m.name).sort());
            windows.slice(1).forEach((window, i) => {
                const previous = at(windows, i);
                assert.ok(
                    window.started >= previous.finished,
                    `${window.member} started before ${previous.member} finished`,
                );
            });
            assert.equal(at(windows, windows.length - 1).member, leader);
        }

        function run(target: LocalMember, script: string): Promise<RunResult> {
            return target.host.runScript(script, { timeoutMs: SCRIPT_TIMEOUT_MS });
        }

        /** Writes `count` values of `bytes` random bytes (base64) under `key`, or numbered keys from it, from member 0's host; stops at the first refusal. */
        function write(key: string, count: number, bytes: number, numbered: boolean): Promise<RunResult> {
            const endpoint = clientUrl(cluster.spec, cluster.member(0).member);
            return cluster
                .member(0)
                .host.runScript(
                    [
                        "set -uo pipefail",
                        `for i in $(seq 1 ${count}); do`,
                        `  head -c ${bytes} /dev/urandom | base64 -w0 | etcdctl --endpoints ${endpoint} put "${key}${numbered ? "$i" : ""}" >/dev/null || exit 1`,
                        "done",
                    ].join("\n"),
                    { timeoutMs: SCRIPT_TIMEOUT_MS },
                );
        }

        it(`the defrag script leaves every member alone while little of its file is wasted (from ${DEFRAG_DEFAULTS.wastedQuotaShare * 100} % of the quota and ${DEFRAG_DEFAULTS.minWastedFraction * 100} % of the file): no defrag, no lock taken`, async function () {
            this.timeout(60_000);
            const before = await statuses();
            const since = Date.now();
            const result = await run(cluster.member(1), renderDefragScript(cluster.spec, cluster.member(1).member));
            assert.equal(result.code, 0, result.stderr);
            assert.equal(
                result.stderr.match(/nothing to defragment on (leader|follower) [0-9a-f]+/g)?.length,
                3,
                result.stderr,
            );
            assert.doesNotMatch(result.stderr, /took the membership lock/);
            assert.deepEqual(defragWindows(since), []);
            const after = await statuses();
            for (const [name, status] of before) {
                assert.equal(after.get(name)?.dbSize, status.dbSize, name);
            }
        });

        it("the defrag script does nothing while a member is away (a defrag of another would cost quorum) and fails saying so", async function () {
            this.timeout(90_000);
            const away = cluster.member(2);
            await cluster.systemctl([away], "stop");
            try {
                const result = await run(cluster.member(0), renderDefragScript(cluster.spec, cluster.member(0).member));
                assert.equal(result.code, 1, result.stderr);
                assert.match(result.stderr, /not every member answers its status/);
                assert.doesNotMatch(result.stderr, /took the membership lock|defragmenting/);
            } finally {
                await cluster.systemctl([away], "start");
            }
            await cluster.healthGate();
        });

        it("defragments every member once much of its file is wasted: under the membership lock, one at a time, the leader last, each file shrunk", async function () {
            this.timeout(120_000);
            // 6 MiB of values, deleted and compacted away: free pages in every member's file.
            const written = await write("waste/k", 16, 384 * 1024, true);
            assert.equal(written.code, 0, written.stderr);
            await cluster.etcdctl(0, ["del", "waste/", "--prefix"]);
            const { stdout } = await cluster.etcdctl(0, ["get", "waste/", "--prefix", "-w", "json"]);
            const revision = (JSON.parse(stdout) as { header: { revision: number } }).header.revision;
            await cluster.etcdctl(0, ["compact", String(revision), "--physical"]);
            // bbolt hands the pages the compaction freed back with the next write.
            await cluster.etcdctl(0, ["put", "waste-freed", "yes"]);
            const before = await waitFor("every member's freed pages counted as wasted", 10_000, async () => {
                const found = await statuses();
                const wasted = [...found.values()].every((status) => status.dbSize - status.dbSizeInUse > 4 * MIB);
                return wasted ? found : undefined;
            });
            const leader = leaderOf(before);
            const since = Date.now();
            const result = await run(cluster.member(0), renderDefragScript(cluster.spec, cluster.member(0).member));
            assert.equal(result.code, 0, result.stderr);
            assert.match(result.stderr, /took the membership lock/);
            assert.match(result.stderr, /defragmented 3 member\(s\)/);
            assertOneAtATimeLeaderLast(defragWindows(since), leader);
            const after = await statuses();
            for (const [name, status] of before) {
                const shrunk = after.get(name)?.dbSize ?? Infinity;
                console.log(`      ${name}: ${status.dbSize} -> ${shrunk} bytes`);
                assert.ok(shrunk < status.dbSize - 4 * MIB, `${name}: ${status.dbSize} -> ${shrunk}`);
            }
            // Run again: nothing left worth it.
            const again = await run(cluster.member(2), renderDefragScript(cluster.spec, cluster.member(2).member));
            assert.equal(again.code, 0, again.stderr);
            assert.match(again.stderr, /nothing to defragment/);
        });

        it("history written until etcd refuses ('database space exceeded') fails the health gate at once naming NOSPACE, the member and the recovery command; the defrag script refuses to act", async function () {
            this.timeout(120_000);
            // One key rewritten: history, which compaction frees (as a cluster without compaction fills up).
            const filled = await write("fill/key", 200, 384 * 1024, false);
            assert.equal(filled.code, 1, "the quota was never reached");
            assert.match(filled.stderr, /mvcc: database space exceeded/);
            const started = Date.now();
            const gate = await run(cluster.member(0), renderHealthGateScript(cluster.spec, { timeoutSeconds: 60 }));
            const seconds = (Date.now() - started) / 1000;
            assert.equal(gate.code, 1, gate.stderr);
            const names = cluster.spec.members.map((m) => m.name).join("|");
            assert.match(gate.stderr, new RegExp(`NOSPACE alarm raised on member (${names}) \\([0-9a-f]+\\)`));
            assert.ok(gate.stderr.includes(`on any member run: ${RECOVER_SPACE_COMMAND}`), gate.stderr);
            assert.ok(seconds < 20, `the gate took ${seconds} s`);
            const defrag = await run(cluster.member(1), renderDefragScript(cluster.spec, cluster.member(1).member));
            assert.equal(defrag.code, 1);
            assert.ok(defrag.stderr.includes(`NOSPACE alarm raised on member`), defrag.stderr);
            assert.ok(defrag.stderr.includes(`recover the space: ${RECOVER_SPACE_COMMAND}`), defrag.stderr);
        });

        it("the recovery script clears NOSPACE (compact, defrag every member one at a time with the leader last, disarm): a write succeeds, the health gate passes; run again, it finds nothing to do", async function () {
            this.timeout(150_000);
            const leader = leaderOf(await statuses());
            const since = Date.now();
            const recovery = await run(
                cluster.member(2),
                renderRecoverSpaceScript(cluster.spec, cluster.member(2).member),
            );
            assert.equal(recovery.code, 0, recovery.stderr);
            assert.match(recovery.stderr, /compacted the history to revision \d+/);
            assert.match(recovery.stderr, /defragmented 3 member\(s\)/);
            assert.match(recovery.stderr, /disarmed the NOSPACE alarm/);
            assert.match(recovery.stderr, /writes work/);
            assertOneAtATimeLeaderLast(defragWindows(since), leader);
            const { stdout: alarms } = await cluster.etcdctl(0, ["alarm", "list"]);
            assert.equal(alarms.trim(), "");
            await cluster.etcdctl(1, ["put", "after-recovery", "written"]);
            const { stdout: value } = await cluster.etcdctl(2, ["get", "after-recovery", "--print-value-only"]);
            assert.equal(value.trim(), "written");
            await cluster.healthGate();
            for (const [name, status] of await statuses()) {
                assert.ok(status.dbSize < QUOTA_BYTES / 2, `${name}: ${status.dbSize} bytes after the recovery`);
            }
            const again = await run(
                cluster.member(0),
                renderRecoverSpaceScript(cluster.spec, cluster.member(0).member),
            );
            assert.equal(again.code, 0, again.stderr);
            assert.match(again.stderr, /no alarm raised: nothing to recover/);
            assert.match(again.stderr, /writes work/);
        });
    });
}
