// The shape of `pulumi up` from a recorded resource graph. The engine starts an operation (creating
// a custom resource) as soon as everything it depends on is done; counting each operation as one
// step, the longest chain of dependent operations is the number of steps a deployment needs, and
// the widest step is how many operations can run at once. Pure: plain data in, plain data out.

/** A registered resource, as plan/mock-engine.ts records it (the fields read here). */
export interface GraphResource {
    readonly type: string;
    readonly name: string;
    /** Name and type of the parent ("" for none). */
    readonly parent: string;
    readonly parentType: string;
    /** Names of the resources it depends on. */
    readonly dependencies: ReadonlySet<string>;
}

/** A custom resource the engine creates, and the operations it waits for. */
export interface Operation {
    readonly key: string;
    readonly name: string;
    readonly type: string;
    readonly dependsOn: readonly string[];
}

/** Operations by key, in registration order. */
export type OperationGraph = ReadonlyMap<string, Operation>;

export interface GraphShape {
    readonly operations: number;
    /** Operations on the longest chain (every operation one step). */
    readonly chainLength: number;
    /** Names on that chain, first to last. */
    readonly chain: readonly string[];
    /** Most operations that can run at once: at which step (1-based), how many, which. */
    readonly widestStep: { readonly step: number; readonly width: number; readonly names: readonly string[] };
}

/** A member's first and last operation: what a one-after-another deployment chains together. */
export interface MemberEnds {
    readonly instance: string;
    readonly launch: string;
}

/** Type and name identify a resource: a component and its instance may share a name. */
export function resourceKey(type: string, name: string): string {
    return `${type}::${name}`;
}

function childrenByParent(resources: readonly GraphResource[]): Map<string, GraphResource[]> {
    const children = new Map<string, GraphResource[]>();
    for (const resource of resources.filter((r) => r.parent !== "")) {
        const parent = resourceKey(resource.parentType, resource.parent);
        children.set(parent, [...(children.get(parent) ?? []), resource]);
    }
    return children;
}

/**
 * The operations of a recorded graph. Components are not operations: a dependency on one stands
 * for every custom resource below it. A dependency name shared by a custom resource and a
 * component means the custom resource (the SDK sends custom resources' URNs, components expanded).
 */
export function operationGraph(
    resources: readonly GraphResource[],
    isComponent: (type: string) => boolean,
): OperationGraph {
    const children = childrenByParent(resources);
    const customByName = new Map(
        resources.filter((r) => !isComponent(r.type)).map((r) => [r.name, resourceKey(r.type, r.name)]),
    );
    const componentsByName = new Map(resources.filter((r) => isComponent(r.type)).map((r) => [r.name, r]));
    const operationsBelow = (component: GraphResource): string[] =>
        (children.get(resourceKey(component.type, component.name)) ?? []).flatMap((child) =>
            isComponent(child.type) ? operationsBelow(child) : [resourceKey(child.type, child.name)],
        );
    const resolve = (name: string): string[] => {
        const custom = customByName.get(name);
        if (custom !== undefined) {
            return [custom];
        }
        const component = componentsByName.get(name);
        if (component === undefined) {
            throw new Error(`dependency on ${name}, which was not registered`);
        }
        return operationsBelow(component);
    };
    const operations = resources
        .filter((r) => !isComponent(r.type))
        .map((r): Operation => ({
            key: resourceKey(r.type, r.name),
            name: r.name,
            type: r.type,
            dependsOn: [...new Set([...r.dependencies].flatMap(resolve))],
        }));
    return new Map(operations.map((operation) => [operation.key, operation]));
}

/** Operations in an order where each comes after what it depends on; throws on a cycle. */
function topologicalOrder(graph: OperationGraph): Operation[] {
    const state = new Map<string, "visiting" | "done">();
    const order: Operation[] = [];
    const visit = (key: string, path: readonly string[]): void => {
        if (state.get(key) === "done") {
            return;
        }
        if (state.get(key) === "visiting") {
            throw new Error(`dependency cycle: ${[...path.slice(path.indexOf(key)), key].join(" -> ")}`);
        }
        const operation = graph.get(key);
        if (!operation) {
            throw new Error(`dependency on ${key}, which is not an operation of the graph`);
        }
        state.set(key, "visiting");
        operation.dependsOn.forEach((dependency) => visit(dependency, [...path, key]));
        state.set(key, "done");
        order.push(operation);
    };
    [...graph.keys()].forEach((key) => visit(key, []));
    return order;
}

/**
 * Step of each operation when everything starts as early as it can (1 for no dependencies), and
 * the dependency that held it back longest (the first registered among equals).
 */
function earliestSteps(graph: OperationGraph): { step: Map<string, number>; heldBy: Map<string, string> } {
    const step = new Map<string, number>();
    const heldBy = new Map<string, string>();
    for (const operation of topologicalOrder(graph)) {
        let latest: string | undefined;
        for (const dependency of operation.dependsOn) {
            if (latest === undefined || (step.get(dependency) as number) > (step.get(latest) as number)) {
                latest = dependency;
            }
        }
        step.set(operation.key, latest === undefined ? 1 : (step.get(latest) as number) + 1);
        if (latest !== undefined) {
            heldBy.set(operation.key, latest);
        }
    }
    return { step, heldBy };
}

export function graphShape(graph: OperationGraph): GraphShape {
    const { step, heldBy } = earliestSteps(graph);
    // The chain ends at the first operation with the latest step and follows what held each back.
    let last: string | undefined;
    for (const key of graph.keys()) {
        if (last === undefined || (step.get(key) as number) > (step.get(last) as number)) {
            last = key;
        }
    }
    const chain: string[] = [];
    for (let key = last; key !== undefined; key = heldBy.get(key)) {
        chain.unshift((graph.get(key) as Operation).name);
    }
    const atStep = new Map<number, string[]>();
    step.forEach((s, key) => atStep.set(s, [...(atStep.get(s) ?? []), (graph.get(key) as Operation).name]));
    // The earliest of the widest steps.
    const [widest, names] = [...atStep].reduce((best, entry) =>
        entry[1].length > best[1].length || (entry[1].length === best[1].length && entry[0] < best[0]) ? entry : best,
    );
    return {
        operations: graph.size,
        chainLength: chain.length,
        chain,
        widestStep: { step: widest, width: names.length, names },
    };
}

/** For each operation, the members (by index) whose instance it is or waits for, directly or not. */
function membersReached(graph: OperationGraph, members: readonly MemberEnds[]): Map<string, Set<number>> {
    const reached = new Map<string, Set<number>>();
    for (const operation of topologicalOrder(graph)) {
        const own = members.findIndex((member) => member.instance === operation.key);
        reached.set(
            operation.key,
            new Set([
                ...(own >= 0 ? [own] : []),
                ...operation.dependsOn.flatMap((d) => [...(reached.get(d) as Set<number>)]),
            ]),
        );
    }
    return reached;
}

/**
 * The naive deployment of the same resources: member i's instance is created only after member
 * i-1 is launched. Its launch can then know only the members before it (it would join them one at
 * a time), so a launch's dependencies on anything that waits for a later member's instance go.
 */
export function oneMemberAfterAnother(graph: OperationGraph, members: readonly MemberEnds[]): OperationGraph {
    const reached = membersReached(graph, members);
    const waitsForMemberAfter = (index: number, key: string) =>
        [...(reached.get(key) as Set<number>)].some((member) => member > index);
    const serialized = new Map<string, Operation>();
    for (const operation of graph.values()) {
        const index = members.findIndex((member) => member.instance === operation.key);
        const launchOf = members.findIndex((member) => member.launch === operation.key);
        const kept =
            launchOf >= 0
                ? operation.dependsOn.filter((key) => !waitsForMemberAfter(launchOf, key))
                : operation.dependsOn;
        const previous = index > 0 ? members[index - 1] : undefined;
        const previousLaunch = previous ? [previous.launch] : [];
        serialized.set(operation.key, { ...operation, dependsOn: [...kept, ...previousLaunch] });
    }
    return serialized;
}
