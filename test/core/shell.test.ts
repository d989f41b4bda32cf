import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { assignments, heredoc, scriptPrelude, shellQuote } from "../../core/shell";
import { bash, runBash, shellcheck, tempDir } from "./helpers";

const TRICKY = ["plain", "it's", "two words", "$HOME `id` \"q\" \\n", "", "''", "a\nb"];

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
            assert.equal(heredoc("ETCD_AWS_EOF_\nETCD_AWS_EOF"), "<<'ETCD_AWS_EOF__'\nETCD_AWS_EOF_\nETCD_AWS_EOF\nETCD_AWS_EOF__");
            assert.equal(heredoc("UNIT\n", "UNIT"), "<<'UNIT_'\nUNIT\nUNIT_");
        });

        it("keeps the plain delimiter when it only occurs inside a line", () => {
            assert.equal(heredoc("say ETCD_AWS_EOF\n ETCD_AWS_EOF"), "<<'ETCD_AWS_EOF'\nsay ETCD_AWS_EOF\n ETCD_AWS_EOF\nETCD_AWS_EOF");
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
                "# Rendered by etcd-aws; safe to run again: each step checks before it changes anything.",
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
                return runBash(`${prelude}\nif write_if_changed '${file}' ${mode} ${who} <<'EOF'\n${content}\nEOF\nthen echo changed; else echo unchanged; fi`);
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
    });
});
