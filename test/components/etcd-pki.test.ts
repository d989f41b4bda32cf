import { strict as assert } from "assert";
import * as path from "path";
import { named, runUnderMocks } from "../../plan/mock-engine";
import type { EtcdClusterArgs } from "../../components";
import { ofType, runCluster, SSH } from "../helpers/cluster";
import { at } from "../helpers/elements";

/** A private key's PEM text under mocks (plan/cloud-values.ts): the resource's name is its body. */
function keyMarker(keyName: string): string {
    return `-----BEGIN PRIVATE KEY-----\n${keyName}\n-----END PRIVATE KEY-----\n`;
}

describe("EtcdPki", () => {
    it("issues server and peer certificates with the member's name, private IP, 127.0.0.1 and localhost", async () => {
        const run = await runCluster({ tls: true, bootstrapMode: "static" });
        const requests = ofType(run, "tls:index/certRequest:CertRequest").filter((r) =>
            /test-etcd-1-(server|peer)-request$/.test(r.name),
        );
        assert.deepEqual(requests.map((r) => r.name).sort(), [
            "test-etcd-pki-test-etcd-1-peer-request",
            "test-etcd-pki-test-etcd-1-server-request",
        ]);
        for (const request of requests) {
            assert.deepEqual(request.inputs.dnsNames, ["test-etcd-1.test-etcd.etcd.internal", "localhost"]);
            assert.deepEqual(request.inputs.ipAddresses, ["10.0.2.10", "127.0.0.1"]);
        }
    });

    it("adds the SRV domain itself as a SAN in DNS mode, as etcd requires", async () => {
        const run = await runCluster({ tls: true, bootstrapMode: "dns", domain: "etcd.prod.internal" });
        const request = ofType(run, "tls:index/certRequest:CertRequest").find(
            (r) => r.name === "test-etcd-pki-test-etcd-0-peer-request",
        );
        assert.deepEqual(request?.inputs.dnsNames, [
            "test-etcd-0.etcd.prod.internal",
            "localhost",
            "etcd.prod.internal",
        ]);
    });

    it("sets validity and early renewal from the settings on every certificate (3 members x server, peer, admin, and the application's), and peer certificates serve both ends", async () => {
        const run = await runCluster({ tls: true, certificateValidityDays: 90, certificateRenewalDays: 15 });
        const certs = ofType(run, "tls:index/locallySignedCert:LocallySignedCert");
        assert.equal(certs.length, 3 * 3 + 1);
        for (const cert of certs) {
            assert.equal(cert.inputs.validityPeriodHours, 90 * 24);
            assert.equal(cert.inputs.earlyRenewalHours, 15 * 24);
        }
        const peer = certs.find((c) => c.name === "test-etcd-pki-test-etcd-0-peer-cert");
        assert.deepEqual(peer?.inputs.allowedUses, [
            "digital_signature",
            "key_encipherment",
            "server_auth",
            "client_auth",
        ]);
        const server = certs.find((c) => c.name === "test-etcd-pki-test-etcd-0-server-cert");
        assert.deepEqual(server?.inputs.allowedUses, [
            "digital_signature",
            "key_encipherment",
            "server_auth",
            "client_auth",
        ]);
        for (const client of ["test-etcd-pki-app", "test-etcd-pki-test-etcd-0-admin"]) {
            assert.deepEqual(
                certs.find((c) => c.name === client)?.inputs.allowedUses,
                ["digital_signature", "key_encipherment", "client_auth"],
                client,
            );
        }
        const ca = at(ofType(run, "tls:index/selfSignedCert:SelfSignedCert"), 0, "CA certificate");
        assert.equal(ca.inputs.isCaCertificate, true);
        assert.equal(ca.inputs.validityPeriodHours, 90 * 24 * 10);
        // A certificateValidityDays change replaces the other certificates, never the trust root.
        assert.deepEqual(ca.ignoreChanges, ["validityPeriodHours", "earlyRenewalHours"]);
    });

    it('issues the application certificate to user "app" by default, to clientUser when set, with a key of its own', async () => {
        for (const [args, user] of [
            [{}, "app"],
            [{ auth: true, clientUser: "orders-api" }, "orders-api"],
        ] as const) {
            const run = await runCluster({ tls: true, ...args });
            const request = named(run, "test-etcd-pki-app-csr");
            assert.deepEqual(request.inputs.subject, { commonName: user, organization: "etcd-aws" });
            assert.equal(request.inputs.privateKeyPem, keyMarker("test-etcd-pki-app-key"));
            assert.equal(
                named(run, "test-etcd-pki-app").inputs.certRequestPem,
                "CSR test-etcd-pki-app-csr",
                "the application certificate signs that request",
            );
        }
    });

    it("issues each member an admin certificate (common name root) on a key of its own, not the member's server key", async () => {
        const run = await runCluster({ tls: true, auth: true });
        for (const member of ["test-etcd-0", "test-etcd-1", "test-etcd-2"]) {
            const request = named(run, `test-etcd-pki-${member}-admin-csr`);
            assert.deepEqual(request.inputs.subject, { commonName: "root", organization: "etcd-aws" });
            assert.equal(request.inputs.privateKeyPem, keyMarker(`test-etcd-pki-${member}-admin-key`));
            assert.equal(request.inputs.dnsNames, undefined, "a client certificate names no host");
        }
        const rootRequests = ofType(run, "tls:index/certRequest:CertRequest")
            .filter((r) => r.inputs.subject.commonName === "root")
            .map((r) => r.name)
            .sort();
        assert.deepEqual(rootRequests, [
            "test-etcd-pki-test-etcd-0-admin-csr",
            "test-etcd-pki-test-etcd-1-admin-csr",
            "test-etcd-pki-test-etcd-2-admin-csr",
        ]);
    });

    it("makes no certificates when TLS is off", async () => {
        const run = await runCluster({ tls: false });
        // (The members' SSH host keys are tls resources too, but no certificate's.)
        assert.deepEqual(
            run.resources.filter((r) => r.type.startsWith("tls:") && r.name.startsWith("test-etcd-pki")),
            [],
        );
    });
});

const MEMBERS = ["test-etcd-0", "test-etcd-1", "test-etcd-2"];

/** The private keys of the cluster, by what they are. */
function keysOf(member: string): string[] {
    return [keyMarker(`test-etcd-pki-${member}-key`), keyMarker(`test-etcd-pki-${member}-admin-key`)];
}
const APP_KEY = keyMarker("test-etcd-pki-app-key");
const CA_KEY = keyMarker("test-etcd-pki-ca-key");

/** A cluster under mocks with its certificate outputs resolved. */
function runWithCertificateOutputs(args: Partial<EtcdClusterArgs>) {
    return runUnderMocks({ stack: "test" }, () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run (runUnderMocks forgets the project modules), not a static import
        const { EtcdCluster } = require(
            path.resolve(__dirname, "../../components"),
        ) as typeof import("../../components");
        const cluster = new EtcdCluster("test-etcd", { ssh: SSH, ...args } as EtcdClusterArgs);
        return {
            caCertPem: cluster.caCertPem,
            clientCertPem: cluster.clientCertPem,
            clientKeyPem: cluster.clientKeyPem,
            clientUser: cluster.clientUser,
            rootPassword: cluster.rootPassword,
        };
    });
}

describe("EtcdCluster's certificates on the members and in the outputs", () => {
    it("writes each member its own server, peer and admin keys and no other member's, the application's or the CA's (scanning every launch script for every key)", async () => {
        const run = await runCluster({ tls: true, auth: true });
        for (const member of MEMBERS) {
            const launch: string = named(run, `${member}-launch`).inputs.stdin;
            for (const own of keysOf(member)) {
                assert.ok(launch.includes(own), `${member} gets ${own.split("\n")[1]}`);
            }
            const foreign = [...MEMBERS.filter((m) => m !== member).flatMap(keysOf), APP_KEY, CA_KEY];
            assert.deepEqual(
                foreign.filter((key) => launch.includes(key)).map((key) => key.split("\n")[1]),
                [],
                `${member}'s launch script carries no foreign key`,
            );
        }
    });

    it("writes the member's admin certificate and key where the package's scripts read their client certificate", async () => {
        const run = await runCluster({ tls: true, auth: true });
        const launch: string = named(run, "test-etcd-1-launch").inputs.stdin;
        const body = (file: string): string | undefined =>
            new RegExp(
                `write_host_file ${file.replace(/[./]/g, "\\$&")} \\S+ \\S+ <<'(\\w+)'\\n([\\s\\S]*?)\\n\\1`,
            ).exec(launch)?.[2];
        assert.equal(`${body("/etc/etcd/pki/client.key")}\n`, keyMarker("test-etcd-pki-test-etcd-1-admin-key"));
        assert.equal(
            body("/etc/etcd/pki/client.crt"),
            "-----BEGIN CERTIFICATE-----\ntest-etcd-pki-test-etcd-1-admin\n-----END CERTIFICATE-----",
        );
    });

    it("exports the application certificate (common name clientUser), its key as a secret, and the user; no admin certificate", async () => {
        const run = await runWithCertificateOutputs({ tls: true, auth: true, clientUser: "orders-api" });
        assert.equal(
            run.outputs.clientCertPem,
            "-----BEGIN CERTIFICATE-----\ntest-etcd-pki-app\n-----END CERTIFICATE-----\n",
        );
        assert.equal(run.outputs.clientKeyPem, APP_KEY);
        assert.equal(run.outputs.clientUser, "orders-api");
        assert.deepEqual([...run.secretOutputs].sort(), ["clientKeyPem", "rootPassword"]);
        const exported = JSON.stringify(run.outputs);
        for (const key of [...MEMBERS.flatMap(keysOf), CA_KEY]) {
            assert.ok(!exported.includes(key), `${key.split("\n")[1]} is not exported`);
        }
    });

    it("exports empty certificate outputs and no user without TLS, the key still a secret", async () => {
        const run = await runWithCertificateOutputs({ tls: false });
        assert.deepEqual(
            [run.outputs.caCertPem, run.outputs.clientCertPem, run.outputs.clientKeyPem, run.outputs.clientUser],
            ["", "", "", ""],
        );
        assert.ok(run.secretOutputs.has("clientKeyPem"));
    });

    it("runs the auth script with the application's user and key prefix (secret stdin, after the health gate)", async () => {
        const run = await runCluster({ tls: true, auth: true, clientUser: "orders-api", clientKeyPrefix: "orders/" });
        const auth = named(run, "test-etcd-auth");
        assert.ok(auth.secretInputs.has("stdin"));
        assert.ok(auth.dependencies.has("test-etcd-health"));
        const script: string = auth.inputs.stdin;
        assert.match(script, /^CLIENT_USER='orders-api'$/m);
        assert.match(script, /^CLIENT_KEY_PREFIX='orders\/'$/m);
        assert.match(script, /^CLIENT_CERT_FILE='\/etc\/etcd\/pki\/client\.crt'$/m);
    });
});
