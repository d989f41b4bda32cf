// The local cloud's S3: aws.s3.Bucket and the bucket's configuration resources components/etcd-backup.ts makes
// (versioning, default encryption, public access block, policy, lifecycle, Object Lock), each call made for real to
// the local cloud's moto_server (localcloud/aws/moto.ts), signed, with the real provider's ids (the bucket's name)
// and outputs. moto holds the buckets; the state keeps only what the engine got. A bucket that still holds objects
// is not deleted (BucketNotEmpty) unless forceDestroy, as on AWS; the last S3 or IAM resource deleted stops moto.
// Not emulated: encryption itself (moto records the configuration), lifecycle expiry (no clock runs it), bucket
// policies (recorded in the state only, see below) and public access blocks being enforced, ACLs, replication,
// website, logging.
import { createHash } from "node:crypto";
import { awsDiff } from "../providers/aws";
import { OldState, Properties, ResourceType } from "../providers/server";
import { forgetMetadataService, iamInUse } from "./iam";
import { expectSuccess, localMoto, motoRequest, MotoRequest, stopLocalMoto, xmlValue } from "./moto";
import { recordMode, ResourceStore } from "./state";
import { region } from "./vpc";

const BUCKET = "aws:s3/bucket:Bucket";
const VERSIONING = "aws:s3/bucketVersioning:BucketVersioning";
const ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration";

/** What the state keeps of a bucket: its name (moto holds the rest). */
const buckets = new ResourceStore<{ bucket: string }>("s3-buckets");

/** True while the state holds a bucket (moto must keep running). */
export function s3InUse(): boolean {
    return buckets.list().length > 0;
}

/** Stops moto once neither S3 nor IAM holds anything. */
export async function stopMotoIfUnused(): Promise<void> {
    if (recordMode() || s3InUse() || iamInUse()) return;
    forgetMetadataService();
    await stopLocalMoto();
}

/** One signed S3 call with the local cloud's admin key (nothing in record mode). */
async function s3(request: Omit<MotoRequest, "service">, what: string): Promise<string> {
    if (recordMode()) return "";
    const admin = await localMoto();
    return expectSuccess(await motoRequest(admin, { ...request, service: "s3" }), what).body;
}

const escapeXml = (text: string) =>
    text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** `<name>children</name>` for each defined child; nothing for an undefined value. */
function xml(name: string, ...children: (string | number | boolean | undefined)[]): string {
    const inner = children.filter((child) => child !== undefined && child !== "").join("");
    return `<${name}>${inner}</${name}>`;
}

const leaf = (name: string, value: unknown): string | undefined =>
    value === undefined || value === null || value === "" ? undefined : xml(name, escapeXml(String(value)));

/** A put S3 takes only with its body's MD5 (PutBucketLifecycleConfiguration, PutObjectLockConfiguration). */
const putWithMd5 = (query: string, body: string) => ({
    method: "PUT",
    query,
    body,
    headers: [`Content-MD5: ${createHash("md5").update(body).digest("base64")}`],
});

const object = (value: unknown): Properties => (value && typeof value === "object" ? (value as Properties) : {});
const list = (value: unknown): Properties[] => (Array.isArray(value) ? value.map(object) : []);

const diffOf = (token: string) => (olds: OldState, news: Properties) => awsDiff(token, olds, news);

/** The bucket's name: `bucket`, or (as the provider autonames) the logical name and a suffix. */
function bucketName(inputs: Properties, urn: string): string {
    if (typeof inputs.bucket === "string" && inputs.bucket) return inputs.bucket;
    const prefix = typeof inputs.bucketPrefix === "string" ? inputs.bucketPrefix : `${urn.split("::").pop()}-`;
    return `${prefix}${Date.now().toString(36)}`.toLowerCase();
}

/** Every version and delete marker of a bucket (forceDestroy empties it first). */
async function emptyBucket(name: string): Promise<void> {
    for (;;) {
        const listing = await s3({ method: "GET", target: `/${name}?versions=` }, `ListObjectVersions ${name}`);
        const entries = [...listing.matchAll(/<(?:Version|DeleteMarker)>(.*?)<\/(?:Version|DeleteMarker)>/gs)].map(
            (m) => ({ key: xmlValue(m[1] ?? "", "Key") ?? "", version: xmlValue(m[1] ?? "", "VersionId") ?? "" }),
        );
        if (entries.length === 0) return;
        for (const { key, version } of entries) {
            await s3(
                {
                    method: "DELETE",
                    target: `/${name}/${encodeURIComponent(key).replace(/%2F/g, "/")}?versionId=${encodeURIComponent(version)}`,
                    headers: ["x-amz-bypass-governance-retention: true"],
                },
                `DeleteObject ${key}`,
            );
        }
    }
}

const bucket: ResourceType = {
    defaults: { forceDestroy: false, objectLockEnabled: false },
    diff: diffOf(BUCKET),
    async create(inputs, urn) {
        const name = bucketName(inputs, urn);
        await s3(
            {
                method: "PUT",
                target: `/${name}`,
                headers: inputs.objectLockEnabled === true ? ["x-amz-bucket-object-lock-enabled: true"] : [],
            },
            `CreateBucket ${name}`,
        );
        buckets.put(name, { bucket: name });
        return {
            id: name,
            outputs: {
                ...inputs,
                bucket: name,
                arn: `arn:aws:s3:::${name}`,
                bucketDomainName: `${name}.s3.amazonaws.com`,
                bucketRegionalDomainName: `${name}.s3.${region()}.amazonaws.com`,
                region: region(),
                tags: inputs.tags ?? {},
                tagsAll: inputs.tags ?? {},
            },
        };
    },
    async update(_id, olds, news) {
        return { ...olds.outputs, ...news, tagsAll: news.tags ?? {} };
    },
    async delete(id, outputs) {
        if (outputs.forceDestroy === true) await emptyBucket(id);
        await s3({ method: "DELETE", target: `/${id}` }, `DeleteBucket ${id}`);
        buckets.remove(id);
        await stopMotoIfUnused();
    },
};

/**
 * A bucket configuration (one sub-resource of the bucket, id = the bucket's name as terraform's CreateResourceID
 * without an expected owner): put on create and update, `remove` on delete.
 */
function bucketConfiguration(
    token: string,
    put: (inputs: Properties) => Omit<MotoRequest, "service" | "target"> & { query: string },
    remove: (inputs: Properties) => (Omit<MotoRequest, "service" | "target"> & { query: string }) | undefined,
    defaults: Properties = {},
    /** Error codes a delete passes over, besides NoSuchBucket (the bucket went first), as terraform's do. */
    ignoredOnDelete: string[] = [],
): ResourceType {
    const call = async (name: string, request: ReturnType<typeof put>, what: string) => {
        const { query, ...rest } = request;
        // (A subresource with "=": the query as SigV4 canonicalises it, so curl's signature matches S3's.)
        await s3({ ...rest, target: `/${name}?${query}=` }, `${what} ${name}`);
    };
    const apply = async (inputs: Properties) => call(String(inputs.bucket), put(inputs), `Put ${token}`);
    return {
        defaults,
        diff: diffOf(token),
        async create(inputs) {
            await apply(inputs);
            return { id: String(inputs.bucket), outputs: { ...inputs } };
        },
        async update(_id, olds, news) {
            await apply(news);
            return { ...olds.outputs, ...news };
        },
        async delete(id, outputs) {
            const request = remove(outputs);
            if (!request) return;
            try {
                await call(id, request, `Delete ${token}`);
            } catch (error) {
                const code = (error as { code?: string }).code ?? "";
                if (code !== "NoSuchBucket" && !ignoredOnDelete.includes(code)) throw error;
            }
        },
    };
}

const versioningXml = (status: string, mfaDelete?: unknown) =>
    xml("VersioningConfiguration", leaf("Status", status), leaf("MfaDelete", mfaDelete));

const versioning = bucketConfiguration(
    VERSIONING,
    (inputs) => {
        const config = object(inputs.versioningConfiguration);
        return { method: "PUT", query: "versioning", body: versioningXml(String(config.status), config.mfaDelete) };
    },
    // terraform suspends versioning on delete (S3 cannot turn it off); a bucket with Object Lock keeps it.
    () => ({ method: "PUT", query: "versioning", body: versioningXml("Suspended") }),
    {},
    ["InvalidBucketState"],
);

const encryption = bucketConfiguration(
    ENCRYPTION,
    (inputs) => ({
        method: "PUT",
        query: "encryption",
        body: xml(
            "ServerSideEncryptionConfiguration",
            ...list(inputs.rules).map((rule) => {
                const byDefault = object(rule.applyServerSideEncryptionByDefault);
                return xml(
                    "Rule",
                    xml(
                        "ApplyServerSideEncryptionByDefault",
                        leaf("SSEAlgorithm", byDefault.sseAlgorithm),
                        leaf("KMSMasterKeyID", byDefault.kmsMasterKeyId),
                    ),
                    leaf("BucketKeyEnabled", rule.bucketKeyEnabled),
                );
            }),
        ),
    }),
    () => ({ method: "DELETE", query: "encryption" }),
);

const publicAccess = bucketConfiguration(
    PUBLIC_ACCESS,
    (inputs) => ({
        method: "PUT",
        query: "publicAccessBlock",
        body: xml(
            "PublicAccessBlockConfiguration",
            leaf("BlockPublicAcls", inputs.blockPublicAcls === true),
            leaf("IgnorePublicAcls", inputs.ignorePublicAcls === true),
            leaf("BlockPublicPolicy", inputs.blockPublicPolicy === true),
            leaf("RestrictPublicBuckets", inputs.restrictPublicBuckets === true),
        ),
    }),
    (inputs) => (inputs.skipDestroy === true ? undefined : { method: "DELETE", query: "publicAccessBlock" }),
    { blockPublicAcls: false, blockPublicPolicy: false, ignorePublicAcls: false, restrictPublicBuckets: false },
);

/**
 * Bucket policies are recorded, not put: moto evaluates aws:SecureTransport as false on HTTPS too, so the backups'
 * TLS-only policy would deny every request (measured: moto 5.2.1 answers 403 to the admin's upload over TLS).
 */
const policies = new ResourceStore<{ policy: string }>("s3-bucket-policies");

const policy: ResourceType = {
    defaults: {},
    diff: diffOf(POLICY),
    async create(inputs) {
        JSON.parse(String(inputs.policy)); // MalformedPolicy, as S3 refuses it
        policies.put(String(inputs.bucket), { policy: String(inputs.policy) });
        return { id: String(inputs.bucket), outputs: { ...inputs } };
    },
    async update(id, olds, news) {
        policies.put(id, { policy: String(news.policy) });
        return { ...olds.outputs, ...news };
    },
    async delete(id) {
        policies.remove(id);
    },
};

function lifecycleXml(inputs: Properties): string {
    return xml(
        "LifecycleConfiguration",
        ...list(inputs.rules).map((rule) => {
            const filter = object(rule.filter);
            const expiration = object(rule.expiration);
            const noncurrent = object(rule.noncurrentVersionExpiration);
            return xml(
                "Rule",
                leaf("ID", rule.id),
                xml("Filter", leaf("Prefix", filter.prefix ?? "")),
                leaf("Status", rule.status),
                Object.keys(expiration).length > 0
                    ? xml("Expiration", leaf("Days", expiration.days), leaf("Date", expiration.date))
                    : undefined,
                Object.keys(noncurrent).length > 0
                    ? xml("NoncurrentVersionExpiration", leaf("NoncurrentDays", noncurrent.noncurrentDays))
                    : undefined,
            );
        }),
    );
}

const lifecycle = bucketConfiguration(
    LIFECYCLE,
    (inputs) => putWithMd5("lifecycle", lifecycleXml(inputs)),
    () => ({ method: "DELETE", query: "lifecycle" }),
);

function objectLockXml(inputs: Properties, withRule: boolean): string {
    const retention = object(object(inputs.rule).defaultRetention);
    return xml(
        "ObjectLockConfiguration",
        leaf("ObjectLockEnabled", inputs.objectLockEnabled ?? "Enabled"),
        withRule && Object.keys(retention).length > 0
            ? xml(
                  "Rule",
                  xml(
                      "DefaultRetention",
                      leaf("Mode", retention.mode),
                      leaf("Days", retention.days),
                      leaf("Years", retention.years),
                  ),
              )
            : undefined,
    );
}

const objectLock = bucketConfiguration(
    OBJECT_LOCK,
    (inputs) => putWithMd5("object-lock", objectLockXml(inputs, true)),
    // terraform's delete puts the configuration back without a rule (Object Lock itself stays on).
    (inputs) => putWithMd5("object-lock", objectLockXml(inputs, false)),
    { objectLockEnabled: "Enabled" },
);

/** The S3 resource types of the local aws provider, by type token. */
export const S3_RESOURCES: Record<string, ResourceType> = {
    [BUCKET]: bucket,
    [VERSIONING]: versioning,
    [ENCRYPTION]: encryption,
    [PUBLIC_ACCESS]: publicAccess,
    [POLICY]: policy,
    [LIFECYCLE]: lifecycle,
    [OBJECT_LOCK]: objectLock,
};
