// The discovery token's size registration (host/etcd-aws-discovery-size.sh): its settings.
import { ClusterSpec } from "../model";
import { renderBundle } from "../shell";

/**
 * Registers the discovery token's size before any member starts: the v2 keys API's
 * `<url>/_config/size`, or the v3 key `/_etcd/registry/<token>/_config/size`. A size already
 * registered with the same value is left alone; a different value means the token is in use.
 */
export function renderDiscoverySizeScript(spec: ClusterSpec): string {
    const discovery = spec.discovery;
    if (!discovery || !discovery.registerSize) {
        throw new Error("this cluster registers no discovery size");
    }
    const settings: Record<string, string | number> =
        discovery.protocol === "v3"
            ? {
                  PROTOCOL: "v3",
                  ENDPOINTS: (discovery.endpoints ?? []).join(","),
                  SIZE_KEY: `/_etcd/registry/${discovery.token}/_config/size`,
                  SIZE: discovery.size,
              }
            : {
                  PROTOCOL: "v2",
                  SIZE_URL: `${discovery.url}/_config/size`,
                  SIZE: discovery.size,
                  PROXY: discovery.proxy ?? "",
              };
    return renderBundle({
        purpose: "discovery",
        description: [`Registers size ${discovery.size} for the discovery token of cluster ${spec.clusterName}.`],
        settings,
        readsJson: discovery.protocol === "v2",
        script: "etcd-aws-discovery-size.sh",
    });
}
