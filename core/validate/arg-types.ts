// The type of every argument before any check reads it: a number where a URL belongs or a
// string where a list belongs (easy from YAML, JSON or another language) is refused with its
// path, and dropped so that no later check crashes on it or reads a string as a list.
import { ClusterSettings, DiscoverySettings } from "../settings";
import { Problems } from "./checks";

export type ArgKind = "string" | "number" | "boolean" | "booleanInput" | "stringList" | "map" | "stringMap" | "object";

/** Values the checks cannot look into yet (Pulumi outputs, promises): accepted where inputs are. */
export type IsDeferred = (value: unknown) => boolean;

const NEVER_DEFERRED: IsDeferred = () => false;

const KIND_TEXT: Record<ArgKind, string> = {
    string: "a string",
    number: "a number",
    boolean: "true or false",
    booleanInput: "true or false",
    stringList: "a list of strings",
    map: "a map of names to values",
    stringMap: "a map of names to strings",
    object: "an object",
};

function kindOf(value: unknown): string {
    if (Array.isArray(value)) {
        return "a list";
    }
    return value === null ? "null" : typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function isMap(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Where a value does not have the kind, the path of the offending part (value itself or an item). */
function mismatch(
    value: unknown,
    kind: ArgKind,
    isDeferred: IsDeferred,
): { at: string; value: unknown; expected: string } | undefined {
    const expected = KIND_TEXT[kind];
    const whole = { at: "", value, expected };
    switch (kind) {
        case "string":
        case "number":
        case "boolean":
            return typeof value === (kind === "boolean" ? "boolean" : kind) || (kind === "string" && isDeferred(value))
                ? undefined
                : whole;
        case "booleanInput":
            return typeof value === "boolean" || isDeferred(value) ? undefined : whole;
        case "object":
        case "map":
            return isMap(value) || (kind === "object" && isDeferred(value)) ? undefined : whole;
        case "stringList": {
            if (!Array.isArray(value)) {
                return isDeferred(value) ? undefined : whole;
            }
            const bad = value.findIndex((item) => typeof item !== "string" && !isDeferred(item));
            return bad < 0 ? undefined : { at: `[${bad}]`, value: value[bad], expected: "a string" };
        }
        case "stringMap": {
            if (!isMap(value)) {
                return whole;
            }
            const bad = Object.keys(value).find((key) => typeof value[key] !== "string" && !isDeferred(value[key]));
            return bad === undefined ? undefined : { at: `.${bad}`, value: value[bad], expected: "a string" };
        }
    }
}

/**
 * The record without the fields whose value has the wrong kind, one problem for each (named
 * `<prefix><field>`); null counts as not set. Fields not in `kinds` are kept as they are.
 */
export function checkKinds<T extends object>(
    prefix: string,
    record: T,
    kinds: Readonly<Record<string, ArgKind>>,
    problems: Problems,
    isDeferred: IsDeferred = NEVER_DEFERRED,
    examples: Readonly<Record<string, unknown>> = {},
): T {
    const kept: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(record)) {
        const kind = Object.prototype.hasOwnProperty.call(kinds, field) ? kinds[field] : undefined;
        if (value === null || value === undefined) {
            continue;
        }
        const wrong = kind === undefined ? undefined : mismatch(value, kind, isDeferred);
        if (wrong) {
            const setting = `${prefix}${field}${wrong.at}`;
            const problem = `is ${kindOf(wrong.value)} where ${wrong.expected} belongs`;
            const example = Object.prototype.hasOwnProperty.call(examples, field)
                ? `, e.g. ${JSON.stringify(examples[field])}`
                : "";
            problems.push({
                setting,
                value: wrong.value,
                problem,
                fix: `write ${KIND_TEXT[kind as ArgKind]} for ${prefix}${field}${example}, or remove it for the default`,
            });
        } else {
            kept[field] = value;
        }
    }
    return kept as T;
}

/** A valid value of each setting, for the fix of a wrongly typed one. */
export const SETTING_EXAMPLES: Readonly<Record<string, unknown>> = {
    memberCount: 3,
    etcdVersion: "3.6.14",
    bootstrapMode: "static",
    tls: true,
    auth: false,
    clientUser: "orders-api",
    clientKeyPrefix: "orders/",
    certificateValidityDays: 365,
    certificateRenewalDays: 30,
    domain: "etcd.prod.internal",
    srvName: "prod",
    clusterToken: "orders-prod",
    clientCidrs: ["10.0.0.0/16"],
    sshCidrs: ["10.0.0.0/16"],
    monitoringCidrs: ["10.0.0.0/16"],
    allowPublicAccess: false,
    instanceType: "t3.medium",
    volumeSizeGiB: 20,
    volumeType: "gp3",
    diskCheck: "warn",
    mirrorBaseUrl: "https://github.com/etcd-io/etcd/releases/download",
    autoCompactionMode: "periodic",
    autoCompactionRetention: "1h",
    extraFlags: { "snapshot-count": "10000" },
    clientPort: 2379,
    peerPort: 2380,
    metricsPort: 2381,
    discovery: { endpoints: ["http://10.0.0.5:2379"] },
    backupBucket: "orders-etcd-backups",
    backupCreateBucket: true,
    backupPrefix: "etcd-backups",
    backupIntervalMinutes: 60,
    backupRetentionDays: 7,
    backupObjectLock: "off",
    backupS3Endpoint: "https://s3.eu-west-1.amazonaws.com",
    backupImdsEndpoint: "http://169.254.169.254",
    restoreFromSnapshot: "s3://orders-etcd-backups/etcd-backups/orders/20261202T101500Z-rev4711.db",
    restoreDiscardsCurrentData: "orders",
    backupS3CaPem: "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n",
};

const DISCOVERY_EXAMPLES: Readonly<Record<string, unknown>> = {
    protocol: "v3",
    endpoints: ["http://10.0.0.5:2379"],
    serviceUrl: "http://10.0.0.5:2379/v2/keys/_etcd/registry",
    size: 3,
};

const DISCOVERY_KINDS: Readonly<Record<keyof DiscoverySettings, ArgKind>> = {
    protocol: "string",
    endpoints: "stringList",
    serviceUrl: "string",
    url: "string",
    size: "number",
    proxy: "string",
};

export const SETTING_KINDS: Readonly<Record<keyof ClusterSettings, ArgKind>> = {
    memberCount: "number",
    etcdVersion: "string",
    bootstrapMode: "string",
    tls: "boolean",
    auth: "boolean",
    clientUser: "string",
    clientKeyPrefix: "string",
    certificateValidityDays: "number",
    certificateRenewalDays: "number",
    domain: "string",
    srvName: "string",
    clusterToken: "string",
    clientCidrs: "stringList",
    sshCidrs: "stringList",
    monitoringCidrs: "stringList",
    allowPublicAccess: "boolean",
    instanceType: "string",
    volumeSizeGiB: "number",
    volumeType: "string",
    volumeIops: "number",
    diskCheck: "string",
    mirrorBaseUrl: "string",
    etcdSha256: "string",
    autoCompactionMode: "string",
    autoCompactionRetention: "string",
    extraFlags: "map",
    clientPort: "number",
    peerPort: "number",
    metricsPort: "number",
    discovery: "object",
    backupBucket: "string",
    backupCreateBucket: "boolean",
    backupPrefix: "string",
    backupIntervalMinutes: "number",
    backupRetentionDays: "number",
    backupObjectLock: "string",
    backupS3Endpoint: "string",
    backupImdsEndpoint: "string",
    backupS3CaPem: "string",
    restoreFromSnapshot: "string",
    restoreDiscardsCurrentData: "string",
};

/** The settings with every wrongly typed field (and discovery field) refused and dropped. */
export function checkSettingKinds(settings: ClusterSettings, problems: Problems): ClusterSettings {
    const kept = checkKinds("", settings, SETTING_KINDS, problems, NEVER_DEFERRED, SETTING_EXAMPLES);
    if (kept.discovery === undefined) {
        return kept;
    }
    return {
        ...kept,
        discovery: checkKinds(
            "discovery.",
            kept.discovery,
            DISCOVERY_KINDS,
            problems,
            NEVER_DEFERRED,
            DISCOVERY_EXAMPLES,
        ),
    };
}
