import * as assert from "node:assert/strict";
import { containsUnknown, diffByTable, DiffRule, typeOfUrn, UNKNOWN } from "../../localcloud/providers/server";

const TABLE: DiffRule[] = [
    { property: "size", change: "replace", source: "test" },
    { property: "tags", change: "update", source: "test" },
];

describe("localcloud/providers/server diffByTable", () => {
    it("reports no diff when the inputs are equal, whatever the key order of nested objects", () => {
        assert.deepEqual(
            diffByTable(TABLE, { size: 1, tags: { a: "1", b: "2" } }, { tags: { b: "2", a: "1" }, size: 1 }),
            {
                diffs: [],
                replaces: [],
            },
        );
    });

    it("replaces for a replace row and updates for an update row, in one diff", () => {
        assert.deepEqual(diffByTable(TABLE, { size: 1, tags: {} }, { size: 2, tags: { a: "1" } }), {
            diffs: ["size", "tags"],
            replaces: ["size"],
        });
    });

    it("updates in place for an input without a row, added or removed", () => {
        assert.deepEqual(diffByTable(TABLE, { note: "x" }, { other: "y" }), { diffs: ["note", "other"], replaces: [] });
    });

    it("nested fields: a list of objects is a set, reordering it updates, a change of a field replaces", () => {
        const table: DiffRule[] = [{ property: "disks", change: "replace", source: "test", fields: ["size"] }];
        const olds = { disks: [{ size: 1, tag: "a" }, { size: 2 }] };
        assert.deepEqual(diffByTable(table, olds, { disks: [{ size: 2 }, { size: 1, tag: "b" }] }), {
            diffs: ["disks"],
            replaces: [],
        });
        assert.deepEqual(diffByTable(table, olds, { disks: [{ size: 3 }, { size: 1 }] }).replaces, ["disks"]);
    });

    it("treats a value unknown at preview (even nested) as changed", () => {
        assert.equal(containsUnknown({ list: [UNKNOWN] }), true);
        assert.deepEqual(diffByTable(TABLE, { size: 1 }, { size: UNKNOWN }), { diffs: ["size"], replaces: ["size"] });
    });
});

describe("localcloud/providers/server typeOfUrn", () => {
    it("takes the resource's own type from a child's URN, whose type chain carries its parents", () => {
        const urn = "urn:pulumi:dev::etcd::etcd-aws:index:EtcdPki$tls:index/privateKey:PrivateKey::ca-key";
        assert.equal(typeOfUrn(urn), "tls:index/privateKey:PrivateKey");
    });
});
