// When each member's etcd restarted, read from etcd's own log (millisecond timestamps): how the
// rolling tests show that restarts run one at a time.
import * as assert from "assert";
import * as fs from "fs";
import { LocalMember } from "../../local/cluster";
import { at } from "../helpers/elements";

export interface LogEvent {
    readonly at: number;
    readonly msg: string;
}

/** etcd's JSON log lines in its log file since `since` (ms since the epoch). */
export function logEvents(logFile: string, since: number): LogEvent[] {
    const lines = fs.readFileSync(logFile, "utf8").split("\n");
    return lines.flatMap((line) => {
        try {
            const entry = JSON.parse(line) as { ts: string; msg: string };
            const at = Date.parse(entry.ts);
            return at >= since ? [{ at, msg: entry.msg }] : [];
        } catch {
            return [];
        }
    });
}

export interface RestartWindow {
    readonly member: string;
    /** etcd was told to stop ("received signal; shutting down"). */
    readonly stopped: number;
    /** The new process serves clients again ("serving client traffic ..."). */
    readonly serving: number;
}

/** Each member's restarts since `since`, from its log, in time order. */
export function restartWindows(members: readonly LocalMember[], since: number): RestartWindow[] {
    return restartWindowsIn(
        members.map(({ member, host }) => ({ member: member.name, logFile: host.hostPath("/var/log/etcd.log") })),
        since,
    );
}

/** The restarts since `since` that each member's etcd log file shows, in time order. */
export function restartWindowsIn(
    logs: readonly { readonly member: string; readonly logFile: string }[],
    since: number,
): RestartWindow[] {
    const windows = logs.flatMap(({ member, logFile }) => {
        const events = logEvents(logFile, since);
        const found: RestartWindow[] = [];
        events.forEach((event, i) => {
            if (event.msg === "received signal; shutting down") {
                const serving = events.slice(i).find((later) => later.msg.startsWith("serving client traffic"));
                found.push({
                    member,
                    stopped: event.at,
                    serving: serving?.at ?? Number.POSITIVE_INFINITY,
                });
            }
        });
        return found;
    });
    return windows.sort((a, b) => a.stopped - b.stopped);
}

function clock(at: number): string {
    return Number.isFinite(at) ? new Date(at).toISOString().slice(11, 23) : "never";
}

/** Prints the windows and asserts there are `count` of them (when given), each starting after the previous one served again. */
export function assertOneAtATime(windows: readonly RestartWindow[], count?: number): void {
    console.log(
        windows
            .map((w) => `      ${w.member}: stopped ${clock(w.stopped)}, serving again ${clock(w.serving)}`)
            .join("\n"),
    );
    if (count !== undefined) assert.strictEqual(windows.length, count);
    windows
        .slice(1)
        .forEach((window, i) =>
            assert.ok(
                window.stopped >= at(windows, i).serving,
                `${window.member} stopped before ${at(windows, i).member} served again`,
            ),
        );
}
