// host/lib/membership.sh's cluster-wide lock (take_cluster_lock, release_cluster_lock,
// with_cluster_lock) from the checkout, run by several shells at once against a stand-in etcdctl
// whose `lock` is a real lock on this machine (flock on a file; like etcd's, it runs the command
// given after the key while it holds). What is proven here is the shell's part: one holder at a
// time, how fast the next one starts, and that a holder's lock goes with it however it ends.
// test/real/lock.test.ts proves the same against etcd.
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fakeBin, tempDir } from "../core/helpers";
import { HOST_DIR, ListedMember, memberList } from "./stand-ins";

/** etcdctl: `member list` from members.json (fails without), `lock` through flock; each call logged. */
const ETCDCTL = `echo "etcdctl $*" >>"$LOCK_TEST_DIR/calls"
case "$*" in
    *"member list"*) [ -e "$LOCK_TEST_DIR/members.json" ] || exit 1; cat "$LOCK_TEST_DIR/members.json" ;;
    *" lock "*)
        failures=$(cat "$LOCK_TEST_DIR/lock-failures" 2>/dev/null || echo 0)
        if [ "$failures" -gt 0 ]; then
            echo $((failures - 1)) >"$LOCK_TEST_DIR/lock-failures"
            echo "Error: etcdserver: rpc not supported for learner" >&2
            exit 1
        fi
        while [ "$1" != -- ]; do shift; done
        shift
        exec flock -o "$LOCK_TEST_DIR/lock" "$@" ;;
esac`;

/**
 * Runs "with_cluster_lock [$LOCK_OPTION] work", where work logs "start|end NAME EPOCHREALTIME" around $WORK;
 * then "returned NAME EPOCHREALTIME free|held".
 */
const DRIVER = `set -euo pipefail
LOG_TAG=lock-test
source "$HOST_DIR/lib/common.sh"
source "$HOST_DIR/lib/membership.sh"
work() {
    echo "start $MEMBER_NAME $EPOCHREALTIME" >>"$LOCK_TEST_DIR/timeline"
    eval "$WORK"
    echo "end $MEMBER_NAME $EPOCHREALTIME" >>"$LOCK_TEST_DIR/timeline"
}
with_cluster_lock \${LOCK_OPTION:+"$LOCK_OPTION"} work
# Whether etcdctl let go already: free, or held by this or another holder.
lock_state=$(flock -n "$LOCK_TEST_DIR/lock" echo free || echo held)
echo "returned $MEMBER_NAME $EPOCHREALTIME $lock_state" >>"$LOCK_TEST_DIR/timeline"`;

const CLIENT = (i: number) => `http://10.0.0.${10 + i}:2379`;

interface Holder {
    readonly child: ChildProcess;
    readonly done: Promise<{ status: number | null; stderr: string }>;
}

interface Event {
    readonly kind: string;
    readonly member: string;
    readonly at: number;
    /** After with_cluster_lock returned: whether the lock was free. */
    readonly lock?: string;
}

/** Every holder started, so that what is left of each (a killed holder's work) is killed after its test. */
const holders: ChildProcess[] = [];

class LockWorld {
    readonly dir = tempDir("lock");
    private readonly bin = fakeBin({ etcdctl: ETCDCTL });

    /** Members 0..count-1 listed as started voters, plus a learner and an unstarted member when given. */
    members(count: number, extra: { learner?: number; unstarted?: number } = {}): this {
        const entry = (i: number): ListedMember => ({
            id: BigInt(101 + i),
            name: `orders-${i}`,
            peer: `http://10.0.0.${10 + i}:2380`,
            client: CLIENT(i),
        });
        const listed = [...Array(count).keys()].map(entry);
        if (extra.learner !== undefined) {
            listed.push({ ...entry(extra.learner), learner: true });
        }
        if (extra.unstarted !== undefined) {
            const { id, peer } = entry(extra.unstarted);
            listed.push({ id, peer });
        }
        fs.writeFileSync(path.join(this.dir, "members.json"), memberList(listed));
        return this;
    }

    lockFailures(count: number): this {
        fs.writeFileSync(path.join(this.dir, "lock-failures"), String(count));
        return this;
    }

    /** Member `self` of `count` running with_cluster_lock around `work` (shell text). */
    hold(self: number, count: number, work: string, waitSeconds = 20, option = ""): Holder {
        const child = spawn("bash", ["-c", DRIVER], {
            env: {
                PATH: `${this.bin}:${process.env.PATH}`,
                HOST_DIR,
                LOCK_TEST_DIR: this.dir,
                WORK: work,
                LOCK_OPTION: option,
                MEMBER_NAME: `orders-${self}`,
                PEER_URL: `http://10.0.0.${10 + self}:2380`,
                LOCAL_ENDPOINT: CLIENT(self),
                PEER_ENDPOINTS: [...Array(count).keys()]
                    .filter((i) => i !== self)
                    .map(CLIENT)
                    .join(","),
                LOCK_KEY: "etcd-aws/membership",
                UNIT: "etcd.service",
                WAIT_SECONDS: String(waitSeconds),
                REPORT_EVERY_SECONDS: "30",
            },
            stdio: ["ignore", "ignore", "pipe"],
            detached: true,
        });
        let stderr = "";
        child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const done = new Promise<{ status: number | null; stderr: string }>((resolve) =>
            child.on("close", (status) => resolve({ status, stderr })),
        );
        holders.push(child);
        return { child, done };
    }

    timeline(): Event[] {
        const file = path.join(this.dir, "timeline");
        if (!fs.existsSync(file)) {
            return [];
        }
        return fs
            .readFileSync(file, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((line) => {
                const [kind = "", member = "", at = "", lock] = line.split(" ");
                return { kind, member, at: Number(at), lock };
            });
    }

    /** Waits (up to 20 s) until member's work has started. */
    async started(member: string): Promise<void> {
        const deadline = Date.now() + 20_000;
        while (!this.timeline().some((e) => e.kind === "start" && e.member === member)) {
            assert.ok(Date.now() < deadline, `${member} never started its work`);
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    }

    lockCalls(): string[] {
        return fs
            .readFileSync(path.join(this.dir, "calls"), "utf8")
            .split("\n")
            .filter((line) => line.includes(" lock "));
    }
}

/** Each member's [start, end] of its work, in start order. */
function windows(events: readonly Event[]): { member: string; start: number; end: number }[] {
    return events
        .filter((e) => e.kind === "start")
        .map((start) => ({
            member: start.member,
            start: start.at,
            end: events.find((e) => e.kind === "end" && e.member === start.member)?.at ?? Number.POSITIVE_INFINITY,
        }))
        .sort((a, b) => a.start - b.start);
}

describe("host/lib/membership.sh: the cluster-wide lock", function () {
    this.timeout(60_000);

    afterEach(() => {
        for (const child of holders.splice(0)) {
            try {
                process.kill(-(child.pid ?? 0), "SIGKILL");
            } catch {
                // already gone
            }
        }
    });

    it("five members at once: their work never overlaps, and each starts within 0.5 s of the previous one's end", async () => {
        const world = new LockWorld().members(5);
        const results = await Promise.all([0, 1, 2, 3, 4].map((i) => world.hold(i, 5, "sleep 0.3").done));
        results.forEach((r) => assert.equal(r.status, 0, r.stderr));
        const order = windows(world.timeline());
        assert.equal(order.length, 5);
        const handovers = order.slice(1).map((w, i) => w.start - (order[i]?.end ?? Number.NaN));
        console.log(`      hand-overs: ${handovers.map((s) => `${(s * 1000).toFixed(0)} ms`).join(", ")}`);
        handovers.forEach((gap) => assert.ok(gap >= 0 && gap < 0.5, `hand-over of ${gap} s`));
        results.forEach((r) => assert.match(r.stderr, /took the membership lock \(waited \d+ s, 1 attempt\(s\)\)/));
    });

    it("with_cluster_lock returns only once the lock is free again (etcdctl let go before the script goes on)", async () => {
        const world = new LockWorld().members(3);
        assert.equal((await world.hold(0, 3, "sleep 0.1").done).status, 0);
        assert.deepEqual(
            world.timeline().map((e) => `${e.kind} ${e.member} ${e.lock ?? ""}`),
            ["start orders-0 ", "end orders-0 ", "returned orders-0 free"],
        );
    });

    it("a holder killed with kill -9 (no trap runs) lets the next one in within a second", async () => {
        const world = new LockWorld().members(3);
        const killed = world.hold(0, 3, "sleep 30");
        await world.started("orders-0");
        const killedAt = Date.now() / 1000;
        killed.child.kill("SIGKILL");
        const next = await world.hold(1, 3, "true").done;
        assert.equal(next.status, 0, next.stderr);
        const start = world.timeline().find((e) => e.kind === "start" && e.member === "orders-1");
        assert.ok(start, "orders-1 took the lock");
        console.log(`      next holder started ${((start.at - killedAt) * 1000).toFixed(0)} ms after the kill`);
        assert.ok(start.at - killedAt < 1, `${start.at - killedAt} s after the kill`);
    });

    it("work that fails ends the script with its status, and the lock is free for the next at once", async () => {
        const world = new LockWorld().members(3);
        const failed = await world.hold(0, 3, "exit 7").done;
        assert.equal(failed.status, 7);
        const next = world.hold(1, 3, "true");
        assert.equal((await next.done).status, 0);
        const events = world.timeline();
        assert.deepEqual(
            events.map((e) => `${e.kind} ${e.member}`),
            ["start orders-0", "start orders-1", "end orders-1", "returned orders-1"],
        );
    });

    it("etcdctl lock goes to the started voting members (this one too: on destroy the others may be gone), never to a learner or an unstarted member, with the lease TTL", async () => {
        const world = new LockWorld().members(3, { learner: 3, unstarted: 4 });
        assert.equal((await world.hold(0, 5, "true").done).status, 0);
        const [call] = world.lockCalls();
        assert.match(
            call ?? "",
            /^etcdctl --endpoints http:\/\/10\.0\.0\.10:2379,http:\/\/10\.0\.0\.11:2379,http:\/\/10\.0\.0\.12:2379 lock --ttl 5 etcd-aws\/membership -- sh -c /,
        );
    });

    it("--stopping-own-etcd: etcdctl lock goes to the other started voting members only (its lease stream would hold this one's stop)", async () => {
        const world = new LockWorld().members(3, { learner: 3, unstarted: 4 });
        assert.equal((await world.hold(0, 5, "true", 20, "--stopping-own-etcd").done).status, 0);
        const [call] = world.lockCalls();
        assert.match(
            call ?? "",
            /^etcdctl --endpoints http:\/\/10\.0\.0\.11:2379,http:\/\/10\.0\.0\.12:2379 lock --ttl 5 etcd-aws\/membership -- sh -c /,
        );
    });

    it("--stopping-own-etcd of the only started voting member: etcdctl lock goes to itself", async () => {
        const world = new LockWorld().members(1);
        assert.equal((await world.hold(0, 5, "true", 20, "--stopping-own-etcd").done).status, 0);
        const [call] = world.lockCalls();
        assert.match(call ?? "", /^etcdctl --endpoints http:\/\/10\.0\.0\.10:2379 lock --ttl 5 /);
    });

    it("no member list (no member answers): etcdctl lock goes to PEER_ENDPOINTS", async () => {
        const world = new LockWorld();
        assert.equal((await world.hold(0, 3, "true").done).status, 0);
        assert.match(
            world.lockCalls()[0] ?? "",
            /^etcdctl --endpoints http:\/\/10\.0\.0\.11:2379,http:\/\/10\.0\.0\.12:2379 lock --ttl 5 /,
        );
    });

    it("etcdctl failing at once (a member that cannot serve it) is started again at once, every POLL_SECONDS", async () => {
        const world = new LockWorld().members(3).lockFailures(3);
        const started = Date.now();
        const result = await world.hold(0, 3, "true").done;
        assert.equal(result.status, 0, result.stderr);
        assert.equal(world.lockCalls().length, 4);
        assert.match(result.stderr, /took the membership lock \(waited \d+ s, 4 attempt\(s\)\)/);
        assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms for three retries`);
    });

    it("gives up after WAIT_SECONDS with etcdctl's last error, and the work never runs", async () => {
        const world = new LockWorld().members(3).lockFailures(1000);
        const result = await world.hold(0, 3, "true", 2).done;
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            /could not take the membership lock within 2 s; etcdctl: Error: etcdserver: rpc not supported for learner/,
        );
        assert.deepEqual(world.timeline(), []);
    });

    it("a single-member cluster (no other members) runs the work without a lock", async () => {
        const world = new LockWorld().members(1);
        assert.equal((await world.hold(0, 1, "true").done).status, 0);
        assert.deepEqual(
            world.timeline().map((e) => e.kind),
            ["start", "end", "returned"],
        );
        assert.equal(fs.existsSync(path.join(world.dir, "calls")), false);
    });
});
