import * as assert from "node:assert/strict";
import {
    clientEndpoints,
    clientUrl,
    HOST_PATHS,
    memberCertificateSans,
    memberName,
    peerUrl,
    PKI_FILES,
} from "../../core";
import { advertisedHost, memberHostName } from "../../core/model";
import { specOf } from "./helpers";
import { at } from "../helpers/elements";

describe("core/model", () => {
    it("member names are <cluster>-<index> and host names <member>.<domain>", () => {
        assert.equal(memberName("orders", 2), "orders-2");
        assert.equal(
            memberHostName({ domain: "etcd.prod.internal" }, { name: "orders-2" }),
            "orders-2.etcd.prod.internal",
        );
    });

    it("static and discovery advertise the member IP; dns advertises the member's DNS name", () => {
        const member = { name: "orders-0", address: "10.0.1.10" };
        assert.equal(advertisedHost({ mode: "static", domain: "d.internal" }, member), "10.0.1.10");
        assert.equal(advertisedHost({ mode: "discovery", domain: "d.internal" }, member), "10.0.1.10");
        assert.equal(advertisedHost({ mode: "dns", domain: "d.internal" }, member), "orders-0.d.internal");
    });

    it("peer and client URLs use the scheme of the TLS setting and the cluster's ports", () => {
        const tls = specOf({ peerPort: 12380, clientPort: 12379 });
        assert.equal(peerUrl(tls, at(tls.members, 1)), "https://10.0.2.10:12380");
        assert.equal(clientUrl(tls, at(tls.members, 1)), "https://10.0.2.10:12379");
        const plain = specOf({ tls: false, bootstrapMode: "dns" });
        assert.equal(peerUrl(plain, at(plain.members, 0)), "http://orders-0.orders.etcd.internal:2380");
        assert.deepEqual(clientEndpoints(plain), [
            "http://orders-0.orders.etcd.internal:2379",
            "http://orders-1.orders.etcd.internal:2379",
            "http://orders-2.orders.etcd.internal:2379",
        ]);
    });

    it("host paths: data on the mounted volume, keys under /etc/etcd/pki", () => {
        assert.equal(HOST_PATHS.dataDir, "/var/lib/etcd/data");
        assert.ok(HOST_PATHS.dataDir.startsWith(`${HOST_PATHS.dataMount}/`));
        assert.equal(HOST_PATHS.envFile, "/etc/etcd/etcd.env");
        for (const file of Object.values(PKI_FILES)) {
            assert.ok(file.startsWith("/etc/etcd/pki/"), file);
        }
    });
});

describe("memberCertificateSans", () => {
    it("names the member's host name, localhost, its IP and 127.0.0.1; DNS mode adds the SRV domain", () => {
        const member = { name: "orders-1", address: "10.0.2.10" };
        assert.deepEqual(memberCertificateSans({ mode: "static", domain: "etcd.internal" }, member), {
            dnsNames: ["orders-1.etcd.internal", "localhost"],
            ipAddresses: ["10.0.2.10", "127.0.0.1"],
        });
        assert.deepEqual(memberCertificateSans({ mode: "dns", domain: "etcd.internal" }, member).dnsNames, [
            "orders-1.etcd.internal",
            "localhost",
            "etcd.internal",
        ]);
    });
});
