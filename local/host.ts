// A local "host": a directory with private copies of the paths a member's scripts change (/etc,
// /usr/local, /opt, /var/lib/etcd, /var/log, /run) and an empty /root, bind-mounted over the
// real ones in a private mount namespace for each command. The install script then writes
// /usr/local/bin/etcd, the unit and /etc/etcd/etcd.env exactly where it would on EC2, and
// useradd changes only this host's /etc.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HOST_PATHS } from "../core/host-contract";
import { isRunning, killRecorded, readPidFile, run, RunOptions, RunResult, waitFor } from "./process";

/**
 * Paths each host has its own copy of, in mount order. /root starts empty as on a fresh machine:
 * bash reads ~/.bashrc when its stdin is a socket (as under sshd, and as Node's pipes are), and
 * this machine's own must neither slow nor change the scripts.
 */
const PRIVATE_PATHS = ["etc", "usr/local", "opt", "var/lib/etcd", "var/log", "run", "root"] as const;

/** The empty /usr/local tree of a fresh Debian or Amazon Linux machine (base-files). */
const USR_LOCAL_DIRS = ["bin", "etc", "games", "include", "lib", "man", "sbin", "share", "src"];

const SHIMS_DIR = path.join(__dirname, "shims");

/** Where the systemctl and journalctl shims keep units, PIDs and output: the host contract's places. */
const SHIM_ENVIRONMENT = {
    ETCD_AWS_UNIT_DIR: HOST_PATHS.unitDir,
    ETCD_AWS_PID_DIR: path.dirname(HOST_PATHS.pidFile),
    ETCD_AWS_LOG_DIR: path.dirname(HOST_PATHS.logFile),
};

/** Root's PATH on Debian: /usr/local/sbin first, so the systemctl and journalctl shims win. */
const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Runs in the new mount namespace: binds the host's copies over the real paths, then execs the command. */
const ENTER_HOST = path.join(__dirname, "enter-host.sh");

/** Account lines of the Debian etcd package's user, absent on a fresh EC2 machine. */
const ACCOUNT_FILES = ["passwd", "group", "shadow", "gshadow"];

export interface HostOptions {
    /** Nameserver for the host's /etc/resolv.conf (default: the machine's own resolv.conf). */
    readonly nameserver?: string;
    /**
     * The host has its own /var/lib (an overlay of this machine's, changes kept in ROOT/var/lib) instead of a
     * private /var/lib/etcd, so /var/lib/etcd is a plain directory a data volume is mounted on, as on EC2 (the
     * local cloud's instances; see local/enter-host.sh).
     */
    readonly ownVarLib?: boolean;
}

/** The overlay's work directory (overlayfs needs one beside the upper directory). */
const OVERLAY_WORK_DIR = ".overlay-work";

export class LocalHost {
    constructor(
        /** Member name it plays, e.g. "demo-0". */
        readonly name: string,
        /** Its own loopback address; its etcd listens there. */
        readonly address: string,
        /** Directory with the host's private paths. */
        readonly root: string,
        /** See {@link HostOptions.ownVarLib}. */
        readonly ownVarLib = false,
    ) {}

    /** Creates a fresh host: /etc copied, the other private paths empty, the systemd shims in place. */
    static create(root: string, name: string, address: string, options: HostOptions = {}): LocalHost {
        fs.rmSync(root, { recursive: true, force: true });
        for (const dir of PRIVATE_PATHS) {
            fs.mkdirSync(path.join("/", dir), { recursive: true });
            if (dir !== "etc") {
                fs.mkdirSync(path.join(root, dir), { recursive: true, mode: dir === "root" ? 0o700 : 0o755 });
            }
        }
        // cp -a keeps owners and modes (/etc/shadow, /etc/ssl/private), which fs.cpSync does not.
        execFileSync("cp", ["-a", "/etc", path.join(root, "etc")], { timeout: 60_000 });
        const host = new LocalHost(name, address, root, options.ownVarLib);
        if (options.ownVarLib) {
            fs.mkdirSync(path.join(root, "var/lib"), { recursive: true });
            fs.mkdirSync(path.join(root, OVERLAY_WORK_DIR, "var/lib"), { recursive: true });
        }
        host.setNameserver(options.nameserver);
        host.forgetEtcdUser();
        for (const dir of USR_LOCAL_DIRS) {
            fs.mkdirSync(path.join(root, "usr/local", dir), { recursive: true });
        }
        const sbin = path.join(root, "usr/local/sbin");
        for (const shim of ["systemctl", "journalctl", "sudo"]) {
            fs.copyFileSync(path.join(SHIMS_DIR, shim), path.join(sbin, shim));
            fs.chmodSync(path.join(sbin, shim), 0o755);
        }
        return host;
    }

    /** A plain resolv.conf (the real one may be a bind mount that would not follow the copy). */
    private setNameserver(nameserver: string | undefined): void {
        const file = path.join(this.root, "etc/resolv.conf");
        const content = nameserver ? `nameserver ${nameserver}\n` : fs.readFileSync("/etc/resolv.conf", "utf8");
        fs.rmSync(file, { force: true });
        fs.writeFileSync(file, content);
    }

    /** So the install script's useradd runs as on a fresh machine. */
    private forgetEtcdUser(): void {
        for (const name of ACCOUNT_FILES) {
            const file = path.join(this.root, "etc", name);
            if (fs.existsSync(file)) {
                const kept = fs
                    .readFileSync(file, "utf8")
                    .split("\n")
                    .filter((line) => !line.startsWith("etcd:"));
                fs.writeFileSync(file, kept.join("\n"));
            }
        }
    }

    /** The argv that runs `command` on this host. */
    private enter(command: readonly string[]): [program: string, ...args: string[]] {
        // --norc: this bash starts before /root is the host's own (see PRIVATE_PATHS).
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "bash",
            "--norc",
            ENTER_HOST,
            this.root,
            this.privatePaths().join(" "),
            ...command,
        ];
    }

    /** The private paths as local/enter-host.sh takes them ("var/lib=overlay": an overlay, not a bind). */
    private privatePaths(): string[] {
        if (!this.ownVarLib) return [...PRIVATE_PATHS];
        return [...PRIVATE_PATHS.filter((dir) => dir !== "var/lib/etcd"), "var/lib=overlay"];
    }

    private environment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
        return { PATH: HOST_PATH, HOME: "/root", LANG: "C.UTF-8", ...SHIM_ENVIRONMENT, ...extra };
    }

    /** Runs a command on the host. */
    exec(command: readonly string[], options: RunOptions): Promise<RunResult> {
        return run(this.enter(command), { ...options, env: this.environment(options.env) });
    }

    /** Runs a rendered script on the host as the deployment does (`bash -s -- <args>`, script on stdin). */
    async runScript(
        script: string,
        options: Omit<RunOptions, "stdin">,
        args: readonly string[] = [],
    ): Promise<RunResult> {
        return this.exec(["bash", "-s", "--", ...args], { ...options, stdin: script });
    }

    /** Starts a long-running command on the host (a watch; with stdin "pipe", an SSH session's command). */
    spawn(command: readonly string[], env: NodeJS.ProcessEnv = {}, stdin: "ignore" | "pipe" = "ignore"): ChildProcess {
        // unshare and the entry script exec the command, so the child's PID is the command's.
        const [program, ...args] = this.enter(command);
        return spawn(program, args, { env: this.environment(env), stdio: [stdin, "pipe", "pipe"] });
    }

    /**
     * Every process running on this host, whoever started it (commands, etcd under the systemctl shim, their
     * children): the processes whose /etc is this host's (/proc/<pid>/root resolves in the process's own mount
     * namespace, and each host binds its private /etc there).
     */
    processes(): number[] {
        const own = fs.statSync(path.join(this.root, "etc"));
        return fs.readdirSync("/proc").flatMap((entry) => {
            const pid = Number(entry);
            if (!Number.isInteger(pid) || pid === process.pid) return [];
            try {
                const etc = fs.statSync(`/proc/${pid}/root/etc`);
                return etc.dev === own.dev && etc.ino === own.ino && isRunning(pid) ? [pid] : [];
            } catch {
                return []; // gone meanwhile, or a kernel thread
            }
        });
    }

    /** Stops every process of the host (SIGTERM, SIGKILL after `graceMs`), as a shutdown does; returns their PIDs. */
    async stopProcesses(graceMs = 10_000): Promise<number[]> {
        const stopped = this.processes();
        const signal = (pids: number[], name: NodeJS.Signals) => {
            for (const pid of pids) {
                try {
                    process.kill(pid, name);
                } catch {
                    // already gone
                }
            }
        };
        signal(stopped, "SIGTERM");
        try {
            await waitFor(`the processes of ${this.name} to stop`, graceMs, () =>
                this.processes().length === 0 ? true : undefined,
            );
        } catch {
            signal(this.processes(), "SIGKILL");
            await waitFor(`the processes of ${this.name} to die`, 5_000, () =>
                this.processes().length === 0 ? true : undefined,
            );
        }
        return stopped;
    }

    /** The real-filesystem path of a path on the host (e.g. HOST_PATHS.logFile). */
    hostPath(pathOnHost: string): string {
        return path.join(this.root, pathOnHost);
    }

    /** PID of the host's etcd as the systemctl stand-in recorded it. */
    etcdPid(): number | undefined {
        return readPidFile(this.hostPath(HOST_PATHS.pidFile));
    }

    /** `kill -9` of the host's etcd (the recorded PID); returns it. The stand-in does not restart it. */
    async killEtcd(): Promise<number> {
        const pid = await killRecorded(this.hostPath(HOST_PATHS.pidFile));
        if (pid === undefined) {
            throw new Error(`etcd is not running on ${this.name}`);
        }
        return pid;
    }

    /** Deletes etcd's data directory, as a replaced instance comes without it. */
    wipeEtcdData(): void {
        fs.rmSync(this.hostPath(HOST_PATHS.dataDir), { recursive: true, force: true });
    }

    etcdRunning(): boolean {
        const pid = this.etcdPid();
        return pid !== undefined && isRunning(pid);
    }

    /** The last lines etcd wrote (what journalctl shows on EC2). */
    etcdLog(lines = 20): string {
        try {
            return fs
                .readFileSync(this.hostPath(HOST_PATHS.logFile), "utf8")
                .trimEnd()
                .split("\n")
                .slice(-lines)
                .join("\n");
        } catch {
            return "(no etcd log)";
        }
    }
}
