import * as assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import {
    BYTES_DIFF,
    ID_DIFF,
    PASSWORD_DIFF,
    randomBytes,
    randomId,
    randomPassword,
    randomString,
} from "../../localcloud/providers/random";
import { itFollowsEachRow } from "./diff-table";

const URN = "urn:pulumi:dev::p::random:index/randomPassword:RandomPassword::pw";

describe("localcloud/providers/random", () => {
    describe("RandomPassword diff", () => itFollowsEachRow(randomPassword.diff, PASSWORD_DIFF));
    describe("RandomBytes diff", () => itFollowsEachRow(randomBytes.diff, BYTES_DIFF));
    describe("RandomId diff", () => itFollowsEachRow(randomId.diff, ID_DIFF));

    it("RandomPassword creates a result of the length and classes asked, its bcrypt hash and the id none", async () => {
        const inputs = { ...randomPassword.defaults, length: 32, special: false };
        const { id, outputs } = await randomPassword.create(inputs, URN);
        assert.equal(id, "none");
        const result = outputs.result as string;
        assert.match(result, /^[A-Za-z0-9]{32}$/);
        assert.equal(bcrypt.compareSync(result, outputs.bcryptHash as string), true);
        assert.equal(outputs.length, 32);
    });

    it("randomString honours the minimum counts and overrideSpecial", () => {
        const text = randomString({ length: 12, minNumeric: 4, minSpecial: 4, overrideSpecial: "#", lower: false });
        assert.equal(text.length, 12);
        assert.ok((text.match(/[0-9]/g) ?? []).length >= 4);
        assert.ok((text.match(/#/g) ?? []).length >= 4);
        assert.doesNotMatch(text, /[a-z]/);
    });

    it("RandomBytes creates base64 and hex of the same length bytes", async () => {
        const { outputs } = await randomBytes.create({ length: 16 }, URN);
        assert.equal(Buffer.from(outputs.base64 as string, "base64").toString("hex"), outputs.hex);
        assert.match(outputs.hex as string, /^[0-9a-f]{32}$/);
    });

    it("RandomId creates the id as unpadded base64url and b64Url, b64Std, hex, dec after the prefix", async () => {
        const { id, outputs } = await randomId.create({ byteLength: 8, prefix: "p-" }, URN);
        const bytes = Buffer.from(id, "base64url");
        assert.equal(bytes.length, 8);
        assert.equal(outputs.b64Url, `p-${id}`);
        assert.equal(outputs.b64Std, `p-${bytes.toString("base64")}`);
        assert.equal(outputs.hex, `p-${bytes.toString("hex")}`);
        assert.equal(outputs.dec, `p-${BigInt(`0x${bytes.toString("hex")}`).toString()}`);
    });
});
