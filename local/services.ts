// The servers a bootstrap mode needs besides the members: dnsmasq serving the cluster's rendered
// DNS records (DNS SRV mode), an etcd playing the discovery cluster (v2-enabled for v2 discovery),
// and Debian's discovery.etcd.io server in front of a v2 one (the public-style discovery service).
import { promises as dns } from "dns";
import { DnsRecords } from "../core";
import { checkAlive, startDaemon } from "./daemon";
import { LocalRelease } from "./mirror";
import { runChecked, waitFor } from "./process";
import * as path from "path";

const READY_TIMEOUT_MS = 20_000;

/**
 * dnsmasq's flags for a server on `address`:53 that answers only what it is given (no upstream, no /etc/hosts),
 * in the foreground (startDaemon detaches it and records its PID), authoritative for `domains`: unknown names there
 * are NXDOMAIN at once.
 */
export function dnsmasqServerArgs(address: string, domains: readonly string[]): string[] {
    return [
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--pid-file=",
        "--log-facility=-",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        `--listen-address=${address}`,
        "--port=53",
        ...domains.map((domain) => `--local=/${domain}/`),
    ];
}

/** dnsmasq's flag serving one SRV record of `name`, given as "priority weight port target". */
export function srvHostArg(name: string, record: string): string {
    const [priority, weight, port, target] = record.split(" ");
    return `--srv-host=${name},${target},${port},${priority},${weight}`;
}

/** dnsmasq's flags for exactly the rendered records: A records and SRV sets, nothing else. */
function dnsmasqArgs(records: DnsRecords, domain: string, address: string): string[] {
    return [
        ...dnsmasqServerArgs(address, [domain]),
        ...records.a.map((a) => `--host-record=${a.name},${a.address}`),
        ...records.srv.flatMap((set) => set.records.map((record) => srvHostArg(set.name, record))),
    ];
}

/** The SRV answers of a server, as "priority weight port target" like the rendered records. */
export async function lookupSrv(server: string, name: string): Promise<string[]> {
    const resolver = new dns.Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([server]);
    const answers = await resolver.resolveSrv(name);
    return answers.map((a) => `${a.priority} ${a.weight} ${a.port} ${a.name}`).sort();
}

/** Starts dnsmasq on `address`:53 with the records and waits until it answers them. */
export async function startDnsServer(dir: string, address: string, records: DnsRecords, domain: string): Promise<void> {
    const daemon = startDaemon(dir, "dnsmasq", ["/usr/sbin/dnsmasq", ...dnsmasqArgs(records, domain, address)]);
    const probe = records.srv[0]?.name;
    if (probe === undefined) {
        throw new Error("dnsmasq needs an SRV record to probe its readiness with");
    }
    await waitFor(`dnsmasq on ${address} to answer ${probe}`, READY_TIMEOUT_MS, async () => {
        checkAlive(daemon);
        return (await lookupSrv(address, probe).catch(() => [])).length > 0 ? true : undefined;
    });
}

async function answers(url: string): Promise<boolean> {
    try {
        // Not following redirects: the service's "/" redirects to the CoreOS docs on the internet.
        await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(2_000) });
        return true;
    } catch {
        return false;
    }
}

/** What a discovery etcd serves: the v2 keys API (`--enable-v2`, 3.4 and 3.5 only) or the v3 API alone. */
export type DiscoveryApi = "v2" | "v3";

/**
 * A one-member etcd on `address` as the discovery cluster, serving `api` (v2 discovery needs the
 * v2 keys API; v3 discovery needs nothing beyond the v3 API). Returns its client URL.
 */
export async function startDiscoveryEtcd(
    dir: string,
    address: string,
    release: LocalRelease,
    api: DiscoveryApi,
): Promise<string> {
    const clientUrl = `http://${address}:2379`;
    const peerUrl = `http://${address}:2380`;
    const daemon = startDaemon(dir, "discovery-etcd", [
        path.join(release.binDir, "etcd"),
        "--name=discovery",
        `--data-dir=${path.join(dir, "discovery-etcd.data")}`,
        ...(api === "v2" ? ["--enable-v2=true"] : []),
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=discovery=${peerUrl}`,
        `--initial-cluster-token=discovery-${address}`,
    ]);
    // /health answers true once the member serves; /v2/keys/ only when the v2 API is on.
    const probe = api === "v2" ? `${clientUrl}/v2/keys/` : `${clientUrl}/health`;
    await waitFor(`the discovery etcd's ${api} API at ${clientUrl}`, READY_TIMEOUT_MS, async () => {
        checkAlive(daemon);
        const response = await fetch(probe, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
        return response?.ok ? true : undefined;
    });
    return clientUrl;
}

/** Where a custom discovery etcd keeps tokens; core appends the token and registers the size. */
export function v2RegistryUrl(discoveryEtcdUrl: string): string {
    return `${discoveryEtcdUrl}/v2/keys/_etcd/registry`;
}

/** Debian's discovery.etcd.io server on `address`:8087 over `backendUrl`. Returns its URL. */
export async function startDiscoveryService(dir: string, address: string, backendUrl: string): Promise<string> {
    const serviceUrl = `http://${address}:8087`;
    const daemon = startDaemon(dir, "discovery-service", [
        "/usr/bin/discovery.etcd.io",
        `--etcd=${backendUrl}`,
        `--host=${serviceUrl}`,
        `--addr=${address}:8087`,
    ]);
    await waitFor(`discovery.etcd.io at ${serviceUrl}`, READY_TIMEOUT_MS, async () => {
        checkAlive(daemon);
        return (await answers(serviceUrl)) ? true : undefined;
    });
    return serviceUrl;
}

/** A new token URL of the given size, as `curl https://discovery.etcd.io/new?size=N` gets one. */
export async function newDiscoveryUrl(serviceUrl: string, size: number): Promise<string> {
    const url = await runChecked(["curl", "-fsS", "--max-time", "10", `${serviceUrl}/new?size=${size}`], {
        timeoutMs: 15_000,
    });
    return url.trim();
}
