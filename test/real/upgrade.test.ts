// Issue 15's rolling upgrades on the local stack: a 3-member stack created at etcd 3.4.23, then one real
// `scripts/local-cluster.sh up --set etcd-aws:etcdVersion=...` per supported hop, 3.4.23 -> 3.5.16 -> 3.5.30 ->
// 3.6.16 -> 3.7.3, with a writer running through every endpoint (retries allowed) before, during and after each.
// Per hop: every acknowledged key read back with its value from every member, no write failed after its retries, the
// longest stall within one member's restart, the restarts (etcd's own log: told to stop, serving again) one at a
// time, no member told to stop while it led (the leader at that moment from etcd's own "became leader" lines), and at
// the end every member and the cluster version on the new release. Before the allowed hops, the changes the planner
// refuses (3.4 -> 3.6, 3.4 -> 3.5 with auth on, 3.5.16 -> 3.6.16, 3.5 -> 3.7, the downgrades 3.5 -> 3.4 and
// 3.6 -> 3.5) are refused by the local stack with the planner's message, seconds each, changing nothing. Run it alone:
//   flock /tmp/etcd-aws-real.lock npx mocha --timeout 600000 test/real/upgrade.test.ts
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { recordedUnder } from "../../local/process";
import { planUpgrade } from "../../core/upgrade";
import { parseEtcdVersion } from "../../core/versions";
import { EtcdClient } from "../../local/writer";
import { stackPaths } from "../../localcloud/stack";
import { describeOutcome, recordChange } from "./change-report";
import {
    clientTlsFiles,
    enterLocalCloud,
    etcdctlThrough,
    leaveLocalCloud,
    memberLogFiles,
    printedEndpoints,
    stackCommandRunner,
    stackVersions,
    upWith,
} from "./local-stack-run";
import { assertOneAtATime, logEvents, RestartWindow, restartWindowsIn } from "./restarts";
import { UPGRADE_CHAIN } from "./support";
import { localClient, readBackThrough, writeThrough } from "./writes";

const STACK = "local-upgrade";
/** One `up`: 3 members reinstalled and restarted in turn. */
const UP_TIMEOUT_MS = 300_000;
const WRITER_LIMIT_MS = UP_TIMEOUT_MS + 60_000;
/** One member's restart costs at most an election and the retries of the writes in flight (as the changes' test). */
const STALL_BUDGET_MS = 10_000;
/** The cluster version follows the members within a few of the leader's checks (every 4 s or so). */
const CLUSTER_VERSION_TIMEOUT_MS = 30_000;
/** A refusal happens before the engine or the mirror start. */
const REFUSAL_TIMEOUT_MS = 60_000;
/** The client outside the hosts: 3.5's etcdctl speaks to every release of the chain. */
const CLIENT_VERSION = "3.5.16";

const [FIRST = "3.4.23", ...HOPS] = UPGRADE_CHAIN;

/** The planner's reason for refusing `from` -> `to` (the local stack must print it). */
function plannerRefusal(from: string, to: string, auth: boolean): string {
    const plan = planUpgrade(parseEtcdVersion(from)!, parseEtcdVersion(to)!, { auth });
    assert.equal(plan.allowed, false, `${from} -> ${to} is refused by the planner`);
    return plan.allowed ? "" : plan.refusal.problem;
}

/** A change the local stack must refuse: the release asked for, with authentication turned on or not. */
interface RefusedChange {
    readonly to: string;
    readonly auth: boolean;
}

/** The version line's cluster version: "3.5.30" -> "3.5.0". */
const clusterVersionOf = (release: string) => `${release.split(".").slice(0, 2).join(".")}.0`;

/** Leadership as etcd's own logs tell it: each "<id> became leader at term <n>" line, in time order. */
function leadership(logs: readonly { logFile: string }[]): { at: number; leader: string }[] {
    return logs
        .flatMap(({ logFile }) =>
            logEvents(logFile, 0).flatMap((event) => {
                const found = /^([0-9a-f]+) became leader at term \d+$/.exec(event.msg);
                return found?.[1] ? [{ at: event.at, leader: found[1] }] : [];
            }),
        )
        .sort((a, b) => a.at - b.at);
}

/** The member (hex ID) that led when `window`'s member was told to stop: the last to become leader before then. */
function leaderAt(events: readonly { at: number; leader: string }[], at: number): string | undefined {
    return events.filter((event) => event.at <= at).at(-1)?.leader;
}

/** The most restart windows open at one time (members down at once, by etcd's logs). */
function mostAtOnce(windows: readonly RestartWindow[]): number {
    return Math.max(
        0,
        ...windows.map(
            (window) =>
                windows.filter((other) => other.stopped <= window.stopped && window.stopped < other.serving).length,
        ),
    );
}

describe(`rolling upgrades on the local stack: ${UPGRADE_CHAIN.join(" -> ")}, each a real pulumi up with a writer running`, function () {
    this.timeout(UP_TIMEOUT_MS + 120_000);
    let dir = "";
    let env: NodeJS.ProcessEnv = {};
    let endpoints: string[] = [];
    let client: EtcdClient = localClient(CLIENT_VERSION);
    let running: string = FIRST;
    const outputs: string[] = [];

    const stackCommand = stackCommandRunner(STACK, () => env, outputs, UP_TIMEOUT_MS);
    const etcdctl = (...args: string[]): Promise<string> => etcdctlThrough(client, endpoints, ...args);
    const versions = () => stackVersions(STACK, client, endpoints);

    /** Hex ID -> member name, from the member list. */
    async function memberIds(): Promise<Map<string, string>> {
        const text = await etcdctl("member", "list", "--write-out=json");
        const { members } = JSON.parse(text) as { members: { name: string }[] };
        // etcdctl prints uint64 IDs in decimal, beyond a double's precision: read them from the text.
        const ids = [...text.matchAll(/"ID":(\d+)/g)].map((m) => BigInt(m[1] ?? "0").toString(16));
        return new Map(members.map((member, i) => [ids[i] ?? "", member.name]));
    }

    /** The local stack refuses `to`: with the planner's reason, before anything changed. */
    async function assertRefused(command: "up" | "preview", { to, auth }: RefusedChange): Promise<number> {
        const { stackFile } = stackPaths(STACK);
        const before = fs.readFileSync(stackFile, "utf8");
        const started = Date.now();
        const settings = ["--set", `etcd-aws:etcdVersion=${to}`, ...(auth ? ["--set", "etcd-aws:auth=true"] : [])];
        await assert.rejects(stackCommand([command, ...settings], REFUSAL_TIMEOUT_MS), (error: Error) => {
            assert.ok(error.message.includes(plannerRefusal(running, to, auth)), error.message);
            assert.match(error.message, /exited with 1/);
            assert.match(error.message, /1 problem in the configuration, nothing was deployed/);
            // Neither the engine nor the release mirror ran.
            assert.doesNotMatch(error.message, /Updating \(|Previewing update/);
            return true;
        });
        assert.equal(fs.readFileSync(stackFile, "utf8"), before, "the stack file is unchanged");
        assert.deepEqual((await versions()).members, [running, running, running], "the members still run it");
        return (Date.now() - started) / 1000;
    }

    before(async function () {
        ({ dir, env } = enterLocalCloud(this, STACK));
        const { output, seconds } = await stackCommand(
            upWith("etcd-aws:memberCount=3", `etcd-aws:etcdVersion=${FIRST}`),
        );
        endpoints = printedEndpoints(output) ?? [];
        const tls = clientTlsFiles(STACK);
        client = localClient(CLIENT_VERSION, [`--cacert=${tls.cacert}`, `--cert=${tls.cert}`, `--key=${tls.key}`]);
        console.log(`      first up (3 members on ${FIRST}): ${seconds.toFixed(0)} s`);
        assert.equal(endpoints.length, 3);
        assert.deepEqual((await versions()).members, [FIRST, FIRST, FIRST]);
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") console.log(outputs.at(-1)?.slice(-12_000) ?? "");
    });

    after(async function () {
        this.timeout(UP_TIMEOUT_MS + 60_000);
        await leaveLocalCloud(STACK, dir, env, UP_TIMEOUT_MS);
    });

    /**
     * The changes refused from each running release, checked on the stack before its allowed hop: a skipped minor,
     * a 3.5 below the patch 3.6 needs, a downgrade below 3.6, and the 3.4 -> 3.5 roll with authentication turned on.
     */
    const REFUSED: Readonly<Record<string, readonly RefusedChange[]>> = {
        "3.4.23": [
            { to: "3.6.16", auth: false },
            { to: "3.5.16", auth: true },
        ],
        "3.5.16": [
            { to: "3.6.16", auth: false },
            { to: "3.7.3", auth: false },
        ],
        "3.5.30": [{ to: "3.4.23", auth: false }],
        "3.6.16": [{ to: "3.5.30", auth: false }],
    };

    for (const to of HOPS) {
        it(`${to}: one pulumi up, every key kept, restarts one at a time, no member stopped while it led, every member and the cluster on ${to} after`, async function () {
            const from = running;
            for (const refused of REFUSED[from] ?? []) {
                for (const command of ["preview", "up"] as const) {
                    const seconds = await assertRefused(command, refused);
                    const what = `${from} -> ${refused.to}${refused.auth ? " with auth on" : ""}`;
                    console.log(`      ${command} ${what}: refused in ${seconds.toFixed(1)} s`);
                }
            }
            const since = Date.now();
            const prefix = `upgrade/${to}`;
            const changed = await writeThrough(
                client,
                endpoints,
                prefix,
                () => stackCommand(["up", "--set", `etcd-aws:etcdVersion=${to}`]),
                WRITER_LIMIT_MS,
            );
            running = to;
            endpoints = printedEndpoints(changed.result.output) ?? endpoints;
            const readBack = await readBackThrough(client, endpoints, prefix, changed.report.written);
            const logs = memberLogFiles(dir);
            const windows = restartWindowsIn(logs, since);
            const ids = await memberIds();
            const leaders = leadership(logs);
            // Every stop has a leader the logs name (a member of the cluster), so the check below cannot pass vacuously.
            const unknown = windows.filter((window) => !ids.has(leaderAt(leaders, window.stopped) ?? ""));
            assert.deepEqual(unknown, [], "etcd's logs name the leader at every stop");
            const stoppedWhileLeading = windows.filter(
                (window: RestartWindow) => ids.get(leaderAt(leaders, window.stopped) ?? "") === window.member,
            );
            const outcome = recordChange(`upgrade ${from} -> ${to}`, to, changed.report, readBack, {
                upSeconds: changed.result.seconds,
                mostDown: mostAtOnce(windows),
                healthyMembers: endpoints.length,
            });
            const leadersAtStops = windows.map((w) => `${w.member}: ${ids.get(leaderAt(leaders, w.stopped) ?? "")}`);
            console.log(
                `      ${from} -> ${to}: up ${changed.result.seconds.toFixed(0)} s; ${describeOutcome(outcome)}; leader when each member was stopped: ${leadersAtStops.join(", ")}`,
            );
            assertOneAtATime(windows, 3);
            assert.deepEqual(stoppedWhileLeading, [], "no member was stopped while it led");
            assert.deepEqual(changed.report.failed, [], "no write failed after its retries");
            assert.ok(readBack >= changed.report.written.length, "every acknowledged key read back with its value");
            assert.ok(
                changed.report.longestStallMs <= STALL_BUDGET_MS,
                `writes stalled ${changed.report.longestStallMs} ms (more than one member's restart)`,
            );
            const deadline = Date.now() + CLUSTER_VERSION_TIMEOUT_MS;
            let found = await versions();
            while (found.cluster.some((v) => v !== clusterVersionOf(to)) && Date.now() < deadline) {
                await new Promise((resolve) => setTimeout(resolve, 1_000));
                found = await versions();
            }
            assert.deepEqual(found.members, [to, to, to], "every member runs the new release");
            assert.deepEqual(found.cluster, [clusterVersionOf(to), clusterVersionOf(to), clusterVersionOf(to)]);
        });
    }

    it("destroy leaves nothing of the stack running", async () => {
        const { seconds } = await stackCommand(["destroy"]);
        console.log(`      destroy: ${seconds.toFixed(0)} s`);
        assert.deepEqual(recordedUnder(dir), []);
    });
});
