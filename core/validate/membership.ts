// Who the cluster is: its name, size, etcd release, bootstrap mode, security switches,
// certificate lifetimes and the token its member and cluster IDs derive from.
import { BOOTSTRAP_MODES, BootstrapMode } from "../model";
import { ClusterSettings, DEFAULTS } from "../settings";
import { beyondNewestKnown, DEFAULT_ETCD_VERSION, ETCD_LINES, EtcdVersion, parseEtcdVersion } from "../versions";
import { checkIntegerIn, checkOneOf, isInteger, Problems } from "./checks";

export const MEMBER_COUNTS: readonly number[] = [1, 3, 5, 7];

const CLUSTER_NAME = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A cluster token another cluster already has, and who that is (for the message). */
export interface TokenInUse {
    readonly token: string;
    readonly owner: string;
}

/** A valid name no other cluster of the program has; returns whether the name is taken. */
export function checkClusterName(name: string, namesInUse: readonly string[], problems: Problems): boolean {
    if (typeof name !== "string" || !CLUSTER_NAME.test(name)) {
        problems.push({
            setting: "name",
            value: name,
            problem: "cluster names become member names, DNS labels and AWS names",
            fix: "use 1-40 lowercase letters, digits and inner hyphens, starting with a letter",
        });
        return false;
    }
    const taken = namesInUse.includes(name);
    if (taken) {
        problems.push({
            setting: "name",
            value: name,
            problem: `another cluster in this program is already named "${name}"; their resources, member names and private zones would collide`,
            fix: `give this cluster its own name, e.g. "${name}-2"`,
        });
    }
    return taken;
}

export function resolveMemberCount(settings: ClusterSettings, problems: Problems): number {
    const count = settings.memberCount ?? DEFAULTS.memberCount;
    if (!isInteger(count) || !MEMBER_COUNTS.includes(count)) {
        problems.push({
            setting: "memberCount",
            value: count,
            problem:
                isInteger(count) && count % 2 === 0
                    ? "an even member count tolerates no more failures than the odd count below it"
                    : "etcd clusters are run with an odd number of members, at most 7",
            fix: `use one of ${MEMBER_COUNTS.join(", ")} (3 for most clusters, 5 to survive two failures)`,
        });
        return DEFAULTS.memberCount;
    }
    return count;
}

export function resolveVersion(settings: ClusterSettings, problems: Problems): EtcdVersion {
    const text = settings.etcdVersion ?? DEFAULT_ETCD_VERSION;
    const version = parseEtcdVersion(text);
    if (!version) {
        problems.push({
            setting: "etcdVersion",
            value: text,
            problem: `not a supported etcd release (lines ${ETCD_LINES.join(", ")})`,
            fix: `give a full release such as "${DEFAULT_ETCD_VERSION}"`,
        });
        return parseEtcdVersion(DEFAULT_ETCD_VERSION) as EtcdVersion;
    }
    const newest = beyondNewestKnown(version);
    if (newest !== undefined) {
        problems.push({
            setting: "etcdVersion",
            value: text,
            problem: `etcd ${version.text} is not a release: the newest ${version.line} release this package knows is ${newest}`,
            fix: `use "${newest}" (or a newer etcd-aws that knows the release)`,
        });
    }
    return version;
}

export function resolveMode(settings: ClusterSettings, problems: Problems): BootstrapMode {
    const mode = settings.bootstrapMode ?? DEFAULTS.bootstrapMode;
    return checkOneOf(problems, "bootstrapMode", mode, BOOTSTRAP_MODES, "unknown bootstrap mode") ? mode : "static";
}

/** An etcd user name that is also a certificate's common name and one etcdctl argument. */
const ETCD_USER = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** A key prefix etcdctl takes as one argument: printable ASCII without spaces. */
const KEY_PREFIX = /^[\x21-\x7e]{0,256}$/;

/** The security settings after validation. */
export interface ResolvedSecurity {
    readonly tls: boolean;
    readonly auth: boolean;
    readonly clientUser: string;
    readonly clientKeyPrefix: string;
}

/**
 * TLS and authentication; authentication needs TLS, or passwords travel in clear text. The
 * application's user is never root, and its key prefix is one etcdctl argument.
 */
export function resolveSecurity(settings: ClusterSettings, problems: Problems, warnings: string[]): ResolvedSecurity {
    const tls = settings.tls ?? DEFAULTS.tls;
    const auth = settings.auth ?? DEFAULTS.auth;
    const clientUser = settings.clientUser ?? DEFAULTS.clientUser;
    const clientKeyPrefix = settings.clientKeyPrefix ?? DEFAULTS.clientKeyPrefix;
    if (auth && !tls) {
        problems.push({
            setting: "auth",
            value: true,
            problem: "etcd authentication without TLS sends passwords and tokens in clear text",
            fix: "set tls: true, or leave auth off",
        });
    }
    if (clientUser === "root") {
        problems.push({
            setting: "clientUser",
            value: clientUser,
            problem:
                "etcd takes the certificate's common name as the user, so whoever holds the exported application certificate would administer the cluster",
            fix: `name the application's own user, e.g. "${DEFAULTS.clientUser}" (the package's scripts use a root certificate that stays on each member)`,
        });
    } else if (!ETCD_USER.test(clientUser)) {
        problems.push({
            setting: "clientUser",
            value: clientUser,
            problem: "becomes the application certificate's common name and an etcd user name",
            fix: `use 1-64 letters, digits, dots, underscores, @ or hyphens, starting with a letter or digit, e.g. "${DEFAULTS.clientUser}"`,
        });
    }
    if (!KEY_PREFIX.test(clientKeyPrefix)) {
        problems.push({
            setting: "clientKeyPrefix",
            value: clientKeyPrefix,
            problem: "must be at most 256 printable ASCII characters without spaces",
            fix: 'write a prefix such as "orders/", or remove it for the whole keyspace',
        });
    } else if (clientKeyPrefix !== "" && !auth) {
        warnings.push(
            `clientKeyPrefix "${clientKeyPrefix}" confines the application user only when auth is on: without it every client certificate reads and writes every key; set auth: true`,
        );
    }
    return { tls, auth, clientUser, clientKeyPrefix };
}

export function resolveCertificateDays(
    settings: ClusterSettings,
    problems: Problems,
): { certificateValidityDays: number; certificateRenewalDays: number } {
    const certificateValidityDays = settings.certificateValidityDays ?? DEFAULTS.certificateValidityDays;
    const certificateRenewalDays = settings.certificateRenewalDays ?? DEFAULTS.certificateRenewalDays;
    const validityOk = checkIntegerIn(problems, "certificateValidityDays", certificateValidityDays, {
        min: 1,
        max: 3650,
        problem: "must be a whole number of days from 1 to 3650",
        fix: "use 365 (renewed by pulumi up before expiry)",
    });
    if (validityOk) {
        checkIntegerIn(problems, "certificateRenewalDays", certificateRenewalDays, {
            min: 1,
            max: certificateValidityDays - 1,
            problem: `must be a whole number of days from 1 to less than the validity (${certificateValidityDays})`,
            fix: "use about a tenth of the validity, e.g. 30 for 365",
        });
    }
    return { certificateValidityDays, certificateRenewalDays };
}

/** The `--initial-cluster-token`: well formed, and not one that another cluster already has. */
export function resolveClusterToken(
    clusterName: string,
    settings: ClusterSettings,
    context: { readonly project: string; readonly stack: string; readonly tokensInUse?: readonly TokenInUse[] },
    problems: Problems,
    nameTaken = false,
): string {
    const clusterToken = settings.clusterToken ?? `${context.project}-${context.stack}-${clusterName}`;
    if (nameTaken && settings.clusterToken === undefined) {
        // The default token follows the name: the name's problem is the one to fix.
        return clusterToken;
    }
    if (!TOKEN.test(clusterToken)) {
        problems.push({
            setting: "clusterToken",
            value: clusterToken,
            problem: "must be 1-128 letters, digits, dots, underscores or hyphens",
            fix: "remove it to get the default <project>-<stack>-<cluster>",
        });
    }
    for (const taken of context.tokensInUse ?? []) {
        if (taken.token === clusterToken) {
            problems.push({
                setting: "clusterToken",
                value: clusterToken,
                problem: `already used by ${taken.owner}; two clusters with one token and overlapping URLs get the same IDs and corrupt each other`,
                fix: "give each cluster its own token, or remove the setting to get a unique default",
            });
        }
    }
    return clusterToken;
}
