import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import {
    cpuArchitecture,
    CpuArchitecture,
    EtcdVersion,
    InstallScriptInput,
    parseEtcdVersion,
    releaseTarball,
    releaseUrl,
    ReleaseSpec,
    renderInstallScript,
    renderSystemdUnit,
} from "../../core";
import { afterHeader, heredocBodies, runBash, shellcheck, systemdVerify, tempDir } from "./helpers";

const GITHUB = "https://github.com/etcd-io/etcd/releases/download";
const SHA = "0123456789abcdef".repeat(4);

function version(text: string): EtcdVersion {
    const parsed = parseEtcdVersion(text);
    assert.ok(parsed);
    return parsed;
}

function installInput(text: string, arch: CpuArchitecture, extra: Partial<ReleaseSpec> = {}, dataVolumeId?: string): InstallScriptInput {
    return { release: { version: version(text), arch, mirrorBaseUrl: GITHUB, ...extra }, dataVolumeId, memberName: "orders-0", clusterName: "orders" };
}

/** The script's `NAME='value'` settings block as a map. */
function settingsOf(script: string): Record<string, string> {
    return Object.fromEntries([...script.matchAll(/^([A-Z_0-9]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
}

describe("core/install", () => {
    describe("cpuArchitecture", () => {
        for (const type of ["t3.medium", "m6i.large", "c5.xlarge", "g5.xlarge", "m7i-flex.large", "r7a.large"]) {
            it(`${type} is amd64`, () => assert.equal(cpuArchitecture(type), "amd64"));
        }
        for (const type of ["t4g.small", "m7g.large", "c7gn.xlarge", "a1.large", "r8gd.2xlarge", "g5g.xlarge", "im4gn.large", "is4gen.large"]) {
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
            const release: ReleaseSpec = { version: version("v3.4.45"), arch: "arm64", mirrorBaseUrl: "https://storage.googleapis.com/etcd" };
            assert.equal(releaseTarball(release), "etcd-v3.4.45-linux-arm64.tar.gz");
            assert.equal(releaseUrl(release), "https://storage.googleapis.com/etcd/v3.4.45");
        });
    });

    describe("renderInstallScript", () => {
        const cases: [string, InstallScriptInput][] = [
            ["3.4.45 amd64, no data volume", installInput("3.4.45", "amd64")],
            ["3.5.33 arm64 with a data volume", installInput("3.5.33", "arm64", {}, "vol-0123456789abcdef0")],
            ["3.6.14 amd64 with a pinned sha256 and a data volume", installInput("3.6.14", "amd64", { sha256: SHA }, "vol-0abc")],
            ["3.7.1 arm64 from a mirror", installInput("3.7.1", "arm64", { mirrorBaseUrl: "https://storage.googleapis.com/etcd" })],
        ];
        for (const [label, input] of cases) {
            it(`${label}: shellcheck-clean`, () => {
                assert.equal(shellcheck(renderInstallScript(input)), "");
            });

            it(`${label}: header comments, then set -euo pipefail`, () => {
                const script = renderInstallScript(input);
                const lines = script.split("\n");
                assert.equal(lines[0], "#!/usr/bin/env bash");
                assert.equal(lines[1], `# Installs etcd ${input.release.version.text} (${input.release.arch}) on orders-0 of cluster orders:`);
                assert.equal(afterHeader(script)[0], "set -euo pipefail");
            });
        }

        it("its settings name the release URL, tarball, pinned digest, data volume and host paths", () => {
            const script = renderInstallScript(installInput("3.6.14", "arm64", { sha256: SHA }, "vol-0abc"));
            assert.deepEqual(settingsOf(script), {
                ETCD_VERSION: "3.6.14",
                RELEASE_URL: "https://github.com/etcd-io/etcd/releases/download/v3.6.14",
                TARBALL: "etcd-v3.6.14-linux-arm64.tar.gz",
                PINNED_SHA256: SHA,
                RELEASE_DIR: "/opt/etcd/v3.6.14",
                DATA_VOLUME_ID: "vol-0abc",
                DATA_MOUNT: "/var/lib/etcd",
                DATA_DIR: "/var/lib/etcd/data",
                CONFIG_DIR: "/etc/etcd",
                BIN_DIR: "/usr/local/bin",
                UNIT_FILE: "/etc/systemd/system/etcd.service",
            });
        });

        it("without a pinned digest or data volume those settings are empty", () => {
            const settings = settingsOf(renderInstallScript(installInput("3.5.33", "amd64")));
            assert.equal(settings.PINNED_SHA256, "");
            assert.equal(settings.DATA_VOLUME_ID, "");
        });

        it("embeds exactly the systemd unit in its here-document", () => {
            const bodies = heredocBodies(renderInstallScript(installInput("3.6.14", "amd64")));
            assert.deepEqual(bodies, [{ delimiter: "UNIT", body: renderSystemdUnit() }]);
        });

        describe("install_release against a local mirror (file:// URLs)", () => {
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
                fs.writeFileSync(path.join(dir, "SHA256SUMS"), sums ? sums(digest) : `${digest}  etcd-v3.6.14-linux-amd64.tar.gz\n`);
                return { base: `file://${root}`, digest };
            }

            /** The script up to its function definitions, with RELEASE_DIR in a temp dir, then install_release. */
            function installRelease(base: string, sha256?: string): { status: number | null; stderr: string; releaseDir: string } {
                const script = renderInstallScript(installInput("3.6.14", "amd64", { mirrorBaseUrl: base, sha256 }));
                const releaseDir = path.join(tempDir("release"), "v3.6.14");
                const definitions = script.slice(0, script.indexOf("\nensure_etcd_user\n")).replace(/^RELEASE_DIR='.*'$/m, `RELEASE_DIR='${releaseDir}'`);
                const result = runBash(`${definitions}\ninstall_release`);
                return { status: result.status, stderr: result.stderr, releaseDir };
            }

            it("unpacks a release whose digest matches SHA256SUMS", () => {
                const { base } = mirror();
                const result = installRelease(base);
                assert.equal(result.status, 0, result.stderr);
                assert.deepEqual(fs.readdirSync(result.releaseDir).sort(), ["etcd", "etcdctl", "etcdutl"]);
                assert.match(result.stderr, /installed etcd 3\.6\.14 in /);
            });

            it("unpacks a release whose digest also matches the pinned sha256", () => {
                const { base, digest } = mirror();
                assert.equal(installRelease(base, digest).status, 0);
            });

            it("refuses a release whose pinned sha256 differs from SHA256SUMS", () => {
                const { base, digest } = mirror();
                const result = installRelease(base, SHA);
                assert.equal(result.status, 1);
                assert.ok(result.stderr.includes(`SHA256SUMS says ${digest} but the pinned digest is ${SHA}; refusing to install`));
                assert.equal(fs.existsSync(result.releaseDir), false);
            });

            it("refuses a tarball that does not match SHA256SUMS", () => {
                const { base } = mirror(() => `${SHA}  etcd-v3.6.14-linux-amd64.tar.gz\n`);
                const result = installRelease(base);
                assert.equal(result.status, 1);
                assert.ok(result.stderr.includes(`checksum mismatch for etcd-v3.6.14-linux-amd64.tar.gz (expected ${SHA}); refusing to install`));
                assert.equal(fs.existsSync(result.releaseDir), false);
            });

            it("refuses a release whose SHA256SUMS has no line for the tarball", () => {
                const { base } = mirror((digest) => `${digest}  etcd-v3.6.14-linux-arm64.tar.gz\n`);
                const result = installRelease(base);
                assert.equal(result.status, 1);
                assert.ok(result.stderr.includes("SHA256SUMS of 3.6.14 has no line for etcd-v3.6.14-linux-amd64.tar.gz; refusing to install"));
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
