// host/etcd-aws-prepare-change.sh against a stand-in etcdctl and etcdutl (answers from files, every call recorded):
// what it does before a risky change on a first deployment, a cluster that is down, a volume without room, a
// downgrade (validate, enable, the storage version waited for, cancelled when it does not get there) and a
// downgrade the user went back on.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const SCRIPT = path.resolve(__dirname, "../../host/etcd-aws-prepare-change.sh");
const ENDPOINTS = ["http://10.0.1.10:2379", "http://10.0.2.10:2379", "http://10.0.3.10:2379"];

/** `endpoint status --cluster -w json` of three members on `version` with storage version `storage`. */
function status(version: string, storage: string, downgradeTo?: string, dbSize = 20480): string {
    return JSON.stringify(
        ENDPOINTS.map((endpoint, i) => ({
            Endpoint: endpoint,
            Status: {
                header: { member_id: i + 1 },
                version,
                dbSize,
                storageVersion: storage,
                downgradeInfo: downgradeTo ? { enabled: true, targetVersion: downgradeTo } : {},
            },
        })),
    );
}

interface Stand {
    /** Whether `endpoint health` answers. */
    healthy: boolean;
    /** The status before `downgrade enable`, and after it (default: the same). */
    before: string;
    after?: string;
    /** Whether this member has etcd data. */
    data?: boolean;
}

function runPrepare(
    target: string,
    stand: Stand,
): { status: number | null; stderr: string; calls: string[]; snapshots: string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prepare-change-"));
    try {
        const root = path.join(dir, "root");
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.mkdirSync(path.join(root, "var/lib/etcd/data"), { recursive: true });
        if (stand.data) fs.mkdirSync(path.join(root, "var/lib/etcd/data/member"));
        fs.writeFileSync(path.join(dir, "before.json"), stand.before);
        fs.writeFileSync(path.join(dir, "after.json"), stand.after ?? stand.before);
        const calls = path.join(dir, "calls");
        fs.writeFileSync(
            path.join(bin, "etcdctl"),
            `#!/usr/bin/env bash
args=$(printf '%s ' "$@" | sed -E 's/--(endpoints|command-timeout)[= ][^ ]* //g')
echo "etcdctl \${args% }" >> ${calls}
case "$args" in
  "endpoint health "*) ${stand.healthy ? "exit 0" : "exit 1"} ;;
  "endpoint status --cluster -w json "*) if [ -f ${dir}/enabled ]; then cat ${dir}/after.json; else cat ${dir}/before.json; fi ;;
  "snapshot save "*) echo snapshot > "\${@: -1}" ;;
  "downgrade enable "*) touch ${dir}/enabled ;;
esac
`,
            { mode: 0o755 },
        );
        fs.writeFileSync(
            path.join(bin, "etcdutl"),
            `#!/usr/bin/env bash\necho '{"hash":1,"revision":42,"totalKey":7,"totalSize":20480}'\n`,
            { mode: 0o755 },
        );
        const result = spawnSync("bash", [SCRIPT], {
            encoding: "utf8",
            timeout: 30_000,
            env: {
                ...process.env,
                PATH: `${bin}:${process.env.PATH}`,
                ETCD_AWS_ROOT: root,
                CLUSTER_NAME: "orders",
                LOCAL_ENDPOINT: ENDPOINTS[0],
                PEER_ENDPOINTS: ENDPOINTS.slice(1).join(","),
                DATA_DIR: "/var/lib/etcd/data",
                TARGET_VERSION: target,
                SNAPSHOT_DIR: "/var/lib/etcd/pre-change-snapshots",
                KEEP_SNAPSHOTS: "3",
                DOWNGRADE_WAIT_SECONDS: "2",
                BACKUP_COMMAND: "",
                CHANGE: "members orders-0,orders-1,orders-2; etcd " + target,
                CA_FILE: "",
                CLIENT_CERT_FILE: "",
                CLIENT_KEY_FILE: "",
            },
        });
        const snapshotDir = path.join(root, "var/lib/etcd/pre-change-snapshots");
        return {
            status: result.status,
            stderr: result.stderr,
            calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [],
            snapshots: fs.existsSync(snapshotDir) ? fs.readdirSync(snapshotDir) : [],
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const downgradeCalls = (calls: string[]) => calls.filter((call) => call.startsWith("etcdctl downgrade"));

describe("host/etcd-aws-prepare-change.sh", () => {
    it("no member answers and no etcd data here: a cluster not formed yet, nothing saved, success", () => {
        const run = runPrepare("3.6.16", { healthy: false, before: "[]" });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stderr, /the cluster has not formed yet, nothing to save/);
        assert.deepEqual(run.snapshots, []);
    });

    it("no member answers but this member has data: refuses to change a cluster that is down", () => {
        const run = runPrepare("3.6.16", { healthy: false, before: "[]", data: true });
        assert.equal(run.status, 1);
        assert.match(run.stderr, /refusing to change a cluster that is down/);
    });

    it("a patch change: a checked snapshot named by its time and revision, no downgrade call", () => {
        const run = runPrepare("3.7.3", { healthy: true, before: status("3.7.1", "3.7.0"), data: true });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.snapshots.length, 1);
        assert.match(run.snapshots[0] ?? "", /^\d{8}T\d{6}Z-rev42\.db$/);
        assert.deepEqual(downgradeCalls(run.calls), []);
    });

    it("no room on the data volume for the snapshot and a defrag's copy: fails before any downgrade call", () => {
        const huge = status("3.7.3", "3.7.0", undefined, 2 ** 50);
        const run = runPrepare("3.6.16", { healthy: true, before: huge, data: true });
        assert.equal(run.status, 1);
        assert.match(run.stderr, /bytes free: a snapshot of the \d+-byte database needs/);
        assert.deepEqual(downgradeCalls(run.calls), []);
        assert.equal(run.calls.filter((call) => call.startsWith("etcdctl snapshot save")).length, 0);
    });

    it("3.7 -> 3.6: snapshot, downgrade validate and enable 3.6, then success once every storage version is 3.6", () => {
        const run = runPrepare("3.6.16", {
            healthy: true,
            before: status("3.7.3", "3.7.0"),
            after: status("3.7.3", "3.6.0", "3.6.0"),
            data: true,
        });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.snapshots.length, 1);
        assert.deepEqual(downgradeCalls(run.calls), ["etcdctl downgrade validate 3.6", "etcdctl downgrade enable 3.6"]);
        assert.match(run.stderr, /every member's storage version is 3\.6/);
    });

    it("3.7 -> 3.6 whose storage version does not get there in time: cancelled, and the step fails", () => {
        const run = runPrepare("3.6.16", { healthy: true, before: status("3.7.3", "3.7.0"), data: true });
        assert.equal(run.status, 1);
        assert.deepEqual(downgradeCalls(run.calls), [
            "etcdctl downgrade validate 3.6",
            "etcdctl downgrade enable 3.6",
            "etcdctl downgrade cancel",
        ]);
        assert.match(run.stderr, /storage version is not 3\.6 yet: http:\/\/10\.0\.1\.10:2379 3\.7\.0/);
    });

    it("a downgrade enabled earlier (a retried deployment): not enabled again, only waited for", () => {
        const enabled = status("3.7.3", "3.6.0", "3.6.0");
        const run = runPrepare("3.6.16", { healthy: true, before: enabled, data: true });
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(downgradeCalls(run.calls), []);
    });

    it("the user went back to 3.7 while the downgrade is enabled: it is cancelled", () => {
        const enabled = status("3.7.3", "3.6.0", "3.6.0");
        const run = runPrepare("3.7.3", { healthy: true, before: enabled, data: true });
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(downgradeCalls(run.calls), ["etcdctl downgrade cancel"]);
    });
});
