// Running commands with a time limit, and stopping processes we started by their recorded PID.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface RunOptions {
    /** Killed (with its whole process group) when it runs longer than this. */
    readonly timeoutMs: number;
    readonly stdin?: string;
    readonly env?: NodeJS.ProcessEnv;
    /** Where to copy the command's stderr as it arrives (progress of the rendered scripts). */
    readonly echo?: NodeJS.WritableStream;
}

export interface RunResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly timedOut: boolean;
}

export function run(argv: readonly string[], options: RunOptions): Promise<RunResult> {
    const [program, ...args] = argv;
    if (program === undefined) {
        return Promise.reject(new Error("run was given an empty command"));
    }
    return new Promise((resolve, reject) => {
        // Its own process group, so a timeout also ends whatever the command started in it.
        // No input: stdin is closed from the start rather than written to, since a command that
        // exits first (etcdctl put under a busy machine) would make that write fail with EPIPE.
        const stdin = options.stdin === undefined ? "ignore" : "pipe";
        const child = spawn(program, args, {
            env: options.env ?? process.env,
            detached: true,
            stdio: [stdin, "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            killGroup(child.pid);
        }, options.timeoutMs);
        child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr?.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
            options.echo?.write(chunk);
        });
        child.on("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, timedOut });
        });
        if (child.stdin) {
            // A command may exit without reading all of its input; its exit status says how it went.
            child.stdin.on("error", () => undefined);
            child.stdin.end(options.stdin);
        }
    });
}

function killGroup(pid: number | undefined): void {
    if (pid === undefined) {
        return;
    }
    try {
        process.kill(-pid, "SIGKILL");
    } catch {
        // already gone
    }
}

/** Runs and returns stdout; a failure or timeout throws with the command's stderr. */
export async function runChecked(argv: readonly string[], options: RunOptions): Promise<string> {
    const result = await run(argv, options);
    if (result.code !== 0) {
        const why = result.timedOut ? `timed out after ${options.timeoutMs} ms` : `exited with ${result.code}`;
        throw new Error(`${argv.join(" ")} ${why}:\n${result.stderr}${result.stdout}`);
    }
    return result.stdout;
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(
    what: string,
    timeoutMs: number,
    check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() >= deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await sleep(100);
    }
}

/** Alive and not a zombie (a zombie still answers kill -0). */
export function isRunning(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

function executableName(pid: number): string | undefined {
    try {
        return path.basename(fs.readlinkSync(`/proc/${pid}/exe`));
    } catch {
        return undefined;
    }
}

/** The PID a file records, if it holds one. */
export function readPidFile(pidFile: string): number | undefined {
    try {
        const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
        return Number.isInteger(pid) && pid > 1 ? pid : undefined;
    } catch {
        return undefined;
    }
}

/** The programs this layer starts; a recorded PID now running anything else is not ours to stop. */
const OUR_PROGRAMS: ReadonlySet<string> = new Set(["etcd", "dnsmasq", "discovery.etcd.io"]);

/** Linux's clock ticks per second (USER_HZ), the unit of a process's start time in /proc. */
const CLOCK_TICKS_PER_SECOND = 100;

/** When `pid` started, in seconds since the epoch (whole seconds: the boot time's precision). */
function processStartSeconds(pid: number): number | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
        const boot = Number(/^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"))?.[1]);
        return Number.isFinite(ticks) && Number.isFinite(boot) ? boot + ticks / CLOCK_TICKS_PER_SECOND : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The PID `pidFile` records if that process still runs and started before the file was written: a
 * process that started later has a reused PID and is not the one recorded.
 */
export function recordedProcess(pidFile: string): number | undefined {
    const pid = readPidFile(pidFile);
    if (pid === undefined || !isRunning(pid)) return undefined;
    const started = processStartSeconds(pid);
    try {
        return started !== undefined && started <= fs.statSync(pidFile).mtimeMs / 1000 + 2 ? pid : undefined;
    } catch {
        return undefined; // the file went meanwhile
    }
}

/** The recorded process `pid`, if it runs one of our programs. */
function ourProgram(pid: number): { pid: number; name: string } | undefined {
    const name = executableName(pid);
    return name !== undefined && OUR_PROGRAMS.has(name) ? { pid, name } : undefined;
}

/** The process recorded in `pidFile`, if it still runs one of our programs. */
function ourProcess(pidFile: string): { pid: number; name: string } | undefined {
    const pid = recordedProcess(pidFile);
    return pid === undefined ? undefined : ourProgram(pid);
}

/**
 * Stops the process recorded in `pidFile` (SIGTERM, then SIGKILL after `graceMs`) if it still
 * runs one of our programs, and removes the file. A file whose recorded process runs another
 * program (moto, the IMDS stand-in: their owner stops them) is kept, so that process is not lost.
 * Returns the PID it stopped.
 */
async function stopRecorded(pidFile: string, graceMs = 10_000): Promise<number | undefined> {
    const recordedPid = recordedProcess(pidFile);
    const recorded = recordedPid === undefined ? undefined : ourProgram(recordedPid);
    if (recordedPid !== undefined && !recorded) {
        return undefined;
    }
    fs.rmSync(pidFile, { force: true });
    if (!recorded) {
        return undefined;
    }
    const { pid, name } = recorded;
    process.kill(pid, "SIGTERM");
    try {
        await waitFor(`${name} (pid ${pid}) to stop`, graceMs, () => (isRunning(pid) ? undefined : true));
    } catch {
        process.kill(pid, "SIGKILL");
        await waitFor(`${name} (pid ${pid}) to die`, 5_000, () => (isRunning(pid) ? undefined : true));
    }
    return pid;
}

/** Kills (SIGKILL, as `kill -9`) the process recorded in `pidFile` if it runs one of our programs; returns its PID once it is gone. */
export async function killRecorded(pidFile: string): Promise<number | undefined> {
    const recorded = ourProcess(pidFile);
    if (!recorded) {
        return undefined;
    }
    process.kill(recorded.pid, "SIGKILL");
    await waitFor(`${recorded.name} (pid ${recorded.pid}) to die`, 5_000, () =>
        isRunning(recorded.pid) ? undefined : true,
    );
    return recorded.pid;
}

/** Every `*.pid` file below `dir`: the processes started for it (members, DNS, discovery). */
function pidFilesUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) {
        return [];
    }
    return (fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) as string[])
        .filter((file) => file.endsWith(".pid"))
        .map((file) => path.join(dir, file));
}

/** Every process recorded under `dir` that still runs, whatever its program (not a reused PID). */
export function recordedUnder(dir: string): number[] {
    return pidFilesUnder(dir)
        .map(recordedProcess)
        .filter((pid): pid is number => pid !== undefined);
}

/** Whether a process recorded under `dir` still runs. */
export function anyRunning(dir: string): boolean {
    return pidFilesUnder(dir).some((file) => ourProcess(file) !== undefined);
}

/** Stops every process recorded under `dir`; returns their PIDs. */
export async function stopAll(dir: string): Promise<number[]> {
    const stopped: number[] = [];
    for (const pidFile of pidFilesUnder(dir)) {
        const pid = await stopRecorded(pidFile);
        if (pid !== undefined) {
            stopped.push(pid);
        }
    }
    return stopped;
}

/** Stops everything recorded under `dir` and deletes it: a work directory's full clean-up. */
export async function stopAllAndRemove(dir: string): Promise<number[]> {
    const stopped = await stopAll(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    return stopped;
}
