/**
 * What the local STS checks before it lets a caller assume a role (IAM user guide, "Granting a
 * user permissions to switch roles" and "Cross-account policy evaluation logic"): the role must
 * exist, its trust policy must admit the caller, and — across accounts, or whenever the trust
 * policy names the caller's account rather than the caller's role — the caller's own
 * identity-based policy must allow `sts:AssumeRole` on the role's ARN. An explicit deny anywhere
 * wins. AWS answers every refusal alike, so a missing role cannot be told from a refused one:
 * `AccessDenied` (HTTP 403) "User: <caller> is not authorized to perform: sts:AssumeRole on
 * resource: <role ARN>" (STS API reference, API_AssumeRole.html "Errors" and "Common Errors").
 */
import type { DeclaredIam, DeclaredRole } from "./declared";
import { functionAccessKey, type IamDenial, type IamEnforcer } from "./enforce";
import { evaluatePolicies, type PolicyDocument, type PolicyStatement } from "./evaluate";

/** Who is calling AssumeRole, as IAM sees it. */
export interface AssumeCaller {
  /** The caller's role (`arn:aws:iam::<account>:role/<name>`). */
  roleArn: string;
  /** The caller's session ARN (`arn:aws:sts::<account>:assumed-role/<name>/<session>`). */
  arn: string;
  /** Its identity-based policies. */
  policies: PolicyDocument[];
}

/** The function whose credentials signed the call, if any. */
function functionRoleOf(iam: DeclaredIam, accessKey: string): DeclaredRole | undefined {
  return Object.values(iam.roles).find((r) => functionAccessKey(r.functionName) === accessKey);
}

/**
 * The caller behind `accessKey`: a function's role, or a session the local STS issued (role
 * chaining); undefined for any other key (the deployer's `standin` key: not checked).
 */
export function assumeCallerOf(
  enforcer: IamEnforcer,
  accessKey: string | undefined,
): AssumeCaller | undefined {
  const iam = enforcer.loaded;
  if (!iam || accessKey === undefined) return undefined;
  const session = enforcer.sessionOf(accessKey);
  if (session) {
    const role = iam.assumableRoles?.[session.roleArn];
    return { roleArn: session.roleArn, arn: session.arn, policies: role?.policies ?? [] };
  }
  const role = functionRoleOf(iam, accessKey);
  if (!role) return undefined;
  return {
    roleArn: role.roleArn,
    arn: `arn:aws:sts::${iam.account}:assumed-role/${role.roleName}/${role.functionName}`,
    policies: role.policies,
  };
}

/** Whether a trust statement names exactly this role as its AWS principal. */
function namesRoleExactly(trust: PolicyDocument, roleArn: string): boolean {
  const statements = ([] as PolicyStatement[]).concat(trust.Statement as PolicyStatement[]);
  return statements.some((s) => {
    const p = s.Principal;
    if (typeof p !== "object" || p === null) return false;
    const aws = (p as { AWS?: string | string[] }).AWS;
    return ([] as string[]).concat(aws ?? []).includes(roleArn);
  });
}

/**
 * Authorizes `sts:AssumeRole` of `roleArn` by the caller signed with `accessKey`; the denial (also
 * recorded in `enforcer.denials`), or undefined when allowed or not checked (no program loaded,
 * or a key that is no function's and no session's).
 */
export function authorizeAssumeRole(
  enforcer: IamEnforcer,
  accessKey: string | undefined,
  roleArn: string,
): IamDenial | undefined {
  const iam = enforcer.loaded;
  const caller = assumeCallerOf(enforcer, accessKey);
  if (!iam || !caller) return undefined;
  const call = { action: "sts:AssumeRole", resource: roleArn };
  const target = iam.assumableRoles?.[roleArn];
  const identity = evaluatePolicies(caller.policies, call);
  const trust = target?.trust
    ? evaluatePolicies([target.trust], { ...call, principal: { AWS: caller.roleArn } })
    : ({ decision: "ImplicitDeny" } as const);
  const sameAccount = target !== undefined && target.account === caller.roleArn.split(":")[4];
  // Same account, trust naming the caller's role itself: the trust policy alone grants it.
  const trustAlone = sameAccount && target?.trust && namesRoleExactly(target.trust, caller.roleArn);
  const allowed =
    target !== undefined &&
    trust.decision === "Allow" &&
    identity.decision !== "ExplicitDeny" &&
    (identity.decision === "Allow" || Boolean(trustAlone));
  enforcer.decisions.push({
    caller: caller.arn,
    ...call,
    decision: allowed
      ? "Allow"
      : identity.decision === "Allow"
        ? trust.decision
        : identity.decision,
  });
  if (allowed) return undefined;
  const why = !target
    ? "(no such role)"
    : trust.decision !== "Allow"
      ? "because the role's trust policy does not admit the caller"
      : "because no identity-based policy allows the sts:AssumeRole action";
  const denial: IamDenial = {
    code: "AccessDenied",
    status: 403,
    message: `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    ...call,
  };
  // AWS says no more than that; the reason is for the local log and tests only.
  enforcer.denials.push({ ...denial, message: `${denial.message} ${why}` });
  return denial;
}
