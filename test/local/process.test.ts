import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isRunning, recordedProcess, stopAll } from "../../local/process";

describe("local/process stopAll", () => {
    let dir = "";
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-aws-process-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("leaves a recorded process that runs another program, and keeps its PID file so its owner can still stop it", async () => {
        const other = spawn("sleep", ["30"], { stdio: "ignore" });
        try {
            const pidFile = path.join(dir, "moto", "moto_server.pid");
            fs.mkdirSync(path.dirname(pidFile));
            fs.writeFileSync(pidFile, `${other.pid}\n`);
            assert.deepEqual(await stopAll(dir), []);
            assert.equal(isRunning(other.pid!), true);
            assert.equal(fs.readFileSync(pidFile, "utf8").trim(), String(other.pid));
        } finally {
            other.kill("SIGKILL");
        }
    });

    it("removes the PID file of a process that is gone", async () => {
        const gone = spawn("true");
        await new Promise((resolve) => gone.once("exit", resolve));
        const pidFile = path.join(dir, "etcd.pid");
        fs.writeFileSync(pidFile, `${gone.pid}\n`);
        assert.deepEqual(await stopAll(dir), []);
        assert.equal(fs.existsSync(pidFile), false);
    });

    it("does not take a PID reused by a process that started after the file was written for the recorded one", async () => {
        const later = spawn("sleep", ["30"], { stdio: "ignore" });
        try {
            const pidFile = path.join(dir, "moto_server.pid");
            fs.writeFileSync(pidFile, `${later.pid}\n`);
            assert.equal(recordedProcess(pidFile), later.pid, "written after its start: the recorded process");
            const anHourAgo = new Date(Date.now() - 3_600_000);
            fs.utimesSync(pidFile, anHourAgo, anHourAgo);
            assert.equal(recordedProcess(pidFile), undefined);
            assert.deepEqual(await stopAll(dir), []);
            assert.equal(fs.existsSync(pidFile), false, "a stale file is removed");
            assert.equal(isRunning(later.pid!), true, "and the process it names is left alone");
        } finally {
            later.kill("SIGKILL");
        }
    });
});
