import { strict as assert } from "assert";
import {
    GraphResource,
    graphShape,
    operationGraph,
    oneMemberAfterAnother,
    resourceKey,
} from "../../bench/critical-path";

const INSTANCE = "aws:Instance";
const COMMAND = "cmd:Command";
const isComponent = (type: string) => type.startsWith("pkg:");

function resource(
    type: string,
    name: string,
    dependencies: string[] = [],
    parent?: { type: string; name: string },
): GraphResource {
    return {
        type,
        name,
        parent: parent?.name ?? "",
        parentType: parent?.type ?? "",
        dependencies: new Set(dependencies),
    };
}

/**
 * A small cluster like the package's: a security group, then per member a component holding
 * instance and install (the component shares the instance's name), a launch that needs every
 * member's address, and a health gate after all launches.
 */
function clusterGraph(count: number): GraphResource[] {
    const cluster = { type: "pkg:Cluster", name: "c" };
    const names = Array.from({ length: count }, (_, i) => `c-${i}`);
    return [
        resource(cluster.type, cluster.name),
        resource("aws:SecurityGroup", "sg", [], cluster),
        ...names.flatMap((name) => {
            const member = { type: "pkg:Member", name };
            return [
                resource(member.type, name, [], cluster),
                resource(INSTANCE, name, ["sg"], member),
                resource(COMMAND, `${name}-install`, [name], member),
                resource(COMMAND, `${name}-launch`, [`${name}-install`, ...names], cluster),
            ];
        }),
        resource(
            COMMAND,
            "health",
            names.map((name) => `${name}-launch`),
            cluster,
        ),
    ];
}

function memberEnds(count: number) {
    return Array.from({ length: count }, (_, i) => ({
        instance: resourceKey(INSTANCE, `c-${i}`),
        launch: resourceKey(COMMAND, `c-${i}-launch`),
    }));
}

describe("bench/critical-path", () => {
    it("finds the longest chain of operations and the widest step of a graph whose members run side by side", () => {
        const shape = graphShape(operationGraph(clusterGraph(3), isComponent));
        assert.deepEqual(shape, {
            operations: 1 + 3 * 3 + 1,
            chainLength: 5,
            chain: ["sg", "c-0", "c-0-install", "c-0-launch", "health"],
            widestStep: { step: 2, width: 3, names: ["c-0", "c-1", "c-2"] },
        });
    });

    it("keeps the chain length whatever the member count", () => {
        assert.deepEqual(
            [1, 2, 5].map((count) => graphShape(operationGraph(clusterGraph(count), isComponent)).chainLength),
            [5, 5, 5],
        );
    });

    it("takes a dependency on a component as one on every operation below it, and a shared name as the custom resource's", () => {
        const zone = { type: "pkg:Dns", name: "dns" };
        const graph = operationGraph(
            [
                ...clusterGraph(1),
                resource(zone.type, zone.name),
                resource("aws:Record", "dns-a", ["c-0"], zone),
                resource("aws:Record", "dns-srv", ["dns-a"], zone),
                resource(COMMAND, "report", ["dns"]),
            ],
            isComponent,
        );
        assert.deepEqual(graph.get(resourceKey(COMMAND, "report"))?.dependsOn, [
            resourceKey("aws:Record", "dns-a"),
            resourceKey("aws:Record", "dns-srv"),
        ]);
        assert.deepEqual(graph.get(resourceKey("aws:Record", "dns-a"))?.dependsOn, [resourceKey(INSTANCE, "c-0")]);
        assert.equal(graph.has(resourceKey("pkg:Member", "c-0")), false);
    });

    it("chains members one after another in the naive graph, so its chain grows by a member's operations per member", () => {
        const naive = (count: number) =>
            graphShape(oneMemberAfterAnother(operationGraph(clusterGraph(count), isComponent), memberEnds(count)));
        assert.deepEqual(naive(2).chain, [
            "sg",
            "c-0",
            "c-0-install",
            "c-0-launch",
            "c-1",
            "c-1-install",
            "c-1-launch",
            "health",
        ]);
        assert.deepEqual(
            [1, 2, 3].map((count) => naive(count).chainLength),
            [5, 8, 11],
        );
        assert.deepEqual(naive(3).widestStep, { step: 1, width: 1, names: ["sg"] });
    });

    it("refuses a graph with a cycle, naming it", () => {
        const graph = operationGraph([resource(COMMAND, "a", ["b"]), resource(COMMAND, "b", ["a"])], isComponent);
        assert.throws(() => graphShape(graph), /dependency cycle: cmd:Command::a -> cmd:Command::b -> cmd:Command::a/);
    });
});
