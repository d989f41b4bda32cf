import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    ClusterSettings,
    HostFile,
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
import { localStatus, memberList, runWithFakes, STARTED, STARTED_MEMBERS } from "../helpers/launch-fakes";

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
