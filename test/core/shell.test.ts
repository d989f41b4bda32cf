import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { assignments, heredoc, hostScript, renderBundle, scriptPrelude, shellQuote } from "../../core/shell";
import { bash, runBash, shellcheck, tempDir } from "./helpers";
import { at } from "../helpers/elements";

/** Runs a bundle as members do (`bash -s`, on stdin) from an empty directory, with an etcdctl that fails. */
function spawnBundle(script: string): { status: number | null; stderr: string } {
    const bin = tempDir("bin");
    fs.writeFileSync(path.join(bin, "etcdctl"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "journalctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const result = spawnSync("bash", ["-s"], {
        input: script,
        cwd: tempDir("elsewhere"),
        encoding: "utf8",
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    return { status: result.status, stderr: result.stderr };
}

const TRICKY = ["plain", "it's", "two words", '$HOME `id` "q" \\n', "", "''", "a\nb"];

describe("core/shell", () => {
    describe("shellQuote", () => {
        it("single-quotes and escapes embedded single quotes", () => {
            assert.equal(shellQuote("plain"), "'plain'");
            assert.equal(shellQuote("it's"), `'it'\\''s'`);
            assert.equal(shellQuote(""), "''");
        });

        it("bash reads every quoted value back unchanged", () => {
            const script = TRICKY.map((value) => `printf '%s\\0' ${shellQuote(value)}`).join("\n");
            assert.deepEqual(bash(script).split("\0").slice(0, -1), TRICKY);
        });
    });

    describe("heredoc", () => {
        it("uses the tag as a quoted delimiter and ends the body with a newline", () => {
            assert.equal(heredoc("a\nb"), "<<'ETCD_AWS_EOF'\na\nb\nETCD_AWS_EOF");
            assert.equal(heredoc("a\n", "UNIT"), "<<'UNIT'\na\nUNIT");
        });

        it("lengthens the delimiter until no content line equals it", () => {
            assert.equal(heredoc("x\nETCD_AWS_EOF\ny"), "<<'ETCD_AWS_EOF_'\nx\nETCD_AWS_EOF\ny\nETCD_AWS_EOF_");
            assert.equal(
                heredoc("ETCD_AWS_EOF_\nETCD_AWS_EOF"),
                "<<'ETCD_AWS_EOF__'\nETCD_AWS_EOF_\nETCD_AWS_EOF\nETCD_AWS_EOF__",
            );
            assert.equal(heredoc("UNIT\n", "UNIT"), "<<'UNIT_'\nUNIT\nUNIT_");
        });

        it("keeps the plain delimiter when it only occurs inside a line", () => {
            assert.equal(
                heredoc("say ETCD_AWS_EOF\n ETCD_AWS_EOF"),
                "<<'ETCD_AWS_EOF'\nsay ETCD_AWS_EOF\n ETCD_AWS_EOF\nETCD_AWS_EOF",
            );
        });

        for (const content of [
            "ETCD_AWS_EOF\n$HOME `id` \\\nlast",
            "ETCD_AWS_EOF_\nETCD_AWS_EOF\nETCD_AWS_EOF__x\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        ]) {
            it(`bash reads the body back byte for byte: ${JSON.stringify(content.slice(0, 24))}...`, () => {
                const expected = content.endsWith("\n") ? content : `${content}\n`;
                assert.equal(bash(`cat ${heredoc(content)}`), expected);
            });
        }
    });

    describe("assignments", () => {
        it("writes NAME='value' lines in order, numbers as text", () => {
            assert.equal(assignments({ A: "x y", B: 3, C: "it's" }), `A='x y'\nB='3'\nC='it'\\''s'`);
        });

        it("bash sees the assigned values unchanged", () => {
            const values = Object.fromEntries(TRICKY.map((value, i) => [`V${i}`, value]));
            const script = `${assignments(values)}\n${TRICKY.map((_, i) => `printf '%s\\0' "$V${i}"`).join("\n")}`;
            assert.deepEqual(bash(script).split("\0").slice(0, -1), TRICKY);
        });
    });

    describe("scriptPrelude", () => {
        const prelude = scriptPrelude("test", ["First line.", "Second line."]);

        it("starts with the shebang and header, then set -euo pipefail", () => {
            assert.deepEqual(prelude.split("\n").slice(0, 5), [
                "#!/usr/bin/env bash",
                "# First line.",
                "# Second line.",
                "# Rendered by etcd-aws from its host/*.sh; safe to run again: each step checks before it changes anything.",
                "set -euo pipefail",
            ]);
        });

        it("is shellcheck-clean", () => {
            assert.equal(shellcheck(`${prelude}\nlog hello\n`), "");
        });

        it("log writes 'HH:MM:SS etcd-<purpose>: message' to stderr", () => {
            const result = runBash(`${prelude}\nlog "hello world"`);
            assert.equal(result.status, 0);
            assert.equal(result.stdout, "");
            assert.match(result.stderr, /^\d\d:\d\d:\d\d etcd-test: hello world\n$/);
        });

        describe("write_if_changed", () => {
            const owner = `$(id -un):$(id -gn)`;
            function write(file: string, content: string, mode = "0640", who = owner): ReturnType<typeof runBash> {
                return runBash(
                    `${prelude}\nif write_if_changed '${file}' ${mode} ${who} <<'EOF'\n${content}\nEOF\nthen echo changed; else echo unchanged; fi`,
                );
            }

            it("writes a new file with its mode and reports a change; the same content again is no change", () => {
                const file = path.join(tempDir("write"), "etcd.env");
                assert.equal(write(file, "A=1").stdout, "changed\n");
                assert.equal(fs.readFileSync(file, "utf8"), "A=1\n");
                assert.equal(fs.statSync(file).mode & 0o777, 0o640);
                assert.equal(write(file, "A=1").stdout, "unchanged\n");
                assert.equal(write(file, "A=2", "0600").stdout, "changed\n");
                assert.equal(fs.readFileSync(file, "utf8"), "A=2\n");
                assert.equal(fs.statSync(file).mode & 0o777, 0o600);
                assert.deepEqual(fs.readdirSync(path.dirname(file)), ["etcd.env"]);
            });

            it("restores the mode of an unchanged file", () => {
                const file = path.join(tempDir("write"), "key");
                write(file, "secret", "0600");
                fs.chmodSync(file, 0o644);
                assert.equal(write(file, "secret", "0600").stdout, "unchanged\n");
                assert.equal(fs.statSync(file).mode & 0o777, 0o600);
            });

            it("exits the script when it cannot write, although it runs as an if condition", () => {
                const result = write("/nonexistent-etcd-aws/dir/etcd.env", "A=1");
                assert.equal(result.status, 1);
                assert.equal(result.stdout, "");
            });

            it("exits the script when the owner cannot be set, leaving the old file in place", () => {
                const file = path.join(tempDir("write"), "etcd.env");
                write(file, "A=1");
                const result = write(file, "A=2", "0640", "root:no-such-group-etcd-aws");
                assert.equal(result.status, 1);
                assert.equal(result.stdout, "");
                assert.equal(fs.readFileSync(file, "utf8"), "A=1\n");
            });
        });

        describe("under_root, write_host_file and require_settings", () => {
            it("under_root moves the named non-empty paths below ETCD_AWS_ROOT, and nothing without it", () => {
                const script = `${prelude}\nA=/etc/etcd/etcd.env\nB=\nunder_root A B\nprintf '%s|%s' "$A" "$B"`;
                assert.equal(runBash(script, { ETCD_AWS_ROOT: "/tmp/host" }).stdout, "/tmp/host/etc/etcd/etcd.env|");
                assert.equal(runBash(script).stdout, "/etc/etcd/etcd.env|");
            });

            it("write_host_file writes a member path below ETCD_AWS_ROOT, owned by ETCD_AWS_OWNER when set", () => {
                const root = tempDir("root");
                fs.mkdirSync(path.join(root, "etc/etcd"), { recursive: true });
                const result = runBash(
                    `${prelude}\nwrite_host_file /etc/etcd/etcd.env 0640 root:no-such-group-etcd-aws <<'EOF'\nA=1\nEOF`,
                    {
                        ETCD_AWS_ROOT: root,
                        ETCD_AWS_OWNER: `${bash("id -un").trim()}:${bash("id -gn").trim()}`,
                    },
                );
                assert.equal(result.status, 0, result.stderr);
                assert.equal(fs.readFileSync(path.join(root, "etc/etcd/etcd.env"), "utf8"), "A=1\n");
            });

            it("require_settings exits 2 naming every unset setting; set but empty is set", () => {
                const result = runBash(`${prelude}\nB=\nrequire_settings A B C\necho reached`);
                assert.equal(result.status, 2);
                assert.equal(result.stdout, "");
                assert.match(result.stderr, /etcd-test: missing settings: A C\n$/);
                assert.equal(runBash(`${prelude}\nA=1\nrequire_settings A\necho reached`).stdout, "reached\n");
            });
        });
    });

    describe("renderBundle", () => {
        const bundle = renderBundle({
            purpose: "health",
            description: ["Test bundle."],
            settings: {
                ENDPOINTS: "http://127.0.0.1:1",
                PEER_URLS: "http://127.0.0.1:2",
                TIMEOUT_SECONDS: 0,
                UNIT: "etcd.service",
                CA_FILE: "",
                CLIENT_CERT_FILE: "",
                CLIENT_KEY_FILE: "",
            },
            readsJson: true,
            definitions: ["# a definition\ndefined() { :; }"],
            script: "etcd-aws-health-gate.sh",
        });

        it("is prelude, settings, the etcd_json helper, definitions, then the script, which no longer reads libraries from disk", () => {
            const order = [
                "# ---- host/lib/common.sh",
                "# ---- settings",
                "ETCD_JSON_PY=$(cat <<'ETCD_JSON_PY'",
                "defined() { :; }",
                "# ---- host/etcd-aws-health-gate.sh",
            ].map((line) => bundle.split("\n").indexOf(line));
            assert.ok(
                order.every((index, i) => index >= 0 && (i === 0 || index > at(order, i - 1))),
                order.join(","),
            );
            assert.doesNotMatch(bundle, /^\s*source /m);
            assert.ok(bundle.includes(hostScript("lib/etcd_json.py")));
            assert.equal(shellcheck(bundle), "");
        });

        it("runs on its own, from a directory without host/: the etcd_json helper travels in it", () => {
            const run = spawnBundle(bundle);
            assert.equal(run.status, 1);
            assert.match(run.stderr, /etcd-health: cluster did not become healthy within 0 s/);
        });
    });
});
