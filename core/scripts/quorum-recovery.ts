// The recovery from quorum loss on one surviving member (host/etcd-aws-force-new-cluster.sh): its
// settings and the file a launch installs on every member, so an operator finds it where etcd runs.
import { ETCD_UNIT, HOST_PATHS } from "../host-contract";
import { HostFile, memberEndpointSettings, ownMembershipSettings } from "../launch";
import { ClusterSpec, MemberSpec } from "../model";
import { renderBundle } from "../shell";

/** Where the recovery lives on a member, and what it leaves while and after it runs. */
export const QUORUM_RECOVERY_PATHS = {
    script: "/usr/local/sbin/etcd-aws-force-new-cluster",
    /** The systemd drop-in that starts etcd once with --force-new-cluster; removed before the script ends. */
    dropInFile: `${HOST_PATHS.unitDir}/${ETCD_UNIT}.d/force-new-cluster.conf`,
    /** When the member became a one-member cluster, and at which revision. */
    markerFile: `${HOST_PATHS.dataDir}.forced-new-cluster`,
} as const;

/** The argument that states the intent: the other members' data is given up. */
export const QUORUM_RECOVERY_INTENT = "--discard-other-members";

/** What an operator runs on the one surviving member. */
export const QUORUM_RECOVERY_COMMAND = `sudo ${QUORUM_RECOVERY_PATHS.script} ${QUORUM_RECOVERY_INTENT}`;

/**
 * The recovery script of one member: refuses while the cluster has quorum or the member has no data; otherwise
 * keeps a copy of the data, starts etcd once with --force-new-cluster and again without it.
 */
export function renderQuorumRecoveryScript(spec: ClusterSpec, member: MemberSpec): string {
    return renderBundle({
        purpose: "force-new-cluster",
        description: [
            `Makes member ${member.name} of etcd cluster ${spec.clusterName} a one-member cluster on its data when quorum is lost for good.`,
            `Usage: ${QUORUM_RECOVERY_COMMAND}`,
        ],
        settings: {
            ...ownMembershipSettings(spec, member),
            // The others it asks before it splits them off: the launch rewrites the script when they change.
            PEER_ENDPOINTS: memberEndpointSettings(spec, member).PEER_ENDPOINTS,
            DATA_DIR: HOST_PATHS.dataDir,
            DROP_IN_FILE: QUORUM_RECOVERY_PATHS.dropInFile,
            MARKER_FILE: QUORUM_RECOVERY_PATHS.markerFile,
        },
        libraries: ["lib/membership.sh"],
        readsJson: true,
        script: "etcd-aws-force-new-cluster.sh",
    });
}

/** The file that gives a member its quorum recovery (root's, 0755); it owes etcd no restart. */
export function quorumRecoveryFiles(spec: ClusterSpec, member: MemberSpec): HostFile[] {
    return [
        {
            path: QUORUM_RECOVERY_PATHS.script,
            content: renderQuorumRecoveryScript(spec, member),
            mode: "0755",
            owner: "root:root",
        },
    ];
}
