// Turning on etcd authentication (host/etcd-aws-auth.sh): its settings.
import { clientTlsSettings } from "../launch";
import { ClusterSpec, clientEndpoints } from "../model";
import { renderBundle } from "../shell";

/**
 * Turns on etcd authentication once the cluster is healthy: user root (role root) with the
 * given password, passed on stdin and never as an argument, then `auth enable`. The package's
 * own checks keep working through the client certificate, whose common name is root. Running
 * it again only sets the password again.
 */
export function renderAuthScript(spec: ClusterSpec, rootPassword: string): string {
    return renderBundle({
        purpose: "auth",
        description: [`Enables authentication on etcd cluster ${spec.clusterName} with user root.`],
        settings: {
            ENDPOINTS: clientEndpoints(spec).join(","),
            ROOT_PASSWORD: rootPassword,
            ...clientTlsSettings(spec),
        },
        readsJson: true,
        script: "etcd-aws-auth.sh",
    });
}
