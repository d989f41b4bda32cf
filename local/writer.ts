// A bounded writer for change scenarios: unique keys at a steady pace through etcdctl, as an
// application outside the cluster would write them. Each write is retried (rotating the
// endpoints) until acknowledged or until its retry budget is spent, when it counts as failed.
import { run } from "./process";

/** How the writer reaches the cluster: an etcdctl binary and its connection flags (TLS files, user). */
export interface EtcdClient {
    readonly etcdctl: string;
    readonly flags: readonly string[];
}

export interface WriterOptions {
    readonly client: EtcdClient;
    readonly endpoints: readonly string[];
    /** Keys are `<prefix>/<sequence number>`. */
    readonly prefix: string;
    /** Pause after each write (acknowledged or failed) before the next one. */
    readonly intervalMs: number;
    /** How long one write is retried before it counts as failed. */
    readonly retryBudgetMs: number;
    /** The writer stops by itself after this long, whatever happens to the test. */
    readonly maxDurationMs: number;
}

export interface FailedWrite {
    readonly key: string;
    /** etcdctl's last error line for the write's last attempt. */
    readonly error: string;
}

export interface WriterReport {
    /** Acknowledged keys, in order. */
    readonly written: readonly string[];
    readonly failed: readonly FailedWrite[];
    /** Attempts that failed but were retried (a write may need several). */
    readonly retries: number;
    /** The longest time without an acknowledgement while the writer ran (from its start). */
    readonly longestStallMs: number;
}

const ATTEMPT_TIMEOUT_MS = 5_000;
const RETRY_PAUSE_MS = 200;

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last non-empty line etcdctl printed, e.g. "Error: etcdserver: request timed out". */
function lastLine(text: string): string {
    return text.trim().split("\n").filter(Boolean).slice(-1)[0] ?? "(no output)";
}

export class Writer {
    private readonly acknowledgedAt: number[] = [];
    private readonly written: string[] = [];
    private readonly failed: FailedWrite[] = [];
    private retries = 0;
    private stopped = false;
    private readonly startedAt = Date.now();
    private readonly done: Promise<void>;

    private constructor(private readonly options: WriterOptions) {
        this.done = this.loop();
    }

    static start(options: WriterOptions): Writer {
        return new Writer(options);
    }

    /** Acknowledged writes so far. */
    get acknowledged(): number {
        return this.written.length;
    }

    /** Writes that failed after their retries, so far. */
    get failures(): number {
        return this.failed.length;
    }

    /** Acknowledged writes since `time` (ms since the epoch). */
    acknowledgedSince(time: number): number {
        return this.acknowledgedAt.filter((at) => at >= time).length;
    }

    /** Stops after the write in progress; resolves with what happened. */
    async stop(): Promise<WriterReport> {
        this.stopped = true;
        await this.done;
        let previous = this.startedAt;
        const gaps = this.acknowledgedAt.map((at) => {
            const gap = at - previous;
            previous = at;
            return gap;
        });
        return {
            written: [...this.written],
            failed: [...this.failed],
            retries: this.retries,
            longestStallMs: Math.max(0, ...gaps),
        };
    }

    private async loop(): Promise<void> {
        const deadline = this.startedAt + this.options.maxDurationMs;
        for (let sequence = 0; !this.stopped && Date.now() < deadline; sequence++) {
            await this.write(`${this.options.prefix}/${String(sequence).padStart(6, "0")}`, `value-${sequence}`);
            await sleep(this.options.intervalMs);
        }
    }

    private async write(key: string, value: string): Promise<void> {
        const giveUpAt = Date.now() + this.options.retryBudgetMs;
        for (let attempt = 0; ; attempt++) {
            const error = await this.attempt(key, value, attempt);
            if (error === undefined) {
                this.written.push(key);
                this.acknowledgedAt.push(Date.now());
                return;
            }
            if (Date.now() >= giveUpAt) {
                this.failed.push({ key, error });
                return;
            }
            this.retries++;
            await sleep(RETRY_PAUSE_MS);
        }
    }

    /** One `etcdctl put`, its endpoints rotated by the attempt number; the error line, or undefined. */
    private async attempt(key: string, value: string, attempt: number): Promise<string | undefined> {
        const { client, endpoints } = this.options;
        const shift = attempt % endpoints.length;
        const rotated = [...endpoints.slice(shift), ...endpoints.slice(0, shift)];
        const argv = [
            client.etcdctl,
            `--endpoints=${rotated.join(",")}`,
            "--dial-timeout=2s",
            "--command-timeout=3s",
            ...client.flags,
            "put",
            key,
            value,
        ];
        const result = await run(argv, { timeoutMs: ATTEMPT_TIMEOUT_MS, env: { ETCDCTL_API: "3" } });
        if (result.code === 0 && result.stdout.trim() === "OK") {
            return undefined;
        }
        return result.timedOut
            ? `no answer within ${ATTEMPT_TIMEOUT_MS} ms`
            : lastLine(`${result.stderr}\n${result.stdout}`);
    }
}
