import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    ClusterSettings,
    ClusterSpec,
    HOST_PATHS,
    HostFile,
    MembershipWaits,
    renderDiscoverySizeScript,
    renderEnvFile,
    renderHealthGateScript,
    renderLaunchScript,
    renderLeaveScript,
} from "../../core";
import { HOST_SCRIPTS_DIR } from "../../core/shell";
import {
    afterHeader,
    bundleSettings,
    DISCOVERY_TOKEN,
    fakeBin,
    heredocBodies,
    runBash,
    shellcheck,
    specOf,
    tempDir,
} from "./helpers";
import { at } from "../helpers/elements";

const FILES: HostFile[] = [
    {
        path: "/etc/etcd/pki/ca.crt",
        mode: "0644",
        owner: "root:etcd",
        content: "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n",
    },
    {
        path: "/etc/etcd/pki/server.key",
        mode: "0600",
        owner: "etcd:etcd",
        content: "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----",
    },
];

const V2_SERVICE = "http://10.0.0.5:2379/v2/keys/_etcd/registry";

/** Settings of the scripts' test clusters, one per mode and version family. */
const CLUSTERS: [string, ClusterSettings][] = [
    ["3.4.45 static, tls", { etcdVersion: "3.4.45" }],
    ["3.5.33 dns, no tls", { etcdVersion: "3.5.33", bootstrapMode: "dns", tls: false }],
    ["3.6.14 dns with srvName, tls", { bootstrapMode: "dns", srvName: "blue" }],
    [
        "3.5.33 discovery v2 with proxy, tls",
        {
            etcdVersion: "3.5.33",
            bootstrapMode: "discovery",
            discovery: { serviceUrl: V2_SERVICE, proxy: "http://10.0.0.6:3128" },
        },
    ],
    [
        "3.4.45 discovery v2 ready URL, no tls",
        {
            etcdVersion: "3.4.45",
            bootstrapMode: "discovery",
            tls: false,
            discovery: { url: "https://discovery.example.com/abc", size: 3 },
        },
    ],
    [
        "3.7.1 discovery v3, tls",
        { etcdVersion: "3.7.1", bootstrapMode: "discovery", discovery: { endpoints: ["http://10.0.0.5:2379"] } },
    ],
];

/**
 * Stand-ins for etcdctl, curl, systemctl and journalctl that log their arguments to $FAKE_LOG.
 * etcdctl answers with the JSON of -w json: FAKE_MEMBERS (member list), FAKE_LOCAL_STATUS
 * (endpoint status of this member; unset: it is down), FAKE_ADDED (member add).
 */
const FAKE_TOOLS = {
    etcdctl: `echo "etcdctl $*" >>"$FAKE_LOG"
if [ -n "\${ETCDCTL_CACERT:-}" ]; then echo "$ETCDCTL_CACERT $ETCDCTL_CERT $ETCDCTL_KEY" >>"$FAKE_LOG.tls"; fi
case "$*" in
    *"member list"*) [ -n "\${FAKE_MEMBERS:-}" ] || exit 1; printf '%s' "$FAKE_MEMBERS" ;;
    *"--endpoints https://10.0.1.10:2379 "*"endpoint health"*) exit "\${FAKE_LOCAL_HEALTH:-0}" ;;
    *"endpoint health"*) exit "\${FAKE_HEALTH:-0}" ;;
    *"endpoint status"*) if [ -n "\${FAKE_LOCAL_STATUS:-}" ]; then printf '%s' "$FAKE_LOCAL_STATUS"; else exit 1; fi ;;
    *" lock "*) if [ -n "\${FAKE_LOCK_FAILS_ONCE:-}" ] && [ ! -e "$FAKE_LOG.lock-failed" ]; then touch "$FAKE_LOG.lock-failed"; exit 1; fi
        while [ "$1" != -- ]; do shift; done; shift; exec "$@" ;;
    *"member promote"*) if [ -n "\${FAKE_PROMOTE_ERROR:-}" ]; then
        echo '{"level":"warn","msg":"retrying of unary invoker failed"}' >&2; echo "Error: $FAKE_PROMOTE_ERROR" >&2; exit 1
    fi ;;
    *"member add"*) if [ -n "\${FAKE_ADD_REFUSALS:-}" ] && [ "$(cat "$FAKE_ADD_REFUSALS")" -gt 0 ]; then
        echo $(($(cat "$FAKE_ADD_REFUSALS") - 1)) >"$FAKE_ADD_REFUSALS"; echo "Error: etcdserver: unhealthy cluster" >&2; exit 1
    fi
    if [ -n "\${FAKE_ADD_WARNS:-}" ]; then echo '{"level":"warn","msg":"unrecognized environment variable"}' >&2; fi
    printf '%s' "$FAKE_ADDED" ;;
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
function runWithFakes(
    script: string,
    env: Record<string, string> = {},
    args: string[] = [],
): { status: number | null; stdout: string; stderr: string; calls: string[]; tls: string[]; tlsLog: string } {
    const log = path.join(tempDir("calls"), "calls.log");
    fs.writeFileSync(log, "");
    const result = runBash(script, { FAKE_LOG: log, ...env }, fakeBin(FAKE_TOOLS), args);
    const lines = (file: string) =>
        fs.existsSync(file)
            ? fs
                  .readFileSync(file, "utf8")
                  .split("\n")
                  .filter((line) => line !== "")
            : [];
    return { ...result, calls: lines(log), tls: lines(`${log}.tls`), tlsLog: `${log}.tls` };
}

/** The here-documents of the files a launch script writes (not the etcd_json helper it carries). */
function memberFileBodies(script: string): { delimiter: string; body: string }[] {
    return heredocBodies(script).filter((doc) => doc.delimiter.startsWith("ETCD_AWS_EOF"));
}

function assertStrictBash(script: string, firstLine: string): void {
    assert.equal(script.split("\n")[0], "#!/usr/bin/env bash");
    assert.equal(script.split("\n")[1], firstLine);
    assert.equal(afterHeader(script)[0], "set -euo pipefail");
    assert.equal(shellcheck(script), "");
}

/** A member as etcdctl's JSON lists it: IDs in decimal, no name or client URLs until it runs. */
interface ListedMember {
    readonly id: string;
    readonly name?: string;
    readonly peer: string;
    readonly client?: string;
    readonly learner?: boolean;
}

function listedJson(member: ListedMember): Record<string, unknown> {
    return {
        ID: BigInt(`0x${member.id}`).toString(),
        ...(member.name ? { name: member.name } : {}),
        peerURLs: [member.peer],
        ...(member.client ? { clientURLs: [member.client] } : {}),
        ...(member.learner ? { isLearner: true } : {}),
    };
}

/** JSON with uint64 IDs as bare decimal numbers, as etcdctl prints them (beyond a double's precision). */
function etcdJson(value: unknown): string {
    return JSON.stringify(value)
        .replace(/"ID":"(\d+)"/g, '"ID":$1')
        .replace(/"(member_id|leader)":"(\d+)"/g, '"$1":$2');
}

/** `member list -w json`. */
function memberList(members: ListedMember[]): string {
    return etcdJson({
        header: { cluster_id: "14841639068965178418", member_id: "10276657743932975437", raft_term: 2 },
        members: members.map(listedJson),
    });
}

/** `endpoint status -w json` of this member (orders-0) with the given hex ID, first, and of its leader orders-1. */
function localStatus(id: string): string {
    const leader = BigInt("0x91bc3c398fb3c146").toString();
    const status = (endpoint: string, member: string) => ({
        Endpoint: endpoint,
        Status: { header: { member_id: member, revision: 9 }, version: "3.6.14", leader, raftAppliedIndex: 9 },
    });
    return etcdJson([
        status("https://10.0.1.10:2379", BigInt(`0x${id}`).toString()),
        status("https://10.0.2.10:2379", leader),
    ]);
}

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

/** The three members of the test cluster, started. */
const STARTED_MEMBERS = [
    { id: "8e9e05c52164694d", name: "orders-0", peer: "https://10.0.1.10:2380", client: "https://10.0.1.10:2379" },
    { id: "91bc3c398fb3c146", name: "orders-1", peer: "https://10.0.2.10:2380", client: "https://10.0.2.10:2379" },
    { id: "fd422379fda50e48", name: "orders-2", peer: "https://10.0.3.10:2380", client: "https://10.0.3.10:2379" },
] as const satisfies readonly ListedMember[];
const STARTED = memberList([...STARTED_MEMBERS]);

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

/** Runs host/<script> from the checkout, its settings (as a renderer wrote them) in the environment. */
function runHostScript(
    script: string,
    settings: Record<string, string>,
    env: Record<string, string> = {},
): ReturnType<typeof runWithFakes> {
    return runWithFakes(`exec bash ${path.join(HOST_SCRIPTS_DIR, script)}`, { ...settings, ...env });
}

describe("core/launch", () => {
    describe("renderLaunchScript", () => {
        for (const [label, settings] of CLUSTERS) {
            const spec = specOf(settings);
            for (const files of [[], FILES]) {
                it(`${label}, ${files.length} extra files: shellcheck-clean, set -euo pipefail after the header`, () => {
                    assertStrictBash(
                        renderLaunchScript(spec, at(spec.members, 1), files),
                        `# Configures and starts etcd member orders-1 of cluster orders (${spec.mode} bootstrap).`,
                    );
                });
            }
        }

        it("writes the extra files in order, then the environment file, then the leave script, each with its mode and owner", () => {
            const spec = specOf({});
            const script = renderLaunchScript(spec, at(spec.members, 0), FILES);
            assert.deepEqual(
                [...script.matchAll(/^ {4}if write_host_file (.*) <<'/gm)].map((m) => m[1]),
                [
                    "/etc/etcd/pki/ca.crt 0644 root:etcd",
                    "/etc/etcd/pki/server.key 0600 etcd:etcd",
                    "/etc/etcd/etcd.env 0640 root:etcd",
                    "/usr/local/sbin/etcd-aws-leave 0755 root:root",
                ],
            );
            assert.deepEqual(
                memberFileBodies(script).map((doc) => doc.body),
                [
                    at(FILES, 0).content,
                    `${at(FILES, 1).content}\n`,
                    renderEnvFile(spec, at(spec.members, 0)),
                    renderLeaveScript(spec, at(spec.members, 0)),
                ],
            );
        });

        it("a file containing the heredoc delimiter as a line gets a longer delimiter and arrives intact", () => {
            const spec = specOf({});
            const content = "line\nETCD_AWS_EOF\nETCD_AWS_EOF_\nlast\n";
            const docs = memberFileBodies(
                renderLaunchScript(spec, at(spec.members, 0), [
                    { path: "/etc/etcd/x", mode: "0600", owner: "etcd:etcd", content },
                ]),
            );
            assert.deepEqual(docs[0], { delimiter: "ETCD_AWS_EOF__", body: content });
            assert.equal(at(docs, 1).delimiter, "ETCD_AWS_EOF");
        });

        describe("run against a temporary host directory with fake etcdctl and systemctl", () => {
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
                const result = runLaunch(
                    hostRoot(),
                    specOf({}),
                    { FAKE_MEMBERS: STARTED, FAKE_PEER_MEMBERS: waiting },
                    ["--bootstrap"],
                );
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
                const result = runLaunch(
                    hostRoot(),
                    specOf({}),
                    { FAKE_MEMBERS: STARTED, FAKE_PEER_MEMBERS: forming },
                    ["--bootstrap"],
                );
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
                    peerMembers(
                        PEERS.map((peer, i) => ({ name: `orders-${i}`, peer, started: i > 0, learner: i === 0 })),
                    ),
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
                assert.match(
                    result.stderr,
                    /no local data and no other member answers: refusing to form a second cluster/,
                );
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
                assert.deepEqual(started.calls.filter(SYSTEMCTL).slice(-1), [
                    "systemctl start --no-block etcd.service",
                ]);
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
                assert.match(
                    runLaunch(dir, changed, running).stderr,
                    /etcd is running with this configuration already/,
                );
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
                        FAKE_PROMOTE_ERROR:
                            "etcdserver: can only promote a learner member which is in sync with leader",
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
                    result.stderr.split("\n").filter((line) => line.endsWith(`still waiting for ${waiting}: ${why}`))
                        .length >= 1,
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
    });

    describe("renderLeaveScript", () => {
        it("is shellcheck-clean", () => {
            const spec = specOf({});
            assertStrictBash(
                renderLeaveScript(spec, at(spec.members, 1)),
                "# Removes etcd member orders-1 from cluster orders, keeping quorum, then stops it.",
            );
        });

        it("removes its own member through the others when they keep quorum, then stops etcd", () => {
            const spec = specOf({});
            const result = runWithFakes(renderLeaveScript(spec, at(spec.members, 0)), {
                FAKE_MEMBERS: STARTED,
                FAKE_LOCAL_STATUS: localStatus("8e9e05c52164694d"),
            });
            assert.equal(result.status, 0, result.stderr);
            assert.ok(
                result.calls.includes(
                    "etcdctl --endpoints https://10.0.2.10:2379,https://10.0.3.10:2379 --command-timeout=5s member remove 8e9e05c52164694d",
                ),
                result.calls.join("\n"),
            );
            assert.deepEqual(
                result.calls.filter((c) => c.startsWith("systemctl")),
                ["systemctl disable --quiet etcd.service", "systemctl stop etcd.service"],
            );
            assert.deepEqual(
                [...new Set(result.tls)],
                ["/etc/etcd/pki/ca.crt /etc/etcd/pki/client.crt /etc/etcd/pki/client.key"],
                "every etcdctl call has the client certificate",
            );
            assert.equal(result.tls.length, result.calls.filter((c) => c.startsWith("etcdctl")).length);
        });

        it("run from the checkout (host/etcd-aws-leave.sh with the rendered settings): the same removal", () => {
            const spec = specOf({});
            const result = runHostScript(
                "etcd-aws-leave.sh",
                bundleSettings(renderLeaveScript(spec, at(spec.members, 0))),
                {
                    FAKE_MEMBERS: STARTED,
                    FAKE_LOCAL_STATUS: localStatus("8e9e05c52164694d"),
                },
            );
            assert.equal(result.status, 0, result.stderr);
            assert.ok(
                result.calls.includes(
                    "etcdctl --endpoints https://10.0.2.10:2379,https://10.0.3.10:2379 --command-timeout=5s member remove 8e9e05c52164694d",
                ),
                result.calls.join("\n"),
            );
            assert.match(result.stderr, /etcd-leave: removed orders-0 \(8e9e05c52164694d\) from the cluster/);
        });

        it("with etcd down: finds its entry by name and peer URL both, so a namesake on another address is never removed", () => {
            const spec = specOf({});
            const namesake = memberList([
                {
                    id: "8e9e05c52164694d",
                    name: "orders-0",
                    peer: "https://10.0.9.10:2380",
                    client: "https://10.0.9.10:2379",
                },
                {
                    id: "91bc3c398fb3c146",
                    name: "orders-1",
                    peer: "https://10.0.2.10:2380",
                    client: "https://10.0.2.10:2379",
                },
            ]);
            const kept = runWithFakes(renderLeaveScript(spec, at(spec.members, 0)), { FAKE_MEMBERS: namesake });
            assert.equal(kept.status, 0, kept.stderr);
            assert.match(kept.stderr, /orders-0 is not a member of a reachable cluster; nothing to remove/);
            const removed = runWithFakes(renderLeaveScript(spec, at(spec.members, 0)), { FAKE_MEMBERS: STARTED });
            assert.equal(removed.status, 0, removed.stderr);
            assert.ok(
                removed.calls.some((c) => c.endsWith("member remove 8e9e05c52164694d")),
                removed.calls.join("\n"),
            );
        });

        it("refuses when the remaining members would not have quorum", () => {
            const spec = specOf({});
            const result = runWithFakes(renderLeaveScript(spec, at(spec.members, 0)), {
                FAKE_MEMBERS: STARTED,
                FAKE_LOCAL_STATUS: localStatus("8e9e05c52164694d"),
                FAKE_HEALTH: "1",
            });
            assert.equal(result.status, 1);
            assert.match(
                result.stderr,
                /refusing to remove member 8e9e05c52164694d: only 0 of the 2 members that would remain are healthy/,
            );
            assert.ok(!result.calls.some((c) => c.includes("member remove")));
        });
    });

    describe("renderHealthGateScript", () => {
        for (const [label, settings] of CLUSTERS) {
            it(`${label}: shellcheck-clean, set -euo pipefail after the header`, () => {
                const spec = specOf(settings);
                assertStrictBash(
                    renderHealthGateScript(spec, { timeoutSeconds: 300 }),
                    "# Health gate of etcd cluster orders: waits for its 3 members, started and healthy.",
                );
            });
        }

        it("tls: checks every member's https client URL with the client certificate", () => {
            const script = renderHealthGateScript(specOf({ memberCount: 5 }), { timeoutSeconds: 300 });
            assert.deepEqual(bundleSettings(script), {
                ENDPOINTS:
                    "https://10.0.1.10:2379,https://10.0.2.10:2379,https://10.0.3.10:2379,https://10.0.1.11:2379,https://10.0.2.11:2379",
                PEER_URLS:
                    "https://10.0.1.10:2380,https://10.0.2.10:2380,https://10.0.3.10:2380,https://10.0.1.11:2380,https://10.0.2.11:2380",
                TIMEOUT_SECONDS: "300",
                UNIT: "etcd.service",
                RECOVER_SPACE_COMMAND: "sudo /usr/local/sbin/etcd-aws-recover-space",
                CA_FILE: "/etc/etcd/pki/ca.crt",
                CLIENT_CERT_FILE: "/etc/etcd/pki/client.crt",
                CLIENT_KEY_FILE: "/etc/etcd/pki/client.key",
            });
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 30 }), {
                FAKE_MEMBERS: STARTED,
            });
            assert.equal(result.status, 0, result.stderr);
            assert.ok(result.tls.length > 0);
            assert.deepEqual(
                [...new Set(result.tls)],
                ["/etc/etcd/pki/ca.crt /etc/etcd/pki/client.crt /etc/etcd/pki/client.key"],
            );
        });

        it("dns without tls: plain http URLs by DNS name and no certificate variables", () => {
            const script = renderHealthGateScript(specOf({ bootstrapMode: "dns", tls: false }), { timeoutSeconds: 60 });
            const settings = bundleSettings(script);
            assert.equal(
                settings.ENDPOINTS,
                "http://orders-0.orders.etcd.internal:2379,http://orders-1.orders.etcd.internal:2379,http://orders-2.orders.etcd.internal:2379",
            );
            assert.deepEqual([settings.CA_FILE, settings.CLIENT_CERT_FILE, settings.CLIENT_KEY_FILE], ["", "", ""]);
            const byName = memberList(
                ["8e9e05c52164694d", "91bc3c398fb3c146", "fd422379fda50e48"].map((id, i) => ({
                    id,
                    name: `orders-${i}`,
                    peer: `http://orders-${i}.orders.etcd.internal:2380`,
                    client: `http://orders-${i}.orders.etcd.internal:2379`,
                })),
            );
            const result = runWithFakes(script, { FAKE_MEMBERS: byName });
            assert.equal(result.status, 0, result.stderr);
            assert.deepEqual(result.tls, []);
        });

        it("passes when every member is started and healthy", () => {
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 30 }), {
                FAKE_MEMBERS: STARTED,
            });
            assert.equal(result.status, 0, result.stderr);
            assert.match(result.stderr, /etcd-health: all 3 members of the spec are healthy/);
            assert.doesNotMatch(result.stderr, /leaving/);
            assert.ok(
                result.calls.includes(
                    "etcdctl --endpoints https://10.0.1.10:2379,https://10.0.2.10:2379,https://10.0.3.10:2379 --command-timeout=5s endpoint health",
                ),
            );
        });

        it("run from the checkout (host/etcd-aws-health-gate.sh with the rendered settings): passes the same way", () => {
            const settings = bundleSettings(renderHealthGateScript(specOf({}), { timeoutSeconds: 30 }));
            const result = runHostScript("etcd-aws-health-gate.sh", settings, { FAKE_MEMBERS: STARTED });
            assert.equal(result.status, 0, result.stderr);
            assert.match(result.stderr, /etcd-health: all 3 members of the spec are healthy/);
        });

        it("run from the checkout without its settings: names the missing ones and changes nothing", () => {
            const result = runHostScript("etcd-aws-health-gate.sh", { ENDPOINTS: "https://10.0.1.10:2379" });
            assert.equal(result.status, 2);
            assert.match(
                result.stderr,
                /etcd-health: missing settings: PEER_URLS TIMEOUT_SECONDS UNIT CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE/,
            );
            assert.deepEqual(result.calls, []);
        });

        it("does not pass while a member of the initial cluster has never published its client URLs", () => {
            const members = memberList([
                {
                    id: "8e9e05c52164694d",
                    name: "orders-0",
                    peer: "https://10.0.1.10:2380",
                    client: "https://10.0.1.10:2379",
                },
                {
                    id: "91bc3c398fb3c146",
                    name: "orders-1",
                    peer: "https://10.0.2.10:2380",
                    client: "https://10.0.2.10:2379",
                },
                { id: "fd422379fda50e48", name: "orders-2", peer: "https://10.0.3.10:2380" },
            ]);
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 0 }), {
                FAKE_MEMBERS: members,
            });
            assert.equal(result.status, 1);
            assert.match(
                result.stderr,
                /cluster did not become healthy within 0 s: still waiting for unstarted https:\/\/10\.0\.3\.10:2380/,
            );
        });

        it("scale-in: passes with the spec's 3 members healthy while 2 members outside the spec are still listed, naming them as leaving", () => {
            const members = memberList([
                ...STARTED_MEMBERS,
                { id: "a1", name: "orders-3", peer: "https://10.0.1.11:2380", client: "https://10.0.1.11:2379" },
                { id: "b2", name: "orders-4", peer: "https://10.0.2.11:2380", client: "https://10.0.2.11:2379" },
            ]);
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 0 }), {
                FAKE_MEMBERS: members,
            });
            assert.equal(result.status, 0, result.stderr);
            assert.match(result.stderr, /all 3 members of the spec are healthy/);
            assert.match(
                result.stderr,
                /not in the spec, leaving at the end of the update \(not counted\): orders-3 \(a1\), orders-4 \(b2\)/,
            );
            // Only the spec's members are health-checked.
            assert.ok(
                result.calls.includes(
                    "etcdctl --endpoints https://10.0.1.10:2379,https://10.0.2.10:2379,https://10.0.3.10:2379 --command-timeout=5s endpoint health",
                ),
                result.calls.join("\n"),
            );
        });

        it("does not pass while a member of the spec is a learner, or missing from the list", () => {
            const members = memberList([STARTED_MEMBERS[0], { ...STARTED_MEMBERS[1], learner: true }]);
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 0 }), {
                FAKE_MEMBERS: members,
            });
            assert.equal(result.status, 1);
            assert.match(
                result.stderr,
                /still waiting for learner https:\/\/10\.0\.2\.10:2380;missing https:\/\/10\.0\.3\.10:2380/,
            );
        });

        it("fails with the member list and logs when a member never starts", () => {
            const members = memberList([
                {
                    id: "8e9e05c52164694d",
                    name: "orders-0",
                    peer: "https://10.0.1.10:2380",
                    client: "https://10.0.1.10:2379",
                },
                {
                    id: "91bc3c398fb3c146",
                    name: "orders-1",
                    peer: "https://10.0.2.10:2380",
                    client: "https://10.0.2.10:2379",
                },
                { id: "fd422379fda50e48", peer: "https://10.0.3.10:2380" },
            ]);
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 0 }), {
                FAKE_MEMBERS: members,
            });
            assert.equal(result.status, 1);
            assert.match(result.stderr, /etcd-health: cluster did not become healthy within 0 s/);
            assert.ok(result.calls.some((call) => call.endsWith("member list --write-out=table")));
            assert.ok(result.calls.includes("journalctl --unit etcd.service --lines 50 --no-pager"));
        });

        it("fails when all members are listed but endpoint health fails", () => {
            const result = runWithFakes(renderHealthGateScript(specOf({}), { timeoutSeconds: 0 }), {
                FAKE_MEMBERS: STARTED,
                FAKE_HEALTH: "1",
            });
            assert.equal(result.status, 1);
        });
    });

    describe("renderDiscoverySizeScript", () => {
        const v3 = specOf({
            bootstrapMode: "discovery",
            discovery: { endpoints: ["http://10.0.10.10:2379", "http://10.0.10.11:2379"] },
        });
        const v2 = specOf({ etcdVersion: "3.5.33", bootstrapMode: "discovery", discovery: { serviceUrl: V2_SERVICE } });
        const v2proxy = specOf({
            etcdVersion: "3.5.33",
            bootstrapMode: "discovery",
            discovery: { serviceUrl: V2_SERVICE, proxy: "http://10.0.0.6:3128" },
        });

        for (const [label, spec] of [
            ["v3", v3],
            ["v2", v2],
            ["v2 with proxy", v2proxy],
        ] as const) {
            it(`${label}: shellcheck-clean, set -euo pipefail after the header`, () => {
                assertStrictBash(
                    renderDiscoverySizeScript(spec),
                    "# Registers size 3 for the discovery token of cluster orders.",
                );
            });
        }

        it("v3: the size key /_etcd/registry/<token>/_config/size on the discovery endpoints", () => {
            assert.deepEqual(bundleSettings(renderDiscoverySizeScript(v3)), {
                PROTOCOL: "v3",
                ENDPOINTS: "http://10.0.10.10:2379,http://10.0.10.11:2379",
                SIZE_KEY: `/_etcd/registry/${DISCOVERY_TOKEN}/_config/size`,
                SIZE: "3",
            });
        });

        it("v2: <service>/<token>/_config/size, no proxy unless set", () => {
            assert.deepEqual(bundleSettings(renderDiscoverySizeScript(v2)), {
                PROTOCOL: "v2",
                SIZE_URL: `${V2_SERVICE}/${DISCOVERY_TOKEN}/_config/size`,
                SIZE: "3",
                PROXY: "",
            });
            assert.equal(bundleSettings(renderDiscoverySizeScript(v2proxy)).PROXY, "http://10.0.0.6:3128");
        });

        it("refuses a ready discovery URL (its size is registered already) and non-discovery clusters", () => {
            const ready = specOf({
                etcdVersion: "3.5.33",
                bootstrapMode: "discovery",
                discovery: { url: "https://discovery.example.com/abc", size: 3 },
            });
            assert.throws(() => renderDiscoverySizeScript(ready), {
                message: "this cluster registers no discovery size",
            });
            assert.throws(() => renderDiscoverySizeScript(specOf({})), {
                message: "this cluster registers no discovery size",
            });
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
            assert.match(
                other.stderr,
                /the token already has size 5, not 3: it belongs to another cluster; use a new token/,
            );
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

        it("run from the checkout (host/etcd-aws-discovery-size.sh with the rendered settings): v2 reads the registered size from the keys API's JSON", () => {
            const settings = bundleSettings(renderDiscoverySizeScript(v2));
            assert.equal(runHostScript("etcd-aws-discovery-size.sh", settings, { FAKE_SIZE: "3" }).calls.length, 1);
            const other = runHostScript("etcd-aws-discovery-size.sh", settings, { FAKE_SIZE: "4" });
            assert.equal(other.status, 1);
            assert.match(other.stderr, /etcd-discovery: the token already has size 4, not 3/);
        });
    });
});

describe("core/launch: services beside etcd (MemberServices)", () => {
    const SERVICE = { path: "/etc/systemd/system/x.timer", mode: "0644", owner: "root:root", content: "[Timer]\n" };

    /** Runs the rendered write_member_files twice in a temporary root; what systemctl was asked and whether a restart is owed. */
    function writeTwice(): { calls: string[]; owedAfterSecond: boolean; written: string } {
        const spec = specOf({});
        const script = renderLaunchScript(spec, at(spec.members, 0), [], {}, { files: [SERVICE], timers: ["x.timer"] });
        // The definition runs up to the libraries the bundle carries after it (the leave script inside carries its own).
        const start = script.indexOf("\nwrite_member_files() {\n");
        const definition = script.slice(start, script.lastIndexOf("\n# ---- host/lib/membership.sh"));
        assert.ok(start > 0, "the script defines write_member_files");
        const root = tempDir("services");
        for (const dir of ["etc/etcd", "etc/systemd/system", "usr/local/sbin", "run"]) {
            fs.mkdirSync(path.join(root, dir), { recursive: true });
        }
        const calls = path.join(root, "systemctl-calls");
        const bin = fakeBin({ systemctl: `echo "$*" >> ${calls}` });
        const common = fs.readFileSync(path.join(HOST_SCRIPTS_DIR, "lib/common.sh"), "utf8");
        const user = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
        const pending = path.join(root, "run/pending");
        const run = (then: string) =>
            runBash(
                `set -euo pipefail\n${common}\nRESTART_PENDING=${pending}\n${definition}\nwrite_member_files\n${then}`,
                { ETCD_AWS_ROOT: root, ETCD_AWS_OWNER: user },
                bin,
            );
        const first = run("");
        assert.equal(first.status, 0, first.stderr);
        fs.rmSync(pending, { force: true });
        const second = run("");
        assert.equal(second.status, 0, second.stderr);
        return {
            calls: fs.readFileSync(calls, "utf8").trim().split("\n"),
            owedAfterSecond: fs.existsSync(pending),
            written: fs.readFileSync(path.join(root, SERVICE.path), "utf8"),
        };
    }

    it("writes the services' files without owing etcd a restart, reloads systemd only when one changed, enables each timer every time", () => {
        const { calls, owedAfterSecond, written } = writeTwice();
        assert.equal(written, SERVICE.content);
        assert.deepEqual(calls, ["daemon-reload", "enable --now --quiet x.timer", "enable --now --quiet x.timer"]);
        assert.equal(owedAfterSecond, false, "unchanged files owe nothing");
    });
});
