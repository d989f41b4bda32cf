// Backups to S3: a bucket named as S3 allows, a prefix S3 takes unencoded, whole minutes and days,
// an Object Lock mode; the other backup settings count only with a bucket.
import { ClusterSettings, DEFAULTS } from "../settings";
import { ONE_PEM_CERTIFICATE } from "../scripts/backup";
import { checkIntegerIn, checkOneOf, isHttpUrl, Problems } from "./checks";

export type BackupObjectLockMode = "off" | "governance" | "compliance";
const OBJECT_LOCK_MODES: readonly BackupObjectLockMode[] = ["off", "governance", "compliance"];

/** S3's bucket naming rules (3 to 63 lowercase letters, digits, dots and hyphens; letter or digit at each end). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Key characters S3 takes unencoded in a path and a signed query. */
const SAFE_PREFIX = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** The cluster's backups, as the deployment makes them. */
export interface ResolvedBackup {
    readonly bucket: string;
    readonly createBucket: boolean;
    readonly prefix: string;
    readonly intervalMinutes: number;
    readonly retentionDays: number;
    readonly objectLock: BackupObjectLockMode;
    readonly s3Endpoint?: string;
    readonly imdsEndpoint?: string;
    readonly s3CaPem?: string;
    /** The backup every member restores (s3://bucket/key), when restoreFromSnapshot is set with its intent. */
    readonly restoreFrom?: string;
}

/**
 * The backups when backupBucket is set. The other backup settings are checked with or without it,
 * but count only with it (the program's Pulumi.yaml declares their defaults, so the engine passes
 * them to every stack).
 */
export function resolveBackup(
    settings: ClusterSettings,
    problems: Problems,
    clusterName: string,
): ResolvedBackup | undefined {
    const bucket = settings.backupBucket;
    if (bucket !== undefined && (!BUCKET_NAME.test(bucket) || bucket.includes(".."))) {
        problems.push({
            setting: "backupBucket",
            value: bucket,
            problem: "is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)",
            fix: 'write e.g. "orders-etcd-backups"',
        });
    }
    const prefix = settings.backupPrefix ?? DEFAULTS.backupPrefix;
    if (prefix !== "" && !SAFE_PREFIX.test(prefix)) {
        problems.push({
            setting: "backupPrefix",
            value: prefix,
            problem: 'may hold only letters, digits, ".", "_", "-" and "/" between them',
            fix: 'write e.g. "etcd-backups" or "prod/etcd"',
        });
    }
    const intervalMinutes = settings.backupIntervalMinutes ?? DEFAULTS.backupIntervalMinutes;
    checkIntegerIn(problems, "backupIntervalMinutes", intervalMinutes, {
        min: 1,
        problem: "must be a whole number of minutes, 1 or more",
        fix: `use ${DEFAULTS.backupIntervalMinutes} (hourly)`,
    });
    const retentionDays = settings.backupRetentionDays ?? DEFAULTS.backupRetentionDays;
    checkIntegerIn(problems, "backupRetentionDays", retentionDays, {
        min: 1,
        problem: "must be a whole number of days, 1 or more",
        fix: `use ${DEFAULTS.backupRetentionDays}`,
    });
    const objectLock = settings.backupObjectLock ?? DEFAULTS.backupObjectLock;
    const lockProblem = "S3 Object Lock retains every backup in governance or compliance mode, or is off";
    checkOneOf(problems, "backupObjectLock", objectLock, OBJECT_LOCK_MODES, lockProblem);
    for (const setting of ["backupS3Endpoint", "backupImdsEndpoint"] as const) {
        const url = settings[setting];
        if (url !== undefined && !(isHttpUrl(url) && /^https?:\/\/[^/]+$/.test(url))) {
            problems.push({
                setting,
                value: url,
                problem: "is not a scheme and host (no path)",
                fix:
                    setting === "backupS3Endpoint"
                        ? 'write e.g. "https://s3.eu-west-1.amazonaws.com"'
                        : 'write e.g. "http://169.254.169.254"',
            });
        }
    }
    const caPem = settings.backupS3CaPem;
    if (caPem !== undefined && caPem !== "" && !ONE_PEM_CERTIFICATE.test(caPem)) {
        problems.push({
            setting: "backupS3CaPem",
            value: caPem.length > 40 ? `${caPem.slice(0, 40)}...` : caPem,
            problem: "is not one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
            fix: "set it from the CA's file (pulumi config set etcd-aws:backupS3CaPem < ca.crt), or leave it empty for the system's trust store",
        });
    }
    const restoreFrom = resolveRestore(settings, prefix, clusterName, problems);
    if (bucket === undefined) {
        return undefined;
    }
    return {
        bucket,
        createBucket: settings.backupCreateBucket ?? DEFAULTS.backupCreateBucket,
        prefix,
        intervalMinutes,
        retentionDays,
        objectLock: objectLock as BackupObjectLockMode,
        s3Endpoint: settings.backupS3Endpoint,
        imdsEndpoint: settings.backupImdsEndpoint,
        ...(caPem ? { s3CaPem: caPem } : {}),
        ...(restoreFrom ? { restoreFrom } : {}),
    };
}

/** restoreFromSnapshot, refused unless it names a backup of this cluster in its bucket and the intent is stated. */
function resolveRestore(
    settings: ClusterSettings,
    prefix: string,
    clusterName: string,
    problems: Problems,
): string | undefined {
    const uri = settings.restoreFromSnapshot;
    const intent = settings.restoreDiscardsCurrentData;
    if (uri === undefined || uri === "") {
        return undefined;
    }
    const bucket = settings.backupBucket;
    const keyPrefix = `${prefix ? `${prefix}/` : ""}${clusterName}/`;
    const expected = `s3://${bucket ?? "<backupBucket>"}/${keyPrefix}`;
    if (bucket === undefined || !uri.startsWith(expected) || !SAFE_PREFIX.test(uri.slice(expected.length))) {
        problems.push({
            setting: "restoreFromSnapshot",
            value: uri,
            problem: `is not a backup of this cluster (${expected}<timestamp>-rev<revision>.db${bucket === undefined ? "; backupBucket is not set" : ""})`,
            fix: "use the URI `scripts/local-cluster.sh backup` or etcd-aws-backup --now printed, with backupBucket set",
        });
        return undefined;
    }
    if (intent !== clusterName) {
        problems.push({
            setting: "restoreDiscardsCurrentData",
            value: intent ?? "",
            problem: `must be the cluster's name: restoreFromSnapshot replaces every member's data with ${uri}`,
            fix: `set etcd-aws:restoreDiscardsCurrentData to "${clusterName}" with restoreFromSnapshot, or unset restoreFromSnapshot`,
        });
        return undefined;
    }
    return uri;
}
