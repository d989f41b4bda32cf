// A local etcd release mirror: the upstream layout (`/v<ver>/etcd-v<ver>-linux-amd64.tar.gz` and
// `/v<ver>/SHA256SUMS`) built from the etcd binaries installed on this machine and served over
// http on a loopback address, so core's install script downloads, verifies and unpacks for real.
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { REPO_ROOT } from "./paths";

/** An etcd release available on this machine (scripts/bootstrap.sh installs or builds each). */
export interface LocalRelease {
    readonly version: string;
    /** Directory holding etcd, etcdctl and, from 3.5, etcdutl. */
    readonly binDir: string;
}

/** The releases built from the pinned modules in tools/etcd (scripts/bootstrap.sh's BUILT_ETCD_VERSIONS). */
const BUILT_VERSIONS = ["3.6.14", "3.6.16", "3.7.3"];

const LOCAL_RELEASES: readonly LocalRelease[] = [
    { version: "3.4.23", binDir: "/usr/bin" },
    { version: "3.5.16", binDir: path.join(REPO_ROOT, ".tools/etcd-3.5/usr/bin") },
    // Debian sid's: the 3.5 patch a cluster must run before 3.6. After 3.5.16, so the line "3.5" stays 3.5.16.
    { version: "3.5.30", binDir: path.join(REPO_ROOT, ".tools/etcd-3.5.30/usr/bin") },
    ...BUILT_VERSIONS.map((version) => ({ version, binDir: path.join(REPO_ROOT, `.tools/etcd-${version}`) })),
];

/** The local release of a full version ("3.5.16") or a line ("3.5"). */
export function localRelease(version: string): LocalRelease {
    const release = LOCAL_RELEASES.find((r) => r.version === version || r.version.startsWith(`${version}.`));
    if (!release) {
        throw new Error(`no local etcd ${version}; available: ${LOCAL_RELEASES.map((r) => r.version).join(", ")}`);
    }
    return release;
}

const TOOLS = ["etcd", "etcdctl", "etcdutl"];

function tarballName(version: string): string {
    return `etcd-v${version}-linux-amd64.tar.gz`;
}

function sha256(file: string): string {
    return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Why a local release cannot be served (missing binary, wrong version), or undefined when it can. */
export function releaseProblem(release: LocalRelease): string | undefined {
    const etcd = path.join(release.binDir, "etcd");
    if (!fs.existsSync(etcd)) {
        return `${etcd} is missing; run scripts/bootstrap.sh`;
    }
    const reported = execFileSync(etcd, ["--version"], { encoding: "utf8", timeout: 10_000 });
    if (!reported.includes(`etcd Version: ${release.version}\n`)) {
        return `${etcd} is not etcd ${release.version} (${reported.split("\n")[0]}); run scripts/bootstrap.sh`;
    }
    return undefined;
}

/** Writes `<dir>/v<ver>/` with the tarball and SHA256SUMS unless it is there already. */
function buildRelease(dir: string, release: LocalRelease): void {
    const releaseDir = path.join(dir, `v${release.version}`);
    if (fs.existsSync(path.join(releaseDir, "SHA256SUMS"))) {
        return;
    }
    const problem = releaseProblem(release);
    if (problem) {
        throw new Error(problem);
    }
    // Built beside the final place and renamed, so a concurrent or interrupted build leaves no half.
    const staging = fs.mkdtempSync(path.join(dir, `.v${release.version}-`));
    try {
        writeRelease(staging, release);
        fs.renameSync(staging, releaseDir);
    } catch (error) {
        fs.rmSync(staging, { recursive: true, force: true });
        if (!fs.existsSync(path.join(releaseDir, "SHA256SUMS"))) {
            throw error;
        }
    }
}

/** The tarball (`etcd-v<ver>-linux-amd64/` with the tools) and its SHA256SUMS line, in `dir`. */
function writeRelease(dir: string, release: LocalRelease): void {
    const top = `etcd-v${release.version}-linux-amd64`;
    fs.mkdirSync(path.join(dir, top));
    for (const tool of TOOLS.filter((t) => fs.existsSync(path.join(release.binDir, t)))) {
        fs.copyFileSync(path.join(release.binDir, tool), path.join(dir, top, tool));
        fs.chmodSync(path.join(dir, top, tool), 0o755);
    }
    const tarball = tarballName(release.version);
    execFileSync("tar", ["-czf", tarball, "--owner=0", "--group=0", top], { cwd: dir, timeout: 120_000 });
    fs.rmSync(path.join(dir, top), { recursive: true });
    fs.writeFileSync(path.join(dir, "SHA256SUMS"), `${sha256(path.join(dir, tarball))}  ${tarball}\n`);
}

/** Builds the mirror's files for every local release (cached in `dir`). */
export function buildMirror(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const release of LOCAL_RELEASES) {
        buildRelease(dir, release);
    }
}

export interface MirrorOptions {
    /** Serve tarballs with one byte changed (SHA256SUMS unchanged): a tampered download. */
    readonly corruptTarballs?: boolean;
    /** The port to listen on (a stack's mirrorBaseUrl must not change between runs); default a free one. */
    readonly port?: number;
}

export interface RunningMirror {
    /** What `mirrorBaseUrl` takes, e.g. http://127.0.10.1:41234. */
    readonly baseUrl: string;
    close(): Promise<void>;
}

function corrupted(bytes: Buffer): Buffer {
    const copy = Buffer.from(bytes);
    const middle = copy.length >> 1;
    const byte = copy[middle];
    if (byte === undefined) {
        throw new Error("an empty file cannot be served corrupted");
    }
    copy[middle] = byte ^ 0xff;
    return copy;
}

/** Serves `dir` on `address` (on a free port unless `options.port` names one) until closed. */
export function startMirror(dir: string, address: string, options: MirrorOptions = {}): Promise<RunningMirror> {
    const root = path.resolve(dir);
    const server = http.createServer((request, response) => {
        const file = path.join(
            root,
            path.normalize(decodeURIComponent(new URL(request.url ?? "/", "http://mirror").pathname)),
        );
        if (
            request.method !== "GET" ||
            !file.startsWith(`${root}/`) ||
            !fs.statSync(file, { throwIfNoEntry: false })?.isFile()
        ) {
            response.writeHead(404).end("not found\n");
            return;
        }
        const bytes = fs.readFileSync(file);
        response.writeHead(200, { "content-length": bytes.length });
        response.end(options.corruptTarballs && file.endsWith(".tar.gz") ? corrupted(bytes) : bytes);
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, address, () => {
            const { port } = server.address() as AddressInfo;
            resolve({
                baseUrl: `http://${address}:${port}`,
                close: () =>
                    new Promise((done) => {
                        server.close(() => done());
                        server.closeAllConnections();
                    }),
            });
        });
    });
}
