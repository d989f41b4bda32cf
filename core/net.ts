// IPv4 address and CIDR parsing, enough to validate what users type and to reason about sources.

function octets(text: string): number[] | undefined {
    const parts = text.split(".");
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p))) {
        return undefined;
    }
    const values = parts.map(Number);
    return values.every((v) => v <= 255) ? values : undefined;
}

export function isIpv4(text: string): boolean {
    return octets(text) !== undefined;
}

/** An address in 127.0.0.0/8, which only the host itself reaches. */
export function isLoopback(text: string): boolean {
    return octets(text)?.[0] === 127;
}

export type CidrCheck = { ok: true } | { ok: false; reason: string };

/** A well-formed IPv4 CIDR whose host bits are zero (AWS rejects anything else). */
export function checkCidr(text: string): CidrCheck {
    const [, addressText, prefixText] = /^([^/]+)\/(\d{1,2})$/.exec(text) ?? [];
    const address = addressText === undefined ? undefined : octets(addressText);
    const prefix = Number(prefixText);
    if (!address || prefix > 32) {
        return { ok: false, reason: "is not an IPv4 CIDR like 10.0.0.0/16" };
    }
    // Four octets, most significant first: the address as an unsigned 32-bit number.
    const value = address.reduce((sum, octet) => sum * 256 + octet, 0);
    const hostMask = prefix === 32 ? 0 : (0xffffffff >>> prefix) >>> 0;
    if ((value & hostMask) !== 0) {
        const network = (value & ~hostMask) >>> 0;
        const text = [24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join(".");
        return { ok: false, reason: `has host bits set; the network is ${text}/${prefix}` };
    }
    return { ok: true };
}

/** True for a CIDR that admits the whole internet. */
export function isWorldOpen(cidr: string): boolean {
    return cidr.endsWith("/0");
}

/** A DNS name made of letters, digits and inner hyphens, at most 253 characters. */
export function isDnsName(text: string): boolean {
    if (text.length === 0 || text.length > 253 || text.endsWith(".")) {
        return false;
    }
    return text.split(".").every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label));
}
