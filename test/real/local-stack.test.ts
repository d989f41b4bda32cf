// The local stack end to end: `scripts/local-cluster.sh up` of a 3-member stack runs the real `pulumi up` of the
// program against the local cloud and leaves a cluster etcdctl reaches (3 started members, a key written and read
// back); `destroy` deletes every resource and leaves no process of the local cloud running. Run it alone:
//   flock /tmp/etcd-aws-real.lock npx mocha --timeout 600000 test/real/local-stack.test.ts
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { localRelease } from "../../local/mirror";
import { isRunning, recordedUnder, runChecked } from "../../local/process";
import { firewallTable } from "../../localcloud/aws/network";
import { stackPaths } from "../../localcloud/stack";
import { enterLocalCloud, leaveLocalCloud, localCluster, printedEndpoints } from "./local-stack-run";

const STACK = "local-test";

describe("the local stack: scripts/local-cluster.sh up and destroy of a 3-member stack", function () {
    this.timeout(600_000);
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let upOutput = "";
    let recorded: number[] = [];

    before(function () {
        ({ dir, env } = enterLocalCloud(this, "local-stack"));
    });

    after(async () => {
        await leaveLocalCloud(STACK, dir, env);
    });

    it("up runs the engine's steps and leaves 3 started members that store and return a key", async () => {
        const { output, seconds } = await localCluster(
            ["up", "--stack", STACK, "--set", "etcd-aws:memberCount=3"],
            env,
        );
        upOutput = output;
        console.log(`      up: ${seconds.toFixed(0)} s`);
        assert.match(output, /Resources:\n +\+ \d+ created\n/);
        const endpoints = printedEndpoints(output)?.join(",");
        assert.ok(endpoints, `the endpoints are printed:\n${output.slice(-2000)}`);
        assert.equal(endpoints.split(",").length, 3);

        const { clientDir } = stackPaths(STACK);
        const etcdctl = (...args: string[]) =>
            runChecked(
                [
                    path.join(localRelease("3.6.14").binDir, "etcdctl"),
                    "--endpoints",
                    endpoints,
                    "--cacert",
                    path.join(clientDir, "ca.pem"),
                    "--cert",
                    path.join(clientDir, "client.pem"),
                    "--key",
                    path.join(clientDir, "client-key.pem"),
                    ...args,
                ],
                { timeoutMs: 20_000 },
            );
        const members = (
            JSON.parse(await etcdctl("member", "list", "-w", "json")) as {
                members: { name?: string; clientURLs?: string[] }[];
            }
        ).members;
        assert.deepEqual(members.map((member) => member.name).sort(), [`${STACK}-0`, `${STACK}-1`, `${STACK}-2`]);
        assert.ok(
            members.every((member) => (member.clientURLs ?? []).length === 1),
            "every member started",
        );
        await etcdctl("put", "local-stack-key", "written through the local stack");
        assert.equal(
            (await etcdctl("get", "local-stack-key", "--print-value-only")).trim(),
            "written through the local stack",
        );

        recorded = recordedUnder(dir);
        // Per member an etcd and an SSH daemon, and the DNS server.
        assert.equal(recorded.length, 7, `processes of the local cloud: ${recorded.join(", ")}`);
    });

    it("destroy deletes every resource and stops every process the local cloud started", async function () {
        if (!upOutput) this.skip();
        const { seconds } = await localCluster(["destroy", "--stack", STACK], env);
        console.log(`      destroy: ${seconds.toFixed(0)} s`);
        assert.deepEqual(recorded.filter(isRunning), [], "no process of the stack runs any more");
        assert.deepEqual(recordedUnder(dir), []);
        const tables = await runChecked(["nft", "list", "tables"], { timeoutMs: 10_000 });
        assert.equal(tables.includes(firewallTable()), false, "the firewall table is gone");
        for (const kind of ["instances", "network-interfaces", "volumes", "security-groups", "route53-zones"]) {
            const left = fs.existsSync(path.join(dir, kind)) ? fs.readdirSync(path.join(dir, kind)) : [];
            assert.deepEqual(left, [], `no ${kind} left`);
        }
    });
});
