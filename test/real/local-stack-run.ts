// Running scripts/local-cluster.sh (the real `pulumi up` of the program against the local cloud) from the real
// tests, and what the local cloud still runs: shared by the tests that run the local stack (end to end, changes,
// upgrades, downgrade, backups).
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HOST_PATHS } from "../../core";
import { LocalHost } from "../../local/host";
import { recordedUnder, run } from "../../local/process";
import { EtcdClient } from "../../local/writer";
import { stackPaths } from "../../localcloud/stack";

const ROOT = path.resolve(__dirname, "..", "..");
export const PULUMI = path.join(ROOT, ".tools", "pulumi", "bin", "pulumi");

/** A failed local-cluster.sh: its message ends with the output's tail; `output` holds all of it. */
export class LocalClusterError extends Error {
    constructor(
        message: string,
        readonly output: string,
    ) {
        super(message);
    }
}

/** Runs scripts/local-cluster.sh in `env` (its LOCALCLOUD_DIR); its output, and how long it took. */
export function localCluster(
    args: string[],
    env: NodeJS.ProcessEnv,
    timeoutMs = 480_000,
): Promise<{ output: string; seconds: number }> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(ROOT, "scripts", "local-cluster.sh"), args, {
            env,
            stdio: ["ignore", "pipe", "pipe"],
            timeout: timeoutMs,
        });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) =>
            code === 0
                ? resolve({ output, seconds: (Date.now() - started) / 1000 })
                : reject(
                      new LocalClusterError(
                          `local-cluster.sh ${args.join(" ")} exited with ${code}:\n${output.slice(-6000)}`,
                          output,
                      ),
                  ),
        );
    });
}

const savedLocalCloudDirs = new Map<string, string | undefined>();

/**
 * A local stack test's own local cloud: a fresh state directory named after the stack, LOCALCLOUD_DIR pointed at it
 * in `env` (for the CLI) and in this process (stackPaths, publishImage and firewallTable read it). Skips the suite
 * unless it runs as root with the built CLI.
 */
export function enterLocalCloud(suite: Mocha.Context, stack: string): { dir: string; env: NodeJS.ProcessEnv } {
    if (!fs.existsSync(PULUMI) || process.getuid?.() !== 0) {
        console.log(`    skipped: needs root and ${PULUMI} (scripts/bootstrap.sh)`);
        suite.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${stack}-`));
    savedLocalCloudDirs.set(dir, process.env.LOCALCLOUD_DIR);
    process.env.LOCALCLOUD_DIR = dir;
    return { dir, env: { ...process.env, LOCALCLOUD_DIR: dir } };
}

/**
 * Leaves it, whatever a failure left: destroys the stack while anything it recorded runs, kills what still runs (the
 * retained backup bucket's moto), restores LOCALCLOUD_DIR and deletes the directory. Returns the destroy's seconds
 * (undefined: nothing ran; -1: the destroy failed).
 */
export async function leaveLocalCloud(
    stack: string,
    dir: string,
    env: NodeJS.ProcessEnv,
    timeoutMs = 480_000,
): Promise<number | undefined> {
    if (!dir) return undefined;
    let seconds: number | undefined;
    if (recordedUnder(dir).length > 0) {
        ({ seconds } = await localCluster(["destroy", "--stack", stack], env, timeoutMs).catch(() => ({
            seconds: -1,
        })));
        for (const pid of recordedUnder(dir)) process.kill(pid, "SIGKILL");
    }
    const saved = savedLocalCloudDirs.get(dir);
    savedLocalCloudDirs.delete(dir);
    if (saved === undefined) delete process.env.LOCALCLOUD_DIR;
    else process.env.LOCALCLOUD_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
    return seconds;
}

/** The client endpoints `up` prints at its end. */
export function printedEndpoints(upOutput: string): string[] | undefined {
    return /client endpoints \(pulumi stack output clientEndpoints\): (\S+)/.exec(upOutput)?.[1]?.split(",");
}

/** `up` with each stack setting (`etcd-aws:key=value`) as a `--set`. */
export function upWith(...settings: string[]): string[] {
    return ["up", ...settings.flatMap((setting) => ["--set", setting])];
}

/** The lines of `up --diff` naming a step's resource: `[urn=...::<name>]`, in the engine's order. */
export function stepNames(output: string): string[] {
    return [...output.matchAll(/\[urn=urn:pulumi:[^\]]*::([^:\]]+)\]/g)].map((m) => m[1] ?? "");
}

/** Every local host (an instance of the local cloud under `dir`) that has an etcd.env, by the member it runs. */
export function memberHosts(dir: string): { member: string; host: LocalHost }[] {
    const hosts = path.join(dir, "hosts");
    if (!fs.existsSync(hosts)) return [];
    return fs.readdirSync(hosts).flatMap((id) => {
        const root = path.join(hosts, id, "root");
        const envFile = path.join(root, HOST_PATHS.envFile);
        const member = fs.existsSync(envFile)
            ? /^ETCD_NAME=(.*)$/m.exec(fs.readFileSync(envFile, "utf8"))?.[1]
            : undefined;
        return member ? [{ member, host: new LocalHost(id, "", root, true) }] : [];
    });
}

/** The local host under `dir` that runs `member`. */
export function memberHost(dir: string, member: string): LocalHost {
    const found = memberHosts(dir).find((entry) => entry.member === member);
    if (!found) throw new Error(`no local host runs ${member}`);
    return found.host;
}

/** etcd's log file of each local host under the state directory `dir`, named by the member it runs. */
export function memberLogFiles(dir: string): { member: string; logFile: string }[] {
    return memberHosts(dir).flatMap(({ member, host }) => {
        const logFile = path.join(host.root, "var", "log", "etcd.log");
        return fs.existsSync(logFile) ? [{ member, logFile }] : [];
    });
}

/** The client certificate files `up` writes for the stack (its TLS clusters' CA, certificate and key). */
export function clientTlsFiles(stack: string): { cacert: string; cert: string; key: string } {
    const { clientDir } = stackPaths(stack);
    return {
        cacert: path.join(clientDir, "ca.pem"),
        cert: path.join(clientDir, "client.pem"),
        key: path.join(clientDir, "client-key.pem"),
    };
}

/** One stack's `local-cluster.sh <command> --stack <stack> ...`, each output (or error) appended to `outputs`. */
export function stackCommandRunner(
    stack: string,
    env: () => NodeJS.ProcessEnv,
    outputs: string[],
    defaultTimeoutMs: number,
): (args: string[], timeoutMs?: number) => Promise<{ output: string; seconds: number }> {
    return async (args, timeoutMs = defaultTimeoutMs) => {
        const [command = "", ...rest] = args;
        try {
            const result = await localCluster([command, "--stack", stack, ...rest], env(), timeoutMs);
            outputs.push(result.output);
            return result;
        } catch (error) {
            // All of a failed command's output, so a test can look for a step anywhere in it.
            outputs.push(error instanceof LocalClusterError ? error.output : (error as Error).message);
            throw error;
        }
    };
}

/** `etcdctl` of `client` through `endpoints`; its stdout, failing the test when etcdctl fails. */
export async function etcdctlThrough(
    client: EtcdClient,
    endpoints: readonly string[],
    ...args: string[]
): Promise<string> {
    const result = await run([client.etcdctl, `--endpoints=${endpoints.join(",")}`, ...client.flags, ...args], {
        timeoutMs: 30_000,
        env: { ETCDCTL_API: "3" },
    });
    assert.equal(result.code, 0, `etcdctl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
}

/** Every member's release (endpoint status) and the cluster version (/version's etcdcluster) each endpoint reports. */
export async function stackVersions(
    stack: string,
    client: EtcdClient,
    endpoints: readonly string[],
): Promise<{ members: string[]; cluster: string[] }> {
    const statuses = JSON.parse(await etcdctlThrough(client, endpoints, "endpoint", "status", "--write-out=json")) as {
        Status: { version: string };
    }[];
    const tls = clientTlsFiles(stack);
    const cluster = await Promise.all(
        endpoints.map(async (endpoint) => {
            const result = await run(
                [
                    "curl",
                    "-fsS",
                    "--max-time",
                    "5",
                    "--cacert",
                    tls.cacert,
                    "--cert",
                    tls.cert,
                    "--key",
                    tls.key,
                ].concat(`${endpoint}/version`),
                { timeoutMs: 10_000 },
            );
            return result.code === 0 ? (JSON.parse(result.stdout) as { etcdcluster: string }).etcdcluster : "-";
        }),
    );
    return { members: statuses.map((s) => s.Status.version), cluster };
}
