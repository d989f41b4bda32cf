// Shared fixtures of the core unit tests: settings, specs, reference flag tables and the
// external checkers (shellcheck, systemd-analyze).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    buildClusterSpec,
    ClusterSettings,
    ClusterSpec,
    ConfigProblem,
    EtcdFlag,
    formatProblems,
    ResolvedSettings,
    parseEtcdVersion,
    validateSettings,
    ValidationContext,
} from "../../core";

/** The flag tables vendored into the repository (test/fixtures/etcd-flags/README.md says from where). */
export const FLAG_TABLE_DIR = path.resolve(__dirname, "../fixtures/etcd-flags");

/** The releases whose flag tables are vendored: one per supported line, and 3.6 twice (the default 3.6.14 and the newest). */
export const REFERENCE_VERSIONS = ["3.4.45", "3.5.33", "3.6.14", "3.6.16", "3.7.3"] as const;

/** Every flag the given release registers, read from the vendored table (not the one embedded in core/). */
export function referenceFlags(version: string): Set<string> {
    const text = fs.readFileSync(path.join(FLAG_TABLE_DIR, `v${version}.txt`), "utf8");
    return new Set(
        text
            .split("\n")
            .map((line) => line.trim())
            .filter((line) => line !== ""),
    );
}

export const CONTEXT: ValidationContext = { project: "shop", stack: "prod" };

/** Member addresses used wherever a test needs real-looking IPs. */
export const ADDRESSES = ["10.0.1.10", "10.0.2.10", "10.0.3.10", "10.0.1.11", "10.0.2.11", "10.0.3.11", "10.0.1.12"];

/** The token the cloud would generate for discovery mode. */
export const DISCOVERY_TOKEN = "3e86b59982e49066c5d813af1c2e2579";

/** The settings validated with defaults applied (fails, listing the problems, when refused). */
export function resolve(
    settings: ClusterSettings,
    name = "orders",
    context: ValidationContext = CONTEXT,
): ResolvedSettings {
    const { problems, resolved } = validateSettings(name, settings, context);
    assert.ok(resolved, formatProblems(`etcd cluster "${name}"`, problems));
    return resolved;
}

/** A ClusterSpec from settings, as the components build it once addresses are known. */
export function specOf(settings: ClusterSettings, name = "orders"): ClusterSpec {
    const resolved = resolve(settings, name);
    return buildClusterSpec(resolved, ADDRESSES.slice(0, resolved.memberCount), DISCOVERY_TOKEN);
}

/** Flags as a name -> value map (asserting that no flag is rendered twice). */
export function flagMap(flags: readonly EtcdFlag[]): Record<string, string> {
    const map: Record<string, string> = {};
    for (const flag of flags) {
        assert.ok(!(flag.name in map), `--${flag.name} is rendered twice`);
        map[flag.name] = flag.value;
    }
    return map;
}

/** What validation reports for settings it refuses, and the message the component would throw (fails when accepted). */
export function refused(
    settings: ClusterSettings,
    name = "orders",
    context: ValidationContext = CONTEXT,
): { problems: readonly ConfigProblem[]; message: string } {
    const { problems, resolved } = validateSettings(name, settings, context);
    assert.equal(resolved, undefined, "expected the settings to be refused");
    assert.ok(problems.length > 0, "a refusal names its problems");
    return { problems, message: formatProblems(`etcd cluster "${name}"`, problems) };
}

/** Everything shellcheck says about a bash script (empty when clean). */
export function shellcheck(script: string): string {
    const result = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
    assert.equal(result.error, undefined, `shellcheck could not run: ${String(result.error)}`);
    return `${result.stdout}${result.stderr}`;
}

export interface BashResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a bash script with extra environment variables (and `bin` first on PATH when given). */
export function runBash(
    script: string,
    env: Record<string, string> = {},
    bin?: string,
    args: string[] = [],
): BashResult {
    const PATH = bin ? `${bin}:${process.env.PATH}` : (process.env.PATH ?? "");
    const result = spawnSync("bash", ["-c", script, "script", ...args], {
        encoding: "utf8",
        env: { ...process.env, ...env, PATH },
    });
    assert.equal(result.error, undefined, `bash could not run: ${String(result.error)}`);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a bash snippet and returns its stdout (asserting exit status 0). */
export function bash(script: string): string {
    const result = runBash(script);
    assert.equal(result.status, 0, `bash failed: ${result.stderr}`);
    return result.stdout;
}

/** A temporary directory, removed when the test run ends. */
export function tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `etcd-aws-${prefix}-`));
    TEMP_DIRS.push(dir);
    return dir;
}

const TEMP_DIRS: string[] = [];
/** Removes every tempDir made so far: after each file (test/hooks.ts, a root hook plugin). */
export function removeTempDirs(): void {
    for (const dir of TEMP_DIRS.splice(0)) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** A directory of stand-in commands (name -> bash body) to put first on PATH. */
export function fakeBin(tools: Record<string, string>): string {
    const dir = tempDir("bin");
    for (const [name, body] of Object.entries(tools)) {
        fs.writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
    }
    return dir;
}

/**
 * The here-documents of a script: each `<<'DELIM'` with the lines up to the first line that is
 * exactly DELIM, as bash reads them.
 */
export function heredocBodies(script: string): { delimiter: string; body: string }[] {
    const lines = script.split("\n");
    const bodies: { delimiter: string; body: string }[] = [];
    for (let i = 0; i < lines.length; i++) {
        // i < lines.length, so the line is there.
        const delimiter = /<<'([^']+)'$/.exec(lines[i]!)?.[1];
        if (delimiter !== undefined) {
            const end = lines.indexOf(delimiter, i + 1);
            assert.ok(end > i, `here-document ${delimiter} is closed`);
            bodies.push({ delimiter, body: `${lines.slice(i + 1, end).join("\n")}\n` });
            i = end;
        }
    }
    return bodies;
}

/** Everything `systemd-analyze verify` prints about a unit file (it exits 0 even on bad values). */
export function systemdVerify(unitName: string, unitText: string): string {
    const file = path.join(tempDir("unit"), unitName);
    fs.writeFileSync(file, unitText);
    const result = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
    assert.equal(result.error, undefined, `systemd-analyze could not run: ${String(result.error)}`);
    return `${result.stdout}${result.stderr}`;
}

/** The lines of a rendered script, from the first line after the comment header. */
export function afterHeader(script: string): string[] {
    const lines = script.split("\n");
    const first = lines.findIndex((line) => !line.startsWith("#"));
    return lines.slice(first);
}

/** One way to bootstrap a cluster, with the settings that select it. */
export interface BootstrapVariant {
    readonly label: string;
    readonly settings: ClusterSettings;
}

/** Every bootstrap mode and discovery flavour the package offers, for one TLS setting. */
export function bootstrapVariants(tls: boolean): BootstrapVariant[] {
    return [
        { label: "static", settings: { bootstrapMode: "static", tls } },
        { label: "dns", settings: { bootstrapMode: "dns", tls } },
        { label: "dns with srvName", settings: { bootstrapMode: "dns", tls, srvName: "orders" } },
        {
            label: "discovery v2 (service URL, proxy)",
            settings: {
                bootstrapMode: "discovery",
                tls,
                discovery: {
                    protocol: "v2",
                    serviceUrl: "http://10.0.0.5:2379/v2/keys/_etcd/registry",
                    proxy: "http://10.0.0.6:3128",
                },
            },
        },
        {
            label: "discovery v2 (ready URL)",
            settings: {
                bootstrapMode: "discovery",
                tls,
                discovery: {
                    protocol: "v2",
                    url: "https://discovery.example.com/3e86b59982e49066c5d813af1c2e2579",
                    size: 3,
                },
            },
        },
        {
            label: "discovery v3",
            settings: {
                bootstrapMode: "discovery",
                tls,
                discovery: { protocol: "v3", endpoints: ["http://10.0.0.5:2379", "http://10.0.0.6:2379"] },
            },
        },
    ];
}

/** One combination of release, TLS and bootstrap variant, and whether the validator refuses it. */
export interface Combination {
    readonly version: string;
    readonly tls: boolean;
    readonly label: string;
    readonly settings: ClusterSettings;
    /** The one problem resolveSettings reports, or undefined when it accepts the combination. */
    readonly refusal?: { readonly setting: string; readonly value: unknown };
}

/** Why the package must refuse a combination: dns over http on 3.4, v3 discovery before 3.6, v2 on 3.7. */
function refusalOf(version: string, settings: ClusterSettings): Combination["refusal"] {
    const line = parseEtcdVersion(version)?.line;
    const protocol = settings.discovery?.protocol;
    if (settings.bootstrapMode === "dns" && settings.tls === false && line === "3.4") {
        return { setting: "tls", value: false };
    }
    if (protocol === "v3" && (line === "3.4" || line === "3.5")) {
        return { setting: "discovery.protocol", value: "v3" };
    }
    if (protocol === "v2" && line === "3.7") {
        return { setting: "discovery.protocol", value: "v2" };
    }
    return undefined;
}

/** Every reference release x TLS on/off x bootstrap variant. */
export const COMBINATIONS: readonly Combination[] = REFERENCE_VERSIONS.flatMap((version) =>
    [true, false].flatMap((tls) =>
        bootstrapVariants(tls).map((variant) => {
            const settings: ClusterSettings = { ...variant.settings, etcdVersion: version };
            return {
                version,
                tls,
                label: `etcd ${version}, ${variant.label}, tls ${tls ? "on" : "off"}`,
                settings,
                refusal: refusalOf(version, settings),
            };
        }),
    ),
);

/** The combinations resolveSettings accepts. */
export const ACCEPTED = COMBINATIONS.filter((combination) => combination.refusal === undefined);

/** The settings block of a rendered bundle, as NAME -> value (single-quoted by the renderer, quotes escaped). */
export function bundleSettings(script: string): Record<string, string> {
    return Object.fromEntries(
        [...script.matchAll(/^([A-Z_0-9]+)='((?:[^']|'\\'')*)'$/gm)].map((m) => [m[1], m[2]?.replace(/'\\''/g, "'")]),
    );
}
