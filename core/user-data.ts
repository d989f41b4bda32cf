// A member's user data: the cloud-config that installs the SSH host key the program generated,
// so every connection can pin it (a host that answers with another key is not the member) and
// an instance replaced around the same network interface keeps the identity SSH knows.

/** The member's ED25519 host key pair as OpenSSH writes it. */
export interface HostKeyPair {
    /** The private key, `-----BEGIN OPENSSH PRIVATE KEY-----` ... (secret). */
    readonly privateKeyOpenssh: string;
    /** The public key line, `ssh-ed25519 AAAA... [comment]`. */
    readonly publicKeyOpenssh: string;
}

/** The public key as one line (the tls provider ends it with a newline; known_hosts wants none). */
export function hostKeyLine(publicKeyOpenssh: string): string {
    return publicKeyOpenssh.trim();
}

/**
 * The cloud-config: the given ED25519 host key, every key the image generated deleted, and no
 * other key type generated, so sshd offers exactly the pinned key. The user data holds the
 * private key: it must stay secret wherever it goes.
 */
export function renderMemberUserData(hostKey: HostKeyPair): string {
    const publicLine = hostKeyLine(hostKey.publicKeyOpenssh);
    if (publicLine.includes("\n")) {
        throw new Error("the host public key must be one line (ssh-ed25519 AAAA...)");
    }
    const privateLines = hostKey.privateKeyOpenssh.trim().split("\n");
    return [
        "#cloud-config",
        "ssh_keys:",
        "  ed25519_private: |",
        ...privateLines.map((line) => `    ${line}`),
        // JSON's quoting is YAML's double-quoted scalar: a comment with any character stays one line.
        `  ed25519_public: ${JSON.stringify(publicLine)}`,
        "ssh_deletekeys: true",
        "ssh_genkeytypes: []",
        "",
    ].join("\n");
}
