// Test helpers for the local cloud's resource types: a throwaway $LOCALCLOUD_DIR (and other variables) for one
// describe block, restored afterwards, and a served resource type looked up by its token.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ResourceType } from "../../localcloud/providers/server";

/** Sets LOCALCLOUD_DIR to a new temporary directory (and `extra`) before the block's tests; undone after. */
export function useLocalCloudDir(prefix: string, extra: Record<string, string> = {}): { dir(): string } {
    let dir: string | undefined;
    const names = ["LOCALCLOUD_DIR", ...Object.keys(extra)];
    const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
        Object.assign(process.env, { LOCALCLOUD_DIR: dir, ...extra });
    });
    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
        for (const name of names) {
            if (saved[name] === undefined) delete process.env[name];
            else process.env[name] = saved[name];
        }
    });
    return {
        dir: () => {
            assert.ok(dir, "the directory exists once the block's before hook ran");
            return dir;
        },
    };
}

/** A resource's URN in a `local` stack of the project. */
export const urnOf = (type: string, name: string) => `urn:pulumi:local::etcd-aws::${type}::${name}`;

/** The resource type `type` of a provider's resources, which must be served. */
export function servedType(resources: Record<string, ResourceType>, type: string): ResourceType {
    const found = resources[type];
    assert.ok(found, `${type} is served`);
    return found;
}
