import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    ClusterSettings,
    ClusterSpec,
    HostFile,
    renderDiscoverySizeScript,
    renderEnvFile,
    renderHealthGateScript,
    renderLaunchScript,
    renderLeaveScript,
} from "../../core";
import { afterHeader, DISCOVERY_TOKEN, fakeBin, heredocBodies, runBash, shellcheck, specOf, tempDir } from "./helpers";

const FILES: HostFile[] = [
    { path: "/etc/etcd/pki/ca.crt", mode: "0644", owner: "root:etcd", content: "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n" },
    { path: "/etc/etcd/pki/server.key", mode: "0600", owner: "etcd:etcd", content: "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----" },
];

const V2_SERVICE = "http://10.0.0.5:2379/v2/keys/_etcd/registry";

/** Settings of the scripts' test clusters, one per mode and version family. */
const CLUSTERS: [string, ClusterSettings][] = [
    ["3.4.45 static, tls", { etcdVersion: "3.4.45" }],
    ["3.5.33 dns, no tls", { etcdVersion: "3.5.33", bootstrapMode: "dns", tls: false }],
    ["3.6.14 dns with srvName, tls", { bootstrapMode: "dns", srvName: "blue" }],
    ["3.5.33 discovery v2 with proxy, tls", { etcdVersion: "3.5.33", bootstrapMode: "discovery", discovery: { serviceUrl: V2_SERVICE, proxy: "http://10.0.0.6:3128" } }],
    ["3.4.45 discovery v2 ready URL, no tls", { etcdVersion: "3.4.45", bootstrapMode: "discovery", tls: false, discovery: { url: "https://discovery.example.com/abc", size: 3 } }],
    ["3.7.1 discovery v3, tls", { etcdVersion: "3.7.1", bootstrapMode: "discovery", discovery: { endpoints: ["http://10.0.0.5:2379"] } }],
];

/** Stand-ins for etcdctl, curl, systemctl and journalctl that log their arguments to $FAKE_LOG. */
const FAKE_TOOLS = {
    etcdctl: `echo "etcdctl $*" >>"$FAKE_LOG"
case "$*" in
    *"member list"*) [ -n "\${FAKE_MEMBERS:-}" ] || exit 1; printf '%b' "$FAKE_MEMBERS" ;;
    *"--endpoints https://10.0.1.10:2379 "*"endpoint health"*) exit "\${FAKE_LOCAL_HEALTH:-0}" ;;
    *"endpoint health"*) exit "\${FAKE_HEALTH:-0}" ;;
    *"endpoint status"*) if [ -n "\${FAKE_LOCAL_ID:-}" ]; then echo "https://10.0.1.10:2379, $FAKE_LOCAL_ID, 3.6.14, 20 kB, false, false, 2, 9, 9, "; else exit 1; fi ;;
    *" lock "*) if [ -n "\${FAKE_LOCK_FAILS_ONCE:-}" ] && [ ! -e "$FAKE_LOG.lock-failed" ]; then touch "$FAKE_LOG.lock-failed"; exit 1; fi
        echo "etcd-aws/membership/694d77a1c2e3f4b5"; exec sleep 30 ;;
    *"member promote"*) if [ -n "\${FAKE_PROMOTE_ERROR:-}" ]; then
        echo '{"level":"warn","msg":"retrying of unary invoker failed"}' >&2; echo "Error: $FAKE_PROMOTE_ERROR" >&2; exit 1
    fi ;;
    *"member add"*) if [ -n "\${FAKE_ADD_REFUSALS:-}" ] && [ "$(cat "$FAKE_ADD_REFUSALS")" -gt 0 ]; then
        echo $(($(cat "$FAKE_ADD_REFUSALS") - 1)) >"$FAKE_ADD_REFUSALS"; echo "Error: etcdserver: unhealthy cluster" >&2; exit 1
    fi
    printf 'Member %16s added to cluster cdf818194e3a8c32\n\nETCD_NAME="orders-0"\nETCD_INITIAL_CLUSTER="orders-1=https://10.0.2.10:2380,orders-2=https://10.0.3.10:2380,orders-0=https://10.0.1.10:2380"\nETCD_INITIAL_ADVERTISE_PEER_URLS="https://10.0.1.10:2380"\nETCD_INITIAL_CLUSTER_STATE="existing"\n' "\${FAKE_ADDED_ID:-1234abcd5678ef90}" ;;
    *" get "*) if [ -n "\${FAKE_SIZE:-}" ]; then printf '%s\\n' "$FAKE_SIZE"; fi ;;
    *" put "*) echo OK ;;
esac`,
    // FAKE_PEER_MEMBERS: what every other member answers to GET /members on its peer port
    // (unset: nobody answers).
    curl: `echo "curl $*" >>"$FAKE_LOG"
case "$*" in
    *"/members"*) [ -n "\${FAKE_PEER_MEMBERS:-}" ] || exit 7
        out=; previous=; for arg in "$@"; do if [ "$previous" = -o ]; then out=$arg; fi; previous=$arg; done
        printf '%s' "$FAKE_PEER_MEMBERS" >"$out" ;;
    *"-X PUT"*) echo '{"action":"set"}' ;;
    *) if [ -n "\${FAKE_SIZE:-}" ]; then printf '{"action":"get","node":{"key":"/_etcd/registry/t/_config/size","value":"%s","modifiedIndex":4}}' "$FAKE_SIZE"; else exit 22; fi ;;
esac`,
    systemctl: `echo "systemctl $*" >>"$FAKE_LOG"
case "$*" in
    *is-active*) exit "\${FAKE_ACTIVE:-1}" ;;
esac`,
    journalctl: `echo "journalctl $*" >>"$FAKE_LOG"`,
};

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

/** Runs a rendered script with the fake tools; returns its result and the commands they saw. */
function runWithFakes(script: string, env: Record<string, string> = {}, args: string[] = []): { status: number | null; stdout: string; stderr: string; calls: string[] } {
    const log = path.join(tempDir("calls"), "calls.log");
    fs.writeFileSync(log, "");
    const result = runBash(script, { FAKE_LOG: log, ...env }, fakeBin(FAKE_TOOLS), args);
    return { ...result, calls: fs.readFileSync(log, "utf8").split("\n").filter((line) => line !== "") };
}

function settingsOf(script: string): Record<string, string> {
    return Object.fromEntries([...script.matchAll(/^([A-Z_0-9]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
}

function assertStrictBash(script: string, firstLine: string): void {
    assert.equal(script.split("\n")[0], "#!/usr/bin/env bash");
    assert.equal(script.split("\n")[1], firstLine);
    assert.equal(afterHeader(script)[0], "set -euo pipefail");
    assert.equal(shellcheck(script), "");
}

function member(list: string[]): string {
    return list.map((line) => `${line}\\n`).join("");
}

const STARTED = member([
    "8e9e05c52164694d, started, orders-0, https://10.0.1.10:2380, https://10.0.1.10:2379, false",
    "91bc3c398fb3c146, started, orders-1, https://10.0.2.10:2380, https://10.0.2.10:2379, false",
    "fd422379fda50e48, started, orders-2, https://10.0.3.10:2380, https://10.0.3.10:2379, false",
]);

describe("core/launch", () => {
    describe("renderLaunchScript", () => {
        for (const [label, settings] of CLUSTERS) {
            const spec = specOf(settings);
            for (const files of [[], FILES]) {
                it(`${label}, ${files.length} extra files: shellcheck-clean, set -euo pipefail after the header`, () => {
                    assertStrictBash(
                        renderLaunchScript(spec, spec.members[1], files),
                        `# Configures and starts etcd member orders-1 of cluster orders (${spec.mode} bootstrap).`,
                    );
                });
            }
        }

        it("writes the extra files in order, then the environment file, each with its mode and owner", () => {
            const spec = specOf({});
            const script = renderLaunchScript(spec, spec.members[0], FILES);
            assert.deepEqual(
                [...script.matchAll(/^if write_if_changed (.*) <<'/gm)].map((m) => m[1]),
                ["/etc/etcd/pki/ca.crt 0644 root:etcd", "/etc/etcd/pki/server.key 0600 etcd:etcd", "/etc/etcd/etcd.env 0640 root:etcd"],
            );
            assert.deepEqual(
                heredocBodies(script).map((doc) => doc.body),
                [FILES[0].content, `${FILES[1].content}\n`, renderEnvFile(spec, spec.members[0])],
            );
        });

        it("a file containing the heredoc delimiter as a line gets a longer delimiter and arrives intact", () => {
            const spec = specOf({});
            const content = "line\nETCD_AWS_EOF\nETCD_AWS_EOF_\nlast\n";
            const docs = heredocBodies(renderLaunchScript(spec, spec.members[0], [{ path: "/etc/etcd/x", mode: "0600", owner: "etcd:etcd", content }]));
            assert.deepEqual(docs[0], { delimiter: "ETCD_AWS_EOF__", body: content });
            assert.equal(docs[1].delimiter, "ETCD_AWS_EOF");
        });

        describe("run against a temporary host directory with fake etcdctl and systemctl", () => {
            const SYSTEMCTL = (call: string): boolean => call.startsWith("systemctl");
            /** The launch script with its host paths moved under `dir` (owned by this user). */
            function runLaunch(dir: string, spec: ClusterSpec, env: Record<string, string>, args: string[] = [], waits: Partial<Record<"WAIT_SECONDS" | "REPORT_EVERY_SECONDS", number>> = {}): ReturnType<typeof runWithFakes> {
                const me = `${runBash("id -un").stdout.trim()}:${runBash("id -gn").stdout.trim()}`;
                const script = Object.entries(waits)
                    .reduce((text, [name, seconds]) => text.replace(new RegExp(`^${name}='\\d+'$`, "m"), `${name}='${seconds}'`), renderLaunchScript(spec, spec.members[0]))
                    .replace("/etc/etcd/etcd.env 0640 root:etcd", `${dir}/etcd.env 0640 ${me}`)
                    .replace("DATA_DIR='/var/lib/etcd/data'", `DATA_DIR='${dir}/data'`)
                    .replace("JOIN_ENV_FILE='/etc/etcd/join.env'", `JOIN_ENV_FILE='${dir}/join.env'`)
                    .replace("LEAVE_SCRIPT='/usr/local/sbin/etcd-aws-leave'", `LEAVE_SCRIPT='${dir}/leave'`)
                    .replace("RESTART_PENDING='/run/etcd-aws-restart-pending'", `RESTART_PENDING='${dir}/restart-pending'`)
                    .replace(/ 0755 root:root /, ` 0755 ${me} `)
                    .replace(/0640 root:etcd <<JOIN/, `0640 ${me} <<JOIN`);
                return runWithFakes(script, env, args);
            }

            it("first creation (--bootstrap), no data, no cluster answering: writes the env file and starts etcd", () => {
                const dir = tempDir("launch");
                const spec = specOf({});
                const result = runLaunch(dir, spec, {}, ["--bootstrap"]);
                assert.equal(result.status, 0, result.stderr);
                assert.deepEqual(result.calls.filter(SYSTEMCTL), ["systemctl enable --quiet etcd.service", "systemctl restart --no-block etcd.service"]);
                assert.equal(fs.readFileSync(path.join(dir, "etcd.env"), "utf8"), renderEnvFile(spec, spec.members[0]));
                assert.equal(fs.readFileSync(path.join(dir, "leave"), "utf8"), renderLeaveScript(spec, spec.members[0]));
            });

            it("first creation starting late, after the others formed the cluster without it: starts with the bootstrap flags, does not join", () => {
                const waiting = peerMembers(PEERS.map((peer, i) => ({ name: `orders-${i}`, peer, started: i > 0 })));
                const result = runLaunch(tempDir("launch"), specOf({}), { FAKE_MEMBERS: STARTED, FAKE_PEER_MEMBERS: waiting }, ["--bootstrap"]);
                assert.equal(result.status, 0, result.stderr);
                assert.match(result.stderr, /starting etcd: forming the cluster/);
                assert.equal(result.calls.some((c) => /member (list|add|remove)| lock /.test(c)), false);
            });

            it("first creation when no other member answers: asks every other member's peer port at once, briefly, then forms the cluster", () => {
                const result = runLaunch(tempDir("launch"), specOf({}), { FAKE_MEMBERS: STARTED }, ["--bootstrap"]);
                assert.equal(result.status, 0, result.stderr);
                const asked = result.calls.filter((c) => c.startsWith("curl"));
                assert.deepEqual(asked.map((c) => c.split(" ").slice(-1)[0]).sort(), ["https://10.0.2.10:2380/members", "https://10.0.3.10:2380/members"]);
                asked.forEach((c) => assert.match(c, /--http1\.1 --max-time 0\.5 --cacert \/etc\/etcd\/pki\/ca\.crt --cert \/etc\/etcd\/pki\/peer\.crt --key \/etc\/etcd\/pki\/peer\.key /));
                assert.equal(result.calls.some((c) => c.includes("member list")), false);
                assert.match(result.stderr, /starting etcd: forming the cluster/);
            });

            it("first creation while the others are forming (they list this member, none started): starts at once, without etcdctl", () => {
                const forming = peerMembers(PEERS.map((peer, i) => ({ name: `orders-${i}`, peer })));
                const result = runLaunch(tempDir("launch"), specOf({}), { FAKE_MEMBERS: STARTED, FAKE_PEER_MEMBERS: forming }, ["--bootstrap"]);
                assert.equal(result.status, 0, result.stderr);
                assert.equal(result.calls.some((c) => c.startsWith("etcdctl")), false, result.calls.join("\n"));
                assert.match(result.stderr, /starting etcd: forming the cluster/);
            });

            const joins: [string, string][] = [
                ["does not list this member (a member added later)", peerMembers(PEERS.slice(1).map((peer, i) => ({ name: `orders-${i + 1}`, peer, started: true })))],
                ["lists an earlier incarnation of it that started (a replaced host)", FORMED],
                ["lists it as a learner added before", peerMembers(PEERS.map((peer, i) => ({ name: `orders-${i}`, peer, started: i > 0, learner: i === 0 })))],
            ];
            for (const [label, members] of joins) {
                it(`first creation while a running cluster ${label}: joins it`, () => {
                    const result = runLaunch(tempDir("launch"), specOf({ memberCount: 5 }), { FAKE_MEMBERS: STARTED, FAKE_PEER_MEMBERS: members }, ["--bootstrap"]);
                    assert.equal(result.status, 0, result.stderr);
                    assert.match(result.stderr, /no local data and the cluster is running: joining it/);
                    assert.ok(result.calls.some((c) => c.endsWith("member add orders-0 --peer-urls=https://10.0.1.10:2380 --learner")), result.calls.join("\n"));
                });
            }

            it("a later run with no data and no cluster answering refuses to form a second cluster", () => {
                const result = runLaunch(tempDir("launch"), specOf({}), {});
                assert.equal(result.status, 1);
                assert.match(result.stderr, /no local data and no other member answers: refusing to form a second cluster/);
                assert.deepEqual(result.calls.filter(SYSTEMCTL), ["systemctl enable --quiet etcd.service"]);
            });

            it("with data and the same configuration: changes nothing, starts etcd only when it is down", () => {
                const dir = tempDir("launch");
                const spec = specOf({});
                runLaunch(dir, spec, {}, ["--bootstrap"]);
                fs.mkdirSync(path.join(dir, "data", "member"), { recursive: true });
                const running = runLaunch(dir, spec, { FAKE_ACTIVE: "0", FAKE_MEMBERS: STARTED });
                assert.deepEqual(running.calls.filter(SYSTEMCTL), ["systemctl enable --quiet etcd.service", "systemctl is-active --quiet etcd.service"]);
                assert.match(running.stderr, /etcd is running with this configuration already/);
                const down = runLaunch(dir, spec, { FAKE_ACTIVE: "1", FAKE_MEMBERS: STARTED });
                assert.deepEqual(down.calls.filter(SYSTEMCTL).slice(-1), ["systemctl start --no-block etcd.service"]);
            });

            it("with data and a changed configuration: takes the membership lock, checks every other member is healthy, restarts, waits until healthy", () => {
                const dir = tempDir("launch");
                runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
                fs.mkdirSync(path.join(dir, "data", "member"), { recursive: true });
                const changed = runLaunch(dir, specOf({ extraFlags: { "snapshot-count": "5000" } }), { FAKE_MEMBERS: STARTED, FAKE_LOCAL_ID: "8e9e05c52164694d" });
                assert.equal(changed.status, 0, changed.stderr);
                const calls = changed.calls;
                const health = calls.findIndex((c) => c === "etcdctl --endpoints https://10.0.2.10:2379 --command-timeout=3s endpoint health");
                const restart = calls.indexOf("systemctl restart --no-block etcd.service");
                const localHealth = calls.lastIndexOf("etcdctl --endpoints https://10.0.1.10:2379 --command-timeout=3s endpoint health");
                const lock = calls.indexOf("etcdctl --endpoints https://10.0.2.10:2379,https://10.0.3.10:2379 lock etcd-aws/membership");
                assert.ok(lock >= 0 && lock < health && health < restart && restart < localHealth, calls.join("\n"));
            });

            it("retries the membership lock when etcdctl gives up at once (an endpoint still starting or a learner)", () => {
                const dir = tempDir("launch");
                runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
                fs.mkdirSync(path.join(dir, "data", "member"), { recursive: true });
                const result = runLaunch(dir, specOf({ extraFlags: { "snapshot-count": "5000" } }), {
                    FAKE_MEMBERS: STARTED,
                    FAKE_LOCAL_ID: "8e9e05c52164694d",
                    FAKE_LOCK_FAILS_ONCE: "yes",
                });
                assert.equal(result.status, 0, result.stderr);
                assert.equal(result.calls.filter((c) => c.includes(" lock etcd-aws/membership")).length, 2);
                assert.ok(result.calls.includes("systemctl restart --no-block etcd.service"));
            });

            it("with data, a changed configuration and the other members unhealthy: refuses to restart", () => {
                const dir = tempDir("launch");
                runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
                fs.mkdirSync(path.join(dir, "data", "member"), { recursive: true });
                const refused = runLaunch(dir, specOf({ extraFlags: { "snapshot-count": "5000" } }), { FAKE_MEMBERS: STARTED, FAKE_LOCAL_ID: "8e9e05c52164694d", FAKE_HEALTH: "1" });
                assert.equal(refused.status, 1);
                assert.match(refused.stderr, /refusing to restart member 8e9e05c52164694d: only 0 of the other 2 members are healthy/);
                assert.ok(!refused.calls.includes("systemctl restart --no-block etcd.service"));
            });

            it("a restart refused while another member was down stays owed: the same launch run again once the others are healthy restarts etcd", () => {
                const dir = tempDir("launch");
                runLaunch(dir, specOf({}), {}, ["--bootstrap"]);
                fs.mkdirSync(path.join(dir, "data", "member"), { recursive: true });
                const changed = specOf({ extraFlags: { "snapshot-count": "5000" } });
                const running = { FAKE_MEMBERS: STARTED, FAKE_LOCAL_ID: "8e9e05c52164694d", FAKE_ACTIVE: "0" };
                assert.equal(runLaunch(dir, changed, { ...running, FAKE_HEALTH: "1" }).status, 1);
                const again = runLaunch(dir, changed, running);
                assert.equal(again.status, 0, again.stderr);
                assert.ok(again.calls.includes("systemctl restart --no-block etcd.service"), again.calls.join("\n"));
                assert.match(runLaunch(dir, changed, running).stderr, /etcd is running with this configuration already/);
            });

            it("joining just after a restart: a member add that etcd refuses with \"unhealthy cluster\" is retried until accepted", () => {
                const dir = tempDir("launch");
                const refusals = path.join(dir, "refusals");
                fs.writeFileSync(refusals, "1");
                const result = runLaunch(dir, specOf({}), { FAKE_MEMBERS: STARTED, FAKE_ADD_REFUSALS: refusals });
                assert.equal(result.status, 0, result.stderr);
                assert.equal(result.calls.filter((c) => c.includes("member add")).length, 2);
                assert.match(result.stderr, /added orders-0 as learner 1234abcd5678ef90/);
            });

            it("no data while the cluster runs: under the membership lock, removes the stale entry of its name, joins as a learner, promotes itself", () => {
                const dir = tempDir("launch");
                const spec = specOf({ bootstrapMode: "discovery", discovery: { endpoints: ["http://10.9.0.5:2379"] } });
                const result = runLaunch(dir, spec, { FAKE_MEMBERS: STARTED });
                assert.equal(result.status, 0, result.stderr);
                const etcdctl = result.calls.filter((c) => /member (remove|add|promote)| lock /.test(c)).map((c) => c.replace(/^.*(--command-timeout=5s|:2379) /, ""));
                assert.deepEqual(etcdctl, [
                    "lock etcd-aws/membership",
                    "member remove 8e9e05c52164694d",
                    "member add orders-0 --peer-urls=https://10.0.1.10:2380 --learner",
                    "member promote 1234abcd5678ef90",
                ]);
                assert.equal(
                    fs.readFileSync(path.join(dir, "join.env"), "utf8"),
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

            it("reads a new member's ID that etcdctl pads to 16 columns (a leading zero nibble: 15 digits after two spaces) and promotes that ID", () => {
                const result = runLaunch(tempDir("launch"), specOf({}), { FAKE_MEMBERS: STARTED, FAKE_ADDED_ID: "34abcd5678ef90a" });
                assert.equal(result.status, 0, result.stderr);
                assert.match(result.stderr, /added orders-0 as learner 34abcd5678ef90a\n/);
                assert.ok(result.calls.some((c) => c.endsWith("member promote 34abcd5678ef90a")), result.calls.join("\n"));
            });

            it("fails at once, showing etcdctl's answer, when the new member's ID cannot be read from it", () => {
                const result = runLaunch(tempDir("launch"), specOf({}), { FAKE_MEMBERS: STARTED, FAKE_ADDED_ID: "not-an-id" });
                assert.equal(result.status, 1, result.stderr);
                assert.match(result.stderr, /could not read the new member's ID and initial cluster from etcdctl's answer:\nMember\s+not-an-id added/);
                assert.equal(result.calls.some((c) => c.includes("member promote")), false);
            });

            it("a learner that is never promoted: says every REPORT_EVERY_SECONDS what it waits for and why, gives up after WAIT_SECONDS with etcd's last error and log", () => {
                const dir = tempDir("launch");
                const spec = specOf({});
                const result = runLaunch(dir, spec, { FAKE_MEMBERS: STARTED, FAKE_PROMOTE_ERROR: "etcdserver: can only promote a learner member which is in sync with leader" }, [], {
                    WAIT_SECONDS: 3,
                    REPORT_EVERY_SECONDS: 1,
                });
                assert.equal(result.status, 1, result.stderr);
                const waiting = "learner 1234abcd5678ef90 caught up and promoted";
                const why = "Error: etcdserver: can only promote a learner member which is in sync with leader";
                assert.ok(result.stderr.split("\n").filter((line) => line.endsWith(`still waiting for ${waiting}: ${why}`)).length >= 1, result.stderr);
                assert.match(result.stderr, new RegExp(`gave up after 3 s: ${waiting}; last error: ${why}; etcd's last log lines:`));
                assert.ok(result.calls.includes("journalctl --unit etcd.service --lines 30 --no-pager"), result.calls.join("\n"));
                assert.doesNotMatch(result.stderr, /promoted orders-0/);
            });
        });
    });

    describe("renderLeaveScript", () => {
        it("is shellcheck-clean", () => {
            const spec = specOf({});
            assertStrictBash(renderLeaveScript(spec, spec.members[1]), "# Removes etcd member orders-1 from cluster orders, keeping quorum, then stops it.");
        });

        it("removes its own member through the others when they keep quorum, then stops etcd", () => {
            const spec = specOf({});
            const result = runWithFakes(renderLeaveScript(spec, spec.members[0]), { FAKE_MEMBERS: STARTED, FAKE_LOCAL_ID: "8e9e05c52164694d" });
            assert.equal(result.status, 0, result.stderr);
            assert.ok(result.calls.includes("etcdctl --endpoints https://10.0.2.10:2379,https://10.0.3.10:2379 --command-timeout=5s member remove 8e9e05c52164694d"), result.calls.join("\n"));
            assert.deepEqual(result.calls.filter((c) => c.startsWith("systemctl")), ["systemctl disable --quiet etcd.service", "systemctl stop etcd.service"]);
        });

        it("refuses when the remaining members would not have quorum", () => {
            const spec = specOf({});
            const result = runWithFakes(renderLeaveScript(spec, spec.members[0]), { FAKE_MEMBERS: STARTED, FAKE_LOCAL_ID: "8e9e05c52164694d", FAKE_HEALTH: "1" });
            assert.equal(result.status, 1);
            assert.match(result.stderr, /refusing to remove member 8e9e05c52164694d: only 0 of the 2 members that would remain are healthy/);
            assert.ok(!result.calls.some((c) => c.includes("member remove")));
        });
    });

    describe("renderHealthGateScript", () => {
        for (const [label, settings] of CLUSTERS) {
            it(`${label}: shellcheck-clean, set -euo pipefail after the header`, () => {
                const spec = specOf(settings);
                assertStrictBash(
                    renderHealthGateScript(spec, { timeoutSeconds: 300 }),
                    "# Health gate of etcd cluster orders: waits for 3 healthy members.",
                );
            });
        }

        it("tls: checks every member's https client URL with the client certificate", () => {
            const script = renderHealthGateScript(specOf({ memberCount: 5 }), { timeoutSeconds: 300 });
            assert.deepEqual(settingsOf(script), {
                ENDPOINTS: "https://10.0.1.10:2379,https://10.0.2.10:2379,https://10.0.3.10:2379,https://10.0.1.11:2379,https://10.0.2.11:2379",
                EXPECTED_MEMBERS: "5",
                TIMEOUT_SECONDS: "300",
            });
            const lines = script.split("\n");
            for (const line of ["export ETCDCTL_CACERT=/etc/etcd/pki/ca.crt", "export ETCDCTL_CERT=/etc/etcd/pki/client.crt", "export ETCDCTL_KEY=/etc/etcd/pki/client.key", "export ETCDCTL_API=3"]) {
                assert.ok(lines.includes(line), line);
            }
        });

        it("dns without tls: plain http URLs by DNS name and no certificate variables", () => {
            const script = renderHealthGateScript(specOf({ bootstrapMode: "dns", tls: false }), { timeoutSeconds: 60 });
            assert.equal(settingsOf(script).ENDPOINTS, "http://orders-0.orders.etcd.internal:2379,http://orders-1.orders.etcd.internal:2379,http://orders-2.orders.etcd.internal:2379");
            assert.ok(!script.includes("ETCDCTL_CACERT"));
        });

        it("passes when every member is started and healthy", () => {
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 30 }), { FAKE_MEMBERS: STARTED });
            assert.equal(result.status, 0, result.stderr);
            assert.match(result.stderr, /etcd-health: all 3 members are healthy/);
            assert.ok(result.calls.includes("etcdctl --endpoints https://10.0.1.10:2379,https://10.0.2.10:2379,https://10.0.3.10:2379 --command-timeout=5s endpoint health"));
        });

        it("does not pass while a member of the initial cluster has never published its client URLs", () => {
            const members = member([
                "8e9e05c52164694d, started, orders-0, https://10.0.1.10:2380, https://10.0.1.10:2379, false",
                "91bc3c398fb3c146, started, orders-1, https://10.0.2.10:2380, https://10.0.2.10:2379, false",
                "fd422379fda50e48, started, orders-2, https://10.0.3.10:2380, , false",
            ]);
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 0 }), { FAKE_MEMBERS: members });
            assert.equal(result.status, 1);
            assert.match(result.stderr, /cluster did not become healthy within 0 s/);
        });

        it("fails with the member list and logs when a member never starts", () => {
            const members = member([
                "8e9e05c52164694d, started, orders-0, https://10.0.1.10:2380, https://10.0.1.10:2379, false",
                "91bc3c398fb3c146, started, orders-1, https://10.0.2.10:2380, https://10.0.2.10:2379, false",
                "fd422379fda50e48, unstarted, , https://10.0.3.10:2380, , false",
            ]);
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 0 }), { FAKE_MEMBERS: members });
            assert.equal(result.status, 1);
            assert.match(result.stderr, /etcd-health: cluster did not become healthy within 0 s/);
            assert.ok(result.calls.some((call) => call.endsWith("member list --write-out=table")));
            assert.ok(result.calls.includes("journalctl --unit etcd.service --lines 50 --no-pager"));
        });

        it("fails when all members are listed but endpoint health fails", () => {
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 0 }), { FAKE_MEMBERS: STARTED, FAKE_HEALTH: "1" });
            assert.equal(result.status, 1);
        });
    });

    describe("renderDiscoverySizeScript", () => {
        const v3 = specOf({ bootstrapMode: "discovery", discovery: { endpoints: ["http://10.0.10.10:2379", "http://10.0.10.11:2379"] } });
        const v2 = specOf({ etcdVersion: "3.5.33", bootstrapMode: "discovery", discovery: { serviceUrl: V2_SERVICE } });
        const v2proxy = specOf({ etcdVersion: "3.5.33", bootstrapMode: "discovery", discovery: { serviceUrl: V2_SERVICE, proxy: "http://10.0.0.6:3128" } });

        for (const [label, spec] of [["v3", v3], ["v2", v2], ["v2 with proxy", v2proxy]] as const) {
            it(`${label}: shellcheck-clean, set -euo pipefail after the header`, () => {
                assertStrictBash(renderDiscoverySizeScript(spec), "# Registers size 3 for the discovery token of cluster orders.");
            });
        }

        it("v3: the size key /_etcd/registry/<token>/_config/size on the discovery endpoints", () => {
            assert.deepEqual(settingsOf(renderDiscoverySizeScript(v3)), {
                ENDPOINTS: "http://10.0.10.10:2379,http://10.0.10.11:2379",
                SIZE_KEY: `/_etcd/registry/${DISCOVERY_TOKEN}/_config/size`,
                SIZE: "3",
            });
        });

        it("v2: <service>/<token>/_config/size, no proxy unless set", () => {
            assert.deepEqual(settingsOf(renderDiscoverySizeScript(v2)), { SIZE_URL: `${V2_SERVICE}/${DISCOVERY_TOKEN}/_config/size`, SIZE: "3", PROXY: "" });
            assert.equal(settingsOf(renderDiscoverySizeScript(v2proxy)).PROXY, "http://10.0.0.6:3128");
        });

        it("refuses a ready discovery URL (its size is registered already) and non-discovery clusters", () => {
            const ready = specOf({ etcdVersion: "3.5.33", bootstrapMode: "discovery", discovery: { url: "https://discovery.example.com/abc", size: 3 } });
            assert.throws(() => renderDiscoverySizeScript(ready), { message: "this cluster registers no discovery size" });
            assert.throws(() => renderDiscoverySizeScript(specOf({})), { message: "this cluster registers no discovery size" });
        });

        it("v3: puts the size when the key is missing", () => {
            const result = runWithFakes(renderDiscoverySizeScript(v3));
            assert.equal(result.status, 0, result.stderr);
            assert.deepEqual(result.calls, [
                `etcdctl --endpoints http://10.0.10.10:2379,http://10.0.10.11:2379 --command-timeout=10s get --print-value-only /_etcd/registry/${DISCOVERY_TOKEN}/_config/size`,
                `etcdctl --endpoints http://10.0.10.10:2379,http://10.0.10.11:2379 --command-timeout=10s put /_etcd/registry/${DISCOVERY_TOKEN}/_config/size 3`,
            ]);
        });

        it("v3: leaves the same size alone and refuses a token registered with another size", () => {
            assert.equal(runWithFakes(renderDiscoverySizeScript(v3), { FAKE_SIZE: "3" }).calls.length, 1);
            const other = runWithFakes(renderDiscoverySizeScript(v3), { FAKE_SIZE: "5" });
            assert.equal(other.status, 1);
            assert.match(other.stderr, /the token already has size 5, not 3: it belongs to another cluster; use a new token/);
        });

        it("v2: PUTs value=<size> when the key is missing, through the proxy when set", () => {
            const url = `${V2_SERVICE}/${DISCOVERY_TOKEN}/_config/size`;
            const result = runWithFakes(renderDiscoverySizeScript(v2proxy));
            assert.equal(result.status, 0, result.stderr);
            assert.deepEqual(result.calls, [
                `curl -fsS --retry 5 --retry-connrefused --proxy http://10.0.0.6:3128 ${url}`,
                `curl -fsS --retry 5 --retry-connrefused --proxy http://10.0.0.6:3128 -X PUT ${url} -d value=3`,
            ]);
        });

        it("v2: leaves the same size alone and refuses a token registered with another size", () => {
            const same = runWithFakes(renderDiscoverySizeScript(v2), { FAKE_SIZE: "3" });
            assert.equal(same.status, 0);
            assert.equal(same.calls.length, 1);
            const other = runWithFakes(renderDiscoverySizeScript(v2), { FAKE_SIZE: "7" });
            assert.equal(other.status, 1);
            assert.match(other.stderr, /the token already has size 7, not 3/);
        });
    });
});
