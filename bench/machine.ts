// The machine and the code a run measured: every result is only meaningful next to these.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { localRelease } from "../local/mirror";
import { REPO_ROOT } from "../local/paths";
import { LOCAL_VERSIONS } from "./launch-bench";

export interface Machine {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly os: string;
    readonly kernel: string;
    readonly node: string;
    /** `etcd --version` of each local release. */
    readonly etcd: readonly string[];
    readonly commit: string;
    /** Code that differed from the commit when the run started (it was measured too); prose and results left out. */
    readonly uncommitted: readonly string[];
}

function firstMatch(file: string, pattern: RegExp): string {
    return pattern.exec(fs.readFileSync(file, "utf8"))?.[1]?.trim() ?? "unknown";
}

function git(args: readonly string[]): string {
    return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 10_000 });
}

function etcdVersion(version: string): string {
    const binary = path.join(localRelease(version).binDir, "etcd");
    const reported = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 });
    return `${reported.split("\n")[0]} (${binary})`;
}

export function describeMachine(): Machine {
    return {
        cpus: os.availableParallelism(),
        cpuModel: firstMatch("/proc/cpuinfo", /^model name\s*:(.*)$/m),
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        os: firstMatch("/etc/os-release", /^PRETTY_NAME="?([^"\n]*)"?$/m),
        kernel: os.release(),
        node: process.version,
        etcd: LOCAL_VERSIONS.map(etcdVersion),
        commit: git(["rev-parse", "--short", "HEAD"]).trim(),
        uncommitted: git(["status", "--porcelain", "--untracked-files=all"])
            .split("\n")
            .map((line) => line.slice(3))
            .filter((file) => file !== "" && !file.endsWith(".md") && !file.startsWith("bench/results.")),
    };
}
