import * as assert from "node:assert/strict";
import {
    CONFIG_KEYS,
    clusterTokenInStackFile,
    DEFAULT_ETCD_VERSION,
    DEFAULT_PORTS,
    DEFAULTS,
    readStackConfig,
} from "../../core";
import { resolve } from "./helpers";
import { at } from "../helpers/elements";

function read(values: Record<string, string>): ReturnType<typeof readStackConfig> {
    return readStackConfig((key) => values[key]);
}

function defaultOf(key: string): unknown {
    return CONFIG_KEYS.find((entry) => entry.key === key)?.default;
}

describe("core/stack-config", () => {
    it("declares each key once, and only sshPrivateKey as a secret without a default", () => {
        const keys = CONFIG_KEYS.map((entry) => entry.key);
        assert.equal(new Set(keys).size, keys.length);
        assert.deepEqual(
            CONFIG_KEYS.filter((entry) => entry.secret || entry.default === undefined).map((entry) => entry.key),
            ["sshPrivateKey"],
        );
    });

    it("the declared defaults are the package's defaults", () => {
        const resolved = resolve({});
        assert.equal(defaultOf("memberCount"), resolved.memberCount);
        assert.equal(defaultOf("etcdVersion"), DEFAULT_ETCD_VERSION);
        assert.equal(defaultOf("bootstrapMode"), resolved.mode);
        assert.equal(defaultOf("tls"), resolved.tls);
        assert.equal(defaultOf("certificateValidityDays"), resolved.certificateValidityDays);
        assert.equal(defaultOf("certificateRenewalDays"), resolved.certificateRenewalDays);
        assert.equal(defaultOf("instanceType"), DEFAULTS.instanceType);
        assert.equal(defaultOf("volumeSizeGiB"), DEFAULTS.volumeSizeGiB);
        assert.equal(defaultOf("volumeType"), DEFAULTS.volumeType);
        assert.equal(defaultOf("mirrorBaseUrl"), DEFAULTS.mirrorBaseUrl);
        assert.equal(defaultOf("allowPublicAccess"), resolved.allowPublicAccess);
        assert.deepEqual(
            [defaultOf("clientPort"), defaultOf("peerPort"), defaultOf("metricsPort")],
            [DEFAULT_PORTS.client, DEFAULT_PORTS.peer, DEFAULT_PORTS.metrics],
        );
    });

    it("nothing set: cluster name etcd, empty settings (the package's defaults apply), no problems", () => {
        const { config, problems } = read({});
        assert.deepEqual(problems, []);
        assert.equal(config.clusterName, "etcd");
        assert.deepEqual(config.settings, {});
    });

    it("reads strings, integers, booleans and lists into settings and resource references", () => {
        const { config, problems } = read({
            clusterName: "orders",
            memberCount: "5",
            tls: "false",
            allowPublicAccess: "true",
            clientCidrs: '["10.0.0.0/16","10.1.0.0/16"]',
            subnetIds: '["subnet-a","subnet-b"]',
            extraFlags: '["snapshot-count=10000","cors=a=b"]',
            volumeIops: "0",
            diskCheck: "fail",
            backupBucket: "orders-backups",
            backupCreateBucket: "false",
            backupIntervalMinutes: "30",
            healthTimeoutSeconds: "900",
            domain: "",
        });
        assert.deepEqual(problems, []);
        assert.equal(config.clusterName, "orders");
        assert.deepEqual(config.settings, {
            memberCount: 5,
            tls: false,
            allowPublicAccess: true,
            clientCidrs: ["10.0.0.0/16", "10.1.0.0/16"],
            extraFlags: { "snapshot-count": "10000", cors: "a=b" },
            diskCheck: "fail",
            backupBucket: "orders-backups",
            backupCreateBucket: false,
            backupIntervalMinutes: 30,
        });
        assert.deepEqual(config.subnetIds, ["subnet-a", "subnet-b"]);
        assert.equal(config.healthTimeoutSeconds, 900);
    });

    it("gathers the discovery keys into discovery settings; size 0 means the member count", () => {
        const { config } = read({
            bootstrapMode: "discovery",
            discoveryEndpoints: '["http://10.0.0.5:2379"]',
            discoverySize: "0",
        });
        assert.deepEqual(config.settings.discovery, {
            protocol: undefined,
            endpoints: ["http://10.0.0.5:2379"],
            serviceUrl: undefined,
            url: undefined,
            size: undefined,
            proxy: undefined,
        });
        assert.equal(
            read({ discoveryUrl: "https://d.example.com/abc", discoverySize: "3" }).config.settings.discovery?.size,
            3,
        );
    });

    it("reports every malformed value with its key, raw value and fix", () => {
        const { problems } = read({
            memberCount: "three",
            tls: "yes",
            clientCidrs: "10.0.0.0/16",
            extraFlags: '["snapshot-count"]',
            peerPort: "2380.5",
        });
        assert.deepEqual(
            problems.map((p) => [p.setting, p.value, p.problem]),
            [
                ["memberCount", "three", "is not a whole number"],
                ["tls", "yes", "is not true or false"],
                ["clientCidrs", "10.0.0.0/16", "is not a list of strings"],
                ["peerPort", "2380.5", "is not a whole number"],
                ["extraFlags", "snapshot-count", "is not name=value"],
            ],
        );
        assert.equal(at(problems, 0).fix, "write a number, e.g. 3");
        assert.equal(at(problems, 2).fix, 'write a YAML list, e.g. ["a", "b"]');
        assert.equal(at(problems, 4).fix, "write e.g. snapshot-count=10000");
    });

    it("never reads the secret key", () => {
        const asked: string[] = [];
        readStackConfig((key) => {
            asked.push(key);
            return undefined;
        });
        assert.ok(!asked.includes("sshPrivateKey"));
        assert.equal(asked.length, CONFIG_KEYS.length - 1);
    });

    it("clusterTokenInStackFile finds an explicit token, quoted or not", () => {
        assert.equal(
            clusterTokenInStackFile("etcd-aws", "config:\n  etcd-aws:clusterToken: prod-token-1\n"),
            "prod-token-1",
        );
        assert.equal(
            clusterTokenInStackFile("etcd-aws", 'config:\n  etcd-aws:clusterToken: "prod-token-2" # pinned\n'),
            "prod-token-2",
        );
        assert.equal(clusterTokenInStackFile("etcd-aws", "config:\n  etcd-aws:clusterToken: 20261201\n"), "20261201");
        assert.equal(clusterTokenInStackFile("etcd-aws", "config:\n  etcd-aws:memberCount: 3\n"), undefined);
        assert.equal(clusterTokenInStackFile("etcd-aws", "config:\n  other:clusterToken: x\n"), undefined);
    });

    it("clusterTokenInStackFile reads the YAML, not lines that look like a token", () => {
        // Only the config map counts, not text inside another value or a comment.
        assert.equal(
            clusterTokenInStackFile("etcd-aws", "config:\n  etcd-aws:notes: |\n    etcd-aws:clusterToken: old\n"),
            undefined,
        );
        assert.equal(
            clusterTokenInStackFile("etcd-aws", "config:\n  # etcd-aws:clusterToken: old\n  etcd-aws:memberCount: 3\n"),
            undefined,
        );
        assert.equal(clusterTokenInStackFile("etcd-aws", "encryptionsalt: abc\n"), undefined);
        assert.equal(clusterTokenInStackFile("etcd-aws", ""), undefined);
        assert.equal(clusterTokenInStackFile("etcd-aws", 'config:\n  etcd-aws:clusterToken: ""\n'), undefined);
    });

    it("clusterTokenInStackFile refuses text that is not YAML", () => {
        assert.throws(
            () => clusterTokenInStackFile("etcd-aws", "config: [unclosed\n"),
            /unexpected end|flow collection/,
        );
    });
});
