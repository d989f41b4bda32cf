// A real S3 server for the backup tests: moto_server on 127.0.0.1 (Debian's rclone 1.60 has no
// `serve s3`; it came in 1.65). moto checks SigV4 signatures once its first requests are spent:
// those create an IAM user with S3 rights, its access key and the bucket; every later request
// must be signed with that key. Stopped by its PID (the whole process group) in after().
import { ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "../..");
/** scripts/bootstrap.sh installs moto into .tools/moto; a moto_server on PATH does as well. */
const MOTO_SERVER =
    [path.join(ROOT, ".tools/moto/bin/moto_server")].find((file) => fs.existsSync(file)) ?? "moto_server";
export const S3_REGION = "us-east-1";
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/** The unsigned setup requests: CreateUser, PutUserPolicy, CreateAccessKey, CreateBucket. */
const SETUP_REQUESTS = 4;

export interface S3Server {
    readonly endpoint: string;
    readonly bucket: string;
    readonly accessKey: string;
    readonly secretKey: string;
    /** One signed request with curl (as the host scripts make them); resolves with the HTTP status and body. */
    request(method: string, key: string, options?: { file?: string; headers?: string[] }): Promise<S3Answer>;
    stop(): Promise<void>;
}

export interface S3Answer {
    readonly status: number;
    readonly body: string;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

async function curl(args: string[]): Promise<S3Answer> {
    const { stdout } = await run("curl", ["-sS", "--max-time", "30", "-w", "\n%{http_code}", ...args], {
        maxBuffer: 64 << 20,
    });
    const cut = stdout.lastIndexOf("\n");
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

function stopProcess(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
            resolve();
            return;
        }
        const timer = setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), 5_000);
        child.once("exit", () => {
            clearTimeout(timer);
            resolve();
        });
        process.kill(-child.pid, "SIGTERM");
    });
}

/** Starts moto_server on a free port of 127.0.0.1 and sets up its user, key and bucket. */
export async function startS3Server(bucket: string): Promise<S3Server> {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn(MOTO_SERVER, ["-H", "127.0.0.1", "-p", String(port)], {
        env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(SETUP_REQUESTS) },
        stdio: ["ignore", "ignore", "pipe"],
        detached: true,
    });
    let log = "";
    child.stderr?.on("data", (chunk: Buffer) => (log = `${log}${chunk.toString()}`.slice(-4000)));
    try {
        const deadline = Date.now() + 30_000;
        for (;;) {
            if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${log}`);
            try {
                await run("curl", ["-sS", "--max-time", "2", "-o", "/dev/null", `${endpoint}/moto-api/`]);
                break;
            } catch {
                if (Date.now() > deadline) throw new Error(`moto_server did not answer within 30 s: ${log}`);
                await new Promise((resolve) => setTimeout(resolve, 200));
            }
        }
        const iam = (form: string[]) =>
            curl([
                "--aws-sigv4",
                `aws:amz:${S3_REGION}:iam`,
                "--user",
                "setup:setup",
                ...form.flatMap((field) => ["--data-urlencode", field]),
                `${endpoint}/`,
            ]);
        const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };
        await iam(["Action=CreateUser", "UserName=backup", "Version=2010-05-08"]);
        await iam([
            "Action=PutUserPolicy",
            "UserName=backup",
            "PolicyName=s3",
            `PolicyDocument=${JSON.stringify(policy)}`,
            "Version=2010-05-08",
        ]);
        const key = await iam(["Action=CreateAccessKey", "UserName=backup", "Version=2010-05-08"]);
        const accessKey = /<AccessKeyId>([^<]+)</.exec(key.body)?.[1];
        const secretKey = /<SecretAccessKey>([^<]+)</.exec(key.body)?.[1];
        if (!accessKey || !secretKey) throw new Error(`moto gave no access key: ${key.body}`);
        const request: S3Server["request"] = (method, objectKey, options = {}) =>
            curl([
                "-X",
                method,
                "--aws-sigv4",
                `aws:amz:${S3_REGION}:s3`,
                "--user",
                `${accessKey}:${secretKey}`,
                "-H",
                `x-amz-content-sha256: ${options.file ? createHash("sha256").update(fs.readFileSync(options.file)).digest("hex") : EMPTY_SHA256}`,
                ...(options.headers ?? []).flatMap((header) => ["-H", header]),
                ...(options.file ? ["--upload-file", options.file] : []),
                objectKey ? `${endpoint}/${bucket}/${objectKey}` : `${endpoint}/${bucket}`,
            ]);
        const created = await request("PUT", "");
        if (created.status !== 200) throw new Error(`moto did not create bucket ${bucket}: ${created.body}`);
        return { endpoint, bucket, accessKey, secretKey, request, stop: () => stopProcess(child) };
    } catch (error) {
        await stopProcess(child);
        throw error;
    }
}
