// A real S3 server for the backup tests: moto_server on a free port of 127.0.0.1 (localcloud/aws/moto.ts: the same
// command, setup and signed requests as the local cloud's), signatures checked once its setup requests are spent:
// those create an admin user and its access key; every later request must be signed with that key. Attached to the
// test process and stopped by its PID (the whole process group) in after().
import { ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { createMotoAdmin, motoCommand, motoRequest, waitForMoto } from "../../localcloud/aws/moto";

export const S3_REGION = "us-east-1";

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

/** Starts moto_server on a free port of 127.0.0.1 and sets up its admin key and the bucket. */
export async function startS3Server(bucket: string): Promise<S3Server> {
    const port = await freePort();
    const { argv, env } = motoCommand("127.0.0.1", port);
    const [program = "", ...args] = argv;
    const child = spawn(program, args, { env, stdio: ["ignore", "ignore", "pipe"], detached: true });
    let log = "";
    child.stderr?.on("data", (chunk: Buffer) => (log = `${log}${chunk.toString()}`.slice(-4000)));
    try {
        const endpoint = `http://127.0.0.1:${port}`;
        await waitForMoto(endpoint, () => {
            if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${log}`);
        });
        const admin = await createMotoAdmin(endpoint, S3_REGION);
        const request: S3Server["request"] = async (method, objectKey, options = {}) => {
            const { status, body } = await motoRequest(admin, {
                method,
                target: objectKey ? `/${bucket}/${objectKey}` : `/${bucket}`,
                service: "s3",
                file: options.file,
                headers: options.headers,
            });
            return { status, body };
        };
        const created = await request("PUT", "");
        if (created.status !== 200) throw new Error(`moto did not create bucket ${bucket}: ${created.body}`);
        return {
            endpoint,
            bucket,
            accessKey: admin.accessKey,
            secretKey: admin.secretKey,
            request,
            stop: () => stopProcess(child),
        };
    } catch (error) {
        await stopProcess(child);
        throw error;
    }
}
