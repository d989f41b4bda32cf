// core/scripts/backup.ts: the settings the backup and restore scripts are rendered with, their
// checks, and the systemd units (the scripts themselves run in test/real/backup.test.ts).
import * as assert from "node:assert/strict";
import {
    BACKUP_DEFAULTS,
    BACKUP_PATHS,
    renderBackupScript,
    renderBackupUnits,
    renderRestoreScript,
} from "../../../core";
import { backupHostFiles, BACKUP_TIMER_UNIT } from "../../../core/scripts/backup";
import { afterHeader, shellcheck, specOf } from "../helpers";

/** The settings block of a rendered bundle, as NAME -> value (single-quoted by the renderer). */
function settingsOf(script: string): Record<string, string> {
    return Object.fromEntries(
        [...script.matchAll(/^([A-Z_0-9]+)='((?:[^']|'\\'')*)'$/gm)].map((m) => [m[1], m[2]?.replace(/'\\''/g, "'")]),
    );
}

const SETTINGS = { bucket: "orders-backups", region: "eu-west-1", credentials: "imds" } as const;

describe("core/scripts/backup", () => {
    const spec = specOf({});
    const member = spec.members[0]!;

    it("renders a shellcheck-clean backup script with the defaults: hourly, 7 days, AWS's regional endpoint, IMDS at EC2's address", () => {
        const script = renderBackupScript(spec, member, SETTINGS);
        assert.equal(afterHeader(script)[0], "set -euo pipefail");
        assert.equal(shellcheck(script), "");
        const settings = settingsOf(script);
        assert.equal(settings.S3_ENDPOINT, "https://s3.eu-west-1.amazonaws.com");
        assert.equal(settings.S3_BUCKET, "orders-backups");
        assert.equal(settings.S3_PREFIX, BACKUP_DEFAULTS.prefix);
        assert.equal(settings.CLUSTER_NAME, spec.clusterName);
        assert.equal(settings.INTERVAL_SECONDS, "3600");
        assert.equal(settings.RETENTION_SECONDS, String(7 * 24 * 3600));
        assert.equal(settings.CREDENTIALS, "imds");
        assert.equal(settings.IMDS_URL, "http://169.254.169.254");
        assert.equal(settings.BACKUP_DIR, BACKUP_PATHS.scratchDir);
        assert.equal(settings.MEMORY_DIR, "/dev/shm");
        // The backup lock is not the membership lock, and the slot key is not under it.
        assert.notEqual(settings.LOCK_KEY, "etcd-aws/membership");
        assert.ok(!settings.SLOT_KEY?.startsWith(`${settings.LOCK_KEY}/`));
    });

    it("renders the S3 endpoint's CA when given (none by default) and refuses what is not one PEM certificate", () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
        assert.equal(settingsOf(renderBackupScript(spec, member, SETTINGS)).S3_CA_PEM, "");
        const rendered = renderBackupScript(spec, member, { ...SETTINGS, s3CaPem: pem });
        assert.ok(rendered.includes(`S3_CA_PEM='${pem}'`));
        assert.equal(shellcheck(rendered), "");
        assert.throws(
            () => renderBackupScript(spec, member, { ...SETTINGS, s3CaPem: "not a certificate" }),
            /s3CaPem is not one PEM certificate/,
        );
    });

    it("environment credentials render no metadata service address", () => {
        const settings = settingsOf(renderBackupScript(spec, member, { ...SETTINGS, credentials: "environment" }));
        assert.equal(settings.CREDENTIALS, "environment");
        assert.equal(settings.IMDS_URL, "");
    });

    it("renders the IMDS endpoint asked (the local cloud's stand-in) and the local cloud's region; refuses an IMDS endpoint that is not http:// and a host", () => {
        assert.equal(
            settingsOf(renderBackupScript(spec, member, { ...SETTINGS, region: "local-1" })).S3_REGION,
            "local-1",
        );
        const settings = settingsOf(
            renderBackupScript(spec, member, { ...SETTINGS, imdsEndpoint: "http://127.0.19.254" }),
        );
        assert.equal(settings.IMDS_URL, "http://127.0.19.254");
        assert.throws(
            () => renderBackupScript(spec, member, { ...SETTINGS, imdsEndpoint: "https://169.254.169.254/latest" }),
            /imdsEndpoint "https:\/\/169.254.169.254\/latest" is not http:\/\/ and a host/,
        );
    });

    it("refuses a bad bucket, region, endpoint or prefix, an interval under a minute and a retention shorter than the interval, naming each", () => {
        assert.throws(
            () =>
                renderBackupScript(spec, member, {
                    ...SETTINGS,
                    bucket: "Orders_Backups",
                    region: "europe",
                    endpoint: "s3.example.com/path",
                    prefix: "/a b",
                    intervalSeconds: 30,
                    retentionSeconds: 10,
                }),
            (error: Error) =>
                ["bucket", "region", "endpoint", "prefix", "intervalSeconds", "retentionSeconds"].every((word) =>
                    error.message.includes(word),
                ),
        );
    });

    it("renders a restore script with the member's name and peer URL, the cluster's initial cluster and the new token; refuses the running cluster's token", () => {
        const script = renderRestoreScript(spec, member, SETTINGS, "orders-restored-1");
        assert.equal(shellcheck(script), "");
        const settings = settingsOf(script);
        assert.equal(settings.MEMBER_NAME, member.name);
        assert.equal(settings.CLUSTER_TOKEN, "orders-restored-1");
        assert.equal(settings.INITIAL_CLUSTER?.split(",").length, spec.members.length);
        assert.ok(settings.INITIAL_CLUSTER?.includes(`${member.name}=${settings.PEER_URL}`));
        assert.equal(settings.BUMP_REVISION, "1000000000");
        assert.throws(() => renderRestoreScript(spec, member, SETTINGS, spec.clusterToken), /must be new/);
    });

    it("renders a oneshot service after etcd and a timer every interval", () => {
        const units = renderBackupUnits({ ...SETTINGS, intervalSeconds: 900 });
        assert.match(units.service, /^Type=oneshot$/m);
        assert.match(units.service, new RegExp(`^ExecStart=${BACKUP_PATHS.backupScript}$`, "m"));
        assert.match(units.service, /^After=etcd\.service$/m);
        assert.match(units.timer, /^OnUnitActiveSec=900s$/m);
        assert.match(units.timer, /^RandomizedDelaySec=90s$/m);
        assert.match(units.timer, /^WantedBy=timers\.target$/m);
    });

    it("gives a member its backup files: the script (0755), its service and its timer, root's, at the host contract's paths", () => {
        const files = backupHostFiles(spec, member, SETTINGS);
        assert.deepEqual(
            files.map((f) => [f.path, f.mode, f.owner]),
            [
                [BACKUP_PATHS.backupScript, "0755", "root:root"],
                [BACKUP_PATHS.serviceFile, "0644", "root:root"],
                [BACKUP_PATHS.timerFile, "0644", "root:root"],
            ],
        );
        assert.equal(files[0]?.content, renderBackupScript(spec, member, SETTINGS));
        assert.equal(files[2]?.content, renderBackupUnits(SETTINGS).timer);
        assert.equal(BACKUP_PATHS.timerFile.endsWith(`/${BACKUP_TIMER_UNIT}`), true);
    });
});
