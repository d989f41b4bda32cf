// The SSH daemon of a local cloud instance: a detached Node process per instance (ssh2's Server), listening on the
// instance's address port 22 with the host key from its user data, taking only the key pair's public key (any user
// name: the login user of the AMI), and running each exec request on the instance's local host (its own mount
// namespace, as root: the host's `sudo` shim runs the command as it is) with the session's stdin, stdout, stderr and
// exit status. As Ubuntu's sshd (AcceptEnv LANG LC_*), it takes only the LANG and LC_* variables a client sends. It
// forwards TCP (direct-tcpip, a bastion's job) to loopback addresses only.
// It outlives the provider process that started it (the engine stops plugins after each operation) and writes its
// PID file once it listens; stopDaemon ends it.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Server, utils } from "ssh2";
import { LocalHost } from "../../local/host";
import { isRunning, readPidFile, waitFor } from "../../local/process";

/** What a daemon is given (written as JSON beside its PID file). */
export interface DaemonConfig {
    name: string;
    address: string;
    port: number;
    /** The host's root directory (local/host.ts). */
    root: string;
    /** The host key, a private key in OpenSSH (or PEM) form. */
    hostKey: string;
    /** The one client key accepted, in authorized_keys form. */
    authorizedKey: string;
}

/** The files of the daemon of the instance whose directory is `dir`. */
export function daemonFiles(dir: string): { config: string; pid: string; log: string } {
    return {
        config: path.join(dir, "sshd.json"),
        pid: path.join(dir, "sshd.pid"),
        log: path.join(dir, "sshd.log"),
    };
}

const ACCEPTED_ENV = /^(LANG|LC_[A-Z]+)$/;

/** Serves until killed (the daemon's main). */
function serve(configFile: string, pidFile: string): void {
    const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as DaemonConfig;
    const host = new LocalHost(config.name, config.address, config.root, true);
    const parsed = utils.parseKey(config.authorizedKey);
    if (parsed instanceof Error) throw parsed;
    const allowedKey = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!allowedKey) throw new Error(`no key in ${configFile}'s authorizedKey`);
    const allowed = allowedKey.getPublicSSH();
    const server = new Server({ hostKeys: [config.hostKey] }, (client) => {
        client.on("authentication", (context) => {
            if (context.method !== "publickey" || !context.key.data.equals(allowed)) {
                return context.reject(["publickey"]);
            }
            // With a signature the client proves it holds the key; without, it only asks whether the key would do.
            if (context.signature && !allowedKey.verify(context.blob!, context.signature, context.hashAlgo)) {
                return context.reject(["publickey"]);
            }
            context.accept();
        });
        client.on("error", () => undefined);
        // Port forwarding (direct-tcpip), as a bastion does for the members behind it: to loopback addresses only.
        client.on("tcpip", (accept, reject, info) => {
            if (!net.isIPv4(info.destIP) || !info.destIP.startsWith("127.")) return reject();
            const socket = net.connect(info.destPort, info.destIP);
            let channel: ReturnType<typeof accept> | undefined;
            socket.on("error", () => (channel ? channel.close() : reject()));
            socket.once("connect", () => {
                channel = accept();
                channel.pipe(socket).pipe(channel);
            });
        });
        client.on("ready", () =>
            client.on("session", (acceptSession) => {
                const session = acceptSession();
                const env: Record<string, string> = {};
                session.on("env", (accept, reject, info) => {
                    if (ACCEPTED_ENV.test(info.key)) {
                        env[info.key] = info.val;
                        accept?.();
                    } else reject?.();
                });
                session.on("pty", (accept) => accept?.());
                session.on("exec", (accept, _reject, info) => {
                    const channel = accept();
                    const child = host.spawn(["bash", "-c", info.command], env, "pipe");
                    child.stdin?.on("error", () => undefined);
                    channel.pipe(child.stdin!);
                    child.stdout?.pipe(channel, { end: false });
                    child.stderr?.pipe(channel.stderr, { end: false });
                    child.on("close", (code, signal) => {
                        if (signal) channel.exit(signal.replace(/^SIG/, ""), false, "");
                        else channel.exit(code ?? 255);
                        channel.end();
                    });
                    channel.on("close", () => child.stdin?.destroy());
                });
            }),
        );
    });
    server.listen(config.port, config.address, () => {
        fs.writeFileSync(pidFile, `${process.pid}\n`);
        process.stdout.write(`sshd of ${config.name} listening on ${config.address}:${config.port}\n`);
    });
    // Open sessions end with it; their commands are the host's processes, which the instance's shutdown stops.
    const stop = () => {
        server.close();
        process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

/** The daemon's PID when it runs (its PID file names a live process running this program for `dir`). */
export function daemonPid(dir: string): number | undefined {
    const files = daemonFiles(dir);
    const pid = readPidFile(files.pid);
    if (pid === undefined || !isRunning(pid)) return undefined;
    try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return argv.includes(__filename) && argv.includes(files.config) ? pid : undefined;
    } catch {
        return undefined;
    }
}

/** True once something accepts TCP connections on address:port. */
function listening(address: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: address, port, timeout: 1000 });
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(false));
        socket.once("timeout", () => (socket.destroy(), resolve(false)));
    });
}

/** Starts the instance's daemon (detached, its own session) and waits until it listens; returns its PID. */
export async function startDaemon(dir: string, config: DaemonConfig, timeoutMs = 60_000): Promise<number> {
    const files = daemonFiles(dir);
    const running = daemonPid(dir);
    if (running !== undefined) return running;
    fs.writeFileSync(files.config, JSON.stringify(config), { mode: 0o600 });
    fs.rmSync(files.pid, { force: true });
    const log = fs.openSync(files.log, "a");
    const root = path.resolve(__dirname, "..", "..");
    const child = spawn(
        process.execPath,
        [
            "-r",
            path.join(root, "node_modules", "ts-node", "register", "transpile-only"),
            __filename,
            files.config,
            files.pid,
        ],
        {
            detached: true,
            cwd: "/",
            stdio: ["ignore", log, log],
            env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") },
        },
    );
    child.unref();
    fs.closeSync(log);
    const exited = new Promise<never>((_resolve, reject) =>
        child.once("exit", (code) =>
            reject(new Error(`the sshd of ${config.name} exited with ${code}: see ${files.log}`)),
        ),
    );
    await Promise.race([
        waitFor(`the sshd of ${config.name} on ${config.address}:${config.port}`, timeoutMs, async () =>
            readPidFile(files.pid) !== undefined && (await listening(config.address, config.port)) ? true : undefined,
        ),
        exited,
    ]);
    return child.pid!;
}

/** Stops the instance's daemon if it runs (SIGTERM, then SIGKILL); returns its PID. */
export async function stopDaemon(dir: string): Promise<number | undefined> {
    const pid = daemonPid(dir);
    fs.rmSync(daemonFiles(dir).pid, { force: true });
    if (pid === undefined) return undefined;
    process.kill(pid, "SIGTERM");
    try {
        await waitFor(`the sshd (pid ${pid}) to stop`, 5_000, () => (isRunning(pid) ? undefined : true));
    } catch {
        process.kill(pid, "SIGKILL");
        await waitFor(`the sshd (pid ${pid}) to die`, 5_000, () => (isRunning(pid) ? undefined : true));
    }
    return pid;
}

if (require.main === module) {
    const [configFile, pidFile] = process.argv.slice(2);
    if (!configFile || !pidFile) {
        process.stderr.write("usage: sshd.ts CONFIG_FILE PID_FILE\n");
        process.exit(2);
    }
    serve(configFile, pidFile);
}
