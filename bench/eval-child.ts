// One measurement of benchmark 2, in a process of its own so that its peak memory is its own: loads
// the package as a program does, builds <clusters> clusters of <members> members under mocks and
// prints what that cost as one JSON line. Usage: eval-child.ts <members> <clusters>
import type { EvaluationSample } from "./eval-bench";

async function main(members: number, clusters: number): Promise<EvaluationSample> {
    const loadStarted = performance.now();
    // Everything a program loads before it runs: the SDK, the providers, the package.
    await import("../components");
    const { runClusters } = await import("./mock-clusters");
    const loadMs = performance.now() - loadStarted;
    const rssAfterLoadMiB = process.memoryUsage.rss() / 2 ** 20;
    const { run, evaluationMs } = await runClusters({ memberCount: members }, clusters);
    return {
        loadMs,
        evaluationMs,
        resources: run.resources.length,
        rssAfterLoadMiB,
        peakRssMiB: process.resourceUsage().maxRSS / 2 ** 10,
    };
}

const [members, clusters] = process.argv.slice(2).map(Number);
if (members === undefined || clusters === undefined) {
    console.error("usage: eval-child.ts <members> <clusters>");
    process.exit(2);
}
main(members, clusters).then(
    (sample) => console.log(JSON.stringify(sample)),
    (error: Error) => {
        console.error(error.stack);
        process.exit(1);
    },
);
