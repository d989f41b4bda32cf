// Local stand-in for the `tls` provider (@pulumi/tls 5.x, a bridge of hashicorp/terraform-provider-tls): PrivateKey,
// SelfSignedCert, CertRequest and LocallySignedCert with node:crypto and @peculiar/x509, outputs named as the real
// provider's. Which outputs are secret is the SDK's business (additionalSecretOutputs of the key PEMs).
import * as crypto from "node:crypto";
// @peculiar/x509 resolves its services with tsyringe, which needs the Reflect metadata polyfill loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import {
    diffByTable,
    DiffResult,
    DiffRule,
    OldState,
    Properties,
    ProviderSpec,
    ResourceType,
    serveProvider,
} from "./server";
import { providerVersion } from "../plugins";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = crypto.webcrypto.CryptoKey;
type Algorithm = crypto.webcrypto.Algorithm;

// v4.2.1 is the commit pulumi-tls 5.x bridges (its provider/go.mod: terraform-provider-tls ...-857b38cda3fc).
const UPSTREAM = "hashicorp/terraform-provider-tls v4.2.1 internal/provider";

function rows(change: DiffRule["change"], file: string, properties: string[]): DiffRule[] {
    return properties.map((property) => ({ property, change, source: `${UPSTREAM}/${file}` }));
}

/** tls_private_key: algorithm, rsa_bits, ecdsa_curve are RequiresReplace. */
export const PRIVATE_KEY_DIFF = rows("replace", "resource_private_key.go", ["algorithm", "rsaBits", "ecdsaCurve"]);

/**
 * tls_self_signed_cert: every input replaces (private_key_pem by requireReplaceIfStateContainsPEMString, the rest
 * by RequiresReplace) except early_renewal_hours, which has no plan modifier and updates in place.
 */
export const SELF_SIGNED_CERT_DIFF = [
    ...rows("replace", "resource_self_signed_cert.go", [
        "privateKeyPem",
        "subject",
        "validityPeriodHours",
        "allowedUses",
        "dnsNames",
        "ipAddresses",
        "uris",
        "isCaCertificate",
        "maxPathLength",
        "setSubjectKeyId",
        "setAuthorityKeyId",
    ]),
    ...rows("update", "resource_self_signed_cert.go", ["earlyRenewalHours"]),
];

/** tls_cert_request: private_key_pem (PEM modifier), subject, dns_names, ip_addresses, uris replace. */
export const CERT_REQUEST_DIFF = rows("replace", "resource_cert_request.go", [
    "privateKeyPem",
    "subject",
    "dnsNames",
    "ipAddresses",
    "uris",
]);

/** tls_locally_signed_cert: as the self-signed one, with the CA's PEMs and the request instead of key/subject. */
export const LOCALLY_SIGNED_CERT_DIFF = [
    ...rows("replace", "resource_locally_signed_cert.go", [
        "certRequestPem",
        "caPrivateKeyPem",
        "caCertPem",
        "validityPeriodHours",
        "allowedUses",
        "isCaCertificate",
        "maxPathLength",
        "setSubjectKeyId",
    ]),
    ...rows("update", "resource_locally_signed_cert.go", ["earlyRenewalHours"]),
];

/**
 * common_cert.go modifyPlanIfCertificateReadyForRenewal: once `now` is past validityEndTime minus
 * earlyRenewalHours, the plan replaces the certificate with the reason ready_for_renewal.
 */
export function readyForRenewal(outputs: Properties, earlyRenewalHours: unknown, now: Date): boolean {
    if (typeof outputs.validityEndTime !== "string") return false;
    const renewAt = Date.parse(outputs.validityEndTime) - Number(earlyRenewalHours ?? 0) * 3600_000;
    return now.getTime() >= renewAt;
}

/** A certificate's diff: its table, plus the renewal rule read from the old outputs. */
function certificateDiff(table: DiffRule[], olds: OldState, news: Properties, now: Date): DiffResult {
    const result = diffByTable(table, olds.inputs, news);
    if (!readyForRenewal(olds.outputs, news.earlyRenewalHours, now)) return result;
    return { diffs: [...result.diffs, "readyForRenewal"], replaces: [...result.replaces, "readyForRenewal"] };
}

const CURVES: Record<string, { node: string; web?: string; ssh?: string; hash: string }> = {
    P224: { node: "secp224r1", hash: "SHA-256" },
    P256: { node: "prime256v1", web: "P-256", ssh: "nistp256", hash: "SHA-256" },
    P384: { node: "secp384r1", web: "P-384", ssh: "nistp384", hash: "SHA-384" },
    P521: { node: "secp521r1", web: "P-521", ssh: "nistp521", hash: "SHA-512" },
};

/** SSH wire format: a uint32-length-prefixed string. */
function sshString(data: Buffer | string): Buffer {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
}

/** SSH wire format: a non-negative multiple-precision integer from base64url (JWK) bytes. */
function sshMpint(base64url: string): Buffer {
    let bytes = Buffer.from(base64url, "base64url");
    while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
    // A leading byte with the high bit set needs a 0 byte in front to stay positive.
    return sshString((bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** The key's SSH type, public blob and private fields (RFC 4253, RFC 5656, RFC 8709); none for P224. */
function sshKeyParts(key: crypto.KeyObject): { type: string; publicBlob: Buffer; privateFields: Buffer } | undefined {
    const jwk = key.export({ format: "jwk" });
    if (jwk.kty === "RSA") {
        const type = "ssh-rsa";
        const publicBlob = Buffer.concat([sshString(type), sshMpint(jwk.e!), sshMpint(jwk.n!)]);
        const privateFields = Buffer.concat([...[jwk.n!, jwk.e!, jwk.d!, jwk.qi!, jwk.p!, jwk.q!].map(sshMpint)]);
        return { type, publicBlob, privateFields: Buffer.concat([sshString(type), privateFields]) };
    }
    if (jwk.kty === "OKP") {
        const type = "ssh-ed25519";
        const publicKey = Buffer.from(jwk.x!, "base64url");
        const secret = Buffer.concat([Buffer.from(jwk.d!, "base64url"), publicKey]);
        return {
            type,
            publicBlob: Buffer.concat([sshString(type), sshString(publicKey)]),
            privateFields: Buffer.concat([sshString(type), sshString(publicKey), sshString(secret)]),
        };
    }
    const curve = Object.values(CURVES).find((c) => c.web === jwk.crv);
    if (!curve?.ssh) return undefined;
    const type = `ecdsa-sha2-${curve.ssh}`;
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
    const head = Buffer.concat([sshString(type), sshString(curve.ssh), sshString(point)]);
    return { type, publicBlob: head, privateFields: Buffer.concat([head, sshMpint(jwk.d!)]) };
}

/** The private key in OpenSSH's own format (openssh-key-v1, unencrypted), as ssh.MarshalPrivateKey writes it. */
function openSshPrivateKey(parts: NonNullable<ReturnType<typeof sshKeyParts>>): string {
    const check = crypto.randomBytes(4);
    let section = Buffer.concat([check, check, parts.privateFields, sshString("")]);
    const padding = Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1);
    section = Buffer.concat([section, Buffer.from(padding)]);
    const body = Buffer.concat([
        Buffer.from("openssh-key-v1\0"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        Buffer.from([0, 0, 0, 1]),
        sshString(parts.publicBlob),
        sshString(section),
    ]);
    const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
    return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
}

function generateKey(inputs: Properties): crypto.KeyPairKeyObjectResult {
    switch (inputs.algorithm) {
        case "RSA":
            return crypto.generateKeyPairSync("rsa", { modulusLength: Number(inputs.rsaBits ?? 2048) });
        case "ECDSA": {
            const curve = CURVES[String(inputs.ecdsaCurve ?? "P224")];
            if (!curve) throw new Error(`unsupported ecdsaCurve ${String(inputs.ecdsaCurve)}`);
            return crypto.generateKeyPairSync("ec", { namedCurve: curve.node });
        }
        case "ED25519":
            return crypto.generateKeyPairSync("ed25519");
        default:
            throw new Error(`unsupported algorithm ${String(inputs.algorithm)}`);
    }
}

const sha1Hex = (text: string): string => crypto.createHash("sha1").update(text).digest("hex");

/** PrivateKey: the key as PEM (PKCS#1 for RSA, SEC 1 for ECDSA, PKCS#8 for ED25519), PKCS#8 and OpenSSH. */
export const privateKey: ResourceType = {
    defaults: { rsaBits: 2048, ecdsaCurve: "P224" },
    diff: (olds, news) => diffByTable(PRIVATE_KEY_DIFF, olds.inputs, news),
    create: async (inputs) => {
        const { privateKey: key, publicKey } = generateKey(inputs);
        const pkcs8 = key.export({ format: "pem", type: "pkcs8" }).toString();
        const traditional =
            inputs.algorithm === "RSA"
                ? key.export({ format: "pem", type: "pkcs1" }).toString()
                : inputs.algorithm === "ECDSA"
                  ? key.export({ format: "pem", type: "sec1" }).toString()
                  : pkcs8;
        const publicKeyPem = publicKey.export({ format: "pem", type: "spki" }).toString();
        const ssh = sshKeyParts(key);
        const md5 = ssh ? crypto.createHash("md5").update(ssh.publicBlob).digest("hex") : "";
        return {
            id: sha1Hex(publicKeyPem),
            outputs: {
                ...inputs,
                privateKeyPem: traditional,
                privateKeyPemPkcs8: pkcs8,
                privateKeyOpenssh: ssh ? openSshPrivateKey(ssh) : "",
                publicKeyPem,
                publicKeyOpenssh: ssh ? `${ssh.type} ${ssh.publicBlob.toString("base64")}\n` : "",
                publicKeyFingerprintMd5: md5.replace(/(..)(?!$)/g, "$1:"),
                publicKeyFingerprintSha256: ssh
                    ? `SHA256:${crypto.createHash("sha256").update(ssh.publicBlob).digest("base64").replace(/=+$/, "")}`
                    : "",
            },
        };
    },
};

/** The key's algorithm name as the provider reports it (key_algorithm). */
function keyAlgorithm(key: crypto.KeyObject): string {
    return { rsa: "RSA", ec: "ECDSA", ed25519: "ED25519" }[key.asymmetricKeyType as string] ?? "UNKNOWN";
}

/** The WebCrypto key pair and signing algorithm of a PEM private key. */
async function webKeys(
    pem: string,
): Promise<{ keys: crypto.webcrypto.CryptoKeyPair; algorithm: Algorithm; name: string }> {
    const key = crypto.createPrivateKey(pem);
    const name = keyAlgorithm(key);
    let algorithm: Algorithm & Record<string, unknown>;
    if (name === "RSA") algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    else if (name === "ED25519") algorithm = { name: "Ed25519" };
    else {
        const curve = Object.values(CURVES).find((c) => c.web === key.export({ format: "jwk" }).crv);
        if (!curve) throw new Error("unsupported ECDSA curve for a certificate");
        algorithm = { name: "ECDSA", namedCurve: curve.web, hash: curve.hash };
    }
    const subtle = crypto.webcrypto.subtle;
    const der = key.export({ format: "der", type: "pkcs8" });
    const spki = crypto.createPublicKey(key).export({ format: "der", type: "spki" });
    const keys = {
        privateKey: (await subtle.importKey("pkcs8", der, algorithm, true, ["sign"])) as unknown as CryptoKey,
        publicKey: (await subtle.importKey("spki", spki, algorithm, true, ["verify"])) as unknown as CryptoKey,
    };
    return { keys, algorithm, name };
}

/** The subject block as an X.500 name, in common_cert.go's createSubjectDistinguishedNames order. */
function subjectName(subject: Properties | undefined): x509.JsonName {
    const fields: [string, string, unknown][] = [
        ["commonName", "CN", subject?.commonName],
        ["organization", "O", subject?.organization],
        ["organizationalUnit", "OU", subject?.organizationalUnit],
        ["streetAddresses", "street", subject?.streetAddresses],
        ["locality", "L", subject?.locality],
        ["province", "ST", subject?.province],
        ["country", "C", subject?.country],
        ["postalCode", "postalCode", subject?.postalCode],
        ["serialNumber", "serialNumber", subject?.serialNumber],
        ["emailAddress", "E", subject?.emailAddress],
    ];
    return fields
        .filter(([, , value]) => value !== undefined && value !== "" && !(Array.isArray(value) && !value.length))
        .map(([, attribute, value]) => ({ [attribute]: Array.isArray(value) ? value.map(String) : [String(value)] }));
}

function sanExtension(inputs: Properties): x509.Extension[] {
    const names: x509.JsonGeneralName[] = [
        ...((inputs.dnsNames as string[] | undefined) ?? []).map((value) => ({ type: "dns" as const, value })),
        ...((inputs.ipAddresses as string[] | undefined) ?? []).map((value) => ({ type: "ip" as const, value })),
        ...((inputs.uris as string[] | undefined) ?? []).map((value) => ({ type: "url" as const, value })),
    ];
    return names.length ? [new x509.SubjectAlternativeNameExtension(names)] : [];
}

const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};

const EXTENDED_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: x509.ExtendedKeyUsage.serverAuth,
    client_auth: x509.ExtendedKeyUsage.clientAuth,
    code_signing: x509.ExtendedKeyUsage.codeSigning,
    email_protection: x509.ExtendedKeyUsage.emailProtection,
    timestamping: x509.ExtendedKeyUsage.timeStamping,
    ocsp_signing: x509.ExtendedKeyUsage.ocspSigning,
};

/** common_cert.go createCertificate's extensions: key usage, extended key usage, basic constraints, key ids. */
async function certificateExtensions(inputs: Properties, publicKey: CryptoKey, caPublicKey: CryptoKey) {
    const uses = (inputs.allowedUses as string[] | undefined) ?? [];
    const flags = uses.reduce((all, use) => all | (KEY_USAGES[use] ?? 0), 0);
    const extended = uses.filter((use) => EXTENDED_KEY_USAGES[use]).map((use) => EXTENDED_KEY_USAGES[use]);
    const extensions: x509.Extension[] = [new x509.KeyUsagesExtension(flags, true)];
    if (extended.length) extensions.push(new x509.ExtendedKeyUsageExtension(extended));
    const isCa = inputs.isCaCertificate === true;
    const pathLength = isCa && inputs.maxPathLength !== undefined ? Number(inputs.maxPathLength) : undefined;
    extensions.push(new x509.BasicConstraintsExtension(isCa, pathLength, true));
    if (inputs.setSubjectKeyId === true || isCa) {
        extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
    }
    if (inputs.setAuthorityKeyId === true || caPublicKey !== publicKey) {
        extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caPublicKey));
    }
    return extensions;
}

/** The validity window and serial of a new certificate (now + validityPeriodHours, a random 128-bit serial). */
function validity(inputs: Properties, now: Date) {
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + Number(inputs.validityPeriodHours) * 3600_000);
    const serial = BigInt(`0x${crypto.randomBytes(16).toString("hex")}`);
    return { notBefore, notAfter, serial };
}

const rfc3339 = (date: Date): string => date.toISOString().replace(/\.000Z$/, "Z");

const CERT_DEFAULTS = { earlyRenewalHours: 0, isCaCertificate: false, setSubjectKeyId: false };

/** A new certificate's id (its serial in decimal, as upstream) and outputs; `algorithm` names the key's algorithm. */
function issued(inputs: Properties, certificate: x509.X509Certificate, serial: bigint, algorithm: Properties) {
    return {
        id: serial.toString(),
        outputs: {
            ...inputs,
            certPem: `${certificate.toString("pem")}\n`,
            ...algorithm,
            validityStartTime: rfc3339(certificate.notBefore),
            validityEndTime: rfc3339(certificate.notAfter),
            readyForRenewal: false,
        },
    };
}

/** Update (earlyRenewalHours only): the new inputs over the old outputs, not due for renewal (else a replace). */
const updateCertificate: ResourceType["update"] = async (_id, olds, news) => ({
    ...olds.outputs,
    ...news,
    readyForRenewal: false,
});

/** Refresh: a certificate inside its early-renewal window reports readyForRenewal (modifyStateIf...). */
function readCertificate(_id: string, outputs: Properties): Properties {
    return readyForRenewal(outputs, outputs.earlyRenewalHours, new Date())
        ? { ...outputs, readyForRenewal: true }
        : outputs;
}

/** SelfSignedCert: signed by its own key. */
export const selfSignedCert: ResourceType = {
    defaults: { ...CERT_DEFAULTS, setAuthorityKeyId: false },
    diff: (olds, news) => certificateDiff(SELF_SIGNED_CERT_DIFF, olds, news, new Date()),
    create: async (inputs) => {
        const { keys, algorithm, name } = await webKeys(String(inputs.privateKeyPem));
        const { notBefore, notAfter, serial } = validity(inputs, new Date());
        const subject = subjectName(inputs.subject as Properties | undefined);
        const extensions = [
            ...(await certificateExtensions(inputs, keys.publicKey, keys.publicKey)),
            ...sanExtension(inputs),
        ];
        const certificate = await x509.X509CertificateGenerator.create({
            serialNumber: serial.toString(16),
            subject,
            issuer: subject,
            notBefore,
            notAfter,
            publicKey: keys.publicKey,
            signingKey: keys.privateKey,
            signingAlgorithm: algorithm,
            extensions,
        });
        return issued(inputs, certificate, serial, { keyAlgorithm: name });
    },
    update: updateCertificate,
    read: readCertificate,
};

/** CertRequest: a PKCS#10 request with the subject and SANs, signed by the key. */
export const certRequest: ResourceType = {
    diff: (olds, news) => diffByTable(CERT_REQUEST_DIFF, olds.inputs, news),
    create: async (inputs) => {
        const { keys, algorithm, name } = await webKeys(String(inputs.privateKeyPem));
        const request = await x509.Pkcs10CertificateRequestGenerator.create({
            name: subjectName(inputs.subject as Properties | undefined),
            keys,
            signingAlgorithm: algorithm,
            extensions: sanExtension(inputs),
        });
        const pem = `${request.toString("pem")}\n`;
        return { id: sha1Hex(pem), outputs: { ...inputs, certRequestPem: pem, keyAlgorithm: name } };
    },
};

/** LocallySignedCert: the request's subject, key and SANs, signed by the CA. */
export const locallySignedCert: ResourceType = {
    defaults: CERT_DEFAULTS,
    diff: (olds, news) => certificateDiff(LOCALLY_SIGNED_CERT_DIFF, olds, news, new Date()),
    create: async (inputs) => {
        const ca = await webKeys(String(inputs.caPrivateKeyPem));
        const caCertificate = new x509.X509Certificate(String(inputs.caCertPem));
        const request = new x509.Pkcs10CertificateRequest(String(inputs.certRequestPem));
        if (!(await request.verify())) throw new Error("certRequestPem: the request's signature does not verify");
        const publicKey = await request.publicKey.export();
        const { notBefore, notAfter, serial } = validity(inputs, new Date());
        const requested = request.extensions.find((e) => e instanceof x509.SubjectAlternativeNameExtension);
        const certificate = await x509.X509CertificateGenerator.create({
            serialNumber: serial.toString(16),
            subject: request.subjectName,
            issuer: caCertificate.subjectName,
            notBefore,
            notAfter,
            publicKey,
            signingKey: ca.keys.privateKey,
            signingAlgorithm: ca.algorithm,
            extensions: [
                ...(await certificateExtensions(inputs, publicKey, ca.keys.publicKey)),
                ...(requested ? [requested] : []),
            ],
        });
        return issued(inputs, certificate, serial, { caKeyAlgorithm: ca.name });
    },
    update: updateCertificate,
    read: readCertificate,
};

/** The local tls provider. */
export const TLS_PROVIDER: ProviderSpec = {
    name: "tls",
    version: providerVersion("tls"),
    resources: {
        "tls:index/privateKey:PrivateKey": privateKey,
        "tls:index/selfSignedCert:SelfSignedCert": selfSignedCert,
        "tls:index/certRequest:CertRequest": certRequest,
        "tls:index/locallySignedCert:LocallySignedCert": locallySignedCert,
    },
};

if (require.main === module) serveProvider(TLS_PROVIDER);
