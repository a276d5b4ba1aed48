/**
 * The customer managed KMS key of the notifier's SNS topics (ops, SMS and email channels).
 *
 * Why not the AWS-managed `alias/aws/sns`: CloudWatch alarms cannot publish to a topic encrypted
 * with it, since its key policy cannot be changed to let `cloudwatch.amazonaws.com` use it (SNS
 * developer guide, "Enable compatibility between event sources from AWS services and encrypted
 * topics"; REFERENCE.md "Encryption and service principals"). One key for the three kinds of topic:
 * a key costs $1 a month, and SNS reuses a data key for up to 5 minutes, so the KMS requests stay
 * few.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { componentType, type Tags } from "./component";
import { policyDocument, type Statement } from "./policies";

/** Inputs of {@link TopicKey}. */
export interface TopicKeyArgs {
  /** The account that owns the key and whose IAM policies may grant its use. */
  accountId: pulumi.Input<string>;
  /** `aws` (or `aws-cn`, `aws-us-gov`): the partition of the account root ARN. */
  partition: pulumi.Input<string>;
  tags: Tags;
}

/**
 * What the account's IAM policies may grant on the key (and what Pulumi needs to manage it): the
 * default key policy's `kms:*` spelled out, because `policyDocument` refuses wildcard actions.
 * Without the account statement no IAM policy could grant the fan-out the key's use, and without
 * `kms:PutKeyPolicy` AWS refuses the policy (its lockout safety check).
 */
export const KEY_ADMIN_ACTIONS = [
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:PutKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:EnableKeyRotation",
  "kms:DisableKeyRotation",
  "kms:ListResourceTags",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateKeyDescription",
  "kms:EnableKey",
  "kms:DisableKey",
  "kms:CreateAlias",
  "kms:UpdateAlias",
  "kms:DeleteAlias",
  "kms:ListGrants",
  "kms:CreateGrant",
  "kms:RevokeGrant",
  "kms:RetireGrant",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:GenerateDataKey",
  "kms:Decrypt",
];

/**
 * What SNS calls on a topic's key for a publisher: `kms:GenerateDataKey` (the data key that
 * encrypts a published message) and `kms:Decrypt` (SNS developer guide, "Key management"; its
 * example policies write `kms:GenerateDataKey*`, whose only member SNS calls is GenerateDataKey).
 * Named exactly, for the fan-out's role: no wildcard actions in an identity policy.
 */
export const SNS_PUBLISH_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"];

/**
 * The CloudWatch service principal's grant, exactly as the SNS developer guide's "Enable
 * compatibility between event sources from AWS services and encrypted topics" writes it: if it
 * were too narrow, every alarm would be dropped without an error anyone sees.
 */
export const CLOUDWATCH_KEY_ACTIONS = ["kms:GenerateDataKey*", "kms:Decrypt"];

/** The key policy: the account administers it; CloudWatch alarms may encrypt with it. */
export function topicKeyPolicy(accountId: string, partition: string): Statement[] {
  return [
    {
      Sid: "AccountAdministers",
      Effect: "Allow",
      Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
      Action: KEY_ADMIN_ACTIONS,
      Resource: ["*"],
    },
    {
      // As the SNS developer guide's example, without conditions: the ops topic's policy already
      // lets only this account's CloudWatch publish (alarms.ts), and a key grant with a condition
      // key the CloudWatch request does not carry would drop every alarm silently.
      Sid: "CloudWatchAlarms",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: CLOUDWATCH_KEY_ACTIONS,
      Resource: ["*"],
    },
  ];
}

/** `topics-key` (rotated yearly, 30-day deletion window) and its alias `alias/<aliasName>`. */
export class TopicKey extends pulumi.ComponentResource {
  /** The key; topics take its ARN as `kmsMasterKeyId`. */
  readonly key: aws.kms.Key;

  constructor(
    name: string,
    args: TopicKeyArgs & { aliasName: string },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(componentType("TopicKey"), name, {}, opts);
    this.key = new aws.kms.Key(
      "topics-key",
      {
        description: "deploy-notifier: SNS topics (ops alarms, SMS and email channels)",
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi
          .all([args.accountId, args.partition])
          .apply(([accountId, partition]) => policyDocument(topicKeyPolicy(accountId, partition))),
        tags: args.tags,
      },
      { parent: this },
    );
    new aws.kms.Alias(
      "topics-key",
      { name: `alias/${args.aliasName}`, targetKeyId: this.key.keyId },
      { parent: this },
    );
    this.registerOutputs({ keyArn: this.key.arn });
  }
}
