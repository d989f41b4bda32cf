// The program's stack configuration: every key Pulumi.yaml declares (type, description,
// default), and reading raw config values into the component's arguments, collecting every
// malformed value as a problem instead of stopping at the first.
import { load } from "js-yaml";
import { DEFAULT_PORTS, DEFAULT_SSH_USER } from "./host-contract";
import { ConfigProblem } from "./problems";
import { ClusterSettings, DiscoverySettings } from "./settings";

export type ConfigType = "string" | "integer" | "boolean" | "array";

export interface ConfigKey {
    readonly key: string;
    readonly type: ConfigType;
    readonly description: string;
    /** Default as Pulumi.yaml states it; "" and [] mean "not set" (the package's default applies). */
    readonly default?: string | number | boolean | readonly string[];
    /** Always a secret: Pulumi refuses a value not set with --secret. */
    readonly secret?: boolean;
    /**
     * Can hold a credential (user:password in a URL, a token URL that admits members): the
     * program reads it as a secret, so a value set with --secret stays one everywhere it goes.
     */
    readonly credential?: boolean;
}

export const CONFIG_KEYS: readonly ConfigKey[] = [
    {
        key: "clusterName",
        type: "string",
        default: "etcd",
        description: "Cluster name: members are <clusterName>-<n>.",
    },
    { key: "memberCount", type: "integer", default: 3, description: "Members: 1, 3, 5 or 7." },
    { key: "etcdVersion", type: "string", default: "3.6.14", description: "etcd release, 3.4.x to 3.7.x." },
    {
        key: "bootstrapMode",
        type: "string",
        default: "static",
        description: "static (--initial-cluster), dns (--discovery-srv) or discovery (discovery service).",
    },
    { key: "tls", type: "boolean", default: true, description: "Mutual TLS for clients and peers." },
    {
        key: "auth",
        type: "boolean",
        default: false,
        description: "etcd authentication: root user with a generated password (needs tls).",
    },
    {
        key: "clientUser",
        type: "string",
        default: "app",
        description: "etcd user of the application client certificate (its CN); never root.",
    },
    {
        key: "clientKeyPrefix",
        type: "string",
        default: "",
        description: "With auth: key prefix the application user may read and write; empty: every key.",
    },
    {
        key: "certificateValidityDays",
        type: "integer",
        default: 365,
        description: "Validity of member and client certificates.",
    },
    {
        key: "certificateRenewalDays",
        type: "integer",
        default: 30,
        description: "Renew certificates on pulumi up once fewer days than this remain.",
    },
    {
        key: "domain",
        type: "string",
        default: "",
        description: "DNS domain of members and SRV records; empty: <clusterName>.etcd.internal.",
    },
    {
        key: "zoneId",
        type: "string",
        default: "",
        description: "Existing Route53 zone; empty: a new private zone for the domain.",
    },
    {
        key: "srvName",
        type: "string",
        default: "",
        description: "--discovery-srv-name suffix of the SRV service names; empty: none.",
    },
    {
        key: "clusterToken",
        type: "string",
        default: "",
        description: "--initial-cluster-token; empty: <project>-<stack>-<clusterName>.",
    },
    { key: "vpcId", type: "string", default: "", description: "VPC of the cluster; empty: the default VPC." },
    {
        key: "subnetIds",
        type: "array",
        default: [],
        description: "Subnets, one per availability zone; empty: the default VPC's default subnets.",
    },
    { key: "clientCidrs", type: "array", default: [], description: "CIDRs allowed to reach the client port 2379." },
    {
        key: "clientSecurityGroupIds",
        type: "array",
        default: [],
        description: "Security groups allowed to reach the client port 2379.",
    },
    {
        key: "sshCidrs",
        type: "array",
        default: [],
        description: "CIDRs allowed to reach SSH (where pulumi up runs, operators).",
    },
    {
        key: "monitoringCidrs",
        type: "array",
        default: [],
        description: "CIDRs allowed to scrape metrics on port 2381.",
    },
    {
        key: "allowPublicAccess",
        type: "boolean",
        default: false,
        description: "Allow 0.0.0.0/0 in the CIDR lists (prints a warning).",
    },
    {
        key: "instanceType",
        type: "string",
        default: "t3.medium",
        description: "EC2 instance type (Graviton types get arm64 etcd).",
    },
    { key: "volumeSizeGiB", type: "integer", default: 20, description: "Data volume size in GiB." },
    { key: "volumeType", type: "string", default: "gp3", description: "Data volume type: gp3, gp2, io1 or io2." },
    { key: "volumeIops", type: "integer", default: 0, description: "Provisioned IOPS for io1/io2; 0: none." },
    {
        key: "diskCheck",
        type: "string",
        default: "warn",
        description: "Install's data volume fsync check (etcd asks p99 <= 10 ms): warn, fail or off.",
    },
    {
        key: "kmsKeyId",
        type: "string",
        default: "",
        description: "KMS key for the volumes; empty: the account's default EBS key.",
    },
    {
        key: "amiId",
        type: "string",
        default: "",
        description: "Member AMI; empty: newest Ubuntu 24.04 LTS from Canonical.",
    },
    {
        key: "mirrorBaseUrl",
        type: "string",
        credential: true,
        default: "https://github.com/etcd-io/etcd/releases/download",
        description: "Base URL of the etcd release tarballs and SHA256SUMS.",
    },
    {
        key: "etcdSha256",
        type: "string",
        default: "",
        description: "Expected SHA-256 of the release tarball; empty: SHA256SUMS only.",
    },
    {
        key: "autoCompactionMode",
        type: "string",
        default: "periodic",
        description: "How members compact old revisions: periodic (keep a duration) or revision (keep a count).",
    },
    {
        key: "autoCompactionRetention",
        type: "string",
        default: "",
        description:
            "History compaction keeps, e.g. 1h or 30m (periodic) or 1000 (revision); 0: off; empty: 1h or 1000.",
    },
    {
        key: "extraFlags",
        type: "array",
        default: [],
        description: "Extra etcd flags as name=value, e.g. snapshot-count=10000.",
    },
    { key: "clientPort", type: "integer", default: DEFAULT_PORTS.client, description: "etcd client port." },
    { key: "peerPort", type: "integer", default: DEFAULT_PORTS.peer, description: "etcd peer port." },
    { key: "metricsPort", type: "integer", default: DEFAULT_PORTS.metrics, description: "etcd metrics port." },
    {
        key: "discoveryProtocol",
        type: "string",
        default: "",
        description: "v3 (etcd 3.6+) or v2; empty: v3 where available.",
    },
    {
        key: "discoveryEndpoints",
        type: "array",
        default: [],
        description: "v3 discovery: client URLs of the discovery etcd cluster.",
    },
    {
        key: "discoveryServiceUrl",
        type: "string",
        credential: true,
        default: "",
        description: "v2 discovery: keys URL the package registers a new token under.",
    },
    {
        key: "discoveryUrl",
        type: "string",
        credential: true,
        default: "",
        description: "v2 discovery: a ready token URL (needs discoverySize).",
    },
    {
        key: "discoverySize",
        type: "integer",
        default: 0,
        description: "Members the discovery token admits; 0: the member count.",
    },
    {
        key: "discoveryProxy",
        type: "string",
        credential: true,
        default: "",
        description: "v2 discovery: HTTP proxy for discovery traffic.",
    },
    {
        key: "backupBucket",
        type: "string",
        default: "",
        description: "S3 bucket of the cluster's backups; empty: no backups.",
    },
    {
        key: "backupCreateBucket",
        type: "boolean",
        default: true,
        description:
            "Make the bucket (versioning, encryption, TLS only); false: it exists, only the members' rights are made.",
    },
    {
        key: "backupPrefix",
        type: "string",
        default: "etcd-backups",
        description: "Key prefix: backups are under <prefix>/<clusterName>/.",
    },
    { key: "backupIntervalMinutes", type: "integer", default: 60, description: "Minutes between two backups." },
    { key: "backupRetentionDays", type: "integer", default: 7, description: "Days a backup is kept." },
    {
        key: "backupObjectLock",
        type: "string",
        default: "off",
        description: "Object Lock of a bucket made here: off, governance or compliance.",
    },
    {
        key: "backupS3Endpoint",
        type: "string",
        default: "",
        description: "S3 endpoint the members use; empty: https://s3.<region>.amazonaws.com.",
    },
    {
        key: "backupImdsEndpoint",
        type: "string",
        default: "",
        description: "Instance metadata service of the members; empty: EC2's.",
    },
    {
        key: "backupS3CaPem",
        type: "string",
        default: "",
        description: "PEM of the S3 endpoint's CA; empty: the system's trust store.",
    },
    {
        key: "restoreFromSnapshot",
        type: "string",
        default: "",
        description:
            "s3://bucket/key of this cluster's backup to restore on every member (discards the data); empty: none.",
    },
    {
        key: "restoreDiscardsCurrentData",
        type: "string",
        default: "",
        description: "The cluster's name: states that restoreFromSnapshot may discard the current data.",
    },
    {
        key: "sshUser",
        type: "string",
        default: DEFAULT_SSH_USER,
        description: "SSH login user with sudo on the members.",
    },
    {
        key: "sshKeyName",
        type: "string",
        default: "",
        description: "EC2 key pair installed on the members; empty: none.",
    },
    {
        key: "sshPrivateKey",
        type: "string",
        secret: true,
        description: "Private key of sshUser (required; set with --secret).",
    },
    {
        key: "bastionHost",
        type: "string",
        default: "",
        description: "Bastion for members in private subnets; empty: connect to public IPs.",
    },
    { key: "bastionUser", type: "string", default: "", description: "Bastion login user; empty: sshUser." },
    {
        key: "bastionHostKey",
        type: "string",
        default: "",
        description: "The bastion's SSH host key line (ssh-ed25519 AAAA...); required with bastionHost.",
    },
    {
        key: "privateEgress",
        type: "string",
        default: "",
        description:
            "How members behind a bastion reach mirrorBaseUrl: nat (a NAT gateway you manage) or mirror (a mirror inside the VPC); required with bastionHost.",
    },
    {
        key: "healthTimeoutSeconds",
        type: "integer",
        default: 600,
        description: "Seconds the health gate waits for the cluster.",
    },
];

/** Config values as the program reads them: settings plus the resource references. */
export interface StackConfig {
    readonly clusterName: string;
    readonly settings: ClusterSettings;
    readonly vpcId?: string;
    readonly subnetIds?: string[];
    readonly clientSecurityGroupIds?: string[];
    readonly zoneId?: string;
    readonly amiId?: string;
    readonly kmsKeyId?: string;
    readonly sshUser?: string;
    readonly sshKeyName?: string;
    readonly bastionHost?: string;
    readonly bastionUser?: string;
    readonly bastionHostKey?: string;
    readonly privateEgress?: string;
    readonly healthTimeoutSeconds?: number;
}

type Parsed = string | number | boolean | string[] | undefined;

function parseValue(spec: ConfigKey, raw: string, problems: ConfigProblem[]): Parsed {
    const problem = (expected: string, fix: string): undefined => {
        problems.push({ setting: spec.key, value: raw, problem: `is not ${expected}`, fix });
        return undefined;
    };
    switch (spec.type) {
        case "string":
            return raw === "" ? undefined : raw;
        case "integer":
            return /^-?\d+$/.test(raw.trim())
                ? Number(raw)
                : problem("a whole number", `write a number, e.g. ${String(spec.default ?? 3)}`);
        case "boolean":
            return raw === "true" ? true : raw === "false" ? false : problem("true or false", "write true or false");
        case "array": {
            let value: unknown;
            try {
                value = JSON.parse(raw);
            } catch {
                value = undefined;
            }
            if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
                return problem("a list of strings", `write a YAML list, e.g. ["a", "b"]`);
            }
            return value.length === 0 ? undefined : value;
        }
    }
}

/** Reads every key through `lookup` (raw config text); problems collect malformed values. */
export function readStackConfig(lookup: (key: string) => string | undefined): {
    config: StackConfig;
    problems: ConfigProblem[];
} {
    const problems: ConfigProblem[] = [];
    const values = new Map<string, Parsed>();
    // Secrets are read by the program with getSecret, so they stay secret. Credentials are read
    // here for validation; the program keeps whatever they reach secret (see CREDENTIAL_KEYS).
    for (const spec of CONFIG_KEYS.filter((key) => !key.secret)) {
        const raw = lookup(spec.key);
        values.set(spec.key, raw === undefined ? undefined : parseValue(spec, raw, problems));
    }
    const str = (key: string): string | undefined => values.get(key) as string | undefined;
    const num = (key: string): number | undefined => values.get(key) as number | undefined;
    const positive = (key: string): number | undefined => (num(key) === 0 ? undefined : num(key));
    const list = (key: string): string[] | undefined => values.get(key) as string[] | undefined;
    const bool = (key: string): boolean | undefined => values.get(key) as boolean | undefined;

    const extraFlags: Record<string, string> = {};
    for (const entry of list("extraFlags") ?? []) {
        const eq = entry.indexOf("=");
        if (eq <= 0) {
            problems.push({
                setting: "extraFlags",
                value: entry,
                problem: "is not name=value",
                fix: "write e.g. snapshot-count=10000",
            });
        } else {
            extraFlags[entry.slice(0, eq)] = entry.slice(eq + 1);
        }
    }
    const discoveryFields: DiscoverySettings = {
        protocol: str("discoveryProtocol"),
        endpoints: list("discoveryEndpoints"),
        serviceUrl: str("discoveryServiceUrl"),
        url: str("discoveryUrl"),
        size: positive("discoverySize"),
        proxy: str("discoveryProxy"),
    };
    const discoveryGiven = Object.values(discoveryFields).some((value) => value !== undefined);
    const settings: ClusterSettings = {
        memberCount: num("memberCount"),
        etcdVersion: str("etcdVersion"),
        bootstrapMode: str("bootstrapMode"),
        tls: bool("tls"),
        auth: bool("auth"),
        clientUser: str("clientUser"),
        clientKeyPrefix: str("clientKeyPrefix"),
        certificateValidityDays: num("certificateValidityDays"),
        certificateRenewalDays: num("certificateRenewalDays"),
        domain: str("domain"),
        srvName: str("srvName"),
        clusterToken: str("clusterToken"),
        clientCidrs: list("clientCidrs"),
        sshCidrs: list("sshCidrs"),
        monitoringCidrs: list("monitoringCidrs"),
        allowPublicAccess: bool("allowPublicAccess"),
        instanceType: str("instanceType"),
        volumeSizeGiB: num("volumeSizeGiB"),
        volumeType: str("volumeType"),
        volumeIops: positive("volumeIops"),
        diskCheck: str("diskCheck"),
        mirrorBaseUrl: str("mirrorBaseUrl"),
        etcdSha256: str("etcdSha256"),
        autoCompactionMode: str("autoCompactionMode"),
        autoCompactionRetention: str("autoCompactionRetention"),
        extraFlags: Object.keys(extraFlags).length > 0 ? extraFlags : undefined,
        clientPort: num("clientPort"),
        peerPort: num("peerPort"),
        metricsPort: num("metricsPort"),
        discovery: discoveryGiven ? discoveryFields : undefined,
        backupBucket: str("backupBucket"),
        backupCreateBucket: bool("backupCreateBucket"),
        backupPrefix: str("backupPrefix"),
        backupIntervalMinutes: num("backupIntervalMinutes"),
        backupRetentionDays: num("backupRetentionDays"),
        backupObjectLock: str("backupObjectLock"),
        backupS3Endpoint: str("backupS3Endpoint"),
        backupImdsEndpoint: str("backupImdsEndpoint"),
        backupS3CaPem: str("backupS3CaPem"),
        restoreFromSnapshot: str("restoreFromSnapshot"),
        restoreDiscardsCurrentData: str("restoreDiscardsCurrentData"),
    };
    return {
        config: {
            clusterName: str("clusterName") ?? "etcd",
            settings: Object.fromEntries(
                Object.entries(settings).filter(([, value]) => value !== undefined),
            ) as ClusterSettings,
            vpcId: str("vpcId"),
            subnetIds: list("subnetIds"),
            clientSecurityGroupIds: list("clientSecurityGroupIds"),
            zoneId: str("zoneId"),
            amiId: str("amiId"),
            kmsKeyId: str("kmsKeyId"),
            sshUser: str("sshUser"),
            sshKeyName: str("sshKeyName"),
            bastionHost: str("bastionHost"),
            bastionUser: str("bastionUser"),
            bastionHostKey: str("bastionHostKey"),
            privateEgress: str("privateEgress"),
            healthTimeoutSeconds: num("healthTimeoutSeconds"),
        },
        problems,
    };
}

/** The keys that can hold a credential. */
export const CREDENTIAL_KEYS: readonly string[] = CONFIG_KEYS.filter((spec) => spec.credential).map((spec) => spec.key);

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
    const [x, y] = [a.toLowerCase(), b.toLowerCase()];
    // Both rows hold y.length + 1 cells and j stays within them, so every index below exists.
    let row = Array.from({ length: y.length + 1 }, (_, j) => j);
    for (let i = 1; i <= x.length; i++) {
        const next = [i];
        for (let j = 1; j <= y.length; j++) {
            next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1)));
        }
        row = next;
    }
    return row[y.length]!;
}

/** The declared key nearest to `key`. */
export function nearestKey(key: string): string {
    return CONFIG_KEYS.map((spec) => spec.key).reduce((best, candidate) =>
        distance(key, candidate) < distance(key, best) ? candidate : best,
    );
}

/**
 * The project's keys in a stack's configuration (`<project>:<key>`, as `pulumi config` lists
 * them) that the program does not declare: a typo would silently leave the default in place.
 */
export function unknownConfigKeys(project: string, fullKeys: readonly string[]): ConfigProblem[] {
    const declared = new Set(CONFIG_KEYS.map((spec) => spec.key));
    return fullKeys
        .filter((full) => full.startsWith(`${project}:`) && !declared.has(full.slice(project.length + 1)))
        .map((full) => {
            const suggestion = `${project}:${nearestKey(full.slice(project.length + 1))}`;
            return {
                setting: full,
                value: undefined,
                problem: "is not a setting of this program, so its value would be ignored",
                fix: `rename it to ${suggestion} if that is what you meant, or remove it`,
            };
        });
}

/** A component argument path and the stack key a user of the program types for it. */
const STACK_KEYS_OF_ARGS: readonly (readonly [RegExp, string])[] = [
    [/\bdiscovery\.protocol\b/g, "discoveryProtocol"],
    [/\bdiscovery\.endpoints\b/g, "discoveryEndpoints"],
    [/\bdiscovery\.serviceUrl\b/g, "discoveryServiceUrl"],
    [/\bdiscovery\.url\b/g, "discoveryUrl"],
    [/\bdiscovery\.size\b/g, "discoverySize"],
    [/\bdiscovery\.proxy\b/g, "discoveryProxy"],
    [/\bssh\.privateKey\b/g, "sshPrivateKey"],
    [/\bssh\.user\b/g, "sshUser"],
    [/\bssh\.keyName\b/g, "sshKeyName"],
    [/\bssh\.bastion\.hostKey\b/g, "bastionHostKey"],
    [/\bssh\.bastion\.host\b/g, "bastionHost"],
    [/\bssh\.bastion\.user\b/g, "bastionUser"],
];

/**
 * A step as the core words it for a component ("set etcdVersion=3.5.33 and deploy") and as a
 * user of the program runs it ("set etcd-aws:etcdVersion=3.5.33, pulumi up").
 */
const DEPLOY_STEPS_OF_ARGS: readonly (readonly [RegExp, string])[] = [
    [/\bset (\w+)=(\S+?) and deploy\b/g, "set etcd-aws:$1=$2, pulumi up"],
    [/\bkeep (\w+)=/g, "keep etcd-aws:$1="],
];

function inStackKeys(text: string): string {
    return [...STACK_KEYS_OF_ARGS, ...DEPLOY_STEPS_OF_ARGS].reduce(
        (result, [path, key]) => result.replace(path, key),
        text,
    );
}

/** The stack keys a problem's setting stands for: `name` is clusterName, `discovery` the discovery keys set. */
function stackSetting(problem: ConfigProblem): string {
    if (problem.setting === "name") {
        return "clusterName";
    }
    const given = problem.value;
    if (problem.setting === "discovery" && isMap(given)) {
        return Object.keys(given)
            .filter((field) => given[field] !== undefined)
            .map((field) => inStackKeys(`discovery.${field}`))
            .join("/");
    }
    const flag = /^extraFlags\.(.+)$/.exec(problem.setting);
    return flag ? `extraFlags (${flag[1]})` : inStackKeys(problem.setting);
}

/**
 * A problem found in the component's arguments, told to a user of the program: the stack keys
 * they set (discoveryServiceUrl, clusterName) instead of the argument paths (discovery.serviceUrl, name).
 */
export function asStackProblem(problem: ConfigProblem): ConfigProblem {
    return {
        setting: stackSetting(problem),
        value: stackValue(problem),
        problem: inStackKeys(problem.problem),
        fix: inStackKeys(problem.fix),
    };
}

/** Discovery settings shown as the stack keys that hold them: one key's value, or the keys with theirs. */
function stackValue(problem: ConfigProblem): unknown {
    const given = problem.value;
    if (!problem.setting.startsWith("discovery") || !isMap(given)) {
        return given;
    }
    const entries = Object.entries(given)
        .filter(([, value]) => value !== undefined)
        .map(([field, value]) => [inStackKeys(`discovery.${field}`), value]);
    const [first, ...rest] = entries;
    return first !== undefined && rest.length === 0 ? first[1] : Object.fromEntries(entries);
}

/**
 * The explicit `clusterToken` of a stack file (its YAML text), for the shared-token check;
 * undefined when the file sets none. Throws on text that is not YAML.
 */
export function clusterTokenInStackFile(project: string, yamlText: string): string | undefined {
    const doc: unknown = load(yamlText);
    const config = isMap(doc) && isMap(doc.config) ? doc.config : {};
    const token = config[`${project}:clusterToken`];
    // A bare number in YAML is still the token Pulumi hands to the program as text.
    return (typeof token === "string" && token !== "") || typeof token === "number" ? String(token) : undefined;
}

function isMap(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
