/**
 * The service-to-service deliveries of the program, checked against the resource-based policies
 * it declared (an {@link IamEnforcer} with a program loaded):
 *
 * - EventBridge → SQS: `sqs:SendMessage` on the queue by `events.amazonaws.com`, with
 *   `aws:SourceArn` = the rule's ARN and `aws:SourceAccount` (EventBridge user guide, "Using
 *   resource-based policies for Amazon EventBridge": "Amazon SQS permissions").
 * - CloudWatch alarm → SNS: `sns:Publish` on the topic by `cloudwatch.amazonaws.com`, with
 *   `aws:SourceArn` = the alarm's ARN and `aws:SourceAccount`; on a topic encrypted with a KMS
 *   key, also `kms:Decrypt` and `kms:GenerateDataKey*` on the key by the same service principal,
 *   allowed by the key policy (SNS developer guide, "Enable compatibility between event sources
 *   from AWS services and encrypted topics").
 * - Function URL → Lambda: `lambda:InvokeFunctionUrl` on the function by `*` with
 *   `lambda:FunctionUrlAuthType` = the URL's auth type (Lambda developer guide, "Control access to
 *   Lambda function URLs").
 *
 * Each returns the denial (AWS's message, naming the service principal) or undefined.
 */
import type { IamDenial, IamEnforcer } from "./enforce";

/** EventBridge delivering a rule's matched event to an SQS queue. */
export function eventBridgeToQueue(
  iam: IamEnforcer,
  ruleArn: string,
  queueArn: string,
): IamDenial | undefined {
  const account = ruleArn.split(":")[4];
  return iam.authorizeDelivery(
    { Service: "events.amazonaws.com" },
    {
      action: "sqs:SendMessage",
      resource: queueArn,
      context: { "aws:SourceArn": ruleArn, "aws:SourceAccount": account },
    },
  );
}

/** A CloudWatch alarm publishing its state change to an SNS topic (and the topic's key). */
export function alarmToTopic(
  iam: IamEnforcer,
  alarmArn: string,
  topicArn: string,
): IamDenial | undefined {
  const principal = { Service: "cloudwatch.amazonaws.com" };
  const context = { "aws:SourceArn": alarmArn, "aws:SourceAccount": alarmArn.split(":")[4] };
  const topic = iam.authorizeDelivery(principal, {
    action: "sns:Publish",
    resource: topicArn,
    context,
  });
  if (topic) return topic;
  const key = iam.loaded?.topicKeys[topicArn];
  if (!key || !iam.loaded) return undefined;
  const keyArn = key.startsWith("arn:")
    ? key
    : `arn:aws:kms:${iam.loaded.region}:${iam.loaded.account}:key/${key}`;
  for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
    const denied = iam.authorizeDelivery(principal, { action, resource: keyArn, context });
    if (denied) return denied;
  }
  return undefined;
}

/** A request to a function URL invoking its function. */
export function functionUrlInvoke(
  iam: IamEnforcer,
  functionArn: string,
  authType: "NONE" | "AWS_IAM" = "NONE",
): IamDenial | undefined {
  return iam.authorizeDelivery(
    { AWS: "*" },
    {
      action: "lambda:InvokeFunctionUrl",
      resource: functionArn,
      context: { "lambda:FunctionUrlAuthType": authType },
    },
  );
}
