// What the writers of the change scenarios saw: printed as a table after the whole suite and
// written to .local/real-etcd-change.json so it can be reported.
import * as fs from "fs";
import * as path from "path";
import { LOCAL_DIR } from "../../local/paths";
import { WriterReport } from "../../local/writer";
import { textTable } from "./table";

export interface ChangeOutcome {
    readonly scenario: string;
    readonly etcdVersion: string;
    readonly keysWritten: number;
    /** Keys under the scenario's prefix read back from every member (the fewest any member had). */
    readonly keysReadBack: number;
    readonly failedWrites: number;
    readonly retries: number;
    readonly longestStallMs: number;
    /** The distinct errors of the failed writes. */
    readonly errors: readonly string[];
    /** A change of the local stack: how the `pulumi up` (or destroy) went. */
    readonly stack?: StackChangeFigures;
}

/** What a local stack change's run showed besides the writes. */
export interface StackChangeFigures {
    /** How long the `up` (or `destroy`) took. */
    readonly upSeconds: number;
    /** The most members found down at one time while it ran (sampled). */
    readonly mostDown: number;
    /** Members after it, each started and healthy (0 after a destroy). */
    readonly healthyMembers: number;
}

export const CHANGE_REPORT_FILE = path.join(LOCAL_DIR, "real-etcd-change.json");

const outcomes: ChangeOutcome[] = [];

export function recordChange(
    scenario: string,
    etcdVersion: string,
    report: WriterReport,
    keysReadBack: number,
    stack?: StackChangeFigures,
): ChangeOutcome {
    const outcome = {
        stack,
        scenario,
        etcdVersion,
        keysWritten: report.written.length,
        keysReadBack,
        failedWrites: report.failed.length,
        retries: report.retries,
        longestStallMs: report.longestStallMs,
        errors: [...new Set(report.failed.map((failure) => failure.error))],
    };
    outcomes.push(outcome);
    return outcome;
}

/** One line for the test's own output. */
export function describeOutcome(outcome: ChangeOutcome): string {
    const errors = outcome.errors.length > 0 ? `; failed with: ${outcome.errors.join(" | ")}` : "";
    // A write whose client gave up on a timeout may still have been committed: read back, not lost.
    const committed = outcome.keysReadBack - outcome.keysWritten;
    const committedAnyway =
        committed > 0
            ? `, ${committed} of them committed after all (the client timed out; a timeout is not a refusal)`
            : "";
    return `${outcome.keysWritten} keys written, ${outcome.keysReadBack} read back, ${outcome.failedWrites} failed writes${committedAnyway} (${outcome.retries} retried attempts), longest stall ${outcome.longestStallMs} ms${errors}`;
}

function table(rows: readonly ChangeOutcome[]): string {
    const header = ["scenario", "etcd", "written", "read back", "failed", "retries", "longest stall ms"];
    const stackHeader = ["up s", "most down", "healthy after"];
    const withStack = rows.some((o) => o.stack !== undefined);
    return textTable(
        withStack ? [...header, ...stackHeader] : header,
        rows.map((o) => {
            const cells = [
                o.scenario,
                o.etcdVersion,
                o.keysWritten,
                o.keysReadBack,
                o.failedWrites,
                o.retries,
                o.longestStallMs,
            ].map(String);
            if (!withStack) return cells;
            const { upSeconds, mostDown, healthyMembers } = o.stack ?? {};
            const stackCells = [upSeconds?.toFixed(0), mostDown, healthyMembers].map((cell) => String(cell ?? "-"));
            return [...cells, ...stackCells];
        }),
    );
}

// Root-level: runs once, after every test file.
after(() => {
    if (outcomes.length === 0) {
        return;
    }
    console.log(
        `\nwrites through change (bounded writer, retries allowed; keys read back from every member):\n${table(outcomes)}`,
    );
    fs.mkdirSync(LOCAL_DIR, { recursive: true });
    fs.writeFileSync(
        CHANGE_REPORT_FILE,
        `${JSON.stringify({ measuredAt: new Date().toISOString(), outcomes }, null, 2)}\n`,
    );
    console.log(`(written to ${path.relative(process.cwd(), CHANGE_REPORT_FILE)})`);
});
