// host/lib/membership.sh's restart path (the launch's restart_member) against stand-in etcdctl answers: a leader hands
// leadership over before it is stopped, a restarted member holds on until it has caught up, and both waits end.
import * as assert from "node:assert/strict";
import { endpointStatus, EndpointEntry, memberList, StandIns } from "./stand-ins";

const SELF = "https://10.0.1.10:2379";
const PEERS = ["https://10.0.2.10:2379", "https://10.0.3.10:2379"];
const SETTINGS = {
    MEMBER_NAME: "orders-0",
    PEER_URL: "https://10.0.1.10:2380",
    LOCAL_ENDPOINT: SELF,
    PEER_ENDPOINTS: PEERS.join(","),
    LOCK_KEY: "etcd-aws/membership",
    UNIT: "etcd.service",
    WAIT_SECONDS: 30,
    REPORT_EVERY_SECONDS: 30,
};
/** For the cases that give up. */
const SHORT_WAIT = { ...SETTINGS, WAIT_SECONDS: 2 };
// orders-0 (0xb), orders-1 (0xc), orders-2 (0xfd42...).
const ID = [11n, 12n, 18249187646912138824n] as const;
const MEMBERS = memberList([
    { id: ID[0], name: "orders-0", peer: SETTINGS.PEER_URL, client: SELF },
    { id: ID[1], name: "orders-1", peer: "https://10.0.2.10:2380", client: PEERS[0] },
    { id: ID[2], name: "orders-2", peer: "https://10.0.3.10:2380", client: PEERS[1] },
]);

/** Every member's status: `leader` leads, at applied 1000 unless given; orders-2 runs 3.5.30, the others 3.5.16. */
function statuses(leader: bigint, applied: Partial<Record<0 | 1 | 2, number>> = {}): string {
    const entry = (i: 0 | 1 | 2, endpoint: string): EndpointEntry => ({
        endpoint,
        id: ID[i],
        leader,
        applied: applied[i] ?? 1_000,
        version: i === 2 ? "3.5.30" : "3.5.16",
    });
    return endpointStatus([entry(1, PEERS[0] ?? ""), entry(2, PEERS[1] ?? ""), entry(0, SELF)]);
}

describe("host/lib/membership.sh: the rolling restart", () => {
    it("a leader moves leadership to a caught-up member already on the installed release, and goes on once it follows", () => {
        const hosts = new StandIns()
            .answer("member list", { stdout: MEMBERS })
            .answer("endpoint status", { stdout: statuses(ID[0]) }, { stdout: statuses(ID[2]) });
        const result = hosts.runWithMembership("hand_over_leadership b", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        assert.match(
            result.stderr,
            /orders-0 leads: moving leadership to fd422379fda50e48 \(https:\/\/10\.0\.3\.10:2379, etcd 3\.5\.30\) before the restart/,
        );
        const moves = hosts.calls().filter((call) => call.includes("move-leader"));
        assert.deepEqual(moves, [
            `etcdctl --endpoints ${PEERS.join(",")},${SELF} --command-timeout=5s move-leader fd422379fda50e48`,
        ]);
        // Asked in that order: the other members first, this one last.
        assert.ok(
            hosts
                .calls()
                .includes(
                    `etcdctl --endpoints ${PEERS.join(",")},${SELF} --command-timeout=3s endpoint status -w json`,
                ),
        );
    });

    it("a follower is restarted without moving anyone", () => {
        const hosts = new StandIns()
            .answer("member list", { stdout: MEMBERS })
            .answer("endpoint status", { stdout: statuses(ID[1]) });
        const result = hosts.runWithMembership("hand_over_leadership b", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(hosts.calls().filter((call) => call.includes("move-leader")).length, 0);
    });

    it("a leader with no caught-up voter to hand over to is not restarted: it gives up after WAIT_SECONDS and says why", () => {
        const hosts = new StandIns()
            .answer("member list", { stdout: MEMBERS })
            .answer("endpoint status", { stdout: statuses(ID[0], { 0: 5_000, 1: 10, 2: 20 }) });
        const result = hosts.runWithMembership("hand_over_leadership b && echo restarted", SHORT_WAIT);
        assert.equal(result.status, 1);
        assert.equal(result.stdout, "");
        assert.match(
            result.stderr,
            /refusing to restart the leader orders-0: gave up after 2 s waiting for another voting member within 100 entries of this leader \(none\)/,
        );
        assert.equal(hosts.calls().filter((call) => call.includes("move-leader")).length, 0);
    });

    it("after its restart a member waits until its applied index is within 100 of its leader's, and gives up after WAIT_SECONDS", () => {
        const behind = { stdout: statuses(ID[2], { 0: 10, 1: 1_000, 2: 1_000 }) };
        const hosts = new StandIns()
            .answer("member list", { stdout: MEMBERS })
            .answer("endpoint status", behind, behind, { stdout: statuses(ID[2], { 0: 900 }) });
        const caughtUp = hosts.runWithMembership("wait_until_caught_up && echo caught up", SETTINGS);
        assert.equal(caughtUp.status, 0, caughtUp.stderr);
        assert.equal(caughtUp.stdout, "caught up\n");
        assert.equal(hosts.calls().filter((call) => call.includes("endpoint status")).length, 3);

        const stuck = new StandIns().answer("member list", { stdout: MEMBERS }).answer("endpoint status", behind);
        const gaveUp = stuck.runWithMembership("wait_until_caught_up", SHORT_WAIT);
        assert.equal(gaveUp.status, 1);
        assert.match(
            gaveUp.stderr,
            /gave up after 2 s: orders-0 caught up with its leader; last error: applied index 10, the leader's 1000/,
        );
    });

    it("reports the member's release and the cluster version, and the members still on another release", () => {
        const hosts = new StandIns()
            .answer("member list", { stdout: MEMBERS })
            .answer("endpoint status", { stdout: statuses(ID[2]) });
        const result = hosts.runWithMembership("report_versions b", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        // No /version here (nothing listens): the cluster version is unknown, nothing is waited for.
        assert.match(
            result.stderr,
            /orders-0 runs etcd 3\.5\.16; cluster version \?; members on other releases: fd422379fda50e48:3\.5\.30\n/,
        );
    });

    it("a restart counts once etcd reports a new process start time (the old process may still answer right after systemctl --no-block)", () => {
        const metrics = (started: string) => ({
            stdout: `# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ${started}\n`,
        });
        const hosts = new StandIns().answer(
            "curl metrics",
            metrics("1.76464992512e+09"),
            metrics("1.76464992512e+09"),
            metrics("1.76464998733e+09"),
        );
        const result = hosts.runWithMembership(
            'before=$(etcd_started_at); echo "before $before"; wait_until_restarted "$before" && echo restarted',
            SETTINGS,
        );
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, "before 1.76464992512e+09\nrestarted\n");
        assert.equal(hosts.calls().filter((call) => call.endsWith(`${SELF}/metrics`)).length, 3);
        // No start time before the restart (no metrics answered): nothing to wait for.
        const silent = new StandIns();
        assert.equal(silent.runWithMembership('wait_until_restarted "" && echo done', SETTINGS).stdout, "done\n");
    });

    it("the last member of a roll waits for the cluster version to follow the release every member runs", () => {
        const all = endpointStatus(
            ([0, 1, 2] as const).map((i) => ({
                endpoint: i === 0 ? SELF : (PEERS[i - 1] ?? ""),
                id: ID[i],
                leader: ID[2],
                applied: 1_000,
                version: "3.5.30",
            })),
        );
        const version = (cluster: string) => ({ stdout: `{"etcdserver":"3.5.30","etcdcluster":"${cluster}"}` });
        const hosts = new StandIns()
            .answer("member list", { stdout: MEMBERS })
            .answer("endpoint status", { stdout: all })
            .answer("curl version", version("3.4.0"), version("3.5.0"));
        const result = hosts.runWithMembership("report_versions b", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /orders-0 runs etcd 3\.5\.30; cluster version 3\.5\.0\n/);
        assert.equal(hosts.calls().filter((call) => call.endsWith(`${SELF}/version`)).length, 2);
    });

    it("a single member (no peers) is caught up once it serves: it is its own leader", () => {
        const alone = endpointStatus([{ endpoint: SELF, id: ID[0], leader: ID[0], applied: 1_000 }]);
        const hosts = new StandIns().answer("endpoint status", { stdout: alone });
        const result = hosts.runWithMembership("wait_until_caught_up && echo caught up", {
            ...SETTINGS,
            PEER_ENDPOINTS: "",
        });
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, "caught up\n");
        assert.ok(hosts.calls().includes(`etcdctl --endpoints ${SELF} --command-timeout=3s endpoint status -w json`));
    });
});
