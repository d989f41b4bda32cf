import * as assert from "node:assert/strict";
import { checkCidr, isDnsName, isIpv4, isLoopback, isWorldOpen } from "../../core/net";

describe("core/net", () => {
    it("isIpv4 accepts dotted quads up to 255 without leading zeros", () => {
        assert.deepEqual(
            [
                "10.0.1.10",
                "0.0.0.0",
                "255.255.255.255",
                "256.0.0.1",
                "10.0.1",
                "10.0.01.1",
                "a.b.c.d",
                "10.0.1.10 ",
            ].map(isIpv4),
            [true, true, true, false, false, false, false, false],
        );
    });

    it("isLoopback is true for 127.0.0.0/8 only", () => {
        assert.deepEqual(
            ["127.0.0.1", "127.0.1.10", "127.255.255.255", "10.0.1.10", "128.0.0.1", "127.0.0", "localhost"].map(
                isLoopback,
            ),
            [true, true, true, false, false, false, false],
        );
    });

    it("checkCidr accepts networks with zero host bits", () => {
        for (const cidr of ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "203.0.113.7/32", "0.0.0.0/0"]) {
            assert.deepEqual(checkCidr(cidr), { ok: true }, cidr);
        }
    });

    it("checkCidr names the network when host bits are set", () => {
        assert.deepEqual(checkCidr("10.1.2.3/16"), {
            ok: false,
            reason: "has host bits set; the network is 10.1.0.0/16",
        });
        assert.deepEqual(checkCidr("192.168.1.130/25"), {
            ok: false,
            reason: "has host bits set; the network is 192.168.1.128/25",
        });
        assert.deepEqual(checkCidr("1.2.3.4/0"), { ok: false, reason: "has host bits set; the network is 0.0.0.0/0" });
    });

    it("checkCidr refuses malformed CIDRs", () => {
        for (const cidr of ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "fd00::/8", "10.0.0.0/8/8", "x/8"]) {
            assert.deepEqual(checkCidr(cidr), { ok: false, reason: "is not an IPv4 CIDR like 10.0.0.0/16" }, cidr);
        }
    });

    it("isWorldOpen is true for a /0", () => {
        assert.equal(isWorldOpen("0.0.0.0/0"), true);
        assert.equal(isWorldOpen("10.0.0.0/8"), false);
    });

    it("isDnsName accepts lowercase labels with inner hyphens, at most 63 per label", () => {
        assert.deepEqual(
            [
                "orders.etcd.internal",
                "a-b.c1",
                "a",
                `${"a".repeat(63)}.x`,
                `${"a".repeat(64)}.x`,
                "Orders.internal",
                "-a.b",
                "a-.b",
                "a..b",
                "a.b.",
                "",
                "a_b.c",
            ].map(isDnsName),
            [true, true, true, true, false, false, false, false, false, false, false, false],
        );
    });
});
