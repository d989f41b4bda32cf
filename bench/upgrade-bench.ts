// Benchmark 7: a rolling upgrade of 3 members on the local stack (the real program under the real engine against the
// local cloud), ours next to etcd's guide done by hand, in the same run. Two identical 3-member stacks in one local
// cloud, both running through the whole benchmark: one is upgraded by ours (`scripts/local-cluster.sh up --set
// etcd-aws:etcdVersion=<to>`), the other by an operator following the guide over SSH on each member in turn (fetch the
// release, stop etcd, replace the binaries, start etcd, wait until `etcdctl endpoint health` is true). Rounds alternate
// 3.6.14 -> 3.6.16 and back (a patch downgrade is allowed), and which way goes first. While each roll runs, every
// member's /health is sampled every 150 ms and a writer puts keys through all the endpoints; etcd's own logs give each
// member's restart (told to stop -> serving again).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { DEFAULT_SSH_USER, ETCD_UNIT, HOST_PATHS, PKI_FILES, RUN_SCRIPT_COMMAND } from "../core/host-contract";
import { buildMirror, localRelease, startMirror } from "../local/mirror";
import { MIRROR_DIR, REPO_ROOT } from "../local/paths";
import { run, runChecked, stopAll } from "../local/process";
import { Writer, WriterReport } from "../local/writer";
import { removeFirewall } from "../localcloud/aws/network";
import { MIRROR_ADDRESS, MIRROR_PORT, pulumiEnvironment, stackPaths } from "../localcloud/stack";
import { clientTlsFiles, localCluster, memberLogFiles, printedEndpoints, PULUMI } from "../test/real/local-stack-run";
import { RestartWindow, restartWindowsIn } from "../test/real/restarts";
import { waitForWrites } from "../test/real/writes";
import { inWorkDir } from "./local-env";
import { handovers } from "./lock-bench";
import { Outcome, outcome, SummaryRow, summaryRow } from "./outcome";
import { Alone, Disturbances } from "./quiet";
import { interleaved } from "./stats";

export const UPGRADE_VERSIONS = ["3.6.14", "3.6.16"] as const;
export const UPGRADE_WAYS = ["ours", "by hand"] as const;
export type UpgradeWay = (typeof UPGRADE_WAYS)[number];
const MEMBERS = 3;
/** Unchanged `up`s of ours' stack after the rounds. */
const UNCHANGED_UPS = 3;

/** A stack's first `up` or a roll's; the local stack tests give an `up` as long. */
const UP_TIMEOUT_MS = 480_000;
/** One member by hand: fetching the release, its restart and the wait for its health. */
const MEMBER_BY_HAND_TIMEOUT_MS = 120_000;
const SAMPLE_INTERVAL_MS = 150;
const REQUEST_TIMEOUT_MS = 1_000;
/** Acknowledged writes before the roll starts and after it ends, so both ends of the roll have writes. */
const WRITES_AROUND = 10;
const WRITE_INTERVAL_MS = 50;
/** Longer than an election: a write still unanswered after it counts as failed. */
const RETRY_BUDGET_MS = 5_000;

/** One member's part in a roll, in the order the roll restarted them. */
export interface MemberRestart {
    readonly member: string;
    /** It led the cluster when the roll started. */
    readonly wasLeader: boolean;
    /** From etcd's log: told to stop -> serving client traffic again. */
    readonly restartSeconds: number;
    /** The longest stretch without a healthy /health answer (a failed sample's neighbours bound it). */
    readonly unavailableSeconds: number;
}

export interface UpgradeSample {
    readonly from: string;
    readonly to: string;
    /** Ours: the `up` command, start to exit; by hand: the first SSH session's start to the last one's end. */
    readonly totalSeconds: number;
    /** Start -> the first member told to stop. */
    readonly beforeFirstRestartSeconds: number;
    /** The three restarts (etcd's logs). */
    readonly restartsSeconds: number;
    /** One member serving again -> the next one told to stop, summed. */
    readonly betweenRestartsSeconds: number;
    /** The last member serving again -> the end. */
    readonly afterLastRestartSeconds: number;
    /** Ours: the command's time outside the engine's update (its "Duration"); NaN by hand. */
    readonly outsideEngineSeconds: number;
    /** Ours: start -> the first member's release installed (its links); NaN by hand. */
    readonly firstInstalledSeconds: number;
    /** Ours: each member's release installed -> it is told to stop (the launch before its restart), summed. */
    readonly launchesSeconds: number;
    /** Ours: a member serving again -> the next member's release installed, summed. */
    readonly nextInstallsSeconds: number;
    /** By hand: download, check and unpack of the release on each member, summed; NaN for ours. */
    readonly fetchSeconds: number;
    /** 1-based place in the roll of the member that led when it started. */
    readonly leaderPosition: number;
    readonly firstUnavailableSeconds: number;
    readonly secondUnavailableSeconds: number;
    readonly thirdUnavailableSeconds: number;
    readonly longestUnavailableSeconds: number;
    /** The writer's longest wait for an acknowledgement. */
    readonly longestStallSeconds: number;
    readonly writes: number;
    readonly failedWrites: number;
    readonly members: readonly MemberRestart[];
}

export type UpgradeRow = SummaryRow<{ readonly way: UpgradeWay }, UpgradeSample>;

export interface UpgradeResults {
    readonly measuredAt: string;
    readonly durationSeconds: number;
    readonly commit: string;
    readonly versions: readonly string[];
    readonly rounds: number;
    /** The two stacks' first `up` (3 members at the first version), one after the other. */
    readonly createSeconds: number;
    /** Ours' stack after the rounds: `up` with nothing to change, start to exit, each time (the floor of any `up`). */
    readonly unchangedUpSeconds?: readonly number[];
    readonly destroySeconds: number;
    readonly disturbances: Disturbances;
    readonly rows: readonly UpgradeRow[];
}

/** A sample of a member's /health: when it was answered (or given up), and whether healthy. */
export interface HealthSample {
    readonly at: number;
    readonly healthy: boolean;
}

/**
 * The longest stretch a member did not answer healthy: from the last healthy sample before one or more failed ones to
 * the first healthy one after (0 when every sample was healthy). A stretch still open at the end runs to the end.
 */
export function longestUnavailable(samples: readonly HealthSample[]): number {
    let longest = 0;
    let lastHealthy = samples[0]?.at;
    let failed = false;
    for (const sample of samples) {
        if (!sample.healthy) {
            failed = true;
            continue;
        }
        if (failed && lastHealthy !== undefined) longest = Math.max(longest, sample.at - lastHealthy);
        lastHealthy = sample.at;
        failed = false;
    }
    const last = samples.at(-1);
    if (failed && last !== undefined && lastHealthy !== undefined) longest = Math.max(longest, last.at - lastHealthy);
    return longest / 1000;
}

/** The engine's own time for an update, as `pulumi up` prints it ("Duration: 1m5s"); NaN when absent. */
export function engineSeconds(output: string): number {
    const match = /^Duration: (?:(\d+)m)?(\d+(?:\.\d+)?)s$/m.exec(output);
    return match ? Number(match[1] ?? 0) * 60 + Number(match[2]) : Number.NaN;
}

/** Where a roll's time went: before, during and between the restarts, and after the last one. */
export function rollPhases(
    windows: readonly RestartWindow[],
    started: number,
    ended: number,
): Pick<
    UpgradeSample,
    "beforeFirstRestartSeconds" | "restartsSeconds" | "betweenRestartsSeconds" | "afterLastRestartSeconds"
> {
    const first = windows[0];
    const last = windows.at(-1);
    if (first === undefined || last === undefined) throw new Error("a roll without restarts has no phases");
    return {
        beforeFirstRestartSeconds: (first.stopped - started) / 1000,
        restartsSeconds: windows.reduce((sum, w) => sum + (w.serving - w.stopped), 0) / 1000,
        betweenRestartsSeconds: handovers(windows, windows.length).reduce((sum, gap) => sum + gap, 0),
        afterLastRestartSeconds: (ended - last.serving) / 1000,
    };
}

/** The client's TLS files of a local stack (written by its `up`). */
interface ClientTls {
    readonly ca: Buffer;
    readonly cert: Buffer;
    readonly key: Buffer;
    readonly flags: readonly string[];
}

function clientTls(stack: string): ClientTls {
    const files = clientTlsFiles(stack);
    return {
        ca: fs.readFileSync(files.cacert),
        cert: fs.readFileSync(files.cert),
        key: fs.readFileSync(files.key),
        flags: Object.entries(files).map(([flag, file]) => `--${flag}=${file}`),
    };
}

/** A JSON answer of a member's client port (GET, or POST with a body); undefined when it gives none in time. */
function request<T>(url: string, tls: ClientTls, body?: string): Promise<T | undefined> {
    return new Promise((resolve) => {
        const req = https.request(
            url,
            {
                method: body === undefined ? "GET" : "POST",
                ca: tls.ca,
                cert: tls.cert,
                key: tls.key,
                agent: false,
                timeout: REQUEST_TIMEOUT_MS,
            },
            (response) => {
                let text = "";
                response.on("data", (chunk: Buffer) => (text += chunk.toString()));
                response.on("end", () => {
                    try {
                        resolve(response.statusCode === 200 ? (JSON.parse(text) as T) : undefined);
                    } catch {
                        resolve(undefined);
                    }
                });
                response.on("error", () => resolve(undefined));
            },
        );
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(undefined));
        req.end(body);
    });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Samples each endpoint's /health every SAMPLE_INTERVAL_MS until stopped. */
class HealthSampler {
    private stopped = false;
    private readonly samples: HealthSample[][];
    private readonly done: Promise<void[]>;

    constructor(endpoints: readonly string[], tls: ClientTls) {
        this.samples = endpoints.map(() => []);
        this.done = Promise.all(endpoints.map((endpoint, i) => this.loop(endpoint, tls, this.samples[i] ?? [])));
    }

    private async loop(endpoint: string, tls: ClientTls, into: HealthSample[]): Promise<void> {
        while (!this.stopped) {
            const started = Date.now();
            const answer = await request<{ health?: string }>(`${endpoint}/health`, tls);
            into.push({ at: Date.now(), healthy: answer?.health === "true" });
            await sleep(Math.max(0, SAMPLE_INTERVAL_MS - (Date.now() - started)));
        }
    }

    /** Each endpoint's samples, in the endpoints' order. */
    async stop(): Promise<HealthSample[][]> {
        this.stopped = true;
        await this.done;
        return this.samples;
    }
}

/** A 3-member stack of the benchmark, and the release its members run now (undefined: unknown after a failure). */
interface BenchStack {
    readonly way: UpgradeWay;
    readonly stack: string;
    /** Client URLs by address, member i's at i (as the stack's memberNames). */
    readonly endpoints: readonly string[];
    readonly tls: ClientTls;
    version: string | undefined;
}

const stackName = (way: UpgradeWay) => `local-bench-upgrade-${way.replace(" ", "-")}`;
const memberIndex = (member: string) => Number(member.slice(member.lastIndexOf("-") + 1));

/** etcd's log file of each member of `stack` among the local cloud's hosts. */
function memberLogs(dir: string, stack: string): { member: string; logFile: string }[] {
    return memberLogFiles(dir).filter(({ member }) => member.startsWith(`${stack}-`));
}

/**
 * When ours installed the new release on each member, in the windows' order: the install links /usr/local/bin/etcd to
 * the release's directory anew (`ln -sfn`), so the link's own mtime is the moment.
 */
function installedAt(logs: ReturnType<typeof memberLogs>, windows: readonly RestartWindow[]): number[] {
    return windows.map((w) => {
        const logFile = logs.find((log) => log.member === w.member)?.logFile;
        if (logFile === undefined) throw new Error(`no host of ${w.member}`);
        // The host's root is where its log file's path on the host begins.
        const root = logFile.slice(0, logFile.length - HOST_PATHS.logFile.length);
        return fs.lstatSync(path.join(root, HOST_PATHS.binDir, "etcd")).mtimeMs;
    });
}

/**
 * Ours' time around its restarts, from when each member's release was installed: the first install done (the engine's
 * start included), each launch before its restart (the lock, the others' health, a leader's hand-over), and each next
 * install after a member served again (its ready check, the next member's install).
 */
export function installPhases(
    windows: readonly RestartWindow[],
    installed: readonly number[],
    started: number,
): Pick<UpgradeSample, "firstInstalledSeconds" | "launchesSeconds" | "nextInstallsSeconds"> {
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0) / 1000;
    return {
        firstInstalledSeconds: ((installed[0] ?? Number.NaN) - started) / 1000,
        launchesSeconds: sum(windows.map((w, i) => w.stopped - (installed[i] ?? Number.NaN))),
        nextInstallsSeconds: sum(
            windows.slice(1).map((_, i) => (installed[i + 1] ?? Number.NaN) - (windows[i]?.serving ?? 0)),
        ),
    };
}

/** The name of the member leading the cluster now, asked of the first endpoint. */
async function leaderName(stack: BenchStack): Promise<string> {
    const [endpoint] = stack.endpoints;
    const status = await request<{ leader?: string }>(`${endpoint}/v3/maintenance/status`, stack.tls, "{}");
    const list = await request<{ members?: { ID?: string; name?: string }[] }>(
        `${endpoint}/v3/cluster/member/list`,
        stack.tls,
        "{}",
    );
    const name = list?.members?.find((m) => m.ID !== undefined && m.ID === status?.leader)?.name;
    if (name === undefined) throw new Error(`${stack.stack}: no leader found through ${endpoint}`);
    return name;
}

/** Every member reports `version` as its server's. */
async function assertRunning(stack: BenchStack, version: string): Promise<void> {
    const reported = await Promise.all(
        stack.endpoints.map((e) => request<{ etcdserver?: string }>(`${e}/version`, stack.tls)),
    );
    const servers = reported.map((r) => r?.etcdserver ?? "no answer");
    if (servers.some((server) => server !== version)) {
        throw new Error(`${stack.stack} after its roll to ${version}: members report ${servers.join(", ")}`);
    }
}

/** What the local cloud's environment is for the local-cluster.sh and pulumi commands. */
const cloudEnv = (dir: string): NodeJS.ProcessEnv => ({ ...process.env, LOCALCLOUD_DIR: dir });

/** Ours: one `up` with the new version; its seconds outside the engine's update. */
async function upgradeOurs(dir: string, stack: BenchStack, to: string): Promise<{ outsideEngineSeconds: number }> {
    const { output, seconds } = await localCluster(
        ["up", "--stack", stack.stack, "--set", `etcd-aws:etcdVersion=${to}`],
        cloudEnv(dir),
        UP_TIMEOUT_MS,
    );
    return { outsideEngineSeconds: seconds - engineSeconds(output) };
}

/**
 * The guide's steps for one member, run by an operator over SSH as root: fetch the release (download, check against
 * SHA256SUMS, unpack) while etcd still runs, stop etcd, put the new binaries in place, start etcd, and wait until
 * `etcdctl endpoint health` says healthy (checked every 0.2 s). Prints when the fetch ended.
 */
export function byHandScript(version: string, mirrorBaseUrl: string, endpoint: string): string {
    const release = `etcd-v${version}-linux-amd64`;
    const bin = HOST_PATHS.binDir;
    return `set -euo pipefail
work=$(mktemp -d)
cd "$work"
curl -fsS -o ${release}.tar.gz ${mirrorBaseUrl}/v${version}/${release}.tar.gz
curl -fsS -o SHA256SUMS ${mirrorBaseUrl}/v${version}/SHA256SUMS
sha256sum --check --ignore-missing --quiet SHA256SUMS
tar -xzf ${release}.tar.gz
echo "fetched $(date +%s.%N)"
systemctl stop ${ETCD_UNIT}
install -m 0755 ${release}/etcd ${release}/etcdctl ${release}/etcdutl ${bin}/
systemctl start ${ETCD_UNIT}
until ${bin}/etcdctl --endpoints=${endpoint} --cacert=${PKI_FILES.ca} --cert=${PKI_FILES.clientCert} --key=${PKI_FILES.clientKey} endpoint health >/dev/null 2>&1; do
    sleep 0.2
done
cd /
rm -rf "$work"
`;
}

/** Where the hand-run's pre-upgrade snapshot goes on the first member. */
const BY_HAND_BACKUP = "/var/tmp/etcd-pre-upgrade.db";

/**
 * The preparation etcd's upgrade guides ask for before the first member (etcd.io, docs v3.6 "Upgrade etcd from v3.5 to
 * v3.6" and v3.7 "from v3.6 to v3.7", Upgrade checklists: "the running cluster must be healthy. Check the health of
 * the cluster by using the etcdctl endpoint health command before proceeding", and Preparation: "Before beginning,
 * download the snapshot backup"): every endpoint healthy, then `etcdctl snapshot save` on the first member. Ours takes
 * its pre-change snapshot for the same reason; the hand-run leaves the file on the host (the guide keeps it).
 */
export function byHandPreparationScript(endpoints: readonly string[]): string {
    const tls = `--cacert=${PKI_FILES.ca} --cert=${PKI_FILES.clientCert} --key=${PKI_FILES.clientKey}`;
    const ctl = `${HOST_PATHS.binDir}/etcdctl`;
    return `set -euo pipefail
${ctl} --endpoints=${endpoints.join(",")} ${tls} endpoint health >/dev/null
${ctl} --endpoints=${endpoints[0]} ${tls} snapshot save ${BY_HAND_BACKUP} >/dev/null
`;
}

/** One root session over SSH with the stack's key on `address`, `script` on its stdin; its stdout. */
function sshScript(stack: BenchStack, address: string, script: string): Promise<string> {
    return runChecked(
        [
            "ssh",
            "-i",
            stackPaths(stack.stack).sshKey,
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            `${DEFAULT_SSH_USER}@${address}`,
            RUN_SCRIPT_COMMAND,
        ],
        { timeoutMs: MEMBER_BY_HAND_TIMEOUT_MS, stdin: script },
    );
}

/**
 * By hand: the guide's preparation on the first member (health, snapshot), then each member in turn over SSH (the
 * stack's key), the release from the local stack's mirror URL.
 */
async function upgradeByHand(stack: BenchStack, to: string): Promise<{ fetchSeconds: number }> {
    const mirror = await startMirror(MIRROR_DIR, MIRROR_ADDRESS, { port: MIRROR_PORT });
    try {
        let fetchSeconds = 0;
        const [first] = stack.endpoints;
        if (first !== undefined)
            await sshScript(stack, new URL(first).hostname, byHandPreparationScript(stack.endpoints));
        for (const endpoint of stack.endpoints) {
            const address = new URL(endpoint).hostname;
            const started = Date.now();
            const stdout = await sshScript(stack, address, byHandScript(to, mirror.baseUrl, endpoint));
            const fetched = Number(/^fetched (\d+\.\d+)$/m.exec(stdout)?.[1]) * 1000;
            fetchSeconds += (fetched - started) / 1000;
        }
        return { fetchSeconds };
    } finally {
        await mirror.close();
    }
}

/** What a roll's measurement saw: its own result, its start and end, the writer's report and the health samples. */
interface Sampled<T> {
    readonly result: T;
    readonly started: number;
    readonly ended: number;
    readonly report: WriterReport;
    /** Each endpoint's, in the stack's order. */
    readonly samples: HealthSample[][];
}

/**
 * Runs `roll` with every member's health sampled and a writer going through all the endpoints, from WRITES_AROUND
 * acknowledged writes before it to as many after.
 */
async function sampled<T>(stack: BenchStack, roll: () => Promise<T>): Promise<Sampled<T>> {
    const sampler = new HealthSampler(stack.endpoints, stack.tls);
    const writer = Writer.start({
        client: { etcdctl: path.join(localRelease(UPGRADE_VERSIONS[1]).binDir, "etcdctl"), flags: stack.tls.flags },
        endpoints: stack.endpoints,
        prefix: `bench-upgrade/${Date.now()}`,
        intervalMs: WRITE_INTERVAL_MS,
        retryBudgetMs: RETRY_BUDGET_MS,
        maxDurationMs: UP_TIMEOUT_MS + 60_000,
    });
    try {
        await waitForWrites(writer, "before the roll", 0, WRITES_AROUND);
        const started = Date.now();
        const result = await roll();
        const ended = Date.now();
        await waitForWrites(writer, "after the roll", ended, WRITES_AROUND);
        return { result, started, ended, report: await writer.stop(), samples: await sampler.stop() };
    } finally {
        await writer.stop();
        await sampler.stop();
    }
}

/** One roll of `stack` from its version to `to`, timed, sampled and written through. */
async function measuredRoll(dir: string, stack: BenchStack, from: string, to: string): Promise<UpgradeSample> {
    const leader = await leaderName(stack);
    stack.version = undefined;
    const {
        result: extra,
        started,
        ended,
        report,
        samples,
    } = await sampled(stack, (): Promise<{ outsideEngineSeconds?: number; fetchSeconds?: number }> =>
        stack.way === "ours" ? upgradeOurs(dir, stack, to) : upgradeByHand(stack, to),
    );
    await assertRunning(stack, to);
    stack.version = to;
    const logs = memberLogs(dir, stack.stack);
    const windows = restartWindowsIn(logs, started);
    if (windows.length !== MEMBERS) {
        throw new Error(`${windows.length} restarts in ${stack.stack}'s roll to ${to} (3 members)`);
    }
    const noInstalls = {
        firstInstalledSeconds: Number.NaN,
        launchesSeconds: Number.NaN,
        nextInstallsSeconds: Number.NaN,
    };
    const members = windows.map((w) => ({
        member: w.member,
        wasLeader: w.member === leader,
        restartSeconds: (w.serving - w.stopped) / 1000,
        unavailableSeconds: longestUnavailable(samples[memberIndex(w.member)] ?? []),
    }));
    const unavailable = members.map((m) => m.unavailableSeconds);
    return {
        from,
        to,
        totalSeconds: (ended - started) / 1000,
        ...rollPhases(windows, started, ended),
        ...(stack.way === "ours" ? installPhases(windows, installedAt(logs, windows), started) : noInstalls),
        outsideEngineSeconds: extra.outsideEngineSeconds ?? Number.NaN,
        fetchSeconds: extra.fetchSeconds ?? Number.NaN,
        leaderPosition: members.findIndex((m) => m.wasLeader) + 1,
        firstUnavailableSeconds: unavailable[0] ?? Number.NaN,
        secondUnavailableSeconds: unavailable[1] ?? Number.NaN,
        thirdUnavailableSeconds: unavailable[2] ?? Number.NaN,
        longestUnavailableSeconds: Math.max(...unavailable),
        longestStallSeconds: report.longestStallMs / 1000,
        writes: report.written.length,
        failedWrites: report.failed.length,
        members,
    };
}

/** A stack's first `up`: 3 members at the first version. */
async function createStack(dir: string, way: UpgradeWay): Promise<BenchStack> {
    const stack = stackName(way);
    const { output } = await localCluster(
        [
            "up",
            "--stack",
            stack,
            "--set",
            `etcd-aws:memberCount=${MEMBERS}`,
            "--set",
            `etcd-aws:etcdVersion=${UPGRADE_VERSIONS[0]}`,
        ],
        cloudEnv(dir),
        UP_TIMEOUT_MS,
    );
    const endpoints = printedEndpoints(output) ?? [];
    if (endpoints.length !== MEMBERS) throw new Error(`${stack}'s up printed ${endpoints.length} endpoints`);
    return { way, stack, endpoints, tls: clientTls(stack), version: UPGRADE_VERSIONS[0] };
}

/** `pulumi destroy` of a local stack, without local-cluster.sh's clean-up of the whole local cloud after it. */
function pulumiDestroy(stack: string): Promise<void> {
    const args = ["destroy", "--yes", "--skip-preview", "--non-interactive", "--stack", stack];
    return new Promise((resolve, reject) =>
        execFile(
            PULUMI,
            [...args, "--config-file", stackPaths(stack).stackFile],
            { cwd: REPO_ROOT, env: pulumiEnvironment(), timeout: UP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
            (error, stdout, stderr) =>
                error ? reject(new Error(`pulumi ${args.join(" ")}: ${error.message}\n${stderr}${stdout}`)) : resolve(),
        ),
    );
}

/** The loop devices backed by a file under `dir` (the local cloud's volumes). */
function loopDevicesUnder(dir: string): Promise<string[]> {
    return runChecked(["losetup", "--list", "--json"], { timeoutMs: 10_000 }).then((out) => {
        const listed = JSON.parse(out || "{}") as { loopdevices?: { name: string; "back-file": string | null }[] };
        return (listed.loopdevices ?? []).filter((d) => d["back-file"]?.startsWith(dir)).map((d) => d.name);
    });
}

/**
 * Destroys both stacks. The first with `pulumi destroy` alone: local-cluster.sh's destroy then stops every process the
 * local cloud recorded, the other stack's members too. The last through local-cluster.sh, which does that clean-up.
 * Whatever a failure left (processes, loop devices, the firewall table) goes after.
 */
async function destroyStacks(dir: string, stacks: readonly string[]): Promise<void> {
    const errors: string[] = [];
    for (const [i, stack] of stacks.entries()) {
        const destroy =
            i < stacks.length - 1
                ? pulumiDestroy(stack)
                : localCluster(["destroy", "--stack", stack], cloudEnv(dir), UP_TIMEOUT_MS);
        const error = await destroy.then(
            () => undefined,
            (failure: Error) => failure.message,
        );
        if (error !== undefined) errors.push(error.slice(-2000));
    }
    await stopAll(dir);
    for (const device of await loopDevicesUnder(dir)) await run(["losetup", "-d", device], { timeoutMs: 10_000 });
    removeFirewall();
    if (errors.length > 0) throw new Error(`destroying the benchmark's stacks:\n${errors.join("\n")}`);
}

/** The rows of both ways, each figure a median over the rounds. */
function upgradeRows(outcomes: Map<UpgradeWay, Outcome<UpgradeSample>[]>): UpgradeRow[] {
    return UPGRADE_WAYS.map((way) => summaryRow({ way }, outcomes.get(way) ?? []));
}

/**
 * Both stacks created at the first version, then `rounds` rounds: in round r every stack rolls from
 * UPGRADE_VERSIONS[r % 2] to the other (ours first on even rounds, by hand first on odd ones), each roll alone on the
 * machine (a roll done again after a disturbance first brings its stack back, untimed). Both stacks destroyed at the
 * end.
 */
export async function benchUpgrade(
    rounds: number,
    alone: Alone,
    noise: Readonly<Disturbances>,
    commit: string,
): Promise<UpgradeResults> {
    const started = Date.now();
    const before = { ...noise };
    const saved = process.env.LOCALCLOUD_DIR;
    try {
        return await inWorkDir("upgrade", async (dir) => {
            // stackPaths and removeFirewall read the local cloud's directory from the environment.
            process.env.LOCALCLOUD_DIR = dir;
            buildMirror(MIRROR_DIR);
            const created: string[] = [];
            try {
                const createStarted = Date.now();
                const stacks = new Map<UpgradeWay, BenchStack>();
                // The by-hand stack first: destroyed first too, with pulumi destroy alone (see destroyStacks).
                for (const way of [...UPGRADE_WAYS].reverse()) {
                    created.unshift(stackName(way));
                    stacks.set(way, await createStack(dir, way));
                }
                const createSeconds = (Date.now() - createStarted) / 1000;
                const outcomes = await interleaved(UPGRADE_WAYS, rounds, (way, round) => {
                    const stack = stacks.get(way) as BenchStack;
                    const from = UPGRADE_VERSIONS[round % 2] as string;
                    const to = UPGRADE_VERSIONS[(round + 1) % 2] as string;
                    return alone(() =>
                        outcome(async () => {
                            if (stack.version !== from) {
                                // A repeated roll (or one after a failure): back to where this round starts, untimed.
                                if (way === "ours") await upgradeOurs(dir, stack, from);
                                else await upgradeByHand(stack, from);
                                await assertRunning(stack, from);
                                stack.version = from;
                            }
                            return measuredRoll(dir, stack, from, to);
                        }),
                    );
                });
                // The floor of any `up` of ours: the same command with the version it runs, nothing to change.
                const unchangedUpSeconds: number[] = [];
                const oursStack = stacks.get("ours") as BenchStack;
                for (let i = 0; i < UNCHANGED_UPS && oursStack.version !== undefined; i++) {
                    const upStarted = Date.now();
                    await upgradeOurs(dir, oursStack, oursStack.version);
                    unchangedUpSeconds.push((Date.now() - upStarted) / 1000);
                }
                const destroyStarted = Date.now();
                await destroyStacks(dir, [...created].reverse());
                created.length = 0;
                const destroySeconds = (Date.now() - destroyStarted) / 1000;
                return {
                    measuredAt: new Date(started).toISOString(),
                    durationSeconds: (Date.now() - started) / 1000,
                    commit,
                    versions: [...UPGRADE_VERSIONS],
                    rounds,
                    createSeconds,
                    unchangedUpSeconds,
                    destroySeconds,
                    disturbances: {
                        secondsWaited: noise.secondsWaited - before.secondsWaited,
                        repeatedRuns: noise.repeatedRuns - before.repeatedRuns,
                        disturbedRuns: noise.disturbedRuns - before.disturbedRuns,
                        otherEtcdProcesses: noise.otherEtcdProcesses,
                    },
                    rows: upgradeRows(outcomes),
                };
            } finally {
                if (created.length > 0) await destroyStacks(dir, [...created].reverse());
            }
        });
    } finally {
        if (saved === undefined) delete process.env.LOCALCLOUD_DIR;
        else process.env.LOCALCLOUD_DIR = saved;
    }
}

/** Ours over by hand, of a figure's medians. */
export function upgradeRatio(rows: readonly UpgradeRow[], figure: keyof UpgradeRow): number {
    const value = (way: UpgradeWay) => Number(rows.find((row) => row.way === way)?.[figure] ?? Number.NaN);
    return value("ours") / value("by hand");
}
