import * as assert from "node:assert/strict";
import * as core from "../../core";

describe("core/index (the public API of etcd-aws/core)", () => {
    it("exports the settings, their validation, the cluster's shape and the rendered artifacts, and nothing else", () => {
        assert.deepEqual(Object.keys(core).sort(), [
            "BACKUP_DEFAULTS",
            "BACKUP_PATHS",
            "BOOTSTRAP_MODES",
            "CONFIG_KEYS",
            "DATA_DEVICE_NAME",
            "DEFAULTS",
            "DEFAULT_ETCD_VERSION",
            "DEFAULT_PORTS",
            "ETCD_LINES",
            "HOST_PATHS",
            "MEMBER_COUNTS",
            "PKI_FILES",
            "SECURITY_GROUP_DESCRIPTION",
            "buildClusterSpec",
            "capabilitiesOf",
            "checkBootstrapPlan",
            "clientEndpoints",
            "clientUrl",
            "clusterTokenInStackFile",
            "cpuArchitecture",
            "formatProblems",
            "memberCertificateSans",
            "memberName",
            "memberTlsFiles",
            "parseEtcdVersion",
            "peerUrl",
            "placeholderAddresses",
            "readStackConfig",
            "releaseUrl",
            "renderAuthScript",
            "renderBackupScript",
            "renderBackupUnits",
            "renderDiscoverySizeScript",
            "renderDnsRecords",
            "renderEnvFile",
            "renderFirewallRules",
            "renderHealthGateScript",
            "renderInstallScript",
            "renderLaunchScript",
            "renderLeaveScript",
            "renderMemberFlags",
            "renderMemberReadyScript",
            "renderRestoreScript",
            "renderSystemdUnit",
            "validateSettings",
        ]);
    });

    it("keeps the shell and parsing helpers the renderers use to themselves", () => {
        for (const helper of [
            "shellQuote",
            "heredoc",
            "assignments",
            "scriptPrelude",
            "parseEnvFile",
            "checkCidr",
            "unknownFlags",
            "ClusterConfigError",
            "resolveSettings",
        ]) {
            assert.ok(!(helper in core), `${helper} is not part of the public API`);
        }
    });
});
