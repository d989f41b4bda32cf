// The health gate that ends a deployment (host/etcd-aws-health-gate.sh): its settings.
import { ETCD_UNIT } from "../host-contract";
import { clientTlsSettings } from "../launch";
import { ClusterSpec, clientEndpoints, peerUrl } from "../model";
import { renderBundle } from "../shell";
import { RECOVER_SPACE_COMMAND } from "./defrag";

export interface HealthGateInput {
    /** Seconds to wait for the cluster before failing the deployment. */
    readonly timeoutSeconds: number;
}

/**
 * Waits until every member of the spec is a started voting member and healthy; members not in
 * the spec (leaving at the end of the update, on scale-in) are reported, not counted. Otherwise
 * fails with what it waited for, the member list and the last log lines; at once when an alarm is
 * raised, naming it, its member and (NOSPACE) the space recovery's command.
 */
export function renderHealthGateScript(spec: ClusterSpec, input: HealthGateInput): string {
    return renderBundle({
        purpose: "health",
        description: [
            `Health gate of etcd cluster ${spec.clusterName}: waits for its ${spec.members.length} members, started and healthy.`,
        ],
        settings: {
            ENDPOINTS: clientEndpoints(spec).join(","),
            PEER_URLS: spec.members.map((member) => peerUrl(spec, member)).join(","),
            TIMEOUT_SECONDS: input.timeoutSeconds,
            UNIT: ETCD_UNIT,
            RECOVER_SPACE_COMMAND,
            ...clientTlsSettings(spec),
        },
        readsJson: true,
        script: "etcd-aws-health-gate.sh",
    });
}
