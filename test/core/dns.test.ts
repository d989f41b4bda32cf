import * as assert from "node:assert/strict";
import { renderDnsRecords, renderMemberFlags } from "../../core";
import { DNS_TTL_SECONDS, srvServiceLabel } from "../../core/dns";
import { flagMap, specOf } from "./helpers";
import { at } from "../helpers/elements";

const A_RECORDS = [
    { name: "orders-0.orders.etcd.internal", address: "10.0.1.10" },
    { name: "orders-1.orders.etcd.internal", address: "10.0.2.10" },
    { name: "orders-2.orders.etcd.internal", address: "10.0.3.10" },
];

function targets(port: number, domain = "orders.etcd.internal"): string[] {
    return [0, 1, 2].map((i) => `0 0 ${port} orders-${i}.${domain}`);
}

describe("core/dns", () => {
    it("tls: A record per member, _etcd-server-ssl (peer port) and _etcd-client-ssl (client port) SRV sets", () => {
        assert.deepEqual(renderDnsRecords(specOf({ bootstrapMode: "dns", tls: true })), {
            a: A_RECORDS,
            srv: [
                { name: "_etcd-server-ssl._tcp.orders.etcd.internal", role: "server", records: targets(2380) },
                { name: "_etcd-client-ssl._tcp.orders.etcd.internal", role: "client", records: targets(2379) },
            ],
        });
    });

    it("no tls: _etcd-server and _etcd-client SRV sets", () => {
        assert.deepEqual(renderDnsRecords(specOf({ bootstrapMode: "dns", tls: false })).srv, [
            { name: "_etcd-server._tcp.orders.etcd.internal", role: "server", records: targets(2380) },
            { name: "_etcd-client._tcp.orders.etcd.internal", role: "client", records: targets(2379) },
        ]);
    });

    it("srvName with tls: _etcd-server-ssl-<name>._tcp.<domain> and _etcd-client-ssl-<name>._tcp.<domain>", () => {
        const records = renderDnsRecords(
            specOf({ bootstrapMode: "dns", tls: true, srvName: "blue", domain: "etcd.prod.internal" }),
        );
        assert.deepEqual(
            records.srv.map((set) => set.name),
            ["_etcd-server-ssl-blue._tcp.etcd.prod.internal", "_etcd-client-ssl-blue._tcp.etcd.prod.internal"],
        );
        assert.deepEqual(at(records.srv, 0).records, targets(2380, "etcd.prod.internal"));
        assert.deepEqual(at(records.a, 0), { name: "orders-0.etcd.prod.internal", address: "10.0.1.10" });
    });

    it("srvName without tls: _etcd-server-<name>._tcp.<domain>", () => {
        const records = renderDnsRecords(specOf({ bootstrapMode: "dns", tls: false, srvName: "blue" }));
        assert.deepEqual(
            records.srv.map((set) => set.name),
            ["_etcd-server-blue._tcp.orders.etcd.internal", "_etcd-client-blue._tcp.orders.etcd.internal"],
        );
    });

    it("custom ports appear in the SRV records", () => {
        const records = renderDnsRecords(specOf({ bootstrapMode: "dns", peerPort: 12380, clientPort: 12379 }));
        assert.deepEqual(at(records.srv, 0).records, targets(12380));
        assert.deepEqual(at(records.srv, 1).records, targets(12379));
    });

    it("the records are the same in every bootstrap mode (clients use the SRV sets too)", () => {
        const dns = renderDnsRecords(specOf({ bootstrapMode: "dns" }));
        assert.deepEqual(renderDnsRecords(specOf({ bootstrapMode: "static" })), dns);
    });

    it("dns mode: every member's advertised peer host and port is one of the server SRV targets", () => {
        const spec = specOf({ bootstrapMode: "dns", tls: true, memberCount: 5 });
        const srvTargets = at(renderDnsRecords(spec).srv, 0).records.map((record) =>
            record.split(" ").slice(2).join(" "),
        );
        for (const member of spec.members) {
            const peerUrls = flagMap(renderMemberFlags(spec, member))["initial-advertise-peer-urls"];
            assert.ok(peerUrls, `${member.name} advertises its peer URLs`);
            const url = new URL(peerUrls);
            assert.ok(srvTargets.includes(`${url.port} ${url.hostname}`), `${url.host} is an SRV target`);
        }
    });

    it("srvServiceLabel: etcd's lookup order, role then -ssl then -<srvName>", () => {
        assert.equal(srvServiceLabel("server", true), "_etcd-server-ssl._tcp");
        assert.equal(srvServiceLabel("server", false), "_etcd-server._tcp");
        assert.equal(srvServiceLabel("client", true), "_etcd-client-ssl._tcp");
        assert.equal(srvServiceLabel("client", false), "_etcd-client._tcp");
        assert.equal(srvServiceLabel("server", true, "x"), "_etcd-server-ssl-x._tcp");
        assert.equal(srvServiceLabel("client", false, "x"), "_etcd-client-x._tcp");
        assert.equal(srvServiceLabel("server", true, ""), "_etcd-server-ssl._tcp");
    });

    it("records live for 60 seconds", () => {
        assert.equal(DNS_TTL_SECONDS, 60);
    });
});
