// host/lib/etcd_json.py's answers for the backup scripts, run directly: snapshot status, IMDS
// credentials, and S3's XML (errors, and the expired backups of a ListObjectsV2 page).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const HELPER = path.resolve(__dirname, "../../host/lib/etcd_json.py");

function etcdJson(args: string[], input: string): { status: number | null; stdout: string } {
    const result = spawnSync("python3", [HELPER, ...args], { input, encoding: "utf8" });
    return { status: result.status, stdout: result.stdout };
}

const PAGE = (truncated: boolean, keys: string[]) =>
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<IsTruncated>${truncated}</IsTruncated>${truncated ? "<NextContinuationToken>1/a+b=</NextContinuationToken>" : ""}` +
    keys.map((key) => `<Contents><Key>${key}</Key><Size>1</Size></Contents>`).join("") +
    `</ListBucketResult>`;

describe("host/lib/etcd_json.py for the backup scripts", () => {
    it("snapshot-status prints hash, revision, total keys and size of etcdutl's (and etcdctl 3.4's) JSON", () => {
        const answer = '{"hash":3294367315,"revision":204,"totalKey":214,"totalSize":45056,"version":"3.6.0"}';
        assert.equal(etcdJson(["snapshot-status"], answer).stdout, "3294367315 204 214 45056\n");
    });

    it("imds-credentials prints access key, secret key and session token, one a line", () => {
        const answer =
            '{"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"s/e+c","Token":"tok","Expiration":"x"}';
        assert.equal(etcdJson(["imds-credentials"], answer).stdout, "ASIA1\ns/e+c\ntok\n");
    });

    it("s3-error prints S3's code and message", () => {
        const answer = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert.equal(etcdJson(["s3-error"], answer).stdout, "AccessDenied: Access Denied\n");
    });

    it("s3-expired lists only the prefix's backups named before the cutoff, after the URL-encoded continuation token", () => {
        const keys = [
            "p/c/20261101T000000Z-rev5.db",
            "p/c/20261201T235959Z-rev9.db",
            "p/c/20261202T000000Z-rev10.db",
            "p/c/notes-20200101T000000Z.db",
            "p/c/20200101T000000Z-rev1.db.tmp",
            "p/c/sub/20200101T000000Z-rev1.db",
        ];
        assert.equal(
            etcdJson(["s3-expired", "p/c/", "20261202T000000Z"], PAGE(true, keys)).stdout,
            "1%2Fa%2Bb%3D\np/c/20261101T000000Z-rev5.db\np/c/20261201T235959Z-rev9.db\n",
        );
        assert.equal(etcdJson(["s3-expired", "p/c/", "20261202T000000Z"], PAGE(false, [])).stdout, "-\n");
    });

    it("s3-expired fails (status 3) on an answer that is not XML", () => {
        assert.equal(etcdJson(["s3-expired", "p/c/", "20261202T000000Z"], "not xml").status, 3);
    });
});
