import * as assert from "node:assert/strict";
import {
    describeRiskyShape,
    PRE_CHANGE_SNAPSHOT_DIR,
    renderPrepareChangeScript,
    RiskyShape,
} from "../../../core/scripts/prepare-change";
import { diskCheckOf, DISK_NOT_MEASURED } from "../../../core/deployment";
import { specOf } from "../helpers";

const SHAPE: RiskyShape = {
    memberNames: ["orders-0", "orders-1", "orders-2"],
    etcdVersion: "3.6.16",
    instanceType: "t3.medium",
    amiId: "",
    volume: "20 GiB gp3",
    configurationDigest: "0123456789abcdef0123456789abcdef",
};

function setting(script: string, name: string): string | undefined {
    return new RegExp(`^${name}='(.*)'$`, "m").exec(script)?.[1];
}

describe("core/scripts/prepare-change", () => {
    it("runs on the first member: its own endpoint first, the others' after, the spec's release as the target", () => {
        const script = renderPrepareChangeScript(specOf({ etcdVersion: "3.6.16" }), { shape: SHAPE });
        assert.equal(setting(script, "LOCAL_ENDPOINT"), "https://10.0.1.10:2379");
        assert.equal(setting(script, "PEER_ENDPOINTS"), "https://10.0.2.10:2379,https://10.0.3.10:2379");
        assert.equal(setting(script, "TARGET_VERSION"), "3.6.16");
        assert.equal(setting(script, "CA_FILE"), "/etc/etcd/pki/ca.crt");
        assert.equal(setting(script, "DATA_DIR"), "/var/lib/etcd/data");
    });

    it("keeps the newest 3 snapshots on the data volume; uploads only with a backup command", () => {
        const local = renderPrepareChangeScript(specOf({}), { shape: SHAPE });
        assert.equal(setting(local, "SNAPSHOT_DIR"), PRE_CHANGE_SNAPSHOT_DIR);
        assert.ok(PRE_CHANGE_SNAPSHOT_DIR.startsWith("/var/lib/etcd/"), "on the data volume's mount");
        assert.equal(setting(local, "KEEP_SNAPSHOTS"), "3");
        assert.equal(setting(local, "BACKUP_COMMAND"), "");
        const uploaded = renderPrepareChangeScript(specOf({}), {
            shape: SHAPE,
            backupCommand: "/usr/local/sbin/etcd-aws-backup",
        });
        assert.equal(setting(uploaded, "BACKUP_COMMAND"), "/usr/local/sbin/etcd-aws-backup");
    });

    it("states what the change is: members, release, instance type, AMI, volume and configuration digest", () => {
        assert.equal(
            describeRiskyShape(SHAPE),
            "members orders-0,orders-1,orders-2; etcd 3.6.16; instance type t3.medium; AMI as created (looked up); data volume 20 GiB gp3; configuration 0123456789abcdef",
        );
        const script = renderPrepareChangeScript(specOf({}), { shape: { ...SHAPE, amiId: "ami-1" } });
        assert.match(setting(script, "CHANGE") ?? "", /; AMI ami-1; /);
    });

    it("plain TLS-less clusters get empty TLS settings; etcd_json and the S3 library (snapshot tool) come along", () => {
        const script = renderPrepareChangeScript(specOf({ tls: false }), { shape: SHAPE });
        assert.equal(setting(script, "CA_FILE"), "");
        assert.equal(setting(script, "LOCAL_ENDPOINT"), "http://10.0.1.10:2379");
        assert.match(script, /^ETCD_JSON_PY=/m);
        assert.match(script, /^snapshot_tool\(\) \{$/m);
    });

    it("diskCheckOf: the install's disk check line, or not measured", () => {
        const line = "etcd-aws disk check: fsync p99 3.2 ms over 120 writes (etcd asks <= 10 ms): ok";
        assert.equal(diskCheckOf(`installing\n${line}\nlinked /usr/local/bin/etcd\n`), line);
        assert.equal(diskCheckOf("installing\n"), DISK_NOT_MEASURED);
        assert.equal(diskCheckOf(undefined), "not measured");
    });
});
