// The local cloud's instance metadata service: an IMDSv2 stand-in on 127.0.19.254:80 (or LOCALCLOUD_IMDS_ADDRESS,
// host:port; never 169.254.169.254, which is not this machine's), serving what host/lib/s3.sh asks of EC2's: a session
// token (PUT /latest/api/token), then, with it, the instance's role (GET .../iam/security-credentials/) and that
// role's credentials (GET .../iam/security-credentials/<role>: a moto user holding the role's policies, see
// roleCredentials), so moto evaluates the role's policies on every call made with them. The caller is the instance whose host the connecting
// process runs on: its TCP socket (/proc/net/tcp) -> the process holding it -> the host whose /etc that process sees
// (local/host.ts LocalHost.processes does the same) -> the instance's iamInstanceProfile -> the profile's role.
// Without a token, with an X-Forwarded-For header, or from no instance, it answers as IMDSv2 does (401, 403, 404).
// Detached (started with the first instance profile, stopped with moto), its PID beside moto's.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { checkAlive, startDaemon } from "../../local/daemon";
import { isRunning, readPidFile, waitFor } from "../../local/process";
import { expectSuccess, localMoto, localMotoDir, motoRequest, withEnvironment, xmlValue } from "./moto";
import { localcloudDir, ResourceStore } from "./state";

/** Where the stand-in listens. */
export function imdsAddress(): { host: string; port: number } {
    const [host = "", port = "80"] = (process.env.LOCALCLOUD_IMDS_ADDRESS ?? "127.0.19.254:80").split(":");
    return { host, port: Number(port) };
}

/** The endpoint the backup settings name (BackupSettings.imdsEndpoint) on the local cloud's instances. */
export function localImdsEndpoint(): string {
    const { host, port } = imdsAddress();
    return port === 80 ? `http://${host}` : `http://${host}:${port}`;
}

const TOKEN_TTL_MAX_SECONDS = 21600;
const CREDENTIALS_SECONDS = 3600;

/** "a.b.c.d:port" of /proc/net/tcp ("0100007F:1F90", little-endian IPv4 in hex). */
function procAddress(text: string): string {
    const [ip = "", port = ""] = text.split(":");
    const bytes = (ip.match(/../g) ?? []).map((byte) => parseInt(byte, 16)).reverse();
    return `${bytes.join(".")}:${parseInt(port, 16)}`;
}

/** The inode of the TCP socket from `local` to `remote` (both "ip:port"), if this network namespace has it. */
export function socketInode(tcpTable: string, local: string, remote: string): string | undefined {
    for (const line of tcpTable.split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 10) continue;
        if (procAddress(fields[1] ?? "") === local && procAddress(fields[2] ?? "") === remote) return fields[9];
    }
    return undefined;
}

/** The PIDs holding socket `inode` open. */
function socketHolders(inode: string): number[] {
    const link = `socket:[${inode}]`;
    return fs.readdirSync("/proc").flatMap((entry) => {
        const pid = Number(entry);
        if (!Number.isInteger(pid)) return [];
        try {
            return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
                try {
                    return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === link;
                } catch {
                    return false;
                }
            })
                ? [pid]
                : [];
        } catch {
            return [];
        }
    });
}

interface InstanceState {
    outputs: { iamInstanceProfile?: unknown };
}

/** The instance (id) whose host process `pid` runs on: the one whose root's /etc the process sees as its /etc. */
function instanceOf(pid: number): { id: string; profile: string } | undefined {
    let etc: fs.Stats;
    try {
        etc = fs.statSync(`/proc/${pid}/root/etc`);
    } catch {
        return undefined;
    }
    for (const [id, instance] of new ResourceStore<InstanceState>("instances").list()) {
        try {
            const own = fs.statSync(path.join(localcloudDir(), "hosts", id, "root", "etc"));
            if (own.dev === etc.dev && own.ino === etc.ino) {
                return { id, profile: String(instance.outputs.iamInstanceProfile ?? "") };
            }
        } catch {
            // a host without a root (record mode, being deleted)
        }
    }
    return undefined;
}

/** The role of the calling instance's profile, or why there is none (as a status and text). */
function callerRole(socket: import("node:net").Socket): { role?: string; status: number; text: string } {
    const local = `${socket.remoteAddress}:${socket.remotePort}`;
    const remote = `${socket.localAddress}:${socket.localPort}`;
    const inode = socketInode(fs.readFileSync("/proc/net/tcp", "utf8"), local, remote);
    const instance = inode ? socketHolders(inode).map(instanceOf).find(Boolean) : undefined;
    if (!instance) return { status: 404, text: "Not Found (the caller is no instance of the local cloud)" };
    const role = new ResourceStore<{ role: string }>("iam-instance-profiles").get(instance.profile)?.role;
    if (!role) return { status: 404, text: "Not Found (the instance has no instance profile with a role)" };
    return { role, status: 200, text: role };
}

/**
 * Credentials with `role`'s rights in IMDS's JSON. moto lets nothing but the service named in an EC2 role's trust
 * policy assume it (and fails on a service principal), so the rights come through a user of the role's name
 * (`ec2-<role>`) holding the role's inline policies, copied on every call, with one access key kept in
 * <state>/moto/instance-keys/; moto evaluates those policies on every request made with it, as AWS evaluates the
 * role's. There is no session token (the scripts send one only when given one).
 */
async function roleCredentials(role: string): Promise<string> {
    const admin = await localMoto();
    const call = async (action: string, form: Record<string, string>) =>
        expectSuccess(
            await motoRequest(admin, {
                method: "POST",
                target: "/",
                service: "iam",
                form: { Action: action, Version: "2010-05-08", ...form },
            }),
            `${action} ${role}`,
        ).body;
    const user = `ec2-${role}`.slice(0, 64);
    const keyFile = path.join(localMotoDir(), "instance-keys", `${user}.json`);
    let key = fs.existsSync(keyFile)
        ? (JSON.parse(fs.readFileSync(keyFile, "utf8")) as { accessKey: string; secretKey: string })
        : undefined;
    if (!key) {
        await call("CreateUser", { UserName: user }).catch((error: { code?: string }) => {
            if (error.code !== "EntityAlreadyExists") throw error;
        });
        const created = await call("CreateAccessKey", { UserName: user });
        key = {
            accessKey: xmlValue(created, "AccessKeyId") ?? "",
            secretKey: xmlValue(created, "SecretAccessKey") ?? "",
        };
        fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
        fs.writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
    }
    const names = [...(await call("ListRolePolicies", { RoleName: role })).matchAll(/<member>([^<]+)<\/member>/g)].map(
        (m) => m[1] ?? "",
    );
    for (const name of names) {
        const document = decodeURIComponent(
            xmlValue(await call("GetRolePolicy", { RoleName: role, PolicyName: name }), "PolicyDocument") ?? "",
        );
        await call("PutUserPolicy", { UserName: user, PolicyName: name, PolicyDocument: document });
    }
    return JSON.stringify({
        Code: "Success",
        LastUpdated: new Date().toISOString(),
        Type: "AWS-HMAC",
        AccessKeyId: key.accessKey,
        SecretAccessKey: key.secretKey,
        Token: "",
        Expiration: new Date(Date.now() + CREDENTIALS_SECONDS * 1000).toISOString(),
    });
}

/** The stand-in's request handler (exported for its unit test). */
export function imdsHandler(roleOf: (socket: import("node:net").Socket) => ReturnType<typeof callerRole>) {
    const tokens = new Map<string, number>();
    return async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
        const answer = (status: number, text: string, type = "text/plain") => {
            response.writeHead(status, { "Content-Type": type });
            response.end(text);
        };
        try {
            if (request.headers["x-forwarded-for"]) return answer(403, "Forbidden");
            const url = request.url ?? "";
            if (url === "/latest/api/token") {
                const ttl = Number(request.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
                if (request.method !== "PUT") return answer(405, "Method Not Allowed");
                if (!Number.isInteger(ttl) || ttl < 1 || ttl > TOKEN_TTL_MAX_SECONDS) return answer(400, "Bad Request");
                const token = crypto.randomBytes(32).toString("base64url");
                tokens.set(token, Date.now() + ttl * 1000);
                return answer(200, token);
            }
            const token = String(request.headers["x-aws-ec2-metadata-token"] ?? "");
            if ((tokens.get(token) ?? 0) < Date.now()) return answer(401, "Unauthorized");
            const prefix = "/latest/meta-data/iam/security-credentials/";
            if (request.method !== "GET" || !url.startsWith(prefix)) return answer(404, "Not Found");
            const caller = roleOf(request.socket);
            if (!caller.role) return answer(caller.status, caller.text);
            const asked = url.slice(prefix.length);
            if (asked === "") return answer(200, caller.role);
            if (asked !== caller.role) return answer(404, "Not Found");
            return answer(200, await roleCredentials(caller.role), "application/json");
        } catch (error) {
            return answer(500, `Internal Server Error: ${(error as Error).message}`);
        }
    };
}

const pidFile = () => path.join(localMotoDir(), "imds.pid");

/** Starts the stand-in (detached) unless it runs; resolves once it listens. */
export async function startImds(): Promise<void> {
    const { host, port } = imdsAddress();
    const pid = readPidFile(pidFile());
    if (pid !== undefined && isRunning(pid)) return;
    const root = path.resolve(__dirname, "..", "..");
    const daemon = withEnvironment({ TS_NODE_PROJECT: path.join(root, "tsconfig.json") }, () =>
        startDaemon(localMotoDir(), "imds", [
            process.execPath,
            "-r",
            path.join(root, "node_modules", "ts-node", "register", "transpile-only"),
            __filename,
        ]),
    );
    await waitFor(`the IMDS stand-in on ${host}:${port}`, 30_000, async () => {
        checkAlive(daemon);
        const status = await new Promise<number>((resolve) => {
            const probe = http.request({ host, port, method: "PUT", path: "/latest/api/token", timeout: 1_000 });
            probe.on("response", (r) => {
                r.resume();
                resolve(r.statusCode ?? 0);
            });
            probe.on("error", () => resolve(0));
            probe.end();
        });
        return status === 400 ? true : undefined;
    });
}

if (require.main === module) {
    const { host, port } = imdsAddress();
    const handle = imdsHandler(callerRole);
    http.createServer((request, response) => void handle(request, response)).listen(port, host);
}
