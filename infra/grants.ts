/**
 * What each Lambda may do, as IAM statements over the ARNs of the resources it uses. Every
 * statement names its actions and resources: `policyDocument` refuses wildcards.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PipelineRule } from "../handlers/types";
import { EXECUTION_INDEX } from "../handlers/store/keys";
import { pipelineArns } from "./patterns";
import type { Statement } from "./policies";
import { SNS_PUBLISH_KEY_ACTIONS } from "./topic-key";

/** Inline policy size budget left for pipeline ARNs (IAM: 10,240 chars per role). */
const PIPELINE_ARN_BUDGET = 6000;

/** The account the stack deploys to, and the ARN prefix of its CodePipeline pipelines. */
export interface AwsAccount {
  accountId: pulumi.Output<string>;
  /** `aws`, `aws-cn` or `aws-us-gov`. */
  partition: pulumi.Output<string>;
  /** `arn:<partition>:codepipeline:<region>:<account>:` */
  codePipelineArnPrefix: pulumi.Output<string>;
}

/** Looks up the account, region and partition of the default provider. */
export function awsAccount(): AwsAccount {
  const region = aws.getRegionOutput().name;
  const accountId = aws.getCallerIdentityOutput().accountId;
  const partition = aws.getPartitionOutput().partition;
  return {
    accountId,
    partition,
    codePipelineArnPrefix: pulumi.interpolate`arn:${partition}:codepipeline:${region}:${accountId}:`,
  };
}

/** The ARNs the fan-out Lambda works on. */
export interface FanoutResources {
  queueArn: pulumi.Input<string>;
  deadLetterQueueArn: pulumi.Input<string>;
  tableArn: pulumi.Input<string>;
  channelSecretsArn: pulumi.Input<string>;
  /** The SMS and email channel topics (may be empty). */
  topicArns: pulumi.Input<string[]>;
  /** The customer managed key those topics are encrypted with (alarms.ts `TopicKey`). */
  topicKeyArn: pulumi.Input<string>;
  codePipelineArnPrefix: pulumi.Input<string>;
  /** Every configured pipeline (enrichment reads any of them). */
  pipelines: PipelineRule[];
  /** The source-access roles (issue 14, infra/source-access.ts); absent or empty: none. */
  sourceRoleArns?: string[];
}

/**
 * `sts:AssumeRole` on exactly the source-access roles (issue 14): how both Lambdas reach
 * CodePipeline in a source account (`SOURCE_ROLES`). No statement without source accounts.
 */
export function assumeSourceRoles(roleArns: string[] | undefined): Statement[] {
  if (!roleArns || roleArns.length === 0) return [];
  return [
    {
      Sid: "AssumeSourceRoles",
      Effect: "Allow",
      Action: ["sts:AssumeRole"],
      Resource: [...new Set(roleArns)].sort(),
    },
  ];
}

/**
 * Item kinds by the partition-key prefix that `dynamodb:LeadingKeys` matches (handlers/store/keys.ts
 * builds every key; a pattern here must match what it builds, or the call is denied in AWS).
 */
export const ITEM_KINDS = {
  audit: "PIPELINE#*",
  delivery: "DELIVERY#*",
  outcome: "OUTCOME#*",
  incident: "INCIDENT#*",
  approval: "APPROVAL#*",
  replay: "REPLAY#*",
  /** Pending approval requests (`PENDING#APPROVAL`), for reminders and expiry. */
  pending: "PENDING#*",
  /** Slack threads of executions (`THREAD#<channel>#<pipeline key>#<exec id>`), bot mode (issue 11). */
  thread: "THREAD#*",
  /** Send pacing of a channel instance (`PACE#<channel>`, issue 11, store/pacing.ts). */
  pace: "PACE#*",
  /**
   * A digest's grouped entries: the `byExecution` index's hash key `DIGEST#<channel>#<window
   * start>` of delivery records marked grouped (issue 11, store/digest.ts); read by Query of the
   * index only, never an item's own pk.
   */
  digest: "DIGEST#*",
} as const;

/** What the fan-out does with Slack thread items (handlers/store/threads.ts). */
export const THREAD_ACTIONS = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"];

/**
 * What the fan-out does with pending approval requests (handlers/store/pending.ts): PutItem when
 * it posted a request, Query of the pending partition (the table, not an index) by the reminder
 * scan, UpdateItem to claim a reminder or an expiry (and give it back), DeleteItem when the
 * request ended. Declared only when some pipeline has Slack approvals.
 */
export const PENDING_ACTIONS = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
];

/**
 * An Allow of DynamoDB `actions` on the table only (never its indexes), for items whose partition
 * key matches one of `kinds`. `ForAllValues:StringLike` on `dynamodb:LeadingKeys` (DynamoDB
 * developer guide, "Using IAM policy conditions for fine-grained access control"): every partition
 * key the request touches must match. The operator is vacuously true for a request with no
 * partition key (Scan), so no statement here may grant Scan or a batch action.
 */
export function tableItems(
  sid: string,
  tableArn: string,
  actions: string[],
  kinds: string[],
): Statement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: actions,
    Resource: [tableArn],
    Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": kinds } },
  };
}

/**
 * Audit records are append-only for both Lambdas, as far as IAM can say it: PutItem on
 * `PIPELINE#` items and nothing else there (no UpdateItem, DeleteItem or GetItem, and no other
 * statement matches `PIPELINE#`). IAM cannot require a ConditionExpression, so a PutItem of an
 * existing key would still replace that record: `putAudit` (handlers/store/audit.ts) writes with
 * `attribute_not_exists(pk)` and a random sort-key suffix, which the code, not IAM, guarantees.
 */
export function auditAppend(tableArn: string): Statement {
  return tableItems("AuditAppendOnly", tableArn, ["dynamodb:PutItem"], [ITEM_KINDS.audit]);
}

/**
 * What the fan-out's code calls (handlers/fanout, handlers/store, handlers/enrich.ts): consume the
 * queue; dead-letter with reasons; the delivery ledger (UpdateItem claims and marks, GetItem after
 * a lost claim), outcome claims (conditional PutItem, GetItem), open incidents (UpdateItem ADD /
 * DELETE, GetItem); Query of an execution's approval decisions (`slackRejection`, the table, not
 * the index); pending approval requests ({@link PENDING_ACTIONS}, only with approvals);
 * append-only audit; its secret; SNS through the topics' key; CodePipeline reads (the reminder
 * scan's ListActionExecutions is one of them, and ListPipelineExecutions for a stop's reason).
 */
export function fanoutStatements(r: FanoutResources): pulumi.Output<Statement[]> {
  const approvals = r.pipelines.some((p) => p.approvals);
  return pulumi
    .all([
      r.queueArn,
      r.deadLetterQueueArn,
      r.tableArn,
      r.channelSecretsArn,
      r.topicArns,
      r.topicKeyArn,
      pulumi
        .output(r.codePipelineArnPrefix)
        .apply((p) => pipelineArns(r.pipelines, p, PIPELINE_ARN_BUDGET)),
    ])
    .apply(([queueArn, dlqArn, tableArn, secretArn, topics, keyArn, pipelines]): Statement[] => [
      {
        Sid: "ConsumeEvents",
        Effect: "Allow",
        Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        Resource: [queueArn],
      },
      {
        // Deferral of a rate-limited record (issue 11, fanout/requeue.ts): a delayed copy on the
        // events queue, whose policy admits the fan-out's role (event-intake.ts).
        Sid: "RequeueEvents",
        Effect: "Allow",
        Action: ["sqs:SendMessage"],
        Resource: [queueArn],
      },
      {
        Sid: "DeadLetterWithReasons",
        Effect: "Allow",
        Action: ["sqs:SendMessage"],
        Resource: [dlqArn],
      },
      // No GetItem on the ledger, outcome or incident items: a refused claim returns the item
      // that refused it (store/claim.ts, ReturnValuesOnConditionCheckFailure; no read).
      tableItems(
        "LedgerAndIncidents",
        tableArn,
        ["dynamodb:UpdateItem"],
        [ITEM_KINDS.delivery, ITEM_KINDS.incident],
      ),
      tableItems("OutcomeClaims", tableArn, ["dynamodb:PutItem"], [ITEM_KINDS.outcome]),
      // One conditional UpdateItem reserves a channel's next send slot (store/pacing.ts).
      tableItems("SendPacing", tableArn, ["dynamodb:UpdateItem"], [ITEM_KINDS.pace]),
      tableItems("ReadDecisions", tableArn, ["dynamodb:Query"], [ITEM_KINDS.approval]),
      {
        // A digest's flush reads its window's grouped entries (issue 11, store/digest-window.ts):
        // Query of the byExecution index, only under `DIGEST#` hash keys (dynamodb:LeadingKeys is
        // the index's partition key on an index Query).
        Sid: "DigestEntries",
        Effect: "Allow",
        Action: ["dynamodb:Query"],
        Resource: [`${tableArn}/index/${EXECUTION_INDEX}`],
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [ITEM_KINDS.digest] } },
      },
      // Slack thread per execution (handlers/store/threads.ts): the parent claim (conditional
      // PutItem), its ts and newest state (UpdateItem), a wait for a parent being posted (GetItem).
      tableItems("SlackThreads", tableArn, THREAD_ACTIONS, [ITEM_KINDS.thread]),
      ...(approvals
        ? [tableItems("PendingApprovals", tableArn, PENDING_ACTIONS, [ITEM_KINDS.pending])]
        : []),
      auditAppend(tableArn),
      {
        Sid: "ChannelSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue"],
        Resource: [secretArn],
      },
      ...(topics.length > 0
        ? [
            {
              Sid: "SmsAndEmail",
              Effect: "Allow" as const,
              Action: ["sns:Publish"],
              Resource: topics,
            },
            {
              // SNS encrypts what a publisher sends with the topic's key, as the publisher (SNS
              // developer guide, "Key management"); only through SNS (kms:ViaService).
              Sid: "EncryptedTopics",
              Effect: "Allow" as const,
              Action: SNS_PUBLISH_KEY_ACTIONS,
              Resource: [keyArn],
              Condition: {
                StringEquals: { "kms:ViaService": `sns.${arnRegion(keyArn)}.amazonaws.com` },
              },
            },
          ]
        : []),
      {
        // ListPipelineExecutions: a stopped execution's reason (`stopTrigger.reason`), which the
        // rewrite of a request that ended without a click tells (reminders/ended.ts, approval/
        // ended.ts `stopReason`). A read of the same pipelines as GetPipelineExecution, which
        // already shows the execution; the action's resource is the pipeline (Service
        // Authorization Reference, AWS CodePipeline).
        Sid: "Enrichment",
        Effect: "Allow",
        Action: [
          "codepipeline:GetPipeline",
          "codepipeline:GetPipelineExecution",
          "codepipeline:ListActionExecutions",
          "codepipeline:ListPipelineExecutions",
        ],
        Resource: pipelines.arns,
      },
      ...assumeSourceRoles(r.sourceRoleArns),
    ]);
}

/** The region field of an ARN (`arn:partition:service:region:account:…`). */
function arnRegion(arn: string): string {
  return arn.split(":")[3] ?? "";
}

/** The ARNs the approval Lambda works on. */
export interface ApprovalResources {
  tableArn: pulumi.Input<string>;
  slackAppSecretArn: pulumi.Input<string>;
  codePipelineArnPrefix: pulumi.Input<string>;
  /** Every configured pipeline; only those with `approvals` may be approved. */
  pipelines: PipelineRule[];
  /** The approval function itself (for its async self-invocation). */
  functionArn: pulumi.Input<string>;
  /** The source-access roles (issue 14, infra/source-access.ts); absent or empty: none. */
  sourceRoleArns?: string[];
}

/**
 * What the approval's code calls (handlers/approval, handlers/store): decision claims (conditional
 * PutItem, GetItem, the conditional DeleteItem that releases a claim whose CodePipeline call
 * failed); the replay guard (conditional PutItem only: a lost claim is not read back); append-only
 * audit; its secret; approvals on the approval pipelines; its async self-invocation. It may not
 * touch the ledger, outcome claims or incidents of the fan-out.
 */
export function approvalStatements(r: ApprovalResources): pulumi.Output<Statement[]> {
  const approvalRules = r.pipelines.filter((p) => p.approvals);
  return pulumi
    .all([
      r.tableArn,
      r.slackAppSecretArn,
      pulumi
        .output(r.codePipelineArnPrefix)
        .apply((p) => pipelineArns(approvalRules, p, PIPELINE_ARN_BUDGET)),
      r.functionArn,
    ])
    .apply(([tableArn, secretArn, pipelines, fnArn]): Statement[] => [
      tableItems(
        "Decisions",
        tableArn,
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
        [ITEM_KINDS.approval],
      ),
      tableItems("ReplayGuard", tableArn, ["dynamodb:PutItem"], [ITEM_KINDS.replay]),
      auditAppend(tableArn),
      {
        Sid: "SlackAppSecret",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue"],
        Resource: [secretArn],
      },
      ...(approvalRules.length > 0
        ? [
            {
              Sid: "Approvals",
              Effect: "Allow" as const,
              // ListActionExecutions: the token of a run in PARALLEL mode, and whether a run
              // was replaced (API reference, PutApprovalResult `token`); GetPipelineExecution:
              // why a run ended undecided (its execution stopped, superseded, cancelled);
              // ListPipelineExecutions: a stop's reason (`stopTrigger.reason`).
              Action: [
                "codepipeline:GetPipelineState",
                "codepipeline:ListActionExecutions",
                "codepipeline:GetPipelineExecution",
                "codepipeline:ListPipelineExecutions",
                "codepipeline:PutApprovalResult",
              ],
              Resource: pipelines.arns,
            },
          ]
        : []),
      {
        Sid: "AsyncSelfInvoke",
        Effect: "Allow",
        Action: ["lambda:InvokeFunction"],
        Resource: [fnArn],
      },
      ...assumeSourceRoles(r.sourceRoleArns),
    ]);
}
