// What keeps a cluster from filling its disk over time: automatic compaction of old revisions,
// and a backend quota (the size at which etcd raises the NOSPACE alarm and turns read-only)
// sized from the data volume instead of etcd's fixed 2 GiB.
import type { AutoCompactionMode } from "./model";

const GIB = 1024 ** 3;

/** etcd's suggested maximum backend quota: larger databases make snapshots and restarts slow. */
export const SUGGESTED_MAX_QUOTA_BYTES = 8 * GIB;

/** Room on the data volume kept for the write-ahead log and raft snapshots (5 WAL files of 64 MB and more). */
const WAL_RESERVE_BYTES = GIB;

export const AUTO_COMPACTION_MODES: readonly AutoCompactionMode[] = ["periodic", "revision"];

/** The retention each mode defaults to: an hour of history, or the newest 1000 revisions (etcd's own example). */
export const DEFAULT_RETENTION: Readonly<Record<AutoCompactionMode, string>> = {
    periodic: "1h",
    revision: "1000",
};

/**
 * The largest database the volume holds safely: half of what is left after the WAL's reserve,
 * since defragmenting a member (or sending it a snapshot) writes a second copy of the database
 * next to the first.
 */
export function volumeQuotaRoom(volumeSizeGiB: number): number {
    return Math.max(0, Math.floor((volumeSizeGiB * GIB - WAL_RESERVE_BYTES) / 2));
}

/** The default quota: what the volume holds safely, never above etcd's suggested maximum. */
export function defaultQuotaBytes(volumeSizeGiB: number): number {
    return Math.min(SUGGESTED_MAX_QUOTA_BYTES, volumeQuotaRoom(volumeSizeGiB));
}

/** A byte count as a person reads it: GiB with up to two decimals, e.g. "3.5 GiB". */
export function gib(bytes: number): string {
    return `${Math.round((bytes / GIB) * 100) / 100} GiB`;
}
