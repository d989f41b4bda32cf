// When a freshly started cluster is healthy, seen two ways at once: core's health gate (what
// `pulumi up` waits for; it polls every 2 s) and a probe of the same condition every 100 ms over
// etcd's HTTP endpoints (every member started and listed, every member's /health true), which
// resolves the time finer than the gate can.
import { ClusterSpec } from "../core";
import { scheme } from "../core/model";
import { ClusterOptions, LocalCluster } from "../local/cluster";
import { waitFor } from "../local/process";

/** As the real-etcd tests run clusters: the gate gives up after 60 s. */
export const LOCAL_CLUSTER_OPTIONS: ClusterOptions = { healthTimeoutSeconds: 60 };

const REQUEST_TIMEOUT_MS = 1_000;

export interface HealthyTimes {
    /** From starting the members until the start commands (launch scripts) returned. */
    readonly startSeconds: number;
    /** Until the probe saw the cluster healthy. */
    readonly probeSeconds: number;
    /** Until core's health gate passed. */
    readonly gateSeconds: number;
}

async function getJson<T>(url: string, init: RequestInit = {}): Promise<T | undefined> {
    try {
        const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        return response.ok ? ((await response.json()) as T) : undefined;
    } catch {
        return undefined;
    }
}

/** The health gate's condition: every member listed with a name (started), each one healthy. */
async function clusterHealthy(urls: readonly string[]): Promise<boolean> {
    const list = await getJson<{ members?: { name?: string }[] }>(`${urls[0]}/v3/cluster/member/list`, {
        method: "POST",
        body: "{}",
    });
    const started = (list?.members ?? []).filter((member) => member.name).length;
    if (started !== urls.length) {
        return false;
    }
    const health = await Promise.all(urls.map((url) => getJson<{ health?: string }>(`${url}/health`)));
    return health.every((answer) => answer?.health === "true");
}

/** Client URLs by address: in DNS mode members advertise names only the hosts' nameserver knows. */
export function clientUrlsByAddress(spec: ClusterSpec): string[] {
    return spec.members.map((member) => `${scheme(spec)}://${member.address}:${spec.ports.client}`);
}

async function probeUntilHealthy(spec: ClusterSpec, timeoutMs: number): Promise<void> {
    const urls = clientUrlsByAddress(spec);
    // (waitFor polls every 100 ms.)
    await waitFor(`cluster ${spec.clusterName} healthy`, timeoutMs, async () =>
        (await clusterHealthy(urls)) ? true : undefined,
    );
}

/** Starts the members with `start`, then times the probe and the gate, run side by side. */
export async function timeToHealthy(cluster: LocalCluster, start: () => Promise<unknown>): Promise<HealthyTimes> {
    const started = performance.now();
    const since = () => (performance.now() - started) / 1000;
    await start();
    const startSeconds = since();
    const [probeSeconds, gateSeconds] = await Promise.all([
        probeUntilHealthy(cluster.spec, LOCAL_CLUSTER_OPTIONS.healthTimeoutSeconds * 1000).then(since),
        cluster.healthGate().then(since),
    ]);
    return { startSeconds, probeSeconds, gateSeconds };
}
