// The systemd units that run an installed etcd-aws script on a member now and then: a oneshot
// service after etcd and a timer that starts it (the backup and the defrag have one each).
import { ETCD_UNIT } from "../host-contract";

/** A member's oneshot service and the timer that starts it. */
export interface TimerUnits {
    readonly service: string;
    readonly timer: string;
}

/** What the units run and when. */
export interface TimerUnitsInput {
    /** The service's Description (what `systemctl status` shows). */
    readonly serviceDescription: string;
    /** The timer's Description. */
    readonly timerDescription: string;
    /** The installed script the service runs. */
    readonly script: string;
    /** More [Service] lines (e.g. a lower CPU and I/O priority). Default none. */
    readonly serviceLines?: readonly string[];
    /** The first run after boot, in seconds. */
    readonly firstAfterBootSeconds: number;
    /** The time between runs, in seconds. */
    readonly intervalSeconds: number;
    /**
     * The most a run is put off at random, in seconds: the members' timers then fire at different
     * moments, and the first to take the script's lock does the work the others find done.
     */
    readonly randomDelaySeconds: number;
}

/** The service and timer of `input`. */
export function renderTimerUnits(input: TimerUnitsInput): TimerUnits {
    return {
        service: [
            "[Unit]",
            `Description=${input.serviceDescription}`,
            `After=${ETCD_UNIT}`,
            `Requires=${ETCD_UNIT}`,
            "",
            "[Service]",
            "Type=oneshot",
            `ExecStart=${input.script}`,
            ...(input.serviceLines ?? []),
            "",
        ].join("\n"),
        timer: [
            "[Unit]",
            `Description=${input.timerDescription}`,
            "",
            "[Timer]",
            `OnBootSec=${input.firstAfterBootSeconds}s`,
            `OnUnitActiveSec=${input.intervalSeconds}s`,
            `RandomizedDelaySec=${input.randomDelaySeconds}s`,
            "AccuracySec=1s",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ].join("\n"),
    };
}
