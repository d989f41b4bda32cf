import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { group } from "./helpers/elements";

const CHANGELOG = fs.readFileSync(path.resolve(__dirname, "..", "CHANGELOG.md"), "utf8");
const SECTIONS = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"];

describe("CHANGELOG.md", () => {
    it("is in Keep a Changelog form: [Unreleased] first, then versions newest first, each change under a section heading", () => {
        const versions = CHANGELOG.split("\n").filter((line) => line.startsWith("## "));
        assert.equal(versions[0], "## [Unreleased]");
        for (const heading of versions.slice(1)) {
            assert.match(heading, /^## \[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}$/);
        }
        const numbers = versions.slice(1).map((heading): [number, number, number] => {
            const match = /\[(\d+)\.(\d+)\.(\d+)\]/.exec(heading);
            const what = `version in ${heading}`;
            return [Number(group(match, 1, what)), Number(group(match, 2, what)), Number(group(match, 3, what))];
        });
        const sorted = [...numbers].sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2]);
        assert.deepEqual(numbers, sorted, "versions newest first");

        let version = "";
        let section = "";
        for (const line of CHANGELOG.split("\n")) {
            if (line.startsWith("## ")) {
                [version, section] = [line, ""];
            } else if (line.startsWith("### ")) {
                assert.ok(version !== "", `${line} outside a version`);
                section = line.slice(4);
                assert.ok(SECTIONS.includes(section), `${version}: "${line}" is not one of ${SECTIONS.join(", ")}`);
            } else if (line.startsWith("- ")) {
                assert.ok(section !== "", `${version || "before any version"}: a change outside a section: ${line}`);
            }
        }
    });

    it("the newest version is package.json's", () => {
        const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "package.json"), "utf8"));
        assert.match(
            CHANGELOG,
            new RegExp(`\\n## \\[Unreleased\\]\\n[\\s\\S]*?\\n## \\[${version.replace(/\./g, "\\.")}\\]`),
        );
    });
});
