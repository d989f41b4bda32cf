// host/lib/s3.sh's scratch_dir, sourced with lib/common.sh and run directly: where the backup and
// restore scripts put a snapshot while it is checked and sent.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const LIB = path.resolve(__dirname, "../../host/lib");

/** scratch_dir BYTES with MEMORY_DIR and BACKUP_DIR as given: the directory it prints, and whether BACKUP_DIR exists. */
function scratchDir(bytes: number, memoryDir: string, backupDir: string): { printed: string; made: boolean } {
    const script = `set -euo pipefail; source ${LIB}/common.sh; source ${LIB}/s3.sh; scratch_dir ${bytes}`;
    const result = spawnSync("bash", ["-c", script], {
        encoding: "utf8",
        env: { ...process.env, MEMORY_DIR: memoryDir, BACKUP_DIR: backupDir },
    });
    assert.equal(result.status, 0, result.stderr);
    return { printed: result.stdout.trim(), made: fs.existsSync(backupDir) };
}

describe("host/lib/s3.sh scratch_dir", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-aws-scratch-"));
    const backupDir = path.join(dir, "backup");
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("puts a snapshot that fits in memory in the tmpfs, and makes no directory on the data volume", function () {
        if (spawnSync("stat", ["-f", "-c", "%T", "/dev/shm"], { encoding: "utf8" }).stdout.trim() !== "tmpfs") {
            this.skip();
        }
        assert.deepEqual(scratchDir(64 * 1024 * 1024, "/dev/shm", backupDir), { printed: "/dev/shm", made: false });
    });

    it("puts a snapshot larger than a quarter of the available memory on the data volume (made 0700)", () => {
        const memAvailable = Number(/MemAvailable:\s+(\d+)/.exec(fs.readFileSync("/proc/meminfo", "utf8"))?.[1]) * 1024;
        assert.deepEqual(scratchDir(Math.ceil(memAvailable / 3), "/dev/shm", backupDir), {
            printed: backupDir,
            made: true,
        });
        assert.equal(fs.statSync(backupDir).mode & 0o777, 0o700);
    });

    it("uses the data volume when MEMORY_DIR is not a tmpfs", () => {
        assert.equal(scratchDir(1024, dir, backupDir).printed, backupDir);
    });
});
