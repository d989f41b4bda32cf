import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    cpuArchitecture,
    InstallScriptInput,
    releaseUrl,
    ReleaseSpec,
    renderInstallScript,
    renderSystemdUnit,
} from "../../core";
import { MEMBERSHIP_LOCK_KEY } from "../../core/host-contract";
import { releaseTarball } from "../../core/install";
import { at } from "../helpers/elements";
import { afterHeader, bundleSettings, heredocBodies, shellcheck, specOf, systemdVerify } from "./helpers";

import { GITHUB, installInput, SHA, version } from "../helpers/install-input";

const DISK_PROBE = path.resolve(__dirname, "../../host/lib/disk_probe.py");

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
