// Issue 12's host-side fixes on real etcd, in the engine's real order: the member-ready wait on a
// restarted member while writes go on, the health gate of a scale-in (3 in the spec, 5 still
// members until the engine deletes the two launches), every member leaving at once (destroy);
// and the install script growing a loop-backed ext4 filesystem after its image grew.
// The cluster scenarios on 3.5 and the newest 3.6 only (one 5-member cluster each, 35-50 s), the
// member-ready wait on 3.6 alone (15 s): it reads fields (raftAppliedIndex, leader, isLearner) that
// every release since 3.4 prints alike, which test/host/member-ready.test.ts covers.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    clientUrl,
    HOST_PATHS,
    parseEtcdVersion,
    renderHealthGateScript,
    renderInstallScript,
    renderMemberReadyScript,
} from "../../core";
import { LocalCluster } from "../../local/cluster";
import { run, waitFor } from "../../local/process";
import { prepareScenario, reshapeScenario, ScenarioInput } from "../../local/scenario";
import { CATCH_UP_MARGIN } from "../../core/scripts/member-ready";
import { CLUSTER_OPTIONS, clusterName, scenarioInput, TEST_DIR, useWorkspace } from "./support";
import { localClient, writeThrough } from "./writes";
import { at } from "../helpers/elements";

const VERSIONS = ["3.5.16", "3.6.16"] as const;
const NEWEST = "3.6.16";
const READY_TIMEOUT_SECONDS = 60;

describe("install on a loop-backed data volume (real losetup, mkfs.ext4, e2fsck, resize2fs, mount)", () => {
    const workspace = useWorkspace("install-grow-3.6.16");
    const GiB = 1024 ** 3;
    const root = path.join(TEST_DIR, "install-grow-root");
    const image = path.join(TEST_DIR, "install-grow.img");
    let loop = "";

    before(function () {
        fs.rmSync(root, { recursive: true, force: true });
        fs.mkdirSync(path.join(root, "etc"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc/fstab"), "");
        fs.rmSync(image, { force: true });
        fs.writeFileSync(image, "");
        fs.truncateSync(image, GiB);
        loop = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
        const link = path.join(root, "dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0grow");
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(loop, link);
    });

    after(() => {
        if (loop) {
            execFileSync("losetup", ["--detach", loop]);
        }
        fs.rmSync(root, { recursive: true, force: true });
        fs.rmSync(image, { force: true });
    });

    /** The install script in a mount namespace of its own (its mount ends with it), below `root`, then `df` of the mount. */
    async function install(volumeSizeGiB: number): Promise<{ code: number | null; stderr: string; sizeBytes: number }> {
        const version = parseEtcdVersion("3.6.16");
        assert.ok(version);
        const release = { version, arch: "amd64" as const, mirrorBaseUrl: workspace().mirror.baseUrl };
        const script = renderInstallScript({
            release,
            dataVolumeId: "vol-0grow",
            volumeSizeGiB,
            instanceId: "i-0grow",
            memberName: "grow-0",
            clusterName: "grow",
        });
        const bin = path.join(TEST_DIR, "install-grow-bin");
        fs.mkdirSync(bin, { recursive: true });
        // What would change this machine's own users and units: stand-ins.
        for (const tool of ["useradd", "systemctl"]) {
            fs.writeFileSync(path.join(bin, tool), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        }
        fs.writeFileSync(
            path.join(bin, "install"),
            '#!/bin/bash\nargs=(); while [ "$#" -gt 0 ]; do case $1 in -o | -g) shift 2 ;; *) args+=("$1"); shift ;; esac; done; exec /usr/bin/install "${args[@]}"\n',
            { mode: 0o755 },
        );
        const result = await run(["unshare", "--mount", "--propagation", "private", "bash", "-s"], {
            stdin: `${script}\ndf -B1 --output=size ${path.join(root, HOST_PATHS.dataMount)} | tail -n 1\n`,
            timeoutMs: 120_000,
            env: {
                ...process.env,
                PATH: `${bin}:${process.env.PATH}`,
                ETCD_AWS_ROOT: root,
                ETCD_AWS_OWNER: "root:root",
            },
        });
        return { code: result.code, stderr: result.stderr, sizeBytes: Number(result.stdout.trim().split("\n").at(-1)) };
    }

    it("formats and mounts the volume; after the image grew to 2 GiB, grows the filesystem before mounting it (offline: this machine refuses online resize2fs) and mounts 2 GiB; again: nothing", async function () {
        this.timeout(240_000);
        const first = await install(1);
        assert.strictEqual(first.code, 0, first.stderr);
        assert.match(first.stderr, /formatted .*nvme-Amazon_Elastic_Block_Store_vol0grow/);
        assert.ok(first.sizeBytes > 0.9 * GiB && first.sizeBytes <= GiB, String(first.sizeBytes));

        fs.truncateSync(image, 2 * GiB);
        execFileSync("losetup", ["--set-capacity", loop]);
        const grown = await install(2);
        assert.strictEqual(grown.code, 0, grown.stderr);
        assert.match(grown.stderr, /grew the filesystem on \S+ from 1024 MiB to 2048 MiB/);
        assert.doesNotMatch(grown.stderr, /formatted/);
        assert.ok(grown.sizeBytes > 1.9 * GiB, String(grown.sizeBytes));

        const again = await install(2);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.doesNotMatch(again.stderr, /grew|formatted/);
    });
});

for (const version of VERSIONS) {
    describe(`etcd ${version}: member ready, the scale-in health gate and destroy's leaves (one 5-member cluster)`, () => {
        const workspace = useWorkspace(`host-scripts-${version}`);
        let input: ScenarioInput;
        let five: LocalCluster;

        before(async function () {
            this.timeout(180_000);
            input = { ...scenarioInput(workspace(), "static", version), clusterName: clusterName("hosts", version) };
            five = reshapeScenario(await prepareScenario(input, CLUSTER_OPTIONS), input, { memberCount: 5 });
            await five.bringUp();
        });

        if (version === NEWEST) {
            it("member ready on a restarted member: waits while it is down, passes once it is back and holds every key written meanwhile; no failed write", async function () {
                this.timeout(120_000);
                const target = at(five.members, 4);
                const ready = renderMemberReadyScript(five.spec, target.member, {
                    timeoutSeconds: READY_TIMEOUT_SECONDS,
                });
                const prefix = "ready/restart";
                // The writer uses the other members: the one restarted is the one measured.
                const endpoints = five.spec.members.slice(0, 4).map((m) => clientUrl(five.spec, m));
                const { report, result } = await writeThrough(
                    localClient(version),
                    endpoints,
                    prefix,
                    async (writer) => {
                        await five.systemctl([target], "stop");
                        const waiting = target.host.runScript(ready, {
                            timeoutMs: (READY_TIMEOUT_SECONDS + 10) * 1000,
                        });
                        let finished = false;
                        void waiting.then(() => (finished = true));
                        // Writes go on while it is down (~10 a second): it has entries to catch up on.
                        const stoppedAt = Date.now();
                        await waitFor("writes while the member is down", 30_000, () =>
                            writer.acknowledgedSince(stoppedAt) >= 30 ? true : undefined,
                        );
                        assert.strictEqual(finished, false, "member ready passed while the member was down");
                        const writtenBeforeStart = writer.acknowledged;
                        await five.systemctl([target], "start");
                        const outcome = await waiting;
                        const held = new Set(await five.keysOn(4, prefix));
                        return { outcome, writtenBeforeStart, held };
                    },
                );
                const { outcome, writtenBeforeStart, held } = result;
                assert.strictEqual(outcome.code, 0, outcome.stderr);
                const indexes = /is a started voting member, healthy, applied index (\d+) \(the leader's (\d+)\)/.exec(
                    outcome.stderr,
                );
                assert.ok(indexes, outcome.stderr);
                assert.ok(Number(indexes[2]) - Number(indexes[1]) <= CATCH_UP_MARGIN, indexes[0]);
                // A serializable read on the member itself right after: it holds what was written while it was down.
                const missing = report.written.slice(0, writtenBeforeStart).filter((key) => !held.has(key));
                assert.deepStrictEqual(missing, []);
                assert.strictEqual(report.failed.length, 0, JSON.stringify(report.failed));
            });
        }

        it("the health gate of a 3-member spec passes while 5 members run, naming the 2 outside the spec as leaving", async function () {
            this.timeout(60_000);
            // The scaled-in spec, as `pulumi up` of memberCount 3 runs its gate: before it deletes two launches.
            const three = reshapeScenario(five, input, {});
            assert.strictEqual((await five.memberIds()).length, 5);
            const gate = await at(three.members, 0).host.runScript(
                renderHealthGateScript(three.spec, { timeoutSeconds: 30 }),
                { timeoutMs: 40_000 },
            );
            assert.strictEqual(gate.code, 0, gate.stderr);
            assert.match(gate.stderr, /all 3 members of the spec are healthy/);
            const leaving = /not in the spec, leaving at the end of the update \(not counted\): (.*)$/m.exec(
                gate.stderr,
            );
            assert.ok(leaving, gate.stderr);
            assert.deepStrictEqual(
                at(leaving, 1, "leaving list")
                    .split(", ")
                    .map((entry) => entry.replace(/ \([0-9a-f]+\)$/, ""))
                    .sort(), // in the member list's order (by ID)
                five.spec.members.slice(3).map((m) => m.name),
            );
        });

        it("destroy: every member's leave at once; four remove themselves one at a time, the last removes nothing, no etcd left running", async function () {
            this.timeout(240_000);
            const results = await five.leave(five.members);
            const stderr = results.map((r) => r.stderr).join("");
            results.forEach((r, i) => assert.strictEqual(r.code, 0, `${at(five.members, i).member.name}: ${r.stderr}`));
            assert.strictEqual(stderr.match(/removed \S+ \([0-9a-f]+\) from the cluster/g)?.length, 4, stderr);
            assert.strictEqual(stderr.match(/is the last voting member; nothing to remove/g)?.length, 1, stderr);
            await waitFor("every etcd to exit", 30_000, () =>
                five.members.every(({ host }) => !host.etcdRunning()) ? true : undefined,
            );
        });
    });
}
