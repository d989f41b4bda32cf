import * as assert from "node:assert/strict";
import { checkBootstrapPlan, ClusterSettings, ClusterSpec, ConfigProblem, MemberSpec } from "../../core";
import { ACCEPTED, specOf } from "./helpers";
import { at } from "../helpers/elements";

const INITIAL = "orders-0=http://10.0.1.10:2380,orders-1=http://10.0.2.10:2380,orders-2=http://10.0.3.10:2380";

/** A static 3-member plain-http cluster whose member i gets `overrides[i]`. */
function withOverrides(...overrides: (Record<string, string> | undefined)[]): ClusterSpec {
    const spec = specOf({ bootstrapMode: "static", tls: false });
    const members: MemberSpec[] = spec.members.map((member, i) =>
        overrides[i] ? { ...member, flagOverrides: overrides[i] } : member,
    );
    return { ...spec, members };
}

describe("core/bootstrap-check", () => {
    describe("clean plans pass", () => {
        for (const { label, settings } of ACCEPTED) {
            it(`${label}: no problems`, () => {
                assert.deepEqual(checkBootstrapPlan(specOf(settings)), []);
            });
        }

        it("a 7-member static cluster with extra flags: no problems", () => {
            assert.deepEqual(
                checkBootstrapPlan(specOf({ memberCount: 7, extraFlags: { "snapshot-count": "10000" } })),
                [],
            );
        });

        it("a member listing several peer URLs that match its advertised ones in another order: no problems", () => {
            const initial = `orders-0=http://10.0.1.99:2380,${INITIAL}`;
            const spec = withOverrides(
                {
                    "initial-advertise-peer-urls": "http://10.0.1.10:2380,http://10.0.1.99:2380",
                    "initial-cluster": initial,
                },
                { "initial-cluster": initial },
                { "initial-cluster": initial },
            );
            assert.deepEqual(checkBootstrapPlan(spec), []);
        });
    });

    describe("each broken invariant gives its specific problem", () => {
        it("a member missing from --initial-cluster (every member agrees on the list)", () => {
            const without1 = "orders-0=http://10.0.1.10:2380,orders-2=http://10.0.3.10:2380";
            const spec = withOverrides(
                { "initial-cluster": without1 },
                { "initial-cluster": without1 },
                { "initial-cluster": without1 },
            );
            assert.deepEqual(checkBootstrapPlan(spec), [
                {
                    setting: "members[1].initial-cluster",
                    value: without1,
                    problem: `member "orders-1" is not listed; etcd would exit with: couldn't find local name "orders-1" in the initial cluster configuration`,
                    fix: "add orders-1=<its peer URL> to --initial-cluster on every member",
                },
            ]);
        });

        it("a member whose --name is not in --initial-cluster", () => {
            const spec = withOverrides(undefined, undefined, { name: "orders-9" });
            const problems = checkBootstrapPlan(spec);
            assert.deepEqual(
                problems.map((p) => [p.setting, p.value]),
                [
                    ["members[2].initial-cluster", INITIAL],
                    ["members[].initial-cluster", INITIAL],
                ],
            );
            assert.ok(
                at(problems, 0).problem.includes(
                    `couldn't find local name "orders-9" in the initial cluster configuration`,
                ),
            );
            assert.equal(
                at(problems, 1).problem,
                "lists orders-2, which no member is; the cluster would wait for them and may never reach quorum",
            );
        });

        it("an advertised peer URL that differs from the member's --initial-cluster entry", () => {
            const spec = withOverrides(undefined, { "initial-advertise-peer-urls": "http://10.0.2.99:2380" });
            assert.deepEqual(checkBootstrapPlan(spec), [
                {
                    setting: "members[1].initial-advertise-peer-urls",
                    value: "http://10.0.2.99:2380",
                    problem:
                        "--initial-cluster lists orders-1=http://10.0.2.10:2380 but the member advertises http://10.0.2.99:2380; etcd would exit with a URL mismatch",
                    fix: "make orders-1's --initial-advertise-peer-urls and its --initial-cluster entry the same URLs",
                },
            ]);
        });

        it("an advertised URL mismatch in scheme only (https advertised, http listed)", () => {
            const spec = withOverrides({ "initial-advertise-peer-urls": "https://10.0.1.10:2380" });
            assert.deepEqual(
                checkBootstrapPlan(spec).map((p) => p.setting),
                ["members[0].initial-advertise-peer-urls"],
            );
        });

        it("members with different --initial-cluster-token values", () => {
            const spec = withOverrides(undefined, undefined, { "initial-cluster-token": "etcd-cluster-2" });
            assert.deepEqual(checkBootstrapPlan(spec), [
                {
                    setting: "members[].initial-cluster-token",
                    value: ["shop-prod-orders", "etcd-cluster-2"],
                    problem: "members disagree on the cluster token; they would form different clusters",
                    fix: "use one token for every member of the cluster",
                },
            ]);
        });

        it("members with different --initial-cluster lists", () => {
            const reordered =
                "orders-2=http://10.0.3.10:2380,orders-0=http://10.0.1.10:2380,orders-1=http://10.0.2.10:2380";
            const spec = withOverrides({ "initial-cluster": reordered });
            assert.deepEqual(checkBootstrapPlan(spec), [
                {
                    setting: "members[].initial-cluster",
                    value: [reordered, INITIAL],
                    problem: "members start with different --initial-cluster lists",
                    fix: "give every member the same --initial-cluster",
                },
            ]);
        });

        it("an --initial-cluster that lists a member that never starts", () => {
            const withStranger = `${INITIAL},orders-3=http://10.0.1.11:2380`;
            const spec = withOverrides(
                { "initial-cluster": withStranger },
                { "initial-cluster": withStranger },
                { "initial-cluster": withStranger },
            );
            assert.deepEqual(checkBootstrapPlan(spec), [
                {
                    setting: "members[].initial-cluster",
                    value: withStranger,
                    problem:
                        "lists orders-3, which no member is; the cluster would wait for them and may never reach quorum",
                    fix: "list exactly the members that start",
                },
            ]);
        });

        it("two members with the same name", () => {
            const spec = withOverrides(undefined, {
                name: "orders-0",
                "initial-advertise-peer-urls": "http://10.0.1.10:2380",
            });
            const problems = checkBootstrapPlan(spec);
            assert.deepEqual(problems[0], {
                setting: "members[].name",
                value: ["orders-0", "orders-0", "orders-2"],
                problem: "member names repeat (orders-0)",
                fix: "give every member its own name",
            });
        });

        /** The plan's problems when the discovery token of a cluster from `settings` has `size`. */
        function withTokenSize(settings: ClusterSettings, size: number): ConfigProblem[] {
            const spec = specOf({ bootstrapMode: "discovery", ...settings });
            assert.ok(spec.discovery);
            return checkBootstrapPlan({ ...spec, discovery: { ...spec.discovery, size } });
        }

        it("more members than the discovery token's size", () => {
            assert.deepEqual(withTokenSize({ memberCount: 5, discovery: { endpoints: ["http://10.0.0.5:2379"] } }, 3), [
                {
                    setting: "discovery.size",
                    value: 3,
                    problem:
                        '5 members on a token of size 3; the extra ones would fail with "discovery: cluster is full"',
                    fix: "use a token of size 5",
                },
            ]);
        });

        it("fewer members than the discovery token's size (they would wait forever)", () => {
            assert.deepEqual(
                withTokenSize(
                    { etcdVersion: "3.5.33", discovery: { serviceUrl: "http://10.0.0.5:2379/v2/keys/reg" } },
                    5,
                ),
                [
                    {
                        setting: "discovery.size",
                        value: 5,
                        problem:
                            "3 members on a token of size 5; they would wait for 5 registrations and never finish bootstrapping",
                        fix: "use a token of size 3",
                    },
                ],
            );
        });
    });
});
