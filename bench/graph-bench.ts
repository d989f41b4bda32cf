// Benchmark 1: the critical path of `pulumi up` from the mocked resource graph, per bootstrap mode
// and member count, next to the same resources deployed one member after another.
import type { EtcdClusterArgs } from "../components";
import { memberName } from "../core";
import {
    GraphShape,
    graphShape,
    MemberEnds,
    oneMemberAfterAnother,
    operationGraph,
    resourceKey,
} from "./critical-path";
import { benchClusterName, runClusters } from "./mock-clusters";

export const MEMBER_COUNTS = [1, 3, 5, 7] as const;

/** Each bootstrap mode with the settings it needs (the default etcd 3.6 has v3 discovery). */
export const MODES: Readonly<Record<string, Partial<EtcdClusterArgs>>> = {
    static: { bootstrapMode: "static" },
    dns: { bootstrapMode: "dns" },
    "discovery v3": { bootstrapMode: "discovery", discovery: { endpoints: ["http://10.9.0.5:2379"] } },
};

/**
 * The chain the target allows: security group (the instance is launched into it), instance, wait
 * for SSH, install, launch, health gate; plus what the mode must publish before any launch.
 */
export const TARGET_CHAIN: Readonly<Record<string, readonly string[]>> = {
    static: ["security group", "instance", "wait", "install", "launch", "health gate"],
    dns: ["security group", "instance", "A record", "SRV record", "launch", "health gate"],
    "discovery v3": ["security group", "instance", "wait", "install", "size registration", "launch", "health gate"],
};

export function targetChain(mode: string): readonly string[] {
    const chain = TARGET_CHAIN[mode];
    if (chain === undefined) {
        throw new Error(`no target chain for bootstrap mode "${mode}"`);
    }
    return chain;
}

export interface GraphRow {
    readonly mode: string;
    readonly members: number;
    readonly ours: GraphShape;
    readonly oneAfterAnother: GraphShape;
}

const isPackageComponent = (type: string) => type.startsWith("etcd-aws:index:");

function memberEnds(cluster: string, count: number): MemberEnds[] {
    return Array.from({ length: count }, (_, i) => ({
        instance: resourceKey("aws:ec2/instance:Instance", memberName(cluster, i)),
        launch: resourceKey("command:remote:Command", `${memberName(cluster, i)}-launch`),
    }));
}

export async function benchGraph(): Promise<GraphRow[]> {
    const rows: GraphRow[] = [];
    for (const [mode, args] of Object.entries(MODES)) {
        for (const members of MEMBER_COUNTS) {
            const { run } = await runClusters({ ...args, memberCount: members }, 1);
            const graph = operationGraph(run.resources, isPackageComponent);
            const naive = oneMemberAfterAnother(graph, memberEnds(benchClusterName(0), members));
            rows.push({ mode, members, ours: graphShape(graph), oneAfterAnother: graphShape(naive) });
        }
    }
    return rows;
}
