// Where the local cloud keeps its state: `$LOCALCLOUD_DIR` (default <checkout>/.localcloud, git-ignored), one JSON
// file per resource under a folder per kind, so that a later provider process (the next `pulumi up`, a destroy)
// finds what an earlier one made.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** The checkout's root (this file is <root>/localcloud/aws/state.ts). */
const ROOT = path.resolve(__dirname, "..", "..");

/** The local cloud's state directory. */
export function localcloudDir(): string {
    return process.env.LOCALCLOUD_DIR ?? path.join(ROOT, ".localcloud");
}

/** Record mode (LOCALCLOUD_RECORD=1): the same ids and outputs, nothing started, nothing enforced. */
export function recordMode(): boolean {
    return process.env.LOCALCLOUD_RECORD === "1";
}

/** An AWS-style id: `prefix` and `length` random lowercase hex digits (sg-0123456789abcdef0 has 17). */
export function newId(prefix: string, length = 17): string {
    return `${prefix}${crypto
        .randomBytes(Math.ceil(length / 2))
        .toString("hex")
        .slice(0, length)}`;
}

/** The resources of one kind, each `<dir>/<kind>/<id>.json`. */
export class ResourceStore<T> {
    constructor(readonly kind: string) {}

    get dir(): string {
        return path.join(localcloudDir(), this.kind);
    }

    put(id: string, value: T): void {
        fs.mkdirSync(this.dir, { recursive: true });
        // Written beside and renamed: a reader never sees half a file.
        const file = path.join(this.dir, `${id}.json`);
        fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
        fs.renameSync(`${file}.tmp`, file);
    }

    get(id: string): T | undefined {
        try {
            return JSON.parse(fs.readFileSync(path.join(this.dir, `${id}.json`), "utf8")) as T;
        } catch {
            return undefined;
        }
    }

    remove(id: string): void {
        fs.rmSync(path.join(this.dir, `${id}.json`), { force: true });
    }

    /** Every resource of the kind, by id, in id order. */
    list(): [id: string, value: T][] {
        if (!fs.existsSync(this.dir)) return [];
        return fs
            .readdirSync(this.dir)
            .filter((file) => file.endsWith(".json"))
            .sort()
            .flatMap((file): [string, T][] => {
                const id = file.slice(0, -".json".length);
                const value = this.get(id);
                return value === undefined ? [] : [[id, value]];
            });
    }
}
