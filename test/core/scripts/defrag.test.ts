// core/scripts/defrag.ts: the defrag and space recovery scripts' settings, their thresholds, the
// systemd units and the files a launch installs (the scripts themselves run in
// test/real/maintenance.test.ts).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import {
    DEFRAG_DEFAULTS,
    DEFRAG_PATHS,
    DEFRAG_TIMER,
    defragUnitFiles,
    RECOVER_SPACE_CHECK_KEY,
    RECOVER_SPACE_COMMAND,
    renderDefragScript,
    renderDefragUnits,
    renderRecoverSpaceScript,
} from "../../../core/scripts/defrag";
import { at } from "../../helpers/elements";
import { afterHeader, bundleSettings, shellcheck, specOf, systemdVerify } from "../helpers";

const GIB = 1024 ** 3;

describe("core/scripts/defrag", () => {
    const spec = specOf({ volumeSizeGiB: 10 });
    const member = at(spec.members, 1);

    it("renders a shellcheck-clean defrag script: the membership lock, this member's endpoints, a tenth of the quota and a fifth of the file as thresholds", () => {
        const script = renderDefragScript(spec, member);
        assert.equal(afterHeader(script)[0], "set -euo pipefail");
        assert.equal(shellcheck(script), "");
        const settings = bundleSettings(script);
        assert.equal(settings.MEMBER_NAME, member.name);
        assert.equal(settings.LOCK_KEY, "etcd-aws/membership");
        assert.equal(settings.LOCAL_ENDPOINT, `https://${member.address}:2379`);
        assert.equal(settings.PEER_ENDPOINTS?.split(",").length, spec.members.length - 1);
        // A 10 GiB volume: a 4.5 GiB quota, so 0.45 GiB of waste makes a defrag worth it.
        assert.equal(spec.maintenance.quotaBackendBytes, 4.5 * GIB);
        assert.equal(settings.MIN_WASTED_BYTES, String(Math.floor(0.45 * GIB)));
        assert.equal(settings.MIN_WASTED_FRACTION, String(DEFRAG_DEFAULTS.minWastedFraction));
        assert.equal(settings.RECOVER_SPACE_COMMAND, "sudo /usr/local/sbin/etcd-aws-recover-space");
        assert.match(script, /^# ---- host\/lib\/membership\.sh$/m);
        assert.match(script, /^# ---- host\/lib\/defrag\.sh$/m);
    });

    it("takes explicit thresholds and refuses a negative or fractional byte count and a fraction outside 0..1, naming each", () => {
        const settings = bundleSettings(
            renderDefragScript(spec, member, { minWastedBytes: 1024, minWastedFraction: 0.5 }),
        );
        assert.equal(settings.MIN_WASTED_BYTES, "1024");
        assert.equal(settings.MIN_WASTED_FRACTION, "0.5");
        assert.throws(
            () => renderDefragScript(spec, member, { minWastedBytes: -1.5, minWastedFraction: 2 }),
            /minWastedBytes -1\.5 is not a whole number of bytes; minWastedFraction 2 is not between 0 and 1/,
        );
    });

    it("renders a shellcheck-clean recovery script that says how to run it, without the lock key (NOSPACE refuses the lock's lease)", () => {
        const script = renderRecoverSpaceScript(spec, member);
        assert.equal(shellcheck(script), "");
        assert.ok(script.split("\n").includes(`# Usage: ${RECOVER_SPACE_COMMAND}`));
        const settings = bundleSettings(script);
        assert.equal(settings.CHECK_KEY, RECOVER_SPACE_CHECK_KEY);
        assert.ok(!RECOVER_SPACE_CHECK_KEY.startsWith("etcd-aws/membership"));
        assert.equal(settings.LOCK_KEY, undefined);
        assert.equal(settings.DEFRAG_TIMEOUT_SECONDS, "600");
    });

    it("both scripts carry the member's client certificate with TLS, and none without", () => {
        const settings = bundleSettings(renderRecoverSpaceScript(spec, member));
        assert.equal(settings.CA_FILE, "/etc/etcd/pki/ca.crt");
        assert.equal(settings.CLIENT_CERT_FILE, "/etc/etcd/pki/client.crt");
        const plain = specOf({ tls: false });
        const without = bundleSettings(renderDefragScript(plain, at(plain.members, 0)));
        assert.equal(without.CA_FILE, "");
        assert.match(without.LOCAL_ENDPOINT ?? "", /^http:/);
    });

    it("renders a oneshot service after etcd and an hourly timer, both passing systemd-analyze verify", () => {
        const { service, timer } = renderDefragUnits();
        assert.match(service, /^Type=oneshot$/m);
        assert.match(service, new RegExp(`^ExecStart=${DEFRAG_PATHS.defragScript}$`, "m"));
        assert.match(service, /^Requires=etcd\.service$/m);
        assert.match(timer, /^OnUnitActiveSec=3600s$/m);
        assert.match(timer, /^RandomizedDelaySec=300s$/m);
        assert.match(timer, /^WantedBy=timers\.target$/m);
        const existing = ["/usr/bin/true", "/bin/true"].find((file) => fs.existsSync(file));
        assert.ok(existing, "a true binary exists");
        const dir = "etcd-aws-defrag";
        assert.equal(systemdVerify(`${dir}.service`, service.replace(DEFRAG_PATHS.defragScript, existing)), "");
        assert.equal(DEFRAG_TIMER, `${dir}.timer`);
    });

    it("defragUnitFiles: both scripts (root's, executable) and the two units, at the host paths", () => {
        const files = defragUnitFiles(spec, member);
        assert.deepEqual(
            files.map(({ path, mode, owner }) => `${path} ${mode} ${owner}`),
            [
                "/usr/local/sbin/etcd-aws-defrag 0755 root:root",
                "/usr/local/sbin/etcd-aws-recover-space 0755 root:root",
                "/etc/systemd/system/etcd-aws-defrag.service 0644 root:root",
                "/etc/systemd/system/etcd-aws-defrag.timer 0644 root:root",
            ],
        );
        assert.equal(at(files, 0).content, renderDefragScript(spec, member));
        assert.equal(at(files, 1).content, renderRecoverSpaceScript(spec, member));
        assert.equal(at(files, 3).content, renderDefragUnits().timer);
    });
});
