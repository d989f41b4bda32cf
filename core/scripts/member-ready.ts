// The wait for one member after its launch (host/etcd-aws-member-ready.sh): its settings.
import { ETCD_UNIT, REPORT_EVERY_SECONDS } from "../host-contract";
import { clientTlsSettings, memberEndpointSettings } from "../launch";
import { ClusterSpec, MemberSpec } from "../model";
import { renderBundle } from "../shell";

/**
 * Raft entries a member may be behind its leader and count as caught up: a few writes' worth,
 * as the two indexes are read a moment apart while writes go on.
 */
export const CATCH_UP_MARGIN = 100;

export interface MemberReadyOptions {
    /** Seconds to wait for the member before failing the deployment. */
    readonly timeoutSeconds: number;
}

/**
 * Waits until the member is a started voting member (not a learner), healthy, and caught up
 * with its leader (applied raft index within CATCH_UP_MARGIN); otherwise fails with the member
 * list, the members' status and the member's last log lines.
 */
export function renderMemberReadyScript(spec: ClusterSpec, member: MemberSpec, options: MemberReadyOptions): string {
    return renderBundle({
        purpose: "ready",
        description: [
            `Waits until member ${member.name} of etcd cluster ${spec.clusterName} is a healthy voting member that caught up.`,
        ],
        settings: {
            ...memberEndpointSettings(spec, member),
            TIMEOUT_SECONDS: options.timeoutSeconds,
            CATCH_UP_MARGIN,
            REPORT_EVERY_SECONDS,
            UNIT: ETCD_UNIT,
            ...clientTlsSettings(spec),
        },
        readsJson: true,
        script: "etcd-aws-member-ready.sh",
    });
}
