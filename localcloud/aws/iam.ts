// The local cloud's IAM: aws.iam.Role, RolePolicy and InstanceProfile, each call made for real to the local cloud's
// moto_server (localcloud/aws/moto.ts), which checks signatures and evaluates the roles' policies on the S3 calls made
// with their credentials. Names as the provider autonames them (the logical name and a suffix) unless given; ids as
// terraform's (the role's and profile's names, `<role>:<policy>`). The first instance profile starts the IMDSv2
// stand-in (localcloud/aws/imds.ts) that gives instances their profile's role credentials; the last IAM or S3
// resource deleted stops both. Not emulated: managed policies and attachments, permission boundaries, paths other
// than "/", IAM's eventual consistency.
import * as crypto from "node:crypto";
import { awsDiff } from "../providers/aws";
import { OldState, Properties, ResourceType } from "../providers/server";
import { imdsAddress, startImds } from "./imds";
import { expectSuccess, localMoto, motoRequest, xmlValue } from "./moto";
import { registerServiceEndpoint, removeServiceEndpoint } from "./network";
import { recordMode, ResourceStore } from "./state";
import { ACCOUNT_ID } from "./vpc";
import { stopMotoIfUnused } from "./s3";

const METADATA_ENDPOINT = "imds";

/**
 * Starts the IMDS stand-in (with the first instance profile) and registers its address as a service endpoint no
 * egress rule filters, as AWS never filters an instance's traffic to its metadata service.
 */
export async function startMetadataService(): Promise<void> {
    const { host, port } = imdsAddress();
    registerServiceEndpoint({ name: METADATA_ENDPOINT, address: host, port, standsFor: "unfiltered" });
    await startImds();
}

/** Forgets the stand-in's endpoint (it stops with moto). */
export function forgetMetadataService(): void {
    removeServiceEndpoint(METADATA_ENDPOINT);
}

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile";

/** An instance profile as the state keeps it: its role (what the IMDS stand-in serves). */
export interface StoredProfile {
    role: string;
}

const roles = new ResourceStore<{ name: string }>("iam-roles");
const rolePolicies = new ResourceStore<{ role: string; name: string }>("iam-role-policies");
export const instanceProfiles = new ResourceStore<StoredProfile>("iam-instance-profiles");

/** True while the state holds an IAM resource (moto must keep running). */
export function iamInUse(): boolean {
    return [roles, rolePolicies, instanceProfiles].some((store) => store.list().length > 0);
}

/** One IAM Query API call with the local cloud's admin key; the answer's body (nothing in record mode). */
async function iam(action: string, form: Record<string, string>): Promise<string> {
    if (recordMode()) return "";
    const admin = await localMoto();
    const answer = await motoRequest(admin, {
        method: "POST",
        target: "/",
        service: "iam",
        form: { Action: action, Version: "2010-05-08", ...form },
    });
    return expectSuccess(answer, action).body;
}

/** An error code IAM's delete calls pass over (the entity went already), as terraform's deletes do. */
async function ignoringNoSuchEntity(call: Promise<unknown>): Promise<void> {
    try {
        await call;
    } catch (error) {
        if ((error as { code?: string }).code !== "NoSuchEntity") throw error;
    }
}

/** The name given, or the provider's autoname: `namePrefix` (default the logical name and "-") and 7 hex digits. */
function nameOf(inputs: Properties, urn: string): string {
    if (typeof inputs.name === "string" && inputs.name) return inputs.name;
    const prefix = typeof inputs.namePrefix === "string" ? inputs.namePrefix : `${urn.split("::").pop()}-`;
    return `${prefix}${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
}

const diffOf = (token: string) => (olds: OldState, news: Properties) => awsDiff(token, olds, news);
const iamArn = (kind: string, name: string) => `arn:aws:iam::${ACCOUNT_ID}:${kind}/${name}`;
const tagged = (inputs: Properties): Properties => ({ tags: inputs.tags ?? {}, tagsAll: inputs.tags ?? {} });

/** A new role's or profile's outputs: its name, IAM's ARN and unique id (`idPrefix` and hex without them), date. */
function createdOutputs(
    inputs: Properties,
    name: string,
    kind: string,
    body: string,
    idField: string,
    idPrefix: string,
) {
    const arn = xmlValue(body, "Arn");
    const uniqueId = xmlValue(body, idField);
    return {
        ...inputs,
        ...tagged(inputs),
        name,
        arn: arn ?? iamArn(kind, name),
        uniqueId: uniqueId ?? `${idPrefix}${crypto.randomBytes(8).toString("hex").toUpperCase()}`,
        createDate: new Date().toISOString(),
    };
}

const role: ResourceType = {
    defaults: { path: "/", forceDetachPolicies: false, maxSessionDuration: 3600 },
    diff: diffOf(ROLE),
    async create(inputs, urn) {
        const name = nameOf(inputs, urn);
        const body = await iam("CreateRole", {
            RoleName: name,
            AssumeRolePolicyDocument: String(inputs.assumeRolePolicy),
            Path: "/",
            ...(typeof inputs.description === "string" ? { Description: inputs.description } : {}),
        });
        roles.put(name, { name });
        return { id: name, outputs: createdOutputs(inputs, name, "role", body, "RoleId", "AROA") };
    },
    async update(id, olds, news) {
        if (olds.inputs.assumeRolePolicy !== news.assumeRolePolicy) {
            await iam("UpdateAssumeRolePolicy", { RoleName: id, PolicyDocument: String(news.assumeRolePolicy) });
        }
        return { ...olds.outputs, ...news, ...tagged(news) };
    },
    async delete(id) {
        await ignoringNoSuchEntity(iam("DeleteRole", { RoleName: id }));
        roles.remove(id);
        await stopMotoIfUnused();
    },
};

const rolePolicy: ResourceType = {
    defaults: {},
    diff: diffOf(ROLE_POLICY),
    async create(inputs, urn) {
        const name = nameOf(inputs, urn);
        const roleName = String(inputs.role);
        await iam("PutRolePolicy", { RoleName: roleName, PolicyName: name, PolicyDocument: String(inputs.policy) });
        const id = `${roleName}:${name}`;
        rolePolicies.put(id.replace(/:/g, "--"), { role: roleName, name });
        return { id, outputs: { ...inputs, name, role: roleName } };
    },
    async update(_id, olds, news) {
        const name = String(olds.outputs.name);
        await iam("PutRolePolicy", {
            RoleName: String(news.role),
            PolicyName: name,
            PolicyDocument: String(news.policy),
        });
        return { ...olds.outputs, ...news, name };
    },
    async delete(id, outputs) {
        await ignoringNoSuchEntity(
            iam("DeleteRolePolicy", { RoleName: String(outputs.role), PolicyName: String(outputs.name) }),
        );
        rolePolicies.remove(id.replace(/:/g, "--"));
        await stopMotoIfUnused();
    },
};

const instanceProfile: ResourceType = {
    defaults: { path: "/" },
    diff: diffOf(INSTANCE_PROFILE),
    async create(inputs, urn) {
        const name = nameOf(inputs, urn);
        const body = await iam("CreateInstanceProfile", { InstanceProfileName: name, Path: "/" });
        if (typeof inputs.role === "string" && inputs.role) {
            await iam("AddRoleToInstanceProfile", { InstanceProfileName: name, RoleName: inputs.role });
        }
        instanceProfiles.put(name, { role: typeof inputs.role === "string" ? inputs.role : "" });
        if (!recordMode()) await startMetadataService();
        return {
            id: name,
            outputs: createdOutputs(inputs, name, "instance-profile", body, "InstanceProfileId", "AIPA"),
        };
    },
    async update(id, olds, news) {
        if (olds.inputs.role !== news.role) {
            if (typeof olds.inputs.role === "string" && olds.inputs.role) {
                await ignoringNoSuchEntity(
                    iam("RemoveRoleFromInstanceProfile", { InstanceProfileName: id, RoleName: olds.inputs.role }),
                );
            }
            if (typeof news.role === "string" && news.role) {
                await iam("AddRoleToInstanceProfile", { InstanceProfileName: id, RoleName: news.role });
            }
            instanceProfiles.put(id, { role: typeof news.role === "string" ? news.role : "" });
        }
        return { ...olds.outputs, ...news, ...tagged(news) };
    },
    async delete(id, outputs) {
        if (typeof outputs.role === "string" && outputs.role) {
            await ignoringNoSuchEntity(
                iam("RemoveRoleFromInstanceProfile", { InstanceProfileName: id, RoleName: outputs.role }),
            );
        }
        await ignoringNoSuchEntity(iam("DeleteInstanceProfile", { InstanceProfileName: id }));
        instanceProfiles.remove(id);
        await stopMotoIfUnused();
    },
};

/** The IAM resource types of the local aws provider, by type token. */
export const IAM_RESOURCES: Record<string, ResourceType> = {
    [ROLE]: role,
    [ROLE_POLICY]: rolePolicy,
    [INSTANCE_PROFILE]: instanceProfile,
};
