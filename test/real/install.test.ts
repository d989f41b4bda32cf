// core's install script on a local host, for real: what it refuses, and the unit it installs.
import * as assert from "assert";
import * as fs from "fs";
import { buildClusterSpec, HOST_PATHS } from "../../core";
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
