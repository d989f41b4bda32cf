// Validation of a cluster's settings: every problem in one pass, each naming the setting, its
// value and the fix, before anything is created. The checks live in validate/, one module per
// concern; this file runs them in order and assembles the settings with defaults filled in.
import { BootstrapMode, Ports } from "./model";
import { ConfigProblem } from "./problems";
import { ClusterSettings } from "./settings";
import { EtcdVersion } from "./versions";
import { Problems } from "./validate/checks";
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
    readonly mirrorBaseUrl: string;
    readonly etcdSha256?: string;
    readonly extraFlags: Readonly<Record<string, string>>;
    readonly ports: Ports;
    readonly discovery?: ResolvedDiscovery;
    /** Notes for the user that are not errors (legacy flags translated, public access). */
    readonly warnings: readonly string[];
}

/** Where the settings come from, for defaults and cross-cluster checks. */
export interface ValidationContext {
    readonly project: string;
    readonly stack: string;
    /** Cluster tokens already taken by other clusters (other stacks' files, this program). */
    readonly tokensInUse?: readonly TokenInUse[];
}

/** Every problem of the settings; `resolved` is set exactly when there are none. */
export interface SettingsValidation {
    readonly problems: readonly ConfigProblem[];
    readonly resolved?: ResolvedSettings;
}

/** Checks every setting and collects every problem; the settings with defaults when there are none. */
export function validateSettings(clusterName: string, settings: ClusterSettings, context: ValidationContext): SettingsValidation {
    const problems: Problems = [];
    const warnings: string[] = [];
    checkClusterName(clusterName, problems);
    const memberCount = resolveMemberCount(settings, problems);
    const version = resolveVersion(settings, problems);
    const mode = resolveMode(settings, problems);
    const { tls, auth } = resolveSecurity(settings, problems);
    const certificateDays = resolveCertificateDays(settings, problems);
    const names = resolveNames(clusterName, settings, { mode, tls, version }, problems);
    const clusterToken = resolveClusterToken(clusterName, settings, context, problems);
    const access = resolveAccess(settings, problems, warnings);
    const machine = resolveMachine(settings, problems);
    const release = resolveRelease(settings, problems);
    const ports = resolvePorts(settings, problems);
    const extraFlags = resolveExtraFlags(settings, version, problems, warnings);
    const discovery = resolveDiscovery(settings, { mode, version, memberCount }, problems);
    if (problems.length > 0) {
        return { problems };
    }
    const resolved: ResolvedSettings = {
        clusterName,
        memberCount,
        version,
        mode,
        tls,
        auth,
        ...certificateDays,
        ...names,
        clusterToken,
        ...access,
        ...machine,
        ...release,
        extraFlags,
        ports,
        discovery,
        warnings,
    };
    return { problems, resolved };
}
