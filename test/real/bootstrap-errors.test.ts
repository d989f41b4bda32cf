// The clustering guide's bootstrap mistakes, each shown twice: refused by our checks before
// anything starts, and refused by real etcd started from the same rendered flags.
import * as assert from "assert";
import {
    buildClusterSpec,
    checkBootstrapPlan,
    ClusterSpec,
    formatProblems,
    memberName,
    MemberSpec,
    peerUrl,
    ResolvedSettings,
    validateSettings,
} from "../../core";
import { LocalCluster } from "../../local/cluster";
import {
    addressPlan,
    LOCAL_CONTEXT,
    MEMBER_COUNT,
    prepareScenario,
    resolveScenario,
    scenarioSettings,
} from "../../local/scenario";
import {
    CLUSTER_OPTIONS,
    clusterName,
    exitLog,
    logLine,
    scenarioInput,
    useWorkspace,
    VERSIONS,
    Workspace,
} from "./support";
import { at } from "../helpers/elements";

function escape(text: string): RegExp {
    return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

/**
 * A hand-edit of one member's flags (MemberSpec.flagOverrides, as in the guide's worked
 * examples), and the wording our check and real etcd refuse it with.
 */
interface FlagMistake {
    readonly name: string;
    readonly title: string;
    readonly etcdRefusal: string;
    edit(spec: ClusterSpec, member: MemberSpec): { overrides: Record<string, string>; ours: string; etcd: string };
}

const FLAG_MISTAKES: readonly FlagMistake[] = [
    {
        name: "unlisted",
        title: "a member missing from --initial-cluster",
        etcdRefusal: "couldn't find local name",
        edit: (spec, member) => {
            const others = spec.members.filter((m) => m.name !== member.name);
            const etcd = `couldn't find local name "${member.name}" in the initial cluster configuration`;
            // Our check quotes etcd's own wording.
            return {
                overrides: { "initial-cluster": others.map((m) => `${m.name}=${peerUrl(spec, m)}`).join(",") },
                ours: etcd,
                etcd,
            };
        },
    },
    {
        name: "mismatch",
        title: "a member advertising another peer URL than --initial-cluster lists",
        etcdRefusal: "its URL mismatch error",
        edit: (spec, member) => {
            const listed = peerUrl(spec, member);
            const advertised = `http://${member.address}:2390`;
            return {
                overrides: { "initial-advertise-peer-urls": advertised },
                ours: `lists ${member.name}=${listed} but the member advertises ${advertised}`,
                etcd: `--initial-cluster has ${member.name}=${listed} but missing from --initial-advertise-peer-urls=${advertised}`,
            };
        },
    },
];

/** A static cluster's validated settings and spec in the workspace. */
function staticPlan(
    workspace: Workspace,
    name: string,
    version: string,
): { settings: ResolvedSettings; spec: ClusterSpec } {
    const settings = resolveScenario({
        ...scenarioInput(workspace, "static", version),
        clusterName: clusterName(name, version),
    });
    return { settings, spec: buildClusterSpec(settings, addressPlan(workspace.subnet).members, "unused") };
}

/** Installs and launches member `index` of `spec` on its own host; returns its log once etcd has exited. */
async function startAlone(
    workspace: Workspace,
    settings: ResolvedSettings,
    spec: ClusterSpec,
    index: number,
): Promise<string> {
    const cluster = LocalCluster.create(workspace.dir, settings, spec, {}, CLUSTER_OPTIONS);
    const target = at(cluster.members, index);
    await cluster.install([target]);
    await cluster.launch([target]);
    return exitLog(target.host);
}

function show(ours: string, etcd: string): void {
    console.log(`      ours: ${ours}\n      etcd: ${etcd}`);
}

for (const version of VERSIONS) {
    describe(`bootstrap mistakes on etcd ${version}, refused by our checks and by real etcd alike`, () => {
        for (const mistake of FLAG_MISTAKES) {
            describe(mistake.title, () => {
                const workspace = useWorkspace(`${mistake.name}-${version}`);

                it(`is refused by checkBootstrapPlan and real etcd exits with ${mistake.etcdRefusal}`, async function () {
                    this.timeout(120_000);
                    const { settings, spec } = staticPlan(workspace(), mistake.name, version);
                    const index = 1;
                    const { overrides, ours, etcd } = mistake.edit(spec, at(spec.members, index));
                    const broken: ClusterSpec = {
                        ...spec,
                        members: spec.members.map((m, i) => (i === index ? { ...m, flagOverrides: overrides } : m)),
                    };

                    const problems = checkBootstrapPlan(broken);
                    assert.match(formatProblems("plan", problems), escape(ours));
                    const log = await startAlone(workspace(), settings, broken, index);
                    const refusal = logLine(log, escape(etcd));
                    assert.ok(refusal, log);
                    show(at(problems, 0).problem, refusal);
                });
            });
        }

        describe("a 4th member on a discovery token of size 3", () => {
            const workspace = useWorkspace(`full-${version}`);

            it("is refused by validateSettings (memberCount over discovery.size) and real etcd exits with discovery: cluster is full", async function () {
                this.timeout(240_000);
                const input = {
                    ...scenarioInput(workspace(), "discovery", version),
                    clusterName: clusterName("full", version),
                };
                const cluster = await prepareScenario(input, CLUSTER_OPTIONS);
                await cluster.bringUp();
                const fourth = cluster.extraMember({
                    name: memberName(cluster.spec.clusterName, MEMBER_COUNT),
                    address: addressPlan(workspace().subnet).extraMember,
                });
                await cluster.install([fourth]);
                // Started as the guide's members are (its rendered flags, no launch script: that one
                // would add the member by runtime reconfiguration instead of using the full token).
                await cluster.startWithRenderedFlags([fourth]);
                const log = await exitLog(fourth.host);
                const refusal = logLine(log, /discovery: cluster is full/);
                assert.ok(refusal, log);

                // The same discovery (v2 serviceUrl up to 3.5, v3 endpoints from 3.6) for 5 members.
                const { serviceUrl, endpoints } = cluster.settings.discovery ?? {};
                const discovery = { serviceUrl, endpoints: endpoints && [...endpoints], size: MEMBER_COUNT };
                const oversized = { ...scenarioSettings(input, discovery), memberCount: 5 };
                const { problems, resolved } = validateSettings(input.clusterName, oversized, LOCAL_CONTEXT);
                assert.equal(resolved, undefined);
                assert.match(
                    formatProblems(`etcd cluster "${input.clusterName}"`, problems),
                    /member 4 on would fail with "discovery: cluster is full"/,
                );
                show(at(problems, 0).problem, refusal);
            });
        });
    });
}
