// The clustering guide's bootstrap mistakes, each shown twice: refused by our checks before
// anything starts, and refused by real etcd started from the same rendered flags.
import * as assert from "assert";
import { buildClusterSpec, checkBootstrapPlan, ClusterConfigError, ClusterSpec, formatProblems, memberName, peerUrl, ResolvedSettings, resolveSettings } from "../../core";
import { LocalCluster } from "../../local/cluster";
import { addressPlan, LOCAL_CONTEXT, MEMBER_COUNT, prepareScenario, resolveScenario, scenarioSettings } from "../../local/scenario";
import { CLUSTER_OPTIONS, clusterName, exitLog, logLine, scenarioInput, useWorkspace, VERSIONS, Workspace } from "./support";

function escape(text: string): RegExp {
    return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

/** The spec with one member's flags hand-edited, as in the guide's worked examples. */
function withOverrides(spec: ClusterSpec, index: number, flagOverrides: Record<string, string>): ClusterSpec {
    return { ...spec, members: spec.members.map((member, i) => (i === index ? { ...member, flagOverrides } : member)) };
}

/** A static cluster's validated settings and spec in the workspace. */
function staticPlan(workspace: Workspace, name: string, version: string): { settings: ResolvedSettings; spec: ClusterSpec } {
    const settings = resolveScenario({ ...scenarioInput(workspace, "static", version), clusterName: clusterName(name, version) });
    return { settings, spec: buildClusterSpec(settings, addressPlan(workspace.subnet).members, "unused") };
}

/** Installs and launches member `index` of `spec` on its own host; returns its log once etcd has exited. */
async function startAlone(workspace: Workspace, settings: ResolvedSettings, spec: ClusterSpec, index: number): Promise<string> {
    const cluster = LocalCluster.create(workspace.dir, settings, spec, {}, CLUSTER_OPTIONS);
    const target = cluster.members[index];
    await cluster.install([target]);
    await cluster.launch([target]);
    return exitLog(target.host);
}

function show(ours: string, etcd: string): void {
    console.log(`      ours: ${ours}\n      etcd: ${etcd}`);
}

for (const version of VERSIONS) {
    describe(`bootstrap mistakes on etcd ${version}, refused by our checks and by real etcd alike`, () => {
        describe("a member missing from --initial-cluster", () => {
            const workspace = useWorkspace(`unlisted-${version}`);

            it("is refused by checkBootstrapPlan and real etcd exits with couldn't find local name", async function () {
                this.timeout(120_000);
                const { settings, spec } = staticPlan(workspace(), "unlisted", version);
                const left = spec.members[1];
                const others = spec.members.filter((member) => member !== left);
                const broken = withOverrides(spec, 1, { "initial-cluster": others.map((m) => `${m.name}=${peerUrl(spec, m)}`).join(",") });

                const etcdWording = escape(`couldn't find local name "${left.name}" in the initial cluster configuration`);
                const problems = checkBootstrapPlan(broken);
                assert.match(formatProblems("plan", problems), etcdWording);
                const log = await startAlone(workspace(), settings, broken, 1);
                const refusal = logLine(log, etcdWording);
                assert.ok(refusal, log);
                show(problems[0].problem, refusal);
            });
        });

        describe("a member advertising another peer URL than --initial-cluster lists", () => {
            const workspace = useWorkspace(`mismatch-${version}`);

            it("is refused by checkBootstrapPlan and real etcd exits with its URL mismatch error", async function () {
                this.timeout(120_000);
                const { settings, spec } = staticPlan(workspace(), "mismatch", version);
                const member = spec.members[1];
                const listed = peerUrl(spec, member);
                const advertised = `http://${member.address}:2390`;
                const broken = withOverrides(spec, 1, { "initial-advertise-peer-urls": advertised });

                const problems = checkBootstrapPlan(broken);
                assert.match(formatProblems("plan", problems), escape(`lists ${member.name}=${listed} but the member advertises ${advertised}`));
                const log = await startAlone(workspace(), settings, broken, 1);
                const refusal = logLine(log, escape(`--initial-cluster has ${member.name}=${listed} but missing from --initial-advertise-peer-urls=${advertised}`));
                assert.ok(refusal, log);
                show(problems[0].problem, refusal);
            });
        });

        describe("a 4th member on a discovery token of size 3", () => {
            const workspace = useWorkspace(`full-${version}`);

            it("is refused by resolveSettings (memberCount over discovery.size) and real etcd exits with discovery: cluster is full", async function () {
                this.timeout(240_000);
                const input = { ...scenarioInput(workspace(), "discovery", version), clusterName: clusterName("full", version) };
                const cluster = await prepareScenario(input, CLUSTER_OPTIONS);
                await cluster.bringUp();
                const fourth = cluster.extraMember({ name: memberName(cluster.spec.clusterName, MEMBER_COUNT), address: addressPlan(workspace().subnet).extraMember });
                await cluster.install([fourth]);
                await cluster.launch([fourth]);
                const log = await exitLog(fourth.host);
                const refusal = logLine(log, /discovery: cluster is full/);
                assert.ok(refusal, log);

                const serviceUrl = cluster.settings.discovery?.serviceUrl;
                const oversized = { ...scenarioSettings(input, { serviceUrl, size: MEMBER_COUNT }), memberCount: 5 };
                assert.throws(() => resolveSettings(input.clusterName, oversized, LOCAL_CONTEXT), (error: unknown) => {
                    assert.ok(error instanceof ClusterConfigError);
                    assert.match(error.message, /member 4 on would fail with "discovery: cluster is full"/);
                    show(error.problems[0].problem, refusal);
                    return true;
                });
            });
        });
    });
}
