// host/lib/disk_probe.py, run directly on a temporary directory: the install's disk check (its figures
// against fio's are compared in test/real/install.test.ts).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const PROBE = path.resolve(__dirname, "../../host/lib/disk_probe.py");

function probe(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync("python3", [PROBE, ...args], { encoding: "utf8", timeout: 30_000 });
    assert.equal(result.error, undefined, `python3 could not run: ${String(result.error)}`);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("host/lib/disk_probe.py", () => {
    let dir = "";
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-aws-disk-probe-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('prints "P99_MS WRITES ok|slow" against the limit, times at least 100 writes, stops after its seconds (or 22 MiB), and leaves no file', () => {
        const started = Date.now();
        const result = probe([dir, "1000000", "0.2"]);
        const seconds = (Date.now() - started) / 1000;
        assert.equal(result.status, 0, result.stderr);
        const match = /^(\d+\.\d\d) (\d+) (ok|slow)\n$/.exec(result.stdout);
        assert.ok(match, result.stdout);
        const [, p99, writes, verdict] = match;
        assert.ok(Number(p99) > 0, p99);
        assert.ok(Number(writes) >= 100 && Number(writes) <= Math.floor((22 * 1024 * 1024) / 2300), writes);
        assert.equal(verdict, "ok");
        assert.ok(seconds < 5, `${seconds} s`);
        assert.deepEqual(fs.readdirSync(dir), []);
    });

    it("says slow when the p99 is above the limit", () => {
        const result = probe([dir, "0", "0.1"]);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, / slow\n$/);
    });

    it("fails on a directory it cannot write, and without its three arguments prints its usage", () => {
        const missing = probe([path.join(dir, "absent"), "10", "0.1"]);
        assert.notEqual(missing.status, 0);
        assert.match(missing.stderr, /No such file or directory/);
        const usage = probe([dir]);
        assert.equal(usage.status, 1);
        assert.match(usage.stderr, /disk_probe\.py DIR LIMIT_MS SECONDS/);
    });
});
