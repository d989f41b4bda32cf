import * as assert from "node:assert/strict";
import { checkLegacyFlag } from "../../core/legacy-flags";

describe("core/legacy-flags", () => {
    it("renames -peer-heartbeat-interval and -peer-election-timeout (leading dashes ignored)", () => {
        assert.deepEqual(checkLegacyFlag("-peer-heartbeat-interval"), {
            kind: "renamed",
            successor: "heartbeat-interval",
        });
        assert.deepEqual(checkLegacyFlag("--peer-election-timeout"), {
            kind: "renamed",
            successor: "election-timeout",
        });
        assert.deepEqual(checkLegacyFlag("peer-election-timeout"), { kind: "renamed", successor: "election-timeout" });
    });

    for (const [flag, successor] of [
        ["addr", "advertise-client-urls"],
        ["bind-addr", "listen-client-urls"],
        ["peer-addr", "initial-advertise-peer-urls"],
        ["peer-bind-addr", "listen-peer-urls"],
    ]) {
        it(`refuses -${flag}, naming --${successor} and that the package derives it`, () => {
            assert.deepEqual(checkLegacyFlag(`-${flag}`), {
                kind: "refused",
                problem: `etcd 0.4's -${flag} became --${successor} (a URL list), which this package derives from each member's address`,
                fix: "remove it; ports are set with clientPort/peerPort",
            });
        });
    }

    for (const flag of ["peers", "peers-file"]) {
        it(`refuses -${flag}, naming --initial-cluster and the bootstrap modes`, () => {
            assert.deepEqual(checkLegacyFlag(`-${flag}`), {
                kind: "refused",
                problem: `etcd 0.4's -${flag} became --initial-cluster, which needs member names the old host:port list lacks`,
                fix: 'remove it; use bootstrapMode "static" (the package writes --initial-cluster), "dns" or "discovery"',
            });
        });
    }

    it("knows nothing about current flags", () => {
        for (const flag of ["snapshot-count", "heartbeat-interval", "--name", "discovery", "initial-cluster"]) {
            assert.equal(checkLegacyFlag(flag), undefined, flag);
        }
    });
});
