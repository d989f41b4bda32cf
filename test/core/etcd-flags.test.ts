import * as assert from "node:assert/strict";
import { ETCD_FLAGS } from "../../core/etcd-flags";
import { EtcdLine, parseEtcdVersion, renderMemberFlags } from "../../core";
import { ACCEPTED, COMBINATIONS, REFERENCE_VERSIONS, referenceFlags, refused, specOf } from "./helpers";

function lineOf(version: string): EtcdLine {
    const parsed = parseEtcdVersion(version);
    assert.ok(parsed, `${version} parses`);
    return parsed.line;
}

describe("core/etcd-flags", () => {
    describe("embedded flag tables", () => {
        for (const version of REFERENCE_VERSIONS) {
            it(`the ${lineOf(version)} table lists exactly the flags of the vendored flag table v${version}.txt`, () => {
                const embedded = [...ETCD_FLAGS[lineOf(version)]].sort();
                const reference = [...referenceFlags(version)].sort();
                assert.deepEqual(embedded, reference);
            });
        }

        it("has one table per supported line and no other", () => {
            assert.deepEqual(Object.keys(ETCD_FLAGS).sort(), ["3.4", "3.5", "3.6", "3.7"]);
        });
    });

    describe("rendered flags exist in the target release (read from the vendored flag tables)", () => {
        for (const combination of COMBINATIONS) {
            const { refusal, settings, version, label } = combination;
            if (refusal) {
                it(`${label}: refused by validateSettings (${refusal.setting} = ${JSON.stringify(refusal.value)})`, () => {
                    assert.deepEqual(
                        refused(settings).problems.map((p) => [p.setting, p.value]),
                        [[refusal.setting, refusal.value]],
                    );
                });
                continue;
            }
            it(`${label}: every flag of every member is registered by etcd ${version}`, () => {
                const known = referenceFlags(version);
                const spec = specOf(settings);
                for (const member of spec.members) {
                    const names = renderMemberFlags(spec, member).map((flag) => flag.name);
                    assert.deepEqual(
                        names.filter((name) => !known.has(name)),
                        [],
                        `${member.name} would start with flags etcd ${version} does not register`,
                    );
                }
            });
        }

        it("covers all 60 combinations: 50 accepted, 10 refused (dns without tls on 3.4, v3 on 3.4/3.5, v2 on 3.7)", () => {
            assert.equal(COMBINATIONS.length, 60);
            assert.equal(ACCEPTED.length, 50);
        });
    });
});
