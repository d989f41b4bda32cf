import * as assert from "node:assert/strict";
import { EXAMPLE_HOST_KEY_LINE, openSshPublicKeyProblem } from "../../core/validate/ssh-keys";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNCbJQUsmuK6WdW1RyQ3PPsWJ54NKItPJX+S+Q5JDDc";
/** A real ECDSA P-256 key line (ssh-keygen -t ecdsa). */
const ECDSA =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDIBG2LZJJONxd8++huAoW6V6gJswqQFMzrqxYHpd58RLof0bdYx4QVZmGpGZQv/XjbmLm4Yv7135zTf1BSxDdA=";

describe("core/validate/ssh-keys (a host key given as a setting)", () => {
    it("accepts OpenSSH public key lines, with or without a comment, and the example its messages give", () => {
        for (const line of [ED25519, `${ED25519} bastion`, `${ED25519}\n`, ECDSA, EXAMPLE_HOST_KEY_LINE]) {
            assert.equal(openSshPublicKeyProblem(line), undefined, line);
        }
    });

    it("says why a line is not one: known_hosts form, no type, no base64, another type inside, cut short, two lines", () => {
        const cases: [string, RegExp][] = [
            [`bastion.example.com ${ED25519}`, /drop the host name/],
            ["AAAAC3NzaC1lZDI1NTE5", /does not start with a key type/],
            ["-----BEGIN OPENSSH PRIVATE KEY-----", /does not start with a key type/],
            ["ssh-ed25519", /no base64 key/],
            ["ssh-ed25519 not*base64", /no base64 key/],
            [`ssh-rsa ${ED25519.split(" ")[1]}`, /encoded type is not ssh-rsa/],
            [ED25519.slice(0, -8), /wrong length|cut short/],
            [`${ED25519}\n${ED25519}`, /more than one line/],
        ];
        for (const [line, why] of cases) {
            assert.match(openSshPublicKeyProblem(line) ?? "(accepted)", why, line);
        }
    });
});
