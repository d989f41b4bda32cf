// Launch-to-healthy times of the run: printed as a table after the whole suite and written to
// .local/real-etcd-timings.json so they can be reported.
import * as fs from "fs";
import * as path from "path";
import { LOCAL_DIR } from "../../local/paths";
import { textTable } from "./table";

export interface Timing {
    readonly scenario: string;
    readonly etcdVersion: string;
    /** From starting the members to the health gate passing. */
    readonly seconds: number;
}

export const TIMINGS_FILE = path.join(LOCAL_DIR, "real-etcd-timings.json");

const timings: Timing[] = [];

export function recordTiming(scenario: string, etcdVersion: string, seconds: number): void {
    timings.push({ scenario, etcdVersion, seconds: Math.round(seconds * 100) / 100 });
}

function table(rows: readonly Timing[]): string {
    return textTable(
        ["scenario", "etcd", "seconds"],
        rows.map((t) => [t.scenario, t.etcdVersion, t.seconds.toFixed(2)]),
    );
}

// Root-level: runs once, after every test file.
after(() => {
    if (timings.length === 0) {
        return;
    }
    const sorted = [...timings].sort(
        (a, b) => a.scenario.localeCompare(b.scenario) || a.etcdVersion.localeCompare(b.etcdVersion),
    );
    console.log(`\nlaunch to healthy (start of the launch scripts to the health gate passing):\n${table(sorted)}`);
    fs.mkdirSync(LOCAL_DIR, { recursive: true });
    fs.writeFileSync(
        TIMINGS_FILE,
        `${JSON.stringify({ measuredAt: new Date().toISOString(), timings: sorted }, null, 2)}\n`,
    );
    console.log(`(written to ${path.relative(process.cwd(), TIMINGS_FILE)})`);
});
