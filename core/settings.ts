// The plain settings of a cluster as a user writes them (stack config or component args),
// and their defaults. Resource references (VPC, subnets, zone, keys) are not here: they are
// Pulumi inputs and live in the component's Args.

/** Settings for bootstrapping through an etcd discovery service (bootstrapMode "discovery"). */
export interface DiscoverySettings {
    /**
     * Discovery protocol. "v3" (etcd 3.6+): `--discovery-token` and `--discovery-endpoints` against
     * a discovery etcd cluster. "v2" (etcd 3.4-3.6): `--discovery <url>` against a v2 keys API.
     * Default: "v3" where the etcd version has it, else "v2".
     */
    protocol?: string;
    /**
     * v3: client URLs of the discovery etcd cluster, e.g. ["http://10.0.0.5:2379"]. The package
     * writes the size key there before members start. Required for v3.
     */
    endpoints?: string[];
    /**
     * v2: base URL of a v2 keys directory on a discovery etcd, e.g.
     * "http://10.0.0.5:2379/v2/keys/_etcd/registry". The token is appended and the size is
     * registered under it before members start. Give this or `url`, not both.
     */
    serviceUrl?: string;
    /**
     * v2: a ready discovery URL whose size is already registered, as a public-style service
     * returns from `/new?size=N`. Needs `size` so the member count can be checked against it.
     */
    url?: string;
    /**
     * Number of members the token admits. Default: the member count. Required with `url`, since
     * the service fixed it; more members than this would fail with "cluster is full".
     */
    size?: number;
    /** v2: HTTP proxy for discovery traffic (`--discovery-proxy`). Default: none. */
    proxy?: string;
}

/** Plain settings of an etcd cluster; every field is optional except where noted. */
export interface ClusterSettings {
    /** Number of members: 1, 3, 5 or 7 (odd, so a majority survives). Default 3. */
    memberCount?: number;
    /** etcd release to install, "3.4.x" to "3.7.x". Default: a current 3.6 release. */
    etcdVersion?: string;
    /**
     * How members find each other the first time: "static" (`--initial-cluster`), "dns"
     * (`--discovery-srv` over the Route53 SRV records) or "discovery" (an etcd discovery
     * service). Default "static".
     */
    bootstrapMode?: string;
    /** Mutual TLS for clients and peers, with certificates made by the package. Default true. */
    tls?: boolean;
    /**
     * etcd authentication: a root user with a generated password (secret output), enabled once
     * the cluster is healthy, and the application user `clientUser` with its role. The package's
     * own scripts authenticate with each member's admin certificate (common name "root"), which
     * never leaves its member. Needs tls. Default false.
     */
    auth?: boolean;
    /**
     * etcd user of the application client certificate (the `clientCertPem` output): its common
     * name, which etcd takes as the user under `--client-cert-auth`. With auth on, the package
     * creates this user (no password: the certificate is its credential) and a role of the same
     * name limited to `clientKeyPrefix`. Default "app". Not "root": whoever holds the exported
     * certificate would then administer the cluster (add users, turn auth off).
     */
    clientUser?: string;
    /**
     * Keys the application user may read and write when auth is on, as a prefix, e.g. "orders/".
     * Default "": the whole keyspace, read-write, so an application works as before; it still
     * cannot manage users, roles or authentication, which only root can. Give a prefix to confine
     * the application to its own keys. The package owns the role: permissions added to it by hand
     * are revoked on the next deployment (grant other roles to the user instead).
     */
    clientKeyPrefix?: string;
    /** Validity of the member and client certificates in days, 1 to 3650. Default 365. */
    certificateValidityDays?: number;
    /**
     * `pulumi up` renews a certificate when it has fewer than this many days left, 1 to less than
     * the validity. Default 30.
     */
    certificateRenewalDays?: number;
    /**
     * DNS domain of the members (`<member>.<domain>`) and the SRV records. Default
     * `<cluster name>.etcd.internal`, one private zone per cluster so SRV sets never mix.
     */
    domain?: string;
    /** `--discovery-srv-name`: SRV service names get a `-<name>` suffix. Default: none. */
    srvName?: string;
    /**
     * `--initial-cluster-token`. Default `<project>-<stack>-<cluster name>`, unique per cluster
     * and stack; etcd derives member and cluster IDs from it, so two clusters must never share one.
     */
    clusterToken?: string;
    /** CIDRs of clients allowed to reach port 2379 (members always can). Default: none. */
    clientCidrs?: string[];
    /** CIDRs allowed to SSH (port 22), for operators and the deployment's remote commands. Default: none. */
    sshCidrs?: string[];
    /** CIDRs of monitoring systems allowed to scrape metrics on port 2381. Default: none. */
    monitoringCidrs?: string[];
    /**
     * Allow 0.0.0.0/0 in the CIDR lists above. Default false: an etcd open to the internet is
     * almost always a mistake, so it needs this explicit switch (and prints a warning).
     */
    allowPublicAccess?: boolean;
    /** EC2 instance type. Default "t3.medium" (2 vCPU, 4 GiB: etcd's small-cluster guidance). */
    instanceType?: string;
    /**
     * Size of each member's data volume in GiB, 8 to 16384. Default 20. It also sizes etcd's backend
     * quota (`--quota-backend-bytes`): half of the volume after 1 GiB for the write-ahead log (a
     * defragmentation or a snapshot sent to the member writes a second copy of the database), at
     * most etcd's suggested 8 GiB. An explicit quota-backend-bytes in extraFlags wins, if it fits.
     */
    volumeSizeGiB?: number;
    /** EBS type of the data volume: "gp3", "gp2", "io1" or "io2". Default "gp3" (SSD, 3000 IOPS baseline). */
    volumeType?: string;
    /** Provisioned IOPS for io1/io2 (100 to 64000). Default: none. */
    volumeIops?: number;
    /**
     * What the install does with its measurement of the data volume's fsync latency (fio, as etcd's
     * hardware guide does): "warn" reports a p99 above the guide's 10 ms and goes on, "fail" stops
     * the install there, "off" skips the measurement. Default "warn". Why: etcd writes its log with
     * an fsync on every commit, so a slow disk (a small gp2 volume out of burst credits) shows up as
     * missed heartbeats and leader elections long after the deployment looked fine; the stack output
     * `diskChecks` says what each member measured.
     */
    diskCheck?: string;
    /** Base URL of the etcd release mirror (`<base>/v<version>/etcd-v<version>-linux-amd64.tar.gz`). Default: GitHub releases. */
    mirrorBaseUrl?: string;
    /** Expected SHA-256 of the release tarball, checked besides SHA256SUMS. Default: none. */
    etcdSha256?: string;
    /**
     * How members compact old revisions (`--auto-compaction-mode`): "periodic" keeps a span of
     * time, "revision" a number of revisions. Default "periodic". Why: etcd keeps every revision
     * until it is compacted, so without compaction the database grows until it reaches its quota
     * and etcd turns read-only (the NOSPACE alarm).
     */
    autoCompactionMode?: string;
    /**
     * How much history compaction keeps (`--auto-compaction-retention`): a duration such as "1h"
     * or "30m" (or a whole number of hours) in periodic mode, a number of revisions in revision
     * mode; "0" turns compaction off. Default "1h" (periodic) or "1000" (revision). Why: a watcher
     * that falls further behind than this has to read its keys again, while longer history makes
     * the database larger.
     */
    autoCompactionRetention?: string;
    /** Extra etcd flags for every member, without dashes: {"snapshot-count": "10000"}. Default: none. */
    extraFlags?: Record<string, string>;
    /** Client port. Default 2379. */
    clientPort?: number;
    /** Peer port. Default 2380. */
    peerPort?: number;
    /** Metrics port (`--listen-metrics-urls`). Default 2381. */
    metricsPort?: number;
    /** Discovery service settings; only with bootstrapMode "discovery". */
    discovery?: DiscoverySettings;
    /**
     * S3 bucket of the cluster's backups. Default: none (no backups). Set, every member gets a
     * backup timer (one member per interval uploads a checked snapshot), an instance profile that
     * may write only under the cluster's prefix, and the snapshot before every risky change is
     * uploaded too. Why no default: S3 bucket names are global.
     */
    backupBucket?: string;
    /**
     * false: the bucket exists (its owner set its protections), and only the members' role and
     * instance profile are made. Default true: the bucket is made with versioning, encryption, public
     * access blocked, a TLS-only policy and a lifecycle rule. Why: many accounts keep one backup bucket.
     */
    backupCreateBucket?: boolean;
    /** Key prefix: backups are under `<prefix>/<clusterName>/`. Default "etcd-backups". Why: clusters share a bucket. */
    backupPrefix?: string;
    /**
     * Minutes between two backups of the cluster, 1 or more. Default 60. Why: it bounds the data
     * a restore can lose to an interval's writes.
     */
    backupIntervalMinutes?: number;
    /** Days a backup is kept, 1 or more. Default 7. Why: a week covers a problem found after a weekend. */
    backupRetentionDays?: number;
    /**
     * S3 Object Lock of a bucket made here: "off", "governance" or "compliance" (every backup locked
     * for the retention days). Default "off". Why opt-in: S3 sets it at creation, so changing it
     * replaces the bucket, and compliance cannot be lifted.
     */
    backupObjectLock?: string;
    /** The S3 endpoint as members reach it (path-style). Default `https://s3.<region>.amazonaws.com`. */
    backupS3Endpoint?: string;
    /** The members' instance metadata service (the instance profile's credentials). Default EC2's, http://169.254.169.254. */
    backupImdsEndpoint?: string;
    /**
     * PEM of the CA that signed the S3 endpoint's certificate, for an endpoint the members' system
     * trust store does not trust. Default empty: the system's trust store (AWS's S3). Why: an S3
     * stand-in (the local cloud's, a private gateway) has its own CA, and curl must verify it.
     */
    backupS3CaPem?: string;
    /**
     * `s3://<bucket>/<key>` of a backup of this cluster (under `<backupPrefix>/<clusterName>/` of
     * backupBucket): the next deployment restores it on every member, as a new cluster (a token of
     * its own, derived from the URI), discarding the current data. Default empty: no restore. Why no
     * default: a restore loses every write after the backup. Needs restoreDiscardsCurrentData.
     */
    restoreFromSnapshot?: string;
    /**
     * The cluster's name, stating that restoreFromSnapshot may discard its current data. Default
     * empty. Why: a restore must never follow from a copied stack file or a typo alone.
     */
    restoreDiscardsCurrentData?: string;
}

export const DEFAULTS = {
    memberCount: 3,
    bootstrapMode: "static",
    tls: true,
    auth: false,
    clientUser: "app",
    clientKeyPrefix: "",
    certificateValidityDays: 365,
    certificateRenewalDays: 30,
    instanceType: "t3.medium",
    volumeSizeGiB: 20,
    volumeType: "gp3",
    diskCheck: "warn",
    autoCompactionMode: "periodic",
    mirrorBaseUrl: "https://github.com/etcd-io/etcd/releases/download",
    backupCreateBucket: true,
    backupPrefix: "etcd-backups",
    backupIntervalMinutes: 60,
    backupRetentionDays: 7,
    backupObjectLock: "off",
} as const;
