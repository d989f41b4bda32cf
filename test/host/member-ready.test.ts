// host/etcd-aws-member-ready.sh against stand-in etcdctl answers: when it says the member is
// ready, and what it shows when it is not.
import * as assert from "node:assert/strict";
import { endpointStatus, memberList, StandIns } from "./stand-ins";

const SELF = "https://10.0.1.10:2379";
const PEER_ENDPOINTS = "https://10.0.2.10:2379,https://10.0.3.10:2379";
const SETTINGS = {
    MEMBER_NAME: "orders-0",
    PEER_URL: "https://10.0.1.10:2380",
    LOCAL_ENDPOINT: SELF,
    PEER_ENDPOINTS,
    TIMEOUT_SECONDS: 20,
    CATCH_UP_MARGIN: 100,
    REPORT_EVERY_SECONDS: 30,
    UNIT: "etcd.service",
    CA_FILE: "",
    CLIENT_CERT_FILE: "",
    CLIENT_KEY_FILE: "",
};

const ID = [11n, 12n, 18249187646912138824n] as const;
const others = [
    { id: ID[1], name: "orders-1", peer: "https://10.0.2.10:2380", client: "https://10.0.2.10:2379" },
    { id: ID[2], name: "orders-2", peer: "https://10.0.3.10:2380", client: "https://10.0.3.10:2379" },
];
const started = memberList([{ id: ID[0], name: "orders-0", peer: SETTINGS.PEER_URL, client: SELF }, ...others]);
const learner = memberList([
    { id: ID[0], name: "orders-0", peer: SETTINGS.PEER_URL, client: SELF, learner: true },
    ...others,
]);
const unstarted = memberList([{ id: ID[0], peer: SETTINGS.PEER_URL }, ...others]);

/** Every member's status, orders-2 the leader at `leaderApplied`, this member at `applied`. */
function statuses(applied: number, leaderApplied: number): string {
    return endpointStatus([
        { endpoint: "https://10.0.2.10:2379", id: ID[1], leader: ID[2], applied: leaderApplied },
        { endpoint: "https://10.0.3.10:2379", id: ID[2], leader: ID[2], applied: leaderApplied },
        { endpoint: SELF, id: ID[0], leader: ID[2], applied },
    ]);
}

describe("host/etcd-aws-member-ready.sh", () => {
    it("passes at once for a started voting member, healthy, within the margin of its leader", () => {
        const hosts = new StandIns().answer("member list", { stdout: started }).answer("endpoint status", {
            stdout: statuses(9_950, 10_050),
        });
        const result = hosts.run("etcd-aws-member-ready.sh", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        assert.match(
            result.stderr,
            /orders-0 is a started voting member, healthy, applied index 9950 \(the leader's 10050\)/,
        );
        // The other members are asked before this one, so the leader's index is never the later read.
        assert.ok(
            hosts
                .calls()
                .includes(`etcdctl --endpoints ${PEER_ENDPOINTS},${SELF} --command-timeout=3s endpoint status -w json`),
            hosts.calls().join("\n"),
        );
    });

    it("waits while the member is a learner, then unstarted is not enough either, until it is a started voter", () => {
        const hosts = new StandIns()
            .answer("member list", { stdout: learner }, { stdout: unstarted }, { stdout: started })
            .answer("endpoint status", { stdout: statuses(500, 500) });
        const result = hosts.run("etcd-aws-member-ready.sh", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(hosts.calls().filter((c) => c.includes("member list")).length, 3);
        assert.equal(hosts.calls().filter((c) => c.includes("endpoint status")).length, 1);
    });

    it("waits until the member answers a health check", () => {
        const hosts = new StandIns()
            .answer("member list", { stdout: started })
            .answer("endpoint health", { status: 1 }, { status: 1 }, { status: 0 })
            .answer("endpoint status", { stdout: statuses(500, 500) });
        const result = hosts.run("etcd-aws-member-ready.sh", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(
            hosts.calls().filter((c) => c.includes(`--endpoints ${SELF} `) && c.includes("endpoint health")).length,
            3,
        );
    });

    it("waits while the member is more than the margin behind its leader, until it caught up", () => {
        const hosts = new StandIns()
            .answer("member list", { stdout: started })
            .answer(
                "endpoint status",
                { stdout: statuses(1_000, 10_000) },
                { stdout: statuses(9_899, 10_000) },
                { stdout: statuses(10_020, 10_120) },
            );
        const result = hosts.run("etcd-aws-member-ready.sh", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(hosts.calls().filter((c) => c.includes("endpoint status")).length, 3);
        assert.match(result.stderr, /applied index 10020 \(the leader's 10120\)/);
    });

    it("reads the statuses that came back when a member does not answer (etcdctl fails after printing them)", () => {
        const answered = endpointStatus([
            { endpoint: "https://10.0.3.10:2379", id: ID[2], leader: ID[2], applied: 700 },
            { endpoint: SELF, id: ID[0], leader: ID[2], applied: 700 },
        ]);
        const hosts = new StandIns()
            .answer("member list", { stdout: started })
            .answer("endpoint status", { stdout: answered, status: 1 });
        assert.equal(hosts.run("etcd-aws-member-ready.sh", SETTINGS).status, 0);
    });

    it("is not caught up while its leader's status is missing", () => {
        const leaderless = endpointStatus([{ endpoint: SELF, id: ID[0], leader: ID[2], applied: 700 }]);
        const hosts = new StandIns()
            .answer("member list", { stdout: started })
            .answer("endpoint status", { stdout: leaderless, status: 1 });
        const result = hosts.run("etcd-aws-member-ready.sh", { ...SETTINGS, TIMEOUT_SECONDS: 0 });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /still waiting for orders-0 to catch up \(applied index 700, the leader's -\)/);
    });

    it("asks every started voting member the list names, so a leader outside the spec (scale-in: it leaves after this runs) is found", () => {
        const leaving = { id: 19n, name: "orders-3", peer: "https://10.0.4.10:2380", client: "https://10.0.4.10:2379" };
        const five = memberList([
            { id: ID[0], name: "orders-0", peer: SETTINGS.PEER_URL, client: SELF },
            ...others,
            leaving,
        ]);
        const hosts = new StandIns().answer("member list", { stdout: five }).answer("endpoint status", {
            stdout: endpointStatus([
                { endpoint: leaving.client, id: leaving.id, leader: leaving.id, applied: 3_000 },
                { endpoint: SELF, id: ID[0], leader: leaving.id, applied: 2_990 },
            ]),
        });
        const result = hosts.run("etcd-aws-member-ready.sh", SETTINGS);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /applied index 2990 \(the leader's 3000\)/);
        assert.ok(
            hosts
                .calls()
                .includes(
                    `etcdctl --endpoints ${PEER_ENDPOINTS},${leaving.client},${SELF} --command-timeout=3s endpoint status -w json`,
                ),
            hosts.calls().join("\n"),
        );
    });

    it("a single member (no peers) asks only itself and is its own leader", () => {
        const alone = memberList([{ id: ID[0], name: "orders-0", peer: SETTINGS.PEER_URL, client: SELF }]);
        const hosts = new StandIns().answer("member list", { stdout: alone }).answer("endpoint status", {
            stdout: endpointStatus([{ endpoint: SELF, id: ID[0], leader: ID[0], applied: 4 }]),
        });
        const result = hosts.run("etcd-aws-member-ready.sh", { ...SETTINGS, PEER_ENDPOINTS: "" });
        assert.equal(result.status, 0, result.stderr);
        assert.ok(
            hosts.calls().every((c) => !c.includes("10.0.2.10")),
            hosts.calls().join("\n"),
        );
    });

    it("fails after the timeout saying what it waited for, with the member list, the statuses and etcd's log masked", () => {
        const hosts = new StandIns()
            .answer("member list", { stdout: learner })
            .journal('{"level":"info","msg":"starting","discovery-token":"3e86b59982e49066","name":"orders-0"}\n');
        const result = hosts.run("etcd-aws-member-ready.sh", { ...SETTINGS, TIMEOUT_SECONDS: 0 });
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            /etcd-ready: orders-0 was not ready within 0 s: still waiting for orders-0 to be a started voting member \(it is learner\)/,
        );
        assert.ok(result.stdout.includes('"discovery-token":"***"'), result.stdout);
        assert.ok(!result.stdout.includes("3e86b59982e49066"));
        const calls = hosts.calls();
        assert.ok(
            calls.some((c) => c.includes("member list --write-out=table")),
            calls.join("\n"),
        );
        assert.ok(
            calls.some((c) => c.includes("endpoint status --write-out=table")),
            calls.join("\n"),
        );
        assert.ok(calls.includes("journalctl --unit etcd.service --lines 50 --no-pager"), calls.join("\n"));
    });

    it("fails when no member answers, saying so", () => {
        const result = new StandIns().run("etcd-aws-member-ready.sh", { ...SETTINGS, TIMEOUT_SECONDS: 0 });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /still waiting for the member list \(no member answers\)/);
    });
});
