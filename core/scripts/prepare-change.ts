// The step before every risky change of a running cluster (host/etcd-aws-prepare-change.sh): what
// makes a member restart or go away (the change it runs before), and its settings.
import { HOST_PATHS } from "../host-contract";
import { clientTlsSettings, memberEndpointSettings } from "../launch";
import { ClusterSpec } from "../model";
import { renderBundle } from "../shell";

/** Where the pre-change snapshots are kept: on the data volume, beside etcd's data directory. */
export const PRE_CHANGE_SNAPSHOT_DIR = `${HOST_PATHS.dataMount}/pre-change-snapshots`;

/** How many pre-change snapshots a member keeps (the newest). */
export const KEEP_PRE_CHANGE_SNAPSHOTS = 3;

/** Seconds the script waits for every member's storage version after `downgrade enable`. */
export const DOWNGRADE_WAIT_SECONDS = 300;

/**
 * What makes a member restart or go away. A change of any of these runs the pre-change step
 * before the instances, installs and launches that carry it out; nothing else runs it.
 */
export interface RiskyShape {
    /** Members in order: one added or removed changes every member's flags, one removed leaves. */
    readonly memberNames: readonly string[];
    /** The release: installed on every member, each restarted on it. */
    readonly etcdVersion: string;
    /** Changed by a stop and start of each instance. */
    readonly instanceType: string;
    /** The explicit AMI (replaces each instance); "" when looked up (pinned once created: it changes nothing). */
    readonly amiId: string;
    /** Size, type and IOPS of the data volumes: the quota follows the size, and a restart with it. */
    readonly volume: string;
    /**
     * Digest of every member's configuration as its launch writes it (flags, extra flags, the
     * certificates and the member list; not the instance): a change restarts the members.
     */
    readonly configurationDigest: string;
}

/** The shape as one line: the pre-change step's CHANGE setting, which its log shows. */
export function describeRiskyShape(shape: RiskyShape): string {
    return [
        `members ${shape.memberNames.join(",")}`,
        `etcd ${shape.etcdVersion}`,
        `instance type ${shape.instanceType}`,
        `AMI ${shape.amiId === "" ? "as created (looked up)" : shape.amiId}`,
        `data volume ${shape.volume}`,
        `configuration ${shape.configurationDigest.slice(0, 16)}`,
    ].join("; ");
}

export interface PrepareChangeInput {
    /** The cluster's shape the deployment goes to. */
    readonly shape: RiskyShape;
    /** The installed backup script to upload the snapshot with (`<it> --now`); none: kept on the member only. */
    readonly backupCommand?: string;
    /** Default DOWNGRADE_WAIT_SECONDS. */
    readonly downgradeWaitSeconds?: number;
}

/**
 * Runs on the first member (which every change keeps) before any member is stopped, replaced,
 * removed or given another release: saves and checks a snapshot on the data volume (uploaded
 * when backups are configured) and, when the spec's release is older than the members', enables
 * etcd's downgrade and waits for the storage version; fails, stopping the deployment, otherwise.
 */
export function renderPrepareChangeScript(spec: ClusterSpec, input: PrepareChangeInput): string {
    const first = spec.members[0];
    if (first === undefined) {
        throw new Error(`cluster ${spec.clusterName} has no members`);
    }
    const endpoints = memberEndpointSettings(spec, first);
    return renderBundle({
        purpose: "prepare-change",
        description: [
            `Before a change of etcd cluster ${spec.clusterName} stops a member: a checked snapshot, and the downgrade API's steps when the release goes down.`,
        ],
        settings: {
            CLUSTER_NAME: spec.clusterName,
            LOCAL_ENDPOINT: endpoints.LOCAL_ENDPOINT,
            PEER_ENDPOINTS: endpoints.PEER_ENDPOINTS,
            DATA_DIR: spec.dataDir,
            TARGET_VERSION: spec.version.text,
            SNAPSHOT_DIR: PRE_CHANGE_SNAPSHOT_DIR,
            KEEP_SNAPSHOTS: KEEP_PRE_CHANGE_SNAPSHOTS,
            DOWNGRADE_WAIT_SECONDS: input.downgradeWaitSeconds ?? DOWNGRADE_WAIT_SECONDS,
            BACKUP_COMMAND: input.backupCommand ?? "",
            CHANGE: describeRiskyShape(input.shape),
            ...clientTlsSettings(spec),
        },
        libraries: ["lib/s3.sh"],
        readsJson: true,
        script: "etcd-aws-prepare-change.sh",
    });
}
