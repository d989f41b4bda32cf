// core/scripts/health-gate.ts: the rendered health gate against a stand-in etcdctl, for what an
// alarm does to it (its waits for members are tested in test/core/launch.test.ts, and on real
// etcd in test/real/host-scripts.test.ts and test/real/maintenance.test.ts).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { clientUrl, peerUrl, renderHealthGateScript } from "../../../core";
import { RECOVER_SPACE_COMMAND } from "../../../core/scripts/defrag";
import { at } from "../../helpers/elements";
import { fakeBin, runBash, shellcheck, specOf, tempDir } from "../helpers";

describe("core/scripts/health-gate: alarms", () => {
    const spec = specOf({});
    // Decimal IDs as etcdctl prints them (beyond a double's 53 bits).
    const ids = ["18249187646912138824", "10501334649042878790", "237209555141851402"];
    const dir = tempDir("gate");
    const listFile = path.join(dir, "members.json");
    fs.writeFileSync(
        listFile,
        JSON.stringify({
            members: spec.members.map((member, i) => ({
                ID: "@ID" + i,
                name: member.name,
                peerURLs: [peerUrl(spec, member)],
                clientURLs: [clientUrl(spec, member)],
            })),
        }).replace(/"@ID(\d)"/g, (_, i: string) => at(ids, Number(i))),
    );
    const bin = fakeBin({
        etcdctl: [
            'case "$*" in',
            `*"member list -w json"*) cat ${listFile} ;;`,
            '*"alarm list -w json"*) echo "$FAKE_ALARMS" ;;',
            '*"endpoint health"*) exit "${FAKE_HEALTH:-0}" ;;',
            '*"endpoint status"*) echo "(status table)" ;;',
            "*) ;;",
            "esac",
        ].join("\n"),
        journalctl: "exit 0",
    });
    const gate = renderHealthGateScript(spec, { timeoutSeconds: 30 });
    const run = (alarms: string, health = 0) => {
        const started = Date.now();
        const result = runBash(gate, { FAKE_ALARMS: alarms, FAKE_HEALTH: String(health) }, bin);
        return { ...result, seconds: (Date.now() - started) / 1000 };
    };

    it("is shellcheck-clean and carries the space recovery's command", () => {
        assert.equal(shellcheck(gate), "");
        assert.ok(gate.includes(`RECOVER_SPACE_COMMAND='${RECOVER_SPACE_COMMAND}'`));
    });

    it("passes when no alarm is raised", () => {
        const result = run('{"header":{"revision":5}}');
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /all 3 members of the spec are healthy/);
    });

    it("NOSPACE fails it at once (health checks failing too, as 3.5 and later do), naming the member and the recovery command", () => {
        const result = run(`{"alarms":[{"memberID":${at(ids, 1)},"alarm":1}]}`, 1);
        assert.equal(result.status, 1);
        assert.ok(result.seconds < 10, `${result.seconds} s: it waited for the timeout`);
        assert.ok(
            result.stderr.includes(
                `NOSPACE alarm raised on member ${at(spec.members, 1).name} (91bc3c398fb3c146): its database reached the backend quota`,
            ),
            result.stderr,
        );
        assert.ok(result.stderr.includes(`on any member run: ${RECOVER_SPACE_COMMAND}`), result.stderr);
        assert.match(result.stdout + result.stderr, /\(status table\)/);
        assert.doesNotMatch(result.stderr, /did not become healthy/);
    });

    it("CORRUPT (and NOSPACE on another member) are each named with their member; CORRUPT's recovery is replacing the member", () => {
        const result = run(
            `{"alarms":[{"memberID":${at(ids, 0)},"alarm":2},{"memberID":${at(ids, 2)},"alarm":"NOSPACE"}]}`,
        );
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            new RegExp(
                `CORRUPT alarm raised on member ${at(spec.members, 0).name} \\(fd422379fda50e48\\): .*replace that member`,
            ),
        );
        assert.match(
            result.stderr,
            new RegExp(`NOSPACE alarm raised on member ${at(spec.members, 2).name} \\(34abcd5678ef90a\\)`),
        );
    });
});
