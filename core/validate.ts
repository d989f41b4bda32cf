// Validation of a cluster's settings: every problem in one pass, each naming the setting, its
// value and the fix, before anything is created. The checks live in validate/, one module per
// concern; this file runs them in order and assembles the settings with defaults filled in.
import { BootstrapMode, DiskCheck, MaintenanceSpec, Ports } from "./model";
import { ConfigProblem } from "./problems";
import { ClusterSettings } from "./settings";
import { EtcdVersion } from "./versions";
import { checkSettingKinds } from "./validate/arg-types";
import { Problems, redactUrl } from "./validate/checks";
import { ResolvedDiscovery, resolveDiscovery } from "./validate/discovery";
import { resolveExtraFlags } from "./validate/extra-flags";
import { resolveMachine, resolveRelease } from "./validate/machines";
import {
    checkClusterName,
    resolveCertificateDays,
    resolveClusterToken,
    resolveMemberCount,
    resolveMode,
    resolveSecurity,
    resolveVersion,
    TokenInUse,
} from "./validate/membership";
import { resolveAccess, resolveNames, resolvePorts } from "./validate/network";
import { resolveMaintenance } from "./validate/maintenance";
import { resolveUpgrade } from "./validate/upgrade";
import { ResolvedBackup, resolveBackup } from "./validate/backup";
import { UpgradeHop } from "./upgrade";

export { MEMBER_COUNTS, TokenInUse } from "./validate/membership";
export { ResolvedDiscovery } from "./validate/discovery";

/** Settings after validation, with every default applied. */
export interface ResolvedSettings {
    readonly clusterName: string;
    readonly memberCount: number;
    readonly version: EtcdVersion;
    readonly mode: BootstrapMode;
    readonly tls: boolean;
    readonly auth: boolean;
    /** The etcd user of the application certificate (never root). */
    readonly clientUser: string;
    /** The key prefix the application user may read and write with auth on ("" is every key). */
    readonly clientKeyPrefix: string;
    readonly certificateValidityDays: number;
    readonly certificateRenewalDays: number;
    readonly domain: string;
    readonly srvName?: string;
    readonly clusterToken: string;
    readonly clientCidrs: readonly string[];
    readonly sshCidrs: readonly string[];
    readonly monitoringCidrs: readonly string[];
    readonly allowPublicAccess: boolean;
    readonly instanceType: string;
    readonly volumeSizeGiB: number;
    readonly volumeType: string;
    readonly volumeIops?: number;
    /** What the install does with the data volume's fsync measurement. */
    readonly diskCheck: DiskCheck;
    readonly mirrorBaseUrl: string;
    readonly etcdSha256?: string;
    readonly extraFlags: Readonly<Record<string, string>>;
    readonly ports: Ports;
    /** Compaction and the backend quota, as every member starts with them. */
    readonly maintenance: MaintenanceSpec;
    readonly discovery?: ResolvedDiscovery;
    /** Backups to S3; undefined without backupBucket. */
    readonly backup?: ResolvedBackup;
    /** The hop from the running release to `version`; undefined on the first deployment or when it stays. */
    readonly upgrade?: UpgradeHop;
}

/** Where the settings come from, for defaults and cross-cluster checks. */
export interface ValidationContext {
    readonly project: string;
    readonly stack: string;
    /** Cluster tokens already taken by other clusters (other stacks' files, this program). */
    readonly tokensInUse?: readonly TokenInUse[];
    /** Names of the other clusters of this program. */
    readonly namesInUse?: readonly string[];
    /**
     * The etcd release the cluster runs (the stack's last deployed `etcdVersion`); undefined before
     * the first deployment. A change etcd does not support from it is refused with the way there.
     */
    readonly runningVersion?: string;
    /** How many members the cluster runs (its last deployed memberNames); undefined before the first deployment. */
    readonly runningMemberCount?: number;
}

/** Every problem of the settings; `resolved` is set exactly when there are none. */
export interface SettingsValidation {
    readonly problems: readonly ConfigProblem[];
    /**
     * Settings that work but weaken the cluster (public access, small instances, safety checks
     * turned off) or were translated (etcd 0.4 flag names): one sentence each, naming the setting.
     */
    readonly warnings: readonly string[];
    readonly resolved?: ResolvedSettings;
}

/** The settings that can hold a credential, and whether their whole path is one (a ready discovery URL). */
const CREDENTIAL_URLS: ReadonlyMap<string, boolean> = new Map([
    ["mirrorBaseUrl", false],
    ["discovery.serviceUrl", false],
    ["discovery.url", true],
    ["discovery.proxy", false],
]);

function redactedValue(setting: string, value: unknown): unknown {
    const pathIsSecret = CREDENTIAL_URLS.get(setting);
    if (pathIsSecret !== undefined) {
        return redactUrl(value, pathIsSecret);
    }
    // The discovery settings as a whole, or several of them (discovery.serviceUrl/discovery.url).
    if (setting.startsWith("discovery") && typeof value === "object" && value !== null && !Array.isArray(value)) {
        return Object.fromEntries(
            Object.entries(value).map(([field, item]) => [field, redactedValue(`discovery.${field}`, item)]),
        );
    }
    return value;
}

/** A problem as every message may show it: credentials in URL values masked (see redactUrl). */
function withoutCredentials(problem: ConfigProblem): ConfigProblem {
    return { ...problem, value: redactedValue(problem.setting, problem.value) };
}

/** Checks every setting and collects every problem; the settings with defaults when there are none. */
export function validateSettings(
    clusterName: string,
    given: ClusterSettings,
    context: ValidationContext,
): SettingsValidation {
    const problems: Problems = [];
    const warnings: string[] = [];
    const settings = checkSettingKinds(given ?? {}, problems);
    const nameTaken = checkClusterName(clusterName, context.namesInUse ?? [], problems);
    const memberCount = resolveMemberCount(settings, problems);
    const version = resolveVersion(settings, problems);
    const mode = resolveMode(settings, problems);
    const security = resolveSecurity(settings, problems, warnings);
    const certificateDays = resolveCertificateDays(settings, problems);
    const names = resolveNames(clusterName, settings, { mode, tls: security.tls, version }, problems);
    const clusterToken = resolveClusterToken(clusterName, settings, context, problems, nameTaken);
    const access = resolveAccess(settings, problems, warnings);
    const machine = resolveMachine(settings, problems, warnings);
    const release = resolveRelease(settings, problems);
    const ports = resolvePorts(settings, problems);
    const extraFlags = resolveExtraFlags(settings, version, problems, warnings);
    const maintenance = resolveMaintenance(settings, machine.volumeSizeGiB, extraFlags, problems, warnings);
    const discovery = resolveDiscovery(settings, { mode, version, memberCount }, problems);
    const upgrade = resolveUpgrade(context.runningVersion, settings, version, security.auth, problems);
    const backup = resolveBackup(settings, problems, clusterName);
    if (backup?.restoreFrom && context.runningMemberCount !== undefined && context.runningMemberCount !== memberCount) {
        problems.push({
            setting: "restoreFromSnapshot",
            value: backup.restoreFrom,
            problem: `restores the ${context.runningMemberCount} members that run, but memberCount asks for ${memberCount}: a member added now would restore the snapshot over the data it joins with`,
            fix: `restore with memberCount ${context.runningMemberCount}, then unset restoreFromSnapshot and restoreDiscardsCurrentData and change memberCount in the next pulumi up`,
        });
    }
    if (problems.length > 0) {
        return { problems: problems.map(withoutCredentials), warnings };
    }
    const resolved: ResolvedSettings = {
        clusterName,
        memberCount,
        version,
        mode,
        ...security,
        ...certificateDays,
        ...names,
        clusterToken,
        ...access,
        ...machine,
        ...release,
        extraFlags,
        ports,
        maintenance,
        discovery,
        ...(upgrade ? { upgrade } : {}),
        ...(backup ? { backup } : {}),
    };
    return { problems, warnings, resolved };
}
