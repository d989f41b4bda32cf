import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    ClusterSpec,
    HOST_PATHS,
    MembershipWaits,
    renderEnvFile,
    renderLaunchScript,
    renderLeaveScript,
} from "../../core";
import { specOf, tempDir, runBash } from "../core/helpers";
import { at } from "../helpers/elements";
import {
    etcdJson,
    listedJson,
    ListedMember,
    localStatus,
    memberList,
    runWithFakes,
    STARTED,
} from "../helpers/launch-fakes";

/** A peer's GET /members answer (etcd's JSON): `started` members have client URLs. */
function peerMembers(entries: { name: string; peer: string; started?: boolean; learner?: boolean }[]): string {
    return JSON.stringify(
        entries.map(({ name, peer, started, learner }) => ({
            id: 1,
            peerURLs: [peer],
            ...(learner ? { isLearner: true } : {}),
            name,
            ...(started ? { clientURLs: [peer.replace(":2380", ":2379")] } : {}),
        })),
    );
}

const PEERS = ["https://10.0.1.10:2380", "https://10.0.2.10:2380", "https://10.0.3.10:2380"];
/** Every member of a formed cluster, this one (orders-0) included. */
const FORMED = peerMembers(PEERS.map((peer, i) => ({ name: `orders-${i}`, peer, started: true })));

/** `member add orders-0 --learner -w json`: the two other members and the new learner. */
function memberAdded(id: string): string {
    const added: ListedMember = { id, peer: "https://10.0.1.10:2380", learner: true };
    return etcdJson({
        header: { member_id: "10276657743932975437" },
        member: listedJson(added),
        members: [
            listedJson({
                id: "91bc3c398fb3c146",
                name: "orders-1",
                peer: "https://10.0.2.10:2380",
                client: "https://10.0.2.10:2379",
            }),
            listedJson({
                id: "fd422379fda50e48",
                name: "orders-2",
                peer: "https://10.0.3.10:2380",
                client: "https://10.0.3.10:2379",
            }),
            listedJson(added),
        ],
    });
}

/** This user as owner:group, for files written below a test root. */
const ME = `${runBash("id -un").stdout.trim()}:${runBash("id -gn").stdout.trim()}`;

/** A temporary host root with the directories the install script leaves for the launch. */
function hostRoot(): string {
    const root = tempDir("host");
    for (const dir of [
        HOST_PATHS.pkiDir,
        path.dirname(HOST_PATHS.leaveScript),
        path.dirname(HOST_PATHS.restartPending),
    ]) {
        fs.mkdirSync(path.join(root, dir), { recursive: true });
    }
    return root;
}

describe("host/etcd-aws-launch.sh as renderLaunchScript renders it, run against a temporary host directory with fake etcdctl and systemctl", () => {
    const SYSTEMCTL = (call: string): boolean => call.startsWith("systemctl");
    /** The launch script run against the host root `dir` (its files owned by this user). */
    function runLaunch(
        dir: string,
        spec: ClusterSpec,
        env: Record<string, string>,
        args: string[] = [],
        waits: MembershipWaits = {},
    ): ReturnType<typeof runWithFakes> {
        return runWithFakes(
            renderLaunchScript(spec, at(spec.members, 0), [], waits),
            { ETCD_AWS_ROOT: dir, ETCD_AWS_OWNER: ME, FAKE_ADDED: memberAdded("1234abcd5678ef90"), ...env },
            args,
        );
    }
    const dataDir = (dir: string) => path.join(dir, HOST_PATHS.dataDir, "member");

    it("first creation (--bootstrap), no data, no cluster answering: writes the env file and starts etcd", () => {
        const dir = hostRoot();
        const spec = specOf({});
        const result = runLaunch(dir, spec, {}, ["--bootstrap"]);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(result.calls.filter(SYSTEMCTL), [
            "systemctl enable --quiet etcd.service",
            "systemctl restart --no-block etcd.service",
        ]);
        assert.equal(
            fs.readFileSync(path.join(dir, HOST_PATHS.envFile), "utf8"),
            renderEnvFile(spec, at(spec.members, 0)),
        );
        assert.equal(
            fs.readFileSync(path.join(dir, HOST_PATHS.leaveScript), "utf8"),
            renderLeaveScript(spec, at(spec.members, 0)),
        );
        assert.equal(fs.statSync(path.join(dir, HOST_PATHS.leaveScript)).mode & 0o777, 0o755);
    });

    it("first creation starting late, after the others formed the cluster without it: starts with the bootstrap flags, does not join", () => {
        const waiting = peerMembers(PEERS.map((peer, i) => ({ name: `orders-${i}`, peer, started: i > 0 })));
        const result = runLaunch(hostRoot(), specOf({}), { FAKE_MEMBERS: STARTED, FAKE_PEER_MEMBERS: waiting }, [
            "--bootstrap",
        ]);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /starting etcd: forming the cluster/);
        assert.equal(
            result.calls.some((c) => /member (list|add|remove)| lock /.test(c)),
            false,
        );
    });

    it("first creation when no other member answers: asks every other member's peer port at once, briefly, then forms the cluster", () => {
        const dir = hostRoot();
        const result = runLaunch(dir, specOf({}), { FAKE_MEMBERS: STARTED }, ["--bootstrap"]);
        assert.equal(result.status, 0, result.stderr);
        const asked = result.calls.filter((c) => c.startsWith("curl"));
        assert.deepEqual(asked.map((c) => c.split(" ").slice(-1)[0]).sort(), [
            "https://10.0.2.10:2380/members",
            "https://10.0.3.10:2380/members",
        ]);
        const pki = path.join(dir, HOST_PATHS.pkiDir);
        asked.forEach((c) =>
            assert.ok(
                c.includes(
                    `--http1.1 --max-time 0.5 --cacert ${pki}/ca.crt --cert ${pki}/peer.crt --key ${pki}/peer.key `,
                ),
                c,
            ),
        );
        assert.equal(
            result.calls.some((c) => c.includes("member list")),
            false,
        );
        assert.match(result.stderr, /starting etcd: forming the cluster/);
    });

    it("first creation while the others are forming (they list this member, none started): starts at once, without etcdctl", () => {
        const forming = peerMembers(PEERS.map((peer, i) => ({ name: `orders-${i}`, peer })));
        const result = runLaunch(hostRoot(), specOf({}), { FAKE_MEMBERS: STARTED, FAKE_PEER_MEMBERS: forming }, [
            "--bootstrap",
        ]);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(
            result.calls.some((c) => c.startsWith("etcdctl")),
            false,
            result.calls.join("\n"),
        );
        assert.match(result.stderr, /starting etcd: forming the cluster/);
    });

    const joins: [string, string][] = [
        [
            "does not list this member (a member added later)",
            peerMembers(PEERS.slice(1).map((peer, i) => ({ name: `orders-${i + 1}`, peer, started: true }))),
        ],
        ["lists an earlier incarnation of it that started (a replaced host)", FORMED],
        [
            "lists it as a learner added before",
            peerMembers(PEERS.map((peer, i) => ({ name: `orders-${i}`, peer, started: i > 0, learner: i === 0 }))),
        ],
    ];
    for (const [label, members] of joins) {
        it(`first creation while a running cluster ${label}: joins it`, () => {
            const result = runLaunch(
                hostRoot(),
                specOf({ memberCount: 5 }),
                { FAKE_MEMBERS: STARTED, FAKE_PEER_MEMBERS: members },
                ["--bootstrap"],
            );
            assert.equal(result.status, 0, result.stderr);
            assert.match(result.stderr, /no local data and the cluster is running: joining it/);
            assert.ok(
                result.calls.some((c) =>
                    c.endsWith("member add orders-0 --peer-urls=https://10.0.1.10:2380 --learner -w json"),
                ),
                result.calls.join("\n"),
            );
        });
    }

    it("a later run with no data and no cluster answering refuses to form a second cluster", () => {
        const result = runLaunch(hostRoot(), specOf({}), {});
        assert.equal(result.status, 1);
        assert.match(result.stderr, /no local data and no other member answers: refusing to form a second cluster/);
        assert.deepEqual(result.calls.filter(SYSTEMCTL), ["systemctl enable --quiet etcd.service"]);
    });

    it("with data and the same configuration: changes nothing, starts etcd only when it is down", () => {
        const dir = hostRoot();
        const spec = specOf({});
        runLaunch(dir, spec, {}, ["--bootstrap"]);
        fs.mkdirSync(dataDir(dir), { recursive: true });
        const running = runLaunch(dir, spec, { FAKE_ACTIVE: "0", FAKE_MEMBERS: STARTED });
        assert.deepEqual(running.calls.filter(SYSTEMCTL), [
            "systemctl enable --quiet etcd.service",
            "systemctl is-active --quiet etcd.service",
        ]);
        assert.match(running.stderr, /etcd is running with this configuration already/);
        const down = runLaunch(dir, spec, { FAKE_ACTIVE: "1", FAKE_MEMBERS: STARTED });
        assert.deepEqual(down.calls.filter(SYSTEMCTL).slice(-1), ["systemctl start --no-block etcd.service"]);
    });

    it("with data, a changed configuration and etcd stopped (a replaced instance on its data volume): starts etcd with the new files, no lock, no check of the others", () => {
        const dir = hostRoot();
        runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
        fs.mkdirSync(dataDir(dir), { recursive: true });
        const started = runLaunch(dir, specOf({ extraFlags: { "snapshot-count": "5000" } }), {
            FAKE_ACTIVE: "1",
            FAKE_MEMBERS: STARTED,
        });
        assert.equal(started.status, 0, started.stderr);
        assert.match(started.stderr, /starting etcd on its existing data/);
        assert.deepEqual(started.calls.filter(SYSTEMCTL).slice(-1), ["systemctl start --no-block etcd.service"]);
        assert.ok(
            started.calls.every((c) => !c.includes(" lock ")),
            started.calls.join("\n"),
        );
    });

    it("with data and a changed configuration: takes the membership lock, checks every other member is healthy, restarts, waits until healthy", () => {
        const dir = hostRoot();
        runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
        fs.mkdirSync(dataDir(dir), { recursive: true });
        const changed = runLaunch(dir, specOf({ extraFlags: { "snapshot-count": "5000" } }), {
            FAKE_ACTIVE: "0",
            FAKE_MEMBERS: STARTED,
            FAKE_LOCAL_STATUS: localStatus("8e9e05c52164694d"),
        });
        assert.equal(changed.status, 0, changed.stderr);
        const calls = changed.calls;
        const health = calls.findIndex(
            (c) =>
                c ===
                "etcdctl --endpoints https://10.0.2.10:2379,https://10.0.3.10:2379 --command-timeout=3s endpoint health",
        );
        const restart = calls.indexOf("systemctl restart --no-block etcd.service");
        const localHealth = calls.lastIndexOf(
            "etcdctl --endpoints https://10.0.1.10:2379 --command-timeout=0.5s endpoint health",
        );
        const lock = calls.findIndex((c) =>
            c.startsWith(
                "etcdctl --endpoints https://10.0.2.10:2379,https://10.0.3.10:2379 lock --ttl 5 etcd-aws/membership -- ",
            ),
        );
        assert.ok(lock >= 0 && lock < health && health < restart && restart < localHealth, calls.join("\n"));
    });

    it("retries the membership lock when etcdctl gives up at once (an endpoint still starting or a learner)", () => {
        const dir = hostRoot();
        runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
        fs.mkdirSync(dataDir(dir), { recursive: true });
        const result = runLaunch(dir, specOf({ extraFlags: { "snapshot-count": "5000" } }), {
            FAKE_ACTIVE: "0",
            FAKE_MEMBERS: STARTED,
            FAKE_LOCAL_STATUS: localStatus("8e9e05c52164694d"),
            FAKE_LOCK_FAILS_ONCE: "yes",
        });
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.calls.filter((c) => c.includes(" lock --ttl 5 etcd-aws/membership -- ")).length, 2);
        assert.ok(result.calls.includes("systemctl restart --no-block etcd.service"));
    });

    it("with data, a changed configuration and the other members unhealthy: refuses to restart", () => {
        const dir = hostRoot();
        runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
        fs.mkdirSync(dataDir(dir), { recursive: true });
        const refused = runLaunch(dir, specOf({ extraFlags: { "snapshot-count": "5000" } }), {
            FAKE_ACTIVE: "0",
            FAKE_MEMBERS: STARTED,
            FAKE_LOCAL_STATUS: localStatus("8e9e05c52164694d"),
            FAKE_HEALTH: "1",
        });
        assert.equal(refused.status, 1);
        assert.match(
            refused.stderr,
            /refusing to restart member 8e9e05c52164694d: only 0 of the other 2 members are healthy/,
        );
        assert.ok(!refused.calls.includes("systemctl restart --no-block etcd.service"));
    });

    it("a restart refused while another member was down stays owed: the same launch run again once the others are healthy restarts etcd", () => {
        const dir = hostRoot();
        runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
        fs.mkdirSync(dataDir(dir), { recursive: true });
        const changed = specOf({ extraFlags: { "snapshot-count": "5000" } });
        const running = {
            FAKE_MEMBERS: STARTED,
            FAKE_LOCAL_STATUS: localStatus("8e9e05c52164694d"),
            FAKE_ACTIVE: "0",
        };
        assert.equal(runLaunch(dir, changed, { ...running, FAKE_HEALTH: "1" }).status, 1);
        const again = runLaunch(dir, changed, running);
        assert.equal(again.status, 0, again.stderr);
        assert.ok(again.calls.includes("systemctl restart --no-block etcd.service"), again.calls.join("\n"));
        assert.match(runLaunch(dir, changed, running).stderr, /etcd is running with this configuration already/);
    });

    it('joining just after a restart: a member add that etcd refuses with "unhealthy cluster" is retried until accepted', () => {
        const dir = hostRoot();
        const refusals = path.join(dir, "refusals");
        fs.writeFileSync(refusals, "1");
        const result = runLaunch(dir, specOf({}), { FAKE_MEMBERS: STARTED, FAKE_ADD_REFUSALS: refusals });
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.calls.filter((c) => c.includes("member add")).length, 2);
        assert.match(result.stderr, /added orders-0 as learner 1234abcd5678ef90/);
    });

    it("no data while the cluster runs: under the membership lock, removes the stale entry of its name, joins as a learner, promotes itself", () => {
        const dir = hostRoot();
        const spec = specOf({ bootstrapMode: "discovery", discovery: { endpoints: ["http://10.9.0.5:2379"] } });
        const result = runLaunch(dir, spec, { FAKE_MEMBERS: STARTED });
        assert.equal(result.status, 0, result.stderr);
        const etcdctl = result.calls
            .filter((c) => /member (remove|add|promote)| lock /.test(c))
            .map((c) => c.replace(/^.*(--command-timeout=5s|:2379) /, "").replace(/ -- .*/, ""));
        assert.deepEqual(etcdctl, [
            "lock --ttl 5 etcd-aws/membership",
            "member remove 8e9e05c52164694d",
            "member add orders-0 --peer-urls=https://10.0.1.10:2380 --learner -w json",
            "member promote 1234abcd5678ef90",
        ]);
        const pki = path.join(dir, HOST_PATHS.pkiDir);
        assert.deepEqual(
            [...new Set(result.tls)],
            [`${pki}/ca.crt ${pki}/client.crt ${pki}/client.key`],
            "every etcdctl call has the client certificate",
        );
        assert.equal(result.tls.length, result.calls.filter((c) => c.startsWith("etcdctl")).length);
        assert.equal(
            fs.readFileSync(path.join(dir, HOST_PATHS.joinEnvFile), "utf8"),
            [
                "# orders-0 joined a running cluster: these override the bootstrap settings in etcd.env.",
                "ETCD_INITIAL_CLUSTER=orders-1=https://10.0.2.10:2380,orders-2=https://10.0.3.10:2380,orders-0=https://10.0.1.10:2380",
                "ETCD_INITIAL_CLUSTER_STATE=existing",
                "ETCD_DISCOVERY_TOKEN=",
                "ETCD_DISCOVERY_ENDPOINTS=",
                "",
            ].join("\n"),
        );
    });

    it("reads the new member's decimal uint64 ID from etcdctl's JSON (one with a leading zero nibble) and promotes it by its hex ID", () => {
        const result = runLaunch(hostRoot(), specOf({}), {
            FAKE_MEMBERS: STARTED,
            FAKE_ADDED: memberAdded("034abcd5678ef90a"),
        });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /added orders-0 as learner 34abcd5678ef90a\n/);
        assert.ok(
            result.calls.some((c) => c.endsWith("member promote 34abcd5678ef90a")),
            result.calls.join("\n"),
        );
    });

    for (const [label, answer] of [
        ["is not JSON", "Member 34abcd5678ef90a added to cluster cdf818194e3a8c32"],
        ["names no new member", '{"header":{"member_id":1},"members":[]}'],
    ] as const) {
        it(`fails at once, showing etcdctl's answer, when the new member's ID cannot be read from it (an answer that ${label})`, () => {
            const result = runLaunch(hostRoot(), specOf({}), { FAKE_MEMBERS: STARTED, FAKE_ADDED: answer });
            assert.equal(result.status, 1, result.stderr);
            assert.ok(
                result.stderr.includes(
                    `could not read the new member's ID and initial cluster from etcdctl's answer:\n${answer}\n`,
                ),
                result.stderr,
            );
            assert.equal(
                result.calls.some((c) => c.includes("member promote")),
                false,
            );
        });
    }

    it("reads member add's JSON from etcdctl's stdout alone: a warning it logs on stderr (etcdctl 3.6+) does not spoil it", () => {
        const result = runLaunch(hostRoot(), specOf({}), { FAKE_MEMBERS: STARTED, FAKE_ADD_WARNS: "yes" });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /added orders-0 as learner 1234abcd5678ef90\n/);
    });

    it("the initial cluster a joining member starts with lists every member's peer URL, itself under its own name (from member add's JSON)", () => {
        const dir = hostRoot();
        const result = runLaunch(dir, specOf({}), { FAKE_MEMBERS: STARTED });
        assert.equal(result.status, 0, result.stderr);
        assert.match(
            fs.readFileSync(path.join(dir, HOST_PATHS.joinEnvFile), "utf8"),
            /^ETCD_INITIAL_CLUSTER=orders-1=https:\/\/10\.0\.2\.10:2380,orders-2=https:\/\/10\.0\.3\.10:2380,orders-0=https:\/\/10\.0\.1\.10:2380$/m,
        );
    });

    it("removes a stale entry found by peer URL alone (a replaced host's learner, never named)", () => {
        const stale = memberList([
            { id: "0a1b2c3d4e5f6071", peer: "https://10.0.1.10:2380", learner: true },
            {
                id: "91bc3c398fb3c146",
                name: "orders-1",
                peer: "https://10.0.2.10:2380",
                client: "https://10.0.2.10:2379",
            },
            {
                id: "fd422379fda50e48",
                name: "orders-2",
                peer: "https://10.0.3.10:2380",
                client: "https://10.0.3.10:2379",
            },
        ]);
        const result = runLaunch(hostRoot(), specOf({}), { FAKE_MEMBERS: stale });
        assert.equal(result.status, 0, result.stderr);
        assert.ok(
            result.calls.some((c) => c.endsWith("member remove a1b2c3d4e5f6071")),
            result.calls.join("\n"),
        );
    });

    it("a learner that is never promoted: says every REPORT_EVERY_SECONDS what it waits for and why, gives up after WAIT_SECONDS with etcd's last error and log", () => {
        const dir = hostRoot();
        const spec = specOf({});
        const result = runLaunch(
            dir,
            spec,
            {
                FAKE_MEMBERS: STARTED,
                FAKE_PROMOTE_ERROR: "etcdserver: can only promote a learner member which is in sync with leader",
            },
            [],
            {
                waitSeconds: 3,
                reportEverySeconds: 1,
            },
        );
        assert.equal(result.status, 1, result.stderr);
        const waiting = "learner 1234abcd5678ef90 caught up and promoted";
        const why = "Error: etcdserver: can only promote a learner member which is in sync with leader";
        assert.ok(
            result.stderr.split("\n").filter((line) => line.endsWith(`still waiting for ${waiting}: ${why}`)).length >=
                1,
            result.stderr,
        );
        assert.match(
            result.stderr,
            new RegExp(`gave up after 3 s: ${waiting}; last error: ${why}; etcd's last log lines:`),
        );
        assert.ok(
            result.calls.includes("journalctl --unit etcd.service --lines 30 --no-pager"),
            result.calls.join("\n"),
        );
        assert.doesNotMatch(result.stderr, /promoted orders-0/);
    });
});
