import * as assert from "node:assert/strict";
import { capabilitiesOf, DEFAULT_ETCD_VERSION, ETCD_LINES, parseEtcdVersion } from "../../core";

describe("core/versions", () => {
    it("parses full releases with or without a leading v, and normalises the text", () => {
        assert.deepEqual(parseEtcdVersion("3.6.14"), { text: "3.6.14", line: "3.6", patch: 14 });
        assert.deepEqual(parseEtcdVersion("v3.4.45"), { text: "3.4.45", line: "3.4", patch: 45 });
        assert.deepEqual(parseEtcdVersion(" 3.7.1 "), { text: "3.7.1", line: "3.7", patch: 1 });
    });

    it("refuses partial versions, other lines and pre-releases", () => {
        for (const text of ["3.6", "3.3.27", "3.8.0", "4.0.0", "latest", "3.6.0-rc.1", "v3.6.x", ""]) {
            assert.equal(parseEtcdVersion(text), undefined, text);
        }
    });

    it("the default is 3.6.14 and the lines are 3.4 to 3.7", () => {
        assert.equal(DEFAULT_ETCD_VERSION, "3.6.14");
        assert.deepEqual(ETCD_LINES, ["3.4", "3.5", "3.6", "3.7"]);
    });

    it("capabilities follow the etcd facts: v2 discovery up to 3.6, v3 from 3.6, plain-http SRV and etcdutl from 3.5, capnslog on 3.4", () => {
        const table = ETCD_LINES.map((line) => {
            const caps = capabilitiesOf(parseEtcdVersion(`${line}.0`)!);
            return [
                line,
                caps.v2Discovery,
                caps.v3Discovery,
                caps.plainHttpSrvBootstrap,
                caps.etcdutl,
                caps.defaultsToCapnslog,
            ];
        });
        assert.deepEqual(table, [
            ["3.4", true, false, false, false, true],
            ["3.5", true, false, true, true, false],
            ["3.6", true, true, true, true, false],
            ["3.7", false, true, true, true, false],
        ]);
    });
});
