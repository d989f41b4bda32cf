// The DNS record set of a cluster: an A record per member and the SRV records etcd's DNS
// discovery (`--discovery-srv`) and clients (`etcdctl --discovery-srv`) look up.
import { ClusterSpec, memberHostName } from "./model";

export const DNS_TTL_SECONDS = 60;

export interface ARecord {
    /** Fully qualified name, e.g. `prod-etcd-0.prod.etcd.internal`. */
    readonly name: string;
    readonly address: string;
}

export interface SrvRecordSet {
    /** Fully qualified name, e.g. `_etcd-server-ssl._tcp.prod.etcd.internal`. */
    readonly name: string;
    /** Which side of etcd the set serves. */
    readonly role: "server" | "client";
    /** One entry per member, in Route53's "priority weight port target" form. */
    readonly records: readonly string[];
}

export interface DnsRecords {
    readonly a: readonly ARecord[];
    readonly srv: readonly SrvRecordSet[];
}

/**
 * etcd's SRV service label: `etcd-server` or `etcd-client`, `-ssl` with TLS, then `-<srvName>`
 * when `--discovery-srv-name` is set (the order etcd's own lookup uses).
 */
export function srvServiceLabel(role: "server" | "client", tls: boolean, srvName?: string): string {
    return `_etcd-${role}${tls ? "-ssl" : ""}${srvName ? `-${srvName}` : ""}._tcp`;
}

export function renderDnsRecords(spec: ClusterSpec): DnsRecords {
    const a = spec.members.map((member) => ({ name: memberHostName(spec, member), address: member.address }));
    const srvSet = (role: "server" | "client", port: number): SrvRecordSet => ({
        name: `${srvServiceLabel(role, spec.tls, spec.srvName)}.${spec.domain}`,
        role,
        records: a.map((record) => `0 0 ${port} ${record.name}`),
    });
    return { a, srv: [srvSet("server", spec.ports.peer), srvSet("client", spec.ports.client)] };
}
