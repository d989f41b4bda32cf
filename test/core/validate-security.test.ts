// The application certificate's user and key prefix (core/validate/membership.ts resolveSecurity).
import * as assert from "node:assert/strict";
import { validateSettings } from "../../core";
import { CONTEXT, refused, resolve } from "./helpers";
import { at } from "../helpers/elements";

describe("validation of the application certificate's user and key prefix", () => {
    it('defaults to user "app" with the whole keyspace, and keeps the values given', () => {
        assert.deepEqual([resolve({}).clientUser, resolve({}).clientKeyPrefix], ["app", ""]);
        const given = resolve({ auth: true, clientUser: "orders-api", clientKeyPrefix: "orders/" });
        assert.deepEqual([given.clientUser, given.clientKeyPrefix], ["orders-api", "orders/"]);
    });

    it("refuses root as the application's user, saying why, and the fix it suggests validates", () => {
        const { problems, message } = refused({ auth: true, clientUser: "root" });
        const problem = at(problems, 0);
        assert.deepEqual([problem.setting, problem.value], ["clientUser", "root"]);
        assert.match(
            problem.problem,
            /whoever holds the exported application certificate would administer the cluster/,
        );
        assert.match(message, /clientUser/);
        const suggested = /e\.g\. "([^"]+)"/.exec(problem.fix)?.[1];
        assert.equal(suggested, "app");
        assert.equal(resolve({ auth: true, clientUser: suggested }).clientUser, "app");
    });

    for (const name of ["", "-app", "app user", "a".repeat(65), "app;rm", "ünïcode"]) {
        it(`refuses clientUser ${JSON.stringify(name)}: it becomes a common name and one etcdctl argument`, () => {
            const problem = at(refused({ clientUser: name }).problems, 0);
            assert.deepEqual([problem.setting, problem.value], ["clientUser", name]);
            assert.match(problem.fix, /use 1-64 letters, digits, dots, underscores, @ or hyphens/);
        });
    }

    for (const prefix of ["orders /", "tab\there", "x".repeat(257), "é/"]) {
        it(`refuses clientKeyPrefix ${JSON.stringify(prefix.slice(0, 20))}: not one printable etcdctl argument`, () => {
            const problem = at(refused({ auth: true, clientKeyPrefix: prefix }).problems, 0);
            assert.deepEqual([problem.setting, problem.value], ["clientKeyPrefix", prefix]);
            assert.match(problem.fix, /write a prefix such as "orders\/", or remove it for the whole keyspace/);
        });
    }

    it("warns that a key prefix confines nobody while auth is off, and not once auth is on", () => {
        const off = validateSettings("orders", { clientKeyPrefix: "orders/" }, CONTEXT);
        assert.deepEqual(off.problems, []);
        assert.deepEqual(
            off.warnings.filter((w) => w.includes("clientKeyPrefix")),
            [
                'clientKeyPrefix "orders/" confines the application user only when auth is on: without it every client certificate reads and writes every key; set auth: true',
            ],
        );
        const on = validateSettings("orders", { auth: true, clientKeyPrefix: "orders/" }, CONTEXT);
        assert.deepEqual(
            on.warnings.filter((w) => w.includes("clientKeyPrefix")),
            [],
        );
    });
});
