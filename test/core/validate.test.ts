import * as assert from "node:assert/strict";
import { ClusterSettings, DEFAULT_ETCD_VERSION, MEMBER_COUNTS, validateSettings, ValidationContext } from "../../core";
import { CONTEXT, refused, resolve } from "./helpers";
import { at } from "../helpers/elements";

interface InvalidRow {
    /** What is wrong, as the test name says it. */
    readonly name: string;
    readonly settings: ClusterSettings;
    readonly clusterName?: string;
    readonly context?: ValidationContext;
    /** Every problem reported, as [setting, value], in order. */
    readonly problems: readonly (readonly [string, unknown])[];
    /** Text the first problem's description contains. */
    readonly problem: string;
    /** Text the first problem's fix contains (and so the error message). */
    readonly fix: string;
}

/** Settings given with a wrong type on purpose (as a YAML stack file can). */
function raw(settings: Record<string, unknown>): ClusterSettings {
    return settings as ClusterSettings;
}

/** The warnings of settings that validate. */
function warningsOf(settings: ClusterSettings): readonly string[] {
    const { problems, warnings } = validateSettings("orders", settings, CONTEXT);
    assert.deepEqual(problems, []);
    return warnings;
}

const V2_SERVICE = "http://10.0.0.5:2379/v2/keys/_etcd/registry";
const V3_ENDPOINTS = ["http://10.0.0.5:2379"];
const SHA = "a".repeat(64);

const INVALID: readonly InvalidRow[] = [
    // member counts
    ...[0, 2, 4, 8].map((count) => ({
        name: `memberCount ${count} (even)`,
        settings: { memberCount: count },
        problems: [["memberCount", count]] as const,
        problem: "an even member count tolerates no more failures than the odd count below it",
        fix: "use one of 1, 3, 5, 7 (3 for most clusters, 5 to survive two failures)",
    })),
    ...[-1, 1.5, 9].map((count) => ({
        name: `memberCount ${count} (not an odd count up to 7)`,
        settings: { memberCount: count },
        problems: [["memberCount", count]] as const,
        problem: "etcd clusters are run with an odd number of members, at most 7",
        fix: "use one of 1, 3, 5, 7",
    })),
    {
        name: 'memberCount "3" (a string)',
        settings: raw({ memberCount: "3" }),
        problems: [["memberCount", "3"]],
        problem: "is a string where a number belongs",
        fix: "write a number for memberCount, e.g. 3, or remove it for the default",
    },
    // versions
    ...["3.3.0", "3.8.1", "latest", "3.6", "3.6.x", "4.0.0"].map((version) => ({
        name: `etcdVersion "${version}"`,
        settings: { etcdVersion: version },
        problems: [["etcdVersion", version]] as const,
        problem: "not a supported etcd release (lines 3.4, 3.5, 3.6, 3.7)",
        fix: `give a full release such as "${DEFAULT_ETCD_VERSION}"`,
    })),
    // modes and tls
    ...["srv", "Static", "discovery-v3", ""].map((mode) => ({
        name: `bootstrapMode "${mode}"`,
        settings: { bootstrapMode: mode },
        problems: [["bootstrapMode", mode]] as const,
        problem: "unknown bootstrap mode",
        fix: 'use one of "static", "dns", "discovery"',
    })),
    {
        name: 'tls "yes" (not a boolean)',
        settings: raw({ tls: "yes" }),
        problems: [["tls", "yes"]],
        problem: "is a string where true or false belongs",
        fix: "write true or false for tls, e.g. true",
    },
    {
        name: "dns bootstrap without tls on etcd 3.4 (plain-http SRV records are dropped)",
        settings: { bootstrapMode: "dns", tls: false, etcdVersion: "3.4.45" },
        problems: [["tls", false]],
        problem:
            "etcd 3.4.45 cannot bootstrap from plain-http _etcd-server._tcp records (only _etcd-server-ssl works on 3.4)",
        fix: 'enable tls, use etcd 3.5 or later, or use bootstrapMode "static"',
    },
    // discovery protocol by version
    ...["3.4.45", "3.5.33"].map((version) => ({
        name: `discovery v3 on etcd ${version}`,
        settings: {
            bootstrapMode: "discovery",
            etcdVersion: version,
            discovery: { protocol: "v3", endpoints: V3_ENDPOINTS },
        },
        problems: [["discovery.protocol", "v3"]] as const,
        problem: `etcd ${version} has no v3 discovery (--discovery-token arrived in 3.6)`,
        fix: 'set discovery.protocol to "v2" with a v2 discovery service, or use etcd 3.6+',
    })),
    {
        name: "discovery v2 on etcd 3.7",
        settings: {
            bootstrapMode: "discovery",
            etcdVersion: "3.7.1",
            discovery: { protocol: "v2", serviceUrl: V2_SERVICE },
        },
        problems: [["discovery.protocol", "v2"]],
        problem: "etcd 3.7.1 removed v2 discovery (--discovery <url>)",
        fix: 'set discovery.protocol to "v3" with discovery.endpoints',
    },
    {
        name: "a v2 serviceUrl on etcd 3.7, where the protocol defaults to v3",
        settings: { bootstrapMode: "discovery", etcdVersion: "3.7.1", discovery: { serviceUrl: V2_SERVICE } },
        problems: [
            ["discovery.serviceUrl", V2_SERVICE],
            ["discovery.endpoints", undefined],
        ],
        problem: "is a v2 discovery setting",
        fix: 'remove it, or set discovery.protocol: "v2"',
    },
    {
        name: 'discovery protocol "v4"',
        settings: { bootstrapMode: "discovery", discovery: { protocol: "v4" } },
        problems: [["discovery.protocol", "v4"]],
        problem: "unknown discovery protocol",
        fix: 'use "v3" (etcd 3.6+) or "v2" (etcd 3.4-3.6)',
    },
    // discovery size
    {
        name: "a ready discovery URL without its size",
        settings: {
            bootstrapMode: "discovery",
            etcdVersion: "3.5.33",
            discovery: { url: "https://discovery.example.com/abc123" },
        },
        problems: [["discovery.size", undefined]],
        problem: "a ready discovery URL was given without the size it was created with",
        fix: "set discovery.size to the size the service registered (the N of /new?size=N)",
    },
    {
        name: "discovery size 2 for 3 members (the third gets 'cluster is full')",
        settings: { bootstrapMode: "discovery", discovery: { endpoints: V3_ENDPOINTS, size: 2 } },
        problems: [["discovery.size", 2]],
        problem: '3 members on a token of size 2: member 3 on would fail with "discovery: cluster is full"',
        fix: "set discovery.size to 3 (or lower memberCount)",
    },
    {
        name: "discovery size 5 for 3 members (they would wait forever for two more)",
        settings: { bootstrapMode: "discovery", discovery: { endpoints: V3_ENDPOINTS, size: 5 } },
        problems: [["discovery.size", 5]],
        problem: "a token of size 5 makes the members wait for 5 registrations, but only 3 members start",
        fix: "set discovery.size to 3 (or raise memberCount to 5)",
    },
    ...[0, 2.5].map((size) => ({
        name: `discovery size ${size}`,
        settings: { bootstrapMode: "discovery", discovery: { endpoints: V3_ENDPOINTS, size } },
        problems: [["discovery.size", size]] as const,
        problem: "must be a positive integer",
        fix: "use the member count",
    })),
    // discovery settings in the wrong place or shape
    ...["static", "dns"].map((mode) => ({
        name: `discovery settings with bootstrapMode "${mode}"`,
        settings: { bootstrapMode: mode, discovery: { endpoints: V3_ENDPOINTS } },
        problems: [["discovery", { endpoints: V3_ENDPOINTS }]] as const,
        problem: `discovery settings conflict with bootstrapMode "${mode}" (etcd refuses two bootstrap methods at once)`,
        fix: 'remove the discovery settings, or set bootstrapMode to "discovery"',
    })),
    {
        name: "v2 discovery with both serviceUrl and url",
        settings: {
            bootstrapMode: "discovery",
            etcdVersion: "3.5.33",
            discovery: { serviceUrl: V2_SERVICE, url: `${V2_SERVICE}/abc`, size: 3 },
        },
        // The ready URL's path is its token, so the message masks it.
        problems: [["discovery.serviceUrl/discovery.url", { serviceUrl: V2_SERVICE, url: "http://10.0.0.5:2379/***" }]],
        problem: "v2 discovery needs exactly one of them",
        fix: "give discovery.serviceUrl (the package registers a new token there) or discovery.url (a ready token URL, with discovery.size)",
    },
    {
        name: "v2 discovery with neither serviceUrl nor url",
        settings: { bootstrapMode: "discovery", etcdVersion: "3.5.33", discovery: {} },
        problems: [["discovery.serviceUrl/discovery.url", { serviceUrl: undefined, url: undefined }]],
        problem: "v2 discovery needs exactly one of them",
        fix: "give discovery.serviceUrl",
    },
    {
        name: "v2 discovery with a serviceUrl that is not a URL",
        settings: { bootstrapMode: "discovery", etcdVersion: "3.5.33", discovery: { serviceUrl: "10.0.0.5/v2/keys" } },
        problems: [["discovery.serviceUrl", "10.0.0.5/v2/keys"]],
        problem: "is not an http(s) URL",
        fix: "write a full URL with scheme and host",
    },
    {
        name: "v2 discovery with v3 endpoints",
        settings: {
            bootstrapMode: "discovery",
            etcdVersion: "3.5.33",
            discovery: { serviceUrl: V2_SERVICE, endpoints: V3_ENDPOINTS },
        },
        problems: [["discovery.endpoints", V3_ENDPOINTS]],
        problem: "is a v3 discovery setting",
        fix: 'remove it, or set discovery.protocol to "v3" (etcd 3.6+)',
    },
    {
        name: "v3 discovery with a v2 proxy",
        settings: { bootstrapMode: "discovery", discovery: { endpoints: V3_ENDPOINTS, proxy: "http://10.0.0.6:3128" } },
        problems: [["discovery.proxy", "http://10.0.0.6:3128"]],
        problem: "is a v2 discovery setting",
        fix: 'remove it, or set discovery.protocol: "v2"',
    },
    {
        name: "v3 discovery with no endpoints",
        settings: { bootstrapMode: "discovery", discovery: { endpoints: [] } },
        problems: [["discovery.endpoints", []]],
        problem: "v3 discovery needs the client URLs of the discovery etcd cluster",
        fix: 'set discovery.endpoints, e.g. ["http://10.0.0.5:2379"]',
    },
    {
        name: "v3 discovery endpoints without a scheme or with a non-http scheme",
        settings: {
            bootstrapMode: "discovery",
            discovery: { endpoints: ["10.0.0.5:2379", "http://10.0.0.6:2379", "grpc://10.0.0.7:2379"] },
        },
        problems: [
            ["discovery.endpoints[0]", "10.0.0.5:2379"],
            ["discovery.endpoints[2]", "grpc://10.0.0.7:2379"],
        ],
        problem: "is not an http(s) URL",
        fix: "write e.g. http://10.0.0.5:2379",
    },
    // CIDRs
    {
        name: "a client CIDR with prefix /33",
        settings: { clientCidrs: ["10.0.0.0/33"] },
        problems: [["clientCidrs[0]", "10.0.0.0/33"]],
        problem: "is not an IPv4 CIDR like 10.0.0.0/16",
        fix: "give an IPv4 CIDR with zero host bits",
    },
    {
        name: "a client CIDR with host bits set",
        settings: { clientCidrs: ["10.0.0.0/8", "10.1.2.3/16"] },
        problems: [["clientCidrs[1]", "10.1.2.3/16"]],
        problem: "has host bits set; the network is 10.1.0.0/16",
        fix: "give an IPv4 CIDR with zero host bits",
    },
    {
        name: "an SSH CIDR that is a plain address",
        settings: { sshCidrs: ["203.0.113.7"] },
        problems: [["sshCidrs[0]", "203.0.113.7"]],
        problem: "is not an IPv4 CIDR",
        fix: "give an IPv4 CIDR with zero host bits",
    },
    {
        name: "a monitoring CIDR with an octet above 255",
        settings: { monitoringCidrs: ["256.0.0.0/8"] },
        problems: [["monitoringCidrs[0]", "256.0.0.0/8"]],
        problem: "is not an IPv4 CIDR",
        fix: "give an IPv4 CIDR with zero host bits",
    },
    {
        name: "clientCidrs given as one string instead of a list",
        settings: raw({ clientCidrs: "10.0.0.0/8" }),
        problems: [["clientCidrs", "10.0.0.0/8"]],
        problem: "is a string where a list of strings belongs",
        fix: 'write a list of strings for clientCidrs, e.g. ["10.0.0.0/16"]',
    },
    ...(["clientCidrs", "sshCidrs", "monitoringCidrs"] as const).map((setting) => ({
        name: `0.0.0.0/0 in ${setting} without allowPublicAccess`,
        settings: { [setting]: ["10.0.0.0/16", "0.0.0.0/0"] },
        problems: [[`${setting}[1]`, "0.0.0.0/0"]] as const,
        problem: "opens etcd's ports to the whole internet",
        fix: "set allowPublicAccess: true if you really mean it",
    })),
    // instances and volumes
    ...["t3", "T3.medium", "t3.medium ", ""].map((type) => ({
        name: `instanceType ${JSON.stringify(type)}`,
        settings: { instanceType: type },
        problems: [["instanceType", type]] as const,
        problem: "is not an EC2 instance type",
        fix: 'write e.g. "t3.medium" or "m6i.large"',
    })),
    ...[7, 16385, 20.5, 0].map((size) => ({
        name: `volumeSizeGiB ${size}`,
        settings: { volumeSizeGiB: size },
        problems: [["volumeSizeGiB", size]] as const,
        problem: "must be a whole number of GiB from 8 to 16384",
        fix: "use 20 or more for production",
    })),
    ...["st1", "standard", "GP3"].map((type) => ({
        name: `volumeType "${type}"`,
        settings: { volumeType: type },
        problems: [["volumeType", type]] as const,
        problem: "etcd needs SSD-backed storage",
        fix: "use one of gp3, gp2, io1, io2",
    })),
    ...[99, 64001, 3000.5].map((iops) => ({
        name: `volumeIops ${iops} on io1`,
        settings: { volumeType: "io1", volumeIops: iops },
        problems: [["volumeIops", iops]] as const,
        problem: "must be a whole number from 100 to 64000",
        fix: "remove it for gp3's 3000 IOPS baseline",
    })),
    ...["io1", "io2"].map((type) => ({
        name: `volumeType ${type} without volumeIops`,
        settings: { volumeType: type },
        problems: [["volumeIops", undefined]] as const,
        problem: `${type} volumes need provisioned IOPS`,
        fix: "set volumeIops, e.g. 3000",
    })),
    {
        name: "volumeIops on a gp2 volume (EC2 refuses it)",
        settings: { volumeType: "gp2", volumeIops: 3000 },
        problems: [["volumeIops", 3000]],
        problem: "gp2 volumes have no provisioned IOPS",
        fix: 'remove volumeIops, or use volumeType "gp3", "io1" or "io2"',
    },
    // backups
    {
        name: "backupBucket that S3 refuses",
        settings: { backupBucket: "Orders_Backups" },
        problems: [["backupBucket", "Orders_Backups"]],
        problem: "is not an S3 bucket name",
        fix: 'write e.g. "orders-etcd-backups"',
    },
    {
        name: "backupIntervalMinutes 0",
        settings: { backupBucket: "orders-backups", backupIntervalMinutes: 0 },
        problems: [["backupIntervalMinutes", 0]],
        problem: "must be a whole number of minutes, 1 or more",
        fix: "use 60 (hourly)",
    },
    {
        name: "backupRetentionDays 1.5",
        settings: { backupRetentionDays: 1.5 },
        problems: [["backupRetentionDays", 1.5]],
        problem: "must be a whole number of days, 1 or more",
        fix: "use 7",
    },
    {
        name: 'backupObjectLock "forever"',
        settings: { backupBucket: "orders-backups", backupObjectLock: "forever" },
        problems: [["backupObjectLock", "forever"]],
        problem: "S3 Object Lock retains every backup in governance or compliance mode, or is off",
        fix: 'use one of "off", "governance", "compliance"',
    },
    {
        name: "backupPrefix with a leading slash",
        settings: { backupPrefix: "/prod" },
        problems: [["backupPrefix", "/prod"]],
        problem: 'may hold only letters, digits, ".", "_", "-" and "/" between them',
        fix: 'write e.g. "etcd-backups" or "prod/etcd"',
    },
    {
        name: "backupS3Endpoint without a scheme",
        settings: { backupS3Endpoint: "s3.eu-west-1.amazonaws.com" },
        problems: [["backupS3Endpoint", "s3.eu-west-1.amazonaws.com"]],
        problem: "is not a scheme and host (no path)",
        fix: 'write e.g. "https://s3.eu-west-1.amazonaws.com"',
    },
    ...["on", "FAIL", ""].map((diskCheck) => ({
        name: `diskCheck ${JSON.stringify(diskCheck)}`,
        settings: { diskCheck },
        problems: [["diskCheck", diskCheck]] as const,
        problem: "stops there (fail) or does not measure (off)",
        fix: 'use one of "warn", "fail", "off"',
    })),
    {
        name: "volumeIops below gp3's 3000 baseline",
        settings: { volumeIops: 1000 },
        problems: [["volumeIops", 1000]],
        problem: "gp3 volumes take 3000 IOPS or more",
        fix: "remove volumeIops for the baseline, or set 3000 or more",
    },
    // ports
    ...(
        [
            ["clientPort", 80],
            ["peerPort", 70000],
            ["metricsPort", 1023],
            ["clientPort", 2379.5],
        ] as const
    ).map(([setting, port]) => ({
        name: `${setting} ${port} (out of range)`,
        settings: { [setting]: port },
        problems: [[setting, port]] as const,
        problem: "ports must be integers from 1024 to 65535 (etcd runs unprivileged)",
        fix: "use the default or another free port",
    })),
    {
        name: 'clientPort "2379" (a string)',
        settings: raw({ clientPort: "2379" }),
        problems: [["clientPort", "2379"]],
        problem: "is a string where a number belongs",
        fix: "write a number for clientPort, e.g. 2379",
    },
    {
        name: "metricsPort 22 (SSH)",
        settings: { metricsPort: 22 },
        problems: [["metricsPort", 22]],
        problem: "port 22 is SSH",
        fix: "pick another port",
    },
    {
        name: "peerPort equal to the client port",
        settings: { peerPort: 2379 },
        problems: [["clientPort/peerPort/metricsPort", [2379, 2379, 2381]]],
        problem: "client, peer and metrics ports must differ",
        fix: "give each its own port (defaults 2379, 2380, 2381)",
    },
    // extra flags: managed, unknown, malformed
    ...(
        [
            ["initial-cluster", "orders-0=http://10.0.1.10:2380"],
            ["--name", "orders-0"],
            ["data-dir", "/data"],
            ["discovery-srv", "example.com"],
            ["listen-client-urls", "http://0.0.0.0:2379"],
            ["peer-cert-file", "/tmp/peer.crt"],
        ] as const
    ).map(([flag, value]) => ({
        name: `extraFlags "${flag}" (derived by the package)`,
        settings: { extraFlags: { [flag]: value } },
        problems: [[`extraFlags.${flag}`, value]] as const,
        problem: `--${flag.replace(/^-+/, "")} is derived from the cluster's shape`,
        fix: "remove it; use the package's settings (bootstrapMode, domain, discovery, tls, ports) instead",
    })),
    {
        name: "extraFlags config-file (etcd would ignore every rendered flag)",
        settings: { extraFlags: { "config-file": "/etc/etcd/etcd.yaml" } },
        problems: [["extraFlags.config-file", "/etc/etcd/etcd.yaml"]],
        problem: "with --config-file etcd ignores every other flag and ETCD_* variable",
        fix: "remove it; give the settings you need as single extraFlags",
    },
    {
        name: "extraFlags experimental-enable-v2v3 on etcd 3.7 (removed in 3.6, no successor)",
        settings: { etcdVersion: "3.7.1", extraFlags: { "experimental-enable-v2v3": "/v2" } },
        problems: [["extraFlags.experimental-enable-v2v3", "/v2"]],
        problem: "etcd 3.6 removed --experimental-enable-v2v3, so etcd 3.7.1 would refuse to start with it",
        fix: "remove it or correct its name (see `etcd --help` of that version)",
    },
    {
        name: "extraFlags enable-v2 on etcd 3.6 (removed there)",
        settings: { extraFlags: { "enable-v2": "true" } },
        problems: [["extraFlags.enable-v2", "true"]],
        problem: "etcd 3.6 removed --enable-v2, so etcd 3.6.14 would refuse to start with it",
        fix: "remove it or correct its name (see `etcd --help` of that version)",
    },
    {
        name: "extraFlags with a misspelt flag",
        settings: { extraFlags: { "snapshot-counts": "10000" } },
        problems: [["extraFlags.snapshot-counts", "10000"]],
        problem: "has no --snapshot-counts flag",
        fix: "remove it or correct its name",
    },
    ...(["it's", "a\\b", "a\nb"] as const).map((value) => ({
        name: `extraFlags value ${JSON.stringify(value)} (quote, backslash or newline)`,
        settings: { extraFlags: { cors: value } },
        problems: [["extraFlags.cors", value]] as const,
        problem: "flag values must be strings without newlines, quotes or backslashes",
        fix: "quote the value as a plain string",
    })),
    {
        name: "extraFlags value given as a number",
        settings: raw({ extraFlags: { "snapshot-count": 10000 } }),
        problems: [["extraFlags.snapshot-count", 10000]],
        problem: "flag values must be strings",
        fix: "quote the value as a plain string",
    },
    {
        name: "extraFlags given as a list",
        settings: raw({ extraFlags: ["snapshot-count=10000"] }),
        problems: [["extraFlags", ["snapshot-count=10000"]]],
        problem: "is a list where a map of names to values belongs",
        fix: 'write a map of names to values for extraFlags, e.g. {"snapshot-count":"10000"}',
    },
    // etcd 0.4 flags
    ...(
        [
            ["-peer-addr", "initial-advertise-peer-urls"],
            ["-addr", "advertise-client-urls"],
            ["-bind-addr", "listen-client-urls"],
            ["-peer-bind-addr", "listen-peer-urls"],
        ] as const
    ).map(([flag, successor]) => ({
        name: `etcd 0.4 flag ${flag} (refused, successor --${successor} named)`,
        settings: { extraFlags: { [flag]: "10.0.0.1:7001" } },
        problems: [[`extraFlags.${flag}`, "10.0.0.1:7001"]] as const,
        problem: `etcd 0.4's ${flag} became --${successor} (a URL list), which this package derives from each member's address`,
        fix: "remove it; ports are set with clientPort/peerPort",
    })),
    ...["-peers", "-peers-file"].map((flag) => ({
        name: `etcd 0.4 flag ${flag} (refused, successor --initial-cluster named)`,
        settings: { extraFlags: { [flag]: "10.0.0.1:7001,10.0.0.2:7001" } },
        problems: [[`extraFlags.${flag}`, "10.0.0.1:7001,10.0.0.2:7001"]] as const,
        problem: `etcd 0.4's ${flag} became --initial-cluster, which needs member names the old host:port list lacks`,
        fix: 'remove it; use bootstrapMode "static" (the package writes --initial-cluster), "dns" or "discovery"',
    })),
    // election timeout vs heartbeat
    {
        name: "heartbeat-interval 300 with the default election timeout of 1000",
        settings: { extraFlags: { "heartbeat-interval": "300" } },
        problems: [["extraFlags.election-timeout", "1000 (default)"]],
        problem: "the election timeout must be at least 5 times the heartbeat interval (300 ms)",
        fix: "set election-timeout to 1500 or more, or lower heartbeat-interval",
    },
    {
        name: "election-timeout 400 with the default heartbeat of 100",
        settings: { extraFlags: { "election-timeout": "400" } },
        problems: [["extraFlags.election-timeout", "400"]],
        problem: "at least 5 times the heartbeat interval (100 ms)",
        fix: "set election-timeout to 500 or more",
    },
    {
        name: "renamed 0.4 flags -peer-heartbeat-interval 250 and -peer-election-timeout 1000 (below 5x)",
        settings: { extraFlags: { "-peer-heartbeat-interval": "250", "-peer-election-timeout": "1000" } },
        problems: [["extraFlags.election-timeout", "1000"]],
        problem: "(250 ms)",
        fix: "set election-timeout to 1250 or more",
    },
    // certificates
    ...[0, 3651, 1.5].map((days) => ({
        name: `certificateValidityDays ${days}`,
        settings: { certificateValidityDays: days },
        problems: [["certificateValidityDays", days]] as const,
        problem: "must be a whole number of days from 1 to 3650",
        fix: "use 365 (renewed by pulumi up before expiry)",
    })),
    ...(
        [
            [0, undefined],
            [365, undefined],
            [30, 30],
            [2.5, undefined],
        ] as const
    ).map(([renewal, validity]) => ({
        name: `certificateRenewalDays ${renewal} with a validity of ${validity ?? 365} days`,
        settings: { certificateRenewalDays: renewal, certificateValidityDays: validity },
        problems: [["certificateRenewalDays", renewal]] as const,
        problem: `must be a whole number of days from 1 to less than the validity (${validity ?? 365})`,
        fix: "use about a tenth of the validity, e.g. 30 for 365",
    })),
    // names and DNS
    ...[
        "Orders.Internal",
        "internal",
        "-orders.internal",
        "orders..internal",
        "orders.internal.",
        "orders_1.internal",
    ].map((domain) => ({
        name: `domain "${domain}"`,
        settings: { domain },
        problems: [["domain", domain]] as const,
        problem: "is not a lowercase DNS domain with at least two labels",
        fix: 'write e.g. "etcd.prod.internal"',
    })),
    ...["Blue", "-blue", "blue_green", "blue-"].map((srvName) => ({
        name: `srvName "${srvName}"`,
        settings: { bootstrapMode: "dns", srvName },
        problems: [["srvName", srvName]] as const,
        problem: "becomes part of the SRV service name",
        fix: "use lowercase letters, digits and inner hyphens",
    })),
    ...["Orders", "1orders", "orders_eu", "orders-", "", "o".repeat(41)].map((clusterName) => ({
        name: `cluster name ${JSON.stringify(clusterName.length > 20 ? `${clusterName.slice(0, 5)}... (${clusterName.length} chars)` : clusterName)}`,
        clusterName,
        settings: { domain: "orders.internal", clusterToken: "orders-token" },
        problems: [["name", clusterName]] as const,
        problem: "cluster names become member names, DNS labels and AWS names",
        fix: "use 1-40 lowercase letters, digits and inner hyphens, starting with a letter",
    })),
    ...["has space", "", "-lead", "t".repeat(129), "tok/en"].map((token) => ({
        name: `clusterToken ${JSON.stringify(token.length > 20 ? `${token.slice(0, 5)}... (${token.length} chars)` : token)}`,
        settings: { clusterToken: token },
        problems: [["clusterToken", token]] as const,
        problem: "must be 1-128 letters, digits, dots, underscores or hyphens",
        fix: "remove it to get the default <project>-<stack>-<cluster>",
    })),
    {
        name: "the default cluster token, already used by another stack",
        settings: {},
        context: {
            ...CONTEXT,
            tokensInUse: [{ token: "shop-prod-orders", owner: "stack shop/prod-old (cluster orders)" }],
        },
        problems: [["clusterToken", "shop-prod-orders"]],
        problem:
            "already used by stack shop/prod-old (cluster orders); two clusters with one token and overlapping URLs get the same IDs",
        fix: "give each cluster its own token, or remove the setting to get a unique default",
    },
    {
        name: "an explicit cluster token already used by another cluster of this program",
        settings: { clusterToken: "etcd-cluster-1" },
        context: {
            ...CONTEXT,
            tokensInUse: [
                { token: "other", owner: "x" },
                { token: "etcd-cluster-1", owner: "cluster billing" },
            ],
        },
        problems: [["clusterToken", "etcd-cluster-1"]],
        problem: "already used by cluster billing",
        fix: "give each cluster its own token",
    },
    // release download
    ...[SHA.toUpperCase(), SHA.slice(1), `sha256:${SHA}`, "z".repeat(64)].map((sha) => ({
        name: `etcdSha256 ${sha.length === 64 ? `of 64 characters (${sha.slice(0, 4)}...)` : `of ${sha.length} characters`}`,
        settings: { etcdSha256: sha },
        problems: [["etcdSha256", sha]] as const,
        problem: "is not a lowercase hex SHA-256",
        fix: "copy the tarball's line from the release's SHA256SUMS",
    })),
    ...["ftp://mirror.example.com/etcd", "mirror.example.com/etcd", "https://"].map((url) => ({
        name: `mirrorBaseUrl "${url}"`,
        settings: { mirrorBaseUrl: url },
        problems: [["mirrorBaseUrl", url]] as const,
        problem: "is not an http(s) URL",
        fix: "give the base URL that holds v<version>/etcd-v<version>-linux-amd64.tar.gz and SHA256SUMS",
    })),
];

describe("core/validate", () => {
    describe("validateSettings refuses invalid configurations, naming setting, value and fix", () => {
        it(`has at least 40 rows (${INVALID.length})`, () => {
            assert.ok(INVALID.length >= 40);
        });

        for (const row of INVALID) {
            it(`refuses ${row.name}`, () => {
                const error = refused(row.settings, row.clusterName, row.context);
                assert.deepEqual(
                    error.problems.map((p) => [p.setting, p.value]),
                    row.problems.map(([setting, value]) => [setting, value]),
                );
                const first = at(error.problems, 0, "problem");
                assert.ok(
                    first.problem.includes(row.problem),
                    `problem "${first.problem}" should contain "${row.problem}"`,
                );
                assert.ok(first.fix.includes(row.fix), `fix "${first.fix}" should contain "${row.fix}"`);
                for (const problem of error.problems) {
                    assert.ok(
                        error.message.includes(`: ${problem.problem}. Fix: ${problem.fix}.`),
                        `the message carries ${problem.setting}'s fix`,
                    );
                }
            });
        }
    });

    describe("one error for every problem", () => {
        it("reports all problems of a configuration at once, in order, numbered in the message", () => {
            const error = refused({
                memberCount: 4,
                etcdVersion: "3.4.45",
                bootstrapMode: "dns",
                tls: false,
                clientCidrs: ["10.0.0.1/8"],
                volumeType: "st1",
                peerPort: 2379,
                extraFlags: { "-peers": "a:7001", "election-timeout": "200" },
                discovery: { endpoints: V3_ENDPOINTS },
            });
            assert.deepEqual(
                error.problems.map((p) => p.setting),
                [
                    "memberCount",
                    "tls",
                    "clientCidrs[0]",
                    "volumeType",
                    "clientPort/peerPort/metricsPort",
                    "extraFlags.-peers",
                    "extraFlags.election-timeout",
                    "discovery",
                ],
            );
            const lines = error.message.split("\n");
            assert.equal(lines[0], 'etcd cluster "orders": 8 problems in the configuration, nothing was deployed:');
            assert.equal(lines.length, 9);
            assert.ok(at(lines, 1, "line").startsWith("  1. memberCount = 4: "));
            assert.ok(at(lines, 8, "line").startsWith('  8. discovery = {"endpoints":["http://10.0.0.5:2379"]}: '));
        });

        it("formats a single problem as one numbered line with value and fix", () => {
            const error = refused({ memberCount: 4 });
            assert.equal(
                error.message,
                [
                    'etcd cluster "orders": 1 problem in the configuration, nothing was deployed:',
                    "  1. memberCount = 4: an even member count tolerates no more failures than the odd count below it. Fix: use one of 1, 3, 5, 7 (3 for most clusters, 5 to survive two failures).",
                ].join("\n"),
            );
        });

        it("shows a missing value as (not set)", () => {
            const error = refused({ volumeType: "io2" });
            assert.ok(
                error.message.includes(
                    "  1. volumeIops = (not set): io2 volumes need provisioned IOPS. Fix: set volumeIops, e.g. 3000.",
                ),
            );
        });
    });

    describe("defaults of a valid configuration", () => {
        it("an empty configuration gets the documented defaults", () => {
            const resolved = resolve({});
            assert.equal(resolved.clusterName, "orders");
            assert.equal(resolved.memberCount, 3);
            assert.deepEqual(resolved.version, { text: "3.6.14", line: "3.6", patch: 14 });
            assert.equal(resolved.mode, "static");
            assert.equal(resolved.tls, true);
            assert.equal(resolved.certificateValidityDays, 365);
            assert.equal(resolved.certificateRenewalDays, 30);
            assert.equal(resolved.domain, "orders.etcd.internal");
            assert.equal(resolved.srvName, undefined);
            assert.equal(resolved.clusterToken, "shop-prod-orders");
            assert.deepEqual(resolved.ports, { client: 2379, peer: 2380, metrics: 2381 });
            assert.deepEqual([resolved.clientCidrs, resolved.sshCidrs, resolved.monitoringCidrs], [[], [], []]);
            assert.equal(resolved.allowPublicAccess, false);
            assert.equal(resolved.instanceType, "t3.medium");
            assert.equal(resolved.volumeSizeGiB, 20);
            assert.equal(resolved.volumeType, "gp3");
            assert.equal(resolved.volumeIops, undefined);
            assert.equal(resolved.diskCheck, "warn");
            assert.equal(resolved.backup, undefined, "no backups without backupBucket");
            assert.equal(resolved.mirrorBaseUrl, "https://github.com/etcd-io/etcd/releases/download");
            assert.equal(resolved.etcdSha256, undefined);
            assert.deepEqual(resolved.extraFlags, {});
            assert.equal(resolved.discovery, undefined);
            assert.deepEqual(warningsOf({}), []);
        });

        it("accepts every member count of MEMBER_COUNTS (1, 3, 5, 7)", () => {
            assert.deepEqual(MEMBER_COUNTS, [1, 3, 5, 7]);
            assert.deepEqual(
                MEMBER_COUNTS.map((memberCount) => resolve({ memberCount }).memberCount),
                [1, 3, 5, 7],
            );
        });

        for (const [version, protocol] of [
            ["3.4.45", "v2"],
            ["3.5.33", "v2"],
            ["3.6.14", "v3"],
            ["3.7.1", "v3"],
        ] as const) {
            it(`discovery on etcd ${version} defaults to protocol ${protocol} with size = member count`, () => {
                const discovery = protocol === "v3" ? { endpoints: V3_ENDPOINTS } : { serviceUrl: V2_SERVICE };
                const resolved = resolve({
                    bootstrapMode: "discovery",
                    etcdVersion: version,
                    memberCount: 5,
                    discovery,
                });
                assert.equal(resolved.discovery?.protocol, protocol);
                assert.equal(resolved.discovery?.size, 5);
            });
        }

        it("keeps a ready v2 URL with its size and proxy", () => {
            const url = "https://discovery.example.com/abc123";
            const resolved = resolve({
                bootstrapMode: "discovery",
                etcdVersion: "3.5.33",
                discovery: { url, size: 3, proxy: "http://10.0.0.6:3128" },
            });
            assert.deepEqual(resolved.discovery, {
                protocol: "v2",
                size: 3,
                serviceUrl: undefined,
                url,
                proxy: "http://10.0.0.6:3128",
            });
        });

        it("normalises a leading v in the version and a trailing slash in the mirror URL", () => {
            const resolved = resolve({ etcdVersion: "v3.5.33", mirrorBaseUrl: "https://storage.googleapis.com/etcd/" });
            assert.deepEqual(resolved.version, { text: "3.5.33", line: "3.5", patch: 33 });
            assert.equal(resolved.mirrorBaseUrl, "https://storage.googleapis.com/etcd");
        });

        it("strips leading dashes from extra flag names and keeps their values", () => {
            const resolved = resolve({
                extraFlags: { "--snapshot-count": "10000", "quota-backend-bytes": "8589934592" },
            });
            assert.deepEqual(resolved.extraFlags, { "snapshot-count": "10000", "quota-backend-bytes": "8589934592" });
        });

        it("renames etcd 0.4's -peer-heartbeat-interval and -peer-election-timeout, with a warning each", () => {
            const settings = { extraFlags: { "-peer-heartbeat-interval": "200", "-peer-election-timeout": "2000" } };
            assert.deepEqual(resolve(settings).extraFlags, { "heartbeat-interval": "200", "election-timeout": "2000" });
            assert.deepEqual(warningsOf(settings), [
                `extraFlags: etcd 0.4's "-peer-heartbeat-interval" is now "--heartbeat-interval"; using that`,
                `extraFlags: etcd 0.4's "-peer-election-timeout" is now "--election-timeout"; using that`,
            ]);
        });

        it("accepts an election timeout of exactly 5x the heartbeat", () => {
            assert.deepEqual(
                resolve({ extraFlags: { "heartbeat-interval": "200", "election-timeout": "1000" } }).extraFlags,
                {
                    "heartbeat-interval": "200",
                    "election-timeout": "1000",
                },
            );
        });

        it("accepts 0.0.0.0/0 with allowPublicAccess, and warns", () => {
            const settings = { allowPublicAccess: true, clientCidrs: ["0.0.0.0/0"] };
            assert.deepEqual(resolve(settings).clientCidrs, ["0.0.0.0/0"]);
            assert.deepEqual(warningsOf(settings), [
                "allowPublicAccess: clientCidrs lets the internet reach an etcd port; anyone can try to connect",
            ]);
        });

        it("accepts experimental flags on 3.6 (deprecated there, removed in 3.7)", () => {
            assert.deepEqual(resolve({ extraFlags: { "experimental-initial-corrupt-check": "true" } }).extraFlags, {
                "experimental-initial-corrupt-check": "true",
            });
        });

        it("takes 3.7's removed experimental flags under their new name or as feature gates, and says so", () => {
            const settings = {
                etcdVersion: "3.7.3",
                extraFlags: {
                    "experimental-snapshot-catchup-entries": "5000",
                    "experimental-initial-corrupt-check": "true",
                    "feature-gates": "StopGRPCServiceOnDefrag=true",
                    "experimental-compact-hash-check-enabled": "",
                },
            };
            assert.deepEqual(resolve(settings).extraFlags, {
                "snapshot-catchup-entries": "5000",
                "feature-gates": "InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true,CompactHashCheck=true",
            });
            assert.deepEqual(warningsOf(settings), [
                'extraFlags: etcd 3.7 takes "experimental-snapshot-catchup-entries" as snapshot-catchup-entries=5000; using that (write it so in the settings)',
                'extraFlags: etcd 3.7 takes "experimental-initial-corrupt-check" as feature-gates=InitialCorruptCheck=true; using that (write it so in the settings)',
                'extraFlags: etcd 3.7 takes "experimental-compact-hash-check-enabled" as feature-gates=CompactHashCheck=true; using that (write it so in the settings)',
            ]);
        });

        it("warns about a corruption check turned off through its 3.7 feature gate", () => {
            const settings = { etcdVersion: "3.7.3", extraFlags: { "experimental-initial-corrupt-check": "false" } };
            assert.deepEqual(resolve(settings).extraFlags, { "feature-gates": "InitialCorruptCheck=false" });
            assert.match(
                at(warningsOf(settings), 1),
                /^extraFlags: feature-gates=InitialCorruptCheck=false: it turns off a corruption check/,
            );
        });

        it("accepts provisioned IOPS on io2 and gp3", () => {
            assert.equal(resolve({ volumeType: "io2", volumeIops: 16000 }).volumeIops, 16000);
            assert.equal(resolve({ volumeType: "gp3", volumeIops: 6000 }).volumeIops, 6000);
        });

        it("takes a custom token that no other cluster uses", () => {
            const context = { ...CONTEXT, tokensInUse: [{ token: "shop-prod-orders", owner: "x" }] };
            assert.equal(resolve({ clusterToken: "orders-2026" }, "orders", context).clusterToken, "orders-2026");
        });
    });
});

describe("core/validate: backups", () => {
    it("with backupBucket: the defaults (bucket made, prefix etcd-backups, hourly, 7 days, no Object Lock)", () => {
        const validation = validateSettings(
            "orders",
            { backupBucket: "orders-backups" },
            { project: "shop", stack: "prod" },
        );
        assert.deepEqual(validation.problems, []);
        assert.deepEqual(validation.resolved?.backup, {
            bucket: "orders-backups",
            createBucket: true,
            prefix: "etcd-backups",
            intervalMinutes: 60,
            retentionDays: 7,
            objectLock: "off",
            s3Endpoint: undefined,
            imdsEndpoint: undefined,
        });
    });
    it("backupS3CaPem: one PEM certificate goes to the backups; anything else is refused naming the key, value and fix", () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n";
        const ok = validateSettings(
            "orders",
            { backupBucket: "orders-backups", backupS3CaPem: pem },
            { project: "shop", stack: "prod" },
        );
        assert.deepEqual(ok.problems, []);
        assert.equal(ok.resolved?.backup?.s3CaPem, pem);
        const bad = validateSettings(
            "orders",
            { backupBucket: "orders-backups", backupS3CaPem: "/etc/ssl/ca.crt" },
            { project: "shop", stack: "prod" },
        );
        const problem = bad.problems.find((p) => p.setting === "backupS3CaPem");
        assert.equal(problem?.value, "/etc/ssl/ca.crt");
        assert.match(problem?.problem ?? "", /not one PEM certificate/);
        assert.match(problem?.fix ?? "", /pulumi config set etcd-aws:backupS3CaPem < ca.crt/);
    });

    it("refuses a restore while the member count changes from the one that runs, naming the counts and the order; the same count and a new cluster restore", () => {
        const restore: ClusterSettings = {
            backupBucket: "orders-etcd-backups",
            restoreFromSnapshot: "s3://orders-etcd-backups/etcd-backups/orders/20261202T101500Z-rev4711.db",
            restoreDiscardsCurrentData: "orders",
        };
        const { problems } = refused({ ...restore, memberCount: 5 }, "orders", { ...CONTEXT, runningMemberCount: 3 });
        assert.deepEqual(
            problems.map((p) => p.setting),
            ["restoreFromSnapshot"],
        );
        assert.match(problems[0]?.problem ?? "", /restores the 3 members that run, but memberCount asks for 5/);
        assert.match(problems[0]?.fix ?? "", /restore with memberCount 3, then unset restoreFromSnapshot/);
        assert.equal(
            resolve({ ...restore, memberCount: 3 }, "orders", { ...CONTEXT, runningMemberCount: 3 }).backup
                ?.restoreFrom,
            restore.restoreFromSnapshot,
        );
        assert.equal(resolve({ ...restore, memberCount: 5 }).backup?.restoreFrom, restore.restoreFromSnapshot);
    });
});
