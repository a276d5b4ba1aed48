/**
 * What each Lambda may do, as IAM statements over the ARNs of the resources it uses. Every
 * statement names its actions and resources: `policyDocument` refuses wildcards.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EXECUTION_INDEX } from "../handlers/store/keys";
import type { PipelineRule } from "../handlers/types";
import { pipelineArns } from "./patterns";
import type { Statement } from "./policies";

/** Inline policy size budget left for pipeline ARNs (IAM: 10,240 chars per role). */
const PIPELINE_ARN_BUDGET = 6000;

/** The account the stack deploys to, and the ARN prefix of its CodePipeline pipelines. */
export interface AwsAccount {
  accountId: pulumi.Output<string>;
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
  codePipelineArnPrefix: pulumi.Input<string>;
  /** Every configured pipeline (enrichment reads any of them). */
  pipelines: PipelineRule[];
}

/** Consume the queue, dead-letter, ledger and audit, its secret, SNS, CodePipeline reads. */
export function fanoutStatements(r: FanoutResources): pulumi.Output<Statement[]> {
  return pulumi
    .all([
      r.queueArn,
      r.deadLetterQueueArn,
      r.tableArn,
      r.channelSecretsArn,
      r.topicArns,
      pulumi
        .output(r.codePipelineArnPrefix)
        .apply((p) => pipelineArns(r.pipelines, p, PIPELINE_ARN_BUDGET)),
    ])
    .apply(([queueArn, dlqArn, tableArn, secretArn, topics, pipelines]): Statement[] => [
      {
        Sid: "ConsumeEvents",
        Effect: "Allow",
        Action: [
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:ChangeMessageVisibility",
        ],
        Resource: [queueArn],
      },
      {
        Sid: "DeadLetterWithReasons",
        Effect: "Allow",
        Action: ["sqs:SendMessage"],
        Resource: [dlqArn],
      },
      {
        Sid: "LedgerAndAudit",
        Effect: "Allow",
        Action: [
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:Query",
        ],
        Resource: [tableArn, `${tableArn}/index/${EXECUTION_INDEX}`],
      },
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
          ]
        : []),
      {
        Sid: "Enrichment",
        Effect: "Allow",
        Action: [
          "codepipeline:GetPipeline",
          "codepipeline:GetPipelineExecution",
          "codepipeline:ListActionExecutions",
        ],
        Resource: pipelines.arns,
      },
    ]);
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
}

/** Decisions and audit, its secret, approvals on the approval pipelines, self-invocation. */
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
      {
        Sid: "DecisionsAndAudit",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
        Resource: [tableArn],
      },
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
              Action: ["codepipeline:GetPipelineState", "codepipeline:PutApprovalResult"],
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
    ]);
}
