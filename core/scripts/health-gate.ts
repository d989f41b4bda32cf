// The health gate that ends a deployment (host/etcd-aws-health-gate.sh): its settings.
import { ETCD_UNIT } from "../host-contract";
import { clientTlsSettings } from "../launch";
import { ClusterSpec, clientEndpoints } from "../model";
import { renderBundle } from "../shell";

export interface HealthGateInput {
    /** Seconds to wait for the cluster before failing the deployment. */
    readonly timeoutSeconds: number;
}

/**
 * Waits until every member is started and healthy and the member list has the expected size;
 * otherwise fails with the member list and the last log lines.
 */
export function renderHealthGateScript(spec: ClusterSpec, input: HealthGateInput): string {
    return renderBundle({
        purpose: "health",
        description: [
            `Health gate of etcd cluster ${spec.clusterName}: waits for ${spec.members.length} healthy members.`,
        ],
        settings: {
            ENDPOINTS: clientEndpoints(spec).join(","),
            EXPECTED_MEMBERS: spec.members.length,
            TIMEOUT_SECONDS: input.timeoutSeconds,
            UNIT: ETCD_UNIT,
            ...clientTlsSettings(spec),
        },
        readsJson: true,
        script: "etcd-aws-health-gate.sh",
    });
}
