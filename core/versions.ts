// etcd release lines this package targets and what each one can do. The capability table is the
// single place where version differences live; the renderers and the validator only ask it.

/** The etcd release lines (major.minor) that can be deployed. */
export type EtcdLine = "3.4" | "3.5" | "3.6" | "3.7";

export const ETCD_LINES: readonly EtcdLine[] = ["3.4", "3.5", "3.6", "3.7"];

/** A current 3.6 release: 3.6 is the newest line with a long support window. */
export const DEFAULT_ETCD_VERSION = "3.6.14";

/**
 * The newest release of each line this package knows (its flag tables and capabilities are
 * checked against them): a higher patch is not a release yet, and its download would fail.
 */
export const NEWEST_KNOWN_RELEASES: Readonly<Record<EtcdLine, string>> = {
    "3.4": "3.4.45",
    "3.5": "3.5.33",
    "3.6": "3.6.16",
    "3.7": "3.7.3",
};

export interface EtcdVersion {
    /** Normalised text without a leading "v", e.g. "3.6.14". */
    readonly text: string;
    readonly line: EtcdLine;
    readonly patch: number;
}

export interface EtcdCapabilities {
    /** `--discovery <url>` against a v2 keys API (3.4 and 3.5; deprecated in 3.6, removed in 3.7). */
    readonly v2Discovery: boolean;
    /** `--discovery-token` and `--discovery-endpoints` against a v3 cluster (3.6 and later). */
    readonly v3Discovery: boolean;
    /**
     * Whether `--discovery-srv` can bootstrap from plain-http `_etcd-server._tcp` records. 3.4 drops
     * them (inverted condition in its SRV lookup), so only `_etcd-server-ssl` works there.
     */
    readonly plainHttpSrvBootstrap: boolean;
    /** The release tarball ships `etcdutl` (3.5+). */
    readonly etcdutl: boolean;
    /** 3.4 logs through capnslog unless told `--logger zap`; zap gives every line the same log format. */
    readonly defaultsToCapnslog: boolean;
}

const CAPABILITIES: Readonly<Record<EtcdLine, EtcdCapabilities>> = {
    "3.4": {
        v2Discovery: true,
        v3Discovery: false,
        plainHttpSrvBootstrap: false,
        etcdutl: false,
        defaultsToCapnslog: true,
    },
    "3.5": {
        v2Discovery: true,
        v3Discovery: false,
        plainHttpSrvBootstrap: true,
        etcdutl: true,
        defaultsToCapnslog: false,
    },
    "3.6": {
        v2Discovery: true,
        v3Discovery: true,
        plainHttpSrvBootstrap: true,
        etcdutl: true,
        defaultsToCapnslog: false,
    },
    "3.7": {
        v2Discovery: false,
        v3Discovery: true,
        plainHttpSrvBootstrap: true,
        etcdutl: true,
        defaultsToCapnslog: false,
    },
};

/** Parses "3.6.14" or "v3.6.14"; returns undefined for anything else or an unsupported line. */
export function parseEtcdVersion(text: string): EtcdVersion | undefined {
    const match = /^v?(3)\.(\d+)\.(\d+)$/.exec(text.trim());
    if (!match) {
        return undefined;
    }
    const line = `${match[1]}.${match[2]}` as EtcdLine;
    if (!ETCD_LINES.includes(line)) {
        return undefined;
    }
    return { text: `${line}.${match[3]}`, line, patch: Number(match[3]) };
}

export function capabilitiesOf(version: EtcdVersion): EtcdCapabilities {
    return CAPABILITIES[version.line];
}

/** The newest known release of the version's line when the version's patch is above it. */
export function beyondNewestKnown(version: EtcdVersion): string | undefined {
    const newest = NEWEST_KNOWN_RELEASES[version.line];
    return version.patch > (parseEtcdVersion(newest) as EtcdVersion).patch ? newest : undefined;
}
