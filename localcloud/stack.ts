// The local stack (scripts/local-cluster.sh up | preview | destroy): the real Pulumi CLI runs the real program
// (index.ts, unchanged) on a stack of its own against the local cloud - its own PULUMI_HOME with the local providers
// in the plugin cache, a file backend and a passphrase secrets provider, all under $LOCALCLOUD_DIR - and the local
// release mirror (local/mirror.ts) serves etcd while `up` runs. The stack's file holds the local cloud's values and
// every --set, so each `up` is a diff against the last. It lives in the state directory
// ($LOCALCLOUD_DIR/stacks/<stack>/Pulumi.<stack>.yaml, passed with --config-file), not in stacks/, where every file
// is an AWS environment to the plans, the workflows and the checks; `pulumi stack init` writes it there first (the
// passphrase's salt) and it is moved at once (stacks/Pulumi.local*.yaml is git-ignored for that moment).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { dump, load } from "js-yaml";
import { buildMirror, localRelease, startMirror } from "../local/mirror";
import { MIRROR_DIR } from "../local/paths";
import { stopAll } from "../local/process";
import { importKeyPair } from "./aws/compute";
import { dnsServerAddress } from "./aws/dns";
import { localImdsEndpoint } from "./aws/imds";
import { localS3CaPem, localS3Endpoint, runningMotoDaemons } from "./aws/moto";
import { removeFirewall } from "./aws/network";
import { localcloudDir } from "./aws/state";
import { configureRegion, getSubnets, getVpc } from "./aws/vpc";
import { installLocalProviders } from "./plugins";
import { versionChange } from "./version-change";

/** The checkout's root (this file is <root>/localcloud/stack.ts). */
const ROOT = path.resolve(__dirname, "..");
const PROJECT = "etcd-aws";
const PULUMI = path.join(ROOT, ".tools", "pulumi", "bin", "pulumi");

export const STACK_COMMANDS = ["up", "preview", "destroy"] as const;
export type StackCommandName = (typeof STACK_COMMANDS)[number];
export const DEFAULT_STACK = "local";

/** The region the local stack names (zones local-1a, -b, -c). */
const LOCAL_REGION = "local-1";
/** Where the release mirror listens while `up` runs: a fixed URL, so the stack's mirrorBaseUrl never changes. */
export const MIRROR_ADDRESS = "127.0.19.2";
export const MIRROR_PORT = 8480;
/** The secrets provider's passphrase: fixed, the stack is local and its secrets are its own throwaway keys. */
const PASSPHRASE = "etcd-aws-local-stack";

/** A configuration value as a stack file holds it. */
export type ConfigValue = string | number | boolean | string[];

/** One --set: the key as the stack file spells it and its value typed as Pulumi.yaml declares (undefined: unset). */
export interface ConfigSetting {
    key: string;
    value: ConfigValue | undefined;
}

export interface StackCommand {
    command: StackCommandName;
    stack: string;
    settings: ConfigSetting[];
}

/** A mistake on the command line (printed with the usage). */
export class StackUsageError extends Error {}

/** A change the program's validation refuses, found before anything was touched (printed as it is). */
export class StackRefusedError extends Error {}

/** The keys the local cloud decides (rewritten on every run): a --set of one is refused. */
const LOCAL_CLOUD_KEYS = [
    "aws:region",
    `${PROJECT}:vpcId`,
    `${PROJECT}:subnetIds`,
    `${PROJECT}:sshKeyName`,
    `${PROJECT}:sshPrivateKey`,
    `${PROJECT}:mirrorBaseUrl`,
    `${PROJECT}:backupS3Endpoint`,
    `${PROJECT}:backupImdsEndpoint`,
    `${PROJECT}:backupS3CaPem`,
];

const LOCAL_BACKUP_KEYS = [`${PROJECT}:backupS3Endpoint`, `${PROJECT}:backupImdsEndpoint`, `${PROJECT}:backupS3CaPem`];

/** What the local cloud's backups need (its S3, its IMDSv2 stand-in, its CA): written when the config has a bucket. */
export interface LocalBackupEndpoints {
    s3Endpoint: string;
    imdsEndpoint: string;
    s3CaPem: string;
}

/** The declared type of each of the project's keys (Pulumi.yaml's config: string, integer, boolean, array). */
export function projectConfigTypes(pulumiYaml: string): Record<string, string> {
    const project = load(pulumiYaml) as { config?: Record<string, { type?: string }> };
    return Object.fromEntries(Object.entries(project.config ?? {}).map(([key, spec]) => [key, spec.type ?? "string"]));
}

/**
 * Parses one `key=value`: the key with or without the `etcd-aws:` namespace (`aws:` keys as given), the value as
 * its declared type - an array as JSON (`["a","b"]`) or comma-separated; an empty value unsets the key.
 */
export function parseSetting(text: string, types: Record<string, string>): ConfigSetting {
    const equals = text.indexOf("=");
    if (equals <= 0) throw new StackUsageError(`--set takes key=value, not ${text}`);
    const name = text.slice(0, equals);
    const raw = text.slice(equals + 1);
    const key = name.includes(":") ? name : `${PROJECT}:${name}`;
    if (LOCAL_CLOUD_KEYS.includes(key)) {
        throw new StackUsageError(`${key} is the local cloud's (the local stack sets it on every run)`);
    }
    const [namespace, bare = ""] = key.split(":", 2);
    if (namespace === "aws") return { key, value: raw === "" ? undefined : raw };
    const type = types[bare];
    if (namespace !== PROJECT || type === undefined) {
        throw new StackUsageError(
            `${key} is not a key of the stacks (Pulumi.yaml declares ${PROJECT}:<key> and aws:*)`,
        );
    }
    if (raw === "") return { key, value: undefined };
    if (type === "integer") {
        if (!/^-?\d+$/.test(raw)) throw new StackUsageError(`${key} takes an integer, not ${raw}`);
        return { key, value: Number(raw) };
    }
    if (type === "boolean") {
        if (raw !== "true" && raw !== "false") throw new StackUsageError(`${key} takes true or false, not ${raw}`);
        return { key, value: raw === "true" };
    }
    if (type === "array") {
        if (!raw.startsWith("[")) return { key, value: raw.split(",").filter((item) => item !== "") };
        const list: unknown = JSON.parse(raw);
        if (!Array.isArray(list)) throw new StackUsageError(`${key} takes a JSON list or a comma-separated one`);
        return { key, value: list.map(String) };
    }
    return { key, value: raw };
}

/** A local stack's name: `local` or `local-<name>` (so its file is git-ignored and no AWS stack's is touched). */
const STACK_NAME = /^local(-[a-z0-9][a-z0-9-]*)?$/;

/** Parses `up|preview|destroy [--stack <name>] [--set key=value]...`. */
export function parseStackCommand(args: string[], types: Record<string, string>): StackCommand {
    let parsed;
    try {
        parsed = parseArgs({
            args,
            allowPositionals: true,
            options: { stack: { type: "string" }, set: { type: "string", multiple: true } },
        });
    } catch (error) {
        throw new StackUsageError((error as Error).message);
    }
    const [command, ...extra] = parsed.positionals;
    if (!STACK_COMMANDS.includes(command as StackCommandName) || extra.length > 0) {
        throw new StackUsageError(`the local stack's commands are ${STACK_COMMANDS.join(", ")}`);
    }
    const stack = parsed.values.stack ?? DEFAULT_STACK;
    if (!STACK_NAME.test(stack)) {
        throw new StackUsageError(
            `--stack takes local or local-<name> (no AWS stack's name, so its state is never touched), not ${stack}`,
        );
    }
    const settings = (parsed.values.set ?? []).map((text) => parseSetting(text, types));
    if (command === "destroy" && settings.length > 0) {
        throw new StackUsageError("--set goes with up or preview, not destroy");
    }
    return { command: command as StackCommandName, stack, settings };
}

/** What the local cloud gives a stack. */
export interface LocalCloudValues {
    stack: string;
    vpcId: string;
    subnetIds: string[];
    keyName: string;
    mirrorBaseUrl: string;
    /** Asked for only when the stack's config has backupBucket (making the local CA once). */
    backupEndpoints?: () => LocalBackupEndpoints;
}

/** The local cloud's keys (rewritten every run) and the local defaults (written when absent). */
export function localStackConfig(values: LocalCloudValues): {
    owned: Record<string, ConfigValue>;
    defaults: Record<string, ConfigValue>;
    withBackups?: () => Record<string, ConfigValue>;
} {
    const endpoints = values.backupEndpoints;
    return {
        withBackups: endpoints
            ? () => {
                  const { s3Endpoint, imdsEndpoint, s3CaPem } = endpoints();
                  return {
                      [`${PROJECT}:backupS3Endpoint`]: s3Endpoint,
                      [`${PROJECT}:backupImdsEndpoint`]: imdsEndpoint,
                      [`${PROJECT}:backupS3CaPem`]: s3CaPem,
                  };
              }
            : undefined,
        owned: {
            "aws:region": LOCAL_REGION,
            [`${PROJECT}:vpcId`]: values.vpcId,
            [`${PROJECT}:subnetIds`]: values.subnetIds,
            [`${PROJECT}:sshKeyName`]: values.keyName,
            [`${PROJECT}:mirrorBaseUrl`]: values.mirrorBaseUrl,
        },
        defaults: {
            [`${PROJECT}:clusterName`]: values.stack,
            [`${PROJECT}:memberCount`]: 3,
            // Every connection made on this machine comes from 127.0.0.1 (localcloud/aws/network.ts).
            [`${PROJECT}:clientCidrs`]: ["127.0.0.1/32"],
            [`${PROJECT}:sshCidrs`]: ["127.0.0.1/32"],
            [`${PROJECT}:healthTimeoutSeconds`]: 120,
        },
    };
}

const HEADER = [
    "# A local stack (scripts/local-cluster.sh up): the real program against the local cloud. Written by",
    "# localcloud/stack.ts: the local cloud's keys on every run, --set keys kept from run to run.",
    "",
].join("\n");

type StackDocument = Record<string, unknown> & { config?: Record<string, unknown> };

function stackDocument(existing: string | undefined): StackDocument {
    return ((existing ? load(existing) : undefined) ?? {}) as StackDocument;
}

/**
 * A stack's config after a run: the existing file's keys (its secure values too) with the local cloud's keys
 * rewritten, the defaults where a key is absent, then the settings (undefined removes a key), sorted.
 */
export function stackConfigAfter(
    existing: string | undefined,
    config: ReturnType<typeof localStackConfig>,
    settings: ConfigSetting[],
): Record<string, unknown> {
    const merged: Record<string, unknown> = {
        ...config.defaults,
        ...(stackDocument(existing).config ?? {}),
        ...config.owned,
    };
    for (const { key, value } of settings) {
        if (value === undefined) delete merged[key];
        else merged[key] = value;
    }
    // The backups' endpoints are the local cloud's while the config has a bucket, and gone without one.
    for (const key of LOCAL_BACKUP_KEYS) delete merged[key];
    if (merged[`${PROJECT}:backupBucket`] !== undefined && config.withBackups) {
        Object.assign(merged, config.withBackups());
    }
    return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

/** The stack file after a run: {@link stackConfigAfter}, the existing file's other keys (its encryptionsalt) kept. */
export function stackFileText(
    existing: string | undefined,
    config: ReturnType<typeof localStackConfig>,
    settings: ConfigSetting[],
): string {
    const document = stackDocument(existing);
    return `${HEADER}${dump({ ...document, config: stackConfigAfter(existing, config, settings) }, { lineWidth: -1 })}`;
}

/**
 * The program's refusal (its validation's message, word for word) of the etcdVersion the stack's config asks for
 * after `settings`, given the release the stack's last deployment runs (undefined before the first); undefined when
 * the change is allowed.
 */
export function versionRefusal(
    command: StackCommand,
    existing: string | undefined,
    runningVersion: string | undefined,
): string | undefined {
    const { defaults } = localStackConfig({
        stack: command.stack,
        vpcId: "",
        subnetIds: [],
        keyName: "",
        mirrorBaseUrl: "",
    });
    const config = stackConfigAfter(existing, { owned: {}, defaults }, command.settings);
    return versionChange(PROJECT, command.stack, config, runningVersion).refusal;
}

/** The etcd release the stack's last deployment runs (its `etcdVersion` output); undefined without one. */
async function deployedVersion(stack: string): Promise<string | undefined> {
    const outputs = await pulumi(["stack", "output", "--json", "--stack", stack]).then(
        (text) => JSON.parse(text) as { etcdVersion?: unknown },
        () => ({}) as { etcdVersion?: unknown },
    );
    return typeof outputs.etcdVersion === "string" && outputs.etcdVersion !== "" ? outputs.etcdVersion : undefined;
}

/** The CLI's flags naming the stack and its file. */
function stackArgs(stack: string, configFile = stackPaths(stack).stackFile): string[] {
    return ["--stack", stack, "--config-file", configFile];
}

/** Where a stack keeps its files: the stack file, and its key and client credentials in the state directory. */
export function stackPaths(stack: string): { stackFile: string; dir: string; sshKey: string; clientDir: string } {
    const dir = path.join(localcloudDir(), "stacks", stack);
    return {
        stackFile: path.join(dir, `Pulumi.${stack}.yaml`),
        dir,
        sshKey: path.join(dir, "id_ed25519"),
        clientDir: path.join(dir, "client"),
    };
}

/** The environment the CLI runs in: the local stack's own PULUMI_HOME, backend and passphrase. */
export function pulumiEnvironment(): NodeJS.ProcessEnv {
    const state = path.resolve(localcloudDir());
    return {
        ...process.env,
        PATH: `${path.dirname(PULUMI)}:${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`,
        LOCALCLOUD_DIR: state,
        PULUMI_HOME: path.join(state, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(state, "pulumi-state")}`,
        PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // tsc checks the program in the test command; the engine only runs it.
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    };
}

/** Runs the CLI in the checkout: its output passed through as it comes (`show`), or returned. */
function pulumi(args: string[], options: { show?: boolean; stdin?: string } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(PULUMI, [...args, "--non-interactive"], {
            cwd: ROOT,
            env: pulumiEnvironment(),
            stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
            if (options.show) process.stdout.write(chunk);
        });
        child.stderr?.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
            if (options.show) process.stderr.write(chunk);
        });
        child.stdin?.end(options.stdin);
        child.on("error", reject);
        child.on("close", (code) =>
            code === 0
                ? resolve(stdout)
                : reject(
                      new Error(
                          `pulumi ${args.join(" ")} exited with ${code}${options.show ? "" : `:\n${stderr}${stdout}`}`,
                      ),
                  ),
        );
    });
}

/** The stack's SSH key pair: generated once, registered as the local cloud's key pair `etcd-aws-<stack>`. */
async function ensureKeyPair(stack: string): Promise<{ keyName: string; privateKey: string }> {
    const { sshKey } = stackPaths(stack);
    if (!fs.existsSync(sshKey)) {
        fs.mkdirSync(path.dirname(sshKey), { recursive: true, mode: 0o700 });
        await new Promise<void>((resolve, reject) => {
            const keygen = spawn("ssh-keygen", [
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                `${PROJECT} ${stack}`,
                "-f",
                sshKey,
            ]);
            keygen.on("error", reject);
            keygen.on("close", (code) =>
                code === 0 ? resolve() : reject(new Error(`ssh-keygen exited with ${code}`)),
            );
        });
    }
    const keyName = `${PROJECT}-${stack}`;
    importKeyPair(keyName, fs.readFileSync(`${sshKey}.pub`, "utf8"));
    return { keyName, privateKey: fs.readFileSync(sshKey, "utf8") };
}

/** The local cloud's VPC and its default subnets, as its getVpc and getSubnets answer. */
function localNetwork(): { vpcId: string; subnetIds: string[] } {
    configureRegion({ region: LOCAL_REGION });
    return { vpcId: String(getVpc({}).id), subnetIds: (getSubnets({}).ids as string[]).map(String) };
}

/**
 * Creates (or selects) the stack and writes its file (with the settings when `up` runs); sets the SSH key as a
 * secret the first time. Returns the file `pulumi` is to read: the stack's own, or for `preview --set` a copy with
 * the settings (preview shows what `up --set` would do; the stack keeps its settings).
 */
async function prepareStack(command: StackCommand): Promise<string> {
    installLocalProviders(pulumiEnvironment().PULUMI_HOME as string);
    fs.mkdirSync(path.join(localcloudDir(), "pulumi-state"), { recursive: true });
    const { stackFile } = stackPaths(command.stack);
    fs.mkdirSync(path.dirname(stackFile), { recursive: true });
    const created = await pulumi(["stack", "select", command.stack]).then(
        () => false,
        async () => {
            await pulumi(["stack", "init", command.stack, "--secrets-provider", "passphrase"]);
            return true;
        },
    );
    if (created) {
        // A new stack starts from its new salt; secrets of an earlier stack of the name could not be read.
        fs.renameSync(path.join(ROOT, "stacks", `Pulumi.${command.stack}.yaml`), stackFile);
    }
    const { keyName, privateKey } = await ensureKeyPair(command.stack);
    const existing = fs.existsSync(stackFile) ? fs.readFileSync(stackFile, "utf8") : undefined;
    const config = localStackConfig({
        stack: command.stack,
        ...localNetwork(),
        keyName,
        mirrorBaseUrl: `http://${MIRROR_ADDRESS}:${MIRROR_PORT}`,
        // The CA exists before moto starts: its first S3 resource signs moto's certificate with it.
        backupEndpoints: () => ({
            s3Endpoint: localS3Endpoint(),
            imdsEndpoint: localImdsEndpoint(),
            s3CaPem: localS3CaPem(),
        }),
    });
    const kept = command.command === "up" ? command.settings : [];
    fs.writeFileSync(stackFile, stackFileText(existing, config, kept));
    if (!existing?.includes(`${PROJECT}:sshPrivateKey:`)) {
        await pulumi(["config", "set", "--secret", `${PROJECT}:sshPrivateKey`, ...stackArgs(command.stack)], {
            stdin: privateKey,
        });
    }
    if (command.command !== "preview" || command.settings.length === 0) return stackFile;
    const previewFile = path.join(path.dirname(stackFile), `preview.Pulumi.${command.stack}.yaml`);
    fs.writeFileSync(previewFile, stackFileText(fs.readFileSync(stackFile, "utf8"), config, command.settings));
    return previewFile;
}

const say = (text: string) => console.log(text);

/**
 * The endpoints etcdctl on this machine reaches: DNS names (dns mode) only the local cloud's server resolves, so
 * each is the member's address instead, with the same scheme and port (the certificates name the addresses too).
 */
export function etcdctlEndpoints(endpoints: string[], addresses: string[]): string[] {
    return endpoints.map((endpoint, i) => {
        const url = new URL(endpoint);
        const address = addresses[i];
        if (/^\d+\.\d+\.\d+\.\d+$/.test(url.hostname) || address === undefined) return endpoint;
        return `${url.protocol}//${address}:${url.port}`;
    });
}

/** Writes the client's TLS files (when the cluster has TLS) and prints the endpoints and an etcdctl line. */
async function printEndpoints(stack: string): Promise<void> {
    const outputs = JSON.parse(await pulumi(["stack", "output", "--json", "--show-secrets", "--stack", stack])) as {
        clientEndpoints?: string[];
        memberPrivateIps?: string[];
        etcdVersion?: string;
        caCertPem?: string;
        clientCertPem?: string;
        clientKeyPem?: string;
    };
    const endpoints = outputs.clientEndpoints ?? [];
    say(`\nclient endpoints (pulumi stack output clientEndpoints): ${endpoints.join(",")}`);
    const byAddress = etcdctlEndpoints(endpoints, outputs.memberPrivateIps ?? []);
    if (byAddress.join(",") !== endpoints.join(",")) {
        say(
            `(the names resolve through the local cloud's DNS server ${dnsServerAddress()}; etcdctl here uses the addresses)`,
        );
    }
    const etcdctl = path.join(localRelease(outputs.etcdVersion ?? "3.6").binDir, "etcdctl");
    const tls: string[] = [];
    if (outputs.caCertPem && outputs.clientCertPem && outputs.clientKeyPem) {
        const { clientDir } = stackPaths(stack);
        fs.mkdirSync(clientDir, { recursive: true, mode: 0o700 });
        const files = { cacert: "ca.pem", cert: "client.pem", key: "client-key.pem" };
        fs.writeFileSync(path.join(clientDir, files.cacert), outputs.caCertPem);
        fs.writeFileSync(path.join(clientDir, files.cert), outputs.clientCertPem);
        fs.writeFileSync(path.join(clientDir, files.key), outputs.clientKeyPem, { mode: 0o600 });
        tls.push(...Object.entries(files).map(([flag, file]) => `--${flag} ${path.join(clientDir, file)}`));
    }
    say(`use it: ETCDCTL_API=3 ${[etcdctl, "--endpoints", byAddress.join(","), ...tls].join(" ")} member list`);
}

/** After a destroy: stops what the local cloud still runs (recorded PIDs) and drops its firewall table. */
async function stopLeftovers(): Promise<number[]> {
    const stopped = await stopAll(localcloudDir());
    removeFirewall();
    return stopped;
}

/** Runs one local stack command with the real CLI; its output passes through as the engine runs. */
export async function runStackCommand(command: StackCommand): Promise<void> {
    if (!fs.existsSync(PULUMI)) throw new Error(`${PULUMI} is missing: run scripts/bootstrap.sh`);
    if (process.getuid?.() !== 0) throw new Error("local hosts need mount namespaces and nftables: run as root");
    if (command.command !== "destroy") {
        // Before anything is written or looked for (the stack file, the release binaries): as the program would.
        const { stackFile } = stackPaths(command.stack);
        const existing = fs.existsSync(stackFile) ? fs.readFileSync(stackFile, "utf8") : undefined;
        const refusal = versionRefusal(command, existing, await deployedVersion(command.stack));
        if (refusal !== undefined) throw new StackRefusedError(refusal);
    }
    const configFile = await prepareStack(command);
    const stack = stackArgs(command.stack, configFile);
    if (command.command === "preview") {
        try {
            await pulumi(["preview", "--diff", ...stack], { show: true });
        } finally {
            if (configFile !== stackPaths(command.stack).stackFile) fs.rmSync(configFile, { force: true });
        }
        return;
    }
    if (command.command === "destroy") {
        await pulumi(["destroy", "--yes", "--skip-preview", ...stack], { show: true });
        const stopped = await stopLeftovers();
        const kept = runningMotoDaemons();
        if (stopped.length > 0) say(`stopped what was left running: PIDs ${stopped.join(", ")}`);
        else if (kept.length === 0) say("nothing left running");
        if (kept.length > 0) {
            // As on AWS, the retained backup bucket outlives the stack; moto holds it in memory.
            say(
                `kept running for the retained backup bucket (its backups are in moto's memory, for a restore): ${kept.map(({ name, pid }) => `${name} (PID ${pid})`).join(", ")}; stop them with: kill ${kept.map(({ pid }) => pid).join(" ")}`,
            );
        }
        return;
    }
    buildMirror(MIRROR_DIR);
    const mirror = await startMirror(MIRROR_DIR, MIRROR_ADDRESS, { port: MIRROR_PORT });
    try {
        await pulumi(["up", "--yes", "--skip-preview", "--diff", ...stack], { show: true });
    } finally {
        await mirror.close();
    }
    await printEndpoints(command.stack);
}
