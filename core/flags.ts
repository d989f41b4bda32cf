// The etcd flags of each member, rendered from the cluster's shape as the clustering guide
// prescribes, and the environment file that carries them to etcd (ETCD_<FLAG> variables).
import { ETCD_FLAGS } from "./etcd-flags";
import { advertisedHost, ClusterSpec, clientUrl, MaintenanceSpec, MemberSpec, peerUrl, scheme } from "./model";
import { PKI_FILES } from "./host-contract";
import { isLoopback } from "./net";
import { capabilitiesOf, EtcdLine } from "./versions";

/** One etcd flag, without leading dashes, and its value. */
export interface EtcdFlag {
    readonly name: string;
    readonly value: string;
}

/**
 * Flags the package derives from the cluster's shape. Setting them by hand would break the
 * invariants the guide lists (member listed, URLs matching), so extra flags may not name them.
 */
export const MANAGED_FLAGS: ReadonlySet<string> = new Set([
    "name",
    "data-dir",
    "listen-peer-urls",
    "listen-client-urls",
    "listen-metrics-urls",
    "initial-advertise-peer-urls",
    "advertise-client-urls",
    "initial-cluster",
    "initial-cluster-state",
    "initial-cluster-token",
    "discovery",
    "discovery-srv",
    "discovery-srv-name",
    "discovery-token",
    "discovery-endpoints",
    "discovery-fallback",
    "discovery-proxy",
    "cert-file",
    "key-file",
    "trusted-ca-file",
    "client-cert-auth",
    "peer-cert-file",
    "peer-key-file",
    "peer-trusted-ca-file",
    "peer-client-cert-auth",
]);

/** `--initial-cluster` value: every member as `name=peerURL`, in member order. */
export function initialCluster(spec: ClusterSpec): string {
    return spec.members.map((member) => `${member.name}=${peerUrl(spec, member)}`).join(",");
}

function modeFlags(spec: ClusterSpec): EtcdFlag[] {
    switch (spec.mode) {
        case "static":
            return [
                { name: "initial-cluster", value: initialCluster(spec) },
                { name: "initial-cluster-state", value: "new" },
            ];
        case "dns":
            return [
                { name: "discovery-srv", value: spec.domain },
                ...(spec.srvName ? [{ name: "discovery-srv-name", value: spec.srvName }] : []),
                { name: "initial-cluster-state", value: "new" },
            ];
        case "discovery": {
            const discovery = spec.discovery;
            if (!discovery) {
                throw new Error("discovery mode needs a discovery spec");
            }
            if (discovery.protocol === "v3") {
                return [
                    { name: "discovery-token", value: discovery.token },
                    { name: "discovery-endpoints", value: (discovery.endpoints ?? []).join(",") },
                ];
            }
            return [
                { name: "discovery", value: discovery.url ?? "" },
                // "exit" turns a member beyond the size into an error instead of a silent v2 proxy.
                { name: "discovery-fallback", value: "exit" },
                ...(discovery.proxy ? [{ name: "discovery-proxy", value: discovery.proxy }] : []),
            ];
        }
    }
}

function tlsFlags(spec: ClusterSpec): EtcdFlag[] {
    if (!spec.tls) {
        return [];
    }
    return [
        { name: "cert-file", value: PKI_FILES.serverCert },
        { name: "key-file", value: PKI_FILES.serverKey },
        { name: "trusted-ca-file", value: PKI_FILES.ca },
        { name: "client-cert-auth", value: "true" },
        { name: "peer-cert-file", value: PKI_FILES.peerCert },
        { name: "peer-key-file", value: PKI_FILES.peerKey },
        { name: "peer-trusted-ca-file", value: PKI_FILES.ca },
        { name: "peer-client-cert-auth", value: "true" },
    ];
}

/** Compaction on and a backend quota sized from the data volume, the same on every member. */
function maintenanceFlags(maintenance: MaintenanceSpec): EtcdFlag[] {
    return [
        { name: "auto-compaction-mode", value: maintenance.autoCompactionMode },
        { name: "auto-compaction-retention", value: maintenance.autoCompactionRetention },
        { name: "quota-backend-bytes", value: String(maintenance.quotaBackendBytes) },
    ];
}

/**
 * The member's address, plus 127.0.0.1 for tools on the host itself. A member whose address is
 * loopback already needs no second listener; local test hosts share one loopback, where a
 * 127.0.0.1 listener per member would collide.
 */
function listenUrls(sch: string, address: string, port: number): string {
    const urls = [`${sch}://${address}:${port}`];
    if (!isLoopback(address)) {
        urls.push(`${sch}://127.0.0.1:${port}`);
    }
    return urls.join(",");
}

/**
 * The flags a member starts with, in a fixed order: identity, URLs, bootstrap, TLS, logging,
 * maintenance, then the cluster's extra flags and the member's own overrides (later entries
 * replace earlier ones).
 */
export function renderMemberFlags(spec: ClusterSpec, member: MemberSpec): EtcdFlag[] {
    const sch = scheme(spec);
    const rendered: EtcdFlag[] = [
        { name: "name", value: member.name },
        { name: "data-dir", value: spec.dataDir },
        { name: "listen-peer-urls", value: `${sch}://${member.address}:${spec.ports.peer}` },
        { name: "listen-client-urls", value: listenUrls(sch, member.address, spec.ports.client) },
        { name: "listen-metrics-urls", value: listenUrls("http", member.address, spec.ports.metrics) },
        { name: "initial-advertise-peer-urls", value: peerUrl(spec, member) },
        { name: "advertise-client-urls", value: clientUrl(spec, member) },
        { name: "initial-cluster-token", value: spec.clusterToken },
        ...modeFlags(spec),
        ...tlsFlags(spec),
        ...(capabilitiesOf(spec.version).defaultsToCapnslog ? [{ name: "logger", value: "zap" }] : []),
        ...maintenanceFlags(spec.maintenance),
    ];
    return applyOverrides(rendered, { ...spec.extraFlags, ...(member.flagOverrides ?? {}) });
}

function applyOverrides(flags: EtcdFlag[], overrides: Readonly<Record<string, string>>): EtcdFlag[] {
    const byName = new Map(Object.entries(overrides));
    const result = flags.map((flag) => {
        const value = byName.get(flag.name);
        return value === undefined ? flag : { name: flag.name, value };
    });
    const present = new Set(flags.map((flag) => flag.name));
    const added = [...byName]
        .filter(([name]) => !present.has(name))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, value]) => ({ name, value }));
    return [...result, ...added];
}

/** Flags in the list that the etcd line does not register (etcd would refuse to start). */
export function unknownFlags(flags: readonly Pick<EtcdFlag, "name">[], line: EtcdLine): string[] {
    return flags.map((flag) => flag.name).filter((name) => !ETCD_FLAGS[line].has(name));
}

/** `--foo-bar` travels as `ETCD_FOO_BAR`: etcd reads every flag from such a variable. */
export function envVarName(flag: string): string {
    return `ETCD_${flag.toUpperCase().replace(/-/g, "_")}`;
}

const PLAIN_ENV_VALUE = /^[A-Za-z0-9_.,:/=@+%-]*$/;

/** A value as both systemd's EnvironmentFile and a POSIX shell read it back unchanged. */
function envValue(value: string): string {
    if (PLAIN_ENV_VALUE.test(value)) {
        return value;
    }
    if (value.includes("'") || /[\n\\]/.test(value)) {
        throw new Error(`flag value ${JSON.stringify(value)} cannot be written to an environment file`);
    }
    return `'${value}'`;
}

/** The member's environment file: a header saying what it is, then one ETCD_* line per flag. */
export function renderEnvFile(spec: ClusterSpec, member: MemberSpec): string {
    const flags = renderMemberFlags(spec, member);
    const header = [
        `# etcd member ${member.name} of cluster ${spec.clusterName}: etcd ${spec.version.text}, ${spec.mode} bootstrap,`,
        `# ${spec.tls ? "mutual TLS" : "plain http"}, advertised as ${advertisedHost(spec, member)}.`,
        `# Rendered by etcd-aws. Each ETCD_FOO_BAR line is etcd's --foo-bar flag; edit the stack, not this file.`,
    ];
    return [...header, ...flags.map((flag) => `${envVarName(flag.name)}=${envValue(flag.value)}`), ""].join("\n");
}

/** Reads an environment file rendered above back into flags (for checks on rendered output). */
export function parseEnvFile(text: string): EtcdFlag[] {
    const flags: EtcdFlag[] = [];
    for (const line of text.split("\n")) {
        const [, variable, raw] = /^ETCD_([A-Z0-9_]+)=(.*)$/.exec(line) ?? [];
        if (variable !== undefined && raw !== undefined) {
            const value = raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1) : raw;
            flags.push({ name: variable.toLowerCase().replace(/_/g, "-"), value });
        }
    }
    return flags;
}
