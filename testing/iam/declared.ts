/**
 * The IAM a program declared, read from its evaluation (testing/program.ts records every resource
 * with its inputs and mock ARN): each function's execution role with its inline policies, and the
 * resource-based policies that govern service-to-service deliveries (SQS queue policies, SNS
 * topic policies, Lambda permissions, KMS key policies).
 */
import type { DeclaredResource, ProgramResult } from "../program";
import type { PolicyDocument, PolicyStatement } from "./evaluate";

/** A function's execution role as declared. */
export interface DeclaredRole {
  functionName: string;
  /** The role's name (the `assumed-role/<name>/…` part of the caller's ARN). */
  roleName: string;
  roleArn: string;
  /** Its inline policies (`aws:iam/rolePolicy:RolePolicy`), parsed. */
  policies: PolicyDocument[];
}

/**
 * Any declared IAM role, by ARN: what AssumeRole checks (its trust policy, the role's
 * `assumeRolePolicy`) and what a session of it may do (its inline and attached inline policies).
 * The roles the program declares in source accounts (issue 14) are here, with their own account.
 */
export interface AssumableRole {
  roleArn: string;
  roleName: string;
  /** The account in the role's ARN (`arn:aws:iam::<account>:role/<name>`). */
  account: string;
  /** The trust policy (`assumeRolePolicy`), parsed; undefined when none was declared. */
  trust?: PolicyDocument;
  policies: PolicyDocument[];
  /** `maxSessionDuration` in seconds (IAM CreateRole: 3600 to 43200, default 3600). */
  maxSessionSeconds: number;
}

/** A DynamoDB table's key schema, for `dynamodb:LeadingKeys`. */
export interface DeclaredTable {
  arn: string;
  hashKey: string;
  /** Index name → its partition key attribute. */
  indexes: Record<string, string>;
}

/** Everything the enforcement needs from a program. */
export interface DeclaredIam {
  region: string;
  account: string;
  /** By function name. */
  roles: Record<string, DeclaredRole>;
  /** By table name. */
  tables: Record<string, DeclaredTable>;
  /** Every declared role by ARN (AssumeRole targets); absent in hand-built fixtures. */
  assumableRoles?: Record<string, AssumableRole>;
  /** Resource-based policies by the ARN of the resource they protect. */
  resourcePolicies: Record<string, PolicyDocument>;
  /** SNS topic ARN → the KMS key (ARN, id or alias) that encrypts it. */
  topicKeys: Record<string, string>;
}

function parsePolicy(where: string, policy: unknown): PolicyDocument {
  if (typeof policy === "object" && policy !== null) return policy as PolicyDocument;
  try {
    return JSON.parse(String(policy)) as PolicyDocument;
  } catch {
    throw new Error(`${where}: policy is not JSON: ${String(policy).slice(0, 80)}`);
  }
}

function byType(resources: DeclaredResource[], type: string): DeclaredResource[] {
  return resources.filter((r) => r.type === type);
}

/** Whether a RolePolicy's `role` input (name, id or ARN) names this role. */
function namesRole(value: unknown, role: DeclaredResource): boolean {
  const name = role.arn?.split("/").pop();
  return value === role.id || value === role.arn || value === name;
}

function declaredRoles(resources: DeclaredResource[]): Record<string, DeclaredRole> {
  const roles: Record<string, DeclaredRole> = {};
  const rolePolicies = byType(resources, "aws:iam/rolePolicy:RolePolicy");
  for (const fn of byType(resources, "aws:lambda/function:Function")) {
    const functionName = String(fn.inputs.name ?? fn.name);
    const role = byType(resources, "aws:iam/role:Role").find((r) => r.arn === fn.inputs.role);
    if (!role?.arn)
      throw new Error(`function ${functionName}: its role ${fn.inputs.role} is not declared`);
    roles[functionName] = {
      functionName,
      roleName: role.arn.split("/").pop() as string,
      roleArn: role.arn,
      policies: [
        ...(role.inputs.inlinePolicies ?? []).map((p: { policy?: unknown }) =>
          parsePolicy(`role ${role.name}`, p.policy),
        ),
        ...rolePolicies
          .filter((p) => namesRole(p.inputs.role, role))
          .map((p) => parsePolicy(`role policy ${p.name}`, p.inputs.policy)),
      ],
    };
  }
  return roles;
}

/** The inline policies of a declared role: `inlinePolicies` and `RolePolicy` resources. */
function policiesOf(resources: DeclaredResource[], role: DeclaredResource): PolicyDocument[] {
  return [
    ...(role.inputs.inlinePolicies ?? []).map((p: { policy?: unknown }) =>
      parsePolicy(`role ${role.name}`, p.policy),
    ),
    ...byType(resources, "aws:iam/rolePolicy:RolePolicy")
      .filter((p) => namesRole(p.inputs.role, role))
      .map((p) => parsePolicy(`role policy ${p.name}`, p.inputs.policy)),
  ];
}

/** A declared role as an {@link AssumableRole} under `arn`. */
function assumable(resources: DeclaredResource[], role: DeclaredResource, arn: string) {
  const trust = role.inputs.assumeRolePolicy;
  return {
    roleArn: arn,
    roleName: arn.split("/").pop() as string,
    account: arn.split(":")[4],
    trust: trust === undefined ? undefined : parsePolicy(`role ${role.name} trust`, trust),
    policies: policiesOf(resources, role),
    maxSessionSeconds: Number(role.inputs.maxSessionDuration ?? 3600),
  };
}

/** Every ARN the functions' `SOURCE_ROLES` name, with its account (issue 14). */
function sourceRoleArns(resources: DeclaredResource[]): Array<{ account: string; arn: string }> {
  const out: Array<{ account: string; arn: string }> = [];
  for (const fn of byType(resources, "aws:lambda/function:Function")) {
    const raw = fn.inputs.environment?.variables?.SOURCE_ROLES;
    if (typeof raw !== "string") continue;
    for (const [account, arn] of Object.entries(JSON.parse(raw) as Record<string, string>))
      if (!out.some((o) => o.arn === arn)) out.push({ account, arn });
  }
  return out;
}

/**
 * Every declared role by its ARN, with its trust policy (AssumeRole's checks). The mock engine
 * gives every role an ARN in the stand-ins' account, whatever provider declared it; a role the
 * program declares in a source account (same name in each, a policy on that account's pipelines)
 * is therefore also filed under the ARN `SOURCE_ROLES` names for it: the role of that name whose
 * policies name resources of that account.
 */
function assumableRoles(resources: DeclaredResource[]): Record<string, AssumableRole> {
  const out: Record<string, AssumableRole> = {};
  const roles = byType(resources, "aws:iam/role:Role").filter((r) => r.arn);
  for (const role of roles)
    out[role.arn as string] = assumable(resources, role, role.arn as string);
  for (const { account, arn } of sourceRoleArns(resources)) {
    const name = arn.split("/").pop();
    const candidates = roles.filter(
      (r) =>
        r.inputs.name === name && JSON.stringify(policiesOf(resources, r)).includes(`:${account}:`),
    );
    if (candidates.length === 1) out[arn] = assumable(resources, candidates[0], arn);
  }
  return out;
}

function declaredTables(resources: DeclaredResource[]): Record<string, DeclaredTable> {
  const tables: Record<string, DeclaredTable> = {};
  for (const t of byType(resources, "aws:dynamodb/table:Table")) {
    const name = t.arn?.split("/").pop() as string;
    const indexes: Record<string, string> = {};
    for (const index of (t.inputs.globalSecondaryIndexes ?? []) as Array<Record<string, string>>)
      indexes[index.name] = index.hashKey;
    tables[name] = { arn: t.arn as string, hashKey: String(t.inputs.hashKey), indexes };
  }
  return tables;
}

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` → the queue's ARN. */
export function queueArnOfUrl(url: string, region: string): string {
  const [account, name] = new URL(url, "http://x").pathname.split("/").filter(Boolean);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

/**
 * A Lambda permission (`aws:lambda/permission:Permission`) as the statement Lambda adds to the
 * function's resource policy (AddPermission: `SourceArn` → `ArnLike aws:SourceArn`,
 * `SourceAccount` → `StringEquals aws:SourceAccount`, `FunctionUrlAuthType` →
 * `StringEquals lambda:FunctionUrlAuthType`).
 */
function permissionStatement(p: DeclaredResource, functionArn: string): PolicyStatement {
  const principal = String(p.inputs.principal);
  const condition: Record<string, Record<string, string>> = {};
  if (p.inputs.sourceArn) condition.ArnLike = { "aws:SourceArn": p.inputs.sourceArn };
  if (p.inputs.sourceAccount)
    condition.StringEquals = { "aws:SourceAccount": p.inputs.sourceAccount };
  if (p.inputs.functionUrlAuthType)
    condition.StringEquals = {
      ...condition.StringEquals,
      "lambda:FunctionUrlAuthType": p.inputs.functionUrlAuthType,
    };
  return {
    Sid: String(p.inputs.statementId ?? p.name),
    Effect: "Allow",
    Principal:
      principal === "*"
        ? "*"
        : principal.endsWith(".amazonaws.com")
          ? { Service: principal }
          : { AWS: principal },
    Action: String(p.inputs.action),
    Resource: functionArn,
    ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
  };
}

function declaredResourcePolicies(
  resources: DeclaredResource[],
  region: string,
  account: string,
): Record<string, PolicyDocument> {
  const out: Record<string, PolicyDocument> = {};
  for (const q of byType(resources, "aws:sqs/queuePolicy:QueuePolicy"))
    out[queueArnOfUrl(String(q.inputs.queueUrl), region)] = parsePolicy(q.name, q.inputs.policy);
  for (const t of byType(resources, "aws:sns/topicPolicy:TopicPolicy"))
    out[String(t.inputs.arn)] = parsePolicy(t.name, t.inputs.policy);
  for (const k of byType(resources, "aws:kms/key:Key"))
    if (k.arn && k.inputs.policy) out[k.arn] = parsePolicy(k.name, k.inputs.policy);
  for (const p of byType(resources, "aws:lambda/permission:Permission")) {
    const fn = String(p.inputs.function);
    const arn = fn.startsWith("arn:") ? fn : `arn:aws:lambda:${region}:${account}:function:${fn}`;
    const doc = (out[arn] ??= { Version: "2012-10-17", Statement: [] });
    (doc.Statement as PolicyStatement[]).push(permissionStatement(p, arn));
  }
  for (const u of byType(resources, "aws:lambda/functionUrl:FunctionUrl")) {
    if (u.inputs.authorizationType !== "NONE") continue;
    const fn = String(u.inputs.functionName);
    const arn = fn.startsWith("arn:") ? fn : `arn:aws:lambda:${region}:${account}:function:${fn}`;
    const doc = (out[arn] ??= { Version: "2012-10-17", Statement: [] });
    (doc.Statement as PolicyStatement[]).push(...implicitUrlGrants(arn));
  }
  return out;
}

/** A key reference (ARN, id or alias name) → the declared key's ARN (the reference if unknown). */
function keyArnOf(resources: DeclaredResource[], ref: string): string {
  const alias = byType(resources, "aws:kms/alias:Alias").find(
    (a) => a.inputs.name === ref || a.arn === ref,
  );
  const target = alias ? String(alias.inputs.targetKeyId) : ref;
  const key = byType(resources, "aws:kms/key:Key").find((k) => k.arn === target || k.id === target);
  return key?.arn ?? ref;
}

/**
 * The statements @pulumi/aws adds to a function's policy, undeclared, when it creates a function
 * URL with `authorizationType: "NONE"` (infra/notifier.ts `IMPLICIT_URL_GRANTS`): they exist in
 * AWS, so the local world has them too.
 */
function implicitUrlGrants(functionArn: string): PolicyStatement[] {
  return [
    {
      Sid: "FunctionURLAllowPublicAccess",
      Effect: "Allow",
      Principal: "*",
      Action: "lambda:InvokeFunctionUrl",
      Resource: functionArn,
      Condition: { StringEquals: { "lambda:FunctionUrlAuthType": "NONE" } },
    },
    {
      Sid: "FunctionURLAllowInvokeAction",
      Effect: "Allow",
      Principal: "*",
      Action: "lambda:InvokeFunction",
      Resource: functionArn,
      Condition: { Bool: { "lambda:InvokedViaFunctionUrl": "true" } },
    },
  ];
}

/** Reads the declared IAM of an evaluated program. */
export function declaredIam(program: ProgramResult, region = "us-east-1"): DeclaredIam {
  const account = "123456789012";
  const topicKeys: Record<string, string> = {};
  for (const t of byType(program.resources, "aws:sns/topic:Topic"))
    if (t.arn && t.inputs.kmsMasterKeyId)
      topicKeys[t.arn] = keyArnOf(program.resources, String(t.inputs.kmsMasterKeyId));
  return {
    region,
    account,
    roles: declaredRoles(program.resources),
    tables: declaredTables(program.resources),
    assumableRoles: assumableRoles(program.resources),
    resourcePolicies: declaredResourcePolicies(program.resources, region, account),
    topicKeys,
  };
}
