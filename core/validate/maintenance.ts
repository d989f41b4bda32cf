// Compaction and the backend quota: a mode etcd knows with a retention of the mode's kind, and a
// quota the data volume can hold (the one sized from it, or the user's explicit extra flag).
import {
    AUTO_COMPACTION_MODES,
    DEFAULT_RETENTION,
    defaultQuotaBytes,
    gib,
    SUGGESTED_MAX_QUOTA_BYTES,
    volumeQuotaRoom,
} from "../maintenance";
import { AutoCompactionMode, MaintenanceSpec } from "../model";
import { ClusterSettings, DEFAULTS } from "../settings";
import { checkOneOf, Problems } from "./checks";

/** A Go duration as etcd parses it ("1h", "30m", "1h30m", "90s"), or a whole number of hours. */
const PERIODIC_RETENTION = /^(\d+|(\d+(\.\d+)?(h|m|s|ms))+)$/;
const REVISION_RETENTION = /^\d+$/;
const GIB = 1024 ** 3;

function resolveMode(settings: ClusterSettings, problems: Problems): AutoCompactionMode {
    const mode = settings.autoCompactionMode ?? DEFAULTS.autoCompactionMode;
    const problem = "etcd compacts by time (periodic) or by revision count (revision) only";
    return checkOneOf(problems, "autoCompactionMode", mode, AUTO_COMPACTION_MODES, problem)
        ? mode
        : DEFAULTS.autoCompactionMode;
}

function resolveRetention(
    settings: ClusterSettings,
    mode: AutoCompactionMode,
    problems: Problems,
    warnings: string[],
): string {
    const retention = settings.autoCompactionRetention ?? DEFAULT_RETENTION[mode];
    const valid = (mode === "periodic" ? PERIODIC_RETENTION : REVISION_RETENTION).test(retention);
    if (!valid) {
        problems.push({
            setting: "autoCompactionRetention",
            value: retention,
            problem:
                mode === "periodic"
                    ? 'periodic compaction keeps a duration such as "1h" or "30m" (or a whole number of hours)'
                    : "revision compaction keeps a whole number of revisions",
            fix: `use e.g. "${DEFAULT_RETENTION[mode]}", or remove it for that default`,
        });
    } else if (/^[0.hms]+$/.test(retention)) {
        warnings.push(
            "autoCompactionRetention: 0 turns automatic compaction off; the history grows until the database reaches its quota and etcd turns read-only (NOSPACE)",
        );
    }
    return retention;
}

/** The quota: the user's quota-backend-bytes extra flag if the volume holds it, else sized from the volume. */
function resolveQuota(
    volumeSizeGiB: number,
    extraFlags: Readonly<Record<string, string>>,
    problems: Problems,
    warnings: string[],
): number {
    const sized = defaultQuotaBytes(volumeSizeGiB);
    const given = extraFlags["quota-backend-bytes"];
    if (given === undefined) {
        return sized;
    }
    const setting = "extraFlags.quota-backend-bytes";
    const bytes = Number(given);
    if (!/^\d+$/.test(given) || bytes === 0) {
        problems.push({
            setting,
            value: given,
            problem: "is not a positive number of bytes",
            fix: `give bytes, e.g. ${4 * GIB} for 4 GiB, or remove it for the quota sized from the volume (${sized})`,
        });
        return sized;
    }
    const room = volumeQuotaRoom(volumeSizeGiB);
    if (bytes > room) {
        const volumeNeeded = Math.ceil((2 * bytes + GIB) / GIB);
        problems.push({
            setting,
            value: given,
            problem: `a ${gib(bytes)} database does not fit the ${volumeSizeGiB} GiB data volume: defragmenting a member or sending it a snapshot writes a second copy next to it, besides 1 GiB for the write-ahead log, so the volume holds at most ${gib(room)}`,
            fix: `lower it to ${room} or less, or set volumeSizeGiB to ${volumeNeeded} or more`,
        });
        return sized;
    }
    if (bytes > SUGGESTED_MAX_QUOTA_BYTES) {
        warnings.push(
            `extraFlags: quota-backend-bytes=${given} (${gib(bytes)}) is above etcd's suggested maximum of ${gib(SUGGESTED_MAX_QUOTA_BYTES)}`,
        );
    }
    return bytes;
}

/** Compaction on by default and a quota the data volume holds. */
export function resolveMaintenance(
    settings: ClusterSettings,
    volumeSizeGiB: number,
    extraFlags: Readonly<Record<string, string>>,
    problems: Problems,
    warnings: string[],
): MaintenanceSpec {
    const autoCompactionMode = resolveMode(settings, problems);
    return {
        autoCompactionMode,
        autoCompactionRetention: resolveRetention(settings, autoCompactionMode, problems, warnings),
        quotaBackendBytes: resolveQuota(volumeSizeGiB, extraFlags, problems, warnings),
    };
}
