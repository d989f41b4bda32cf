// The clustering guide's bootstrap invariants, checked on the flags each member would start
// with. etcd finds these mistakes only at start-up, one member at a time; this finds them all
// before anything starts.
import { EtcdFlag, renderMemberFlags } from "./flags";
import { ClusterSpec } from "./model";
import { ConfigProblem } from "./problems";

function flagValue(flags: readonly EtcdFlag[], name: string): string | undefined {
    return flags.find((flag) => flag.name === name)?.value;
}

function urlSet(list: string): string {
    return list
        .split(",")
        .map((url) => url.trim())
        .filter((url) => url !== "")
        .sort()
        .join(",");
}

/** `a=u1,a=u2,b=u3` -> {a: "u1,u2", b: "u3"} (a member may list several peer URLs). */
function parseInitialCluster(value: string): Map<string, string[]> {
    const entries = new Map<string, string[]>();
    for (const part of value.split(",")) {
        const eq = part.indexOf("=");
        if (eq > 0) {
            const name = part.slice(0, eq).trim();
            entries.set(name, [...(entries.get(name) ?? []), part.slice(eq + 1).trim()]);
        }
    }
    return entries;
}

function checkStaticMember(member: string, flags: readonly EtcdFlag[], where: string, problems: ConfigProblem[]): void {
    const initial = flagValue(flags, "initial-cluster") ?? "";
    const entries = parseInitialCluster(initial);
    const listed = entries.get(member);
    if (!listed) {
        problems.push({
            setting: `${where}.initial-cluster`,
            value: initial,
            problem: `member "${member}" is not listed; etcd would exit with: couldn't find local name "${member}" in the initial cluster configuration`,
            fix: `add ${member}=<its peer URL> to --initial-cluster on every member`,
        });
        return;
    }
    const advertised = flagValue(flags, "initial-advertise-peer-urls") ?? "";
    if (urlSet(listed.join(",")) !== urlSet(advertised)) {
        problems.push({
            setting: `${where}.initial-advertise-peer-urls`,
            value: advertised,
            problem: `--initial-cluster lists ${member}=${listed.join(",")} but the member advertises ${advertised}; etcd would exit with a URL mismatch`,
            fix: `make ${member}'s --initial-advertise-peer-urls and its --initial-cluster entry the same URLs`,
        });
    }
}

/** Problems in the flags the members of `spec` would start with (empty when it can bootstrap). */
export function checkBootstrapPlan(spec: ClusterSpec): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const plans = spec.members.map((member) => ({ member, flags: renderMemberFlags(spec, member) }));

    const names = plans.map(({ flags }) => flagValue(flags, "name") ?? "");
    const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
    if (duplicates.length > 0) {
        problems.push({
            setting: "members[].name",
            value: names,
            problem: `member names repeat (${[...new Set(duplicates)].join(", ")})`,
            fix: "give every member its own name",
        });
    }

    const tokens = new Set(plans.map(({ flags }) => flagValue(flags, "initial-cluster-token")));
    if (tokens.size > 1) {
        problems.push({
            setting: "members[].initial-cluster-token",
            value: [...tokens],
            problem: "members disagree on the cluster token; they would form different clusters",
            fix: "use one token for every member of the cluster",
        });
    }

    plans.forEach(({ flags }, i) => {
        const where = `members[${i}]`;
        const name = flagValue(flags, "name") ?? "";
        if (flagValue(flags, "initial-cluster") !== undefined) {
            checkStaticMember(name, flags, where, problems);
        }
    });

    const initialClusters = new Set(
        plans.map(({ flags }) => flagValue(flags, "initial-cluster")).filter((v) => v !== undefined),
    );
    if (initialClusters.size > 1) {
        problems.push({
            setting: "members[].initial-cluster",
            value: [...initialClusters],
            problem: "members start with different --initial-cluster lists",
            fix: "give every member the same --initial-cluster",
        });
    }
    for (const initial of initialClusters) {
        const listedNames = [...parseInitialCluster(initial ?? "").keys()];
        const strangers = listedNames.filter((name) => !names.includes(name));
        if (strangers.length > 0) {
            problems.push({
                setting: "members[].initial-cluster",
                value: initial,
                problem: `lists ${strangers.join(", ")}, which no member is; the cluster would wait for them and may never reach quorum`,
                fix: "list exactly the members that start",
            });
        }
    }

    if (spec.mode === "discovery" && spec.discovery && spec.members.length > spec.discovery.size) {
        problems.push({
            setting: "discovery.size",
            value: spec.discovery.size,
            problem: `${spec.members.length} members on a token of size ${spec.discovery.size}; the extra ones would fail with "discovery: cluster is full"`,
            fix: `use a token of size ${spec.members.length}`,
        });
    }
    if (spec.mode === "discovery" && spec.discovery && spec.members.length < spec.discovery.size) {
        problems.push({
            setting: "discovery.size",
            value: spec.discovery.size,
            problem: `${spec.members.length} members on a token of size ${spec.discovery.size}; they would wait for ${spec.discovery.size} registrations and never finish bootstrapping`,
            fix: `use a token of size ${spec.members.length}`,
        });
    }
    return problems;
}
