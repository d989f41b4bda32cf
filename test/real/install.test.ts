// core's install script on a local host, for real: what it refuses, and the unit it installs; and its disk
// check's probe side by side with fio running etcd's hardware guide's command on one ext4 volume (a loop device
// on this machine's disk), then on that volume slowed down by the kernel's block throttle.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildClusterSpec, HOST_PATHS } from "../../core";
import { DISK_CHECK_SECONDS, FSYNC_P99_LIMIT_MS } from "../../core/install";
import { run } from "../../local/process";
import { LocalCluster } from "../../local/cluster";
import { LocalHost } from "../../local/host";
import { addressPlan, resolveScenario } from "../../local/scenario";
import { CLUSTER_OPTIONS, scenarioInput, useWorkspace, VERSIONS, Workspace } from "./support";
import { at } from "../helpers/elements";

/** A static cluster of the workspace whose hosts exist but have nothing installed. */
function freshCluster(workspace: Workspace, version: string): LocalCluster {
    const settings = resolveScenario(scenarioInput(workspace, "static", version));
    return LocalCluster.create(
        workspace.dir,
        settings,
        buildClusterSpec(settings, addressPlan(workspace.subnet).members, "unused"),
        {},
        CLUSTER_OPTIONS,
    );
}

describe("core's install script on a local host", () => {
    for (const version of VERSIONS) {
        describe(`given a mirror that serves a tampered etcd ${version} tarball`, () => {
            const workspace = useWorkspace(`tampered-${version}`, { corruptTarballs: true });

            it("refuses it with its checksum message and installs nothing", async function () {
                this.timeout(120_000);
                const cluster = freshCluster(workspace(), version);
                const target = at(cluster.members, 0);
                const tarball = `etcd-v${version}-linux-amd64.tar.gz`;
                await assert.rejects(cluster.install([target]), (error: Error) => {
                    assert.match(
                        error.message,
                        new RegExp(
                            `checksum mismatch for ${tarball.replace(/\./g, "\\.")} \\(expected [0-9a-f]{64}\\); refusing to install`,
                        ),
                    );
                    return true;
                });
                const release = `${HOST_PATHS.releasesDir}/v${version}`;
                for (const file of [
                    `${HOST_PATHS.binDir}/etcd`,
                    `${HOST_PATHS.binDir}/etcdctl`,
                    release,
                    `${release}.partial`,
                    HOST_PATHS.unitFile,
                ]) {
                    assert.ok(!fs.existsSync(target.host.hostPath(file)), `${file} exists on the host`);
                }
            });
        });
    }

    describe("given an honest mirror", () => {
        const workspace = useWorkspace("unit-3.5.16");
        let host: LocalHost;

        before(async function () {
            this.timeout(120_000);
            const cluster = freshCluster(workspace(), "3.5.16");
            host = at(cluster.members, 0).host;
            await cluster.install([at(cluster.members, 0)]);
        });

        it("installs a unit that systemd-analyze verify accepts without a word (and would complain about a bad one)", async () => {
            // verify exits 0 even when it finds errors: any output is the failure.
            const verify = (unit: string) => host.exec(["systemd-analyze", "verify", unit], { timeoutMs: 30_000 });
            const installed = await verify(HOST_PATHS.unitFile);
            assert.strictEqual(`${installed.stdout}${installed.stderr}`, "");
            assert.strictEqual(installed.code, 0);

            const control = "/run/verify-control/etcd.service";
            fs.mkdirSync(host.hostPath("/run/verify-control"));
            fs.writeFileSync(
                host.hostPath(control),
                fs.readFileSync(host.hostPath(HOST_PATHS.unitFile), "utf8").replace("Type=notify", "Type=notifyy"),
            );
            assert.match((await verify(control)).stderr, /Failed to parse service type/);
        });

        it("creates the etcd system user in the host's /etc only, with no login shell", () => {
            assert.match(
                fs.readFileSync(host.hostPath("/etc/passwd"), "utf8"),
                /^etcd:x:\d+:\d+::\/var\/lib\/etcd:\/usr\/sbin\/nologin$/m,
            );
            assert.doesNotMatch(fs.readFileSync("/etc/passwd", "utf8"), /^etcd:.*\/usr\/sbin\/nologin$/m);
        });
    });
});

/** etcd's hardware guide's fio job (its --size and --bs), with fio's JSON report; --runtime bounds it on a slow disk. */
async function fioP99Ms(dir: string, runtimeSeconds?: number): Promise<{ p99Ms: number; writes: number }> {
    const result = await run(
        [
            "fio",
            "--name=etcd-aws-disk-check",
            `--directory=${dir}`,
            "--rw=write",
            "--ioengine=sync",
            "--fdatasync=1",
            "--size=22m",
            "--bs=2300",
            ...(runtimeSeconds === undefined ? [] : [`--runtime=${runtimeSeconds}`]),
            "--output-format=json",
        ],
        { timeoutMs: 120_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    for (const file of fs.readdirSync(dir).filter((name) => name.startsWith("etcd-aws-disk-check"))) {
        fs.rmSync(path.join(dir, file));
    }
    const sync = (JSON.parse(result.stdout) as { jobs: { sync: { lat_ns: SyncLatency } }[] }).jobs[0]?.sync;
    assert.ok(sync, result.stdout);
    const p99Ns = sync.lat_ns.percentile["99.000000"];
    assert.ok(p99Ns !== undefined, result.stdout);
    return { p99Ms: p99Ns / 1e6, writes: sync.lat_ns.N };
}

interface SyncLatency {
    readonly N: number;
    readonly percentile: Record<string, number>;
}

const DISK_PROBE = path.resolve(__dirname, "../../host/lib/disk_probe.py");

/** The install's probe (host/lib/disk_probe.py) against etcd's limit, given `seconds` to write. */
async function probeP99Ms(dir: string, seconds: number): Promise<{ p99Ms: number; writes: number; verdict: string }> {
    const result = await run(["python3", DISK_PROBE, dir, String(FSYNC_P99_LIMIT_MS), String(seconds)], {
        timeoutMs: 120_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const [p99, writes, verdict] = result.stdout.trim().split(" ");
    return { p99Ms: Number(p99), writes: Number(writes), verdict: verdict ?? "" };
}

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return at(sorted, Math.floor(sorted.length / 2));
}

/** The root cgroup's block throttle (cgroup v1 blkio); a cgroup v2 machine has none on its root. */
const WRITE_BPS_THROTTLE = "/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device";

describe("the install's disk check probe beside etcd's fio command, on one ext4 loop volume", function () {
    this.timeout(300_000);
    let image = "";
    let loop = "";
    let mount = "";

    before(function () {
        if (process.getuid?.() !== 0) this.skip();
        try {
            execFileSync("fio", ["--version"]);
        } catch {
            console.log("    skipped: needs fio (scripts/bootstrap.sh installs it)");
            this.skip();
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-aws-disk-check-"));
        image = path.join(dir, "volume.img");
        mount = path.join(dir, "mnt");
        fs.mkdirSync(mount);
        fs.writeFileSync(image, "");
        fs.truncateSync(image, 1024 ** 3);
        execFileSync("mkfs.ext4", ["-q", "-F", image]);
        loop = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
        execFileSync("mount", [loop, mount]);
    });

    after(() => {
        if (mount) execFileSync("umount", [mount], { stdio: "ignore" });
        if (loop) execFileSync("losetup", ["--detach", loop]);
        if (image) fs.rmSync(path.dirname(image), { recursive: true, force: true });
    });

    it(`both write the guide's 2300-byte fdatasync'd blocks for the install's ${DISK_CHECK_SECONDS} s, taking turns 3 times; their median p99s agree within a factor of 3`, async () => {
        const probes: number[] = [];
        const fios: number[] = [];
        for (let round = 0; round < 3; round++) {
            probes.push((await probeP99Ms(mount, DISK_CHECK_SECONDS)).p99Ms);
            fios.push((await fioP99Ms(mount, DISK_CHECK_SECONDS)).p99Ms);
        }
        const [probe, fio] = [median(probes), median(fios)];
        console.log(
            `      fdatasync p99 (ms), probe / fio per round: ${probes.map((p, i) => `${p.toFixed(2)} / ${at(fios, i).toFixed(2)}`).join(", ")}; medians ${probe.toFixed(2)} / ${fio.toFixed(2)}`,
        );
        assert.ok(probe <= 3 * fio && fio <= 3 * probe, `probe ${probe} ms, fio ${fio} ms`);
    });

    it("a volume the kernel throttles to 1 MiB/s of writes: the probe says slow within its seconds, and fio measures a p99 above 10 ms too, within a factor of 1.5", async function () {
        if (!fs.existsSync(WRITE_BPS_THROTTLE)) {
            console.log(`      skipped: no ${WRITE_BPS_THROTTLE} (cgroup v1 blkio) to slow the volume down`);
            this.skip();
        }
        const device = fs.readFileSync(`/sys/block/${path.basename(loop)}/dev`, "utf8").trim();
        fs.writeFileSync(WRITE_BPS_THROTTLE, `${device} ${1024 * 1024}`);
        try {
            const started = Date.now();
            const probe = await probeP99Ms(mount, DISK_CHECK_SECONDS);
            const seconds = (Date.now() - started) / 1000;
            const fio = await fioP99Ms(mount, DISK_CHECK_SECONDS);
            console.log(
                `      throttled: probe p99 ${probe.p99Ms.toFixed(2)} ms over ${probe.writes} writes in ${seconds.toFixed(1)} s; fio p99 ${fio.p99Ms.toFixed(2)} ms over ${fio.writes} writes`,
            );
            assert.equal(probe.verdict, "slow");
            assert.ok(
                probe.p99Ms > FSYNC_P99_LIMIT_MS && fio.p99Ms > FSYNC_P99_LIMIT_MS,
                `${probe.p99Ms} / ${fio.p99Ms}`,
            );
            assert.ok(probe.p99Ms <= 1.5 * fio.p99Ms && fio.p99Ms <= 1.5 * probe.p99Ms);
            assert.ok(seconds <= 3 * DISK_CHECK_SECONDS + 1, `the probe took ${seconds} s`);
        } finally {
            fs.writeFileSync(WRITE_BPS_THROTTLE, `${device} 0`);
        }
    });
});
