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
    /** Members to issue server, peer and admin certificates for. Required. */
    members: EtcdPkiMember[];
    /**
     * etcd user of the application client certificate: its common name, which etcd takes as the
     * user under `--client-cert-auth`. Required (validated settings: never "root", so holding the
     * exported certificate does not make anyone an administrator of the cluster).
     */
    clientUser: string;
    /** Validity of member and client certificates in hours. Required (validated settings). */
    validityHours: number;
    /** Renew certificates on `pulumi up` once fewer hours than this remain. Required. */
    earlyRenewalHours: number;
}

/** PEM text of one member's certificates; keys are secret. Everything here goes to that member only. */
export interface EtcdMemberCertificates {
    /** Certificate for client connections (server side, --cert-file). */
    serverCertPem: pulumi.Output<string>;
    /** Certificate for peer connections, used as server and as client (--peer-cert-file). */
    peerCertPem: pulumi.Output<string>;
    /** The member's private key (secret), shared by its server and peer certificates. */
    keyPem: pulumi.Output<string>;
    /** Admin client certificate (common name root) of the package's scripts on this member. */
    adminCertPem: pulumi.Output<string>;
    /** The admin certificate's own private key (secret). */
    adminKeyPem: pulumi.Output<string>;
}

const KEY = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;

/**
 * The cluster's certificate authority and certificates: one CA; per member a server and a peer
 * certificate (with the SANs the caller computes) and an admin client certificate (common name
 * root) for the package's scripts on that member, each member with keys of its own; and one
 * application client certificate whose common name is the application's etcd user, never root.
 * Every certificate but the CA renews on `pulumi up` within earlyRenewalHours of expiry; the CA
 * lives ten times their validity so renewals never need a new trust root.
 */
export class EtcdPki extends pulumi.ComponentResource {
    /** The CA certificate clients and members trust. */
    public readonly caCertPem: pulumi.Output<string>;
    /** Application client certificate: common name `clientUser`. */
    public readonly clientCertPem: pulumi.Output<string>;
    /** The application certificate's private key (secret). */
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
            // Both replace the CA (the tls provider's validity_period_hours is RequiresReplace, a nearer renewal
            // marks it ready for renewal), and a new trust root rolled one member at a time splits the cluster:
            // a certificateValidityDays change reissues the others under the same CA; the CA keeps its own.
            { ...parent, ignoreChanges: ["validityPeriodHours", "earlyRenewalHours"] },
        );
        const clientRequest = (role: string, key: tls.PrivateKey, commonName: string): tls.CertRequest =>
            new tls.CertRequest(
                `${name}-${role}-csr`,
                { privateKeyPem: key.privateKeyPem, subject: { commonName, organization: "etcd-aws" } },
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
            // Not the names of the graph before the network interfaces (`-server-csr`, `-server`, ...): there these
            // depended on the instance, replaced delete-before-replace, and the engine deletes such dependents from
            // its old state when the instance's replacement starts, even if they were already replaced under the
            // same names earlier in that update (the request follows the interface, which exists first): two states
            // of one name, the snapshot check fails (pulumi/pulumi#13848). New names are created; the old are deleted.
            const request = (role: string): tls.CertRequest =>
                new tls.CertRequest(
                    `${name}-${member.name}-${role}-request`,
                    {
                        privateKeyPem: key.privateKeyPem,
                        subject: { commonName: member.name, organization: "etcd-aws" },
                        dnsNames: member.dnsNames,
                        ipAddresses: member.ipAddresses,
                    },
                    parent,
                );
            // Its own key: the admin certificate is root, the server and peer certificates are not.
            const adminKey = new tls.PrivateKey(`${name}-${member.name}-admin-key`, KEY, parent);
            const admin = `${member.name}-admin`;
            return {
                // client_auth too: etcd's gRPC gateway (the /v3 JSON API) dials etcd with this certificate.
                serverCertPem: sign(`${member.name}-server-cert`, request("server"), ["server_auth", "client_auth"])
                    .certPem,
                peerCertPem: sign(`${member.name}-peer-cert`, request("peer"), ["server_auth", "client_auth"]).certPem,
                keyPem: pulumi.secret(key.privateKeyPem),
                adminCertPem: sign(admin, clientRequest(admin, adminKey, "root"), ["client_auth"]).certPem,
                adminKeyPem: pulumi.secret(adminKey.privateKeyPem),
            };
        });

        // A new key, not the one of the former root client certificate (`-client-*`): with that key,
        // whoever found the old certificate (public text) would still be root until it expires.
        const appKey = new tls.PrivateKey(`${name}-app-key`, KEY, parent);
        this.caCertPem = ca.certPem;
        this.clientCertPem = sign("app", clientRequest("app", appKey, args.clientUser), ["client_auth"]).certPem;
        this.clientKeyPem = pulumi.secret(appKey.privateKeyPem);
        this.registerOutputs({
            caCertPem: this.caCertPem,
            clientCertPem: this.clientCertPem,
            clientKeyPem: this.clientKeyPem,
        });
    }
}
