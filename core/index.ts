// The configuration core's public API ("etcd-aws/core"): plain data in, rendered etcd
// configuration out, with no Pulumi imports, so the same functions serve the components, the
// local real-etcd harness and the tests. Exported here is what a user of the library needs:
// the settings and their validation, the cluster's shape, and the rendered artifacts. The
// helpers that build them (shell quoting, flag tables, CIDR parsing) stay in their modules.

// Settings, their validation and the stack configuration.
export { DEFAULTS } from "./settings";
export type { ClusterSettings, DiscoverySettings } from "./settings";
export { MEMBER_COUNTS, validateSettings } from "./validate";
export type {
    ResolvedDiscovery,
    ResolvedSettings,
    SettingsValidation,
    TokenInUse,
    ValidationContext,
} from "./validate";
export { formatProblems } from "./problems";
export type { ConfigProblem } from "./problems";
export { CONFIG_KEYS, clusterTokenInStackFile, readStackConfig } from "./stack-config";
export type { ConfigKey, ConfigType, StackConfig } from "./stack-config";
export { capabilitiesOf, DEFAULT_ETCD_VERSION, ETCD_LINES, parseEtcdVersion } from "./versions";
export type { EtcdCapabilities, EtcdLine, EtcdVersion } from "./versions";

// The cluster's shape: members, names and URLs, and the checks of the flags they start with.
export { BOOTSTRAP_MODES, clientEndpoints, clientUrl, memberCertificateSans, memberName, peerUrl } from "./model";
export type {
    BootstrapMode,
    CertificateSans,
    ClusterSpec,
    DiscoveryProtocol,
    DiscoverySpec,
    MemberSpec,
    Ports,
} from "./model";
export { buildClusterSpec, placeholderAddresses } from "./spec";
export { checkBootstrapPlan } from "./bootstrap-check";
export { DEFAULT_PORTS, HOST_PATHS, PKI_FILES } from "./host-contract";

// Rendered artifacts: flags and environment file, DNS records, firewall rules, host scripts.
export { renderEnvFile, renderMemberFlags } from "./flags";
export type { EtcdFlag } from "./flags";
export { renderDnsRecords } from "./dns";
export type { ARecord, DnsRecords, SrvRecordSet } from "./dns";
export { renderFirewallRules, SECURITY_GROUP_DESCRIPTION } from "./firewall";
export type { FirewallInput, FirewallRule, RuleSource } from "./firewall";
export { cpuArchitecture, DATA_DEVICE_NAME, releaseUrl, renderInstallScript, renderSystemdUnit } from "./install";
export type { CpuArchitecture, InstallScriptInput, ReleaseSpec } from "./install";
export { memberTlsFiles, renderLaunchScript, renderLeaveScript } from "./launch";
export type { HostFile, MemberCertificatePems, MembershipWaits } from "./launch";
export { renderHealthGateScript } from "./scripts/health-gate";
export type { HealthGateInput } from "./scripts/health-gate";
export { renderMemberReadyScript } from "./scripts/member-ready";
export type { MemberReadyOptions } from "./scripts/member-ready";
export { renderDiscoverySizeScript } from "./scripts/discovery-size";
export { renderAuthScript } from "./scripts/auth";
export type { AuthUsers } from "./scripts/auth";
export {
    BACKUP_DEFAULTS,
    BACKUP_PATHS,
    renderBackupScript,
    renderBackupUnits,
    renderRestoreScript,
} from "./scripts/backup";
export type { BackupSettings, BackupUnits } from "./scripts/backup";
