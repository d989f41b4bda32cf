import * as assert from "node:assert/strict";
import { buildClusterSpec, placeholderAddresses } from "../../core";
import { v2DiscoveryUrl } from "../../core/spec";
import { DISCOVERY_TOKEN, resolve, specOf } from "./helpers";

describe("core/spec", () => {
    it("builds a static spec: settings carried over, members <name>-<i> with the given addresses", () => {
        assert.deepEqual(specOf({ extraFlags: { "snapshot-count": "10000" } }), {
            clusterName: "orders",
            version: { text: "3.6.14", line: "3.6", patch: 14 },
            mode: "static",
            tls: true,
            ports: { client: 2379, peer: 2380, metrics: 2381 },
            domain: "orders.etcd.internal",
            srvName: undefined,
            clusterToken: "shop-prod-orders",
            dataDir: "/var/lib/etcd/data",
            discovery: undefined,
            maintenance: {
                autoCompactionMode: "periodic",
                autoCompactionRetention: "1h",
                quotaBackendBytes: 8 * 1024 ** 3,
            },
            diskCheck: "warn",
            extraFlags: { "snapshot-count": "10000" },
            members: [
                { name: "orders-0", address: "10.0.1.10" },
                { name: "orders-1", address: "10.0.2.10" },
                { name: "orders-2", address: "10.0.3.10" },
            ],
        });
    });

    it("v3 discovery: the cluster's token, the size and endpoints; the package registers the size", () => {
        const spec = specOf({ bootstrapMode: "discovery", discovery: { endpoints: ["http://10.0.0.5:2379"] } });
        assert.deepEqual(spec.discovery, {
            protocol: "v3",
            token: DISCOVERY_TOKEN,
            size: 3,
            endpoints: ["http://10.0.0.5:2379"],
            registerSize: true,
        });
    });

    it("v2 discovery with a service URL: the token's URL under it; the package registers the size", () => {
        const spec = specOf({
            etcdVersion: "3.5.33",
            bootstrapMode: "discovery",
            discovery: { serviceUrl: "http://10.0.0.5:2379/v2/keys/reg//", proxy: "http://p:3128" },
        });
        assert.deepEqual(spec.discovery, {
            protocol: "v2",
            token: DISCOVERY_TOKEN,
            size: 3,
            url: `http://10.0.0.5:2379/v2/keys/reg/${DISCOVERY_TOKEN}`,
            proxy: "http://p:3128",
            registerSize: true,
        });
    });

    it("v2 discovery with a ready URL: its own token (last path segment), size given, nothing to register", () => {
        const spec = specOf({
            etcdVersion: "3.4.45",
            bootstrapMode: "discovery",
            discovery: { url: "https://discovery.example.com/6c007a14/", size: 3 },
        });
        assert.deepEqual(spec.discovery, {
            protocol: "v2",
            token: "6c007a14",
            size: 3,
            url: "https://discovery.example.com/6c007a14/",
            proxy: undefined,
            registerSize: false,
        });
    });

    it("refuses an address list of the wrong length", () => {
        assert.throws(() => buildClusterSpec(resolve({}), ["10.0.1.10"], DISCOVERY_TOKEN), {
            message: "expected 3 member addresses, got 1",
        });
    });

    it("v2DiscoveryUrl joins service URL and token with one slash", () => {
        assert.equal(v2DiscoveryUrl("http://d:2379/v2/keys/reg/", "abc"), "http://d:2379/v2/keys/reg/abc");
        assert.equal(v2DiscoveryUrl("http://d:2379/v2/keys/reg", "abc"), "http://d:2379/v2/keys/reg/abc");
    });

    it("placeholder addresses come from the documentation range 192.0.2.0/24", () => {
        assert.deepEqual(placeholderAddresses(3), ["192.0.2.10", "192.0.2.11", "192.0.2.12"]);
        assert.deepEqual(placeholderAddresses(0), []);
    });
});
