import * as assert from "node:assert/strict";
import { ClusterSpec, renderEnvFile, renderMemberFlags } from "../../core";
import { envVarName, initialCluster, MANAGED_FLAGS, parseEnvFile, unknownFlags } from "../../core/flags";
import { ACCEPTED, bash, bootstrapVariants, DISCOVERY_TOKEN, flagMap, REFERENCE_VERSIONS, specOf } from "./helpers";
import { at } from "../helpers/elements";

/** The flags every mode starts with, for member 0 of "orders" (10.0.1.10) advertising `host`. */
function commonFlags(sch: "http" | "https", host: string): Record<string, string> {
    return {
        name: "orders-0",
        "data-dir": "/var/lib/etcd/data",
        "listen-peer-urls": `${sch}://10.0.1.10:2380`,
        "listen-client-urls": `${sch}://10.0.1.10:2379,${sch}://127.0.0.1:2379`,
        "listen-metrics-urls": "http://10.0.1.10:2381,http://127.0.0.1:2381",
        "initial-advertise-peer-urls": `${sch}://${host}:2380`,
        "advertise-client-urls": `${sch}://${host}:2379`,
        "initial-cluster-token": "shop-prod-orders",
        ...MAINTENANCE_DEFAULTS,
    };
}

/** Compaction on and the quota of the default 20 GiB volume: etcd's suggested maximum, 8 GiB. */
const MAINTENANCE_DEFAULTS = {
    "auto-compaction-mode": "periodic",
    "auto-compaction-retention": "1h",
    "quota-backend-bytes": String(8 * 1024 ** 3),
};

const TLS_FLAGS = {
    "cert-file": "/etc/etcd/pki/server.crt",
    "key-file": "/etc/etcd/pki/server.key",
    "trusted-ca-file": "/etc/etcd/pki/ca.crt",
    "client-cert-auth": "true",
    "peer-cert-file": "/etc/etcd/pki/peer.crt",
    "peer-key-file": "/etc/etcd/pki/peer.key",
    "peer-trusted-ca-file": "/etc/etcd/pki/ca.crt",
    "peer-client-cert-auth": "true",
};

function member0Flags(spec: ClusterSpec): Record<string, string> {
    return flagMap(renderMemberFlags(spec, at(spec.members, 0)));
}

describe("core/flags", () => {
    describe("renderMemberFlags: the clustering guide's flag set per bootstrap mode", () => {
        it("static: --initial-cluster lists every member by IP, with --initial-cluster-state new", () => {
            const spec = specOf({ bootstrapMode: "static", tls: false });
            assert.deepEqual(member0Flags(spec), {
                ...commonFlags("http", "10.0.1.10"),
                "initial-cluster":
                    "orders-0=http://10.0.1.10:2380,orders-1=http://10.0.2.10:2380,orders-2=http://10.0.3.10:2380",
                "initial-cluster-state": "new",
            });
        });

        it("static: renders in the fixed order identity, URLs, token, bootstrap, maintenance", () => {
            const spec = specOf({ bootstrapMode: "static", tls: false });
            assert.deepEqual(
                renderMemberFlags(spec, at(spec.members, 2)).map((flag) => flag.name),
                [
                    "name",
                    "data-dir",
                    "listen-peer-urls",
                    "listen-client-urls",
                    "listen-metrics-urls",
                    "initial-advertise-peer-urls",
                    "advertise-client-urls",
                    "initial-cluster-token",
                    "initial-cluster",
                    "initial-cluster-state",
                    "auto-compaction-mode",
                    "auto-compaction-retention",
                    "quota-backend-bytes",
                ],
            );
        });

        it("static: every member gets the same --initial-cluster and its own name and URLs", () => {
            const spec = specOf({ bootstrapMode: "static", tls: false, memberCount: 5 });
            const all = spec.members.map((member) => flagMap(renderMemberFlags(spec, member)));
            assert.deepEqual(new Set(all.map((flags) => flags["initial-cluster"])).size, 1);
            assert.deepEqual(
                all.map((flags) => [flags.name, flags["initial-advertise-peer-urls"], flags["listen-client-urls"]]),
                [
                    ["orders-0", "http://10.0.1.10:2380", "http://10.0.1.10:2379,http://127.0.0.1:2379"],
                    ["orders-1", "http://10.0.2.10:2380", "http://10.0.2.10:2379,http://127.0.0.1:2379"],
                    ["orders-2", "http://10.0.3.10:2380", "http://10.0.3.10:2379,http://127.0.0.1:2379"],
                    ["orders-3", "http://10.0.1.11:2380", "http://10.0.1.11:2379,http://127.0.0.1:2379"],
                    ["orders-4", "http://10.0.2.11:2380", "http://10.0.2.11:2379,http://127.0.0.1:2379"],
                ],
            );
        });

        it("dns: --discovery-srv <domain>, advertises DNS names while listening on the IP, no --initial-cluster", () => {
            const spec = specOf({ bootstrapMode: "dns", tls: false });
            assert.deepEqual(member0Flags(spec), {
                ...commonFlags("http", "orders-0.orders.etcd.internal"),
                "discovery-srv": "orders.etcd.internal",
                "initial-cluster-state": "new",
            });
        });

        it("dns with srvName: adds --discovery-srv-name after --discovery-srv", () => {
            const spec = specOf({ bootstrapMode: "dns", tls: false, srvName: "blue", domain: "etcd.prod.internal" });
            const flags = renderMemberFlags(spec, at(spec.members, 0));
            const names = flags.map((flag) => flag.name);
            assert.deepEqual(names.slice(names.indexOf("discovery-srv"), names.indexOf("discovery-srv") + 2), [
                "discovery-srv",
                "discovery-srv-name",
            ]);
            assert.deepEqual(flagMap(flags), {
                ...commonFlags("http", "orders-0.etcd.prod.internal"),
                "discovery-srv": "etcd.prod.internal",
                "discovery-srv-name": "blue",
                "initial-cluster-state": "new",
            });
        });

        it("discovery v2 with a service URL: --discovery <serviceUrl>/<token> and --discovery-fallback exit", () => {
            const spec = specOf({
                bootstrapMode: "discovery",
                tls: false,
                etcdVersion: "3.5.33",
                discovery: { serviceUrl: "http://10.0.0.5:2379/v2/keys/_etcd/registry/" },
            });
            assert.deepEqual(member0Flags(spec), {
                ...commonFlags("http", "10.0.1.10"),
                discovery: `http://10.0.0.5:2379/v2/keys/_etcd/registry/${DISCOVERY_TOKEN}`,
                "discovery-fallback": "exit",
            });
        });

        it("discovery v2 with a proxy: adds --discovery-proxy", () => {
            const spec = specOf({
                bootstrapMode: "discovery",
                tls: false,
                etcdVersion: "3.6.14",
                discovery: {
                    protocol: "v2",
                    serviceUrl: "http://10.0.0.5:2379/v2/keys/reg",
                    proxy: "http://10.0.0.6:3128",
                },
            });
            assert.deepEqual(member0Flags(spec), {
                ...commonFlags("http", "10.0.1.10"),
                discovery: `http://10.0.0.5:2379/v2/keys/reg/${DISCOVERY_TOKEN}`,
                "discovery-fallback": "exit",
                "discovery-proxy": "http://10.0.0.6:3128",
            });
        });

        it("discovery v2 with a ready URL: --discovery is that URL unchanged", () => {
            const url = "https://discovery.example.com/6c007a14875d53d9bf0ef5a6fc0257c8";
            const spec = specOf({
                bootstrapMode: "discovery",
                tls: false,
                etcdVersion: "3.4.45",
                discovery: { url, size: 3 },
            });
            assert.deepEqual(member0Flags(spec), {
                ...commonFlags("http", "10.0.1.10"),
                discovery: url,
                "discovery-fallback": "exit",
                logger: "zap",
            });
        });

        it("discovery v3: --discovery-token <token> and --discovery-endpoints joined by commas", () => {
            const spec = specOf({
                bootstrapMode: "discovery",
                tls: false,
                etcdVersion: "3.7.1",
                discovery: {
                    endpoints: ["http://10.0.10.10:2379", "http://10.0.10.11:2379", "http://10.0.10.12:2379"],
                },
            });
            assert.deepEqual(member0Flags(spec), {
                ...commonFlags("http", "10.0.1.10"),
                "discovery-token": DISCOVERY_TOKEN,
                "discovery-endpoints": "http://10.0.10.10:2379,http://10.0.10.11:2379,http://10.0.10.12:2379",
            });
        });

        it("no mode combines two bootstrap methods (etcd 3.6+ refuses that)", () => {
            const methods = ["initial-cluster", "discovery-srv", "discovery", "discovery-token"];
            for (const tls of [true, false]) {
                for (const variant of bootstrapVariants(tls)) {
                    const spec = specOf({ ...variant.settings, etcdVersion: "3.6.14" });
                    const used = Object.keys(member0Flags(spec)).filter((name) => methods.includes(name));
                    assert.equal(used.length, 1, `${variant.label}: ${used.join(", ")}`);
                }
            }
        });

        it("a discovery-mode spec without discovery settings is a programming error", () => {
            const spec = specOf({ bootstrapMode: "static" });
            assert.throws(() => renderMemberFlags({ ...spec, mode: "discovery" }, at(spec.members, 0)), {
                message: "discovery mode needs a discovery spec",
            });
        });
    });

    describe("renderMemberFlags: TLS", () => {
        it("tls: https on peer and client URLs, plain http metrics, and the eight certificate flags", () => {
            const spec = specOf({ bootstrapMode: "static", tls: true });
            assert.deepEqual(member0Flags(spec), {
                ...commonFlags("https", "10.0.1.10"),
                "initial-cluster":
                    "orders-0=https://10.0.1.10:2380,orders-1=https://10.0.2.10:2380,orders-2=https://10.0.3.10:2380",
                "initial-cluster-state": "new",
                ...TLS_FLAGS,
            });
        });

        it("tls in dns mode: advertised https URLs use the member's DNS name", () => {
            const flags = member0Flags(specOf({ bootstrapMode: "dns", tls: true }));
            assert.equal(flags["initial-advertise-peer-urls"], "https://orders-0.orders.etcd.internal:2380");
            assert.equal(flags["advertise-client-urls"], "https://orders-0.orders.etcd.internal:2379");
            assert.equal(flags["listen-peer-urls"], "https://10.0.1.10:2380");
        });

        it("no tls: no certificate flag at all", () => {
            const flags = member0Flags(specOf({ tls: false }));
            assert.deepEqual(
                Object.keys(flags).filter((name) => name in TLS_FLAGS),
                [],
            );
        });

        it("a member on a loopback address listens there only (no second 127.0.0.1 listener to collide)", () => {
            const spec = specOf({ tls: false });
            const flags = flagMap(renderMemberFlags(spec, { name: "orders-0", address: "127.0.1.10" }));
            assert.equal(flags["listen-client-urls"], "http://127.0.1.10:2379");
            assert.equal(flags["listen-metrics-urls"], "http://127.0.1.10:2381");
            assert.equal(flags["listen-peer-urls"], "http://127.0.1.10:2380");
        });

        it("custom ports appear in every URL", () => {
            const flags = member0Flags(
                specOf({ tls: false, clientPort: 12379, peerPort: 12380, metricsPort: 12381, memberCount: 1 }),
            );
            assert.equal(flags["listen-client-urls"], "http://10.0.1.10:12379,http://127.0.0.1:12379");
            assert.equal(flags["listen-peer-urls"], "http://10.0.1.10:12380");
            assert.equal(flags["listen-metrics-urls"], "http://10.0.1.10:12381,http://127.0.0.1:12381");
            assert.equal(flags["initial-cluster"], "orders-0=http://10.0.1.10:12380");
        });
    });

    describe("renderMemberFlags: version differences", () => {
        for (const version of REFERENCE_VERSIONS) {
            const expected = version.startsWith("3.4.") ? "zap" : undefined;
            it(`etcd ${version}: --logger ${expected ? "zap (3.4 defaults to capnslog)" : "is not rendered (zap is the only logger)"}`, () => {
                assert.equal(member0Flags(specOf({ etcdVersion: version }))["logger"], expected);
            });
        }
    });

    describe("renderMemberFlags: extra flags and member overrides", () => {
        it("extra flags are appended after the rendered ones, sorted by name", () => {
            const spec = specOf({
                tls: false,
                extraFlags: {
                    "snapshot-count": "10000",
                    "auto-compaction-retention": "1h",
                    "quota-backend-bytes": "8589934592",
                },
            });
            const flags = renderMemberFlags(spec, at(spec.members, 0));
            assert.deepEqual(flags.slice(-3), [
                { name: "auto-compaction-retention", value: "1h" },
                { name: "quota-backend-bytes", value: "8589934592" },
                { name: "snapshot-count", value: "10000" },
            ]);
        });

        it("a member override replaces a rendered flag in place and beats the cluster's extra flag", () => {
            const spec = specOf({ tls: false, extraFlags: { "snapshot-count": "10000" } });
            const member = {
                ...at(spec.members, 1),
                flagOverrides: {
                    "initial-advertise-peer-urls": "http://10.9.9.9:2380",
                    "snapshot-count": "5000",
                    "log-level": "debug",
                },
            };
            const flags = renderMemberFlags(spec, member);
            const names = flags.map((flag) => flag.name);
            assert.equal(names.indexOf("initial-advertise-peer-urls"), 5);
            const map = flagMap(flags);
            assert.equal(map["initial-advertise-peer-urls"], "http://10.9.9.9:2380");
            assert.equal(map["snapshot-count"], "5000");
            assert.equal(map["log-level"], "debug");
            assert.deepEqual(names.slice(-2), ["log-level", "snapshot-count"]);
            assert.equal(map["name"], "orders-1");
        });

        it("overrides of one member leave the other members' flags alone", () => {
            const spec = specOf({ tls: false });
            const plain = renderMemberFlags(spec, at(spec.members, 0));
            renderMemberFlags(spec, { ...at(spec.members, 0), flagOverrides: { name: "other" } });
            assert.deepEqual(renderMemberFlags(spec, at(spec.members, 0)), plain);
        });
    });

    describe("renderMemberFlags: maintenance", () => {
        const GIB = 1024 ** 3;
        const maintenanceOf = (flags: Record<string, string>) => [
            flags["auto-compaction-mode"],
            flags["auto-compaction-retention"],
            flags["quota-backend-bytes"],
        ];

        it("compacts periodically keeping 1h by default, and a revision count of 1000 in revision mode", () => {
            assert.deepEqual(maintenanceOf(member0Flags(specOf({}))), ["periodic", "1h", String(8 * GIB)]);
            assert.deepEqual(maintenanceOf(member0Flags(specOf({ autoCompactionMode: "revision" }))), [
                "revision",
                "1000",
                String(8 * GIB),
            ]);
            assert.deepEqual(
                maintenanceOf(member0Flags(specOf({ autoCompactionMode: "periodic", autoCompactionRetention: "30m" }))),
                ["periodic", "30m", String(8 * GIB)],
            );
        });

        const quotas: readonly (readonly [number, number])[] = [
            [8, 3.5 * GIB],
            [10, 4.5 * GIB],
            [16, 7.5 * GIB],
            [17, 8 * GIB],
            [100, 8 * GIB],
        ];
        for (const [volumeSizeGiB, quota] of quotas) {
            it(`a ${volumeSizeGiB} GiB volume gets a ${quota / GIB} GiB quota (half after 1 GiB for the WAL, at most 8 GiB)`, () => {
                assert.equal(member0Flags(specOf({ volumeSizeGiB }))["quota-backend-bytes"], String(quota));
            });
        }

        it("an explicit quota-backend-bytes extra flag wins, rendered once", () => {
            const spec = specOf({ volumeSizeGiB: 10, extraFlags: { "quota-backend-bytes": String(2 * GIB) } });
            const flags = renderMemberFlags(spec, at(spec.members, 0)).filter((f) => f.name === "quota-backend-bytes");
            assert.deepEqual(flags, [{ name: "quota-backend-bytes", value: String(2 * GIB) }]);
        });
    });

    describe("initialCluster", () => {
        it("lists name=peerURL for every member in member order", () => {
            assert.equal(
                initialCluster(specOf({ tls: true, bootstrapMode: "dns" })),
                "orders-0=https://orders-0.orders.etcd.internal:2380,orders-1=https://orders-1.orders.etcd.internal:2380,orders-2=https://orders-2.orders.etcd.internal:2380",
            );
        });
    });

    describe("MANAGED_FLAGS", () => {
        it("every flag the package renders (except logger and the maintenance flags, which extra flags may set) is managed", () => {
            const rendered = new Set<string>();
            for (const { settings } of ACCEPTED) {
                const spec = specOf(settings);
                renderMemberFlags(spec, at(spec.members, 0)).forEach((flag) => rendered.add(flag.name));
            }
            assert.deepEqual([...rendered].filter((name) => !MANAGED_FLAGS.has(name)).sort(), [
                "auto-compaction-mode",
                "auto-compaction-retention",
                "logger",
                "quota-backend-bytes",
            ]);
        });
    });

    describe("unknownFlags", () => {
        it("names the flags a line does not register, in input order", () => {
            const flags = [
                { name: "enable-v2" },
                { name: "snapshot-count" },
                { name: "experimental-initial-corrupt-check" },
                { name: "no-such-flag" },
            ];
            assert.deepEqual(unknownFlags(flags, "3.5"), ["no-such-flag"]);
            assert.deepEqual(unknownFlags(flags, "3.6"), ["enable-v2", "no-such-flag"]);
            assert.deepEqual(unknownFlags(flags, "3.7"), [
                "enable-v2",
                "experimental-initial-corrupt-check",
                "no-such-flag",
            ]);
        });
    });

    describe("environment file", () => {
        it("envVarName: --foo-bar travels as ETCD_FOO_BAR", () => {
            assert.equal(envVarName("name"), "ETCD_NAME");
            assert.equal(envVarName("initial-advertise-peer-urls"), "ETCD_INITIAL_ADVERTISE_PEER_URLS");
            assert.equal(envVarName("experimental-initial-corrupt-check"), "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK");
            assert.equal(envVarName("discovery-srv-name"), "ETCD_DISCOVERY_SRV_NAME");
        });

        it("starts with a three-line header naming member, cluster, version, mode, TLS and advertised host", () => {
            const spec = specOf({ bootstrapMode: "dns", etcdVersion: "3.5.33" });
            const lines = renderEnvFile(spec, at(spec.members, 1)).split("\n");
            assert.deepEqual(lines.slice(0, 3), [
                "# etcd member orders-1 of cluster orders: etcd 3.5.33, dns bootstrap,",
                "# mutual TLS, advertised as orders-1.orders.etcd.internal.",
                "# Rendered by etcd-aws. Each ETCD_FOO_BAR line is etcd's --foo-bar flag; edit the stack, not this file.",
            ]);
        });

        it("writes one ETCD_* line per flag, plain values unquoted, and ends with a newline", () => {
            const spec = specOf({ tls: false, memberCount: 1 });
            const text = renderEnvFile(spec, at(spec.members, 0));
            assert.deepEqual(text.split("\n").slice(3), [
                "ETCD_NAME=orders-0",
                "ETCD_DATA_DIR=/var/lib/etcd/data",
                "ETCD_LISTEN_PEER_URLS=http://10.0.1.10:2380",
                "ETCD_LISTEN_CLIENT_URLS=http://10.0.1.10:2379,http://127.0.0.1:2379",
                "ETCD_LISTEN_METRICS_URLS=http://10.0.1.10:2381,http://127.0.0.1:2381",
                "ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.1.10:2380",
                "ETCD_ADVERTISE_CLIENT_URLS=http://10.0.1.10:2379",
                "ETCD_INITIAL_CLUSTER_TOKEN=shop-prod-orders",
                "ETCD_INITIAL_CLUSTER=orders-0=http://10.0.1.10:2380",
                "ETCD_INITIAL_CLUSTER_STATE=new",
                "ETCD_AUTO_COMPACTION_MODE=periodic",
                "ETCD_AUTO_COMPACTION_RETENTION=1h",
                "ETCD_QUOTA_BACKEND_BYTES=8589934592",
                "",
            ]);
        });

        it("single-quotes values with spaces or shell characters", () => {
            const spec = specOf({
                tls: false,
                extraFlags: { cors: "https://a.example.com https://b.example.com", "log-level": "info" },
            });
            const lines = renderEnvFile(spec, at(spec.members, 0)).split("\n");
            assert.ok(lines.includes("ETCD_CORS='https://a.example.com https://b.example.com'"));
            assert.ok(lines.includes("ETCD_LOG_LEVEL=info"));
        });

        it("refuses values a quoted line cannot carry (single quote, backslash, newline)", () => {
            const spec = specOf({ tls: false });
            for (const value of ["it's", "a\\b", "a\nb"]) {
                assert.throws(() => renderEnvFile({ ...spec, extraFlags: { cors: value } }, at(spec.members, 0)), {
                    message: `flag value ${JSON.stringify(value)} cannot be written to an environment file`,
                });
            }
        });

        for (const tls of [true, false]) {
            for (const variant of bootstrapVariants(tls)) {
                it(`round-trips through parseEnvFile: ${variant.label}, tls ${tls ? "on" : "off"}`, () => {
                    const spec = specOf({
                        ...variant.settings,
                        etcdVersion: "3.6.14",
                        extraFlags: { "snapshot-count": "10000", cors: "* https://x.example.com" },
                    });
                    for (const member of spec.members) {
                        assert.deepEqual(parseEnvFile(renderEnvFile(spec, member)), renderMemberFlags(spec, member));
                    }
                });
            }
        }

        it("a POSIX shell reads every value back unchanged (as systemd's EnvironmentFile does)", () => {
            const spec = specOf({
                bootstrapMode: "dns",
                srvName: "blue",
                extraFlags: { cors: '$HOME `x` "q" *', "log-level": "warn" },
            });
            const expected = renderMemberFlags(spec, at(spec.members, 0));
            const output = bash(`set -a\n${renderEnvFile(spec, at(spec.members, 0))}\nenv -0`);
            const environment = new Map(
                output
                    .split("\0")
                    .filter((entry) => entry.startsWith("ETCD_"))
                    .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)] as const),
            );
            assert.equal(environment.size, expected.length);
            for (const flag of expected) {
                assert.equal(environment.get(envVarName(flag.name)), flag.value, flag.name);
            }
        });

        it("parseEnvFile ignores comments and other lines", () => {
            assert.deepEqual(parseEnvFile("# ETCD_NAME=x\nPATH=/bin\nETCD_SNAPSHOT_COUNT=5\n\nETCD_CORS='a b'\n"), [
                { name: "snapshot-count", value: "5" },
                { name: "cors", value: "a b" },
            ]);
        });
    });
});
