// Where the local benchmarks run: a work directory of their own, loopback addresses of their own
// (127.0.200.x-127.0.210.x: the tests use 127.0.19-127.0.4x, the local cluster command 127.0.1)
// and the release mirror.
import * as os from "os";
import * as path from "path";
import { buildClusterSpec } from "../core";
import { LocalCluster } from "../local/cluster";
import { buildMirror, startMirror } from "../local/mirror";
import { MIRROR_DIR } from "../local/paths";
import { stopAllAndRemove } from "../local/process";
import { addressPlan, resolveScenario, ScenarioInput } from "../local/scenario";
import { LOCAL_CLUSTER_OPTIONS } from "./healthy";
import { Outcome, outcome } from "./outcome";
import { Alone } from "./quiet";
import { interleaved } from "./stats";

/**
 * Outside the repository: here creating files under /work is some 30 times slower than elsewhere
 * on the same disk (each host copies /etc), which would swamp every run's set-up.
 */
export const BENCH_DIR = path.join(os.tmpdir(), "etcd-aws-bench");
const MIRROR_ADDRESS = "127.0.200.1";
const FIRST_SUBNET = 201;
const LAST_SUBNET = 210;

/** The loopback /24 of a configuration, by its place in the benchmark (0 to 9). */
export function benchSubnet(slot: number): string {
    if (!Number.isInteger(slot) || slot < 0 || FIRST_SUBNET + slot > LAST_SUBNET) {
        throw new Error(`no bench subnet ${slot}: the bench has 127.0.${FIRST_SUBNET}-127.0.${LAST_SUBNET}`);
    }
    return `127.0.${FIRST_SUBNET + slot}`;
}

/** Serves the release mirror (built from this machine's etcd binaries) while `use` runs. */
export async function withMirror<T>(use: (baseUrl: string) => Promise<T>): Promise<T> {
    buildMirror(MIRROR_DIR);
    const mirror = await startMirror(MIRROR_DIR, MIRROR_ADDRESS);
    try {
        return await use(mirror.baseUrl);
    } finally {
        await mirror.close();
    }
}

/**
 * Runs `use` in a fresh directory under BENCH_DIR; whatever happens, every process recorded
 * under it (members, DNS, discovery servers) is stopped by its PID and the directory removed.
 */
export async function inWorkDir<T>(name: string, use: (dir: string) => Promise<T>): Promise<T> {
    const dir = path.join(BENCH_DIR, name);
    await stopAllAndRemove(dir);
    try {
        return await use(dir);
    } finally {
        await stopAllAndRemove(dir);
    }
}

/**
 * Measures every configuration `rounds` times, interleaved, each run alone on the machine and in a
 * fresh work directory `<part>/<label>-r<round>`; a failed run is recorded with its reason.
 */
export function measureInWorkDirs<C, T>(
    part: string,
    configurations: readonly C[],
    label: (configuration: C) => string,
    rounds: number,
    alone: Alone,
    measure: (configuration: C, dir: string) => Promise<T>,
): Promise<Map<C, Outcome<T>[]>> {
    return interleaved(configurations, rounds, (configuration, round) =>
        alone(() =>
            outcome(() => inWorkDir(`${part}/${label(configuration)}-r${round}`, (dir) => measure(configuration, dir))),
        ),
    );
}

/** Fresh hosts, nothing installed, of a static cluster on the input's addresses. */
export function staticCluster(input: ScenarioInput): LocalCluster {
    const settings = resolveScenario({ ...input, scenario: "static" });
    return LocalCluster.create(
        input.dir,
        settings,
        buildClusterSpec(settings, addressPlan(input.subnet).members, "unused"),
        {},
        LOCAL_CLUSTER_OPTIONS,
    );
}
