import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    LOCAL_COMMAND_DIFF,
    localCommand,
    REMOTE_COMMAND_DIFF,
    remoteCommand,
} from "../../localcloud/providers/command";
import { itFollowsEachRow } from "./diff-table";
import { clientKey, startSshServer } from "./ssh-server";

const URN = "urn:pulumi:dev::p::command:local:Command::hello";

describe("localcloud/providers/command", () => {
    describe("local.Command diff", () => itFollowsEachRow(localCommand.diff, LOCAL_COMMAND_DIFF));
    describe("remote.Command diff", () => itFollowsEachRow(remoteCommand.diff, REMOTE_COMMAND_DIFF));

    let directory: string;
    beforeEach(() => (directory = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-command-"))));
    afterEach(() => fs.rmSync(directory, { recursive: true, force: true }));

    it("local.Command: create runs create with stdin, the id is the name plus 8 hex digits", async () => {
        const { id, outputs } = await localCommand.create({ create: "cat; echo err >&2", stdin: "in\n" }, URN);
        assert.match(id, /^hello[0-9a-f]{8}$/);
        assert.deepEqual(outputs, { create: "cat; echo err >&2", stdin: "in\n", stdout: "in", stderr: "err" });
    });

    it("local.Command: update runs update (else create) with the previous outputs in the environment", async () => {
        const olds = { inputs: { create: "echo one" }, outputs: { create: "echo one", stdout: "one", stderr: "" } };
        const updated = await localCommand.update!("id", olds, {
            create: "echo one",
            update: 'echo "was $PULUMI_COMMAND_STDOUT"',
        });
        assert.equal(updated.stdout, "was one");
        const recreated = await localCommand.update!("id", olds, { create: "echo two" });
        assert.equal(recreated.stdout, "two");
        const quiet = await localCommand.update!("id", olds, {
            create: "echo x",
            update: "echo $PULUMI_COMMAND_STDOUT",
            addPreviousOutputInEnv: false,
        });
        assert.equal(quiet.stdout, "");
    });

    it("local.Command: delete runs the old delete with the old inputs; a failure names the exit status", async () => {
        const marker = path.join(directory, "deleted");
        await localCommand.delete!("id", {
            delete: `echo "$PULUMI_COMMAND_STDOUT" > deleted`,
            dir: directory,
            stdout: "bye",
        });
        assert.equal(fs.readFileSync(marker, "utf8"), "bye\n");
        await assert.rejects(
            localCommand.create({ create: "echo no; exit 3" }, URN),
            /exit status 3: running "echo no; exit 3":\nno/,
        );
    });

    it("remote.Command: create, update and delete run over SSH with stdin and the previous stdout as env", async () => {
        const key = await clientKey();
        const { server, port, envs } = await startSshServer(key.publicKeyOpenssh);
        try {
            const connection = {
                host: "127.0.0.1",
                port,
                user: "test",
                privateKey: key.privateKeyOpenssh,
                dialErrorLimit: 1,
            };
            const marker = path.join(directory, "left");
            const inputs = {
                connection,
                create: "cat",
                stdin: "member-0",
                delete: `echo "$PULUMI_COMMAND_STDOUT" > ${marker}`,
            };
            const { outputs } = await remoteCommand.create(inputs, URN);
            assert.equal(outputs.stdout, "member-0");
            const updated = await remoteCommand.update!(
                "id",
                { inputs, outputs },
                { ...inputs, update: "echo $PULUMI_COMMAND_STDOUT-updated" },
            );
            assert.equal(updated.stdout, "member-0-updated");
            assert.deepEqual(envs, ["PULUMI_COMMAND_STDOUT"]);
            await remoteCommand.delete!("id", updated);
            assert.equal(fs.readFileSync(marker, "utf8"), "member-0-updated\n");
        } finally {
            server.close();
        }
    });

    it("remote.Command: a refused connection fails after dialErrorLimit attempts", async () => {
        const connection = { host: "127.0.0.1", port: 1, user: "test", privateKey: "x", dialErrorLimit: 1 };
        await assert.rejects(
            remoteCommand.create({ connection, create: "true" }, URN),
            /Dial: 1 failed attempts to 127\.0\.0\.1/,
        );
    });

    describe("record mode (LOCALCLOUD_RECORD=1)", () => {
        beforeEach(() => (process.env.LOCALCLOUD_RECORD = "1"));
        afterEach(() => delete process.env.LOCALCLOUD_RECORD);

        it("create, update and delete succeed without running or connecting; nothing is printed", async () => {
            const marker = path.join(directory, "ran");
            const unreachable = { host: "127.0.0.1", port: 1, user: "test", privateKey: "x", dialErrorLimit: 1 };
            const inputs = { connection: unreachable, create: `touch ${marker}`, delete: `touch ${marker}` };
            const { outputs } = await remoteCommand.create(inputs, URN);
            assert.deepEqual(outputs, { ...inputs, stdout: "", stderr: "" });
            const updated = await remoteCommand.update!("id", { inputs, outputs }, { ...inputs, update: "exit 1" });
            assert.deepEqual(updated, { ...inputs, update: "exit 1", stdout: "", stderr: "" });
            await remoteCommand.delete!("id", updated);
            await localCommand.create({ create: `touch ${marker}`, dir: directory }, URN);
            assert.equal(fs.existsSync(marker), false);
        });

        it("the id is the name and 8 hex digits of the URN's hash: two recordings agree, two URNs differ", async () => {
            const first = await localCommand.create({ create: "true" }, URN);
            const again = await localCommand.create({ create: "true" }, URN);
            const other = await localCommand.create({ create: "true" }, `${URN}-2`);
            assert.match(first.id, /^hello[0-9a-f]{8}$/);
            assert.equal(again.id, first.id);
            assert.notEqual(other.id.slice(-8), first.id.slice(-8));
        });
    });
});
