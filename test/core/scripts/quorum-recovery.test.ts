// core/scripts/quorum-recovery.ts: the recovery from quorum loss on one surviving member, its settings and the
// file a launch installs (the script itself runs on real etcd in test/real/quorum-loss.test.ts).
import * as assert from "node:assert/strict";
import {
    QUORUM_RECOVERY_COMMAND,
    QUORUM_RECOVERY_PATHS,
    quorumRecoveryFiles,
    renderQuorumRecoveryScript,
} from "../../../core/scripts/quorum-recovery";
import { at } from "../../helpers/elements";
import { afterHeader, bundleSettings, runBash, shellcheck, specOf } from "../helpers";

describe("core/scripts/quorum-recovery", () => {
    const spec = specOf({});
    const member = at(spec.members, 2);

    it("renders a shellcheck-clean script that says how to run it, with this member's endpoints, the data directory and a drop-in of etcd's unit", () => {
        const script = renderQuorumRecoveryScript(spec, member);
        assert.equal(afterHeader(script)[0], "set -euo pipefail");
        assert.equal(shellcheck(script), "");
        assert.ok(script.split("\n").includes(`# Usage: ${QUORUM_RECOVERY_COMMAND}`));
        const settings = bundleSettings(script);
        assert.equal(settings.MEMBER_NAME, member.name);
        assert.equal(settings.LOCAL_ENDPOINT, `https://${member.address}:2379`);
        assert.equal(settings.PEER_ENDPOINTS?.split(",").length, spec.members.length - 1);
        assert.equal(settings.DATA_DIR, "/var/lib/etcd/data");
        assert.equal(settings.DROP_IN_FILE, "/etc/systemd/system/etcd.service.d/force-new-cluster.conf");
        assert.equal(settings.MARKER_FILE, "/var/lib/etcd/data.forced-new-cluster");
        assert.equal(settings.UNIT, "etcd.service");
        assert.equal(settings.CA_FILE, "/etc/etcd/pki/ca.crt");
        assert.match(script, /^# ---- host\/lib\/membership\.sh$/m);
    });

    it("refuses to run without --discard-other-members (exit 2), touching nothing", () => {
        for (const args of [[], ["--force"], ["--discard-other-members", "extra"]]) {
            const result = runBash(renderQuorumRecoveryScript(spec, member), {}, undefined, args);
            assert.equal(result.status, 2, `args ${JSON.stringify(args)}`);
            assert.match(result.stderr, /usage: etcd-aws-force-new-cluster --discard-other-members/);
        }
    });

    it("quorumRecoveryFiles: the script, root's and executable, at its host path", () => {
        const files = quorumRecoveryFiles(spec, member);
        assert.deepEqual(
            files.map(({ path, mode, owner }) => `${path} ${mode} ${owner}`),
            [`${QUORUM_RECOVERY_PATHS.script} 0755 root:root`],
        );
        assert.equal(at(files, 0).content, renderQuorumRecoveryScript(spec, member));
    });
});
