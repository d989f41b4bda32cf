// host/etcd-aws-auth.sh as rendered (core's renderAuthScript), against a stand-in etcdctl that
// keeps users, roles and permissions the way etcd does and answers `-w json` as etcdctl does
// (keys base64, `--from-key ''` stored as ["\0", "\0"]), so a second run meets the first one's
// state. Real etcd: test/real/tls.test.ts.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { AuthUsers, renderAuthScript } from "../../core";
import { runBash, specOf, tempDir } from "../core/helpers";

/** The stand-in: every call appended to $FAKE_LOG, the auth state in $FAKE_STATE (JSON). */
const STAND_IN_ETCDCTL = String.raw`#!/usr/bin/env -S python3 -S
import base64, json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
path = os.environ["FAKE_STATE"]
state = json.load(open(path)) if os.path.exists(path) else {"roles": {}, "users": {}, "auth": False}
words, flags, it, rest = [], set(), iter(args), False
for arg in it:
    if rest or not arg.startswith("-"):
        words.append(arg)
    elif arg == "--":
        rest = True
    elif arg in ("--endpoints", "-w"):
        flags.add(arg + "=" + next(it))
    else:
        flags.add(arg.split("=")[0])
as_json = "-w=json" in flags

def fail(message):
    sys.stderr.write("Error: etcdserver: " + message + "\n")
    sys.exit(1)

def save():
    json.dump(state, open(path, "w"), indent=1, sort_keys=True)

def prefix_end(key):
    end = bytearray(key)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return b"\0"
    end[-1] += 1
    return bytes(end)

def perm_range(key, end):
    raw = key.encode() or b"\0"
    if "--prefix" in flags:
        return raw, prefix_end(key.encode())
    if "--from-key" in flags:
        return raw, b"\0"
    return raw, (end or "").encode()

b64 = lambda raw: base64.b64encode(raw).decode()
TYPES = {"read": 0, "write": 1, "readwrite": 2}
noun, verb, name = (words + ["", "", ""])[:3]
if noun == "role":
    if verb == "add":
        state["roles"][name] = []
    elif name not in state["roles"]:
        fail("role name not found")
    elif verb == "get":
        perms = [dict({"key": p["key"], "range_end": p["range_end"]}, **({"permType": p["type"]} if p["type"] else {})) for p in state["roles"][name]]
        print(json.dumps(dict({"header": {"revision": 1}}, **({"perm": perms} if perms else {}))) if as_json else "Role " + name)
    elif verb == "grant-permission":
        key, end = perm_range(words[4], words[5] if len(words) > 5 else "")
        kept = [p for p in state["roles"][name] if (p["key"], p["range_end"]) != (b64(key), b64(end))]
        state["roles"][name] = kept + [{"type": TYPES[words[3]], "key": b64(key), "range_end": b64(end)}]
    elif verb == "revoke-permission":
        key, end = perm_range(words[3], words[4] if len(words) > 4 else "")
        kept = [p for p in state["roles"][name] if (p["key"], p["range_end"]) != (b64(key), b64(end))]
        if len(kept) == len(state["roles"][name]):
            fail("permission is not granted to the role")
        state["roles"][name] = kept
elif noun == "user":
    if verb == "add":
        if name in state["users"]:
            fail("user name already exists")
        password = None if "--no-password" in flags else sys.stdin.read()
        state["users"][name] = {"roles": [], "password": password}
    elif name not in state["users"]:
        fail("user name not found")
    elif verb == "get":
        roles = state["users"][name]["roles"]
        print(json.dumps(dict({"header": {"revision": 1}, "user": name}, **({"roles": roles} if roles else {}))) if as_json else "User: " + name)
    elif verb == "passwd":
        state["users"][name]["password"] = sys.stdin.read()
    elif verb == "grant-role":
        if words[3] not in state["roles"]:
            fail("role name not found")
        state["users"][name]["roles"] = sorted(set(state["users"][name]["roles"]) | {words[3]})
elif noun == "auth" and verb == "enable":
    if "root" not in state["users"] or "root" not in state["users"]["root"]["roles"]:
        fail("root user does not have root role")
    state["auth"] = True
else:
    fail("unexpected call " + " ".join(args))
save()
`;

interface Permission {
    readonly type: number;
    readonly key: string;
    readonly range_end: string;
}

interface AuthState {
    roles: Record<string, Permission[]>;
    users: Record<string, { roles: string[]; password: string | null }>;
    auth: boolean;
}

/** A stand-in cluster: its bin directory, state file and call log. */
function standInCluster(state?: AuthState): { bin: string; stateFile: string; log: string } {
    const dir = tempDir("auth");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "etcdctl"), STAND_IN_ETCDCTL, { mode: 0o755 });
    const stateFile = path.join(dir, "state.json");
    if (state) {
        fs.writeFileSync(stateFile, JSON.stringify(state));
    }
    return { bin, stateFile, log: path.join(dir, "calls.log") };
}

const b64 = (text: string): string => Buffer.from(text, "latin1").toString("base64");
const EVERY_KEY: Permission = { type: 2, key: b64("\0"), range_end: b64("\0") };
const ORDERS: Permission = { type: 2, key: b64("orders/"), range_end: b64("orders0") };
const USERS: AuthUsers = { rootPassword: "it's s3cret", clientUser: "app", clientKeyPrefix: "" };

/** Runs the rendered auth script against the stand-in; returns its result, the calls (verbs only) and the state after. */
function runAuth(cluster: ReturnType<typeof standInCluster>, users: AuthUsers = USERS) {
    fs.writeFileSync(cluster.log, "");
    const result = runBash(
        renderAuthScript(specOf({ auth: true }), users),
        { FAKE_LOG: cluster.log, FAKE_STATE: cluster.stateFile },
        cluster.bin,
    );
    const calls = fs
        .readFileSync(cluster.log, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => line.replace(/^--endpoints \S+ --command-timeout=10s /, ""));
    const state = fs.existsSync(cluster.stateFile)
        ? (JSON.parse(fs.readFileSync(cluster.stateFile, "utf8")) as AuthState)
        : undefined;
    return { ...result, calls, state };
}

/** The state a first run leaves: root with its role and password, app without a password with its role. */
function firstRunState(permissions: Permission[] = [EVERY_KEY]): AuthState {
    return {
        roles: { root: [], app: permissions },
        users: { root: { roles: ["root"], password: "it's s3cret\n" }, app: { roles: ["app"], password: null } },
        auth: true,
    };
}

describe("host/etcd-aws-auth.sh (rendered) against a stand-in etcdctl that keeps etcd's auth state", () => {
    it("first run: root with its role and the password from stdin; app without a password, its role read-write on every key; then auth enable", () => {
        const cluster = standInCluster();
        const { status, stderr, calls, state } = runAuth(cluster);
        assert.equal(status, 0, stderr);
        assert.deepEqual(state, firstRunState());
        assert.deepEqual(calls, [
            "role get root",
            "role add root",
            "user get root",
            "user add root --interactive=false",
            "user get root -w json",
            "user grant-role root root",
            "role get app",
            "role add app",
            "role get app -w json",
            "role grant-permission --from-key -- app readwrite ",
            "user get app",
            "user add app --no-password",
            "user get app -w json",
            "user grant-role app app",
            "auth enable",
        ]);
        assert.ok(!calls.some((call) => call.includes("s3cret")), "the password is never an argument");
        assert.match(stderr, /etcd-auth: role app may read and write every key/);
        assert.match(stderr, /etcd-auth: authentication is enabled/);
    });

    it("again: only reads, sets the root password again and enables auth; the state stays as it was", () => {
        const cluster = standInCluster(firstRunState());
        const { status, stderr, calls, state } = runAuth(cluster, { ...USERS, rootPassword: "rotated" });
        assert.equal(status, 0, stderr);
        assert.deepEqual(state, {
            ...firstRunState(),
            users: { ...firstRunState().users, root: { roles: ["root"], password: "rotated\n" } },
        });
        assert.deepEqual(calls, [
            "role get root",
            "user get root",
            "user passwd root --interactive=false",
            "user get root -w json",
            "role get app",
            "role get app -w json",
            "user get app",
            "user get app -w json",
            "auth enable",
        ]);
    });

    it("a new prefix: revokes every key and grants the keys under the prefix, read from etcdctl's base64 JSON", () => {
        const cluster = standInCluster(firstRunState());
        const { status, stderr, calls, state } = runAuth(cluster, { ...USERS, clientKeyPrefix: "orders/" });
        assert.equal(status, 0, stderr);
        assert.deepEqual(state?.roles.app, [ORDERS]);
        assert.deepEqual(
            calls.filter((call) => call.includes("permission")),
            ["role revoke-permission --from-key -- app ", "role grant-permission --prefix -- app readwrite orders/"],
        );
        assert.match(stderr, /role app may read and write the keys under orders\//);
        assert.equal(
            runAuth(cluster, { ...USERS, clientKeyPrefix: "orders/" }).calls.filter((c) => c.includes("permission"))
                .length,
            0,
        );
    });

    it("permissions added to the package's role by hand are revoked, and a read-only grant of the prefix becomes read-write", () => {
        const handMade: Permission[] = [
            { type: 0, key: b64("orders/"), range_end: b64("orders0") },
            { type: 1, key: b64("audit"), range_end: "" },
            { type: 2, key: b64("a"), range_end: b64("m") },
        ];
        const cluster = standInCluster(firstRunState(handMade));
        const { status, stderr, calls, state } = runAuth(cluster, { ...USERS, clientKeyPrefix: "orders/" });
        assert.equal(status, 0, stderr);
        assert.deepEqual(state?.roles.app, [ORDERS]);
        assert.deepEqual(
            calls.filter((call) => call.includes("permission")),
            [
                "role revoke-permission --prefix -- app orders/",
                "role revoke-permission -- app audit",
                "role revoke-permission -- app a m",
                "role grant-permission --prefix -- app readwrite orders/",
            ],
        );
    });

    it("a configured user other than app gets its own role of the same name; the app user of a former setting is left alone", () => {
        const cluster = standInCluster(firstRunState());
        const { status, stderr, state } = runAuth(cluster, { ...USERS, clientUser: "orders-api" });
        assert.equal(status, 0, stderr);
        assert.deepEqual(state?.users["orders-api"], { roles: ["orders-api"], password: null });
        assert.deepEqual(state?.roles["orders-api"], [EVERY_KEY]);
        assert.deepEqual(state?.users.app, firstRunState().users.app);
    });

    it("stops before enabling auth when the role holds a permission etcdctl cannot be given (a non-printable key)", () => {
        const cluster = standInCluster(firstRunState([{ type: 2, key: b64("bad\u0001key"), range_end: "" }]));
        const { status, stderr, calls, state } = runAuth(cluster);
        assert.notEqual(status, 0);
        assert.match(
            stderr,
            /etcd_json role-changes: unexpected answer: ValueError\("a permission key etcdctl cannot be given/,
        );
        assert.ok(!calls.includes("auth enable"));
        assert.deepEqual(state?.roles.app, [{ type: 2, key: b64("bad\u0001key"), range_end: "" }]);
    });
});
