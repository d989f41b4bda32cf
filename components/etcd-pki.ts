import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/** A member as its certificates see it. */
export interface EtcdPkiMember {
    /** Member name, e.g. "prod-etcd-0"; the certificates' common name. */
    name: string;
    /** DNS names the certificates carry (core's memberCertificateSans: host name, localhost, SRV domain in DNS mode). */
    dnsNames: string[];
    /** IP addresses the certificates carry (the member's private IP, known once the instance exists, and 127.0.0.1). */
    ipAddresses: pulumi.Input<string>[];
}

export interface EtcdPkiArgs {
    /** Cluster name, for the CA's common name. Required. */
    clusterName: string;
    /** Members to issue server and peer certificates for. Required. */
    members: EtcdPkiMember[];
    /** Validity of member and client certificates in hours. Required (validated settings). */
    validityHours: number;
    /** Renew certificates on `pulumi up` once fewer hours than this remain. Required. */
    earlyRenewalHours: number;
}

/** PEM text of one member's certificates; keys are secret. */
export interface EtcdMemberCertificates {
    /** Certificate for client connections (server side, --cert-file). */
    serverCertPem: pulumi.Output<string>;
    /** Certificate for peer connections, used as server and as client (--peer-cert-file). */
    peerCertPem: pulumi.Output<string>;
    /** The member's private key (secret), shared by its server and peer certificates. */
    keyPem: pulumi.Output<string>;
}

const KEY = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;

/**
 * The cluster's certificate authority and certificates: one CA, a server and a peer
 * certificate per member (with the SANs the caller computes), and a client
 * certificate for operators and the health gate. The CA lives ten times the certificates'
 * validity so renewals never need a new trust root.
 */
export class EtcdPki extends pulumi.ComponentResource {
    /** The CA certificate clients and members trust. */
    public readonly caCertPem: pulumi.Output<string>;
    /** Client certificate for etcdctl and applications. */
    public readonly clientCertPem: pulumi.Output<string>;
    /** The client certificate's private key (secret). */
    public readonly clientKeyPem: pulumi.Output<string>;
    /** Certificates of each member, in member order. */
    public readonly members: EtcdMemberCertificates[];

    constructor(name: string, args: EtcdPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-aws:index:EtcdPki", name, {}, opts);
        const parent = { parent: this };
        const caKey = new tls.PrivateKey(`${name}-ca-key`, KEY, parent);
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: `${args.clusterName} etcd CA`, organization: "etcd-aws" },
                validityPeriodHours: args.validityHours * 10,
                earlyRenewalHours: args.earlyRenewalHours * 10,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            },
            parent,
        );
        const sign = (role: string, csr: tls.CertRequest, uses: string[]): tls.LocallySignedCert =>
            new tls.LocallySignedCert(
                `${name}-${role}`,
                {
                    certRequestPem: csr.certRequestPem,
                    caPrivateKeyPem: caKey.privateKeyPem,
                    caCertPem: ca.certPem,
                    validityPeriodHours: args.validityHours,
                    earlyRenewalHours: args.earlyRenewalHours,
                    allowedUses: ["digital_signature", "key_encipherment", ...uses],
                },
                parent,
            );

        this.members = args.members.map((member) => {
            const key = new tls.PrivateKey(`${name}-${member.name}-key`, KEY, parent);
            const request = (role: string): tls.CertRequest =>
                new tls.CertRequest(
                    `${name}-${member.name}-${role}-csr`,
                    {
                        privateKeyPem: key.privateKeyPem,
                        subject: { commonName: member.name, organization: "etcd-aws" },
                        dnsNames: member.dnsNames,
                        ipAddresses: member.ipAddresses,
                    },
                    parent,
                );
            return {
                // client_auth too: etcd's gRPC gateway (the /v3 JSON API) dials etcd with this certificate.
                serverCertPem: sign(`${member.name}-server`, request("server"), ["server_auth", "client_auth"]).certPem,
                peerCertPem: sign(`${member.name}-peer`, request("peer"), ["server_auth", "client_auth"]).certPem,
                keyPem: pulumi.secret(key.privateKeyPem),
            };
        });

        const clientKey = new tls.PrivateKey(`${name}-client-key`, KEY, parent);
        const clientRequest = new tls.CertRequest(
            `${name}-client-csr`,
            { privateKeyPem: clientKey.privateKeyPem, subject: { commonName: "root", organization: "etcd-aws" } },
            parent,
        );
        this.caCertPem = ca.certPem;
        this.clientCertPem = sign("client", clientRequest, ["client_auth"]).certPem;
        this.clientKeyPem = pulumi.secret(clientKey.privateKeyPem);
        this.registerOutputs({
            caCertPem: this.caCertPem,
            clientCertPem: this.clientCertPem,
            clientKeyPem: this.clientKeyPem,
        });
    }
}
