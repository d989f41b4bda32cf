// A cgroup (v2) per local cloud instance, so that the traffic an instance originates can be told from the machine's
// own: every local connection leaves from 127.0.0.1 whoever makes it, but a socket belongs to the cgroup of the
// process that opened it, and nftables matches that (`socket cgroupv2`), which is how network.ts enforces an
// instance's egress rules. The instance's SSH daemon and the units its boot starts are put in it, so everything
// they start (the commands of every SSH session, etcd under the systemctl shim) is in it too.
// The cgroups are <cgroup2 mount>/<localCloudTag()>/<instance id>. The hierarchy must be mounted under
// /sys/fs/cgroup (nft resolves the path there) and writable; nft matches by the cgroup's absolute level, taken as
// its depth under the mount's root as /proc/self/mountinfo shows it (inside a cgroup namespace that root is the
// namespace's and the level would be wrong: no egress would match, which the real test would show).
// Without such a hierarchy no instance has a cgroup and egress rules are only recorded (firewall.json says why).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { localcloudDir } from "./state";

/** Where nft looks a cgroupv2 path up (nftables' SYSFS_CGROUPSV2_PATH). */
const NFT_CGROUP_BASE = "/sys/fs/cgroup";

/** A cgroup as nft names it: `socket cgroupv2 level <level> "<path>"`. */
export interface CgroupRef {
    path: string;
    level: number;
}

/** The name of this state directory's own things in shared places (the nftables table, the parent cgroup). */
export function localCloudTag(): string {
    const digest = crypto.createHash("sha256").update(path.resolve(localcloudDir())).digest("hex");
    return `etcd_aws_localcloud_${digest.slice(0, 8)}`;
}

/** The cgroup2 hierarchy's mount point under /sys/fs/cgroup and its root in the hierarchy, or why there is none. */
export function cgroup2Mount(mountinfo?: string): { mountPoint: string; root: string } | { missing: string } {
    let text = mountinfo;
    try {
        text ??= fs.readFileSync("/proc/self/mountinfo", "utf8");
    } catch (error) {
        return { missing: `no /proc/self/mountinfo: ${(error as Error).message}` };
    }
    // mountinfo: id parent major:minor root mount-point options [optional...] - fstype source super-options
    for (const line of text.split("\n")) {
        const [before, after] = line.split(" - ");
        const fields = before?.split(" ") ?? [];
        if (after?.split(" ")[0] !== "cgroup2" || fields.length < 5) continue;
        const [root, mountPoint] = [fields[3]!, fields[4]!];
        if (mountPoint === NFT_CGROUP_BASE || mountPoint.startsWith(`${NFT_CGROUP_BASE}/`)) return { mountPoint, root };
    }
    return { missing: `no cgroup2 hierarchy mounted under ${NFT_CGROUP_BASE}` };
}

/** Why instances get no cgroup here, or undefined when they do (the hierarchy is there and writable). */
export function cgroupsMissing(): string | undefined {
    const mount = cgroup2Mount();
    if ("missing" in mount) return mount.missing;
    try {
        fs.accessSync(mount.mountPoint, fs.constants.W_OK);
        return undefined;
    } catch {
        return `the cgroup2 hierarchy at ${mount.mountPoint} is not writable`;
    }
}

/** The directory of the local cloud's parent cgroup, or undefined without a hierarchy. */
function parentDir(): string | undefined {
    const mount = cgroup2Mount();
    return "missing" in mount ? undefined : path.join(mount.mountPoint, localCloudTag());
}

const instanceDir = (instanceId: string): string | undefined => {
    const parent = parentDir();
    return parent && path.join(parent, instanceId);
};

/** The instance's cgroup as nft names it, when it exists. */
export function instanceCgroup(instanceId: string): CgroupRef | undefined {
    const mount = cgroup2Mount();
    const dir = instanceDir(instanceId);
    if ("missing" in mount || !dir || !fs.existsSync(dir)) return undefined;
    const depth = (p: string) => p.split("/").filter(Boolean).length;
    return {
        path: path.relative(NFT_CGROUP_BASE, dir),
        level: depth(mount.root) + depth(path.relative(mount.mountPoint, dir)),
    };
}

/** Creates the instance's cgroup (at launch); without a usable hierarchy it does nothing. */
export function createInstanceCgroup(instanceId: string): void {
    const dir = instanceDir(instanceId);
    if (dir && cgroupsMissing() === undefined) fs.mkdirSync(dir, { recursive: true });
}

/** Moves a process (and its threads) into the instance's cgroup; its later children are born there. */
export function moveToInstanceCgroup(instanceId: string, pid: number): void {
    const dir = instanceDir(instanceId);
    if (dir && fs.existsSync(dir)) fs.writeFileSync(path.join(dir, "cgroup.procs"), `${pid}\n`);
}

/** The argv that runs `command` inside the instance's cgroup (it joins it, then execs the command). */
export function inInstanceCgroup(instanceId: string, command: readonly string[]): string[] {
    const dir = instanceDir(instanceId);
    if (!dir || !fs.existsSync(dir)) return [...command];
    return ["bash", "-c", 'echo $$ >"$0/cgroup.procs" && exec "$@"', dir, ...command];
}

/** rmdir that leaves a cgroup that is not there or still in use (a process, or a child cgroup, in it). */
function removeIfUnused(dir: string): void {
    try {
        fs.rmdirSync(dir);
    } catch {
        // it goes with the local cloud (removeLocalCloudCgroups)
    }
}

/** Removes the instance's cgroup once its processes are gone (terminate), and the parent after the last one. */
export function removeInstanceCgroup(instanceId: string): void {
    const parent = parentDir();
    if (!parent) return;
    removeIfUnused(path.join(parent, instanceId));
    removeIfUnused(parent);
}

/** The processes in the local cloud's instance cgroups, by instance id. */
function localCloudProcesses(): Map<string, number[]> {
    const parent = parentDir();
    if (!parent || !fs.existsSync(parent)) return new Map();
    const entries = fs.readdirSync(parent, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    return new Map(
        entries.map((entry) => {
            const procs = fs.readFileSync(path.join(parent, entry.name, "cgroup.procs"), "utf8");
            return [entry.name, procs.split("\n").filter(Boolean).map(Number)];
        }),
    );
}

/**
 * Kills every process still in an instance's cgroup (a torn-down local cloud whose engine could not finish:
 * whatever its commands left, however they were started) and waits (bounded) until none is left; their PIDs.
 */
export async function killLocalCloudProcesses(timeoutMs = 10_000): Promise<number[]> {
    const killed = [...localCloudProcesses().values()].flat();
    for (const pid of killed) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // gone meanwhile
        }
    }
    const deadline = Date.now() + timeoutMs;
    while ([...localCloudProcesses().values()].flat().length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return killed;
}

/** Removes the local cloud's cgroups that nothing uses (the local cloud is torn down). */
export function removeLocalCloudCgroups(): void {
    const parent = parentDir();
    if (!parent || !fs.existsSync(parent)) return;
    for (const entry of fs.readdirSync(parent, { withFileTypes: true })) {
        if (entry.isDirectory()) removeIfUnused(path.join(parent, entry.name));
    }
    removeIfUnused(parent);
}
