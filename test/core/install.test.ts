import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import {
    cpuArchitecture,
    HOST_PATHS,
    CpuArchitecture,
    EtcdVersion,
    InstallScriptInput,
    parseEtcdVersion,
    releaseUrl,
    ReleaseSpec,
    renderInstallScript,
    renderSystemdUnit,
} from "../../core";
import { MEMBERSHIP_LOCK_KEY } from "../../core/host-contract";
import { DiskCheck } from "../../core/model";
import { releaseTarball } from "../../core/install";
import { at } from "../helpers/elements";
import {
    afterHeader,
    bundleSettings,
    fakeBin,
    heredocBodies,
    runBash,
    shellcheck,
    specOf,
    systemdVerify,
    tempDir,
} from "./helpers";

const DISK_PROBE = path.resolve(__dirname, "../../host/lib/disk_probe.py");
/** Where e2fsprogs' tools are (their stand-ins call them). */
const SBIN = path.dirname(fs.realpathSync("/sbin/resize2fs"));

const GITHUB = "https://github.com/etcd-io/etcd/releases/download";
const SHA = "0123456789abcdef".repeat(4);

function version(text: string): EtcdVersion {
    const parsed = parseEtcdVersion(text);
    assert.ok(parsed);
    return parsed;
}

function installInput(
    text: string,
    arch: CpuArchitecture,
    extra: Partial<ReleaseSpec> = {},
    dataVolumeId?: string,
): InstallScriptInput {
    return {
        release: { version: version(text), arch, mirrorBaseUrl: GITHUB, ...extra },
        dataVolumeId,
        memberName: "orders-0",
        clusterName: "orders",
    };
}

describe("core/install", () => {
    describe("cpuArchitecture", () => {
        for (const type of ["t3.medium", "m6i.large", "c5.xlarge", "g5.xlarge", "m7i-flex.large", "r7a.large"]) {
            it(`${type} is amd64`, () => assert.equal(cpuArchitecture(type), "amd64"));
        }
        for (const type of [
            "t4g.small",
            "m7g.large",
            "c7gn.xlarge",
            "a1.large",
            "r8gd.2xlarge",
            "g5g.xlarge",
            "im4gn.large",
            "is4gen.large",
        ]) {
            it(`${type} is arm64 (Graviton)`, () => assert.equal(cpuArchitecture(type), "arm64"));
        }
    });

    describe("release names", () => {
        it("amd64: etcd-v<version>-linux-amd64.tar.gz under <mirror>/v<version>", () => {
            const release: ReleaseSpec = { version: version("3.6.14"), arch: "amd64", mirrorBaseUrl: GITHUB };
            assert.equal(releaseTarball(release), "etcd-v3.6.14-linux-amd64.tar.gz");
            assert.equal(releaseUrl(release), "https://github.com/etcd-io/etcd/releases/download/v3.6.14");
        });

        it("arm64 from a mirror: etcd-v<version>-linux-arm64.tar.gz under <mirror>/v<version>", () => {
            const release: ReleaseSpec = {
                version: version("v3.4.45"),
                arch: "arm64",
                mirrorBaseUrl: "https://storage.googleapis.com/etcd",
            };
            assert.equal(releaseTarball(release), "etcd-v3.4.45-linux-arm64.tar.gz");
            assert.equal(releaseUrl(release), "https://storage.googleapis.com/etcd/v3.4.45");
        });
    });

    describe("renderInstallScript", () => {
        const cases: [string, InstallScriptInput][] = [
            ["3.4.45 amd64, no data volume", installInput("3.4.45", "amd64")],
            ["3.5.33 arm64 with a data volume", installInput("3.5.33", "arm64", {}, "vol-0123456789abcdef0")],
            [
                "3.6.14 amd64 with a pinned sha256 and a data volume",
                installInput("3.6.14", "amd64", { sha256: SHA }, "vol-0abc"),
            ],
            [
                "3.7.1 arm64 from a mirror",
                installInput("3.7.1", "arm64", { mirrorBaseUrl: "https://storage.googleapis.com/etcd" }),
            ],
        ];
        for (const [label, input] of cases) {
            it(`${label}: shellcheck-clean`, () => {
                assert.equal(shellcheck(renderInstallScript(input)), "");
            });

            it(`${label}: header comments, then set -euo pipefail`, () => {
                const script = renderInstallScript(input);
                const lines = script.split("\n");
                assert.equal(lines[0], "#!/usr/bin/env bash");
                assert.equal(
                    lines[1],
                    `# Installs etcd ${input.release.version.text} (${input.release.arch}) on orders-0 of cluster orders:`,
                );
                assert.equal(afterHeader(script)[0], "set -euo pipefail");
            });
        }

        it("its settings name the release URL, tarball, pinned digest, data volume and host paths", () => {
            const script = renderInstallScript(installInput("3.6.14", "arm64", { sha256: SHA }, "vol-0abc"));
            assert.deepEqual(bundleSettings(script), {
                ETCD_VERSION: "3.6.14",
                RELEASE_URL: "https://github.com/etcd-io/etcd/releases/download/v3.6.14",
                TARBALL: "etcd-v3.6.14-linux-arm64.tar.gz",
                PINNED_SHA256: SHA,
                RELEASE_DIR: "/opt/etcd/v3.6.14",
                INSTANCE_ID: "",
                DATA_VOLUME_ID: "vol-0abc",
                DATA_DEVICE_NAME: "/dev/sdf",
                DATA_VOLUME_SIZE_GIB: "",
                DATA_MOUNT: "/var/lib/etcd",
                DATA_DIR: "/var/lib/etcd/data",
                FSTAB: "/etc/fstab",
                CONFIG_DIR: "/etc/etcd",
                PKI_DIR: "/etc/etcd/pki",
                BIN_DIR: "/usr/local/bin",
                UNIT_FILE: "/etc/systemd/system/etcd.service",
                UNIT: "etcd.service",
                DISK_CHECK: "warn",
                DISK_CHECK_LIMIT_MS: "10",
                DISK_CHECK_SECONDS: "2",
                DISK_CHECK_RECORD: "/var/lib/etcd/.etcd-aws-disk-check",
                MEMBERSHIP_LOCK: "no",
            });
        });

        it("with the member's cluster it carries lib/membership.sh, etcd_json and the member's own membership settings (the others' endpoints come from its etcd), and stays shellcheck-clean", () => {
            const spec = specOf({ memberCount: 3 });
            const member = at(spec.members, 1);
            const input = { ...installInput("3.6.14", "amd64", {}, "vol-0abc"), cluster: { spec, member } };
            const script = renderInstallScript(input);
            const settings = bundleSettings(script);
            assert.equal(settings.MEMBERSHIP_LOCK, "yes");
            assert.equal(settings.MEMBER_NAME, member.name);
            assert.equal(settings.LOCAL_ENDPOINT, `https://${member.address}:2379`);
            assert.equal(settings.PEER_ENDPOINTS, undefined);
            assert.equal(settings.PEER_URL, undefined);
            assert.equal(settings.LOCK_KEY, MEMBERSHIP_LOCK_KEY);
            assert.equal(settings.UNIT, "etcd.service");
            assert.ok(script.includes("# ---- host/lib/membership.sh"));
            assert.match(script, /^ETCD_JSON_PY=/m);
            assert.equal(shellcheck(script), "");
        });

        it("renders the same install for a member of 3, 5 or 7 members: scaling the cluster changes no member's install", () => {
            const installs = [3, 5, 7].map((memberCount) => {
                const spec = specOf({ memberCount });
                return renderInstallScript({
                    ...installInput("3.6.14", "amd64", {}, "vol-0abc"),
                    cluster: { spec, member: at(spec.members, 1) },
                });
            });
            assert.equal(installs[1], installs[0]);
            assert.equal(installs[2], installs[0]);
        });

        it("takes the diskCheck setting", () => {
            for (const diskCheck of ["warn", "fail", "off"] as const) {
                const settings = bundleSettings(renderInstallScript({ ...installInput("3.6.14", "amd64"), diskCheck }));
                assert.equal(settings.DISK_CHECK, diskCheck);
            }
        });

        it("records the instance, the volume's size and the attachment's device name, so each change of them changes the script", () => {
            const base = installInput("3.6.14", "amd64", {}, "vol-0abc");
            const script = renderInstallScript({
                ...base,
                instanceId: "i-0123456789abcdef0",
                volumeSizeGiB: 40,
                dataDeviceName: "/dev/sdg",
            });
            const settings = bundleSettings(script);
            assert.equal(settings.INSTANCE_ID, "i-0123456789abcdef0");
            assert.equal(settings.DATA_VOLUME_SIZE_GIB, "40");
            assert.equal(settings.DATA_DEVICE_NAME, "/dev/sdg");
            const variants = [
                { ...base, instanceId: "i-0123456789abcdef1", volumeSizeGiB: 40, dataDeviceName: "/dev/sdg" },
                { ...base, instanceId: "i-0123456789abcdef0", volumeSizeGiB: 41, dataDeviceName: "/dev/sdg" },
            ];
            for (const variant of variants) {
                assert.notEqual(renderInstallScript(variant), script);
            }
        });

        it("without a pinned digest or data volume those settings are empty", () => {
            const settings = bundleSettings(renderInstallScript(installInput("3.5.33", "amd64")));
            assert.equal(settings.PINNED_SHA256, "");
            assert.equal(settings.DATA_VOLUME_ID, "");
        });

        it("embeds exactly the systemd unit and host/lib/disk_probe.py in its here-documents", () => {
            const bodies = heredocBodies(renderInstallScript(installInput("3.6.14", "amd64")));
            assert.deepEqual(bodies, [
                { delimiter: "UNIT", body: renderSystemdUnit() },
                { delimiter: "DISK_PROBE_PY", body: fs.readFileSync(DISK_PROBE, "utf8") },
            ]);
        });

        describe("run against a temporary host root and a local mirror (file:// URLs)", () => {
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
                    assert.equal(
                        fs.readlinkSync(path.join(root, HOST_PATHS.binDir, tool)),
                        path.join(result.releaseDir, tool),
                    );
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
                    assert.equal(
                        install(root, base, undefined, { dataVolumeId: VOLUME, volumeSizeGiB: 1 }, "", log).status,
                        0,
                    );
                    fs.rmSync(`${log}.mounts`); // a new instance: the filesystem is not mounted yet
                    // The volume shows its new size a few seconds after the script started.
                    const grows = `(sleep 3; truncate -s ${2 * GiB} '${image}') &`;
                    const grown = install(
                        root,
                        base,
                        undefined,
                        { dataVolumeId: VOLUME, volumeSizeGiB: 2 },
                        grows,
                        log,
                    );
                    assert.equal(grown.status, 0, grown.stderr);
                    assert.ok(
                        grown.stderr.includes(`grew the filesystem on ${image} from 1024 MiB to 2048 MiB`),
                        grown.stderr,
                    );
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
                    assert.match(
                        grown.stderr,
                        /grew the filesystem on \S+ from 1024 MiB to 2048 MiB \(online, \d+ s\)/,
                    );
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
                        assert.ok(
                            result.calls.includes(`disk_probe ${root}/var/lib/etcd 10 2`),
                            result.calls.join("\n"),
                        );
                        assert.match(
                            result.stderr,
                            /warning: the data volume's fsync p99 is 12\.50 ms, above etcd's 10 ms/,
                        );
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
                    result.stderr.includes(
                        `SHA256SUMS says ${digest} but the pinned digest is ${SHA}; refusing to install`,
                    ),
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
    });

    describe("renderSystemdUnit", () => {
        const unit = renderSystemdUnit();

        it("carries upstream's settings and reads flags from the environment file", () => {
            const lines = unit.split("\n");
            for (const line of [
                "Type=notify",
                "User=etcd",
                "EnvironmentFile=/etc/etcd/etcd.env",
                "ExecStart=/usr/local/bin/etcd",
                "Restart=always",
                "RestartSec=10s",
                "LimitNOFILE=40000",
                "RequiresMountsFor=/var/lib/etcd",
                "After=network-online.target",
                "WantedBy=multi-user.target",
            ]) {
                assert.ok(lines.includes(line), line);
            }
        });

        it("passes systemd-analyze verify with no output at all", () => {
            // systemd-analyze checks that ExecStart exists; /usr/local/bin/etcd exists only on a
            // member, so the check runs on a copy that starts an existing binary instead.
            const existing = ["/usr/bin/true", "/bin/true"].find((file) => fs.existsSync(file));
            assert.ok(existing, "a true binary exists");
            const checked = unit.replace("ExecStart=/usr/local/bin/etcd\n", `ExecStart=${existing}\n`);
            assert.notEqual(checked, unit);
            assert.equal(systemdVerify("etcd.service", checked), "");
        });
    });
});
