// The etcd clustering guide's hand-written static commands (infra0-infra2), run on local hosts:
// the baseline the rendered deployments are timed against. etcd's defaults plus the flags a
// static cluster cannot do without, started from a shell as an operator would.
import { DEFAULT_PORTS, HOST_PATHS } from "../core/host-contract";
import { LocalCluster } from "./cluster";

/** The guide's command for infra<index>, with `addresses` in place of 10.0.1.10-12. */
function guideCommand(addresses: readonly string[], index: number): string[] {
    const peer = (address: string) => `http://${address}:${DEFAULT_PORTS.peer}`;
    const address = addresses[index];
    if (address === undefined) {
        throw new Error(`no address for infra${index} among the ${addresses.length} guide members`);
    }
    return [
        "etcd",
        "--name",
        `infra${index}`,
        "--initial-advertise-peer-urls",
        peer(address),
        "--listen-peer-urls",
        peer(address),
        // The guide adds http://127.0.0.1:2379; local hosts share one loopback, so it would collide.
        "--listen-client-urls",
        `http://${address}:${DEFAULT_PORTS.client}`,
        "--advertise-client-urls",
        `http://${address}:${DEFAULT_PORTS.client}`,
        "--initial-cluster-token",
        "etcd-cluster-1",
        "--initial-cluster",
        addresses.map((a, i) => `infra${i}=${peer(a)}`).join(","),
        "--initial-cluster-state",
        "new",
    ];
}

// Detached, with its PID recorded where clean-up looks (a simple command after "&", so $! is
// etcd itself, not a subshell).
const START_DETACHED = `cd ${HOST_PATHS.dataMount} || exit; setsid "$@" </dev/null >>${HOST_PATHS.logFile} 2>&1 & echo "$!" >${HOST_PATHS.pidFile}`;

const START_TIMEOUT_MS = 30_000;

/**
 * Runs the guide's command on every host of `cluster` at once (hosts of a static cluster on the
 * same addresses: core's install script gave them the binaries, its gate has the same endpoints);
 * returns when each has started etcd.
 */
export async function startGuideMembers(cluster: LocalCluster): Promise<void> {
    const addresses = cluster.members.map(({ member }) => member.address);
    await Promise.all(
        cluster.members.map(async ({ host }, index) => {
            const result = await host.exec(["bash", "-c", START_DETACHED, "start", ...guideCommand(addresses, index)], {
                timeoutMs: START_TIMEOUT_MS,
            });
            if (result.code !== 0) {
                throw new Error(`starting infra${index} on ${host.name} failed:\n${result.stderr}`);
            }
        }),
    );
}
