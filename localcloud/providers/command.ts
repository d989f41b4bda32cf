// Local stand-in for the `command` provider (@pulumi/command 1.2.x, pulumi/pulumi-command's provider/pkg/provider):
// local.Command runs /bin/sh -c on this machine, remote.Command runs over real SSH (ssh2), with the upstream
// lifecycle: create runs `create`; an update runs `update`, or `create` again when there is none; only `triggers`
// replaces; delete runs the OLD `delete` with the old inputs; addPreviousOutputInEnv (default true) passes the
// previous stdout/stderr as PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR. In record mode (LOCALCLOUD_RECORD=1, the
// base deployment of scripts/preview.sh) nothing runs or connects: every command succeeds, printing nothing.
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import { Client, ClientChannel, ConnectConfig } from "ssh2";
import { diffByTable, DiffRule, Properties, ProviderSpec, ResourceType, serveProvider } from "./server";
import { providerVersion } from "../plugins";
import { recordMode } from "../aws/state";

const UPSTREAM = "pulumi/pulumi-command v1.2.1 provider/pkg/provider";

/** common/inputs.go ResourceInputs: `triggers` has provider:"replaceOnChanges"; create/update/delete do not. */
const COMMON_DIFF: DiffRule[] = [
    { property: "triggers", change: "replace", source: `${UPSTREAM}/common/inputs.go` },
    ...["create", "update", "delete"].map((property): DiffRule => ({
        property,
        change: "update",
        source: `${UPSTREAM}/common/inputs.go`,
    })),
];

/** local/base.go BaseInputs: no replaceOnChanges tag, so every change is an update. */
export const LOCAL_COMMAND_DIFF: DiffRule[] = [
    ...COMMON_DIFF,
    ...[
        "stdin",
        "logging",
        "interpreter",
        "dir",
        "environment",
        "assetPaths",
        "archivePaths",
        "addPreviousOutputInEnv",
    ].map((property): DiffRule => ({ property, change: "update", source: `${UPSTREAM}/local/base.go` })),
];

/** remote/command.go CommandInputs: no replaceOnChanges tag, so every change is an update. */
export const REMOTE_COMMAND_DIFF: DiffRule[] = [
    ...COMMON_DIFF,
    ...["stdin", "logging", "connection", "environment", "addPreviousOutputInEnv"].map((property): DiffRule => ({
        property,
        change: "update",
        source: `${UPSTREAM}/remote/command.go`,
    })),
];

/** What a command printed (trailing newline trimmed, as upstream's strings.TrimSuffix). */
export interface CommandOutput {
    stdout: string;
    stderr: string;
}

/** The environment a command gets from its inputs and, with addPreviousOutputInEnv, its previous outputs. */
export function commandEnvironment(inputs: Properties, previous: Partial<CommandOutput>): Record<string, string> {
    const environment = { ...((inputs.environment as Record<string, string> | undefined) ?? {}) };
    if (inputs.addPreviousOutputInEnv !== false) {
        if (previous.stdout) environment.PULUMI_COMMAND_STDOUT = previous.stdout;
        if (previous.stderr) environment.PULUMI_COMMAND_STDERR = previous.stderr;
    }
    return environment;
}

function failure(command: string, detail: string, output: string): Error {
    return new Error(`${detail}: running ${JSON.stringify(command)}:\n${output}`);
}

const trimNewline = (text: string): string => text.replace(/\n$/, "");

/** local/commandOutputs.go run: `interpreter` (default /bin/sh -c) with the command, in `dir`, with `stdin`. */
export function runLocal(
    command: string,
    inputs: Properties,
    previous: Partial<CommandOutput>,
): Promise<CommandOutput> {
    const [program = "/bin/sh", ...args] = (inputs.interpreter as string[] | undefined)?.length
        ? (inputs.interpreter as string[])
        : ["/bin/sh", "-c"];
    return new Promise((resolve, reject) => {
        const child = spawn(program, [...args, command], {
            cwd: (inputs.dir as string | undefined) ?? process.cwd(),
            env: { ...process.env, ...commandEnvironment(inputs, previous) },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let both = "";
        child.stdout.on("data", (chunk: Buffer) => ((stdout += chunk), (both += chunk)));
        child.stderr.on("data", (chunk: Buffer) => ((stderr += chunk), (both += chunk)));
        child.on("error", reject);
        child.on("close", (code, signal) => {
            if (code === 0) resolve({ stdout: trimNewline(stdout), stderr: trimNewline(stderr) });
            else reject(failure(command, signal ? `signal: ${signal}` : `exit status ${code}`, both));
        });
        // A command that exits without reading its stdin closes the pipe: EPIPE then is no failure (Go's exec, which
        // upstream uses, ignores it the same way); the exit status decides.
        child.stdin.on("error", () => undefined);
        child.stdin.end((inputs.stdin as string | undefined) ?? "");
    });
}

/** The connection block of remote.Command (remote/connection.go), defaults applied. */
interface Connection {
    host: string;
    port?: number;
    user?: string;
    password?: string;
    privateKey?: string;
    privateKeyPassword?: string;
    agentSocketPath?: string;
    dialErrorLimit?: number;
    perDialTimeout?: number;
    hostKey?: string;
    proxy?: Connection;
}

/** ssh2's settings for one hop: user root, port 22, 15 s per dial (upstream's defaults); hostKey checked if set. */
function connectConfig(connection: Connection): ConnectConfig {
    const expected = connection.hostKey?.trim().split(/\s+/)[1];
    return {
        host: connection.host,
        port: connection.port ?? 22,
        username: connection.user ?? "root",
        password: connection.password,
        privateKey: connection.privateKey,
        passphrase: connection.privateKeyPassword,
        agent: connection.agentSocketPath ?? process.env.SSH_AUTH_SOCK,
        readyTimeout: (connection.perDialTimeout ?? 15) * 1000 || undefined,
        hostVerifier: expected ? (key: Buffer) => key.toString("base64") === expected : undefined,
    };
}

/** One SSH connection attempt, through `via` (a connected proxy client) when given. */
function dialOnce(connection: Connection, via?: Client): Promise<Client> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        client.once("ready", () => resolve(client));
        client.once("error", (error) => {
            client.end();
            reject(error);
        });
        if (!via) {
            client.connect(connectConfig(connection));
            return;
        }
        via.forwardOut("127.0.0.1", 0, connection.host, connection.port ?? 22, (error, stream) => {
            if (error) reject(error);
            else client.connect({ ...connectConfig(connection), sock: stream });
        });
    });
}

/** Dials with upstream's retry budget: dialErrorLimit failed attempts (default 10; -1 unlimited), 1 s apart. */
async function dial(connection: Connection, via?: Client): Promise<Client> {
    const limit = connection.dialErrorLimit ?? 10;
    for (let failures = 1; ; failures++) {
        try {
            return await dialOnce(connection, via);
        } catch (error) {
            if (limit !== -1 && failures >= limit) {
                throw new Error(
                    `Dial: ${failures} failed attempts to ${connection.host}: ${(error as Error).message}`,
                    {
                        cause: error,
                    },
                );
            }
            await new Promise((resolve) => setTimeout(resolve, 1000));
        }
    }
}

/** remote/commandOutputs.go run: one SSH session per command, env requests, stdin, exit status. */
export async function runRemote(command: string, inputs: Properties, previous: Partial<CommandOutput>) {
    const connection = inputs.connection as Connection;
    const proxy = connection.proxy ? await dial(connection.proxy) : undefined;
    try {
        const client = await dial(connection, proxy);
        try {
            return await new Promise<CommandOutput>((resolve, reject) => {
                client.exec(command, { env: commandEnvironment(inputs, previous) }, (error, stream: ClientChannel) => {
                    if (error) return reject(error);
                    let stdout = "";
                    let stderr = "";
                    let both = "";
                    stream.on("data", (chunk: Buffer) => ((stdout += chunk), (both += chunk)));
                    stream.stderr.on("data", (chunk: Buffer) => ((stderr += chunk), (both += chunk)));
                    let status: { code?: number; signal?: string } = {};
                    stream.on("exit", (code?: number, signal?: string) => (status = { code, signal }));
                    stream.on("close", () => {
                        if (status.code === 0) resolve({ stdout: trimNewline(stdout), stderr: trimNewline(stderr) });
                        else {
                            const detail = status.signal ? `signal: ${status.signal}` : `exit status ${status.code}`;
                            reject(failure(command, detail, both));
                        }
                    });
                    stream.end((inputs.stdin as string | undefined) ?? "");
                });
            });
        } finally {
            client.end();
        }
    } finally {
        proxy?.end();
    }
}

type Runner = (command: string, inputs: Properties, previous: Partial<CommandOutput>) => Promise<CommandOutput>;

/** The resource name at the end of a URN. */
const nameOfUrn = (urn: string): string => urn.split("::").pop() as string;

/** Record mode's runner: the command is not run, so it printed nothing. */
const recorded: Runner = () => Promise.resolve({ stdout: "", stderr: "" });

/**
 * resource.NewUniqueHex(name, 8, 0): the name and 8 random hex digits; in record mode 8 digits of the URN's SHA-256,
 * so that two recordings of one program agree.
 */
function commandId(urn: string): string {
    const suffix = recordMode()
        ? crypto.createHash("sha256").update(urn).digest("hex").slice(0, 8)
        : crypto.randomBytes(4).toString("hex");
    return nameOfUrn(urn) + suffix;
}

/** A Command resource type over `runCommand` (commandController.go of local/ and remote/ alike). */
function commandResource(table: DiffRule[], runCommand: Runner): ResourceType {
    // Read at each call, not at load: the mode is the plugin process's environment (tests set it per case).
    const run: Runner = (...args) => (recordMode() ? recorded : runCommand)(...args);
    return {
        diff: (olds, news) => diffByTable(table, olds.inputs, news),
        // Create: the id of commandId; no `create`: nothing runs, empty outputs.
        create: async (inputs, urn) => {
            const id = commandId(urn);
            const output = inputs.create ? await run(String(inputs.create), inputs, {}) : { stdout: "", stderr: "" };
            return { id, outputs: { ...inputs, ...output } };
        },
        // Update: the new inputs with the old outputs in the environment; `update`, else `create`, else nothing.
        update: async (_id, olds, news) => {
            const previous = { stdout: olds.outputs.stdout as string, stderr: olds.outputs.stderr as string };
            const command = (news.update ?? news.create) as string | undefined;
            const output = command ? await run(command, news, previous) : previous;
            return { ...news, ...output };
        },
        // Delete: the OLD `delete` with the old inputs (the state), its outputs in the environment.
        delete: async (_id, outputs) => {
            if (outputs.delete) await run(String(outputs.delete), outputs, outputs as Partial<CommandOutput>);
        },
    };
}

/** local.Command. */
export const localCommand = commandResource(LOCAL_COMMAND_DIFF, runLocal);

/** remote.Command. */
export const remoteCommand = commandResource(REMOTE_COMMAND_DIFF, runRemote);

/** The local command provider. */
export const COMMAND_PROVIDER: ProviderSpec = {
    name: "command",
    version: providerVersion("command"),
    resources: {
        "command:local:Command": localCommand,
        "command:remote:Command": remoteCommand,
    },
};

if (require.main === module) serveProvider(COMMAND_PROVIDER);
