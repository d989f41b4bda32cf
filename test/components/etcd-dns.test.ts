import { strict as assert } from "assert";
import { ofType, runCluster } from "../helpers/cluster";
import { at } from "../helpers/elements";

const RECORD = "aws:route53/record:Record";

describe("EtcdDns", () => {
    it("creates a private zone for the domain in the VPC, an A record per member and plain-http SRV sets", async () => {
        const run = await runCluster({
            tls: false,
            domain: "etcd.dev.internal",
            vpcId: "vpc-9",
            subnetIds: ["subnet-1"],
        });
        const zone = at(ofType(run, "aws:route53/zone:Zone"), 0, "zone");
        assert.equal(zone.inputs.name, "etcd.dev.internal");
        assert.deepEqual(zone.inputs.vpcs, [{ vpcId: "vpc-9" }]);
        const records = ofType(run, RECORD).map((r) => ({
            name: r.inputs.name,
            type: r.inputs.type,
            records: r.inputs.records,
            zone: r.inputs.zoneId,
        }));
        assert.deepEqual(records, [
            { name: "test-etcd-0.etcd.dev.internal", type: "A", records: ["10.0.1.10"], zone: "Z-test-etcd-dns-zone" },
            { name: "test-etcd-1.etcd.dev.internal", type: "A", records: ["10.0.2.10"], zone: "Z-test-etcd-dns-zone" },
            { name: "test-etcd-2.etcd.dev.internal", type: "A", records: ["10.0.3.10"], zone: "Z-test-etcd-dns-zone" },
            {
                name: "_etcd-server._tcp.etcd.dev.internal",
                type: "SRV",
                records: [
                    "0 0 2380 test-etcd-0.etcd.dev.internal",
                    "0 0 2380 test-etcd-1.etcd.dev.internal",
                    "0 0 2380 test-etcd-2.etcd.dev.internal",
                ],
                zone: "Z-test-etcd-dns-zone",
            },
            {
                name: "_etcd-client._tcp.etcd.dev.internal",
                type: "SRV",
                records: [
                    "0 0 2379 test-etcd-0.etcd.dev.internal",
                    "0 0 2379 test-etcd-1.etcd.dev.internal",
                    "0 0 2379 test-etcd-2.etcd.dev.internal",
                ],
                zone: "Z-test-etcd-dns-zone",
            },
        ]);
    });

    it("names the SRV sets -ssl with TLS and adds the --discovery-srv-name suffix", async () => {
        const run = await runCluster({ tls: true, srvName: "blue", bootstrapMode: "dns" });
        const srv = ofType(run, RECORD)
            .filter((r) => r.inputs.type === "SRV")
            .map((r) => r.inputs.name);
        assert.deepEqual(srv, [
            "_etcd-server-ssl-blue._tcp.test-etcd.etcd.internal",
            "_etcd-client-ssl-blue._tcp.test-etcd.etcd.internal",
        ]);
    });

    it("writes into an existing zone without creating one", async () => {
        const run = await runCluster({ zoneId: "Z-EXISTING", domain: "etcd.corp.example.com" });
        assert.equal(ofType(run, "aws:route53/zone:Zone").length, 0);
        assert.ok(ofType(run, RECORD).every((r) => r.inputs.zoneId === "Z-EXISTING"));
    });

    it("publishes SRV records after the A records their targets name", async () => {
        const run = await runCluster({});
        const server = ofType(run, RECORD).find((r) => r.name === "test-etcd-dns-srv-server");
        for (const i of [0, 1, 2]) {
            assert.ok(server?.dependencies.has(`test-etcd-dns-test-etcd-${i}-a`));
        }
    });
});
