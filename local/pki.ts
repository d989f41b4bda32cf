// A cluster's certificates made with openssl, in the roles components/etcd-pki.ts gives them
// (ECDSA P-256): a CA; per member one key with a server certificate and a peer certificate
// (both serverAuth and clientAuth) carrying core's SANs, and an admin client certificate (CN
// root) with a key of its own; client certificates (clientAuth) named by their common name,
// such as the application's. They reach the hosts as the component sends them: core's
// memberTlsFiles, written by the launch script.
import { execFileSync } from "child_process";
import { randomBytes, X509Certificate } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { CertificateSans, ClusterSpec, MemberCertificatePems, memberCertificateSans, memberTlsFiles } from "../core";
import type { MemberFiles } from "./cluster";

const VALIDITY_DAYS = 30;

export interface CertificateAuthority {
    readonly dir: string;
    readonly certFile: string;
    readonly keyFile: string;
}

/** A certificate and its key, as PEM text and as files on this machine (for clients here). */
export interface KeyPair {
    readonly certFile: string;
    readonly keyFile: string;
    readonly certPem: string;
    readonly keyPem: string;
}

function openssl(args: readonly string[]): void {
    execFileSync("openssl", args, { timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
}

export function newKey(file: string): void {
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file]);
}

function subject(commonName: string): string {
    return `/O=etcd-aws/CN=${commonName}`;
}

/** A self-signed CA in `dir` (ca.crt, ca.key). */
export function createCertificateAuthority(dir: string, clusterName: string): CertificateAuthority {
    fs.mkdirSync(dir, { recursive: true });
    const ca = { dir, certFile: path.join(dir, "ca.crt"), keyFile: path.join(dir, "ca.key") };
    newKey(ca.keyFile);
    openssl([
        "req",
        "-x509",
        "-new",
        "-key",
        ca.keyFile,
        "-subj",
        subject(`${clusterName} etcd CA`),
        "-days",
        String(VALIDITY_DAYS * 10),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        "-out",
        ca.certFile,
    ]);
    return ca;
}

function caCertPem(ca: CertificateAuthority): string {
    return fs.readFileSync(ca.certFile, "utf8");
}

/** Signs a certificate for `keyFile` with the given extended key usages and SANs; returns its file. */
export function sign(
    ca: CertificateAuthority,
    keyFile: string,
    certFile: string,
    commonName: string,
    usages: readonly string[],
    sans?: CertificateSans,
): string {
    const request = `${certFile}.csr`;
    const extensions = `${certFile}.ext`;
    const altNames = sans
        ? [...sans.dnsNames.map((name) => `DNS:${name}`), ...sans.ipAddresses.map((ip) => `IP:${ip}`)]
        : [];
    fs.writeFileSync(
        extensions,
        [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            `extendedKeyUsage=${usages.join(",")}`,
            ...(altNames.length > 0 ? [`subjectAltName=${altNames.join(",")}`] : []),
            "",
        ].join("\n"),
    );
    openssl(["req", "-new", "-key", keyFile, "-subj", subject(commonName), "-out", request]);
    openssl([
        "x509",
        "-req",
        "-in",
        request,
        "-CA",
        ca.certFile,
        "-CAkey",
        ca.keyFile,
        "-set_serial",
        `0x${randomBytes(8).toString("hex")}`,
        "-days",
        String(VALIDITY_DAYS),
        "-extfile",
        extensions,
        "-out",
        certFile,
    ]);
    fs.rmSync(request);
    fs.rmSync(extensions);
    return fs.readFileSync(certFile, "utf8");
}

/** A member's key, server, peer and admin certificates (new ones on every call: a rotation), under `dir`. */
function issueMemberCertificates(
    ca: CertificateAuthority,
    dir: string,
    memberName: string,
    sans: CertificateSans,
): MemberCertificatePems {
    fs.mkdirSync(dir, { recursive: true });
    const keyFile = path.join(dir, `${memberName}.key`);
    newKey(keyFile);
    return {
        serverCertPem: sign(
            ca,
            keyFile,
            path.join(dir, `${memberName}-server.crt`),
            memberName,
            ["serverAuth", "clientAuth"],
            sans,
        ),
        peerCertPem: sign(
            ca,
            keyFile,
            path.join(dir, `${memberName}-peer.crt`),
            memberName,
            ["serverAuth", "clientAuth"],
            sans,
        ),
        keyPem: fs.readFileSync(keyFile, "utf8"),
        ...adminCertificate(ca, dir, memberName),
    };
}

/** A member's admin client certificate (CN root) and its own key, for the package's scripts on it. */
function adminCertificate(
    ca: CertificateAuthority,
    dir: string,
    memberName: string,
): Pick<MemberCertificatePems, "adminCertPem" | "adminKeyPem"> {
    const keyFile = path.join(dir, `${memberName}-admin.key`);
    newKey(keyFile);
    return {
        adminCertPem: sign(ca, keyFile, path.join(dir, `${memberName}-admin.crt`), "root", ["clientAuth"]),
        adminKeyPem: fs.readFileSync(keyFile, "utf8"),
    };
}

/** A client certificate whose common name is `commonName` (with authentication on: the etcd user it acts as). */
export function issueClientCertificate(ca: CertificateAuthority, dir: string, commonName: string): KeyPair {
    fs.mkdirSync(dir, { recursive: true });
    const keyFile = path.join(dir, `client-${commonName}.key`);
    const certFile = path.join(dir, `client-${commonName}.crt`);
    newKey(keyFile);
    const certPem = sign(ca, keyFile, certFile, commonName, ["clientAuth"]);
    return { certFile, keyFile, certPem, keyPem: fs.readFileSync(keyFile, "utf8") };
}

/** A cluster's certificates: the CA, two client certificates for this machine, each member's certificates by name. */
export interface ClusterPki {
    readonly ca: CertificateAuthority;
    /** A root client certificate for etcdctl on this machine (an operator's; the members have their own). */
    readonly root: KeyPair;
    /** The application certificate, as the component exports it: CN `app`, the etcd user it acts as. */
    readonly app: KeyPair;
    readonly members: ReadonlyMap<string, MemberCertificatePems>;
}

/** Member certificates for every member of the spec, with the SANs core computes, under `dir`. */
function issueForMembers(ca: CertificateAuthority, dir: string, spec: ClusterSpec): Map<string, MemberCertificatePems> {
    return new Map(
        spec.members.map((member) => [
            member.name,
            issueMemberCertificates(ca, dir, member.name, memberCertificateSans(spec, member)),
        ]),
    );
}

/** A new CA, a root and an application client certificate (CN `appUser`), and every member's certificates. */
export function issueClusterPki(dir: string, spec: ClusterSpec, appUser = "app"): ClusterPki {
    const ca = createCertificateAuthority(path.join(dir, "ca"), spec.clusterName);
    return {
        ca,
        root: issueClientCertificate(ca, path.join(dir, "clients"), "root"),
        app: issueClientCertificate(ca, path.join(dir, "clients"), appUser),
        members: issueForMembers(ca, path.join(dir, "members"), spec),
    };
}

/** New member certificates (new keys) from the same CA: a renewal. */
export function renewMemberCertificates(pki: ClusterPki, dir: string, spec: ClusterSpec): ClusterPki {
    return { ...pki, members: issueForMembers(pki.ca, dir, spec) };
}

/** What each member's launch script writes, as the component passes its certificates. */
export function launchFiles(pki: ClusterPki): MemberFiles {
    const caPem = caCertPem(pki.ca);
    return (member) => {
        const certificates = pki.members.get(member.name);
        if (!certificates) {
            throw new Error(`no certificates for ${member.name}`);
        }
        return memberTlsFiles(caPem, certificates);
    };
}

export function fingerprint(certPem: string): string {
    return new X509Certificate(certPem).fingerprint256;
}

/** The fingerprint of the certificate a TLS server presents (connecting with the client certificate). */
export function servedCertificate(
    address: string,
    port: number,
    ca: CertificateAuthority,
    client: KeyPair,
): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect(
            { host: address, port, ca: caCertPem(ca), cert: client.certPem, key: client.keyPem, timeout: 5_000 },
            () => {
                resolve(socket.getPeerCertificate().fingerprint256);
                socket.end();
            },
        );
        socket.once("error", reject);
        socket.once("timeout", () => socket.destroy(new Error(`no TLS handshake with ${address}:${port} within 5 s`)));
    });
}
