/**
 * The IAM actions each of the notifier's Lambda functions needs: the one list that the policy pack
 * (`iam-no-unused-grants`) holds every role policy to, and that tests/policy/code-actions.test.ts
 * checks against the AWS SDK commands the handlers' code actually sends.
 *
 * Why a table and not a scan at deploy time: a module-level import scan over-approximates (the
 * fan-out imports `handlers/store/approvals.ts` through `store/decision-reads.ts`, which would make the
 * approval's `DeleteCommand` look like a fan-out call), and the pack must give the same answer in
 * a user's CI without reading our sources. So the table says, per function, which code sends each
 * action, and the test proves both directions: every action's command is reachable from the
 * function's entry point, and every reachable command is either in the table or listed in
 * {@link REACHABLE_NOT_CALLED} with the reason.
 *
 * Plain data, no imports: infra/ may import it to build the statements from the same list.
 */

/** Who needs an action: a handler module's SDK call, or AWS acting with the function's role. */
export interface ActionUse {
  /** IAM action, `service:Action` as in the Service Authorization Reference. */
  action: string;
  /** The SDK command that the code sends (`undefined` when AWS acts for the function). */
  command?: string;
  /** Where the call is, or which AWS feature uses the role, and why. */
  usedBy: string;
}

/** The handlers' entry points, by the logical name of the Lambda function (infra/notifier.ts). */
export const FUNCTION_ENTRY_POINTS = {
  fanout: "handlers/fanout/index.ts",
  approval: "handlers/approval/index.ts",
} as const;

/** A function of the notifier: `fanout` or `approval`. */
export type NotifierFunctionName = keyof typeof FUNCTION_ENTRY_POINTS;

/**
 * SDK v3 command → IAM action (Service Authorization Reference; `@aws-sdk/lib-dynamodb`'s document
 * commands send the item API of the same name: `GetCommand` is `GetItem`).
 */
export const COMMAND_ACTIONS: Readonly<Record<string, string>> = {
  GetCommand: "dynamodb:GetItem",
  PutCommand: "dynamodb:PutItem",
  UpdateCommand: "dynamodb:UpdateItem",
  DeleteCommand: "dynamodb:DeleteItem",
  QueryCommand: "dynamodb:Query",
  GetSecretValueCommand: "secretsmanager:GetSecretValue",
  PublishCommand: "sns:Publish",
  SendMessageCommand: "sqs:SendMessage",
  InvokeCommand: "lambda:InvokeFunction",
  GetPipelineCommand: "codepipeline:GetPipeline",
  GetPipelineExecutionCommand: "codepipeline:GetPipelineExecution",
  ListActionExecutionsCommand: "codepipeline:ListActionExecutions",
  ListPipelineExecutionsCommand: "codepipeline:ListPipelineExecutions",
  GetPipelineStateCommand: "codepipeline:GetPipelineState",
  PutApprovalResultCommand: "codepipeline:PutApprovalResult",
  AssumeRoleCommand: "sts:AssumeRole",
};

/**
 * The Lambda runtime writes the function's logs with its execution role (Lambda developer guide,
 * "Lambda execution role": `logs:CreateLogStream`, `logs:PutLogEvents`; the log group is declared,
 * so `logs:CreateLogGroup` is not needed).
 */
const LOGS: ActionUse[] = [
  { action: "logs:CreateLogStream", usedBy: "the Lambda runtime, writing the function's logs" },
  { action: "logs:PutLogEvents", usedBy: "the Lambda runtime, writing the function's logs" },
];

/**
 * Issue 14: both functions reach CodePipeline in a source account through that account's
 * source-access role (infra/source-access.ts), granted only on those roles (infra/grants.ts).
 */
const ASSUME_SOURCE_ROLE: ActionUse = {
  action: "sts:AssumeRole",
  command: "AssumeRoleCommand",
  usedBy: "handlers/aws.ts: CodePipeline calls in a source account (SOURCE_ROLES)",
};

/** Every action each function may be granted, with who uses it. */
export const CODE_ACTIONS: Readonly<Record<NotifierFunctionName, readonly ActionUse[]>> = {
  fanout: [
    ...LOGS,
    // Lambda developer guide, "Using Lambda with Amazon SQS" → execution role permissions, and the
    // AWS managed policy AWSLambdaSQSQueueExecutionRole: the event source mapping polls with the
    // function's role and needs these three. Not ChangeMessageVisibility: the mapping leaves a
    // failed message to its visibility timeout, and no handler sends ChangeMessageVisibilityCommand.
    { action: "sqs:ReceiveMessage", usedBy: "the SQS event source mapping (Lambda polls)" },
    { action: "sqs:DeleteMessage", usedBy: "the SQS event source mapping (deletes successes)" },
    { action: "sqs:GetQueueAttributes", usedBy: "the SQS event source mapping" },
    {
      action: "sqs:SendMessage",
      command: "SendMessageCommand",
      usedBy: "handlers/fanout/dead-letter.ts: parks an event in the DLQ with the reasons",
    },
    {
      action: "dynamodb:GetItem",
      command: "GetCommand",
      usedBy:
        "handlers/store/claim.ts (claim read-back), handlers/store/incidents.ts, handlers/store/threads.ts read (a Slack thread; reminders/ended.ts: is a replaced request its thread's parent)",
    },
    {
      action: "dynamodb:PutItem",
      command: "PutCommand",
      usedBy:
        "handlers/store/claim.ts (outcome claim), handlers/store/audit.ts (audit records), handlers/store/pending.ts recordPending (a posted approval request)",
    },
    {
      action: "dynamodb:UpdateItem",
      command: "UpdateCommand",
      usedBy:
        "handlers/store/ledger.ts (delivery ledger), handlers/store/incidents.ts, handlers/store/pending.ts claimStep / releaseStep (one reminder, one expiry)",
    },
    {
      action: "dynamodb:Query",
      command: "QueryCommand",
      usedBy:
        "handlers/store/decision-reads.ts slackRejection (the execution's Slack decisions) and decisionOfRun (a run's click, reminders/ended.ts), handlers/store/pending.ts pendingUntil (the reminder scan) and pendingOfExecution (the requests an event may have ended)",
    },
    {
      action: "dynamodb:DeleteItem",
      command: "DeleteCommand",
      usedBy:
        "handlers/store/pending.ts deletePending (an approval request decided, expired or ended)",
    },
    {
      action: "secretsmanager:GetSecretValue",
      command: "GetSecretValueCommand",
      usedBy: "handlers/aws.ts: the channel secrets",
    },
    {
      action: "sns:Publish",
      command: "PublishCommand",
      usedBy: "handlers/channels/common.ts: the SMS and email channel topics",
    },
    // SNS developer guide, "Key management": a publisher to a topic encrypted with a customer
    // managed key needs kms:GenerateDataKey* and kms:Decrypt on it; the same two for sending to
    // and receiving from an SQS queue encrypted with a KMS key (SQS developer guide, "Key management").
    {
      action: "kms:GenerateDataKey",
      usedBy: "SNS/SQS on the fan-out's behalf: publishing to or sending to a KMS-encrypted target",
    },
    {
      action: "kms:Decrypt",
      usedBy: "SNS/SQS on the fan-out's behalf: publishing to or reading a KMS-encrypted target",
    },
    {
      action: "codepipeline:GetPipeline",
      command: "GetPipelineCommand",
      usedBy: "handlers/enrich.ts: the pipeline's structure",
    },
    {
      action: "codepipeline:GetPipelineExecution",
      command: "GetPipelineExecutionCommand",
      usedBy:
        "handlers/enrich.ts: the commit and trigger; handlers/approval/ended.ts endOf, from handlers/reminders/ended.ts: why an ended request's run ended (its execution stopped, …)",
    },
    {
      action: "codepipeline:ListActionExecutions",
      command: "ListActionExecutionsCommand",
      usedBy:
        "handlers/enrich.ts: the failing action and its error; handlers/reminders/decide.ts and ended.ts: how a pending approval run stands, and how it ended",
    },
    {
      action: "codepipeline:ListPipelineExecutions",
      command: "ListPipelineExecutionsCommand",
      usedBy:
        "handlers/approval/ended.ts stopReason, from handlers/reminders/ended.ts: why an ended request's execution was stopped (stopTrigger.reason)",
    },
    ASSUME_SOURCE_ROLE,
  ],
  approval: [
    ...LOGS,
    {
      action: "dynamodb:GetItem",
      command: "GetCommand",
      usedBy: "handlers/store/approvals.ts readDecision, handlers/store/claim.ts read-back",
    },
    {
      action: "dynamodb:PutItem",
      command: "PutCommand",
      usedBy: "handlers/store/approvals.ts (decision claim, replay guard), handlers/store/audit.ts",
    },
    {
      action: "dynamodb:DeleteItem",
      command: "DeleteCommand",
      usedBy: "handlers/store/approvals.ts releaseDecision (its own claim, conditionally)",
    },
    {
      action: "secretsmanager:GetSecretValue",
      command: "GetSecretValueCommand",
      usedBy: "handlers/aws.ts: the Slack app secret (signing secret, bot token)",
    },
    {
      action: "codepipeline:GetPipelineState",
      command: "GetPipelineStateCommand",
      usedBy: "handlers/approval/token.ts: the claimed run's token and status",
    },
    {
      action: "codepipeline:ListActionExecutions",
      command: "ListActionExecutionsCommand",
      usedBy: "handlers/approval/token.ts: a run's token in PARALLEL mode, replaced runs",
    },
    {
      action: "codepipeline:GetPipelineExecution",
      command: "GetPipelineExecutionCommand",
      usedBy: "handlers/approval/ended.ts: why a run ended undecided (execution stopped, …)",
    },
    {
      action: "codepipeline:ListPipelineExecutions",
      command: "ListPipelineExecutionsCommand",
      usedBy: "handlers/approval/ended.ts: why an execution was stopped (stopTrigger.reason)",
    },
    {
      action: "codepipeline:PutApprovalResult",
      command: "PutApprovalResultCommand",
      usedBy: "handlers/approval/work.ts: approve or reject",
    },
    {
      action: "lambda:InvokeFunction",
      command: "InvokeCommand",
      usedBy: "handlers/approval/decision.ts: its own asynchronous work",
    },
    ASSUME_SOURCE_ROLE,
  ],
};

/**
 * What a source-access role may be granted (infra/source-access.ts): the CodePipeline actions
 * the two functions send, because they send them through that role in a source account.
 */
export const SOURCE_ACCESS_ACTIONS: readonly string[] = [
  ...new Set(
    [...CODE_ACTIONS.fanout, ...CODE_ACTIONS.approval]
      .map((u) => u.action)
      .filter((a) => a.startsWith("codepipeline:")),
  ),
].sort();

/**
 * SDK commands that a function's code can reach through a shared module but never sends, with the
 * reason: no grant may be given for them.
 */
export const REACHABLE_NOT_CALLED: Readonly<
  Record<NotifierFunctionName, Readonly<Record<string, string>>>
> = {
  fanout: {},
  approval: {
    QueryCommand:
      "handlers/store/pending.ts: reached only through reminders/messages.ts' type-only import of it; only the fan-out reads pending requests (and rejections: store/decision-reads.ts, not reachable)",
    UpdateCommand:
      "handlers/store/claim.ts update claims: the approval's claims are all puts (claimDecision, recordSignature)",
  },
};

/** The set of actions `fn` may be granted. */
export function allowedActions(fn: NotifierFunctionName): Set<string> {
  return new Set(CODE_ACTIONS[fn].map((use) => use.action));
}
