// Packs the package the way `npm publish` would (npm pack runs `prepare`, the library build)
// and installs the tarball into throwaway consumer programs. No registry is involved: the
// tarball is unpacked where npm would put it, and its dependencies are this repository's own
// installed packages (the @pulumi ones, js-yaml), linked in, so the consumer shares their single runtime.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "../..");
const NODE_MODULES = path.join(ROOT, "node_modules");

export interface PackedPackage {
    readonly tarball: string;
    /** Paths inside the tarball, relative to its package/ directory. */
    readonly files: string[];
}

let packed: Promise<PackedPackage> | undefined;

/** A fresh temporary directory, removed when the test process exits. */
function temporaryDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
}

function pack(): PackedPackage {
    const destination = temporaryDir("etcd-aws-pack-");
    const output = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
    // prepare's own output comes first; npm's JSON report is the array at the end.
    const [report] = JSON.parse(output.slice(output.lastIndexOf("\n[") + 1));
    return {
        tarball: path.join(destination, report.filename),
        files: report.files.map((file: { path: string }) => file.path),
    };
}

/** The packed tarball, built once per test run. */
export function packOnce(): Promise<PackedPackage> {
    packed ??= Promise.resolve().then(pack);
    return packed;
}

/** A consumer project directory with the tarball installed as node_modules/etcd-aws. */
export function consumerWith(tarball: string, files: Record<string, string>): string {
    const dir = temporaryDir("etcd-aws-consumer-");
    const installed = path.join(dir, "node_modules", "etcd-aws");
    fs.mkdirSync(installed, { recursive: true });
    execFileSync("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
    // The package's declared runtime dependencies (a scope such as @pulumi as one link) and @types.
    const dependencies: string[] = Object.keys(
        JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies,
    );
    for (const link of new Set(["@types", ...dependencies.map((name) => name.split("/")[0] as string)])) {
        fs.symlinkSync(path.join(NODE_MODULES, link), path.join(dir, "node_modules", link), "dir");
    }
    for (const [name, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, name), content);
    }
    return dir;
}

/** Type checks and compiles the consumer with its tsconfig.json (tsc from this repository). */
export function compile(dir: string): void {
    try {
        execFileSync(process.execPath, [path.join(NODE_MODULES, "typescript", "bin", "tsc"), "-p", dir], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
    } catch (error) {
        // execFileSync's error carries the child's output.
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`tsc failed in the consumer:\n${stdout}${stderr}`, { cause: error });
    }
}
