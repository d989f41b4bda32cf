import { strict as assert } from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { formatProblems, readStackConfig, validateSettings } from "../../core";
import { runProgram } from "../../plan/mock-engine";
import { runCluster } from "../helpers/cluster";
import { formatChecklist, securityChecklist, SecurityExpectations } from "../helpers/security-checklist";

const ROOT = path.resolve(__dirname, "../..");
const STACKS = fs
    .readdirSync(path.join(ROOT, "stacks"))
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((s): s is string => !!s);

/** A stack file's etcd-aws settings as the CLI hands them to the program (strings). */
function stackConfig(stack: string): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as {
        config: Record<string, unknown>;
    };
    const config: Record<string, string> = { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" };
    for (const [key, value] of Object.entries(doc.config)) {
        if (key.startsWith("etcd-aws:")) {
            config[key.slice("etcd-aws:".length)] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    return config;
}

describe("security checklist of every stack", () => {
    it("finds the three environments", () => {
        assert.deepEqual(STACKS.sort(), ["dev", "prod", "staging"]);
    });

    for (const stack of STACKS) {
        it(`${stack}: every item passes`, async () => {
            const raw = stackConfig(stack);
            const { config } = readStackConfig((key) => raw[key]);
            const { problems, resolved: settings } = validateSettings(config.clusterName, config.settings, {
                project: "etcd-aws",
                stack,
            });
            assert.ok(settings, formatProblems(`stack "${stack}"`, problems));
            const run = await runProgram({ stack, config: raw, secretConfigKeys: ["sshPrivateKey"] });
            const items = securityChecklist(run, {
                clusterName: settings.clusterName,
                memberCount: settings.memberCount,
                tls: settings.tls,
                clientCidrs: settings.clientCidrs,
                clientSecurityGroupIds: config.clientSecurityGroupIds ?? [],
                sshCidrs: settings.sshCidrs,
                monitoringCidrs: settings.monitoringCidrs,
                allowPublicAccess: settings.allowPublicAccess,
                ports: settings.ports,
                secretOutputNames: ["discoveryToken", "clientKeyPem", "rootPassword"],
            });
            console.log(formatChecklist(`stack ${stack}`, items));
            assert.deepEqual(
                items.filter((i) => !i.pass),
                [],
            );
        });
    }
});

describe("the security checklist itself", () => {
    const expectations: SecurityExpectations = {
        clusterName: "test-etcd",
        memberCount: 3,
        tls: true,
        clientCidrs: [],
        clientSecurityGroupIds: [],
        sshCidrs: ["10.9.9.0/24"],
        monitoringCidrs: [],
        allowPublicAccess: false,
        ports: { client: 2379, peer: 2380, metrics: 2381 },
        secretOutputNames: ["test-etcd.clientKeyPem", "test-etcd.discoveryToken"],
    };

    it("fails the source items for a graph that opens SSH to the world and clients to an unlisted network", async () => {
        const run = await runCluster({
            sshCidrs: ["0.0.0.0/0"],
            clientCidrs: ["10.1.0.0/16"],
            allowPublicAccess: true,
        });
        const failed = securityChecklist(run, expectations).filter((i) => !i.pass);
        assert.deepEqual(
            failed.map((i) => [i.item, i.detail]),
            [
                ["client port 2379 open only to members and configured clients", "port 2379 open to 10.1.0.0/16"],
                ["SSH (22) open only to configured operator CIDRs", "port 22 open to 0.0.0.0/0"],
                ["no 0.0.0.0/0 on etcd or SSH ports without allowPublicAccess", "port 22 from 0.0.0.0/0"],
            ],
        );
    });

    it("fails the TLS item for a plain-http cluster judged as a TLS one", async () => {
        const run = await runCluster({ tls: false, sshCidrs: ["10.9.9.0/24"] });
        const failed = securityChecklist(run, expectations)
            .filter((i) => !i.pass)
            .map((i) => i.item);
        assert.deepEqual(failed, [
            "members serve https with client and peer certificate checks",
            "SRV records are the -ssl ones",
            "the application certificate is not root (root's certificates stay on the members)",
        ]);
    });

    it("fails the key item for a graph where a member's launch script carries another member's admin key or the application's", async () => {
        const run = await runCluster({ tls: true, sshCidrs: ["10.9.9.0/24"] });
        const pem = (name: string): string =>
            String(run.resources.find((r) => r.name === name)?.state.privateKeyPem ?? "missing");
        const leaky = {
            ...run,
            resources: run.resources.map((r) =>
                r.name === "test-etcd-0-launch"
                    ? {
                          ...r,
                          inputs: {
                              ...r.inputs,
                              stdin: `${r.inputs.stdin}${pem("test-etcd-pki-test-etcd-1-admin-key")}${pem("test-etcd-pki-app-key")}`,
                          },
                      }
                    : r,
            ),
        };
        const failed = securityChecklist(leaky, expectations).filter((i) => !i.pass);
        assert.deepEqual(
            failed.map((i) => [i.item, i.detail]),
            [
                [
                    "each member is given only its own private keys (no other member's, the application's or the CA's)",
                    "test-etcd-0-launch: test-etcd-pki-test-etcd-1-admin-key; test-etcd-0-launch: test-etcd-pki-app-key",
                ],
            ],
        );
    });
});
