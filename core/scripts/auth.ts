// Turning on etcd authentication (host/etcd-aws-auth.sh): its settings.
import { clientTlsSettings } from "../launch";
import { ClusterSpec, clientEndpoints } from "../model";
import { renderBundle } from "../shell";

/** Who the auth script sets up. */
export interface AuthUsers {
    /** Password of etcd user root (secret): passed on stdin, never as an argument. */
    readonly rootPassword: string;
    /** The application's etcd user, the common name of the application certificate (never root). */
    readonly clientUser: string;
    /** The keys that user's role may read and write: those under this prefix; "" for every key. */
    readonly clientKeyPrefix: string;
}

/**
 * Turns on etcd authentication once the cluster is healthy: user root (role root) with the
 * given password; the application's user without a password (its certificate is its
 * credential) with a role of its name that may read and write exactly the keys under the
 * prefix; then `auth enable`. The script runs with the member's admin certificate (common name
 * root), so it works again once auth is on: a second run sets the password again and brings the
 * role back to that one permission.
 */
export function renderAuthScript(spec: ClusterSpec, users: AuthUsers): string {
    const keys = users.clientKeyPrefix === "" ? "every key" : `keys under ${users.clientKeyPrefix}`;
    return renderBundle({
        purpose: "auth",
        description: [
            `Enables authentication on etcd cluster ${spec.clusterName} with user root and user ${users.clientUser} (${keys}).`,
        ],
        settings: {
            ENDPOINTS: clientEndpoints(spec).join(","),
            ROOT_PASSWORD: users.rootPassword,
            CLIENT_USER: users.clientUser,
            CLIENT_KEY_PREFIX: users.clientKeyPrefix,
            ...clientTlsSettings(spec),
        },
        readsJson: true,
        script: "etcd-aws-auth.sh",
    });
}
