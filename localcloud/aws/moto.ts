// moto_server, the S3, IAM and STS API of the local cloud and of the backup tests (Debian's rclone 1.60 has no
// `serve s3`). With INITIAL_NO_AUTH_ACTION_COUNT set, moto checks SigV4 signatures (and IAM policies) once its first
// requests are spent: those create an admin user and its access key, and every later request is signed with a key
// moto issued (curl --aws-sigv4, as the host scripts sign theirs).
//
// The local cloud's moto is detached (it outlives the provider process; its PID is in <state>/moto/moto_server.pid),
// serves HTTPS on 127.0.19.80:443 (or LOCALCLOUD_MOTO_ADDRESS, host:port) with a certificate of the local cloud's own
// CA (<state>/moto/tls, local/pki.ts's openssl certificates), is started by the first S3 or IAM resource and stopped
// when the last one is deleted. Its admin key is in <state>/moto/admin.json. moto keeps its data in memory: a
// machine restart loses the buckets and roles the state still lists.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { checkAlive, startDaemon } from "../../local/daemon";
import { createCertificateAuthority, newKey, sign } from "../../local/pki";
import { isRunning, readPidFile, recordedProcess, waitFor } from "../../local/process";
import { localcloudDir } from "./state";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");

/** scripts/bootstrap.sh installs moto into .tools/moto; a moto_server on PATH does as well. */
export const MOTO_SERVER =
    [path.join(ROOT, ".tools/moto/bin/moto_server")].find((file) => fs.existsSync(file)) ?? "moto_server";

/** The unsigned setup requests: CreateUser, PutUserPolicy, CreateAccessKey (and one spare, as moto counts). */
export const MOTO_SETUP_REQUESTS = 4;

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const START_TIMEOUT_MS = 30_000;

/** An access key moto issued, and the endpoint and region to sign with. */
export interface MotoCredentials {
    readonly endpoint: string;
    readonly region: string;
    readonly accessKey: string;
    readonly secretKey: string;
    readonly sessionToken?: string;
    /** The CA of an HTTPS endpoint not in the system's trust store (the local cloud's). */
    readonly caFile?: string;
}

export interface MotoAnswer {
    readonly status: number;
    readonly body: string;
    /** The answer's headers, names in lower case. */
    readonly headers: Record<string, string>;
}

/** One request to moto as curl makes it. */
export interface MotoRequest {
    readonly method: string;
    /** Path and query after the endpoint, e.g. `/bucket?versioning` or `/`. */
    readonly target: string;
    /** The SigV4 service: s3, iam or sts. */
    readonly service: string;
    readonly body?: string;
    /** A file to upload as the body (instead of `body`). */
    readonly file?: string;
    /** Query API form fields (IAM, STS), URL-encoded into a POST body. */
    readonly form?: Record<string, string>;
    readonly headers?: string[];
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** A request signed with `credentials` (unsigned without them: moto's setup requests). */
export async function motoRequest(credentials: MotoCredentials | undefined, request: MotoRequest): Promise<MotoAnswer> {
    const bodyHash = request.file
        ? sha256(fs.readFileSync(request.file))
        : request.body !== undefined
          ? sha256(request.body)
          : EMPTY_SHA256;
    const endpoint = credentials?.endpoint ?? "";
    const args = [
        "-sS",
        "--max-time",
        "60",
        "-D",
        "-",
        "-X",
        request.method,
        "--aws-sigv4",
        `aws:amz:${credentials?.region ?? "us-east-1"}:${request.service}`,
        ...(credentials?.caFile ? ["--cacert", credentials.caFile] : []),
        "--user",
        credentials ? `${credentials.accessKey}:${credentials.secretKey}` : "setup:setup",
        ...(credentials?.sessionToken ? ["-H", `x-amz-security-token: ${credentials.sessionToken}`] : []),
        ...(request.service === "s3" ? ["-H", `x-amz-content-sha256: ${bodyHash}`] : []),
        // (curl would call a --data-binary body a form, which moto then reads as one.)
        ...(request.service === "s3" && request.body !== undefined ? ["-H", "Content-Type: application/xml"] : []),
        ...(request.headers ?? []).flatMap((header) => ["-H", header]),
        ...(request.file ? ["--upload-file", request.file] : []),
        ...(request.body !== undefined ? ["--data-binary", request.body] : []),
        ...Object.entries(request.form ?? {}).flatMap(([name, value]) => ["--data-urlencode", `${name}=${value}`]),
        `${endpoint}${request.target}`,
    ];
    const { stdout } = await run("curl", args, { maxBuffer: 64 << 20 });
    // -D - puts the headers (after any 100 Continue) before the body.
    const blocks = stdout.split("\r\n\r\n");
    let index = 0;
    while (/^HTTP\/\S+ 100/.test(blocks[index] ?? "") && index < blocks.length - 1) index += 1;
    const [statusLine = "", ...headerLines] = (blocks[index] ?? "").split("\r\n");
    const headers = Object.fromEntries(
        headerLines.map((line) => {
            const colon = line.indexOf(":");
            return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
        }),
    );
    return { status: Number(statusLine.split(" ")[1]), body: blocks.slice(index + 1).join("\r\n\r\n"), headers };
}

/** The text of an XML element of an answer (moto's and AWS's answers are flat enough). */
export function xmlValue(body: string, element: string): string | undefined {
    return new RegExp(`<${element}>([^<]*)</${element}>`).exec(body)?.[1];
}

/** Throws with the API's error code and message unless the answer is a 2xx. */
export function expectSuccess(answer: MotoAnswer, what: string): MotoAnswer {
    if (answer.status >= 200 && answer.status < 300) return answer;
    const code = xmlValue(answer.body, "Code") ?? `HTTP ${answer.status}`;
    const message = xmlValue(answer.body, "Message") ?? answer.body.slice(0, 300);
    const error = new Error(`${code}: ${what}: ${message}`) as Error & { code: string };
    error.code = code;
    throw error;
}

/** Waits until moto at `endpoint` answers; `alive` throws when its process has exited. */
export async function waitForMoto(endpoint: string, alive: () => void, caFile?: string): Promise<void> {
    await waitFor(`moto_server at ${endpoint}`, START_TIMEOUT_MS, async () => {
        alive();
        try {
            const ca = caFile ? ["--cacert", caFile] : [];
            await run("curl", ["-sS", "--max-time", "2", ...ca, "-o", "/dev/null", `${endpoint}/moto-api/`]);
            return true;
        } catch {
            return undefined;
        }
    });
}

/** The setup: an IAM user allowed everything, and its access key (moto checks signatures from then on). */
export async function createMotoAdmin(endpoint: string, region: string, caFile?: string): Promise<MotoCredentials> {
    const iam = (form: Record<string, string>) =>
        motoRequest(
            { endpoint, region, accessKey: "setup", secretKey: "setup", caFile },
            { method: "POST", target: "/", service: "iam", form: { Version: "2010-05-08", ...form } },
        );
    const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
    await iam({ Action: "CreateUser", UserName: "admin" });
    await iam({
        Action: "PutUserPolicy",
        UserName: "admin",
        PolicyName: "everything",
        PolicyDocument: JSON.stringify(policy),
    });
    const key = await iam({ Action: "CreateAccessKey", UserName: "admin" });
    const accessKey = xmlValue(key.body, "AccessKeyId");
    const secretKey = xmlValue(key.body, "SecretAccessKey");
    if (!accessKey || !secretKey) throw new Error(`moto gave no access key: ${key.body}`);
    return { endpoint, region, accessKey, secretKey, ...(caFile ? { caFile } : {}) };
}

/** moto_server's command line on `host`:`port` (HTTPS with `tls`), and the environment that checks signatures. */
export function motoCommand(
    host: string,
    port: number,
    tls?: { cert: string; key: string },
): { argv: string[]; env: NodeJS.ProcessEnv } {
    return {
        argv: [MOTO_SERVER, "-H", host, "-p", String(port), ...(tls ? ["-c", tls.cert, "-k", tls.key] : [])],
        env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(MOTO_SETUP_REQUESTS) },
    };
}

/** Where the local cloud's moto listens: 127.0.19.80:443, or LOCALCLOUD_MOTO_ADDRESS (a test's own). */
export function motoAddress(): { host: string; port: number } {
    const [host = "", port = "443"] = (process.env.LOCALCLOUD_MOTO_ADDRESS ?? "127.0.19.80:443").split(":");
    return { host, port: Number(port) };
}

/** The local cloud's S3 endpoint as instances and the backup settings name it. */
export function localS3Endpoint(): string {
    const { host, port } = motoAddress();
    return port === 443 ? `https://${host}` : `https://${host}:${port}`;
}

const motoDir = () => path.join(localcloudDir(), "moto");
const adminFile = () => path.join(motoDir(), "admin.json");
const tlsDir = () => path.join(motoDir(), "tls");

/** Days after which moto's server certificate (local/pki.ts's are valid 30) is made again, with the same CA. */
const RENEW_AFTER_DAYS = 20;

/**
 * The local cloud's CA (local/pki.ts's, valid 300 days) and moto's server certificate for its address (its IP SAN),
 * as files, made on first use and the certificate again when older than RENEW_AFTER_DAYS.
 */
export function localMotoTls(): { ca: string; cert: string; key: string } {
    const dir = tlsDir();
    const ca = fs.existsSync(path.join(dir, "ca.key"))
        ? { dir, certFile: path.join(dir, "ca.crt"), keyFile: path.join(dir, "ca.key") }
        : createCertificateAuthority(dir, "local cloud");
    const files = { ca: ca.certFile, cert: path.join(dir, "server.crt"), key: path.join(dir, "server.key") };
    const age = fs.existsSync(files.cert) ? Date.now() - fs.statSync(files.cert).mtimeMs : Infinity;
    if (age > RENEW_AFTER_DAYS * 86_400_000) {
        newKey(files.key);
        sign(ca, files.key, files.cert, "local cloud S3", ["serverAuth"], {
            dnsNames: [],
            ipAddresses: [motoAddress().host],
        });
    }
    return files;
}

/** The PEM of the local cloud's CA (what the backup settings' s3CaPem carry on a local stack). */
export function localS3CaPem(): string {
    return fs.readFileSync(localMotoTls().ca, "utf8");
}

/** Runs `start` with `env` as the process's environment (local/daemon.ts's daemons inherit it), then restores it. */
export function withEnvironment<T>(env: NodeJS.ProcessEnv, start: () => T): T {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
        return start();
    } finally {
        for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
        Object.assign(process.env, saved);
    }
}

/** Serialises the starts of one provider process. */
let starting: Promise<MotoCredentials> | undefined;

/**
 * The region the local cloud's own calls sign with and moto keeps its buckets in, whatever the stack's (moto refuses
 * a bucket outside us-east-1 without a location constraint, and knows no "local-1"); a request signed for another
 * region (the members sign with the stack's) passes moto's signature check all the same.
 */
export const MOTO_REGION = "us-east-1";

/** The local cloud's moto, started (with its admin key) if it does not run; resolves with the admin key. */
export function localMoto(): Promise<MotoCredentials> {
    starting ??= (async () => {
        const pid = readPidFile(path.join(motoDir(), "moto_server.pid"));
        if (pid !== undefined && isRunning(pid) && fs.existsSync(adminFile())) {
            return JSON.parse(fs.readFileSync(adminFile(), "utf8")) as MotoCredentials;
        }
        await stopDaemons();
        const { host, port } = motoAddress();
        const tls = localMotoTls();
        const { argv, env } = motoCommand(host, port, tls);
        if (!fs.existsSync(MOTO_SERVER) && MOTO_SERVER !== "moto_server") {
            throw new Error(`${MOTO_SERVER} is missing; run scripts/bootstrap.sh (moto into .tools/moto)`);
        }
        const daemon = withEnvironment(env, () => startDaemon(motoDir(), "moto_server", argv));
        const endpoint = localS3Endpoint();
        await waitForMoto(endpoint, () => checkAlive(daemon), tls.ca);
        const admin = await createMotoAdmin(endpoint, MOTO_REGION, tls.ca);
        fs.writeFileSync(adminFile(), `${JSON.stringify(admin, null, 2)}\n`, { mode: 0o600 });
        return admin;
    })();
    const started = starting;
    started.catch(() => (starting = undefined));
    return started;
}

/** The daemons beside each other in the moto directory, by PID file, and a word their command line holds. */
const DAEMONS = [
    ["moto_server.pid", "moto_server"],
    ["imds.pid", "imds.ts"],
] as const;

/** The PID `file` records if that process still runs and its command line holds `word`. */
function recordedDaemon(file: string, word: string): number | undefined {
    const pid = recordedProcess(path.join(motoDir(), file));
    if (pid === undefined) return undefined;
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(word) ? pid : undefined;
    } catch {
        return undefined; // gone meanwhile
    }
}

/** The recorded daemons that still run (a retained bucket keeps them after a destroy), by PID file name. */
export function runningMotoDaemons(): { name: string; pid: number }[] {
    return DAEMONS.flatMap(([file, word]) => {
        const pid = recordedDaemon(file, word);
        return pid === undefined ? [] : [{ name: file.replace(/\.pid$/, ""), pid }];
    });
}

/**
 * Stops the recorded daemons (SIGTERM, SIGKILL after 10 s) whose command line is still theirs (local/process.ts's
 * stopAll knows only etcd's, dnsmasq's and discovery's executables; these are python and node).
 */
async function stopDaemons(): Promise<void> {
    for (const [file, word] of DAEMONS) {
        const pid = recordedDaemon(file, word);
        fs.rmSync(path.join(motoDir(), file), { force: true });
        if (pid === undefined) continue;
        process.kill(pid, "SIGTERM");
        try {
            await waitFor(`${word} (pid ${pid}) to stop`, 10_000, () => (isRunning(pid) ? undefined : true));
        } catch {
            process.kill(pid, "SIGKILL");
        }
    }
}

/** Stops the local cloud's moto (and what runs beside it, the IMDS stand-in) once nothing uses it. */
export async function stopLocalMoto(): Promise<void> {
    starting = undefined;
    await stopDaemons();
    fs.rmSync(adminFile(), { force: true });
}

/** The directory of the local cloud's moto (its PID, log and admin key), for what runs beside it. */
export function localMotoDir(): string {
    return motoDir();
}
