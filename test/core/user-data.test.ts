import * as assert from "node:assert/strict";
import { load } from "js-yaml";
import { hostKeyLine, renderMemberUserData } from "../../core/user-data";

const KEY = {
    privateKeyOpenssh:
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n",
    publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOfrglhIhHHcKEPAt5L/OVgs2OVTiXnFCMwg29q23RHx member: #1\n",
};

describe("core/user-data (the member's cloud-config)", () => {
    it("installs exactly the given ED25519 host key: the image's keys deleted, no other type generated", () => {
        const text = renderMemberUserData(KEY);
        assert.ok(text.startsWith("#cloud-config\n"));
        assert.deepEqual(load(text), {
            ssh_keys: { ed25519_private: KEY.privateKeyOpenssh, ed25519_public: hostKeyLine(KEY.publicKeyOpenssh) },
            ssh_deletekeys: true,
            ssh_genkeytypes: [],
        });
    });

    it("pins the public key as one line without the tls provider's newline", () => {
        assert.equal(hostKeyLine(KEY.publicKeyOpenssh), KEY.publicKeyOpenssh.trimEnd());
        assert.throws(
            () => renderMemberUserData({ ...KEY, publicKeyOpenssh: "ssh-ed25519 A\nssh-ed25519 B" }),
            /one line/,
        );
    });
});
