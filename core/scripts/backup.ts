// Backups to S3 (host/etcd-aws-backup.sh, host/etcd-aws-restore.sh): their settings, and the
// systemd service and timer that run the backup on every member.
import { createHash } from "node:crypto";
import {
    ETCD_UNIT,
    HOST_PATHS,
    MEMBERSHIP_WAIT_SECONDS,
    REPORT_EVERY_SECONDS,
    RUN_SCRIPT_COMMAND,
} from "../host-contract";
import { initialCluster } from "../flags";
import { clientTlsSettings, HostFile, memberEndpointSettings } from "../launch";
import { ClusterSpec, MemberSpec, peerUrl } from "../model";
import { renderBundle } from "../shell";
import { renderTimerUnits, TimerUnits } from "./timer-units";

/** Where a member's backups go and how long they are kept. */
export interface BackupSettings {
    /** The bucket's name. */
    readonly bucket: string;
    /** Its region; signs the requests. */
    readonly region: string;
    /** The S3 endpoint, path-style (default `https://s3.<region>.amazonaws.com`). */
    readonly endpoint?: string;
    /** Key prefix; a cluster's backups are under `<prefix>/<cluster>/` (default "etcd-backups"). */
    readonly prefix?: string;
    /** Seconds between two backups of the cluster (default an hour). */
    readonly intervalSeconds?: number;
    /** Backups older than this many seconds are deleted (default 7 days). */
    readonly retentionSeconds?: number;
    /**
     * Where the scripts get their credentials: "imds" (the instance profile, through IMDSv2; on EC2)
     * or "environment" (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN of whoever runs
     * them). No default: a script never asks a metadata service it was not told to.
     */
    readonly credentials: "imds" | "environment";
    /**
     * The instance metadata service the "imds" credentials come from (default EC2's, http://169.254.169.254).
     * Part of the host contract: the local cloud's instances have a stand-in on a loopback address instead.
     */
    readonly imdsEndpoint?: string;
    /**
     * The PEM of the CA that signed an HTTPS endpoint's certificate when the system's trust store lacks it (the local
     * cloud's S3); default none (AWS's certificates chain to the system's CAs).
     */
    readonly s3CaPem?: string;
}

export const BACKUP_DEFAULTS = {
    prefix: "etcd-backups",
    intervalSeconds: 3600,
    retentionSeconds: 7 * 24 * 3600,
} as const;

/** The instance metadata service (IMDSv2) of EC2, the default of BackupSettings.imdsEndpoint. */
export const EC2_IMDS_ENDPOINT = "http://169.254.169.254";

/** Where the backup pieces live on a member. */
export const BACKUP_PATHS = {
    backupScript: "/usr/local/sbin/etcd-aws-backup",
    restoreScript: "/usr/local/sbin/etcd-aws-restore",
    /** Scratch space for a snapshot that fits in memory: a tmpfs, so the snapshot never takes the disk from etcd's WAL. */
    memoryScratchDir: "/dev/shm",
    /** Scratch space for a larger snapshot: on the data volume, which has room for one. */
    scratchDir: `${HOST_PATHS.dataMount}/backup`,
    serviceFile: `${HOST_PATHS.unitDir}/etcd-aws-backup.service`,
    timerFile: `${HOST_PATHS.unitDir}/etcd-aws-backup.timer`,
} as const;

/**
 * etcd keys of the backup: the lock the members' timers take one at a time, and the last backup's
 * interval slot and URI. Not under the lock key (etcdctl lock waits on every key under it).
 */
export const BACKUP_LOCK_KEY = "etcd-aws/backup-lock";
export const BACKUP_SLOT_KEY = "etcd-aws/backup-last";

/** How far a restore moves revisions on, so a watcher's last revision is always behind it. */
export const RESTORE_BUMP_REVISION = 1_000_000_000;

/** One PEM certificate (what BackupSettings.s3CaPem holds when set). */
export const ONE_PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Key characters S3 takes unencoded in a path and a signed query. */
const SAFE_PREFIX = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

function checked(settings: BackupSettings): Required<BackupSettings> {
    const resolved = {
        endpoint: `https://s3.${settings.region}.amazonaws.com`,
        imdsEndpoint: EC2_IMDS_ENDPOINT,
        s3CaPem: "",
        ...BACKUP_DEFAULTS,
        ...settings,
    };
    const problems = [
        BUCKET_NAME.test(resolved.bucket) ? "" : `bucket "${resolved.bucket}" is not an S3 bucket name`,
        /^[a-z]{2,}(-[a-z]+)*-\d+$/.test(resolved.region) ? "" : `region "${resolved.region}" is not an AWS region`,
        /^https?:\/\/[^/\s]+$/.test(resolved.endpoint)
            ? ""
            : `endpoint "${resolved.endpoint}" is not a scheme and host`,
        /^http:\/\/[^/\s]+$/.test(resolved.imdsEndpoint)
            ? ""
            : `imdsEndpoint "${resolved.imdsEndpoint}" is not http:// and a host`,
        resolved.s3CaPem === "" || ONE_PEM_CERTIFICATE.test(resolved.s3CaPem)
            ? ""
            : "s3CaPem is not one PEM certificate",
        resolved.prefix === "" || SAFE_PREFIX.test(resolved.prefix)
            ? ""
            : `prefix "${resolved.prefix}" may hold only letters, digits, ".", "_", "-" and inner "/"`,
        Number.isInteger(resolved.intervalSeconds) && resolved.intervalSeconds >= 60
            ? ""
            : `intervalSeconds ${resolved.intervalSeconds} is not a whole number of seconds >= 60`,
        Number.isInteger(resolved.retentionSeconds) && resolved.retentionSeconds >= resolved.intervalSeconds
            ? ""
            : `retentionSeconds ${resolved.retentionSeconds} keeps less than one interval's backup`,
    ].filter(Boolean);
    if (problems.length > 0) {
        throw new Error(`etcd-aws backup settings: ${problems.join("; ")}`);
    }
    return resolved;
}

/** The object prefix of a cluster's backups, with its trailing slash. */
export function backupPrefix(spec: Pick<ClusterSpec, "clusterName">, settings: BackupSettings): string {
    const { prefix } = checked(settings);
    return `${prefix ? `${prefix}/` : ""}${spec.clusterName}/`;
}

function s3Settings(settings: Required<BackupSettings>): Record<string, string> {
    return {
        S3_ENDPOINT: settings.endpoint,
        S3_REGION: settings.region,
        CREDENTIALS: settings.credentials,
        IMDS_URL: settings.credentials === "imds" ? settings.imdsEndpoint : "",
        S3_CA_PEM: settings.s3CaPem,
    };
}

/**
 * The backup script of one member (installed at BACKUP_PATHS.backupScript; the timer runs it):
 * under the cluster-wide backup lock, the first member of each interval saves a snapshot from its
 * own etcd, checks it and uploads it with its status as metadata, then deletes the cluster's
 * backups older than the retention. Prints the backup's S3 URI; `--now` backs up even when the
 * interval has a backup.
 */
export function renderBackupScript(spec: ClusterSpec, member: MemberSpec, settings: BackupSettings): string {
    const resolved = checked(settings);
    const { MEMBER_NAME, LOCAL_ENDPOINT, PEER_ENDPOINTS } = memberEndpointSettings(spec, member);
    return renderBundle({
        purpose: "backup",
        description: [
            `Backs up etcd cluster ${spec.clusterName} from member ${member.name} to s3://${resolved.bucket}/${backupPrefix(spec, settings)}.`,
        ],
        settings: {
            MEMBER_NAME,
            LOCAL_ENDPOINT,
            PEER_ENDPOINTS,
            LOCK_KEY: BACKUP_LOCK_KEY,
            UNIT: ETCD_UNIT,
            WAIT_SECONDS: MEMBERSHIP_WAIT_SECONDS,
            REPORT_EVERY_SECONDS,
            CLUSTER_NAME: spec.clusterName,
            S3_BUCKET: resolved.bucket,
            S3_PREFIX: resolved.prefix,
            ...s3Settings(resolved),
            SLOT_KEY: BACKUP_SLOT_KEY,
            INTERVAL_SECONDS: resolved.intervalSeconds,
            RETENTION_SECONDS: resolved.retentionSeconds,
            MEMORY_DIR: BACKUP_PATHS.memoryScratchDir,
            BACKUP_DIR: BACKUP_PATHS.scratchDir,
            ...clientTlsSettings(spec),
        },
        libraries: ["lib/membership.sh", "lib/s3.sh"],
        readsJson: true,
        script: "etcd-aws-backup.sh",
    });
}

/**
 * The new cluster token of a restore from `uri`: the running token and a digest of the URI, so the
 * same URI renders the same script (its marker makes a second run change nothing) and another gets
 * a cluster of its own.
 */
export function restoreClusterToken(clusterToken: string, uri: string): string {
    return `${clusterToken}-restore-${createHash("sha256").update(uri).digest("hex").slice(0, 12)}`;
}

/** The command that runs a restore script (on its stdin) for `uri`, which restoreFromSnapshot's check keeps plain. */
export function restoreCommand(uri: string): string {
    return `${RUN_SCRIPT_COMMAND} -- '${uri}' --discard-current-data`;
}

/**
 * The restore script of one member: `bash -s -- s3://BUCKET/KEY --discard-current-data`. Checks
 * the snapshot against its recorded metadata before touching etcd, then makes the member part of
 * a new cluster (`clusterToken`, which must differ from the running cluster's) built from it.
 */
export function renderRestoreScript(
    spec: ClusterSpec,
    member: MemberSpec,
    settings: BackupSettings,
    clusterToken: string,
): string {
    if (clusterToken === spec.clusterToken || !/^[A-Za-z0-9._-]+$/.test(clusterToken)) {
        throw new Error(
            `etcd-aws restore: cluster token "${clusterToken}" must be new (not the running cluster's) and plain`,
        );
    }
    return renderBundle({
        purpose: "restore",
        description: [`Restores member ${member.name} of etcd cluster ${spec.clusterName} from a backup in S3.`],
        settings: {
            MEMBER_NAME: member.name,
            PEER_URL: peerUrl(spec, member),
            INITIAL_CLUSTER: initialCluster(spec),
            CLUSTER_TOKEN: clusterToken,
            DATA_DIR: HOST_PATHS.dataDir,
            UNIT: ETCD_UNIT,
            BUMP_REVISION: RESTORE_BUMP_REVISION,
            MEMORY_DIR: BACKUP_PATHS.memoryScratchDir,
            BACKUP_DIR: BACKUP_PATHS.scratchDir,
            ...s3Settings(checked(settings)),
        },
        libraries: ["lib/s3.sh"],
        readsJson: true,
        script: "etcd-aws-restore.sh",
    });
}

/** The systemd units that run the installed backup script on a member. */
export type BackupUnits = TimerUnits;

/**
 * A oneshot service running BACKUP_PATHS.backupScript after etcd, and a timer starting it every
 * interval on every member (the script's lock and slot make one backup of them per interval).
 */
export function renderBackupUnits(settings: BackupSettings): BackupUnits {
    const { intervalSeconds } = checked(settings);
    return renderTimerUnits({
        serviceDescription: "etcd-aws backup of the etcd cluster to S3",
        timerDescription: "etcd-aws backup every interval",
        script: BACKUP_PATHS.backupScript,
        // A backup is background work: etcd's own requests come first.
        serviceLines: ["Nice=10", "IOSchedulingClass=idle"],
        firstAfterBootSeconds: Math.min(intervalSeconds, 600),
        intervalSeconds,
        randomDelaySeconds: Math.min(Math.floor(intervalSeconds / 10), 300),
    });
}

/** The timer a member enables (with `systemctl enable --now`) once its backup files are written. */
export const BACKUP_TIMER_UNIT = "etcd-aws-backup.timer";

/**
 * What a member needs on disk for its scheduled backups: the backup script, its service and its timer (at
 * BACKUP_PATHS). None of them is etcd's business: a change of one owes `systemctl daemon-reload` and
 * `systemctl enable --now BACKUP_TIMER_UNIT`, never an etcd restart.
 */
export function backupHostFiles(spec: ClusterSpec, member: MemberSpec, settings: BackupSettings): HostFile[] {
    const units = renderBackupUnits(settings);
    const file = (path: string, content: string, mode: string): HostFile => ({
        path,
        mode,
        owner: "root:root",
        content,
    });
    return [
        file(BACKUP_PATHS.backupScript, renderBackupScript(spec, member, settings), "0755"),
        file(BACKUP_PATHS.serviceFile, units.service, "0644"),
        file(BACKUP_PATHS.timerFile, units.timer, "0644"),
    ];
}

/** An IAM policy document. */
export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly Record<string, unknown>[];
}

/** The bucket policy: every request without TLS is denied, whoever makes it. */
export function backupBucketPolicy(bucket: string): PolicyDocument {
    const arn = `arn:aws:s3:::${bucket}`;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyPlainHttp",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

/**
 * The members' rights, no more: put, get and delete (retention) of objects under the cluster's
 * prefix, the listing of that prefix only, and use of the bucket's KMS key when it has one.
 */
export function backupMemberPolicy(bucket: string, objectPrefix: string, kmsKeyArn?: string): PolicyDocument {
    const arn = `arn:aws:s3:::${bucket}`;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "BackupObjects",
                Effect: "Allow",
                Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                Resource: `${arn}/${objectPrefix}*`,
            },
            {
                Sid: "ListBackups",
                Effect: "Allow",
                Action: "s3:ListBucket",
                Resource: arn,
                Condition: { StringLike: { "s3:prefix": [`${objectPrefix}*`] } },
            },
            ...(kmsKeyArn
                ? [
                      {
                          Sid: "BackupKey",
                          Effect: "Allow",
                          Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                          Resource: kmsKeyArn,
                      },
                  ]
                : []),
        ],
    };
}
