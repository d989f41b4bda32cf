// The baseline for the launch-to-healthy timings: the etcd clustering guide's hand-written static
// commands, on local hosts with this machine's loopback addresses, timed with the same health gate.
import * as assert from "assert";
import { buildClusterSpec } from "../../core";
import { LocalCluster } from "../../local/cluster";
import { startGuideMembers } from "../../local/guide";
import { addressPlan, resolveScenario } from "../../local/scenario";
import { CLUSTER_OPTIONS, scenarioInput, useWorkspace, VERSIONS } from "./support";
import { recordTiming } from "./timings";

for (const version of VERSIONS) {
    describe(`the clustering guide's hand-written static commands on etcd ${version}`, () => {
        const workspace = useWorkspace(`guide-${version}`);

        it("form a healthy cluster infra0-infra2, timed like the rendered scenarios", async function () {
            this.timeout(240_000);
            // The static spec on the same addresses: its hosts get the same binaries, its gate the same endpoints.
            const settings = resolveScenario(scenarioInput(workspace(), "static", version));
            const spec = buildClusterSpec(settings, addressPlan(workspace().subnet).members, "unused");
            const cluster = LocalCluster.create(workspace().dir, settings, spec, {}, CLUSTER_OPTIONS);
            await cluster.install();
            const started = process.hrtime.bigint();
            await startGuideMembers(cluster);
            try {
                await cluster.healthGate();
            } catch (error) {
                throw new Error(`${(error as Error).message}\n${cluster.logs()}`, { cause: error });
            }
            recordTiming("guide static (hand-written)", version, Number(process.hrtime.bigint() - started) / 1e9);
            assert.deepStrictEqual(
                (await cluster.memberList()).map((m) => m.name),
                ["infra0", "infra1", "infra2"],
            );
        });
    });
}
