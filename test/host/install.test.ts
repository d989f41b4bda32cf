import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST_PATHS, InstallScriptInput, renderInstallScript, renderSystemdUnit } from "../../core";
import { DiskCheck } from "../../core/model";
import { fakeBin, runBash, specOf, tempDir } from "../core/helpers";
import { at } from "../helpers/elements";
import { installInput, SHA } from "../helpers/install-input";

/** Where e2fsprogs' tools are (their stand-ins call them). */
const SBIN = path.dirname(fs.realpathSync("/sbin/resize2fs"));

describe("host/etcd-aws-install.sh as renderInstallScript renders it, run against a temporary host root and a local mirror (file:// URLs)", () => {
    /** A mirror holding a fake release tarball and SHA256SUMS; returns its base URL and digest. */
    function mirror(sums?: (digest: string) => string): { base: string; digest: string } {
        const root = tempDir("mirror");
        const dir = path.join(root, "v3.6.14");
        const pkg = path.join(root, "etcd-v3.6.14-linux-amd64");
        fs.mkdirSync(dir);
        fs.mkdirSync(pkg);
        for (const tool of ["etcd", "etcdctl", "etcdutl"]) {
            fs.writeFileSync(path.join(pkg, tool), `#!/bin/sh\necho ${tool}\n`, { mode: 0o755 });
        }
        const tarball = path.join(dir, "etcd-v3.6.14-linux-amd64.tar.gz");
        assert.equal(runBash(`tar -czf '${tarball}' -C '${root}' etcd-v3.6.14-linux-amd64`).status, 0);
        const digest = createHash("sha256").update(fs.readFileSync(tarball)).digest("hex");
        fs.writeFileSync(
            path.join(dir, "SHA256SUMS"),
            sums ? sums(digest) : `${digest}  etcd-v3.6.14-linux-amd64.tar.gz\n`,
        );
        return { base: `file://${root}`, digest };
    }

    /**
     * Stand-ins for what needs root: useradd, systemctl, install without its owner options, and
     * mount, which records what it mounted where mountpoint looks (FAKE_LOG.mounts).
     */
    const FAKES = {
        useradd: 'echo "useradd $*" >>"$FAKE_LOG"',
        systemctl: 'echo "systemctl $*" >>"$FAKE_LOG"',
        mount: 'echo "mount $*" >>"$FAKE_LOG"; echo "${*: -1}" >>"$FAKE_LOG.mounts"',
        mountpoint: 'grep -qxF -- "${*: -1}" "$FAKE_LOG.mounts" 2>/dev/null',
        install:
            'args=(); while [ "$#" -gt 0 ]; do case $1 in -o | -g) shift 2 ;; *) args+=("$1"); shift ;; esac; done; exec /usr/bin/install "${args[@]}"',
        // The disk check's probe (python3 - DIR LIMIT_MS SECONDS < program): FAKE_PROBE's figures; etcd_json
        // (python3 -c) runs for real.
        python3:
            '[ "$1" != -c ] || exec /usr/bin/python3 "$@"; [ "$1" = - ] || exit 99; echo "disk_probe ${*:2}" >>"$FAKE_LOG"; echo "${FAKE_PROBE:-0.50 10029 ok}"',
        umount: 'echo "umount $*" >>"$FAKE_LOG"; grep -vxF -- "${*: -1}" "$FAKE_LOG.mounts" >"$FAKE_LOG.left" || true; mv "$FAKE_LOG.left" "$FAKE_LOG.mounts"',
        // As a kernel without CAP_SYS_RESOURCE for resize2fs: a mounted filesystem does not grow.
        resize2fs: `if [ -n "\${RESIZE_MOUNT:-}" ] && grep -qxF -- "$RESIZE_MOUNT" "$FAKE_LOG.mounts"; then echo "resize2fs: Permission denied to resize filesystem" >&2; exit 1; fi; echo "resize2fs $*" >>"$FAKE_LOG"; exec ${SBIN}/resize2fs "$@"`,
        e2fsck: `echo "e2fsck $*" >>"$FAKE_LOG"; exec ${SBIN}/e2fsck "$@"`,
        // A running one-member cluster (member 1) as etcdctl's JSON shows it.
        etcdctl: `echo "etcdctl $*" >>"$FAKE_LOG"; case "$*" in *"endpoint status -w json"*) echo '[{"Endpoint":"e","Status":{"header":{"member_id":1}}}]' ;; *"member list -w json"*) echo '{"members":[{"ID":1,"name":"m","clientURLs":["https://e:2379"]}]}' ;; esac`,
    };
    const ME = `${runBash("id -un").stdout.trim()}:${runBash("id -gn").stdout.trim()}`;

    /** The whole install script against host root `root`; returns its result and the commands the stand-ins saw. */
    function install(
        root: string,
        base: string,
        sha256?: string,
        volume: Partial<InstallScriptInput> = {},
        before = "",
        log = path.join(tempDir("calls"), "calls.log"),
    ): { status: number | null; stdout: string; stderr: string; releaseDir: string; calls: string[] } {
        fs.writeFileSync(log, "");
        const script = renderInstallScript({
            ...installInput("3.6.14", "amd64", { mirrorBaseUrl: base, sha256 }),
            ...volume,
        });
        const result = runBash(
            `${before}\n${script}`,
            { ETCD_AWS_ROOT: root, ETCD_AWS_OWNER: ME, FAKE_LOG: log },
            fakeBin(FAKES),
        );
        const calls = fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter((line) => line !== "");
        return {
            status: result.status,
            stdout: result.stdout,
            stderr: result.stderr,
            releaseDir: path.join(root, HOST_PATHS.releasesDir, "v3.6.14"),
            calls,
        };
    }

    it("unpacks a release whose digest matches SHA256SUMS, links its binaries, writes the unit, and changes nothing when run again", () => {
        const { base } = mirror();
        const root = tempDir("host");
        const result = install(root, base);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(fs.readdirSync(result.releaseDir).sort(), ["etcd", "etcdctl", "etcdutl"]);
        assert.match(result.stderr, /installed etcd 3\.6\.14 in /);
        for (const tool of ["etcd", "etcdctl", "etcdutl"]) {
            assert.equal(fs.readlinkSync(path.join(root, HOST_PATHS.binDir, tool)), path.join(result.releaseDir, tool));
        }
        assert.equal(fs.readFileSync(path.join(root, HOST_PATHS.unitFile), "utf8"), renderSystemdUnit());
        for (const [dir, mode] of [
            [HOST_PATHS.dataDir, 0o700],
            [HOST_PATHS.configDir, 0o750],
            [HOST_PATHS.pkiDir, 0o750],
        ] as const) {
            assert.equal(fs.statSync(path.join(root, dir)).mode & 0o777, mode, dir);
        }
        assert.ok(result.calls.includes("systemctl daemon-reload"), result.calls.join("\n"));
        const again = install(root, base);
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, /etcd 3\.6\.14 is already in /);
        assert.doesNotMatch(again.stderr, /wrote |linked /);
        assert.equal(again.calls.includes("systemctl daemon-reload"), false);
    });

    describe("with a data volume (an image file standing in for the device)", () => {
        const GiB = 1024 ** 3;
        const VOLUME = "vol-0abc";
        const NVME = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc`;

        /** A sparse image of `size` bytes at `device` below the host root. */
        function device(root: string, devicePath: string, size: number): string {
            const file = path.join(root, devicePath);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(path.join(root, "etc/fstab"), "", { flag: "a" });
            fs.closeSync(fs.openSync(file, "w"));
            fs.truncateSync(file, size);
            return file;
        }

        function hostWithEtc(): string {
            const root = tempDir("host");
            fs.mkdirSync(path.join(root, "etc"));
            return root;
        }

        it("finds the volume as NVMe by its ID, formats it once, adds it to fstab by UUID and mounts it; again: nothing", () => {
            const { base } = mirror();
            const root = hostWithEtc();
            const image = device(root, NVME, GiB);
            const log = path.join(tempDir("calls"), "calls.log");
            const first = install(root, base, undefined, { dataVolumeId: VOLUME, instanceId: "i-0a" }, "", log);
            assert.equal(first.status, 0, first.stderr);
            assert.match(first.stderr, /installing etcd 3\.6\.14 on i-0a/);
            assert.ok(first.stderr.includes(`formatted ${image}`), first.stderr);
            const uuid = runBash(`blkid -s UUID -o value '${image}'`).stdout.trim();
            assert.match(uuid, /^[0-9a-f-]{36}$/);
            assert.equal(
                fs.readFileSync(path.join(root, "etc/fstab"), "utf8"),
                `UUID=${uuid} /var/lib/etcd ext4 defaults,nofail,noatime 0 2\n`,
            );
            assert.ok(
                first.calls.includes(`mount -o defaults,nofail,noatime ${image} ${root}/var/lib/etcd`),
                first.calls.join("\n"),
            );
            const again = install(root, base, undefined, { dataVolumeId: VOLUME, instanceId: "i-0a" }, "", log);
            assert.equal(again.status, 0, again.stderr);
            assert.doesNotMatch(again.stderr, /formatted|mounted|grew/);
            assert.equal(runBash(`blkid -s UUID -o value '${image}'`).stdout.trim(), uuid);
            assert.equal(fs.readFileSync(path.join(root, "etc/fstab"), "utf8").split("\n").length, 2);
            assert.ok(!again.calls.some((c) => c.startsWith("mount ")));
        });

        it("on a Xen instance (no NVMe link) finds the attachment's /dev/sdf as /dev/xvdf", () => {
            const { base } = mirror();
            const root = hostWithEtc();
            const image = device(root, "/dev/xvdf", GiB);
            const result = install(root, base, undefined, { dataVolumeId: VOLUME });
            assert.equal(result.status, 0, result.stderr);
            assert.ok(result.stderr.includes(`formatted ${image}`), result.stderr);
            assert.match(result.stderr, /installing etcd 3\.6\.14 on this host/);
        });

        it("or as the device name it was attached as, when Xen kept it", () => {
            const { base } = mirror();
            const root = hostWithEtc();
            const image = device(root, "/dev/sdg", GiB);
            const result = install(root, base, undefined, { dataVolumeId: VOLUME, dataDeviceName: "/dev/sdg" });
            assert.equal(result.status, 0, result.stderr);
            assert.ok(result.stderr.includes(`formatted ${image}`), result.stderr);
        });

        it("grows the filesystem when the volume grew, once it shows the new size (waiting for it), then not again", () => {
            const { base } = mirror();
            const root = hostWithEtc();
            const image = device(root, NVME, GiB);
            const log = path.join(tempDir("calls"), "calls.log");
            assert.equal(install(root, base, undefined, { dataVolumeId: VOLUME, volumeSizeGiB: 1 }, "", log).status, 0);
            fs.rmSync(`${log}.mounts`); // a new instance: the filesystem is not mounted yet
            // The volume shows its new size a few seconds after the script started.
            const grows = `(sleep 3; truncate -s ${2 * GiB} '${image}') &`;
            const grown = install(root, base, undefined, { dataVolumeId: VOLUME, volumeSizeGiB: 2 }, grows, log);
            assert.equal(grown.status, 0, grown.stderr);
            assert.ok(grown.stderr.includes(`grew the filesystem on ${image} from 1024 MiB to 2048 MiB`), grown.stderr);
            assert.doesNotMatch(grown.stderr, /formatted/);
            const blocks = runBash(`tune2fs -l '${image}' | sed -n 's/^Block count: *//p'`).stdout.trim();
            assert.equal(blocks, String((2 * GiB) / 4096));
            const again = install(root, base, undefined, { dataVolumeId: VOLUME, volumeSizeGiB: 2 }, "", log);
            assert.equal(again.status, 0, again.stderr);
            assert.doesNotMatch(again.stderr, /grew|formatted/);
        });

        /**
         * Installs on a 1 GiB volume, grows the image to 2 GiB and installs again, the filesystem
         * mounted (a running member) on a kernel that refuses to grow it online; then once more.
         */
        function growWhileMounted(volume: Partial<InstallScriptInput>, kernelRefuses = true) {
            const { base } = mirror();
            const root = hostWithEtc();
            const image = device(root, NVME, GiB);
            const log = path.join(tempDir("calls"), "calls.log");
            const mount = path.join(root, HOST_PATHS.dataMount);
            const refusing = kernelRefuses ? `export RESIZE_MOUNT='${mount}'` : "";
            const run = (volumeSizeGiB: number) =>
                install(root, base, undefined, { ...volume, volumeSizeGiB }, refusing, log);
            assert.equal(run(1).status, 0);
            fs.truncateSync(image, 2 * GiB);
            const grown = run(2);
            return { image, mount, grown, again: () => run(2) };
        }

        it("grows a mounted filesystem the kernel refuses to grow online offline: under the lock, etcd stopped, unmounted, checked, grown, mounted, etcd started and healthy; then not again", () => {
            const spec = specOf({ memberCount: 1 });
            const member = at(spec.members, 0);
            const { image, mount, grown, again } = growWhileMounted({
                dataVolumeId: VOLUME,
                cluster: { spec, member },
            });
            assert.equal(grown.status, 0, grown.stderr);
            assert.ok(
                grown.stderr.includes(
                    `the kernel refused to grow the mounted filesystem on ${image} online (resize2fs: Permission denied to resize filesystem): growing it offline`,
                ),
                grown.stderr,
            );
            assert.match(
                grown.stderr,
                /grew the filesystem on \S+ from 1024 MiB to 2048 MiB \(offline, etcd stopped under the membership lock, \d+ s\)/,
            );
            const steps = grown.calls.filter((call) =>
                /^(systemctl (stop|start)|umount|e2fsck|resize2fs|mount|etcdctl .*(endpoint health|member list))/.test(
                    call,
                ),
            );
            assert.deepEqual(steps, [
                // The other members' endpoints, from this member's etcd (none: a one-member cluster).
                `etcdctl --endpoints https://${member.address}:2379 --command-timeout=3s member list -w json`,
                "systemctl stop etcd.service",
                `umount ${mount}`,
                `e2fsck -f -p ${image}`,
                `resize2fs ${image}`,
                `mount -o defaults,nofail,noatime ${image} ${mount}`,
                "systemctl start --no-block etcd.service",
                `etcdctl --endpoints https://${member.address}:2379 --command-timeout=0.5s endpoint health`,
            ]);
            const blocks = runBash(`tune2fs -l '${image}' | sed -n 's/^Block count: *//p'`).stdout.trim();
            assert.equal(blocks, String((2 * GiB) / 4096));
            const after = again();
            assert.equal(after.status, 0, after.stderr);
            assert.doesNotMatch(after.stderr, /grew|stopping/);
        });

        it("grows a mounted filesystem online when the kernel lets it: etcd keeps running, no lock", () => {
            const spec = specOf({ memberCount: 1 });
            const { grown } = growWhileMounted(
                { dataVolumeId: VOLUME, cluster: { spec, member: at(spec.members, 0) } },
                false,
            );
            assert.equal(grown.status, 0, grown.stderr);
            assert.match(grown.stderr, /grew the filesystem on \S+ from 1024 MiB to 2048 MiB \(online, \d+ s\)/);
            assert.equal(
                grown.calls.some((call) => /^(systemctl (stop|start)|umount)/.test(call)),
                false,
            );
        });

        it("without the member's cluster it refuses to stop a running etcd for that, and says why", () => {
            const { grown } = growWhileMounted({ dataVolumeId: VOLUME });
            assert.equal(grown.status, 1);
            assert.match(
                grown.stderr,
                /this install has no membership settings, so it cannot stop etcd to grow the filesystem/,
            );
            assert.equal(grown.calls.includes("systemctl stop etcd.service"), false);
        });

        describe("the disk check", () => {
            const line = (figures: string) =>
                `etcd-aws disk check: fsync p99 ${figures.split(" ")[0]} ms over ${figures.split(" ")[1]} writes (etcd asks <= 10 ms): ${figures.split(" ")[2]}\n`;

            function checked(diskCheck: DiskCheck | undefined, figures: string) {
                const root = hostWithEtc();
                device(root, NVME, GiB);
                return {
                    root,
                    ...install(
                        root,
                        mirror().base,
                        undefined,
                        { dataVolumeId: VOLUME, diskCheck },
                        `export FAKE_PROBE='${figures}'`,
                    ),
                };
            }

            it("warn (the default): prints the probe's line for the data mount and goes on, warning about a slow volume", () => {
                const { root, ...result } = checked(undefined, "12.50 230 slow");
                assert.equal(result.status, 0, result.stderr);
                assert.equal(result.stdout, line("12.50 230 slow"));
                assert.ok(result.calls.includes(`disk_probe ${root}/var/lib/etcd 10 2`), result.calls.join("\n"));
                assert.match(result.stderr, /warning: the data volume's fsync p99 is 12\.50 ms, above etcd's 10 ms/);
                assert.match(result.stderr, /installed etcd 3\.6\.14/);
            });

            it("fail: a p99 above 10 ms ends the install before etcd is installed", () => {
                const result = checked("fail", "12.50 230 slow");
                assert.equal(result.status, 1);
                assert.equal(result.stdout, line("12.50 230 slow"));
                assert.match(
                    result.stderr,
                    /fsync p99 is 12\.50 ms, above etcd's 10 ms, and diskCheck is fail: refusing/,
                );
                assert.equal(fs.existsSync(result.releaseDir), false);
                assert.equal(fs.existsSync(path.join(result.root, HOST_PATHS.unitFile)), false);
            });

            it("fail: a p99 within 10 ms goes on", () => {
                const result = checked("fail", "3.21 10029 ok");
                assert.equal(result.status, 0, result.stderr);
                assert.equal(result.stdout, line("3.21 10029 ok"));
                assert.doesNotMatch(result.stderr, /warning/);
            });

            it("keeps the figures on the volume: the next install on it at the same size reports them without measuring (still refusing a slow one under fail); a new size or another volume measures again", () => {
                const root = hostWithEtc();
                const image = device(root, NVME, GiB);
                const again = (diskCheck: DiskCheck, figures: string, volume = VOLUME, volumeSizeGiB = 1) =>
                    install(
                        root,
                        mirror().base,
                        undefined,
                        { dataVolumeId: volume, diskCheck, volumeSizeGiB },
                        `export FAKE_PROBE='${figures}'`,
                    );
                const measures = (result: { calls: string[] }) =>
                    result.calls.filter((call) => call.startsWith("disk_probe")).length;
                const first = again("warn", "12.50 230 slow");
                assert.equal(measures(first), 1);
                assert.equal(
                    fs.readFileSync(path.join(root, "var/lib/etcd/.etcd-aws-disk-check"), "utf8"),
                    `${VOLUME} 1 12.50 230 slow\n`,
                );
                const kept = again("warn", "1.00 9999 ok");
                assert.equal(measures(kept), 0);
                assert.equal(kept.stdout, line("12.50 230 slow"));
                assert.match(kept.stderr, /measured at this size already/);
                const refused = again("fail", "1.00 9999 ok");
                assert.equal(refused.status, 1);
                assert.equal(measures(refused), 0);
                fs.truncateSync(image, 2 * GiB);
                const grown = again("warn", "2.00 9000 ok", VOLUME, 2);
                assert.equal(measures(grown), 1, grown.stderr);
                assert.equal(grown.stdout, line("2.00 9000 ok"));
            });

            it("off: measures nothing", () => {
                const result = checked("off", "12.50 230 slow");
                assert.equal(result.status, 0, result.stderr);
                assert.equal(result.stdout, "");
                assert.equal(
                    result.calls.some((call) => call.startsWith("disk_probe")),
                    false,
                );
            });
        });
    });

    it("unpacks a release whose digest also matches the pinned sha256", () => {
        const { base, digest } = mirror();
        assert.equal(install(tempDir("host"), base, digest).status, 0);
    });

    it("refuses a release whose pinned sha256 differs from SHA256SUMS", () => {
        const { base, digest } = mirror();
        const result = install(tempDir("host"), base, SHA);
        assert.equal(result.status, 1);
        assert.ok(
            result.stderr.includes(`SHA256SUMS says ${digest} but the pinned digest is ${SHA}; refusing to install`),
        );
        assert.equal(fs.existsSync(result.releaseDir), false);
    });

    it("refuses a tarball that does not match SHA256SUMS", () => {
        const { base } = mirror(() => `${SHA}  etcd-v3.6.14-linux-amd64.tar.gz\n`);
        const result = install(tempDir("host"), base);
        assert.equal(result.status, 1);
        assert.ok(
            result.stderr.includes(
                `checksum mismatch for etcd-v3.6.14-linux-amd64.tar.gz (expected ${SHA}); refusing to install`,
            ),
        );
        assert.equal(fs.existsSync(result.releaseDir), false);
    });

    it("refuses a release whose SHA256SUMS has no line for the tarball", () => {
        const { base } = mirror((digest) => `${digest}  etcd-v3.6.14-linux-arm64.tar.gz\n`);
        const result = install(tempDir("host"), base);
        assert.equal(result.status, 1);
        assert.ok(
            result.stderr.includes(
                "SHA256SUMS of 3.6.14 has no line for etcd-v3.6.14-linux-amd64.tar.gz; refusing to install",
            ),
        );
    });
});
