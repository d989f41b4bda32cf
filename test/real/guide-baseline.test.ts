// The baseline for the launch-to-healthy timings: the etcd clustering guide's hand-written static
// commands, on local hosts with this machine's loopback addresses, timed with the same health gate.
import * as assert from "assert";
import { buildClusterSpec } from "../../core";
import { LocalCluster } from "../../local/cluster";
import { addressPlan, resolveScenario } from "../../local/scenario";
import { CLUSTER_OPTIONS, scenarioInput, useWorkspace, VERSIONS } from "./support";
import { recordTiming } from "./timings";

/** The guide's command for infra<index>, with `addresses` in place of 10.0.1.10-12. */
function guideCommand(addresses: readonly string[], index: number): string[] {
    const peer = (address: string) => `http://${address}:2380`;
    const address = addresses[index];
    return [
        "etcd",
        "--name", `infra${index}`,
        "--initial-advertise-peer-urls", peer(address),
        "--listen-peer-urls", peer(address),
        // The guide adds http://127.0.0.1:2379; local hosts share one loopback, so it would collide.
        "--listen-client-urls", `http://${address}:2379`,
        "--advertise-client-urls", `http://${address}:2379`,
        "--initial-cluster-token", "etcd-cluster-1",
        "--initial-cluster", addresses.map((a, i) => `infra${i}=${peer(a)}`).join(","),
        "--initial-cluster-state", "new",
    ];
}

// As an operator runs it in a shell, but detached and with its PID recorded where clean-up looks.
// (A simple command after "&", so $! is etcd itself, not a subshell.)
const START_DETACHED = 'cd /var/lib/etcd || exit; setsid "$@" </dev/null >>/var/log/etcd.log 2>&1 & echo "$!" >/run/etcd.pid';

for (const version of VERSIONS) {
    describe(`the clustering guide's hand-written static commands on etcd ${version}`, () => {
        const workspace = useWorkspace(`guide-${version}`);

        it("form a healthy cluster infra0-infra2, timed like the rendered scenarios", async function () {
            this.timeout(240_000);
            const addresses = addressPlan(workspace().subnet).members;
            // The static spec on the same addresses: its hosts get the same binaries, its gate the same endpoints.
            const settings = resolveScenario(scenarioInput(workspace(), "static", version));
            const cluster = LocalCluster.create(workspace().dir, settings, buildClusterSpec(settings, addresses, "unused"), {}, CLUSTER_OPTIONS);
            await cluster.install();
            const started = process.hrtime.bigint();
            await Promise.all(
                cluster.members.map(async ({ host }, index) => {
                    const result = await host.exec(["bash", "-c", START_DETACHED, "start", ...guideCommand(addresses, index)], { timeoutMs: 30_000 });
                    assert.strictEqual(result.code, 0, result.stderr);
                }),
            );
            try {
                await cluster.healthGate();
            } catch (error) {
                throw new Error(`${(error as Error).message}\n${cluster.logs()}`);
            }
            recordTiming("guide static (hand-written)", version, Number(process.hrtime.bigint() - started) / 1e9);
            assert.deepStrictEqual((await cluster.memberList()).map((m) => m.name), ["infra0", "infra1", "infra2"]);
        });
    });
}
