// etcd 0.4's flag names, as the 2.0 migration table maps them. Two map to a flag of the same
// meaning and are renamed; the address flags map to URL flags this package derives per member,
// and -peers/-peers-file carry no member names, so those are refused with their successor named.

export type LegacyFlagCheck =
    { kind: "renamed"; successor: string } | { kind: "refused"; problem: string; fix: string };

const RENAMED: Readonly<Record<string, string>> = {
    "peer-heartbeat-interval": "heartbeat-interval",
    "peer-election-timeout": "election-timeout",
};

const DERIVED: Readonly<Record<string, string>> = {
    addr: "advertise-client-urls",
    "bind-addr": "listen-client-urls",
    "peer-addr": "initial-advertise-peer-urls",
    "peer-bind-addr": "listen-peer-urls",
};

const NEEDS_NAMES: Readonly<Record<string, string>> = {
    peers: "initial-cluster",
    "peers-file": "initial-cluster",
};

/** The table's own entry for `name` (not one inherited from Object, such as "constructor"). */
function successorIn(table: Readonly<Record<string, string>>, name: string): string | undefined {
    return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** Undefined when the name is not an etcd 0.4 flag. Leading dashes are ignored. */
export function checkLegacyFlag(rawName: string): LegacyFlagCheck | undefined {
    const name = rawName.replace(/^-+/, "");
    const renamed = successorIn(RENAMED, name);
    if (renamed !== undefined) {
        return { kind: "renamed", successor: renamed };
    }
    const derived = successorIn(DERIVED, name);
    if (derived !== undefined) {
        return {
            kind: "refused",
            problem: `etcd 0.4's -${name} became --${derived} (a URL list), which this package derives from each member's address`,
            fix: "remove it; ports are set with clientPort/peerPort",
        };
    }
    const needsNames = successorIn(NEEDS_NAMES, name);
    if (needsNames !== undefined) {
        return {
            kind: "refused",
            problem: `etcd 0.4's -${name} became --${needsNames}, which needs member names the old host:port list lacks`,
            fix: 'remove it; use bootstrapMode "static" (the package writes --initial-cluster), "dns" or "discovery"',
        };
    }
    return undefined;
}
