// EtcdCluster components built under the mock engine (plan/mock-engine.ts), as a program holding
// `count` clusters would build them, timed from the first constructor call to the last resource
// registered: what a preview spends in the program before any provider call.
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { EtcdClusterArgs } from "../components";
import { MockRun, runUnderMocks } from "../plan/mock-engine";

const ROOT = path.resolve(__dirname, "..");

/** Only its presence matters under mocks. */
const SSH = { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nbench\n-----END OPENSSH PRIVATE KEY-----" };

/** Name of cluster `index` of a program; member i of it is `<name>-<i>`. */
export function benchClusterName(index: number): string {
    return `bench${index}-etcd`;
}

export interface TimedRun {
    readonly run: MockRun;
    readonly evaluationMs: number;
}

export async function runClusters(args: Partial<EtcdClusterArgs>, count: number): Promise<TimedRun> {
    let started = 0;
    let lastRegistration = 0;
    const run = await runUnderMocks({ stack: "bench" }, () => {
        // runUnderMocks has just installed a fresh mock monitor: note when registrations reach it.
        const monitor = pulumi.runtime.getMonitor() as { registerResource: (...args: unknown[]) => unknown };
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (...request: unknown[]) => {
            lastRegistration = performance.now();
            return register(...request);
        };
        // Loaded here: runUnderMocks makes the component's module (its token registry) fresh per run.
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load inside the run
        const { EtcdCluster } = require(path.join(ROOT, "components")) as typeof import("../components");
        started = performance.now();
        for (let i = 0; i < count; i++) {
            new EtcdCluster(benchClusterName(i), { ssh: SSH, ...args });
        }
        return {};
    });
    return { run, evaluationMs: lastRegistration - started };
}
