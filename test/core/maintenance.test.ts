import * as assert from "node:assert/strict";
import { defaultQuotaBytes, SUGGESTED_MAX_QUOTA_BYTES, volumeQuotaRoom } from "../../core/maintenance";
import { CONTEXT, resolve } from "./helpers";
import { ClusterSettings, validateSettings } from "../../core";

const GIB = 1024 ** 3;

function problemsOf(settings: ClusterSettings) {
    return validateSettings("orders", settings, CONTEXT).problems;
}

function warningsOf(settings: ClusterSettings) {
    return validateSettings("orders", settings, CONTEXT).warnings;
}

describe("core/maintenance", () => {
    it("the quota room is half the volume after 1 GiB for the WAL; the default never exceeds etcd's 8 GiB", () => {
        assert.equal(volumeQuotaRoom(8), 3.5 * GIB);
        assert.equal(volumeQuotaRoom(20), 9.5 * GIB);
        assert.equal(defaultQuotaBytes(20), SUGGESTED_MAX_QUOTA_BYTES);
        assert.equal(defaultQuotaBytes(10), 4.5 * GIB);
        assert.equal(SUGGESTED_MAX_QUOTA_BYTES, 8 * GIB);
    });

    describe("validation", () => {
        it("resolves compaction on and the volume's quota by default", () => {
            assert.deepEqual(resolve({ volumeSizeGiB: 50 }).maintenance, {
                autoCompactionMode: "periodic",
                autoCompactionRetention: "1h",
                quotaBackendBytes: 8 * GIB,
            });
        });

        it("takes an explicit quota-backend-bytes that the volume holds", () => {
            const settings = { volumeSizeGiB: 10, extraFlags: { "quota-backend-bytes": String(4 * GIB) } };
            assert.equal(resolve(settings).maintenance.quotaBackendBytes, 4 * GIB);
            assert.deepEqual(warningsOf(settings), []);
        });

        it("refuses an explicit quota larger than the volume holds, naming the room and the volume it needs", () => {
            assert.deepEqual(
                problemsOf({ volumeSizeGiB: 10, extraFlags: { "quota-backend-bytes": String(6 * GIB) } }),
                [
                    {
                        setting: "extraFlags.quota-backend-bytes",
                        value: String(6 * GIB),
                        problem:
                            "a 6 GiB database does not fit the 10 GiB data volume: defragmenting a member or sending it a snapshot writes a second copy next to it, besides 1 GiB for the write-ahead log, so the volume holds at most 4.5 GiB",
                        fix: `lower it to ${4.5 * GIB} or less, or set volumeSizeGiB to 13 or more`,
                    },
                ],
            );
        });

        it("refuses a quota that is not a positive number of bytes", () => {
            for (const value of ["0", "8GiB", "-1"]) {
                const [problem] = problemsOf({ extraFlags: { "quota-backend-bytes": value } });
                assert.equal(problem?.problem, "is not a positive number of bytes", value);
                assert.match(problem.fix, /remove it for the quota sized from the volume \(8589934592\)/);
            }
        });

        it("warns about an explicit quota above etcd's suggested maximum that the volume holds", () => {
            const settings = { volumeSizeGiB: 40, extraFlags: { "quota-backend-bytes": String(12 * GIB) } };
            assert.equal(resolve(settings).maintenance.quotaBackendBytes, 12 * GIB);
            assert.deepEqual(warningsOf(settings), [
                `extraFlags: quota-backend-bytes=${12 * GIB} (12 GiB) is above etcd's suggested maximum of 8 GiB`,
            ]);
        });

        it("refuses an unknown compaction mode and a retention of the wrong kind", () => {
            assert.deepEqual(
                problemsOf({ autoCompactionMode: "hourly" }).map((p) => [p.setting, p.fix]),
                [["autoCompactionMode", 'use one of "periodic", "revision"']],
            );
            assert.deepEqual(
                problemsOf({ autoCompactionMode: "revision", autoCompactionRetention: "1h" }).map((p) => [
                    p.setting,
                    p.problem,
                ]),
                [["autoCompactionRetention", "revision compaction keeps a whole number of revisions"]],
            );
            assert.deepEqual(
                problemsOf({ autoCompactionRetention: "an hour" }).map((p) => p.fix),
                ['use e.g. "1h", or remove it for that default'],
            );
        });

        it("accepts periodic durations and whole hours", () => {
            for (const retention of ["1h", "30m", "1h30m", "90s", "2"]) {
                assert.equal(
                    resolve({ autoCompactionRetention: retention }).maintenance.autoCompactionRetention,
                    retention,
                );
            }
        });

        it("warns that a retention of 0 turns compaction off", () => {
            assert.deepEqual(warningsOf({ autoCompactionRetention: "0" }), [
                "autoCompactionRetention: 0 turns automatic compaction off; the history grows until the database reaches its quota and etcd turns read-only (NOSPACE)",
            ]);
        });
    });
});
