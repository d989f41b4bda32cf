// The bounded writer around a fault, and reading its keys back from every member: how the
// change and TLS scenarios show that writes go on and no acknowledged key is lost.
import * as path from "path";
import { LocalCluster } from "../../local/cluster";
import { localRelease } from "../../local/mirror";
import { runChecked, waitFor } from "../../local/process";
import { EtcdClient, Writer, WriterReport } from "../../local/writer";

/** A steady ~10 writes a second; a write may be retried for 5 s (longer than an election). */
const WRITE_INTERVAL_MS = 50;
const RETRY_BUDGET_MS = 5_000;
/** How long a writer runs at most unless told (a change of the local stack takes longer: `up` rolls members). */
const WRITER_LIMIT_MS = 240_000;
/** Acknowledged writes awaited before a fault, and after it, so each phase has writes in it. */
export const WRITES_PER_PHASE = 20;
const PHASE_TIMEOUT_MS = 60_000;
const READ_BACK_TIMEOUT_MS = 30_000;

/** etcdctl of the cluster's release on this machine, outside the hosts, with the given flags. */
export function localClient(version: string, flags: readonly string[] = []): EtcdClient {
    return { etcdctl: path.join(localRelease(version).binDir, "etcdctl"), flags };
}

/** Waits (bounded) until the writer has `count` acknowledgements since `since`. */
export async function waitForWrites(writer: Writer, what: string, since = 0, count = WRITES_PER_PHASE): Promise<void> {
    await waitFor(`${count} acknowledged writes ${what}`, PHASE_TIMEOUT_MS, () =>
        writer.acknowledgedSince(since) >= count ? true : undefined,
    );
}

/**
 * Starts a writer of `<prefix>/<n>` keys on `endpoints`, lets it write, runs `fault` while it
 * writes, lets it write again, and stops it (also when the fault throws).
 */
export async function writeThrough<T>(
    client: EtcdClient,
    endpoints: readonly string[],
    prefix: string,
    fault: (writer: Writer) => Promise<T>,
    limitMs = WRITER_LIMIT_MS,
): Promise<{ report: WriterReport; result: T }> {
    const writer = Writer.start({
        client,
        endpoints,
        prefix,
        intervalMs: WRITE_INTERVAL_MS,
        retryBudgetMs: RETRY_BUDGET_MS,
        maxDurationMs: limitMs,
    });
    try {
        await waitForWrites(writer, "before the fault");
        const result = await fault(writer);
        await waitForWrites(writer, "after the fault", Date.now());
        return { report: await writer.stop(), result };
    } finally {
        await writer.stop();
    }
}

/**
 * Waits until a member (`name`) holds every expected entry itself (`held` reads them from that member alone: it has
 * caught up); returns how many entries it holds under the prefix.
 */
async function caughtUp(
    name: string,
    held: () => Promise<ReadonlySet<string>>,
    expected: readonly string[],
): Promise<number> {
    let missing = expected.length;
    try {
        return await waitFor(`${name} to hold every acknowledged key`, READ_BACK_TIMEOUT_MS, async () => {
            const entries = await held().catch(() => new Set<string>());
            missing = expected.filter((entry) => !entries.has(entry)).length;
            return missing === 0 ? entries.size : undefined;
        });
    } catch (error) {
        throw new Error(`${(error as Error).message}: ${missing} of ${expected.length} acknowledged keys are missing`, {
            cause: error,
        });
    }
}

/** Every member holds every acknowledged key; returns the fewest keys a member holds under the prefix. */
export async function readBack(cluster: LocalCluster, prefix: string, written: readonly string[]): Promise<number> {
    const counts = await Promise.all(
        cluster.members.map(({ member }, index) =>
            caughtUp(member.name, async () => new Set(await cluster.keysOn(index, prefix)), written),
        ),
    );
    return Math.min(...counts);
}

/** The value the writer (local/writer.ts) puts under a key: `value-<sequence>` for `<prefix>/<sequence>`. */
function writtenValue(key: string): string {
    return `value-${Number(key.slice(key.lastIndexOf("/") + 1))}`;
}

/** `key=value` of every key under the prefix, read from `endpoint` alone (a serializable read). */
async function entriesOn(client: EtcdClient, endpoint: string, prefix: string): Promise<Set<string>> {
    const output = await runChecked(
        [
            client.etcdctl,
            `--endpoints=${endpoint}`,
            "--command-timeout=10s",
            ...client.flags,
            "get",
            `${prefix}/`,
            "--prefix",
            "--consistency=s",
            "--write-out=json",
        ],
        { timeoutMs: 15_000, env: { ETCDCTL_API: "3" } },
    );
    const decode = (text: string) => Buffer.from(text, "base64").toString();
    const { kvs = [] } = JSON.parse(output) as { kvs?: { key: string; value: string }[] };
    return new Set(kvs.map((kv) => `${decode(kv.key)}=${decode(kv.value)}`));
}

/**
 * Every member behind `endpoints` holds every acknowledged key with the value written; returns the fewest keys a
 * member holds under the prefix.
 */
export async function readBackThrough(
    client: EtcdClient,
    endpoints: readonly string[],
    prefix: string,
    written: readonly string[],
): Promise<number> {
    const expected = written.map((key) => `${key}=${writtenValue(key)}`);
    const counts = await Promise.all(
        endpoints.map((endpoint) => caughtUp(endpoint, () => entriesOn(client, endpoint, prefix), expected)),
    );
    return Math.min(...counts);
}
