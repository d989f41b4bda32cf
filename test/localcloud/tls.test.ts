import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { utils } from "ssh2";
import {
    CERT_REQUEST_DIFF,
    certRequest,
    LOCALLY_SIGNED_CERT_DIFF,
    locallySignedCert,
    PRIVATE_KEY_DIFF,
    privateKey,
    readyForRenewal,
    SELF_SIGNED_CERT_DIFF,
    selfSignedCert,
} from "../../localcloud/providers/tls";
import { itFollowsEachRow } from "./diff-table";

const URN = "urn:pulumi:dev::p::tls:index/privateKey:PrivateKey::key";
const HOUR = 3600_000;
/** Old outputs of a certificate far from its renewal window, so that only the row under test decides. */
const FRESH = { validityEndTime: new Date(Date.now() + 1000 * HOUR).toISOString(), earlyRenewalHours: 1 };

describe("localcloud/providers/tls", () => {
    describe("PrivateKey diff", () => itFollowsEachRow(privateKey.diff, PRIVATE_KEY_DIFF));
    describe("SelfSignedCert diff", () => itFollowsEachRow(selfSignedCert.diff, SELF_SIGNED_CERT_DIFF, FRESH));
    describe("CertRequest diff", () => itFollowsEachRow(certRequest.diff, CERT_REQUEST_DIFF));
    describe("LocallySignedCert diff", () => itFollowsEachRow(locallySignedCert.diff, LOCALLY_SIGNED_CERT_DIFF, FRESH));

    describe("early renewal (common_cert.go modifyPlanIfCertificateReadyForRenewal)", () => {
        const now = new Date("2026-12-01T12:00:00Z");
        const outputs = { validityEndTime: "2026-12-02T12:00:00Z" };
        it("is due once fewer than earlyRenewalHours remain, and not before", () => {
            assert.equal(readyForRenewal(outputs, 24, now), true);
            assert.equal(readyForRenewal(outputs, 23, now), false);
            assert.equal(readyForRenewal(outputs, 0, new Date("2026-12-02T12:00:00Z")), true);
        });
        it("replaces a certificate with the reason readyForRenewal when due, with no input changed", () => {
            const inputs = { validityPeriodHours: 48, earlyRenewalHours: 30 };
            const olds = {
                inputs,
                outputs: { ...inputs, validityEndTime: new Date(Date.now() + 24 * HOUR).toISOString() },
            };
            assert.deepEqual(locallySignedCert.diff(olds, inputs), {
                diffs: ["readyForRenewal"],
                replaces: ["readyForRenewal"],
            });
        });
        it("marks readyForRenewal on refresh when due", () => {
            const state = { earlyRenewalHours: 30, validityEndTime: new Date(Date.now() + 24 * HOUR).toISOString() };
            assert.equal(selfSignedCert.read?.("1", state).readyForRenewal, true);
        });
    });

    it("PrivateKey ECDSA P256 creates SEC 1, PKCS#8 and OpenSSH keys, the public key, its fingerprints", async () => {
        const { id, outputs } = await privateKey.create({ algorithm: "ECDSA", ecdsaCurve: "P256" }, URN);
        assert.match(outputs.privateKeyPem as string, /^-----BEGIN EC PRIVATE KEY-----\n/);
        assert.match(outputs.privateKeyPemPkcs8 as string, /^-----BEGIN PRIVATE KEY-----\n/);
        assert.match(outputs.privateKeyOpenssh as string, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
        assert.match(outputs.publicKeyOpenssh as string, /^ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+\n$/);
        assert.match(outputs.publicKeyFingerprintMd5 as string, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
        assert.match(outputs.publicKeyFingerprintSha256 as string, /^SHA256:[A-Za-z0-9+/]{43}$/);
        const publicPem = crypto
            .createPublicKey(outputs.privateKeyPem as string)
            .export({ format: "pem", type: "spki" });
        assert.equal(publicPem, outputs.publicKeyPem);
        assert.match(id, /^[0-9a-f]{40}$/);
    });

    it("PrivateKey RSA and ED25519 keys load in node:crypto and ssh2 (OpenSSH form)", async () => {
        for (const inputs of [{ algorithm: "RSA", rsaBits: 2048 }, { algorithm: "ED25519" }]) {
            const { outputs } = await privateKey.create(inputs, URN);
            crypto.createPrivateKey(outputs.privateKeyPem as string);
            const parsed = utils.parseKey(outputs.privateKeyOpenssh as string);
            assert.ok(!(parsed instanceof Error), `${inputs.algorithm}: ${parsed}`);
            const key = Array.isArray(parsed) ? parsed[0] : parsed;
            assert.equal(`${key.type} ${key.getPublicSSH().toString("base64")}\n`, outputs.publicKeyOpenssh);
        }
    });

    it("a CA, a request and a locally signed certificate verify, with the uses, SANs and validity asked", async () => {
        const caKey = (await privateKey.create({ algorithm: "ECDSA", ecdsaCurve: "P256" }, URN)).outputs;
        const ca = await selfSignedCert.create(
            {
                ...selfSignedCert.defaults,
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: "test CA", organization: "etcd-aws" },
                validityPeriodHours: 100,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            },
            URN,
        );
        const memberKey = (await privateKey.create({ algorithm: "ECDSA", ecdsaCurve: "P256" }, URN)).outputs;
        const csr = await certRequest.create(
            {
                privateKeyPem: memberKey.privateKeyPem,
                subject: { commonName: "etcd-0", organization: "etcd-aws" },
                dnsNames: ["etcd-0", "localhost"],
                ipAddresses: ["127.0.0.1"],
            },
            URN,
        );
        assert.equal(csr.outputs.keyAlgorithm, "ECDSA");
        const signed = await locallySignedCert.create(
            {
                ...locallySignedCert.defaults,
                certRequestPem: csr.outputs.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.outputs.certPem,
                validityPeriodHours: 10,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
            },
            URN,
        );
        const caCert = new crypto.X509Certificate(ca.outputs.certPem as string);
        const cert = new crypto.X509Certificate(signed.outputs.certPem as string);
        assert.equal(caCert.ca, true);
        assert.equal(cert.ca, false);
        assert.equal(cert.verify(caCert.publicKey), true);
        assert.equal(cert.checkIssued(caCert), true);
        assert.equal(cert.subject, "CN=etcd-0\nO=etcd-aws");
        assert.equal(cert.subjectAltName, "DNS:etcd-0, DNS:localhost, IP Address:127.0.0.1");
        assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
        assert.equal(cert.checkPrivateKey(crypto.createPrivateKey(memberKey.privateKeyPem as string)), true);
        assert.equal(signed.id, BigInt(`0x${cert.serialNumber}`).toString());
        const hours = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / HOUR;
        assert.equal(hours, 10);
        assert.equal(signed.outputs.validityEndTime, new Date(cert.validTo).toISOString().replace(".000Z", "Z"));
        assert.equal(signed.outputs.readyForRenewal, false);
        assert.equal(signed.outputs.caKeyAlgorithm, "ECDSA");
    });
});
