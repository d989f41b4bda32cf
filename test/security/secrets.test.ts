// Secrets stay secret: every stack, and variants that set every key that can hold a credential,
// run under mocks with marker values in each secret; no marker (and no generated secret: the
// discovery token, the root password, private keys) may appear in a plain output, a resource
// input that is not secret, a warning, the rendered plan or a refusal's message.
import { strict as assert } from "assert";
import { CONFIG_KEYS, formatProblems, readStackConfig } from "../../core";
import { asStackProblem, CREDENTIAL_KEYS } from "../../core/stack-config";
import { MockRun, runProgram } from "../../plan/mock-engine";
import { renderPlan } from "../../plan/render";
import { readStackFile, secretStandIn, stackNames } from "../../plan/stack-file";
import { validateClusterArgs } from "../../components";
import { SSH } from "../helpers/cluster";
import { at } from "../helpers/elements";
import { ChecklistItem, formatChecklist } from "../helpers/security-checklist";

const MARK = "MARKER7f3a";

/** A marker value for each secret key, valid for its key (a URL where a URL belongs). */
const MARKED = {
    sshPrivateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${MARK}ssh\n-----END OPENSSH PRIVATE KEY-----`,
    mirrorBaseUrl: `https://mirror:${MARK}mirror@mirror.example.com/etcd`,
    discoveryServiceUrl: `http://registrar:${MARK}service@10.20.0.50:2379/v2/keys/_etcd/registry`,
    discoveryUrl: `https://discovery.example.com/${MARK}url`,
    discoveryProxy: `http://proxy:${MARK}proxy@10.20.0.60:3128`,
};

/** Each stack, and staging bootstrapping over v2 discovery (a registered token, then a ready URL). */
function variants(): { name: string; stack: string; config: Record<string, string> }[] {
    const base = (stack: string) => ({
        ...readStackFile(stack).config,
        sshPrivateKey: MARKED.sshPrivateKey,
        mirrorBaseUrl: MARKED.mirrorBaseUrl,
    });
    const v2 = (config: Record<string, string>) => {
        const rest = Object.fromEntries(Object.entries(config).filter(([key]) => key !== "discoveryEndpoints"));
        return { ...rest, etcdVersion: "3.5.33", discoveryProtocol: "v2", discoveryProxy: MARKED.discoveryProxy };
    };
    return [
        ...stackNames().map((stack) => ({ name: stack, stack, config: base(stack) })),
        {
            name: "staging, v2 discovery service",
            stack: "staging",
            config: { ...v2(base("staging")), discoveryServiceUrl: MARKED.discoveryServiceUrl },
        },
        {
            name: "staging, ready v2 URL",
            stack: "staging",
            config: { ...v2(base("staging")), discoveryUrl: MARKED.discoveryUrl, discoverySize: "3" },
        },
    ];
}

/** The generated secrets of a run: the secret outputs' values and the private keys' PEMs. */
function generatedSecrets(run: MockRun): string[] {
    const outputs = [...run.secretOutputs]
        .map((key) => run.outputs[key])
        .filter((value): value is string => typeof value === "string" && value.length > 8);
    const keys = run.resources
        .filter((r) => r.type === "tls:index/privateKey:PrivateKey")
        .map((r) => String(r.state.privateKeyPem));
    return [...outputs, ...keys];
}

/** Every place a secret must not be, as text with where it came from. */
function plainPlaces(run: MockRun): { where: string; text: string }[] {
    return [
        ...Object.keys(run.outputs)
            .filter((key) => !run.secretOutputs.has(key))
            .map((key) => ({ where: `output ${key}`, text: JSON.stringify(run.outputs[key]) })),
        ...run.resources.flatMap((resource) =>
            Object.keys(resource.inputs)
                .filter((key) => !resource.secretInputs.has(key))
                .map((key) => ({ where: `${resource.name}.${key}`, text: JSON.stringify(resource.inputs[key]) })),
        ),
        ...run.warnings.map((warning) => ({ where: "warning", text: warning })),
    ];
}

/** The secrets items of the security checklist, judged on a run whose secrets hold markers. */
function secretsChecklist(run: MockRun): ChecklistItem[] {
    const needles = [MARK, ...generatedSecrets(run)];
    const leaks = plainPlaces(run).flatMap(({ where, text }) =>
        needles.filter((needle) => text.includes(needle)).map((needle) => `${where}: ${needle.slice(0, 24)}`),
    );
    const randomIds = run.resources.filter((r) => r.type === "random:index/randomId:RandomId").map((r) => r.name);
    const item = (name: string, failures: string[], ok: string): ChecklistItem => ({
        item: name,
        pass: failures.length === 0,
        detail: failures.length === 0 ? ok : failures.join("; "),
    });
    return [
        item(
            "no secret (config marker, token, password, key) in a plain output, plain input or warning",
            leaks,
            `none of ${needles.length} secret value(s) found`,
        ),
        item(
            "random values that are secrets come from RandomPassword (never RandomId)",
            randomIds.map((name) => `RandomId ${name}`),
            "no RandomId",
        ),
    ];
}

describe("secrets stay secret (marker scan of every stack)", () => {
    it("the scan finds a marker put in a plain setting (the key pair name is no secret)", async () => {
        const config = {
            ...readStackFile("dev").config,
            sshPrivateKey: MARKED.sshPrivateKey,
            sshKeyName: `${MARK}pair`,
        };
        const run = await runProgram({ stack: "dev", config, secretConfigKeys: ["sshPrivateKey"] });
        const leak = at(secretsChecklist(run), 0, "checklist item");
        assert.equal(leak.pass, false);
        assert.match(leak.detail, /^dev-etcd-0\.keyName: MARKER7f3a/);
    });

    it("the keys that can hold a credential are the mirror and discovery URLs", () => {
        assert.deepEqual(CREDENTIAL_KEYS, ["mirrorBaseUrl", "discoveryServiceUrl", "discoveryUrl", "discoveryProxy"]);
        assert.deepEqual(
            Object.keys(MARKED).sort(),
            [...CREDENTIAL_KEYS, ...CONFIG_KEYS.filter((k) => k.secret).map((k) => k.key)].sort(),
        );
    });

    for (const variant of variants()) {
        const secretKeys = Object.keys(MARKED).filter((key) => key in variant.config);

        it(`${variant.name}: no marker or generated secret in a plain output, a plain input or a warning`, async () => {
            const run = await runProgram({
                stack: variant.stack,
                config: variant.config,
                secretConfigKeys: secretKeys,
            });
            assert.ok(run.resources.length > 20, "the stack deployed");
            const installs = run.resources.filter((r) => r.name.endsWith("-install"));
            assert.deepEqual(
                installs.map((r) => [r.secretInputs.has("stdin"), r.inputs.logging]),
                installs.map(() => [true, "none"]),
                "installs from the credential mirror",
            );
            const items = secretsChecklist(run);
            console.log(formatChecklist(`secrets: ${variant.name}`, items));
            assert.deepEqual(
                items.filter((item) => !item.pass),
                [],
            );
        });

        it(`${variant.name}: the offline plan runs with those keys encrypted and shows <secret> for them`, async () => {
            // What plan/plan.ts does with `secure:` values: it cannot decrypt them, so a stand-in runs.
            const config = Object.fromEntries(
                Object.entries(variant.config).map(([key, value]) => [
                    key,
                    secretKeys.includes(key) ? secretStandIn(key) : value,
                ]),
            );
            const run = await runProgram({
                stack: variant.stack,
                config,
                secretConfigKeys: secretKeys,
                values: "placeholders",
            });
            const entries = Object.entries(config).map(([key, value]) => ({
                key: `etcd-aws:${key}`,
                value,
                secret: secretKeys.includes(key),
            }));
            const plan = renderPlan({ stack: variant.stack, config: entries, run });
            for (const key of secretKeys) {
                assert.match(plan, new RegExp(`\\| \`etcd-aws:${key}\` \\| \`<secret>\` \\|`), key);
            }
            assert.deepEqual(
                plan.match(/secret\.invalid(?!\/<secret>)/g),
                null,
                "the stand-in only ever shows as <secret>",
            );
            assert.doesNotMatch(plan, new RegExp(MARK));
        });
    }

    it("the discovery token comes from random.RandomPassword (its result is secret in the state), never RandomId", async () => {
        const config = { ...readStackFile("staging").config, sshPrivateKey: MARKED.sshPrivateKey };
        const run = await runProgram({ stack: "staging", config, secretConfigKeys: ["sshPrivateKey"] });
        assert.deepEqual(
            run.resources.filter((r) => r.type.startsWith("random:")).map((r) => [r.type, r.name]),
            [["random:index/randomPassword:RandomPassword", "staging-etcd-discovery-token"]],
        );
        assert.ok(run.secretOutputs.has("discoveryToken"));
    });

    it("the cluster's own commands pass no previous output in the environment (addPreviousOutputInEnv: false)", async () => {
        const config = { ...readStackFile("prod").config, sshPrivateKey: MARKED.sshPrivateKey };
        const run = await runProgram({ stack: "prod", config, secretConfigKeys: ["sshPrivateKey"] });
        const commands = run.resources.filter(
            (r) => r.type === "command:remote:Command" && /-(launch|health|auth)$/.test(r.name),
        );
        assert.equal(commands.length, 7);
        assert.deepEqual(
            commands.filter((c) => c.inputs.addPreviousOutputInEnv !== false).map((c) => c.name),
            [],
        );
        const staging = await runProgram({
            stack: "staging",
            config: { ...readStackFile("staging").config, sshPrivateKey: MARKED.sshPrivateKey },
            secretConfigKeys: ["sshPrivateKey"],
        });
        assert.equal(
            staging.resources.find((r) => r.name === "staging-etcd-discovery-size")?.inputs.addPreviousOutputInEnv,
            false,
        );
    });

    it("a refusal's message masks the credential in a URL it shows, in the stack's key names", () => {
        const settings = readStackConfig(
            (key) =>
                ({
                    bootstrapMode: "discovery",
                    etcdVersion: "3.5.33",
                    discoveryProtocol: "v2",
                    discoveryUrl: `ftp://discovery.example.com/${MARK}`,
                    mirrorBaseUrl: `ftp://m:${MARK}@x`,
                })[key],
        ).config.settings;
        const { problems } = validateClusterArgs("orders", { ...settings, ssh: SSH });
        const message = formatProblems('stack "test"', problems.map(asStackProblem));
        assert.doesNotMatch(message, new RegExp(MARK));
        assert.match(message, /mirrorBaseUrl = "ftp:\/\/m:\*\*\*@x"/);
        assert.match(message, /discoveryUrl = "ftp:\/\/discovery\.example\.com\/\*\*\*"/);
    });
});
