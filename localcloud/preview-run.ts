// The engine side of scripts/preview.sh: a throwaway local cloud and file backend in a temporary directory, the base
// program (a git ref) deployed there in record mode (LOCALCLOUD_RECORD=1: the providers compute every id and output,
// start nothing, connect nowhere), then any number of heads previewed against that one recorded state by the real
// engine (`pulumi preview --diff --json --show-sames`). Secrets of the stack file are encrypted for the stack's own
// secrets provider, so they are dropped and throwaway values (a new SSH key) take their place.
import { spawn, SpawnOptions, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { installLocalProviders } from "./plugins";
import { EngineDiagnostic, EnginePreview, previewErrors } from "./preview";
import { privateKey } from "./providers/tls";

/** The checkout's root (this file is <root>/localcloud/preview-run.ts). */
const ROOT = path.resolve(__dirname, "..");
const PULUMI = path.join(ROOT, ".tools", "pulumi", "bin", "pulumi");
/** The secret config key that every stack needs; it gets a throwaway SSH key. */
const SSH_KEY = "sshPrivateKey";
/** Stack file keys of the secrets provider: they belong to the stack's real provider. */
const SECRETS_PROVIDER_KEYS = ["secretsprovider", "encryptedkey", "encryptionsalt"];
/** Bounds each engine run: a record-mode `up` of seven members takes well under a minute. */
const ENGINE_TIMEOUT_MS = 10 * 60_000;

/** A stack file's content (Pulumi.<stack>.yaml), the parts read here. */
interface StackFile {
    config?: Record<string, unknown>;
    [key: string]: unknown;
}

/** A config value encrypted by a secrets provider. */
const isSecure = (value: unknown): boolean =>
    typeof value === "object" && value !== null && "secure" in (value as Record<string, unknown>);

/** Runs git in the checkout; its stdout. */
function git(...args: string[]): string {
    const result = spawnSync("git", args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr.trim()}`);
    return result.stdout;
}

/** The commit a ref names (so the output says exactly what was deployed). */
export function resolveCommit(ref: string): string {
    try {
        return git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`).trim();
    } catch (error) {
        throw new Error(`${ref} names no commit of this checkout (a shallow clone lacks the base: fetch it)`, {
            cause: error,
        });
    }
}

/**
 * The program at `ref` (git archive), or the working tree (tracked and untracked, not ignored files) when `ref` is
 * undefined, written into `directory` with the checkout's node_modules linked.
 */
export function extractProgram(ref: string | undefined, directory: string): void {
    fs.mkdirSync(directory, { recursive: true });
    if (ref !== undefined) {
        const archive = spawnSync("git", ["archive", "--format=tar", resolveCommit(ref)], {
            cwd: ROOT,
            maxBuffer: 1 << 30,
        });
        if (archive.status !== 0) throw new Error(`git archive ${ref}: ${archive.stderr.toString().trim()}`);
        const untar = spawnSync("tar", ["-x", "-C", directory], { input: archive.stdout });
        if (untar.status !== 0) throw new Error(`tar -x: ${untar.stderr.toString().trim()}`);
    } else {
        for (const file of git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")) {
            const source = path.join(ROOT, file);
            if (!file || !fs.existsSync(source) || fs.statSync(source).isDirectory()) continue;
            fs.mkdirSync(path.dirname(path.join(directory, file)), { recursive: true });
            fs.copyFileSync(source, path.join(directory, file));
        }
    }
    fs.rmSync(path.join(directory, "node_modules"), { recursive: true, force: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(directory, "node_modules"));
}

/** The project's name and the path of `stack`'s file in a program directory (Pulumi.yaml's stackConfigDir). */
function projectFiles(directory: string, stack: string): { project: string; stackFile: string } {
    const project = yaml.load(fs.readFileSync(path.join(directory, "Pulumi.yaml"), "utf8")) as {
        name: string;
        stackConfigDir?: string;
    };
    return {
        project: project.name,
        stackFile: path.join(directory, project.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`),
    };
}

function readStackFile(file: string, what: string): StackFile {
    if (!fs.existsSync(file)) throw new Error(`${what} has no ${path.basename(file)}`);
    return (yaml.load(fs.readFileSync(file, "utf8")) as StackFile | undefined) ?? {};
}

/** The stack file without anything encrypted for the stack's own secrets provider; the keys dropped. */
function withoutSecrets(file: StackFile): { file: StackFile; dropped: string[] } {
    const config = Object.entries(file.config ?? {});
    const kept = Object.fromEntries(Object.entries(file).filter(([key]) => !SECRETS_PROVIDER_KEYS.includes(key)));
    return {
        file: { ...kept, config: Object.fromEntries(config.filter(([, value]) => !isSecure(value))) },
        dropped: config.filter(([, value]) => isSecure(value)).map(([key]) => key),
    };
}

/** A `--set key=value`: the key (the project's namespace added when missing) and its value as YAML reads it. */
export function parseSetting(setting: string, project: string): [key: string, value: unknown] {
    const equals = setting.indexOf("=");
    if (equals <= 0) throw new Error(`--set ${setting}: expected key=value, e.g. ${project}:volumeSizeGiB=200`);
    const key = setting.slice(0, equals);
    return [key.includes(":") ? key : `${project}:${key}`, yaml.load(setting.slice(equals + 1)) ?? ""];
}

/** The engine's `error: ` lines on stderr as error diagnostics (the closing "preview failed" left out). */
export function engineErrorDiagnostics(stderr: string): EngineDiagnostic[] {
    return stderr
        .split("\n")
        .filter((line) => line.startsWith("error: ") && line.trim() !== "error: preview failed")
        .map((message) => ({ severity: "error", message }));
}

/** The engine's JSON on a preview's stdout. */
function parsePreview(run: CapturedRun): EnginePreview {
    try {
        return JSON.parse(run.stdout) as EnginePreview;
    } catch {
        throw new Error(`pulumi preview failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`.trimEnd());
    }
}

/** How a process ended and what it printed. */
export interface CapturedRun {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs `command` to its end (a non-zero exit resolves too: the caller decides), capturing its output. */
export function runCaptured(command: string, args: string[], options: SpawnOptions): Promise<CapturedRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk));
        child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

/** One throwaway local cloud with a stack deployed from a base in record mode, previewed against heads. */
export class PreviewSession {
    /** The temporary directory holding everything (removed by {@link close}). */
    readonly directory: string;
    /** The local cloud's state directory (LOCALCLOUD_DIR), e.g. for a test to publish a new image. */
    readonly localcloudDir: string;
    /** What the output must tell the reader (the throwaway secrets). */
    readonly notes: string[] = [];
    private readonly env: NodeJS.ProcessEnv;
    /** The base stack file's secrets-provider keys and encrypted throwaway values, copied into each head's. */
    private secrets: StackFile = {};
    private heads = 0;
    /** The project's name (Pulumi.yaml), known once the base is deployed. */
    project = "";
    /** The config of the last head's stack file, the settings applied. */
    headConfig: Record<string, unknown> = {};

    constructor(readonly stack: string) {
        if (!fs.existsSync(PULUMI)) throw new Error(`${PULUMI} is missing: run scripts/bootstrap.sh`);
        this.directory = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-aws-preview-"));
        this.localcloudDir = path.join(this.directory, "localcloud");
        const home = path.join(this.directory, "pulumi-home");
        const state = path.join(this.directory, "state");
        fs.mkdirSync(state);
        installLocalProviders(home);
        this.env = {
            ...process.env,
            PATH: `${path.dirname(PULUMI)}:${path.dirname(process.execPath)}:${process.env.PATH}`,
            PULUMI_HOME: home,
            PULUMI_BACKEND_URL: `file://${state}`,
            // A throwaway passphrase for a throwaway stack: it encrypts only the throwaway secrets.
            PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(16).toString("hex"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            // tsc checks the program in the test command; the engine only needs to run it.
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            LOCALCLOUD_DIR: this.localcloudDir,
            LOCALCLOUD_RECORD: "1",
        };
    }

    private pulumi(cwd: string, ...args: string[]): Promise<CapturedRun> {
        return runCaptured(PULUMI, ["--non-interactive", ...args], { cwd, env: this.env, timeout: ENGINE_TIMEOUT_MS });
    }

    private async pulumiOk(cwd: string, ...args: string[]): Promise<string> {
        const run = await this.pulumi(cwd, ...args);
        if (run.code !== 0) {
            throw new Error(`pulumi ${args[0]} failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`.trimEnd());
        }
        return run.stdout;
    }

    /** Deploys the program at `ref` (the working tree when undefined) in record mode, with throwaway secrets. */
    async deployBase(ref: string | undefined): Promise<void> {
        const directory = path.join(this.directory, "base");
        const what = ref ?? "the working tree";
        extractProgram(ref, directory);
        const { project, stackFile } = projectFiles(directory, this.stack);
        this.project = project;
        const { file, dropped } = withoutSecrets(readStackFile(stackFile, what));
        fs.writeFileSync(stackFile, yaml.dump(file));
        await this.pulumiOk(directory, "stack", "init", this.stack, "--secrets-provider", "passphrase");
        const sshKey = `${project}:${SSH_KEY}`;
        const key = await privateKey.create({ algorithm: "ED25519" }, "urn:pulumi:preview::preview::key::ssh");
        const throwaway = new Map<string, string>([
            ...dropped.map((name): [string, string] => [name, crypto.randomBytes(16).toString("hex")]),
            [sshKey, String(key.outputs.privateKeyOpenssh)],
        ]);
        for (const [name, value] of throwaway) {
            await this.pulumiOk(directory, "config", "set", "--secret", "--", name, value);
        }
        this.notes.push(
            `${[...throwaway.keys()].join(", ")}: throwaway value${throwaway.size > 1 ? "s" : ""} for this preview ` +
                "(a new SSH key): the stack's own secrets are encrypted for its own secrets provider and are not read",
        );
        const encrypted = readStackFile(stackFile, what);
        this.secrets = {
            ...Object.fromEntries(SECRETS_PROVIDER_KEYS.filter((k) => k in encrypted).map((k) => [k, encrypted[k]])),
            config: Object.fromEntries([...throwaway.keys()].map((name) => [name, encrypted.config?.[name]])),
        };
        await this.pulumiOk(directory, "up", "--yes", "--skip-preview", "--stack", this.stack);
    }

    /** The base deployment's stack outputs (secrets left encrypted). */
    async baseOutputs(): Promise<Record<string, unknown>> {
        const directory = path.join(this.directory, "base");
        const text = await this.pulumiOk(directory, "stack", "output", "--json", "--stack", this.stack);
        return JSON.parse(text) as Record<string, unknown>;
    }

    /**
     * Publishes a newer image in the throwaway cloud (what getAmi's mostRecent finds next), as Canonical publishes a
     * new Ubuntu image upstream; returns its id.
     */
    publishImage(): string {
        const script = path.join(ROOT, "localcloud", "aws", "images.ts");
        const register = path.join(ROOT, "node_modules", "ts-node", "register", "transpile-only");
        const run = spawnSync(process.execPath, ["--require", register, script, "publish"], {
            env: { ...this.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
            encoding: "utf8",
        });
        if (run.status !== 0) throw new Error(`publishing an image: ${run.stderr.trim()}`);
        return run.stdout.trim();
    }

    /**
     * The engine's preview of the program at `ref` (the working tree when undefined) against the recorded base,
     * with `settings` (`key=value`) applied to a copy of its own stack file.
     */
    async previewHead(ref: string | undefined, settings: string[] = []): Promise<EnginePreview> {
        const directory = this.extractHead(ref, settings);
        const previewArgs = ["preview", "--stack", this.stack, "--diff", "--json", "--show-sames"];
        const run = await this.pulumi(directory, ...previewArgs);
        const preview = parsePreview(run);
        if (run.code === 0) return preview;
        // The program's errors are in the JSON, the engine's own (a failed snapshot check, ...) on stderr.
        const errors = [
            ...(preview.diagnostics ?? []).filter((diagnostic) => diagnostic.severity === "error"),
            ...engineErrorDiagnostics(run.stderr),
        ];
        if (previewErrors({ diagnostics: errors }).length === 0) {
            throw new Error(`pulumi preview failed (exit ${run.code}):\n${run.stderr}`.trimEnd());
        }
        if (!/failed to verify snapshot/.test(run.stderr + run.stdout)) return { ...preview, diagnostics: errors };
        // The engine's check of its own state stopped the preview part way: the whole plan is read again without the
        // check, the failure stays in the report (`pulumi up` makes the same check).
        const complete = await this.pulumi(directory, ...previewArgs, "--disable-integrity-checking");
        const whole = parsePreview(complete);
        return { ...whole, diagnostics: [...(whole.diagnostics ?? []), ...errors] };
    }

    /**
     * A record-mode `pulumi up` of the program at `ref` (the working tree when undefined) over the recorded state, with
     * `settings` applied as in {@link previewHead}: the state moves on, so later previews start from this head.
     */
    upHead(ref: string | undefined, settings: string[] = []): Promise<CapturedRun> {
        return this.pulumi(this.extractHead(ref, settings), "up", "--yes", "--skip-preview", "--stack", this.stack);
    }

    /** The program at `ref` in a new directory, its stack file with the base's secrets and `settings`. */
    private extractHead(ref: string | undefined, settings: string[]): string {
        const directory = path.join(this.directory, `head-${++this.heads}`);
        extractProgram(ref, directory);
        const { project, stackFile } = projectFiles(directory, this.stack);
        const { file } = withoutSecrets(readStackFile(stackFile, ref ?? "the working tree"));
        const config = { ...file.config, ...(this.secrets.config as Record<string, unknown>) };
        for (const setting of settings) {
            const [key, value] = parseSetting(setting, project);
            config[key] = value;
        }
        fs.writeFileSync(stackFile, yaml.dump({ ...this.secrets, ...file, config }));
        this.headConfig = config;
        return directory;
    }

    /** Removes the temporary directory (the throwaway cloud, state and programs). */
    close(): void {
        fs.rmSync(this.directory, { recursive: true, force: true });
    }
}
