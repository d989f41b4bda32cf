import { strict as assert } from "assert";
import * as fs from "fs";
import { CONFIG_KEYS, readStackConfig } from "../core/stack-config";
import { MockRun, runProgram } from "../plan/mock-engine";
import { readStackFile } from "../plan/stack-file";
import {
    README_PATH,
    componentOutputs,
    keysWhereZeroMeansDefault,
    renderConfigTable,
    renderOutputsTable,
    renderReadme,
} from "../scripts/render-readme-tables";
import { at } from "./helpers/elements";

/** The dev stack under mocks, with some keys overridden (raw config text). */
function runDev(overrides: Record<string, string> = {}): Promise<MockRun> {
    return runProgram({
        stack: "dev",
        config: { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----", ...readStackFile("dev").config, ...overrides },
        secretConfigKeys: ["sshPrivateKey"],
    });
}

/** Table rows (`| ... |` lines) of a rendered block, the first cell's name first. */
function rows(block: string): string[] {
    return block.split("\n").filter((line) => line.startsWith("| `"));
}

function firstCell(row: string): string {
    return at(row.split("|"), 1, "table cell").trim().replace(/`/g, "");
}

/** What to change in `actual` to get `expected`, line by line, for the failure message. */
function lineChanges(actual: string, expected: string): string {
    const actualLines = new Set(actual.split("\n"));
    const expectedLines = new Set(expected.split("\n"));
    return [
        ...[...expectedLines].filter((line) => !actualLines.has(line)).map((line) => `  add or change to: ${line}`),
        ...[...actualLines].filter((line) => !expectedLines.has(line)).map((line) => `  remove:           ${line}`),
    ].join("\n");
}

describe("README.md", () => {
    it("holds the configuration and outputs tables exactly as scripts/render-readme-tables.ts renders them from the code", () => {
        const readme = fs.readFileSync(README_PATH, "utf8");
        const rendered = renderReadme(readme);
        if (rendered !== readme) {
            assert.fail(
                `README.md's tables differ from the code; run \`npx ts-node scripts/render-readme-tables.ts\` or make these changes:\n${lineChanges(readme, rendered)}`,
            );
        }
    });

    it("the configuration table has one row per key of core/stack-config.ts, in order, with its default and secret keys marked", () => {
        const table = rows(renderConfigTable());
        assert.deepEqual(
            table.map(firstCell),
            CONFIG_KEYS.map((key) => key.key),
        );
        assert.ok(
            table.includes(
                "| `auth` | boolean | `false` | etcd authentication: root user with a generated password (needs tls). |",
            ),
        );
        assert.ok(
            table.includes(
                "| `sshPrivateKey` | string (secret) | none | Private key of sshUser (required; set with --secret). |",
            ),
        );
        assert.ok(
            table.includes(
                '| `domain` | string | `""` | DNS domain of members and SRV records; empty: <clusterName>.etcd.internal. |',
            ),
        );
        assert.ok(
            table.includes(
                "| `subnetIds` | array | `[]` | Subnets, one per availability zone; empty: the default VPC's default subnets. |",
            ),
        );
    });

    it("the outputs table lists exactly the program's stack outputs, and each secret output's meaning says secret", async () => {
        const run = await runDev();
        const outputs = componentOutputs();
        assert.deepEqual(
            outputs.map((output) => output.name),
            Object.keys(run.outputs),
        );
        assert.ok(run.secretOutputs.has("rootPassword"));
        for (const name of run.secretOutputs) {
            assert.match(outputs.find((output) => output.name === name)?.description ?? "", /secret/, name);
        }
        assert.deepEqual(rows(renderOutputsTable()).map(firstCell), Object.keys(run.outputs));
    });

    it("an empty string or an empty list reads as the key unset, for every string and list key", () => {
        const unset = readStackConfig(() => undefined);
        for (const spec of CONFIG_KEYS.filter(
            (key) => !key.secret && (key.type === "string" || key.type === "array"),
        )) {
            const empty = spec.type === "string" ? "" : "[]";
            assert.deepEqual(
                readStackConfig((key) => (key === spec.key ? empty : undefined)),
                unset,
                spec.key,
            );
        }
    });

    it("a 0 deploys as the default for the keys the table names, and every other integer key's 0 is refused before deploying", async () => {
        const zeroMeansDefault = keysWhereZeroMeansDefault();
        assert.deepEqual(zeroMeansDefault, ["volumeIops", "discoverySize"]);
        const registered = (run: MockRun) =>
            run.resources.map((resource) => [resource.type, resource.name, resource.inputs]);
        const unset = registered(await runDev());
        for (const key of zeroMeansDefault) {
            assert.deepEqual(registered(await runDev({ [key]: "0" })), unset, key);
        }
        for (const spec of CONFIG_KEYS.filter((key) => key.type === "integer" && !zeroMeansDefault.includes(key.key))) {
            await assert.rejects(runDev({ [spec.key]: "0" }), new RegExp(`\\b${spec.key} = 0: `), spec.key);
        }
    });
});
