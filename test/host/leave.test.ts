// host/etcd-aws-leave.sh against stand-in etcdctl answers, in the engine's real order: on
// scale-in the removed members' launches are deleted together at the end of the update, on
// destroy every member's at once, so each leave may find others gone by the time it holds the lock.
import * as assert from "node:assert/strict";
import { endpointStatus, ListedMember, memberList, StandIns } from "./stand-ins";

const address = (i: number) => `10.0.${(i % 3) + 1}.${10 + Math.floor(i / 3)}`;
const members: ListedMember[] = [0, 1, 2, 3, 4].map((i) => ({
    id: BigInt(101 + i),
    name: `orders-${i}`,
    peer: `https://${address(i)}:2380`,
    client: `https://${address(i)}:2379`,
}));
const hex = (i: number) => (101 + i).toString(16);

/** The leave settings of member `self` of a cluster of `count` members (as its launch rendered them). */
function settings(self: number, count: number): Record<string, string | number> {
    return {
        MEMBER_NAME: `orders-${self}`,
        PEER_URL: `https://${address(self)}:2380`,
        LOCAL_ENDPOINT: `https://${address(self)}:2379`,
        PEER_ENDPOINTS: [...Array(count).keys()]
            .filter((i) => i !== self)
            .map((i) => `https://${address(i)}:2379`)
            .join(","),
        LOCK_KEY: "etcd-aws/membership",
        UNIT: "etcd.service",
        WAIT_SECONDS: 20,
        REPORT_EVERY_SECONDS: 30,
        CA_FILE: "",
        CLIENT_CERT_FILE: "",
        CLIENT_KEY_FILE: "",
    };
}

/** Member `self`'s own etcd answering `endpoint status`. */
function running(self: number): string {
    const id = BigInt(101 + self);
    return endpointStatus([{ endpoint: `https://${address(self)}:2379`, id, leader: id, applied: 9 }]);
}

function removals(hosts: StandIns): string[] {
    return hosts.calls().filter((c) => c.includes("member remove"));
}

describe("host/etcd-aws-leave.sh", () => {
    it("scale-in 5 -> 3: a leaving member removes itself through the others only, under the lock, then stops etcd", () => {
        const hosts = new StandIns()
            .answer("endpoint status", { stdout: running(4) })
            .answer("member list", { stdout: memberList(members) });
        const result = hosts.run("etcd-aws-leave.sh", settings(4, 5));
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /took the membership lock/);
        assert.match(result.stderr, /removed orders-4 \(69\) from the cluster/);
        const others = [0, 1, 2, 3].map((i) => `https://${address(i)}:2379`).join(",");
        assert.deepEqual(removals(hosts), [
            `etcdctl --endpoints ${others} --command-timeout=5s member remove ${hex(4)}`,
        ]);
        assert.deepEqual(
            hosts.calls().filter((c) => c.startsWith("systemctl")),
            ["systemctl disable --quiet etcd.service", "systemctl stop etcd.service"],
        );
    });

    it("the second of two leaving members reads the membership again under the lock: the first is gone, quorum is 3 of 3", () => {
        const afterFirst = memberList(members.slice(0, 4));
        const hosts = new StandIns()
            .answer("endpoint status", { stdout: running(3) })
            .answer("member list", { stdout: memberList(members) }, { stdout: afterFirst });
        const result = hosts.run("etcd-aws-leave.sh", settings(3, 5));
        assert.equal(result.status, 0, result.stderr);
        assert.equal(removals(hosts).length, 1);
        // The health checks of the quorum check ask the three members that remain, not the one that left.
        const checked = hosts.calls().filter((c) => c.endsWith("endpoint health"));
        assert.ok(!checked.some((c) => c.includes(address(4))), checked.join("\n"));
    });

    it("destroy: the member that gets the lock last, every other member gone meanwhile, takes it through its own etcd and stops without a removal", () => {
        const alone = memberList(members.slice(2, 3));
        const hosts = new StandIns()
            .answer("endpoint status", { stdout: running(2) })
            // The others still answer when it starts; once it holds the lock, only it is left.
            .answer("member list", { stdout: memberList(members.slice(0, 3)) }, { stdout: alone });
        const result = hosts.run("etcd-aws-leave.sh", settings(2, 3));
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /orders-2 \(67\) is the last voting member; nothing to remove/);
        assert.deepEqual(removals(hosts), []);
        const locks = hosts.calls().filter((c) => / lock /.test(c));
        assert.ok(locks.length > 0 && locks.every((c) => c.includes(`https://${address(2)}:2379`)), locks.join("\n"));
        assert.deepEqual(
            hosts.calls().filter((c) => c.startsWith("systemctl")),
            ["systemctl disable --quiet etcd.service", "systemctl stop etcd.service"],
        );
    });

    it("a single-member cluster's leave removes nothing and stops etcd", () => {
        const hosts = new StandIns()
            .answer("endpoint status", { stdout: running(0) })
            .answer("member list", { stdout: memberList(members.slice(0, 1)) });
        const result = hosts.run("etcd-aws-leave.sh", settings(0, 1));
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /orders-0 \(65\) is the last voting member; nothing to remove/);
        assert.deepEqual(removals(hosts), []);
        assert.ok(hosts.calls().includes("systemctl stop etcd.service"));
    });

    it("when no member answers at all (the others gone, etcd down): nothing to remove, etcd stopped", () => {
        const hosts = new StandIns();
        const result = hosts.run("etcd-aws-leave.sh", settings(2, 3));
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /orders-2 is not a member of a reachable cluster; nothing to remove/);
        assert.ok(hosts.calls().includes("systemctl stop etcd.service"));
    });
});
