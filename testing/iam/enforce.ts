/**
 * IAM enforcement for the stand-ins: every call a Lambda archive makes is checked against the
 * calling function's declared role policy, and every service-to-service delivery the sandbox
 * performs against the declared resource policy, and a denied call fails the way AWS fails it.
 *
 * Who is calling: each function process gets credentials of its own ({@link IamEnforcer.envFor});
 * the SigV4 `Authorization` header names the access key (`Credential=<key>/<date>/<region>/
 * <service>/aws4_request`), which maps to the function's role. Calls signed with any other key
 * (the stand-ins' own `standin` key: tests and setup code acting as the deployer) are not
 * checked, and nothing is checked until {@link IamEnforcer.load} is given a program's declared
 * IAM: tests that never load one (every test that starts the stand-ins without a program) see
 * the permissive stand-ins they always had.
 *
 * Sessions of the local STS (testing/aws/sts.ts, issue 14) are registered here
 * ({@link IamEnforcer.registerSession}): a call signed with a session's key is checked against
 * the assumed role's declared policies (`DeclaredIam.assumableRoles`) with the caller
 * `arn:aws:sts::<role account>:assumed-role/<role>/<session>`; a session of a role the program
 * never declared may do nothing. AssumeRole itself is authorized by iam/assume.ts.
 *
 * The message is AWS's, e.g. (DynamoDB) "User: arn:aws:sts::123456789012:assumed-role/<role>/
 * <function> is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:…:
 * table/<t> because no identity-based policy allows the dynamodb:PutItem action" — the wording
 * seen in AWS's answers quoted in public issues (e.g. anomalyco/sst#4469 for DynamoDB,
 * aws/serverless-application-model#3633 for SQS's lower-cased `sqs:sendmessage`,
 * aws-ia/terraform-aws-control_tower_account_factory#151 for SNS's `SNS:Publish` with
 * `AuthorizationError`). A Lambda's session name is its function name.
 */
import { createHash } from "node:crypto";
import type { AssumableRole, DeclaredIam, DeclaredRole } from "./declared";
import {
  evaluatePolicies,
  type AuthorizationRequest,
  type ConditionContext,
  type Decision,
} from "./evaluate";

/** One call to authorize: `action` as IAM names it, the resource ARN, the condition context. */
export interface IamCall {
  action: string;
  resource: string;
  context?: ConditionContext;
}

/** How a denied call is answered: the exception name, HTTP status and AWS's message. */
export interface IamDenial {
  code: string;
  status: number;
  message: string;
  /** The denied action and resource, for tests. */
  action: string;
  resource: string;
}

/**
 * A session issued by the local STS (testing/aws/sts.ts): its keys stand for the assumed role,
 * in the role's account, until `expiration`.
 */
export interface AssumedSession {
  accessKeyId: string;
  roleArn: string;
  /** The account in the role's ARN: the account a call with these keys acts in. */
  account: string;
  sessionName: string;
  /** `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`. */
  arn: string;
  expiration: Date;
}

/** One decision, recorded for tests and the sandbox log. */
export interface IamDecisionRecord {
  caller: string;
  action: string;
  resource: string;
  decision: Decision["decision"];
  statement?: string;
}

/**
 * Per service: the exception AWS answers an identity-policy denial with, its HTTP status, and how
 * the action is spelled in the message.
 */
const DENIALS: Record<string, { code: string; status: number; spell: (a: string) => string }> = {
  // awsJson services: AccessDeniedException with 400 (DynamoDB's "Common Errors" page).
  dynamodb: { code: "AccessDeniedException", status: 400, spell: (a) => a },
  secretsmanager: { code: "AccessDeniedException", status: 400, spell: (a) => a },
  codepipeline: { code: "AccessDeniedException", status: 400, spell: (a) => a },
  // Lambda (restJson): AccessDeniedException, 403 (Invoke API reference, "Errors").
  lambda: { code: "AccessDeniedException", status: 403, spell: (a) => a },
  // SNS (awsQuery): AuthorizationError, 403 (Publish API reference); the service prefix upper-cased.
  sns: { code: "AuthorizationError", status: 403, spell: (a) => a.replace(/^sns:/, "SNS:") },
  // SQS: AccessDenied, 403 (SQS "Common Errors"); the action lower-cased in the message.
  sqs: { code: "AccessDenied", status: 403, spell: (a) => a.toLowerCase() },
  kms: { code: "AccessDeniedException", status: 400, spell: (a) => a },
};

/** The credentials a function's process is given, derived from its name (stable, not secret). */
export function functionAccessKey(functionName: string): string {
  const digest = createHash("sha256").update(functionName).digest("hex").slice(0, 16);
  return `ASIALOCAL${digest.toUpperCase()}`;
}

/** The access key id that signed a request (SigV4 `Authorization` header), if any. */
export function accessKeyOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
}

/** The IAM enforcement shared by the AWS stand-ins and the DynamoDB proxy. */
export interface IamEnforcer {
  /** Whether a program's IAM is loaded (enforcement on). */
  readonly loaded: DeclaredIam | undefined;
  /** Turns enforcement on with a program's declared IAM (testing/iam/declared.ts). */
  load(iam: DeclaredIam): void;
  /** Turns it off again (the stand-ins then allow everything). */
  unload(): void;
  /**
   * The credential variables for a function's process: `AWS_ACCESS_KEY_ID` naming its role.
   * Merge them over the stand-ins' `env`.
   */
  envFor(functionName: string): Record<string, string>;
  /**
   * Authorizes calls signed with `accessKey` (all must be allowed, in order); the first denial,
   * or undefined when allowed or when the key is not a function's.
   */
  authorize(accessKey: string | undefined, calls: IamCall[]): IamDenial | undefined;
  /**
   * Authorizes a service-to-service delivery against the resource-based policy of the target
   * (`principal` = the sending service, `context` with `aws:SourceArn` / `aws:SourceAccount`).
   * Undefined when allowed or when no program is loaded.
   */
  authorizeDelivery(
    principal: { Service?: string; AWS?: string },
    call: IamCall,
  ): IamDenial | undefined;
  /**
   * Records a session the local STS issued; calls signed with its key are then checked against
   * the assumed role's declared policies (`assumableRoles`), not a function's. Kept across loads.
   */
  registerSession(session: AssumedSession): void;
  /** The session a key belongs to, if the local STS issued it. */
  sessionOf(accessKey: string | undefined): AssumedSession | undefined;
  /** Every decision taken since the last load (tests read it). */
  readonly decisions: IamDecisionRecord[];
  /** Every denial answered since the last load. */
  readonly denials: IamDenial[];
}

function callerArn(iam: DeclaredIam, role: DeclaredRole): string {
  return `arn:aws:sts::${iam.account}:assumed-role/${role.roleName}/${role.functionName}`;
}

/** The declared role of a session (undefined when the program declared no such role). */
function sessionRole(iam: DeclaredIam, session: AssumedSession): AssumableRole | undefined {
  return iam.assumableRoles?.[session.roleArn];
}

function denial(service: string, caller: string, call: IamCall, decision: Decision, kind: string) {
  const d = DENIALS[service] ?? DENIALS.dynamodb;
  const action = d.spell(call.action);
  const because =
    decision.decision === "ExplicitDeny"
      ? `with an explicit deny in a ${kind} policy`
      : `because no ${kind} policy allows the ${action} action`;
  return {
    code: d.code,
    status: d.status,
    message: `User: ${caller} is not authorized to perform: ${action} on resource: ${call.resource} ${because}`,
    action: call.action,
    resource: call.resource,
  };
}

/** A new enforcer, off until {@link IamEnforcer.load}. */
export function createIamEnforcer(): IamEnforcer {
  let iam: DeclaredIam | undefined;
  let byKey: Record<string, DeclaredRole> = {};
  const sessions: Record<string, AssumedSession> = {};
  const decisions: IamDecisionRecord[] = [];
  const denials: IamDenial[] = [];
  const deny = (d: IamDenial) => (denials.push(d), d);
  const record = (caller: string, call: IamCall, decision: Decision) =>
    decisions.push({ caller, action: call.action, resource: call.resource, ...decision });
  return {
    get loaded() {
      return iam;
    },
    decisions,
    denials,
    load(declared) {
      iam = declared;
      byKey = {};
      for (const role of Object.values(declared.roles))
        byKey[functionAccessKey(role.functionName)] = role;
      decisions.length = 0;
      denials.length = 0;
    },
    unload() {
      iam = undefined;
      byKey = {};
    },
    envFor(functionName) {
      return {
        AWS_ACCESS_KEY_ID: functionAccessKey(functionName),
        AWS_SECRET_ACCESS_KEY: "local-secret",
      };
    },
    registerSession(session) {
      sessions[session.accessKeyId] = session;
    },
    sessionOf(accessKey) {
      return accessKey === undefined ? undefined : sessions[accessKey];
    },
    authorize(accessKey, calls) {
      if (!iam || accessKey === undefined) return undefined;
      const session = sessions[accessKey];
      const role = session ? undefined : byKey[accessKey];
      if (!session && !role) return undefined;
      // A session of a role the program never declared has no permissions at all.
      const policies = session ? (sessionRole(iam, session)?.policies ?? []) : role!.policies;
      const caller = session ? session.arn : callerArn(iam, role!);
      for (const call of calls) {
        const request: AuthorizationRequest = {
          ...call,
          context: { ...baseContext(iam), ...call.context },
        };
        const decision = evaluatePolicies(policies, request);
        record(caller, call, decision);
        if (decision.decision !== "Allow")
          return deny(denial(call.action.split(":")[0], caller, call, decision, "identity-based"));
      }
      return undefined;
    },
    authorizeDelivery(principal, call) {
      if (!iam) return undefined;
      const policy = iam.resourcePolicies[call.resource];
      const caller = principal.Service ?? principal.AWS ?? "anonymous";
      const decision: Decision = policy
        ? evaluatePolicies([policy], {
            ...call,
            principal,
            context: { ...baseContext(iam), ...call.context },
          })
        : { decision: "ImplicitDeny" };
      record(caller, call, decision);
      return decision.decision === "Allow"
        ? undefined
        : deny(denial(call.action.split(":")[0], caller, call, decision, "resource-based"));
    },
  };
}

/** Global condition keys every request carries (IAM "AWS global condition context keys"). */
function baseContext(iam: DeclaredIam): ConditionContext {
  return { "aws:SecureTransport": true, "aws:RequestedRegion": iam.region };
}
