// shellcheck over every shell script of the repository as it is (not only as rendered): the
// host scripts and their libraries, the repository's own scripts and the local hosts' shims.
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { at } from "../helpers/elements";

const ROOT = path.resolve(__dirname, "../..");

/** Tracked *.sh files, the host scripts (tracked or about to be) and the shims (no extension). */
function shellScripts(): string[] {
    const tracked = execFileSync("git", ["ls-files", "*.sh"], { cwd: ROOT, encoding: "utf8" })
        .split("\n")
        .filter((file) => file !== "");
    const host = ["host", "host/lib"].flatMap((dir) =>
        fs
            .readdirSync(path.join(ROOT, dir))
            .filter((name) => name.endsWith(".sh"))
            .map((name) => `${dir}/${name}`),
    );
    const shims = fs.readdirSync(path.join(ROOT, "local/shims")).map((name) => `local/shims/${name}`);
    return [...new Set([...tracked, ...host, ...shims])].sort();
}

describe("shell scripts", () => {
    const scripts = shellScripts();

    it("include every host script and shim", () => {
        for (const file of [
            "host/etcd-aws-launch.sh",
            "host/etcd-aws-leave.sh",
            "host/etcd-aws-health-gate.sh",
            "host/etcd-aws-discovery-size.sh",
            "host/etcd-aws-auth.sh",
            "host/etcd-aws-install.sh",
            "host/lib/common.sh",
            "host/lib/membership.sh",
            "local/shims/systemctl",
            "local/shims/journalctl",
        ]) {
            assert.ok(scripts.includes(file), file);
        }
    });

    for (const file of scripts) {
        it(`${file}: shellcheck-clean (following its sources)`, () => {
            const result = spawnSync("shellcheck", ["-x", "-s", "bash", file], { cwd: ROOT, encoding: "utf8" });
            assert.equal(result.error, undefined, `shellcheck could not run: ${String(result.error)}`);
            assert.equal(`${result.stdout}${result.stderr}`, "");
            assert.equal(result.status, 0);
        });

        it(`${file}: starts with a bash shebang, then a comment saying what it does`, () => {
            const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
            assert.equal(lines[0], "#!/usr/bin/env bash");
            assert.match(at(lines, 1, "line"), /^# \S/);
        });
    }
});
