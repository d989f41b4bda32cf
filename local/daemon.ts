// Background servers the local layer starts besides the members (DNS, discovery): detached, so
// they outlive the command that started them, with their output in <dir>/<name>.log and their
// PID in <dir>/<name>.pid, which is how they are found and stopped later.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { isRunning } from "./process";

export interface Daemon {
    readonly name: string;
    readonly pid: number;
    readonly logFile: string;
}

export function startDaemon(dir: string, name: string, argv: readonly string[]): Daemon {
    const [program, ...args] = argv;
    if (program === undefined) {
        throw new Error(`daemon ${name} was given an empty command`);
    }
    fs.mkdirSync(dir, { recursive: true });
    const logFile = path.join(dir, `${name}.log`);
    const log = fs.openSync(logFile, "a");
    const child = spawn(program, args, { detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    if (child.pid === undefined) {
        throw new Error(`could not start ${program}`);
    }
    child.unref();
    fs.writeFileSync(path.join(dir, `${name}.pid`), `${child.pid}\n`);
    return { name, pid: child.pid, logFile };
}

/** The daemon's last log lines, for an error message. */
function daemonLog(daemon: Daemon, lines = 15): string {
    try {
        return fs.readFileSync(daemon.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
        return "(no log)";
    }
}

/** Throws with the daemon's log when it has exited (e.g. its address was taken). */
export function checkAlive(daemon: Daemon): void {
    if (!isRunning(daemon.pid)) {
        throw new Error(`${daemon.name} exited; its log:\n${daemonLog(daemon)}`);
    }
}
