import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
    byHandPreparationScript,
    byHandScript,
    engineSeconds,
    installPhases,
    longestUnavailable,
    rollPhases,
    UpgradeRow,
} from "../../bench/upgrade-bench";
import { upgradeSection, upgradeVerdict } from "../../bench/upgrade-report";
import type { UpgradeResults } from "../../bench/upgrade-bench";

const sample = (at: number, healthy: boolean) => ({ at, healthy });
const window = (member: string, stopped: number, serving: number) => ({ member, stopped, serving });

/** A row with every figure of a sample, medians as given. */
function row(way: UpgradeRow["way"], figures: Partial<UpgradeRow>): UpgradeRow {
    return {
        way,
        runs: 4,
        failures: [],
        samples: [],
        from: "",
        to: "",
        totalSeconds: 0,
        beforeFirstRestartSeconds: 0,
        restartsSeconds: 0,
        betweenRestartsSeconds: 0,
        afterLastRestartSeconds: 0,
        outsideEngineSeconds: Number.NaN,
        firstInstalledSeconds: Number.NaN,
        launchesSeconds: Number.NaN,
        nextInstallsSeconds: Number.NaN,
        fetchSeconds: Number.NaN,
        leaderPosition: 3,
        firstUnavailableSeconds: 0,
        secondUnavailableSeconds: 0,
        thirdUnavailableSeconds: 0,
        longestUnavailableSeconds: 0,
        longestStallSeconds: 0,
        writes: 100,
        failedWrites: 0,
        ...figures,
    } as unknown as UpgradeRow;
}

function results(ours: Partial<UpgradeRow>, byHand: Partial<UpgradeRow>): UpgradeResults {
    return {
        measuredAt: "2026-12-02T05:00:00.000Z",
        durationSeconds: 480,
        commit: "abc1234",
        versions: ["3.6.14", "3.6.16"],
        rounds: 4,
        createSeconds: 60,
        destroySeconds: 30,
        disturbances: { secondsWaited: 0, repeatedRuns: 0, disturbedRuns: 0, otherEtcdProcesses: 6 },
        rows: [row("ours", ours), row("by hand", byHand)],
    };
}

describe("bench/upgrade-bench", () => {
    it("longestUnavailable: the longest stretch from the last healthy answer before failed ones to the first healthy one after, in seconds; 0 when none failed, to the end when still failing", () => {
        const steady = [0, 150, 300, 450].map((at) => sample(at, true));
        assert.equal(longestUnavailable(steady), 0);
        const twoGaps = [
            sample(0, true),
            sample(150, false),
            sample(300, true),
            sample(450, false),
            sample(600, false),
            sample(750, false),
            sample(1_200, true),
        ];
        assert.equal(longestUnavailable(twoGaps), 0.9);
        assert.equal(longestUnavailable([sample(0, true), sample(150, false), sample(400, false)]), 0.4);
        assert.equal(longestUnavailable([]), 0);
    });

    it("engineSeconds reads pulumi's Duration line (seconds, or minutes and seconds); NaN without one", () => {
        assert.equal(engineSeconds("Resources:\n    7 changes. 76 unchanged\n\nDuration: 33s\n"), 33);
        assert.equal(engineSeconds("Duration: 1m5s\n"), 65);
        assert.ok(Number.isNaN(engineSeconds("no duration here")));
    });

    it("rollPhases: before the first stop, the restarts, the gaps between them and after the last serving add up to the roll", () => {
        const windows = [window("m-1", 3_000, 4_000), window("m-0", 5_000, 6_500), window("m-2", 7_000, 10_000)];
        const phases = rollPhases(windows, 1_000, 12_000);
        assert.deepEqual(phases, {
            beforeFirstRestartSeconds: 2,
            restartsSeconds: 5.5,
            betweenRestartsSeconds: 1.5,
            afterLastRestartSeconds: 2,
        });
        assert.equal(
            Object.values(phases).reduce((sum, value) => sum + value, 0),
            11,
        );
        assert.throws(() => rollPhases([], 0, 1), /without restarts/);
        assert.throws(() => rollPhases([window("a", 1_000, 3_000), window("b", 2_000, 4_000)], 0, 5_000));
    });

    it("installPhases: start to the first install, each install to its member's stop, each member serving to the next install", () => {
        const windows = [window("m-1", 3_000, 4_000), window("m-0", 5_000, 6_500), window("m-2", 7_000, 10_000)];
        assert.deepEqual(installPhases(windows, [2_500, 4_800, 6_600], 1_000), {
            firstInstalledSeconds: 1.5,
            launchesSeconds: 1.1,
            nextInstallsSeconds: 0.9,
        });
    });

    it("byHandPreparationScript: the guide's preparation before the first member (every endpoint healthy, then a snapshot from the first), valid bash", () => {
        const script = byHandPreparationScript(["https://127.0.20.10:2379", "https://127.0.20.11:2379"]);
        const health = script.indexOf("--endpoints=https://127.0.20.10:2379,https://127.0.20.11:2379");
        const snapshot = script.indexOf("--endpoints=https://127.0.20.10:2379 --cacert");
        assert.ok(health >= 0 && script.indexOf("endpoint health", health) > health, script);
        assert.ok(snapshot > health && script.indexOf("snapshot save", snapshot) > snapshot, script);
        execFileSync("bash", ["-n"], { input: script });
    });

    it("byHandScript: the guide's steps in order (fetch and check the release, stop, replace the binaries, start, wait for endpoint health), valid bash", () => {
        const script = byHandScript("3.6.16", "http://127.0.19.2:8480", "https://127.0.20.10:2379");
        const steps = [
            "curl -fsS -o etcd-v3.6.16-linux-amd64.tar.gz http://127.0.19.2:8480/v3.6.16/etcd-v3.6.16-linux-amd64.tar.gz",
            "sha256sum --check --ignore-missing --quiet SHA256SUMS",
            'echo "fetched $(date +%s.%N)"',
            "systemctl stop etcd.service",
            "install -m 0755 etcd-v3.6.16-linux-amd64/etcd etcd-v3.6.16-linux-amd64/etcdctl etcd-v3.6.16-linux-amd64/etcdutl /usr/local/bin/",
            "systemctl start etcd.service",
            "until /usr/local/bin/etcdctl --endpoints=https://127.0.20.10:2379 --cacert=/etc/etcd/pki/ca.crt",
        ];
        const places = steps.map((step) => script.indexOf(step));
        assert.ok(
            places.every((place) => place >= 0),
            `every step: ${JSON.stringify(places)}`,
        );
        assert.deepEqual(
            [...places].sort((a, b) => a - b),
            places,
            "in the guide's order",
        );
        execFileSync("bash", ["-n"], { input: script });
    });

    it("the verdict compares the medians of the total, ours over by hand, with the 1.2x target; the section shows the ratios under their columns", () => {
        const met = upgradeVerdict(results({ totalSeconds: 12 }, { totalSeconds: 10 }));
        assert.equal(met.met, true);
        assert.match(met.measured, /^12\.00 s \/ 10\.00 s: 1\.20x; /);
        const missed = upgradeVerdict(
            results(
                { totalSeconds: 40, longestUnavailableSeconds: 1.5, longestStallSeconds: 0.5 },
                { totalSeconds: 16, longestUnavailableSeconds: 3, longestStallSeconds: 5 },
            ),
        );
        assert.equal(missed.met, false);
        assert.match(
            missed.measured,
            /40\.00 s \/ 16\.00 s: 2\.50x; .* \(0\.50x\); longest write stall .* \(0\.10x\)$/,
        );
        const section = upgradeSection(
            results({ totalSeconds: 40, outsideEngineSeconds: 6 }, { totalSeconds: 16, fetchSeconds: 1.2 }),
        );
        assert.match(section, /^## 7\. Rolling upgrade of 3 members on the local stack$/m);
        assert.ok(section.includes("\n| ours / by hand |  | 2.50x |"), "the ratio under the total's column");
        assert.match(section, /^\| ours \| 4 \| 40\.00 s \|.*\| 6\.00 s \| - \|$/m);
        const member = (restartSeconds: number) => ({
            member: "m",
            wasLeader: false,
            restartSeconds,
            unavailableSeconds: 0,
        });
        const withRestarts = results({}, {});
        const slow = { ...withRestarts.rows[0], samples: [{ members: [member(7.2), member(1.1), member(0.4)] }] };
        assert.match(
            upgradeSection({ ...withRestarts, rows: [slow, withRestarts.rows[1]] as UpgradeRow[] }),
            /^Restarts of 7 s or more: ours 1 of 3, by hand 0 of 0\./m,
        );
        // Read back from results.json, a figure a way does not have is null.
        const readBack = JSON.parse(
            JSON.stringify(results({ totalSeconds: 40 }, { totalSeconds: 16 })),
        ) as UpgradeResults;
        assert.equal(readBack.rows[1]?.outsideEngineSeconds, null);
        assert.match(upgradeSection(readBack), /^\| by hand \| 4 \| 16\.00 s \|.*\| - \| - \|$/m);
    });
});
