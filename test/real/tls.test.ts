// Issue 5's TLS on real etcd 3.4 to 3.7 (support.ts VERSIONS): certificates made with openssl in the roles of
// components/etcd-pki.ts and with the SANs core computes, written by the launch scripts (their
// files argument, at PKI_FILES) as the component does; static and DNS SRV bootstrap, client
// certificate checks, file modes and etcd authentication on every release; a rotation under a
// writer and a grow to five and back on 3.5 and 3.6.
import * as assert from "assert";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ClusterSpec, HOST_PATHS, peerUrl, PKI_FILES } from "../../core";
import { LAUNCH_TIMEOUT_MS, LocalCluster } from "../../local/cluster";
import { LocalHost } from "../../local/host";
import {
    fingerprint,
    issueClientCertificate,
    issueClusterPki,
    KeyPair,
    launchFiles,
    renewMemberCertificates,
    servedCertificate,
    ClusterPki,
} from "../../local/pki";
import { run, RunResult } from "../../local/process";
import { prepareScenario, reshapeScenario, ScenarioInput } from "../../local/scenario";
import { describeOutcome, recordChange } from "./change-report";
import { CLUSTER_OPTIONS, clusterName, LOCAL_STACK_VERSIONS, scenarioInput, useWorkspace, VERSIONS } from "./support";
import { assertOneAtATime, restartWindows } from "./restarts";
import { recordTiming } from "./timings";
import { localClient, readBack, writeThrough } from "./writes";
import { at } from "../helpers/elements";

const MODES = ["static", "dns"] as const;

/** The release the least-privilege checks run on (the others run the auth script and the app certificate's read). */
const LEAST_PRIVILEGE_VERSION = "3.6.16";

/** Client URLs by address: the test runs outside the hosts, where the DNS names do not resolve (the IP is a SAN). */
function addressEndpoints(spec: ClusterSpec): string[] {
    return spec.members.map((member) => `https://${member.address}:${spec.ports.client}`);
}

/** etcdctl's TLS flags: always the CA; a client certificate when given. */
function tlsFlags(pki: ClusterPki, client?: KeyPair): string[] {
    return [`--cacert=${pki.ca.certFile}`, ...(client ? [`--cert=${client.certFile}`, `--key=${client.keyFile}`] : [])];
}

/** etcdctl of the release, from this machine (outside the hosts), against the first member. */
function etcdctl(
    version: string,
    spec: ClusterSpec,
    flags: readonly string[],
    args: readonly string[],
): Promise<RunResult> {
    const { etcdctl: binary } = localClient(version);
    const argv = [
        binary,
        `--endpoints=${addressEndpoints(spec)[0]}`,
        "--dial-timeout=2s",
        "--command-timeout=4s",
        ...flags,
        ...args,
    ];
    return run(argv, { timeoutMs: 15_000, env: { ETCDCTL_API: "3" } });
}

/** etcdctl's verdict: its "Error: ..." line, or OK. */
function verdict(result: RunResult): string {
    return result.code === 0
        ? "OK"
        : (`${result.stderr}${result.stdout}`.split("\n").find((line) => line.startsWith("Error:")) ??
              `exit ${result.code}`);
}

/** The uid of the host's etcd user, from its own /etc/passwd. */
function etcdUid(host: LocalHost): number {
    const line = fs
        .readFileSync(host.hostPath("/etc/passwd"), "utf8")
        .split("\n")
        .find((entry) => entry.startsWith("etcd:"));
    return Number(line?.split(":")[2]);
}

for (const version of VERSIONS) {
    for (const mode of MODES) {
        describe(`mutual TLS on etcd ${version}, ${mode} bootstrap: openssl certificates with core's SANs, written by the launch scripts`, () => {
            const workspace = useWorkspace(`tls-${mode}-${version}`);
            let cluster: LocalCluster;
            let pki: ClusterPki;
            let input: ScenarioInput;

            before(async function () {
                this.timeout(240_000);
                input = {
                    ...scenarioInput(workspace(), mode, version),
                    clusterName: clusterName(`tls-${mode}`, version),
                    tls: true,
                };
                const bare = await prepareScenario(input, CLUSTER_OPTIONS);
                pki = issueClusterPki(path.join(workspace().dir, "pki"), bare.spec);
                cluster = bare.withFiles(launchFiles(pki));
                recordTiming(`${mode} with TLS`, version, await cluster.bringUp());
            });

            afterEach(function () {
                if (this.currentTest?.state === "failed") {
                    console.log(cluster.logs());
                }
            });

            it("forms a healthy cluster advertising https URLs; a client with the CA and the client certificate writes and reads", async function () {
                this.timeout(60_000);
                (await cluster.endpointHealth()).forEach((line) => assert.match(line, /https:\/\/\S+ is healthy/));
                assert.deepStrictEqual(await cluster.memberList(), cluster.expectedMemberList());
                const client = tlsFlags(pki, pki.root);
                assert.strictEqual(
                    verdict(await etcdctl(version, cluster.spec, client, ["put", "tls/key", "over-tls"])),
                    "OK",
                );
                assert.match(
                    (await etcdctl(version, cluster.spec, client, ["get", "tls/key", "--print-value-only"])).stdout,
                    /^over-tls$/m,
                );
            });

            it("answers a member's first-creation question: with its peer certificate over HTTP/1.1 (HTTP/2 is broken off), GET /members on another member's peer port lists every member as started", async function () {
                this.timeout(60_000);
                const asking = at(cluster.members, 0);
                const asked = at(cluster.members, 1);
                const url = `${peerUrl(cluster.spec, asked.member)}/members`;
                const answer = await asking.host.exec(
                    [
                        "curl",
                        "-fsS",
                        "--http1.1",
                        "--max-time",
                        "5",
                        "--cacert",
                        PKI_FILES.ca,
                        "--cert",
                        PKI_FILES.peerCert,
                        "--key",
                        PKI_FILES.peerKey,
                        url,
                    ],
                    { timeoutMs: 10_000 },
                );
                assert.strictEqual(answer.code, 0, answer.stderr);
                const members = JSON.parse(answer.stdout) as {
                    name: string;
                    peerURLs: string[];
                    clientURLs?: string[];
                }[];
                assert.deepStrictEqual(
                    members.map((m) => [m.name, m.peerURLs, (m.clientURLs ?? []).length > 0]).sort(),
                    cluster.spec.members.map((m) => [m.name, [peerUrl(cluster.spec, m)], true]).sort(),
                );
            });

            it("refuses a client that has the CA but no certificate (etcd logs: client didn't provide a certificate)", async function () {
                this.timeout(60_000);
                const refused = await etcdctl(version, cluster.spec, tlsFlags(pki), ["get", "tls/key"]);
                assert.notStrictEqual(refused.code, 0);
                const log = at(cluster.members, 0).host.etcdLog(200);
                const rejection = log
                    .split("\n")
                    .find(
                        (line) => line.includes("rejected connection") && line.includes("didn't provide a certificate"),
                    );
                assert.ok(rejection, log);
                console.log(`      etcdctl: ${verdict(refused)}; etcd: ${JSON.parse(rejection).error}`);
            });

            it("keeps the private keys 0600 and the certificates 0644, all owned by the etcd user", () => {
                for (const { host } of cluster.members) {
                    const uid = etcdUid(host);
                    for (const [file, mode] of Object.values(PKI_FILES).map(
                        (f) => [f, f.endsWith(".key") ? 0o600 : 0o644] as const,
                    )) {
                        const stat = fs.statSync(host.hostPath(file));
                        assert.strictEqual(
                            stat.mode & 0o777,
                            mode,
                            `${host.name}:${file} mode ${(stat.mode & 0o777).toString(8)}`,
                        );
                        assert.strictEqual(stat.uid, uid, `${host.name}:${file} owner`);
                    }
                }
            });

            if (mode !== "static") {
                return;
            }

            // The rotation and the grow to five and back (about 85 s per release here) are changes: they run on the
            // representative pair (support.ts LOCAL_STACK_VERSIONS, where the local stack runs both through pulumi up
            // too); the TLS bootstrap, certificate and authentication checks run on every release.
            if ((LOCAL_STACK_VERSIONS as readonly string[]).includes(version)) {
                it("rotates to new member certificates from the same CA by running every launch update at once: one restart at a time, no failed write, each member serves its new certificates", async function () {
                    this.timeout(240_000);
                    const renewed = renewMemberCertificates(
                        pki,
                        path.join(workspace().dir, "pki", "renewed"),
                        cluster.spec,
                    );
                    const rotated = cluster.withFiles(launchFiles(renewed));
                    const since = Date.now();
                    const client = localClient(version, tlsFlags(pki, pki.root));
                    const prefix = "tls/rotation";
                    const { report, result } = await writeThrough(client, addressEndpoints(cluster.spec), prefix, () =>
                        rotated.launch(rotated.members, "update"),
                    );
                    cluster = rotated;
                    pki = renewed;
                    result.forEach((launch) => assert.match(launch.stderr, /configuration changed: restarting etcd/));
                    assertOneAtATime(restartWindows(cluster.members, since), cluster.members.length);
                    for (const { member } of cluster.members) {
                        const issued = renewed.members.get(member.name);
                        assert.strictEqual(
                            await servedCertificate(member.address, cluster.spec.ports.client, pki.ca, pki.root),
                            fingerprint(issued?.serverCertPem ?? ""),
                        );
                        assert.strictEqual(
                            await servedCertificate(member.address, cluster.spec.ports.peer, pki.ca, pki.root),
                            fingerprint(issued?.peerCertPem ?? ""),
                        );
                    }
                    await cluster.healthGate();
                    const outcome = recordChange(
                        "TLS certificate rotation",
                        version,
                        report,
                        await readBack(cluster, prefix, report.written),
                    );
                    console.log(`      rotation: ${describeOutcome(outcome)}`);
                    assert.strictEqual(report.failed.length, 0, JSON.stringify(report.failed));
                });

                it("grows to five members and back over TLS: each new member's first launch (--bootstrap) asks the others' peer ports with its peer certificate, sees the running cluster, joins as a learner and is promoted; their leave scripts remove them", async function () {
                    this.timeout(3 * LAUNCH_TIMEOUT_MS + 120_000);
                    const reshaped = reshapeScenario(cluster, input, { memberCount: 5 });
                    const spec = reshaped.spec;
                    // The three members keep their certificates; the new ones get theirs from the same CA.
                    const issued = renewMemberCertificates(pki, path.join(workspace().dir, "pki", "grown"), spec);
                    const grownPki = { ...pki, members: new Map([...issued.members, ...pki.members]) };
                    const three = cluster;
                    const five = reshaped.withFiles(launchFiles(grownPki));
                    const added = five.members.slice(3);
                    await five.install(added);
                    const [created] = await Promise.all([
                        five.launch(added, "create"),
                        five.launch(five.members.slice(0, 3), "update"),
                    ]);
                    cluster = five;
                    await five.healthGate();
                    for (const { stderr } of created) {
                        assert.match(stderr, /no local data and the cluster is running: joining it/);
                        assert.doesNotMatch(stderr, /forming the cluster/);
                        assert.match(stderr, /promoted \S+ \([0-9a-f]+\) to voting member/);
                    }
                    assert.deepStrictEqual(
                        (await five.memberIds()).map((m) => [m.name, m.learner]),
                        spec.members.map((m) => [m.name, false]),
                    );
                    for (const { stderr } of await five.leave(added)) {
                        assert.match(stderr, /removed \S+ \([0-9a-f]+\) from the cluster/);
                    }
                    cluster = three.withFiles(launchFiles(grownPki));
                    pki = grownPki;
                    await cluster.launch(cluster.members, "update");
                    await cluster.healthGate();
                    assert.deepStrictEqual(
                        (await cluster.memberIds()).map((m) => [m.name, m.learner]),
                        three.spec.members.map((m) => [m.name, false]),
                    );
                });
            }

            it("enables authentication with core's auth script: no certificate is refused even with the password; a certificate naming no user needs the root password; the root client certificate and the application certificate (user app, every key by default) still work; the script runs again", async function () {
                this.timeout(120_000);
                const password = randomBytes(16).toString("hex");
                const users = { rootPassword: password, clientUser: "app", clientKeyPrefix: "" };
                assert.match(await cluster.enableAuth(users), /authentication is enabled/);
                const nobody = issueClientCertificate(
                    pki.ca,
                    path.join(workspace().dir, "pki", "clients"),
                    "no-such-user",
                );
                const get = (flags: readonly string[]) =>
                    etcdctl(version, cluster.spec, flags, ["get", "tls/key", "--print-value-only"]).then(verdict);
                const outcomes = {
                    "CA only, no password": await get(tlsFlags(pki)),
                    "CA only, root password": await get([...tlsFlags(pki), `--user=root:${password}`]),
                    "certificate of no user, no password": await get(tlsFlags(pki, nobody)),
                    "certificate of no user, wrong password": await get([
                        ...tlsFlags(pki, nobody),
                        "--user=root:wrong",
                    ]),
                    "certificate of no user, root password": await get([
                        ...tlsFlags(pki, nobody),
                        `--user=root:${password}`,
                    ]),
                    "root client certificate (CN root), no password": await get(tlsFlags(pki, pki.root)),
                    "application certificate (CN app), no password": await get(tlsFlags(pki, pki.app)),
                };
                console.log(
                    Object.entries(outcomes)
                        .map(([who, what]) => `      ${who}: ${what}`)
                        .join("\n"),
                );
                assert.deepStrictEqual(
                    Object.values(outcomes).map((what) => what === "OK"),
                    [false, false, false, false, true, true, true],
                );
                assert.match(
                    outcomes["certificate of no user, no password"],
                    /permission denied|user name is empty|user name not found/,
                );
                assert.match(
                    outcomes["certificate of no user, wrong password"],
                    /authentication failed, invalid user ID or password/,
                );
                assert.match(await cluster.enableAuth(users), /authentication is enabled/);
                await cluster.healthGate();
            });

            if (version !== LEAST_PRIVILEGE_VERSION) {
                return;
            }

            it("least privilege with auth on: the application certificate (CN app) reads and writes only under its prefix and is refused root's operations; a member's admin certificate (CN root, on that member only) may do them; the script confines and re-enables", async function () {
                this.timeout(60_000);
                const started = Date.now();
                const users = {
                    rootPassword: randomBytes(16).toString("hex"),
                    clientUser: "app",
                    clientKeyPrefix: "app/",
                };
                assert.match(
                    await cluster.enableAuth(users),
                    /revoked the from-key permission on "" from role app[\s\S]*role app may read and write the keys under app\//,
                );
                const app = (args: readonly string[]) =>
                    etcdctl(version, cluster.spec, tlsFlags(pki, pki.app), args).then(verdict);
                const { host, member } = at(cluster.members, 1);
                const admin = (args: readonly string[]) =>
                    host
                        .exec(
                            [
                                `${HOST_PATHS.binDir}/etcdctl`,
                                `--endpoints=https://${member.address}:${cluster.spec.ports.client}`,
                                `--cacert=${PKI_FILES.ca}`,
                                `--cert=${PKI_FILES.clientCert}`,
                                `--key=${PKI_FILES.clientKey}`,
                                "--command-timeout=4s",
                                ...args,
                            ],
                            { timeoutMs: 15_000 },
                        )
                        .then(verdict);
                const ROOT_ONLY = [
                    ["user", "add", "intruder", "--no-password"],
                    ["role", "grant-permission", "app", "readwrite", "--from-key", ""],
                    ["auth", "disable"],
                ];
                const outcomes: [string, string][] = [
                    ["app: put app/key", await app(["put", "app/key", "confined"])],
                    ["app: get app/key", await app(["get", "app/key", "--print-value-only"])],
                    ["app: put tls/other", await app(["put", "tls/other", "x"])],
                    ["app: get tls/key", await app(["get", "tls/key"])],
                    ["app: member list", await app(["member", "list"])],
                    ...(await Promise.all(
                        ROOT_ONLY.map(async (args): Promise<[string, string]> => [
                            `app: ${args.slice(0, 2).join(" ")}`,
                            await app(args),
                        ]),
                    )),
                    ["admin: get tls/key", await admin(["get", "tls/key"])],
                    ["admin: user add", await admin(at(ROOT_ONLY, 0))],
                    ["admin: user delete", await admin(["user", "delete", "intruder"])],
                    ["admin: auth disable", await admin(["auth", "disable"])],
                ];
                console.log(outcomes.map(([who, what]) => `      ${who}: ${what}`).join("\n"));
                assert.deepStrictEqual(outcomes, [
                    ["app: put app/key", "OK"],
                    ["app: get app/key", "OK"],
                    ["app: put tls/other", "Error: etcdserver: permission denied"],
                    ["app: get tls/key", "Error: etcdserver: permission denied"],
                    ["app: member list", "OK"],
                    ["app: user add", "Error: etcdserver: permission denied"],
                    ["app: role grant-permission", "Error: etcdserver: permission denied"],
                    ["app: auth disable", "Error: etcdserver: permission denied"],
                    ["admin: get tls/key", "OK"],
                    ["admin: user add", "OK"],
                    ["admin: user delete", "OK"],
                    ["admin: auth disable", "OK"],
                ]);
                // Auth was turned off by hand: the script turns it on again, the application confined again.
                assert.match(await cluster.enableAuth(users), /authentication is enabled/);
                assert.strictEqual(await app(["get", "tls/key"]), "Error: etcdserver: permission denied");
                await cluster.healthGate();
                console.log(`      least-privilege checks: ${((Date.now() - started) / 1000).toFixed(1)} s`);
            });
        });
    }
}
