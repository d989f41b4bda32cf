// SSH public keys given as settings (the bastion's host key): one OpenSSH public key line, the
// form ssh's known_hosts and the command provider's hostKey take, checked down to its blob so a
// truncated or mistyped paste is refused here instead of failing the first connection.

/** Key types sshd offers as host keys. */
const HOST_KEY_TYPES = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
] as const;

/** A valid line, for the fix of a message (the example validates itself). */
export const EXAMPLE_HOST_KEY_LINE =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOfrglhIhHHcKEPAt5L/OVgs2OVTiXnFCMwg29q23RHx bastion.example.com";

/** Why `line` is not an OpenSSH public key line (`<type> <base64 blob> [comment]`), or undefined. */
export function openSshPublicKeyProblem(line: string): string | undefined {
    const trimmed = line.trim();
    if (trimmed.includes("\n")) {
        return "is more than one line; give the one line of the host key";
    }
    const [first, second, third] = trimmed.split(/\s+/);
    if (first !== undefined && second !== undefined && isHostKeyType(second) && third !== undefined) {
        return `starts with "${first}" before the key type, as known_hosts and ssh-keyscan lines do; drop the host name`;
    }
    if (first === undefined || !isHostKeyType(first)) {
        return `does not start with a key type (${HOST_KEY_TYPES.join(", ")})`;
    }
    if (second === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(second)) {
        return "has no base64 key after its type";
    }
    const blob = Buffer.from(second, "base64");
    const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    const blobType = typeLength >= 0 ? blob.subarray(4, 4 + typeLength).toString("latin1") : "";
    if (blobType !== first) {
        return `holds a key whose encoded type is not ${first} (cut short or mistyped)`;
    }
    if (first === "ssh-ed25519" && blob.length !== 4 + typeLength + 4 + 32) {
        return "holds an ED25519 key of the wrong length (cut short or mistyped)";
    }
    return undefined;
}

function isHostKeyType(word: string): boolean {
    return (HOST_KEY_TYPES as readonly string[]).includes(word);
}
