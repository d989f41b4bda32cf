// The bounded writer around a fault, and reading its keys back from every member: how the
// change and TLS scenarios show that writes go on and no acknowledged key is lost.
import * as path from "path";
import { LocalCluster } from "../../local/cluster";
import { localRelease } from "../../local/mirror";
import { waitFor } from "../../local/process";
import { EtcdClient, Writer, WriterReport } from "../../local/writer";
import { at } from "../helpers/elements";

/** A steady ~10 writes a second; a write may be retried for 5 s (longer than an election). */
const WRITE_INTERVAL_MS = 50;
const RETRY_BUDGET_MS = 5_000;
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
): Promise<{ report: WriterReport; result: T }> {
    const writer = Writer.start({
        client,
        endpoints,
        prefix,
        intervalMs: WRITE_INTERVAL_MS,
        retryBudgetMs: RETRY_BUDGET_MS,
        maxDurationMs: WRITER_LIMIT_MS,
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
 * Waits until member `index` holds every acknowledged key itself (a serializable read from that
 * member: it has caught up); returns how many keys it holds under the prefix.
 */
async function caughtUp(
    cluster: LocalCluster,
    index: number,
    prefix: string,
    written: readonly string[],
): Promise<number> {
    let missing = written.length;
    try {
        return await waitFor(
            `${at(cluster.members, index).member.name} to hold every acknowledged key`,
            READ_BACK_TIMEOUT_MS,
            async () => {
                const held = new Set(await cluster.keysOn(index, prefix).catch(() => []));
                missing = written.filter((key) => !held.has(key)).length;
                return missing === 0 ? held.size : undefined;
            },
        );
    } catch (error) {
        throw new Error(`${(error as Error).message}: ${missing} of ${written.length} acknowledged keys are missing`, {
            cause: error,
        });
    }
}

/** Every member holds every acknowledged key; returns the fewest keys a member holds under the prefix. */
export async function readBack(cluster: LocalCluster, prefix: string, written: readonly string[]): Promise<number> {
    const counts = await Promise.all(cluster.members.map((_, index) => caughtUp(cluster, index, prefix, written)));
    return Math.min(...counts);
}
