// Measurements taken while another test suite runs (another engineer's, on this shared machine)
// are noise: each run waits until none runs, and is repeated when one started meanwhile.
import * as fs from "fs";
import * as path from "path";
import { waitFor } from "../local/process";

function commandLine(pid: string): string[] {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
        return [];
    }
}

/** etcd processes on the machine; between our runs, all of them belong to someone else. */
function etcdProcessesRunning(): number {
    return fs
        .readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
            try {
                return path.basename(fs.readlinkSync(`/proc/${pid}/exe`)) === "etcd";
            } catch {
                return false;
            }
        }).length;
}

/**
 * PIDs of mocha runs (another engineer's test suite): measurements taken beside one are noise.
 * Mocha is the program (or node's script), not a later argument: `flock <lock> mocha ...` only
 * waits for the real-etcd lock (which a bench run may hold) and runs nothing yet.
 */
function testSuitesRunning(): number[] {
    return fs
        .readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
        .filter((pid) =>
            commandLine(pid)
                .slice(0, 2)
                .some((arg) => /(^|\/)mocha$/.test(arg) || arg.includes("/mocha/bin/")),
        )
        .map(Number);
}

/** Returns once no test suite runs, with the seconds it waited; waits (polling) at most `maxWaitMs`. */
async function waitForQuietMachine(maxWaitMs: number): Promise<number> {
    const running = testSuitesRunning();
    if (running.length === 0 || maxWaitMs === 0) {
        return 0;
    }
    console.log(
        `  waiting for the test suite running as PID ${running.join(", ")} to finish (waiting at most ${Math.round(maxWaitMs / 1000)} s)`,
    );
    const started = Date.now();
    await waitFor("other test suites to finish", maxWaitMs, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        return testSuitesRunning().length === 0 ? true : undefined;
    });
    return (Date.now() - started) / 1000;
}

/** What keeping runs alone cost, and what it could not keep away; reported with the results. */
export interface Disturbances {
    secondsWaited: number;
    /** Runs done again because a test suite ran during them. */
    repeatedRuns: number;
    /** Runs kept although a suite ran during every attempt. */
    disturbedRuns: number;
    /** Most etcd processes of others running when a run started. */
    otherEtcdProcesses: number;
}

/** Runs a measurement alone on the machine (see below). */
export type Alone = <T>(measure: () => Promise<T>) => Promise<T>;

const ATTEMPTS = 3;
const WATCH_INTERVAL_MS = 1_000;

/** Runs `measure`, checking every second whether a test suite runs (a few hundred small /proc reads). */
async function watched<T>(measure: () => Promise<T>): Promise<{ result: T; disturbed: boolean }> {
    let disturbed = false;
    const timer = setInterval(() => (disturbed ||= testSuitesRunning().length > 0), WATCH_INTERVAL_MS);
    try {
        const result = await measure();
        return { result, disturbed: disturbed || testSuitesRunning().length > 0 };
    } finally {
        clearInterval(timer);
    }
}

/**
 * Each measurement waits until no test suite runs (at most `maxWaitMs`), and is done again (up to
 * three attempts in all) when one ran during it; `noise` adds up what that took. With a `maxWaitMs`
 * of 0 (a machine whose suites never stop) each is measured at once, once, and counted as
 * disturbed when a suite ran during it.
 */
export function alone(maxWaitMs: number, noise: Disturbances): Alone {
    const attempts = maxWaitMs === 0 ? 1 : ATTEMPTS;
    return async <T>(measure: () => Promise<T>): Promise<T> => {
        for (let attempt = 1; ; attempt++) {
            noise.secondsWaited += await waitForQuietMachine(maxWaitMs);
            noise.otherEtcdProcesses = Math.max(noise.otherEtcdProcesses, etcdProcessesRunning());
            const { result, disturbed } = await watched(measure);
            if (!disturbed) {
                return result;
            }
            if (attempt === attempts) {
                noise.disturbedRuns++;
                return result;
            }
            noise.repeatedRuns++;
        }
    };
}
