import { strict as assert } from "assert";
import { ofType, runCluster } from "../helpers/cluster";
import { at } from "../helpers/elements";

describe("EtcdPki", () => {
    it("issues server and peer certificates with the member's name, private IP, 127.0.0.1 and localhost", async () => {
        const run = await runCluster({ tls: true, bootstrapMode: "static" });
        const requests = ofType(run, "tls:index/certRequest:CertRequest").filter((r) =>
            r.name.includes("test-etcd-1-"),
        );
        assert.deepEqual(requests.map((r) => r.name).sort(), [
            "test-etcd-pki-test-etcd-1-peer-csr",
            "test-etcd-pki-test-etcd-1-server-csr",
        ]);
        for (const request of requests) {
            assert.deepEqual(request.inputs.dnsNames, ["test-etcd-1.test-etcd.etcd.internal", "localhost"]);
            assert.deepEqual(request.inputs.ipAddresses, ["10.0.2.10", "127.0.0.1"]);
        }
    });

    it("adds the SRV domain itself as a SAN in DNS mode, as etcd requires", async () => {
        const run = await runCluster({ tls: true, bootstrapMode: "dns", domain: "etcd.prod.internal" });
        const request = ofType(run, "tls:index/certRequest:CertRequest").find(
            (r) => r.name === "test-etcd-pki-test-etcd-0-peer-csr",
        );
        assert.deepEqual(request?.inputs.dnsNames, [
            "test-etcd-0.etcd.prod.internal",
            "localhost",
            "etcd.prod.internal",
        ]);
    });

    it("sets validity and early renewal from the settings, and peer certificates serve both ends", async () => {
        const run = await runCluster({ tls: true, certificateValidityDays: 90, certificateRenewalDays: 15 });
        const certs = ofType(run, "tls:index/locallySignedCert:LocallySignedCert");
        assert.equal(certs.length, 3 * 2 + 1);
        for (const cert of certs) {
            assert.equal(cert.inputs.validityPeriodHours, 90 * 24);
            assert.equal(cert.inputs.earlyRenewalHours, 15 * 24);
        }
        const peer = certs.find((c) => c.name === "test-etcd-pki-test-etcd-0-peer");
        assert.deepEqual(peer?.inputs.allowedUses, [
            "digital_signature",
            "key_encipherment",
            "server_auth",
            "client_auth",
        ]);
        const server = certs.find((c) => c.name === "test-etcd-pki-test-etcd-0-server");
        assert.deepEqual(server?.inputs.allowedUses, [
            "digital_signature",
            "key_encipherment",
            "server_auth",
            "client_auth",
        ]);
        const client = certs.find((c) => c.name === "test-etcd-pki-client");
        assert.deepEqual(client?.inputs.allowedUses, ["digital_signature", "key_encipherment", "client_auth"]);
        const ca = at(ofType(run, "tls:index/selfSignedCert:SelfSignedCert"), 0, "CA certificate");
        assert.equal(ca.inputs.isCaCertificate, true);
        assert.equal(ca.inputs.validityPeriodHours, 90 * 24 * 10);
    });

    it("makes no certificates when TLS is off", async () => {
        const run = await runCluster({ tls: false });
        assert.equal(run.resources.filter((r) => r.type.startsWith("tls:")).length, 0);
    });
});
