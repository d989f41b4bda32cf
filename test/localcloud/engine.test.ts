// The real Pulumi engine (scripts/build-pulumi.sh) on a tiny program against the local random, tls and command
// providers (remote.Command over SSH to an in-process server): up, a trigger change previewed as a replace with its
// reason, destroy running the old delete commands.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Server } from "ssh2";
import { PULUMI, PulumiProject, pulumiProject } from "./pulumi-project";
import { clientKey, startSshServer } from "./ssh-server";

const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const random = require("@pulumi/random");
const tls = require("@pulumi/tls");
const command = require("@pulumi/command");
const config = new pulumi.Config();
const password = new random.RandomPassword("password", { length: 20, special: false });
const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const cert = new tls.SelfSignedCert("cert", {
    privateKeyPem: key.privateKeyPem,
    subject: { commonName: "engine test" },
    validityPeriodHours: 24,
    allowedUses: ["digital_signature"],
});
// Inside its early-renewal window from the start: every preview after up replaces it (tls's readyForRenewal).
const due = new tls.SelfSignedCert("due", {
    privateKeyPem: key.privateKeyPem,
    subject: { commonName: "due for renewal" },
    validityPeriodHours: 1,
    earlyRenewalHours: 2,
    allowedUses: ["digital_signature"],
});
const hello = new command.local.Command("hello", {
    create: "echo created",
    delete: 'echo "deleted after $PULUMI_COMMAND_STDOUT" > deleted.txt',
    triggers: [config.get("trigger") || "one"],
});
const remote = new command.remote.Command("remote", {
    connection: {
        host: "127.0.0.1",
        port: Number(process.env.ENGINE_TEST_SSH_PORT),
        user: "test",
        privateKey: process.env.ENGINE_TEST_SSH_KEY,
        dialErrorLimit: 1,
    },
    create: "echo remote-created",
    delete: 'echo "$PULUMI_COMMAND_STDOUT" > "' + process.env.ENGINE_TEST_DIR + '/remote-deleted.txt"',
});
exports.password = password.result;
exports.remoteStdout = remote.stdout;
exports.passwordLength = password.result.apply((result) => result.length);
exports.certPem = cert.certPem;
exports.stdout = hello.stdout;
`;

describe("localcloud: the real engine with the local providers", function () {
    this.timeout(180_000);
    let project: PulumiProject | undefined;
    let directory: string;
    let sshServer: Server | undefined;
    const pulumi = (...args: string[]): Promise<string> => project!.pulumi(...args);

    before(async function () {
        if (!fs.existsSync(PULUMI)) {
            console.log(`    skipped: ${PULUMI} is missing (scripts/bootstrap.sh builds it)`);
            this.skip();
        }
        const key = await clientKey();
        const ssh = await startSshServer(key.publicKeyOpenssh);
        sshServer = ssh.server;
        project = pulumiProject("engine-test", PROGRAM, {
            ENGINE_TEST_SSH_PORT: String(ssh.port),
            ENGINE_TEST_SSH_KEY: key.privateKeyOpenssh,
        });
        directory = project.directory;
        project.env.ENGINE_TEST_DIR = directory;
        await pulumi("stack", "init", "dev", "--secrets-provider", "passphrase");
    });

    after(() => {
        sshServer?.close();
        project?.remove();
    });

    it("up creates every resource with the real outputs; the password stays secret in the stack", async () => {
        await pulumi("up", "--yes", "--skip-preview");
        const outputs = JSON.parse(await pulumi("stack", "output", "--json", "--show-secrets"));
        assert.equal(outputs.passwordLength, 20);
        assert.match(outputs.password, /^[A-Za-z0-9]{20}$/);
        assert.match(outputs.certPem, /^-----BEGIN CERTIFICATE-----\n/);
        assert.equal(outputs.stdout, "created");
        assert.equal(outputs.remoteStdout, "remote-created");
        assert.equal(JSON.parse(await pulumi("stack", "output", "--json")).password, "[secret]");
    });

    it("preview --diff --json: a new trigger replaces the command, a due certificate is renewed, no more", async () => {
        await pulumi("config", "set", "trigger", "two");
        const preview = JSON.parse(await pulumi("preview", "--diff", "--json")) as {
            steps: { op: string; urn: string; replaceReasons?: string[]; diffReasons?: string[] }[];
        };
        const name = (urn: string) => urn.split("::").pop() as string;
        const changed = preview.steps
            .filter((step) => step.op !== "same")
            .sort((a, b) => name(a.urn).localeCompare(name(b.urn)));
        assert.deepEqual(
            changed.map((step) => [step.op, name(step.urn), step.replaceReasons, step.diffReasons]),
            [
                ["replace", "due", ["readyForRenewal"], ["readyForRenewal"]],
                ["replace", "hello", ["triggers"], ["triggers"]],
            ],
        );
    });

    it("destroy deletes all, running each old delete command (over SSH too) with its old outputs", async () => {
        await pulumi("destroy", "--yes");
        assert.equal(fs.readFileSync(path.join(directory, "deleted.txt"), "utf8"), "deleted after created\n");
        assert.equal(fs.readFileSync(path.join(directory, "remote-deleted.txt"), "utf8"), "remote-created\n");
        const resources = JSON.parse(await pulumi("stack", "export")).deployment.resources ?? [];
        assert.deepEqual(resources, []);
    });
});
