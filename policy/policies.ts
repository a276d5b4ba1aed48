/**
 * The notifier's policies, as plain `@pulumi/policy` policy objects: `index.ts` hands them to a
 * `PolicyPack` (which starts the policy server), and the tests call their `validateResource` /
 * `validateStack` directly. Only type imports from `@pulumi/policy` here, so importing this module
 * starts nothing.
 *
 * Every violation message starts with the policy's name and the resource's logical name, so that
 * a CI log line says which rule failed where.
 */
import type {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import {
  allowedActions,
  FUNCTION_ENTRY_POINTS,
  SOURCE_ACCESS_ACTIONS,
  type NotifierFunctionName,
} from "./code-actions";
import {
  isWildcardAction,
  PolicyDocumentError,
  readStatements,
  type PolicyStatement,
} from "./documents";

/** The resource type tokens the policies read (`@pulumi/aws` v7). */
export const TYPES = {
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  iamPolicy: "aws:iam/policy:Policy",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  table: "aws:dynamodb/table:Table",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  function: "aws:lambda/function:Function",
  functionUrl: "aws:lambda/functionUrl:FunctionUrl",
  kmsKey: "aws:kms/key:Key",
  kmsAlias: "aws:kms/alias:Alias",
  kmsKeyPolicy: "aws:kms/keyPolicy:KeyPolicy",
  eventBusPolicy: "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
} as const;

/**
 * Role policies that belong to no Lambda function (issue 14), by the type of their component:
 * what each may grant. The forwarding role only puts events on the central bus (EventBridge user
 * guide, "Sending and receiving events between AWS accounts"); the source-access role only the
 * CodePipeline calls the functions send through it.
 */
const NON_FUNCTION_ROLES: Readonly<Record<string, readonly string[]>> = {
  "deploy-notifier:infra:CodePipelineForwarding": ["events:PutEvents"],
  "deploy-notifier:infra:SourceAccess": SOURCE_ACCESS_ACTIONS,
};

/**
 * The environment variable that marks a function as one that verifies Slack request signatures:
 * the approval handler reads the signing secret from the secret it names and refuses every request
 * whose `X-Slack-Signature` does not verify (handlers/approval/signature.ts). Same value as
 * `ENV.slackAppSecretArn` in handlers/types.ts (a test checks).
 */
export const SIGNATURE_SECRET_ENV = "SLACK_APP_SECRET_ARN";

function label(rule: string, type: string, name: string): string {
  return `${rule}: ${type.split(":").pop()} "${name}"`;
}

/** Policy documents a resource holds, labelled, and whether each is an identity policy. */
function documentsOf(type: string, props: Record<string, any>): Array<[string, unknown, boolean]> {
  switch (type) {
    case TYPES.rolePolicy:
    case TYPES.iamPolicy:
      return [["policy", props.policy, true]];
    case TYPES.role:
      return [
        ["assumeRolePolicy", props.assumeRolePolicy, false],
        ...((props.inlinePolicies ?? []) as Array<{ name?: string; policy?: unknown }>).map(
          (p, i): [string, unknown, boolean] => [`inlinePolicies[${p.name ?? i}]`, p.policy, true],
        ),
      ];
    case TYPES.queuePolicy:
    case TYPES.topicPolicy:
    case TYPES.eventBusPolicy:
      return [["policy", props.policy, false]];
    default:
      return [];
  }
}

/** Every problem of one statement for `iam-no-wildcard-actions`. */
function wildcardProblems(s: PolicyStatement, identity: boolean): string[] {
  const problems = s.actions
    .filter(isWildcardAction)
    .map((a) => `statement ${s.sid} allows the wildcard action "${a}"`);
  if (s.effect === "Allow" && s.notActions.length > 0) {
    problems.push(`statement ${s.sid} allows everything but NotAction ${s.notActions.join(", ")}`);
  }
  if (identity && s.effect === "Allow" && s.resources.includes("*")) {
    problems.push(`statement ${s.sid} applies to every resource ("*")`);
  }
  return problems;
}

/**
 * No `*`, `service:*` or partial wildcard action, no Allow with `NotAction`, in any IAM role, role
 * policy, managed policy, queue or topic policy; no `Resource: "*"` in identity policies. KMS key
 * policies are left out: their administrator statement is `kms:*` for the account by design.
 */
export const noWildcardActions: ResourceValidationPolicy = {
  name: "iam-no-wildcard-actions",
  description: "IAM and resource policies name every action: no `*`, `service:*` or `Get*`.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    for (const [where, doc, identity] of documentsOf(args.type, args.props)) {
      if (doc === undefined) continue;
      const prefix = `${label("iam-no-wildcard-actions", args.type, args.name)} ${where}`;
      let statements: PolicyStatement[];
      try {
        statements = readStatements(doc);
      } catch (err: unknown) {
        if (!(err instanceof PolicyDocumentError)) throw err;
        report(`${prefix}: ${err.message}`);
        continue;
      }
      for (const s of statements) {
        for (const problem of wildcardProblems(s, identity)) report(`${prefix}: ${problem}`);
      }
    }
  },
};

/** The notifier function a role policy belongs to: its parent component, else `<fn>-policy`. */
function functionOfRolePolicy(args: ResourceValidationArgs): NotifierFunctionName | undefined {
  const parent = args.opts?.parent;
  const parentName = parent?.includes("NotifierFunction") ? parent.split("::").pop() : undefined;
  const candidate = parentName ?? args.name.replace(/-policy$/, "");
  return Object.hasOwn(FUNCTION_ENTRY_POINTS, candidate)
    ? (candidate as NotifierFunctionName)
    : undefined;
}

/**
 * Each role policy of the notifier grants only actions its function's code sends (or AWS sends for
 * it): policy/code-actions.ts `CODE_ACTIONS`, which tests/policy/code-actions.test.ts checks
 * against the handlers' SDK commands. A role policy of no known function is a violation too.
 */
export const noUnusedGrants: ResourceValidationPolicy = {
  name: "iam-no-unused-grants",
  description: "Each Lambda role policy grants only the actions its code calls (CODE_ACTIONS).",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== TYPES.rolePolicy) return;
    const prefix = label("iam-no-unused-grants", args.type, args.name);
    const parentType = args.opts?.parent?.split("::")[2]?.split("$").pop() ?? "";
    const fixed = NON_FUNCTION_ROLES[parentType];
    const fn = fixed ? undefined : functionOfRolePolicy(args);
    if (!fn && !fixed) {
      report(
        `${prefix}: belongs to no notifier function (${Object.keys(FUNCTION_ENTRY_POINTS).join(", ")}), so its grants cannot be checked against code`,
      );
      return;
    }
    let statements: PolicyStatement[];
    try {
      statements = readStatements(args.props.policy);
    } catch (err: unknown) {
      if (!(err instanceof PolicyDocumentError)) throw err;
      report(`${prefix}: ${err.message}`);
      return;
    }
    const allowed = fn ? allowedActions(fn) : new Set(fixed);
    const whose = fn ? `the ${fn} function's code` : `a ${parentType.split(":").pop()} role`;
    for (const s of statements.filter((st) => st.effect === "Allow")) {
      const unused = s.actions.filter((a) => !allowed.has(a));
      if (unused.length > 0) {
        report(
          `${prefix}: statement ${s.sid} grants ${unused.join(", ")}, which ${whose} never calls (policy/code-actions.ts)`,
        );
      }
    }
  },
};

/**
 * An event bus policy that lets anyone (`*`) put events must restrict them to one organization
 * by `aws:PrincipalOrgID` (EventBridge PutPermission: Principal "*" is for an organization, with
 * its id as the condition); else any AWS account could put events on the bus.
 */
export const eventBusNotPublic: ResourceValidationPolicy = {
  name: "event-bus-not-public",
  description: "Event bus policies admit named accounts, or everyone only within an organization.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.eventBusPolicy) return;
    let doc: any = args.props.policy;
    try {
      if (typeof doc === "string") doc = JSON.parse(doc);
    } catch {
      return; // iam-no-wildcard-actions reports an unreadable document
    }
    const list = Array.isArray(doc?.Statement) ? doc.Statement : [doc?.Statement];
    list.forEach((s: any, i: number) => {
      const anyone = s?.Principal === "*" || [s?.Principal?.AWS].flat().includes("*");
      const org = Object.values(s?.Condition ?? {}).some(
        (c: any) => c && typeof c === "object" && "aws:PrincipalOrgID" in c,
      );
      if (s?.Effect === "Allow" && anyone && !org) {
        report(
          `${label("event-bus-not-public", args.type, args.name)}: statement ${s.Sid ?? `#${i}`} lets any AWS account put events (add an aws:PrincipalOrgID condition or name the accounts)`,
        );
      }
    });
  },
};

/** SQS queues are encrypted: SQS-managed SSE or a KMS key (AWS Config `sqs-queue-encrypted`). */
export const encryptedQueues: ResourceValidationPolicy = {
  name: "sqs-queue-encrypted",
  description: "SQS queues declare server-side encryption (sqsManagedSseEnabled or a KMS key).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.queue) return;
    const { sqsManagedSseEnabled, kmsMasterKeyId } = args.props;
    if (sqsManagedSseEnabled !== true && !(typeof kmsMasterKeyId === "string" && kmsMasterKeyId)) {
      report(
        `${label("sqs-queue-encrypted", args.type, args.name)}: no server-side encryption (set sqsManagedSseEnabled: true or kmsMasterKeyId)`,
      );
    }
  },
};

/** SNS topics are encrypted with a KMS key (AWS Config `sns-encrypted-kms`). */
export const encryptedTopics: ResourceValidationPolicy = {
  name: "sns-topic-encrypted",
  description: "SNS topics declare server-side encryption (kmsMasterKeyId).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.topic) return;
    const key = args.props.kmsMasterKeyId;
    if (!(typeof key === "string" && key)) {
      report(
        `${label("sns-topic-encrypted", args.type, args.name)}: no server-side encryption (set kmsMasterKeyId)`,
      );
    }
  },
};

/**
 * DynamoDB tables declare KMS encryption (`serverSideEncryption.enabled`). Taken from awsguard's
 * `dynamodb-table-encryption-enabled`, made stricter: awsguard passes a table that says nothing.
 */
export const encryptedTables: ResourceValidationPolicy = {
  name: "dynamodb-table-encryption-enabled",
  description: "DynamoDB tables declare KMS server-side encryption.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.table) return;
    if (args.props.serverSideEncryption?.enabled !== true) {
      report(
        `${label("dynamodb-table-encryption-enabled", args.type, args.name)}: serverSideEncryption.enabled is not true`,
      );
    }
  },
};

/** Log groups keep logs for a bounded time (retentionInDays; 0 or unset means forever). */
export const logRetention: ResourceValidationPolicy = {
  name: "log-group-retention",
  description: "CloudWatch log groups set retentionInDays.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.logGroup) return;
    const days = args.props.retentionInDays;
    if (!(Number.isInteger(days) && days > 0)) {
      report(
        `${label("log-group-retention", args.type, args.name)}: no retentionInDays (logs would be kept forever)`,
      );
    }
  },
};

/** Symmetric KMS keys rotate (taken from awsguard's `cmk-backing-key-rotation-enabled`). */
export const keyRotation: ResourceValidationPolicy = {
  name: "kms-key-rotation-enabled",
  description: "Customer managed KMS keys have automatic rotation on.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.kmsKey) return;
    const spec = args.props.customerMasterKeySpec ?? args.props.keySpec ?? "SYMMETRIC_DEFAULT";
    if (spec === "SYMMETRIC_DEFAULT" && args.props.enableKeyRotation !== true) {
      report(
        `${label("kms-key-rotation-enabled", args.type, args.name)}: enableKeyRotation is not true`,
      );
    }
  },
};
