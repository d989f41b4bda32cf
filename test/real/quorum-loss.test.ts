// The recovery from quorum loss (host/etcd-aws-force-new-cluster.sh as core/scripts/quorum-recovery.ts renders
// it) on three local hosts per release: while the cluster has quorum it refuses and changes nothing; with two
// of three members and their data gone (no write succeeds), the survivor becomes a one-member cluster with every
// key, a copy of its data kept and no --force-new-cluster left for its next restart; run again it changes
// nothing; the two lost members then come back through their launch (no data, a running cluster: join) and all
// three hold every key.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { clientUrl, PKI_FILES } from "../../core";
import { QUORUM_RECOVERY_PATHS, renderQuorumRecoveryScript } from "../../core/scripts/quorum-recovery";
import { LocalCluster, LocalMember } from "../../local/cluster";
import { RunResult } from "../../local/process";
import { prepareScenario } from "../../local/scenario";
import { CLUSTER_OPTIONS, clusterName, scenarioInput, useWorkspace } from "./support";

const VERSIONS = ["3.5.16", "3.6.16"] as const;
const KEYS = 100;
const PREFIX = "quorum-test/";
const SCRIPT_TIMEOUT_MS = 180_000;

for (const version of VERSIONS) {
    describe(`etcd ${version}: recovery from quorum loss on the one surviving member (three local hosts)`, () => {
        const workspace = useWorkspace(`quorum-loss-${version}`);
        let cluster: LocalCluster;
        let survivor: LocalMember;
        let lost: LocalMember[];

        before(async function () {
            this.timeout(180_000);
            const input = {
                ...scenarioInput(workspace(), "static", version),
                clusterName: clusterName("quorum", version),
            };
            cluster = await prepareScenario(input, CLUSTER_OPTIONS);
            await cluster.bringUp();
            survivor = cluster.member(0);
            lost = [cluster.member(1), cluster.member(2)];
            const endpoint = clientUrl(cluster.spec, survivor.member);
            const written = await survivor.host.runScript(
                `set -euo pipefail\nfor i in $(seq 1 ${KEYS}); do etcdctl --endpoints=${endpoint} put ${PREFIX}k$i v$i >/dev/null; done\n`,
                { timeoutMs: SCRIPT_TIMEOUT_MS, env: tlsEnvironment() },
            );
            assert.equal(written.code, 0, written.stderr);
        });

        afterEach(function () {
            if (this.currentTest?.state === "failed") console.log(cluster.logs(30));
        });

        function tlsEnvironment(): Record<string, string> {
            return cluster.spec.tls
                ? { ETCDCTL_CACERT: PKI_FILES.ca, ETCDCTL_CERT: PKI_FILES.clientCert, ETCDCTL_KEY: PKI_FILES.clientKey }
                : {};
        }

        function recover(): Promise<RunResult> {
            return survivor.host.runScript(
                renderQuorumRecoveryScript(cluster.spec, survivor.member),
                { timeoutMs: SCRIPT_TIMEOUT_MS },
                ["--discard-other-members"],
            );
        }

        /** The values under PREFIX that member `index` holds itself, by key. */
        async function valuesOn(index: number): Promise<Map<string, string>> {
            const { stdout } = await cluster.etcdctl(index, ["get", PREFIX, "--prefix", "--consistency=s"]);
            const lines = stdout.split("\n").filter((line) => line !== "");
            const values = new Map<string, string>();
            for (let i = 0; i + 1 < lines.length; i += 2) values.set(lines[i] as string, lines[i + 1] as string);
            return values;
        }

        function assertEveryKey(values: Map<string, string>, member: string): void {
            assert.equal(values.size, KEYS, `${member} holds ${values.size} of ${KEYS} keys`);
            for (let i = 1; i <= KEYS; i++) assert.equal(values.get(`${PREFIX}k${i}`), `v${i}`, `${member}: k${i}`);
        }

        it("refuses while the cluster has quorum: exit 1 naming the healthy member, etcd and the membership untouched", async function () {
            this.timeout(60_000);
            const result = await recover();
            assert.equal(result.code, 1, result.stderr);
            assert.match(result.stderr, /is healthy: the cluster has quorum; replace the lost members with pulumi up/);
            assert.equal((await cluster.memberList()).length, 3);
            assert.ok(!fs.existsSync(survivor.host.hostPath(QUORUM_RECOVERY_PATHS.dropInFile)));
        });

        it("two members and their data lost (writes fail): the survivor becomes a one-member cluster with every key, a copy of its data kept, no --force-new-cluster left; run again, it changes nothing", async function () {
            this.timeout(SCRIPT_TIMEOUT_MS * 2 + 60_000);
            await cluster.systemctl(lost, "stop");
            for (const { host } of lost) host.wipeEtcdData();
            await assert.rejects(
                cluster.etcdctl(0, ["--command-timeout=3s", "put", `${PREFIX}lost`, "x"]),
                /context deadline exceeded|timed out|no leader/,
            );

            const started = Date.now();
            const result = await recover();
            assert.equal(result.code, 0, `${result.stderr}\n${cluster.logs(30)}`);
            console.log(`      recovered in ${((Date.now() - started) / 1000).toFixed(1)} s`);
            const kept = /is a one-member cluster at revision (\d+)/.exec(result.stderr);
            assert.ok(kept, result.stderr);
            assert.ok(Number(kept[1]) > KEYS, `revision ${kept[1]}`);

            const members = await cluster.memberList();
            assert.deepEqual(
                members.map((m) => m.name),
                [survivor.member.name],
            );
            assertEveryKey(await valuesOn(0), survivor.member.name);
            await cluster.etcdctl(0, ["put", `${PREFIX}after`, "written"]);
            assert.ok(!fs.existsSync(survivor.host.hostPath(QUORUM_RECOVERY_PATHS.dropInFile)), "drop-in removed");
            const copies = fs
                .readdirSync(survivor.host.hostPath("/var/lib/etcd"))
                .filter((entry) => entry.startsWith("data.before-force-new-cluster-"));
            assert.equal(copies.length, 1, copies.join(" "));

            const again = await recover();
            assert.equal(again.code, 0, again.stderr);
            assert.match(again.stderr, /was made a one-member cluster already/);
            await cluster.etcdctl(0, ["del", `${PREFIX}after`]);
        });

        it("the lost members come back through their launch on hosts without data (join), and all three hold every key", async function () {
            this.timeout(300_000);
            await cluster.launch(lost, "update");
            await cluster.healthGate();
            const members = await cluster.memberList();
            assert.deepEqual(
                members.map((m) => m.name),
                cluster.spec.members.map((m) => m.name).sort(),
            );
            for (let index = 0; index < 3; index++) {
                assertEveryKey(await valuesOn(index), cluster.member(index).member.name);
            }
        });
    });
}
