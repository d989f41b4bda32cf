// Local stand-in for the `random` provider (@pulumi/random 4.21.x, a bridge of hashicorp/terraform-provider-random):
// RandomPassword, RandomBytes and RandomId with the real outputs. Which outputs are secret is the SDK's business
// (additionalSecretOutputs: RandomPassword result/bcryptHash, RandomBytes base64/hex; RandomId none).
import * as crypto from "node:crypto";
import bcrypt from "bcryptjs";
import { diffByTable, DiffRule, Properties, ProviderSpec, ResourceType, serveProvider } from "./server";
import { providerVersion } from "../plugins";

const UPSTREAM = "hashicorp/terraform-provider-random v3.9.0 internal/provider";

/** Every input of random_password / random_string carries RequiresReplace (keepers: ...IfValuesNotNull). */
export const PASSWORD_DIFF: DiffRule[] = [
    "keepers",
    "length",
    "special",
    "upper",
    "lower",
    "number",
    "numeric",
    "minNumeric",
    "minUpper",
    "minLower",
    "minSpecial",
    "overrideSpecial",
].map((property) => ({ property, change: "replace", source: `${UPSTREAM}/resource_password.go` }));

/** random_bytes: keepers and length are RequiresReplace. */
export const BYTES_DIFF: DiffRule[] = ["keepers", "length"].map((property) => ({
    property,
    change: "replace",
    source: `${UPSTREAM}/resource_bytes.go`,
}));

/** random_id: keepers, byte_length and prefix are RequiresReplace. */
export const ID_DIFF: DiffRule[] = ["keepers", "byteLength", "prefix"].map((property) => ({
    property,
    change: "replace",
    source: `${UPSTREAM}/resource_id.go`,
}));

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const NUMERIC = "0123456789";
/** internal/random/string.go's special characters when overrideSpecial is empty. */
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

function pick(characters: string, count: number): string[] {
    const set = [...characters];
    if (count > 0 && set.length === 0) throw new Error("the character set specified is empty");
    // randomInt(n) is below n, so every index is in the set.
    return Array.from({ length: count }, () => set[crypto.randomInt(set.length)]!);
}

/**
 * internal/random/string.go's CreateString: the minimum counts of each class first, the rest from the union of
 * the enabled classes, then shuffled.
 */
export function randomString(inputs: Properties): string {
    const special = (inputs.overrideSpecial as string | undefined) || SPECIAL;
    const numeric = inputs.numeric !== false && inputs.number !== false;
    const union =
        (inputs.upper !== false ? UPPER : "") +
        (inputs.lower !== false ? LOWER : "") +
        (numeric ? NUMERIC : "") +
        (inputs.special !== false ? special : "");
    if (union === "") throw new Error("the character set specified is empty");
    const minimums = [
        pick(NUMERIC, Number(inputs.minNumeric ?? 0)),
        pick(LOWER, Number(inputs.minLower ?? 0)),
        pick(UPPER, Number(inputs.minUpper ?? 0)),
        pick(special, Number(inputs.minSpecial ?? 0)),
    ].flat();
    const characters = [...minimums, ...pick(union, Number(inputs.length) - minimums.length)];
    for (let i = characters.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        // 0 <= j <= i < length: both are indexes of characters.
        [characters[i], characters[j]] = [characters[j]!, characters[i]!];
    }
    return characters.join("");
}

/** RandomPassword: the result and its bcrypt hash (cost 10, bcrypt.DefaultCost as upstream); id "none". */
export const randomPassword: ResourceType = {
    defaults: {
        special: true,
        upper: true,
        lower: true,
        number: true,
        numeric: true,
        minNumeric: 0,
        minUpper: 0,
        minLower: 0,
        minSpecial: 0,
    },
    diff: (olds, news) => diffByTable(PASSWORD_DIFF, olds.inputs, news),
    create: async (inputs) => {
        const result = randomString(inputs);
        return { id: "none", outputs: { ...inputs, result, bcryptHash: bcrypt.hashSync(result, 10) } };
    },
};

/** RandomBytes: `length` bytes as base64 and hex. */
export const randomBytes: ResourceType = {
    diff: (olds, news) => diffByTable(BYTES_DIFF, olds.inputs, news),
    create: async (inputs) => {
        const bytes = crypto.randomBytes(Number(inputs.length));
        return {
            id: crypto.randomBytes(8).toString("hex"),
            outputs: { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") },
        };
    },
};

/** RandomId: `byteLength` bytes as unpadded base64url (the id), base64, hex and decimal, each after `prefix`. */
export const randomId: ResourceType = {
    diff: (olds, news) => diffByTable(ID_DIFF, olds.inputs, news),
    create: async (inputs) => {
        const bytes = crypto.randomBytes(Number(inputs.byteLength));
        const prefix = (inputs.prefix as string | undefined) ?? "";
        const id = bytes.toString("base64url");
        const decimal = bytes.length ? BigInt(`0x${bytes.toString("hex")}`).toString() : "0";
        return {
            id,
            outputs: {
                ...inputs,
                b64Url: prefix + id,
                b64Std: prefix + bytes.toString("base64"),
                hex: prefix + bytes.toString("hex"),
                dec: prefix + decimal,
            },
        };
    },
};

/** The local random provider. */
export const RANDOM_PROVIDER: ProviderSpec = {
    name: "random",
    version: providerVersion("random"),
    resources: {
        "random:index/randomPassword:RandomPassword": randomPassword,
        "random:index/randomBytes:RandomBytes": randomBytes,
        "random:index/randomId:RandomId": randomId,
    },
};

if (require.main === module) serveProvider(RANDOM_PROVIDER);
