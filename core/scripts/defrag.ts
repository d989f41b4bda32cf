// Defragmentation and the NOSPACE recovery (host/etcd-aws-defrag.sh, host/etcd-aws-recover-space.sh,
// both on host/lib/defrag.sh): their settings, and the systemd service and timer that run the
// defrag on every member.
import {
    ETCD_UNIT,
    HOST_PATHS,
    MEMBERSHIP_LOCK_KEY,
    MEMBERSHIP_WAIT_SECONDS,
    REPORT_EVERY_SECONDS,
} from "../host-contract";
import { clientTlsSettings, HostFile, memberEndpointSettings } from "../launch";
import { ClusterSpec, MemberSpec } from "../model";
import { renderBundle } from "../shell";
import { renderTimerUnits, TimerUnits } from "./timer-units";
import { CATCH_UP_MARGIN } from "./member-ready";

/** Where the defrag and recovery pieces live on a member. */
export const DEFRAG_PATHS = {
    defragScript: "/usr/local/sbin/etcd-aws-defrag",
    recoverSpaceScript: "/usr/local/sbin/etcd-aws-recover-space",
    serviceFile: `${HOST_PATHS.unitDir}/etcd-aws-defrag.service`,
    timerFile: `${HOST_PATHS.unitDir}/etcd-aws-defrag.timer`,
} as const;

/** The timer a launch enables (`systemctl enable --now`), which starts the service. */
export const DEFRAG_TIMER = "etcd-aws-defrag.timer";

/** What an operator runs on any member to clear a NOSPACE alarm (the health gate names it). */
export const RECOVER_SPACE_COMMAND = `sudo ${DEFRAG_PATHS.recoverSpaceScript}`;

/** The key the recovery writes to prove writes work again (not under the membership lock's key). */
export const RECOVER_SPACE_CHECK_KEY = "etcd-aws/recover-space-check";

/** Seconds one member's defrag (or a physical compaction) may take: it copies the live data, up to the quota's 8 GiB. */
export const DEFRAG_TIMEOUT_SECONDS = 600;

/**
 * Default thresholds. Waste: a tenth of the quota, because etcd compares the whole file, free pages
 * included, with the quota; less waste neither brings NOSPACE noticeably closer nor uses disk the
 * volume (sized for two databases) misses. Fraction: a fifth of the file, because a defrag copies
 * all the live data and blocks its member meanwhile; it has to shrink the file by a sizable part.
 */
export const DEFRAG_DEFAULTS = {
    wastedQuotaShare: 0.1,
    minWastedFraction: 0.2,
    /** An hourly look (no write unless it defragments): as often as the default compaction frees pages. */
    intervalSeconds: 3600,
} as const;

export interface DefragOptions {
    /** Free bytes in a member's file from which a defrag is worth it (default a tenth of the quota). */
    readonly minWastedBytes?: number;
    /** ... and the share of the file they must be, 0 to 1 (default 0.2). */
    readonly minWastedFraction?: number;
}

function thresholds(spec: ClusterSpec, options: DefragOptions): Required<DefragOptions> {
    const resolved = {
        minWastedBytes: Math.floor(spec.maintenance.quotaBackendBytes * DEFRAG_DEFAULTS.wastedQuotaShare),
        minWastedFraction: DEFRAG_DEFAULTS.minWastedFraction,
        ...options,
    };
    const problems = [
        Number.isInteger(resolved.minWastedBytes) && resolved.minWastedBytes >= 0
            ? ""
            : `minWastedBytes ${resolved.minWastedBytes} is not a whole number of bytes`,
        resolved.minWastedFraction >= 0 && resolved.minWastedFraction <= 1
            ? ""
            : `minWastedFraction ${resolved.minWastedFraction} is not between 0 and 1`,
    ].filter(Boolean);
    if (problems.length > 0) {
        throw new Error(`etcd-aws defrag options: ${problems.join("; ")}`);
    }
    return resolved;
}

/** Settings both scripts share: the member's endpoints, the waits, the defrag's limits, TLS. */
function maintenanceSettings(spec: ClusterSpec, member: MemberSpec): Record<string, string | number> {
    const { MEMBER_NAME, LOCAL_ENDPOINT, PEER_ENDPOINTS } = memberEndpointSettings(spec, member);
    return {
        MEMBER_NAME,
        LOCAL_ENDPOINT,
        PEER_ENDPOINTS,
        UNIT: ETCD_UNIT,
        WAIT_SECONDS: MEMBERSHIP_WAIT_SECONDS,
        REPORT_EVERY_SECONDS,
        DEFRAG_TIMEOUT_SECONDS,
        CATCH_UP_MARGIN,
        ...clientTlsSettings(spec),
    };
}

/**
 * The defrag script of one member (installed at DEFRAG_PATHS.defragScript; the timer runs it):
 * when a member's wasted space is worth it, defragments those members under the membership lock,
 * one at a time, followers first and the leader last. Does nothing, and fails, under an alarm.
 */
export function renderDefragScript(spec: ClusterSpec, member: MemberSpec, options: DefragOptions = {}): string {
    const { minWastedBytes, minWastedFraction } = thresholds(spec, options);
    return renderBundle({
        purpose: "defrag",
        description: [
            `Defragments the members of etcd cluster ${spec.clusterName} whose wasted space is worth it, from member ${member.name}.`,
        ],
        settings: {
            ...maintenanceSettings(spec, member),
            LOCK_KEY: MEMBERSHIP_LOCK_KEY,
            MIN_WASTED_BYTES: minWastedBytes,
            MIN_WASTED_FRACTION: minWastedFraction,
            RECOVER_SPACE_COMMAND,
        },
        libraries: ["lib/membership.sh", "lib/defrag.sh"],
        readsJson: true,
        script: "etcd-aws-defrag.sh",
    });
}

/**
 * The space recovery of one member (installed at DEFRAG_PATHS.recoverSpaceScript; an operator runs
 * RECOVER_SPACE_COMMAND): compact, defragment every member (the leader last), disarm NOSPACE,
 * check a write.
 */
export function renderRecoverSpaceScript(spec: ClusterSpec, member: MemberSpec): string {
    return renderBundle({
        purpose: "recover-space",
        description: [
            `Clears a NOSPACE alarm of etcd cluster ${spec.clusterName} from member ${member.name}: compact, defragment every member, disarm.`,
            `Usage: ${RECOVER_SPACE_COMMAND}`,
        ],
        settings: { ...maintenanceSettings(spec, member), CHECK_KEY: RECOVER_SPACE_CHECK_KEY },
        libraries: ["lib/membership.sh", "lib/defrag.sh"],
        readsJson: true,
        script: "etcd-aws-recover-space.sh",
    });
}

/** The systemd units that run the installed defrag script on a member. */
export type DefragUnits = TimerUnits;

/** A oneshot service running DEFRAG_PATHS.defragScript after etcd, and its hourly timer. */
export function renderDefragUnits(): DefragUnits {
    const { intervalSeconds } = DEFRAG_DEFAULTS;
    return renderTimerUnits({
        serviceDescription: "etcd-aws defrag of the etcd members whose wasted space is worth it",
        timerDescription: "etcd-aws defrag check every hour",
        script: DEFRAG_PATHS.defragScript,
        firstAfterBootSeconds: intervalSeconds / 4,
        intervalSeconds,
        randomDelaySeconds: intervalSeconds / 12,
    });
}

/**
 * The files that give a member its defrag timer and space recovery: both scripts (root's, 0755)
 * and the service and timer. The launch writes them; none of them owes etcd a restart.
 */
export function defragUnitFiles(spec: ClusterSpec, member: MemberSpec): HostFile[] {
    const units = renderDefragUnits();
    const file = (path: string, content: string, mode: string): HostFile => ({
        path,
        content,
        mode,
        owner: "root:root",
    });
    return [
        file(DEFRAG_PATHS.defragScript, renderDefragScript(spec, member), "0755"),
        file(DEFRAG_PATHS.recoverSpaceScript, renderRecoverSpaceScript(spec, member), "0755"),
        file(DEFRAG_PATHS.serviceFile, units.service, "0644"),
        file(DEFRAG_PATHS.timerFile, units.timer, "0644"),
    ];
}
