// host/lib/etcd_json.py's answers for the maintenance scripts, run directly: the alarms raised
// (health gate, defrag, space recovery), the defrag plan and the newest revision.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { at } from "../helpers/elements";

const HELPER = path.resolve(__dirname, "../../host/lib/etcd_json.py");

function etcdJson(args: string[], input: string): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync("python3", [HELPER, ...args], { input, encoding: "utf8" });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// IDs as etcdctl prints them: decimal uint64, beyond a double's 53 bits.
const LEADER = "18249187646912138824"; // fd422379fda50e48
const FOLLOWER = "10501334649042878790"; // 91bc3c398fb3c146
const OTHER = "237209555141851402"; // 34abcd5678ef90a
const LIST = `{"members":[{"ID":${LEADER},"name":"orders-2"},{"ID":${FOLLOWER},"name":"orders-1"},{"ID":${OTHER}}]}`;

/** One member's entry of `endpoint status -w json` (dbSizeInUse left out when 0, as etcdctl does). */
function status(endpoint: string, id: string, dbSize: number, inUse: number, revision = 40): string {
    return `{"Endpoint":"${endpoint}","Status":{"header":{"member_id":${id},"revision":${revision}},"leader":${LEADER},"dbSize":${dbSize}${inUse ? `,"dbSizeInUse":${inUse}` : ""}}}`;
}

describe("host/lib/etcd_json.py for the maintenance scripts", () => {
    it("alarms: each raised alarm by name (etcd's number or its name) with its member's name and hex ID; nothing without alarms", () => {
        const raised = `{"header":{},"alarms":[{"memberID":${FOLLOWER},"alarm":1},{"memberID":${OTHER},"alarm":2},{"memberID":1,"alarm":"NOSPACE"}]}`;
        assert.equal(
            etcdJson(["alarms", LIST], raised).stdout,
            "NOSPACE orders-1 91bc3c398fb3c146\nCORRUPT - 34abcd5678ef90a\nNOSPACE - 1\n",
        );
        const none = etcdJson(["alarms", LIST], '{"header":{"revision":3}}');
        assert.equal(none.status, 0);
        assert.equal(none.stdout, "");
    });

    it("alarms: a member list that is not JSON is an unexpected answer (exit 3)", () => {
        assert.equal(etcdJson(["alarms", "no"], '{"alarms":[]}').status, 3);
    });

    const MIB = 1024 * 1024;
    const STATUS = `[${[
        status("https://10.0.3.10:2379", LEADER, 100 * MIB, 10 * MIB),
        status("https://10.0.1.10:2379", OTHER, 100 * MIB, 90 * MIB),
        status("https://10.0.2.10:2379", FOLLOWER, 100 * MIB, 0),
        status("https://orders-1.example:2379", FOLLOWER, 100 * MIB, 0),
    ].join(",")}]`;

    it("defrag-plan: each member once, followers first and the leader last; defrag only with both the bytes and the fraction wasted", () => {
        const plan = (bytes: number, fraction: number, done = "") =>
            etcdJson(["defrag-plan", String(bytes), String(fraction), done], STATUS)
                .stdout.split("\n")
                .filter(Boolean);
        assert.deepEqual(plan(20 * MIB, 0.2), [
            `keep 34abcd5678ef90a https://10.0.1.10:2379 ${100 * MIB} ${90 * MIB} follower`,
            `defrag 91bc3c398fb3c146 https://10.0.2.10:2379 ${100 * MIB} 0 follower`,
            `defrag fd422379fda50e48 https://10.0.3.10:2379 ${100 * MIB} ${10 * MIB} leader`,
        ]);
        // 10 MiB wasted: enough bytes but not a fifth of the file; then a fraction met but too few bytes.
        assert.match(at(plan(5 * MIB, 0.2), 0), /^keep 34abcd/);
        assert.match(at(plan(5 * MIB, 0.05), 0), /^defrag 34abcd/);
        assert.match(at(plan(11 * MIB, 0.05), 0), /^keep 34abcd/);
        // Thresholds 0 (the recovery): every member, but those done.
        assert.deepEqual(
            plan(0, 0, "91bc3c398fb3c146,34abcd5678ef90a").map((line) => line.split(" ")[0]),
            ["done", "done", "defrag"],
        );
    });

    it("status-revision: the newest revision any member reported", () => {
        const answer = `[${status("a", LEADER, 1, 1, 41)},${status("b", FOLLOWER, 1, 1, 43)},${status("c", OTHER, 1, 1, 42)}]`;
        assert.equal(etcdJson(["status-revision"], answer).stdout, "43\n");
        assert.equal(etcdJson(["status-revision"], "[]").status, 3);
    });
});
