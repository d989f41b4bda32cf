// The library: components another Pulumi program imports, with their Args types.
export {
    EtcdCluster,
    EtcdClusterArgs,
    EtcdClusterConfigError,
    validateClusterArgs,
    ValidateClusterArgsOptions,
} from "./etcd-cluster";
export { EtcdDiscovery, EtcdDiscoveryArgs } from "./etcd-discovery";
export { EtcdDns, EtcdDnsArgs } from "./etcd-dns";
export { BastionSettings, EtcdMember, EtcdMemberArgs, SshSettings } from "./etcd-member";
export { EtcdMemberCertificates, EtcdPki, EtcdPkiArgs, EtcdPkiMember } from "./etcd-pki";
export { EtcdSecurityGroup, EtcdSecurityGroupArgs } from "./etcd-security-group";
export { ClusterSettings, DiscoverySettings } from "../core/settings";
