// Benchmark 8 (issue 14): backups and restore of a keyspace of at least 256 MiB on 3 local members (etcd 3.5, real
// hosts) against a real S3 server that checks signatures (moto_server, test/real/s3-server.ts), side by side in one
// run, rounds interleaved:
// - backup: ours (the rendered host/etcd-aws-backup.sh --now as its unit runs it, Nice=10 and idle I/O: lock,
//   snapshot save, snapshot status beside the SHA-256, signed upload with its metadata, retention listing) over `etcdctl snapshot save` plus a plain signed upload of the
//   same file (curl --aws-sigv4), on the same member; target <= 1.2x;
// - p99 latency of small writes (one writer, sequential) while our backup runs over p99 without one, as long;
//   target <= 1.5x;
// - restore of that snapshot onto the healthy 3-member cluster until every member is healthy: ours (the rendered
//   host/etcd-aws-restore.sh on every member at once: download, SHA-256 and status checks, stop, restore with a new
//   token and bumped revisions, start) over a hand-run on every member at once (a plain signed download, stop,
//   `etcdutl snapshot restore` with the same names, URLs and a new token, start); target <= 1.2x.
// Run alone: `node -r ts-node/register/transpile-only bench/backup-bench.ts` (or scripts/bench.sh --only backup).
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { BackupSettings, renderBackupScript, renderRestoreScript } from "../core";
import { HOST_PATHS } from "../core/host-contract";
import { initialCluster } from "../core/flags";
import { clientUrl, peerUrl } from "../core/model";
import { LocalCluster, LocalMember } from "../local/cluster";
import { waitFor } from "../local/process";
import { S3_REGION, S3Server, startS3Server } from "../test/real/s3-server";
import { benchSubnet, inWorkDir, staticCluster, withMirror } from "./local-env";
import { percentile } from "./lock-bench";
import { median, round } from "./stats";

export const BACKUP_VERSION = "3.5.16";
const BUCKET = "etcd-aws-bench";
const PREFIX = "bench";
/** 512 values of 512 KiB: 256 MiB of values (etcd's request limit is 1.5 MiB); BENCH_BACKUP_VALUES for a smoke run. */
const VALUE_BYTES = 512 * 1024;
const VALUE_COUNT = Number(process.env.BENCH_BACKUP_VALUES ?? 512);
const WRITERS = 4;
const SCRIPT_TIMEOUT_MS = 600_000;
const HEALTHY_TIMEOUT_MS = 180_000;
/** The writer's pause between two writes: a steady light load, not a saturating one. */
const WRITE_PAUSE_MS = 5;

export interface BackupBenchResult {
    readonly version: string;
    readonly rounds: number;
    readonly keyspaceBytes: number;
    readonly snapshotBytes: number;
    readonly oursBackupSeconds: number[];
    readonly plainBackupSeconds: number[];
    readonly p99DuringMs: number[];
    readonly p99WithoutMs: number[];
    readonly writesDuring: number;
    readonly writesWithout: number;
    readonly oursRestoreSeconds: number[];
    readonly handRestoreSeconds: number[];
}

/** One request to a member's gRPC gateway (no TLS in the bench's cluster); resolves with the JSON answer. */
function gateway(url: string, path: string, body: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
        const data = JSON.stringify(body);
        const request = http.request(
            `${url}${path}`,
            { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": data.length } },
            (response) => {
                let text = "";
                response.on("data", (chunk: Buffer) => (text += chunk.toString()));
                response.on("end", () =>
                    response.statusCode === 200
                        ? resolve(JSON.parse(text) as Record<string, unknown>)
                        : reject(new Error(`${path}: HTTP ${response.statusCode} ${text.slice(0, 200)}`)),
                );
            },
        );
        request.on("error", reject);
        request.end(data);
    });
}

const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");

/** Writes VALUE_COUNT values of VALUE_BYTES, WRITERS at a time, over the members. */
async function fillKeyspace(cluster: LocalCluster): Promise<void> {
    const value = b64(Buffer.alloc(VALUE_BYTES, "x"));
    let next = 0;
    await Promise.all(
        Array.from({ length: WRITERS }, async (_unused, writer) => {
            const url = clientUrl(cluster.spec, cluster.member(writer % cluster.members.length).member);
            while (next < VALUE_COUNT) {
                const index = next++;
                await gateway(url, "/v3/kv/put", { key: b64(`bench/bulk/${String(index).padStart(5, "0")}`), value });
            }
        }),
    );
}

/** Latencies (ms) of small sequential writes to member 0 until `stop` resolves. */
async function writeLatencies(cluster: LocalCluster, stop: Promise<unknown>): Promise<number[]> {
    const url = clientUrl(cluster.spec, cluster.member(0).member);
    let stopped = false;
    void stop.finally(() => (stopped = true));
    const latencies: number[] = [];
    for (let i = 0; !stopped; i++) {
        const started = process.hrtime.bigint();
        await gateway(url, "/v3/kv/put", { key: b64(`bench/small/${i % 1000}`), value: b64(`value-${i}`) });
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
        await new Promise((resolve) => setTimeout(resolve, WRITE_PAUSE_MS));
    }
    return latencies;
}

const seconds = (since: number) => (Date.now() - since) / 1000;

function checked(result: { code: number | null; stderr: string }, what: string): void {
    if (result.code !== 0) throw new Error(`${what} failed (${result.code}): ${result.stderr.slice(-2000)}`);
}

async function waitHealthy(cluster: LocalCluster): Promise<void> {
    await waitFor("every member healthy", HEALTHY_TIMEOUT_MS, async () => {
        try {
            return (await cluster.endpointHealth()).every((line) => /is healthy/.test(line)) ? true : undefined;
        } catch {
            return undefined;
        }
    });
}

/** A plain signed request with curl on a host, the credentials on a pipe as the scripts pass them. */
function plainCurl(s3: S3Server, method: string, key: string, file: string, upload: boolean): string {
    const hash = upload
        ? `sha=$(sha256sum ${file} | cut -d' ' -f1)`
        : "sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const curl = [
        `curl -fsS -X ${method} --aws-sigv4 aws:amz:${S3_REGION}:s3`,
        `--config <(printf 'user = "%s:%s"\\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY")`,
        `-H "x-amz-content-sha256: $sha" ${upload ? `--upload-file ${file}` : `-o ${file}`} ${s3.endpoint}/${BUCKET}/${key}`,
    ].join(" ");
    return `${hash}\n${curl}`;
}

/** etcdctl snapshot save and a plain signed upload of the file, on `target`'s host. */
async function plainBackup(cluster: LocalCluster, target: LocalMember, s3: S3Server, round: number): Promise<number> {
    const file = `${HOST_PATHS.dataMount}/plain.db`;
    const script = [
        "set -euo pipefail",
        `etcdctl --endpoints ${clientUrl(cluster.spec, target.member)} snapshot save ${file} >/dev/null`,
        plainCurl(s3, "PUT", `${PREFIX}/plain/${round}.db`, file, true),
        `rm -f ${file}`,
    ].join("\n");
    const started = Date.now();
    checked(
        await target.host.runScript(script, { timeoutMs: SCRIPT_TIMEOUT_MS, env: credentials(s3) }),
        "plain backup",
    );
    return seconds(started);
}

const credentials = (s3: S3Server) => ({ AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey });

/** On every member at once: a plain download, stop, etcdutl snapshot restore with a new token, start. */
async function handRestore(cluster: LocalCluster, s3: S3Server, key: string, token: string): Promise<number> {
    const file = `${HOST_PATHS.dataMount}/hand.db`;
    const started = Date.now();
    const results = await Promise.all(
        cluster.members.map(({ host, member }) =>
            host.runScript(
                [
                    "set -euo pipefail",
                    plainCurl(s3, "GET", key, file, false),
                    "systemctl stop etcd.service",
                    `rm -rf ${HOST_PATHS.dataDir}`,
                    `etcdutl snapshot restore ${file} --name ${member.name} --initial-cluster ${initialCluster(cluster.spec)} --initial-cluster-token ${token} --initial-advertise-peer-urls ${peerUrl(cluster.spec, member)} --data-dir ${HOST_PATHS.dataDir} >/dev/null 2>&1`,
                    `chown -R "$(stat -c %U:%G ${HOST_PATHS.dataMount})" ${HOST_PATHS.dataDir}`,
                    `rm -f ${file}`,
                    "systemctl start etcd.service",
                ].join("\n"),
                { timeoutMs: SCRIPT_TIMEOUT_MS, env: credentials(s3) },
            ),
        ),
    );
    results.forEach((result) => checked(result, "hand restore"));
    await waitHealthy(cluster);
    return seconds(started);
}

/** Ours on every member at once, until every member is healthy. */
async function ourRestore(cluster: LocalCluster, s3: S3Server, settings: BackupSettings, uri: string, token: string) {
    const started = Date.now();
    const results = await Promise.all(
        cluster.members.map((target) =>
            target.host.runScript(
                renderRestoreScript(cluster.spec, target.member, settings, token),
                { timeoutMs: SCRIPT_TIMEOUT_MS, env: credentials(s3) },
                [uri, "--discard-current-data"],
            ),
        ),
    );
    results.forEach((result) => checked(result, "our restore"));
    await waitHealthy(cluster);
    return seconds(started);
}

/** The whole benchmark: `rounds` of each figure, ours and the plain way in turn (the order swapped each round). */
export async function benchBackup(rounds: number, mirrorBaseUrl: string): Promise<BackupBenchResult> {
    return inWorkDir("backup", async (dir) => {
        const s3 = await startS3Server(BUCKET);
        try {
            const cluster = staticCluster({
                scenario: "static",
                version: BACKUP_VERSION,
                clusterName: "bench-backup",
                dir,
                subnet: benchSubnet(9),
                mirrorBaseUrl,
            });
            await cluster.bringUp();
            await fillKeyspace(cluster);
            const settings: BackupSettings = {
                bucket: BUCKET,
                region: S3_REGION,
                endpoint: s3.endpoint,
                prefix: PREFIX,
                credentials: "environment",
            };
            const target = cluster.member(1);
            const ours = async () => {
                const started = Date.now();
                // As its systemd unit runs it (Nice=10, IOSchedulingClass=idle).
                const result = await target.host.exec(
                    ["nice", "-n", "10", "ionice", "-c", "3", "bash", "-s", "--", "--now"],
                    {
                        timeoutMs: SCRIPT_TIMEOUT_MS,
                        env: credentials(s3),
                        stdin: renderBackupScript(cluster.spec, target.member, settings),
                    },
                );
                checked(result, "our backup");
                return { seconds: seconds(started), uri: result.stdout.trim() };
            };
            const result = {
                version: BACKUP_VERSION,
                rounds,
                keyspaceBytes: VALUE_BYTES * VALUE_COUNT,
                snapshotBytes: 0,
                oursBackupSeconds: [] as number[],
                plainBackupSeconds: [] as number[],
                p99DuringMs: [] as number[],
                p99WithoutMs: [] as number[],
                writesDuring: 0,
                writesWithout: 0,
                oursRestoreSeconds: [] as number[],
                handRestoreSeconds: [] as number[],
            };
            let uri = "";
            for (let round = 0; round < rounds; round++) {
                const oursFirst = round % 2 === 0;
                for (const side of oursFirst ? ["ours", "plain"] : ["plain", "ours"]) {
                    if (side === "plain") {
                        result.plainBackupSeconds.push(await plainBackup(cluster, target, s3, round));
                        continue;
                    }
                    // Ours, with the writer beside it; then the writer alone for as long.
                    const backup = ours();
                    const during = await writeLatencies(cluster, backup);
                    const taken = await backup;
                    uri = taken.uri;
                    result.oursBackupSeconds.push(taken.seconds);
                    const without = await writeLatencies(
                        cluster,
                        new Promise((resolve) => setTimeout(resolve, taken.seconds * 1000)),
                    );
                    result.p99DuringMs.push(percentile(during, 0.99));
                    result.p99WithoutMs.push(percentile(without, 0.99));
                    result.writesDuring += during.length;
                    result.writesWithout += without.length;
                }
            }
            const head = await s3.request("GET", `?list-type=2&prefix=${PREFIX}/plain/`);
            result.snapshotBytes = Number(/<Size>(\d+)<\/Size>/.exec(head.body)?.[1] ?? 0);
            const key = uri.slice(`s3://${BUCKET}/`.length);
            for (let round = 0; round < rounds; round++) {
                const oursFirst = round % 2 === 0;
                for (const side of oursFirst ? ["ours", "hand"] : ["hand", "ours"]) {
                    const token = `bench-restore-${side}-${round}`;
                    if (side === "ours")
                        result.oursRestoreSeconds.push(await ourRestore(cluster, s3, settings, uri, token));
                    else result.handRestoreSeconds.push(await handRestore(cluster, s3, key, token));
                }
            }
            return result;
        } finally {
            await s3.stop();
        }
    });
}

/** The ratios the issue asks for, from the medians. */
export function backupRatios(result: BackupBenchResult) {
    return {
        backup: round(median(result.oursBackupSeconds) / median(result.plainBackupSeconds)),
        latency: round(median(result.p99DuringMs) / median(result.p99WithoutMs)),
        restore: round(median(result.oursRestoreSeconds) / median(result.handRestoreSeconds)),
    };
}

/** bench/results.md's section of this benchmark. */
export function renderBackupSection(result: BackupBenchResult, measuredAt: string, commit: string): string {
    const ratios = backupRatios(result);
    const verdict = (ratio: number, target: number) =>
        `${ratio}x (target <= ${target}x: ${ratio <= target ? "met" : "NOT met"})`;
    const list = (values: number[], digits = 2) => values.map((v) => v.toFixed(digits)).join(", ");
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    return [
        "## 8. Backups and restore (issue 14)",
        "",
        `Measured ${measuredAt} at ${commit}: etcd ${result.version}, 3 members on local hosts, ${mib(result.keyspaceBytes)} MiB of values (${VALUE_COUNT} x ${VALUE_BYTES / 1024} KiB), snapshot ${mib(result.snapshotBytes)} MiB, S3 = moto_server on loopback (signatures checked), ${result.rounds} rounds per side, interleaved (order swapped each round). bench/backup-bench.ts.`,
        "",
        "| figure | ours | the plain way | ratio (medians) |",
        "|---|---|---|---|",
        `| backup, s (ours: backup script --now, nice 10 and idle I/O as its unit; plain: etcdctl snapshot save + curl --aws-sigv4 upload) | ${list(result.oursBackupSeconds)} | ${list(result.plainBackupSeconds)} | ${verdict(ratios.backup, 1.2)} |`,
        `| p99 write latency, ms (one sequential writer; during our backup vs as long without) | ${list(result.p99DuringMs, 1)} (${result.writesDuring} writes) | ${list(result.p99WithoutMs, 1)} (${result.writesWithout} writes) | ${verdict(ratios.latency, 1.5)} |`,
        `| restore to healthy, 3 members at once, s (ours: restore script; hand: curl download + etcdutl snapshot restore + start) | ${list(result.oursRestoreSeconds)} | ${list(result.handRestoreSeconds)} | ${verdict(ratios.restore, 1.2)} |`,
        "",
        "Ours does more than the plain way on purpose: the backup takes the cluster-wide lock, reads the snapshot's status, hashes it and runs the retention listing; the restore checks the SHA-256 and status before touching etcd, moves the old data aside and bumps revisions.",
        "",
    ].join("\n");
}

const BACKUP_RESULTS_JSON = path.join(__dirname, "backup-results.json");

/**
 * bench/results.md's section of this benchmark for scripts/bench.sh: measured now when `run` (BENCH_BACKUP_ROUNDS
 * rounds, 2 by default; kept in bench/backup-results.json), else from the last one kept ("" before any).
 */
export async function backupSection(run: boolean, commit: string): Promise<string> {
    if (run) {
        const result = await withMirror((mirror) => benchBackup(Number(process.env.BENCH_BACKUP_ROUNDS ?? 2), mirror));
        fs.writeFileSync(
            BACKUP_RESULTS_JSON,
            `${JSON.stringify({ measuredAt: new Date().toISOString(), commit, result }, null, 2)}\n`,
        );
    }
    if (!fs.existsSync(BACKUP_RESULTS_JSON)) return "";
    const saved = JSON.parse(fs.readFileSync(BACKUP_RESULTS_JSON, "utf8")) as {
        measuredAt: string;
        commit: string;
        result: BackupBenchResult;
    };
    return `\n${renderBackupSection(saved.result, saved.measuredAt, saved.commit)}`;
}

if (require.main === module) {
    backupSection(true, process.env.BENCH_COMMIT ?? "the working tree")
        .then((section) => console.log(section))
        .catch((error: unknown) => {
            console.error(error);
            process.exit(1);
        });
}
