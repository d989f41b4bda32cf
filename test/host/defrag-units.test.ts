// The defrag units on a local host's systemctl (local/shims/systemctl): what the launch's
// `systemctl enable --now etcd-aws-defrag.timer` does there (the shim runs no timers, so the
// real tests run the defrag script directly).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFRAG_PATHS, DEFRAG_TIMER, renderDefragUnits } from "../../core/scripts/defrag";

const SHIM = path.resolve(__dirname, "../../local/shims/systemctl");

describe("defrag units on the local hosts' systemctl", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-aws-defrag-units-"));
    after(() => fs.rmSync(root, { recursive: true, force: true }));
    const unitDir = path.join(root, "units");
    fs.mkdirSync(unitDir);
    const { service, timer } = renderDefragUnits();
    fs.writeFileSync(path.join(unitDir, path.basename(DEFRAG_PATHS.serviceFile)), service);
    fs.writeFileSync(path.join(unitDir, DEFRAG_TIMER), timer);

    function systemctl(...args: string[]) {
        return spawnSync("bash", [SHIM, ...args], {
            encoding: "utf8",
            env: { ...process.env, ETCD_AWS_UNIT_DIR: unitDir, ETCD_AWS_PID_DIR: root, ETCD_AWS_LOG_DIR: root },
        });
    }

    it("daemon-reload, then enable --now of the timer: the timers.target.wants link, nothing started", () => {
        assert.equal(systemctl("daemon-reload").status, 0);
        const enabled = systemctl("enable", "--now", DEFRAG_TIMER);
        assert.equal(enabled.status, 0, enabled.stderr);
        const link = path.join(unitDir, "timers.target.wants", DEFRAG_TIMER);
        assert.equal(fs.readlinkSync(link), path.join(unitDir, DEFRAG_TIMER));
        assert.deepEqual(
            fs.readdirSync(root).filter((name) => name.endsWith(".pid")),
            [],
        );
        // Again: the same link.
        assert.equal(systemctl("enable", "--now", DEFRAG_TIMER).status, 0);
        assert.equal(fs.readlinkSync(link), path.join(unitDir, DEFRAG_TIMER));
    });

    it("start of the timer is refused there (a timer has no ExecStart): the launch must not call it", () => {
        const started = systemctl("start", DEFRAG_TIMER);
        assert.equal(started.status, 1);
        assert.match(started.stderr, /has no ExecStart/);
    });
});
