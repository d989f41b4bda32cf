// host/lib/etcd_json.py's answers for the pre-change script (host/etcd-aws-prepare-change.sh): what the
// downgrade API needs, whether every member's storage version reached a line, the largest database.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const HELPER = path.resolve(__dirname, "../../host/lib/etcd_json.py");

function etcdJson(args: string[], input: string): { status: number | null; stdout: string } {
    const result = spawnSync("python3", [HELPER, ...args], { input, encoding: "utf8" });
    assert.equal(result.error, undefined, `python3 could not run: ${String(result.error)}`);
    return { status: result.status, stdout: result.stdout };
}

interface Member {
    endpoint: string;
    version: string;
    dbSize?: number;
    storageVersion?: string;
    downgradeTarget?: string;
}

/** `etcdctl endpoint status --cluster -w json` as 3.6 and later print it (3.4/3.5: no storage or downgrade fields). */
function status(members: Member[]): string {
    return JSON.stringify(
        members.map((m, i) => ({
            Endpoint: m.endpoint,
            Status: {
                header: { member_id: i + 1 },
                version: m.version,
                dbSize: m.dbSize ?? 20480,
                ...(m.storageVersion === undefined ? {} : { storageVersion: m.storageVersion }),
                ...(m.version.startsWith("3.4") || m.version.startsWith("3.5")
                    ? {}
                    : {
                          downgradeInfo: m.downgradeTarget ? { enabled: true, targetVersion: m.downgradeTarget } : {},
                      }),
            },
        })),
    );
}

const ON_37 = [
    { endpoint: "https://10.0.1.10:2379", version: "3.7.3", storageVersion: "3.7.0" },
    { endpoint: "https://10.0.2.10:2379", version: "3.7.3", storageVersion: "3.7.0" },
];

describe("host/lib/etcd_json.py: the pre-change script's downgrade decisions", () => {
    it("downgrade-action: an older line than the newest member's is a downgrade to that line", () => {
        assert.equal(etcdJson(["downgrade-action", "3.6.16"], status(ON_37)).stdout, "downgrade 3.6\n");
    });

    it("downgrade-action: the same or a newer line is none (a patch change or an upgrade)", () => {
        assert.equal(etcdJson(["downgrade-action", "3.7.1"], status(ON_37)).stdout, "none\n");
        assert.equal(etcdJson(["downgrade-action", "3.7.3"], status(ON_37)).stdout, "none\n");
    });

    it("downgrade-action: a downgrade already enabled to the line is waited for, not enabled again (a retried up)", () => {
        const enabled = ON_37.map((m) => ({ ...m, downgradeTarget: "3.6.0", storageVersion: "3.6.0" }));
        assert.equal(etcdJson(["downgrade-action", "3.6.16"], status(enabled)).stdout, "wait 3.6\n");
        // Half rolled: one member on 3.6 already, the newest still 3.7.
        const mixed = [{ ...enabled[0]!, version: "3.6.16" }, enabled[1]!];
        assert.equal(etcdJson(["downgrade-action", "3.6.16"], status(mixed)).stdout, "wait 3.6\n");
    });

    it("downgrade-action: an enabled downgrade the request no longer asks for (the user went back) is cancelled", () => {
        const enabled = ON_37.map((m) => ({ ...m, downgradeTarget: "3.6.0" }));
        assert.equal(etcdJson(["downgrade-action", "3.7.3"], status(enabled)).stdout, "cancel\n");
    });

    it("downgrade-action: below the downgrade API's first line (3.6) it says unsupported", () => {
        const on35 = [{ endpoint: "http://10.0.1.10:2379", version: "3.5.16" }];
        assert.equal(etcdJson(["downgrade-action", "3.4.23"], status(on35)).stdout, "unsupported 3.4\n");
    });

    it("storage-at: exit 0 only when every member's storage version is on the line; the others are named", () => {
        const done = ON_37.map((m) => ({ ...m, storageVersion: "3.6.0" }));
        assert.deepEqual(etcdJson(["storage-at", "3.6"], status(done)), { status: 0, stdout: "" });
        const half = [done[0]!, ON_37[1]!];
        assert.deepEqual(etcdJson(["storage-at", "3.6"], status(half)), {
            status: 1,
            stdout: "https://10.0.2.10:2379 3.7.0\n",
        });
        const none = [{ endpoint: "http://10.0.1.10:2379", version: "3.5.16" }];
        assert.deepEqual(etcdJson(["storage-at", "3.6"], status(none)), {
            status: 1,
            stdout: "http://10.0.1.10:2379 -\n",
        });
    });

    it("largest-db: the largest database size any member reported", () => {
        const sizes = [
            { ...ON_37[0]!, dbSize: 4096 },
            { ...ON_37[1]!, dbSize: 1 << 20 },
        ];
        assert.equal(etcdJson(["largest-db"], status(sizes)).stdout, `${1 << 20}\n`);
    });
});
