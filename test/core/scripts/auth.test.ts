// core/scripts/auth.ts: the settings the auth script is rendered with (the script itself runs in
// test/host/etcd-aws-auth.test.ts).
import * as assert from "node:assert/strict";
import { renderAuthScript } from "../../../core";
import { afterHeader, bundleSettings, shellcheck, specOf } from "../helpers";

const USERS = { rootPassword: "it's s3cret", clientUser: "orders-api", clientKeyPrefix: "orders/" };

describe("core/scripts/auth renderAuthScript", () => {
    it("is shellcheck-clean with set -euo pipefail after a header naming both users and what the application may touch", () => {
        const script = renderAuthScript(specOf({ auth: true }), USERS);
        assert.equal(
            script.split("\n")[1],
            "# Enables authentication on etcd cluster orders with user root and user orders-api (keys under orders/).",
        );
        assert.equal(afterHeader(script)[0], "set -euo pipefail");
        assert.equal(shellcheck(script), "");
        assert.match(
            renderAuthScript(specOf({ auth: true }), { ...USERS, clientKeyPrefix: "" }).split("\n")[1] ?? "",
            /user orders-api \(every key\)\.$/,
        );
    });

    it("renders the endpoints, the root password, the application user and prefix, and this member's admin certificate files", () => {
        assert.deepEqual(bundleSettings(renderAuthScript(specOf({ auth: true }), USERS)), {
            ENDPOINTS: "https://10.0.1.10:2379,https://10.0.2.10:2379,https://10.0.3.10:2379",
            ROOT_PASSWORD: "it's s3cret",
            CLIENT_USER: "orders-api",
            CLIENT_KEY_PREFIX: "orders/",
            CA_FILE: "/etc/etcd/pki/ca.crt",
            CLIENT_CERT_FILE: "/etc/etcd/pki/client.crt",
            CLIENT_KEY_FILE: "/etc/etcd/pki/client.key",
        });
    });

    it("carries the root password only in its setting, never on a command line", () => {
        const script = renderAuthScript(specOf({ auth: true }), { ...USERS, rootPassword: "Marker-7f3a9c" });
        const lines = script.split("\n").filter((line) => line.includes("Marker-7f3a9c"));
        assert.deepEqual(lines, ["ROOT_PASSWORD='Marker-7f3a9c'"]);
    });
});
