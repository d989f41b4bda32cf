// Real etcd 3.4 to 3.7 clusters deployed on local hosts from core's rendered artifacts, in every
// bootstrap mode (v2 discovery up to 3.5, v3 discovery from 3.6): they form, list every member
// with its advertised URLs, and serve v3.
import * as assert from "assert";
import * as path from "path";
import { capabilitiesOf, clientUrl, EtcdVersion, parseEtcdVersion, renderDnsRecords } from "../../core";
import { LocalCluster } from "../../local/cluster";
import { localRelease } from "../../local/mirror";
import { runChecked, waitFor } from "../../local/process";
import {
    addressPlan,
    createCluster,
    prepareScenario,
    resolveScenario,
    Scenario,
    SCENARIOS,
} from "../../local/scenario";
import { lookupSrv } from "../../local/services";
import { CLUSTER_OPTIONS, exitLog, logLine, scenarioInput, useWorkspace, VERSIONS } from "./support";
import { recordTiming } from "./timings";
import { at } from "../helpers/elements";

/**
 * etcd 3.4 drops plain-http `_etcd-server._tcp` records, and TLS is not part of this layer yet;
 * 3.7 has no v2 discovery, the only protocol of the public-style service.
 */
function supported(scenario: Scenario, version: string): boolean {
    const caps = capabilitiesOf(localVersion(version));
    return (
        !(scenario === "dns" && !caps.plainHttpSrvBootstrap) && !(scenario === "public-discovery" && !caps.v2Discovery)
    );
}

function localVersion(text: string): EtcdVersion {
    return parseEtcdVersion(text) as EtcdVersion;
}

async function get(cluster: LocalCluster, index: number, key: string): Promise<string> {
    return (await cluster.etcdctl(index, ["get", key, "--print-value-only"])).stdout.trim();
}

/** Watches `key` on member 0 from `fromRevision`, makes `write`, waits (bounded) for `expected`. */
async function watchSees(
    cluster: LocalCluster,
    key: string,
    fromRevision: number,
    write: () => Promise<unknown>,
    expected: string,
): Promise<void> {
    const { host, member } = at(cluster.members, 0);
    const endpoint = clientUrl(cluster.spec, member);
    // --rev: the watch sees the write even if it lands before the watch is established.
    const watcher = host.spawn(["etcdctl", `--endpoints=${endpoint}`, "watch", `--rev=${fromRevision}`, key], {
        ETCDCTL_API: "3",
    });
    let output = "";
    watcher.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
        await write();
        await waitFor(`a watch on ${member.name} to see "${expected}"`, 10_000, () =>
            output.includes(expected) ? true : undefined,
        );
    } finally {
        watcher.kill("SIGTERM");
        await waitFor("the watch to stop", 5_000, () =>
            watcher.exitCode !== null || watcher.signalCode !== null ? true : undefined,
        );
    }
}

/** Every key under `prefix` in the discovery etcd at `endpoint`, with its value (etcdctl's JSON has both in base64). */
async function discoveryKeys(version: string, endpoint: string, prefix: string): Promise<Map<string, string>> {
    const etcdctl = path.join(localRelease(version).binDir, "etcdctl");
    const stdout = await runChecked(
        [etcdctl, `--endpoints=${endpoint}`, "get", "--prefix", prefix, "--write-out=json"],
        { timeoutMs: 15_000 },
    );
    const decode = (text: string) => Buffer.from(text, "base64").toString();
    const { kvs = [] } = JSON.parse(stdout) as { kvs?: { key: string; value: string }[] };
    return new Map(kvs.map((kv) => [decode(kv.key), decode(kv.value)]));
}

async function revision(cluster: LocalCluster, index: number, key: string): Promise<number> {
    const { stdout } = await cluster.etcdctl(index, ["get", key, "--write-out=json"]);
    return Number((JSON.parse(stdout) as { header: { revision: number } }).header.revision);
}

for (const version of VERSIONS) {
    for (const scenario of SCENARIOS.filter((s) => supported(s, version))) {
        describe(`${scenario} bootstrap of etcd ${version} on local hosts`, () => {
            const workspace = useWorkspace(`${scenario}-${version}`);
            let cluster: LocalCluster;

            before(async function () {
                this.timeout(240_000);
                cluster = await prepareScenario(scenarioInput(workspace(), scenario, version), CLUSTER_OPTIONS);
                recordTiming(scenario, version, await cluster.bringUp());
            });

            afterEach(function () {
                if (this.currentTest?.state === "failed") {
                    console.log(cluster.logs());
                }
            });

            it("forms a 3-member cluster whose every endpoint is healthy and whose member list has each name with its advertised peer and client URLs", async () => {
                const health = await cluster.endpointHealth();
                health.forEach((line) => assert.match(line, /is healthy/));
                assert.deepStrictEqual(await cluster.memberList(), cluster.expectedMemberList());
            });

            it("replicates a write to every member, expires a leased key and delivers a watch across members", async function () {
                this.timeout(60_000);
                await cluster.etcdctl(0, ["put", "smoke/key", "written-on-0"]);
                assert.strictEqual(await get(cluster, 1, "smoke/key"), "written-on-0");
                assert.strictEqual(await get(cluster, 2, "smoke/key"), "written-on-0");

                const grant = (await cluster.etcdctl(1, ["lease", "grant", "2"])).stdout;
                const lease = /lease ([0-9a-f]+) granted/.exec(grant)?.[1];
                assert.ok(lease, `no lease id in: ${grant}`);
                await cluster.etcdctl(1, ["put", `--lease=${lease}`, "smoke/leased", "short-lived"]);
                assert.strictEqual(await get(cluster, 2, "smoke/leased"), "short-lived");
                await waitFor("the 2 s lease to expire", 15_000, async () =>
                    (await get(cluster, 2, "smoke/leased")) === "" ? true : undefined,
                );

                const next = (await revision(cluster, 0, "smoke/watched")) + 1;
                await watchSees(
                    cluster,
                    "smoke/watched",
                    next,
                    () => cluster.etcdctl(2, ["put", "smoke/watched", "written-on-2"]),
                    "written-on-2",
                );
            });

            it("changes nothing when the install and launch scripts run again (same etcd processes)", async function () {
                this.timeout(120_000);
                const pids = cluster.members.map(({ host }) => host.etcdPid());
                await cluster.install();
                await cluster.launch(cluster.members, "update");
                assert.deepStrictEqual(
                    cluster.members.map(({ host }) => host.etcdPid()),
                    pids,
                );
                await cluster.healthGate();
            });

            if (scenario === "discovery" && capabilitiesOf(localVersion(version)).v3Discovery) {
                it("bootstrapped through v3 discovery: the discovery etcd holds the registered size 3 and the 3 members under /_etcd/registry/<token>", async () => {
                    const discovery = cluster.spec.discovery;
                    assert.strictEqual(discovery?.protocol, "v3");
                    const registry = `/_etcd/registry/${discovery.token}/`;
                    const keys = await discoveryKeys(version, discovery.endpoints?.[0] ?? "", registry);
                    assert.strictEqual(keys.get(`${registry}_config/size`), "3");
                    assert.strictEqual(
                        [...keys.keys()].filter((key) => key.startsWith(`${registry}members/`)).length,
                        3,
                        [...keys.keys()].join("\n"),
                    );
                });
            }

            if (scenario === "dns") {
                it("serves exactly the rendered server and client SRV records from dnsmasq", async () => {
                    const server = addressPlan(workspace().subnet).dns;
                    for (const set of renderDnsRecords(cluster.spec).srv) {
                        assert.deepStrictEqual(await lookupSrv(server, set.name), [...set.records].sort());
                    }
                });
            }
        });
    }
}

describe("DNS SRV bootstrap of etcd 3.4.23 without TLS (TLS comes in a later issue)", () => {
    const workspace = useWorkspace("dns-3.4.23");

    it("is refused by our validation, and real etcd 3.4 given the plain-http SRV records fails looking for _etcd-server-ssl ones", async function () {
        this.timeout(120_000);
        const input = scenarioInput(workspace(), "dns", "3.4.23");
        assert.throws(
            () => resolveScenario(input),
            (error: unknown) => {
                assert.ok(error instanceof Error);
                assert.match(
                    error.message,
                    /etcd 3\.4\.23 cannot bootstrap from plain-http _etcd-server\._tcp records/,
                );
                console.log(`      our validation: ${error.message}`);
                return true;
            },
        );

        // The same settings validated for 3.5, then retargeted to 3.4 past the check.
        const settings = { ...resolveScenario({ ...input, version: "3.5.16" }), version: localVersion("3.4.23") };
        const cluster = await createCluster(input, settings, CLUSTER_OPTIONS);
        await cluster.install();
        await cluster.launch();
        const log = await exitLog(at(cluster.members, 0).host);
        const refusal = logLine(log, /error querying DNS SRV records for _etcd-server-ssl/);
        assert.ok(refusal, log);
        console.log(`      etcd 3.4.23: ${refusal}`);
    });
});
