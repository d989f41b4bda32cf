// host/lib/etcd_json.py, run directly: the host scripts' decisions read etcd's JSON through it.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const HELPER = path.resolve(__dirname, "../../host/lib/etcd_json.py");

function etcdJson(args: string[], input: string): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync("python3", [HELPER, ...args], { input, encoding: "utf8" });
    assert.equal(result.error, undefined, `python3 could not run: ${String(result.error)}`);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// IDs as etcdctl prints them: decimal uint64, beyond a double's 53 bits (0xfd422379fda50e48 and
// 0x034abcd5678ef90a, whose hex form has a leading zero nibble).
const LIST = `{"header":{"cluster_id":14841639068965178418},"members":[
 {"ID":18249187646912138824,"name":"orders-2","peerURLs":["https://10.0.3.10:2380"],"clientURLs":["https://10.0.3.10:2379"]},
 {"ID":237209555141851402,"peerURLs":["https://10.0.1.10:2380"],"isLearner":true},
 {"ID":10501334649042878790,"name":"orders-1","peerURLs":["https://10.0.2.10:2380"]}]}`;

describe("host/lib/etcd_json.py", () => {
    it("member IDs come out in hex, all 64 bits kept, without padding", () => {
        assert.equal(etcdJson(["member-ids", "any", "orders-2", ""], LIST).stdout, "fd422379fda50e48\n");
        assert.equal(etcdJson(["member-ids", "any", "", "https://10.0.1.10:2380"], LIST).stdout, "34abcd5678ef90a\n");
        assert.equal(
            etcdJson(["local-id"], '[{"Endpoint":"x","Status":{"header":{"member_id":18249187646912138824}}}]').stdout,
            "fd422379fda50e48\n",
        );
    });

    it("member-ids both: only an entry with the name and the peer URL", () => {
        assert.equal(etcdJson(["member-ids", "both", "orders-2", "https://10.0.9.10:2380"], LIST).stdout, "");
        assert.equal(
            etcdJson(["member-ids", "both", "orders-2", "https://10.0.3.10:2380"], LIST).stdout,
            "fd422379fda50e48\n",
        );
    });

    it("voters: every voting member but the excluded one, learners left out, with its status and client URLs", () => {
        assert.equal(etcdJson(["voters", "fd422379fda50e48"], LIST).stdout, "91bc3c398fb3c146 started -\n");
        assert.equal(
            etcdJson(["voters", ""], LIST).stdout,
            "fd422379fda50e48 started https://10.0.3.10:2379\n91bc3c398fb3c146 started -\n",
        );
    });

    it("member-state: voter, learner, unstarted or absent, found by peer URL", () => {
        const state = (url: string) => etcdJson(["member-state", url], LIST).stdout;
        assert.equal(state("https://10.0.3.10:2380"), "voter\n");
        assert.equal(state("https://10.0.1.10:2380"), "learner\n");
        // Named but without client URLs: listed under its --initial-cluster name, never ran.
        assert.equal(state("https://10.0.2.10:2380"), "unstarted\n");
        assert.equal(state("https://10.0.9.10:2380"), "absent\n");
    });

    it("gate: exit 0 only when every wanted peer URL is a started voter; the others listed as leaving, not counted", () => {
        const voters = `{"members":[
 {"ID":18249187646912138824,"name":"orders-2","peerURLs":["https://10.0.3.10:2380"],"clientURLs":["https://10.0.3.10:2379"]},
 {"ID":237209555141851402,"name":"orders-3","peerURLs":["https://10.0.1.11:2380"],"clientURLs":["https://10.0.1.11:2379"]}]}`;
        const passed = etcdJson(["gate", "https://10.0.3.10:2380"], voters);
        assert.equal(passed.status, 0);
        assert.equal(passed.stdout, "leaving orders-3 34abcd5678ef90a\n");
        const waiting = etcdJson(
            ["gate", "https://10.0.3.10:2380,https://10.0.1.10:2380,https://10.0.2.10:2380,https://10.0.9.10:2380"],
            LIST,
        );
        assert.equal(waiting.status, 1);
        assert.equal(
            waiting.stdout,
            "learner https://10.0.1.10:2380\nunstarted https://10.0.2.10:2380\nmissing https://10.0.9.10:2380\n",
        );
    });

    it("caught-up: this member's and its leader's applied index; exit 0 within the margin, 1 beyond it or without the leader", () => {
        const status = (endpoint: string, id: string, applied: number) =>
            `{"Endpoint":"${endpoint}","Status":{"header":{"member_id":${id}},"leader":18249187646912138824,"raftIndex":${applied + 3},"raftAppliedIndex":${applied}}}`;
        const leader = status("https://10.0.3.10:2379", "18249187646912138824", 5_000);
        const answer = (applied: number) =>
            `[${leader},${status("https://10.0.1.10:2379", "237209555141851402", applied)}]`;
        const caughtUp = (json: string) => etcdJson(["caught-up", "https://10.0.1.10:2379", "100"], json);
        assert.deepEqual(caughtUp(answer(4_900)), { status: 0, stdout: "4900 5000\n", stderr: "" });
        assert.equal(caughtUp(answer(4_899)).status, 1);
        assert.equal(caughtUp(answer(4_899)).stdout, "4899 5000\n");
        assert.deepEqual(caughtUp(`[${status("https://10.0.1.10:2379", "2", 7)}]`), {
            status: 1,
            stdout: "7 -\n",
            stderr: "",
        });
        assert.deepEqual(caughtUp(`[${leader}]`), { status: 1, stdout: "- -\n", stderr: "" });
    });

    it("leader-handover: a follower stays; a leader names the caught-up voter to hand over to, one on the new version first", () => {
        // orders-2 (fd42...) leads at applied 5000; 34ab... is on the new release, 91bc... is not.
        const status = (id: string, version: string, applied: number, learner = false) =>
            `{"Endpoint":"https://${id.slice(0, 4)}:2379","Status":{"header":{"member_id":${id}},"version":"${version}","leader":18249187646912138824,"raftIndex":${applied + 2},"raftAppliedIndex":${applied}${learner ? ',"isLearner":true' : ""}}}`;
        const leader = status("18249187646912138824", "3.5.16", 5_000);
        const handover = (own: string, ...others: string[]) =>
            etcdJson(["leader-handover", own, "3.5.30", "100"], `[${[leader, ...others].join(",")}]`);
        const upgraded = status("237209555141851402", "3.5.30", 4_950);
        const old = status("10501334649042878790", "3.5.16", 4_990);
        assert.deepEqual(handover("34abcd5678ef90a", upgraded, old), { status: 0, stdout: "follower\n", stderr: "" });
        assert.equal(
            handover("fd422379fda50e48", old, upgraded).stdout,
            "move 34abcd5678ef90a 3.5.30 https://2372:2379\n",
        );
        // Without one on the new version: the furthest ahead.
        assert.equal(
            handover("fd422379fda50e48", status("237209555141851402", "3.5.16", 4_950), old).stdout,
            "move 91bc3c398fb3c146 3.5.16 https://1050:2379\n",
        );
        // Behind by more than the margin, or a learner: never the new leader.
        assert.deepEqual(
            handover(
                "fd422379fda50e48",
                status("237209555141851402", "3.5.30", 4_899),
                status("10501334649042878790", "3.5.30", 5_000, true),
            ),
            { status: 1, stdout: "none\n", stderr: "" },
        );
        assert.equal(handover("91bc3c398fb3c146", upgraded).status, 3);
    });

    it("versions: each answering member's hex ID and release; cluster-version: /version's etcdcluster", () => {
        const entry = (id: string, version: string) =>
            `{"Endpoint":"x","Status":{"header":{"member_id":${id}},"version":"${version}"}}`;
        assert.equal(
            etcdJson(
                ["versions"],
                `[${entry("18249187646912138824", "3.6.16")},${entry("237209555141851402", "3.5.30")}]`,
            ).stdout,
            "fd422379fda50e48 3.6.16\n34abcd5678ef90a 3.5.30\n",
        );
        assert.equal(etcdJson(["cluster-version"], '{"etcdserver":"3.6.16","etcdcluster":"3.6.0"}').stdout, "3.6.0\n");
    });

    it("has-member finds a hex ID", () => {
        assert.equal(etcdJson(["has-member", "34abcd5678ef90a"], LIST).status, 0);
        assert.equal(etcdJson(["has-member", "34abcd5678ef90b"], LIST).status, 1);
    });

    it("added: the new member's hex ID, then the initial cluster with the new member under its name", () => {
        const answer = `{"header":{},"member":{"ID":237209555141851402,"peerURLs":["https://10.0.1.10:2380"],"isLearner":true},"members":[
            {"ID":18249187646912138824,"name":"orders-2","peerURLs":["https://10.0.3.10:2380"]},
            {"ID":237209555141851402,"peerURLs":["https://10.0.1.10:2380"],"isLearner":true}]}`;
        assert.equal(
            etcdJson(["added", "orders-0"], answer).stdout,
            "34abcd5678ef90a\norders-2=https://10.0.3.10:2380,orders-0=https://10.0.1.10:2380\n",
        );
    });

    it("forming: only an initial member that never started (no client URLs, not a learner)", () => {
        const url = "https://10.0.1.10:2380";
        assert.equal(etcdJson(["forming", url], `[{"id":1,"peerURLs":["${url}"],"name":"orders-0"}]`).status, 0);
        assert.equal(
            etcdJson(
                ["forming", url],
                `[{"id":1,"peerURLs":["${url}"],"name":"orders-0","clientURLs":["https://10.0.1.10:2379"]}]`,
            ).status,
            1,
        );
        assert.equal(etcdJson(["forming", url], `[{"id":1,"peerURLs":["${url}"],"isLearner":true}]`).status, 1);
        assert.equal(etcdJson(["forming", url], `[{"id":2,"peerURLs":["https://10.0.2.10:2380"]}]`).status, 1);
    });

    it("has-role and v2-value", () => {
        assert.equal(etcdJson(["has-role", "root"], '{"user":"root","roles":["root"]}').status, 0);
        assert.equal(etcdJson(["has-role", "root"], '{"user":"root"}').status, 1);
        assert.equal(etcdJson(["v2-value"], '{"action":"get","node":{"key":"/k","value":"3"}}').stdout, "3\n");
    });

    it("an answer that is not what it expects: exit 3 with the reason, nothing on stdout", () => {
        const result = etcdJson(["added", "orders-0"], "Member 34abcd5678ef90a added to cluster cdf818194e3a8c32");
        assert.equal(result.status, 3);
        assert.equal(result.stdout, "");
        assert.match(result.stderr, /^etcd_json added: unexpected answer: /);
        assert.equal(etcdJson(["no-such-command"], "{}").status, 2);
    });
});
