// Shared by the real-etcd tests: a work directory, a loopback /24 and a release mirror per
// scenario, each cleaned up in after() whatever happened; and the suite-wide clean start.
import * as path from "path";
import { ClusterOptions } from "../../local/cluster";
import { LocalHost } from "../../local/host";
import { buildMirror, MirrorOptions, RunningMirror, startMirror } from "../../local/mirror";
import { LOCAL_DIR, MIRROR_DIR } from "../../local/paths";
import { stopAllAndRemove, waitFor } from "../../local/process";
import { Scenario, ScenarioInput } from "../../local/scenario";

/** The local etcd releases every scenario runs on: Debian's 3.4 and 3.5, and the default and newest 3.6 and 3.7 built from tools/etcd. */
export const VERSIONS = ["3.4.23", "3.5.16", "3.6.14", "3.6.16", "3.7.3"] as const;

/**
 * The release of the fault scenarios (test/real/change.test.ts, minutes each): the newest 3.6 alone, so the suite
 * stays within CI's budget; the changes (scale, rolling restarts) run on 3.5 and 3.6 on the local stack.
 */
export const CHANGE_VERSIONS = ["3.6.16"] as const;

/**
 * The releases the local stack's changes run on (test/real/local-stack-changes.test.ts): 3.5 and the newest 3.6,
 * the two lines the program deploys by default and upgrades from.
 */
export const LOCAL_STACK_VERSIONS = ["3.5.16", "3.6.16"] as const satisfies readonly (typeof VERSIONS)[number][];

/**
 * The rolling upgrade chain (test/real/upgrade.test.ts): the oldest local release, then each supported hop up to the
 * newest line. Debian sid's 3.5.30 (the patch 3.6 asks for first) is here only: in VERSIONS every scenario would run
 * on it too.
 */
export const UPGRADE_CHAIN = ["3.4.23", "3.5.16", "3.5.30", "3.6.16", "3.7.3"] as const;

export const TEST_DIR = path.join(LOCAL_DIR, "real-etcd");

/** The mirror's address; each mirror picks a free port on it. */
const MIRROR_ADDRESS = "127.0.19.1";

/** REAL_ECHO=1 shows the rendered scripts' progress lines as they run (quiet by default). */
export const CLUSTER_OPTIONS: ClusterOptions = {
    healthTimeoutSeconds: 60,
    echo: process.env.REAL_ECHO === "1" ? process.stderr : undefined,
};

// A process killed mid-run leaves its members running: stop them (by their PID files) first.
before(async function () {
    this.timeout(120_000);
    await stopAllAndRemove(TEST_DIR);
    buildMirror(MIRROR_DIR);
});

let nextSubnet = 20;

/**
 * A loopback /24 per scenario of the run, from 127.0.20 on (127.0.1 is the local cluster
 * command's), so no two scenarios, and no running local cluster, share an address.
 */
function freshSubnet(): string {
    return `127.0.${nextSubnet++}`;
}

export interface Workspace {
    readonly dir: string;
    readonly subnet: string;
    readonly mirror: RunningMirror;
}

/**
 * Registers before/after hooks giving the enclosing describe a workspace: its directory, its
 * subnet and a running mirror. after() stops every process recorded under the directory.
 */
export function useWorkspace(name: string, mirrorOptions: MirrorOptions = {}): () => Workspace {
    const dir = path.join(TEST_DIR, name);
    const subnet = freshSubnet();
    let workspace: Workspace | undefined;
    before(async () => {
        workspace = { dir, subnet, mirror: await startMirror(MIRROR_DIR, MIRROR_ADDRESS, mirrorOptions) };
    });
    after(async function () {
        this.timeout(60_000);
        await workspace?.mirror.close();
        await stopAllAndRemove(dir);
    });
    return () => {
        if (!workspace) {
            throw new Error(`workspace ${name} is not ready`);
        }
        return workspace;
    };
}

/** A cluster name per scenario and release, e.g. "dns-v3-6-16" (names become tokens: unique per run, two 3.6 releases included). */
export function clusterName(scenario: Scenario | string, version: string): string {
    return `${scenario}-v${version.replace(/\./g, "-")}`;
}

export function scenarioInput(workspace: Workspace, scenario: Scenario, version: string): ScenarioInput {
    return {
        scenario,
        version,
        clusterName: clusterName(scenario, version),
        dir: workspace.dir,
        subnet: workspace.subnet,
        mirrorBaseUrl: workspace.mirror.baseUrl,
    };
}

/** Waits until the host's etcd has exited (it refused to start) and returns its last log lines. */
export async function exitLog(host: LocalHost, timeoutMs = 30_000): Promise<string> {
    await waitFor(`etcd on ${host.name} to exit`, timeoutMs, () => (host.etcdRunning() ? undefined : true));
    return host.etcdLog(40);
}

/** A log line as read: etcd's JSON lines as "message: error", other lines as they are. */
function readable(line: string): string {
    try {
        const entry = JSON.parse(line) as { msg?: string; error?: string };
        return [entry.msg, entry.error].filter(Boolean).join(": ");
    } catch {
        return line;
    }
}

/** The first log line (read as above) matching `pattern`. */
export function logLine(log: string, pattern: RegExp): string | undefined {
    return log
        .split("\n")
        .map(readable)
        .find((line) => pattern.test(line));
}
