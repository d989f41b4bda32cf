// The package's entry (package.json main and exports "."): what `import ... from "etcd-aws"`
// gives. `pulumi package add` loads the same file as a plugin and infers a schema for every
// component class exported here, so it exports exactly one, EtcdCluster, whose Args the schema
// inference supports. The building blocks are in "etcd-aws/components", the configuration core
// in "etcd-aws/core".
export { EtcdCluster, EtcdClusterConfigError, validateClusterArgs } from "./components/etcd-cluster";
export type { ClusterArgsValidation, EtcdClusterArgs, ValidateClusterArgsOptions } from "./components/etcd-cluster";
export type { BastionSettings, SshSettings } from "./components/etcd-member";
export type { ConfigProblem } from "./core/problems";
export type { TokenInUse } from "./core/validate";
export type { ClusterSettings, DiscoverySettings } from "./core/settings";
