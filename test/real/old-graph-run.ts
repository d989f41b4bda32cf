// A program of an earlier commit (git archive of the ref, the checkout's node_modules linked) run by the real
// Pulumi CLI on a local stack of its own against the local cloud of the current LOCALCLOUD_DIR: the same local
// providers, the same local cloud's values in its stack file as scripts/local-cluster.sh writes
// (localcloud/stack.ts), the release mirror served while `up` runs. For test/real/old-graph.test.ts, which shows
// what the graph before issue 12's fix really does.
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildMirror, startMirror } from "../../local/mirror";
import { MIRROR_DIR } from "../../local/paths";
import { recordedUnder, stopAll } from "../../local/process";
import { killLocalCloudProcesses } from "../../localcloud/aws/cgroups";
import { importKeyPair } from "../../localcloud/aws/compute";
import { removeFirewall } from "../../localcloud/aws/network";
import { configureRegion, getSubnets, getVpc } from "../../localcloud/aws/vpc";
import { installLocalProviders } from "../../localcloud/plugins";
import { extractProgram } from "../../localcloud/preview-run";
import { privateKey } from "../../localcloud/providers/tls";
import {
    ConfigSetting,
    localStackConfig,
    MIRROR_ADDRESS,
    MIRROR_PORT,
    pulumiEnvironment,
    stackFileText,
} from "../../localcloud/stack";
import { PULUMI } from "./local-stack-run";

/** One CLI run: its exit code, stdout and stderr together, and how long it took. */
export interface CliRun {
    code: number | null;
    output: string;
    seconds: number;
}

/** A local stack of the program at `ref`, in `programDir`, against the local cloud of LOCALCLOUD_DIR. */
export class ProgramStack {
    private constructor(
        readonly stack: string,
        readonly programDir: string,
        readonly stackFile: string,
    ) {}

    /** Extracts the program, creates the stack with the local cloud's values and `settings`, and its SSH key. */
    static async create(
        ref: string,
        stack: string,
        programDir: string,
        settings: ConfigSetting[],
    ): Promise<ProgramStack> {
        extractProgram(ref, programDir);
        installLocalProviders(pulumiEnvironment().PULUMI_HOME as string);
        fs.mkdirSync(new URL(String(pulumiEnvironment().PULUMI_BACKEND_URL)).pathname, { recursive: true });
        const stackFile = path.join(programDir, "stacks", `Pulumi.${stack}.yaml`);
        const program = new ProgramStack(stack, programDir, stackFile);
        await program.cli(["stack", "init", "--secrets-provider", "passphrase"], { check: true });
        const key = await privateKey.create({ algorithm: "ED25519" }, `urn:pulumi:${stack}::etcd-aws::ssh::key`);
        const keyName = `etcd-aws-${stack}`;
        importKeyPair(keyName, String(key.outputs.publicKeyOpenssh));
        configureRegion({ region: "local-1" });
        const config = localStackConfig({
            stack,
            vpcId: String(getVpc({}).id),
            subnetIds: (getSubnets({}).ids as string[]).map(String),
            keyName,
            mirrorBaseUrl: `http://${MIRROR_ADDRESS}:${MIRROR_PORT}`,
        });
        fs.writeFileSync(stackFile, stackFileText(fs.readFileSync(stackFile, "utf8"), config, settings));
        await program.cli(["config", "set", "--secret", "etcd-aws:sshPrivateKey"], {
            check: true,
            stdin: String(key.outputs.privateKeyOpenssh),
        });
        return program;
    }

    /** Runs the CLI on the stack in the program's directory (exit code kept, not thrown unless `check`). */
    cli(args: string[], options: { check?: boolean; stdin?: string; timeoutMs?: number } = {}): Promise<CliRun> {
        const started = Date.now();
        return new Promise((resolve, reject) => {
            const child = spawn(PULUMI, [...args, "--stack", this.stack, "--non-interactive"], {
                cwd: this.programDir,
                env: pulumiEnvironment(),
                stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
                timeout: options.timeoutMs ?? 480_000,
            });
            let output = "";
            child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
            child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
            child.stdin?.end(options.stdin);
            child.on("error", reject);
            child.on("close", (code) => {
                const run = { code, output, seconds: (Date.now() - started) / 1000 };
                if (options.check && code !== 0) {
                    reject(new Error(`pulumi ${args.join(" ")} exited with ${code}:\n${output.slice(-6000)}`));
                } else resolve(run);
            });
        });
    }

    /** `pulumi up --diff` with the release mirror served meanwhile. */
    async up(timeoutMs?: number): Promise<CliRun> {
        buildMirror(MIRROR_DIR);
        const mirror = await startMirror(MIRROR_DIR, MIRROR_ADDRESS, { port: MIRROR_PORT });
        try {
            return await this.cli(["up", "--yes", "--skip-preview", "--diff"], { timeoutMs });
        } finally {
            await mirror.close();
        }
    }

    /** The stack's outputs (secrets shown). */
    async outputs(): Promise<Record<string, unknown>> {
        const run = await this.cli(["stack", "output", "--json", "--show-secrets"], { check: true });
        return JSON.parse(run.output) as Record<string, unknown>;
    }
}

/**
 * Whatever the local cloud of `dir` (LOCALCLOUD_DIR) still runs or holds when its stack cannot be destroyed: its
 * recorded processes (etcd, dnsmasq, the instances' SSH daemons), every other process of its instances (their
 * cgroups), its firewall table and cgroups, the loop devices of its volumes. Returns the PIDs it stopped.
 */
export async function tearDownLocalCloud(dir: string): Promise<number[]> {
    const stopped = await stopAll(dir);
    for (const pid of recordedUnder(dir)) {
        process.kill(pid, "SIGKILL");
        stopped.push(pid);
    }
    stopped.push(...(await killLocalCloudProcesses()));
    removeFirewall();
    const listed = JSON.parse(
        execFileSync("losetup", ["--list", "--json"], { timeout: 10_000 }).toString() || "{}",
    ) as {
        loopdevices?: { name: string; "back-file": string | null }[];
    };
    for (const device of listed.loopdevices ?? []) {
        if (device["back-file"]?.startsWith(dir)) execFileSync("losetup", ["-d", device.name], { timeout: 10_000 });
    }
    return stopped;
}
