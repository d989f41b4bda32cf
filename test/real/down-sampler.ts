// Which members answer while a change runs, sampled: the most of them found down at one time (the local stack's
// change tests and the old graph's test).
import { run } from "../../local/process";
import { EtcdClient } from "../../local/writer";

const SAMPLE_INTERVAL_MS = 1_000;

/** Samples which of `endpoints` answer `endpoint status` while a change runs; keeps the most found down at once. */
export class DownSampler {
    mostDown = 0;
    samples = 0;
    private stopped = false;
    private readonly done: Promise<void>;

    constructor(
        private readonly client: EtcdClient,
        private readonly endpoints: readonly string[],
    ) {
        this.done = this.loop();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.done;
    }

    private async loop(): Promise<void> {
        while (!this.stopped) {
            const started = Date.now();
            const result = await run(
                [
                    this.client.etcdctl,
                    `--endpoints=${this.endpoints.join(",")}`,
                    "--dial-timeout=2s",
                    "--command-timeout=3s",
                    ...this.client.flags,
                    "endpoint",
                    "status",
                    "--write-out=json",
                ],
                { timeoutMs: 15_000, env: { ETCDCTL_API: "3" } },
            );
            // A sample etcdctl could not finish says nothing about the members.
            if (!result.timedOut) {
                const answered = new Set(
                    (JSON.parse(result.stdout.trim() || "[]") as { Endpoint: string }[]).map((s) => s.Endpoint),
                );
                this.mostDown = Math.max(this.mostDown, this.endpoints.filter((e) => !answered.has(e)).length);
                this.samples++;
            }
            await new Promise((resolve) =>
                setTimeout(resolve, Math.max(0, SAMPLE_INTERVAL_MS - (Date.now() - started))),
            );
        }
    }
}
