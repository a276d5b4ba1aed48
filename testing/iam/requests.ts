/**
 * What IAM authorizes for each request the stand-ins serve: the action, the resource ARN and the
 * condition keys, as the Service Authorization Reference lists them per action ("Actions,
 * resources, and condition keys for <service>"):
 *
 * | request                               | action                         | resource                                            |
 * |---------------------------------------|--------------------------------|-----------------------------------------------------|
 * | DynamoDB `DynamoDB_20120810.<Op>`     | `dynamodb:<Op>`                | `table/<TableName>` (`/index/<IndexName>` on Query) |
 * | Secrets Manager `GetSecretValue`      | `secretsmanager:GetSecretValue`| the secret's ARN                                    |
 * | CodePipeline `PutApprovalResult`      | `codepipeline:PutApprovalResult` | `<pipeline>/<stage>/<action>`                     |
 * | CodePipeline other operations         | `codepipeline:<Op>`            | `<pipeline>`                                        |
 * | SQS `SendMessage`                     | `sqs:SendMessage`              | the queue's ARN (from `QueueUrl`)                   |
 * | SNS `Publish`                         | `sns:Publish`                  | the topic's ARN (+ KMS on an encrypted topic)       |
 * | Lambda `Invoke`                       | `lambda:InvokeFunction`        | `function:<name>`                                   |
 *
 * `dynamodb:LeadingKeys` holds the partition key value(s) the request touches: `Key` / `Item`'s
 * partition attribute, or the equality on the partition key in a Query's
 * `KeyConditionExpression` (DynamoDB developer guide, "Using IAM policy conditions for
 * fine-grained access control"). Publishing to a topic encrypted with a KMS key needs
 * `kms:GenerateDataKey` and `kms:Decrypt` on that key, via SNS (SNS developer guide, "Encryption
 * at rest": "Enable compatibility between event sources … and encrypted topics" / key management).
 */
import type { DeclaredIam } from "./declared";
import { queueArnOfUrl } from "./declared";
import type { IamCall } from "./enforce";

type Json = Record<string, any>;

/** The prefix of DynamoDB's `X-Amz-Target`. */
export const DYNAMODB_TARGET = "DynamoDB_20120810.";

function partitionValue(attribute: unknown): string | undefined {
  if (attribute && typeof attribute === "object") {
    const a = attribute as Record<string, unknown>;
    const v = a.S ?? a.N ?? a.B;
    return v === undefined ? undefined : String(v);
  }
  return undefined;
}

/** The partition key value a Query's `KeyConditionExpression` fixes (`#k = :v` or `k = :v`). */
function queryPartition(input: Json, hashKey: string): string | undefined {
  const expression = String(input.KeyConditionExpression ?? "");
  for (const m of expression.matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    const name = m[1].startsWith("#") ? input.ExpressionAttributeNames?.[m[1]] : m[1];
    if (name === hashKey) return partitionValue(input.ExpressionAttributeValues?.[m[2]]);
  }
  return undefined;
}

/** The call a DynamoDB request makes (one per request for the single-item and Query operations). */
export function dynamoCall(iam: DeclaredIam, operation: string, input: Json): IamCall {
  const tableName = String(input.TableName ?? "");
  const table = iam.tables[tableName];
  const tableArn = table?.arn ?? `arn:aws:dynamodb:${iam.region}:${iam.account}:table/${tableName}`;
  const indexName = typeof input.IndexName === "string" ? input.IndexName : undefined;
  const hashKey = (indexName ? table?.indexes[indexName] : table?.hashKey) ?? "pk";
  const keyHolder = (input.Key ?? input.Item) as Json | undefined;
  const leading = keyHolder ? partitionValue(keyHolder[hashKey]) : queryPartition(input, hashKey);
  return {
    action: `dynamodb:${operation}`,
    resource: indexName ? `${tableArn}/index/${indexName}` : tableArn,
    context: leading === undefined ? {} : { "dynamodb:LeadingKeys": [leading] },
  };
}

/** The secret ARN a `SecretId` names: itself if an ARN, else the known secret of that name. */
function secretArn(iam: DeclaredIam, id: string, known: string[]): string {
  if (id.startsWith("arn:")) return id;
  const arn = known.find((k) => /:secret:(.+)-[^-]{6}$/.exec(k)?.[1] === id);
  return arn ?? `arn:aws:secretsmanager:${iam.region}:${iam.account}:secret:${id}`;
}

/**
 * The call a CodePipeline request makes, on the pipeline of `scope` (the caller's account and the
 * endpoint's region; default the program's own).
 */
export function codePipelineCall(
  iam: DeclaredIam,
  operation: string,
  input: Json,
  scope: { account: string; region: string } = iam,
): IamCall {
  const prefix = `arn:aws:codepipeline:${scope.region}:${scope.account}:`;
  const pipeline = String(input.pipelineName ?? input.name ?? "*");
  const resource =
    operation === "PutApprovalResult"
      ? `${prefix}${pipeline}/${input.stageName}/${input.actionName}`
      : `${prefix}${pipeline}`;
  return { action: `codepipeline:${operation}`, resource };
}

/** The calls an SNS Publish makes: the topic, and its KMS key when the topic is encrypted. */
export function snsPublishCalls(iam: DeclaredIam, form: URLSearchParams): IamCall[] {
  const topic = form.get("TopicArn") ?? form.get("TargetArn") ?? "*";
  const calls: IamCall[] = [{ action: "sns:Publish", resource: topic }];
  const key = iam.topicKeys[topic];
  if (key) {
    const keyArn = key.startsWith("arn:")
      ? key
      : `arn:aws:kms:${iam.region}:${iam.account}:${key.startsWith("alias/") ? key : `key/${key}`}`;
    const context = { "kms:ViaService": `sns.${iam.region}.amazonaws.com` };
    calls.push(
      { action: "kms:GenerateDataKey", resource: keyArn, context },
      { action: "kms:Decrypt", resource: keyArn, context },
    );
  }
  return calls;
}

/** The calls one request to the AWS stand-ins makes, by its routing information. */
export function standinCalls(
  iam: DeclaredIam,
  route:
    | {
        service: "codepipeline" | "secretsmanager" | "sqs";
        operation: string;
        input: Json;
        secrets?: string[];
        /** CodePipeline: the (account, region) the call acts in. */
        scope?: { account: string; region: string };
      }
    | { service: "sns"; form: URLSearchParams }
    | { service: "lambda"; functionName: string },
): IamCall[] {
  switch (route.service) {
    case "codepipeline":
      return [codePipelineCall(iam, route.operation, route.input, route.scope)];
    case "secretsmanager":
      return [
        {
          action: `secretsmanager:${route.operation}`,
          resource: secretArn(iam, String(route.input.SecretId ?? ""), route.secrets ?? []),
        },
      ];
    case "sqs":
      return [
        {
          action: `sqs:${route.operation}`,
          resource: queueArnOfUrl(String(route.input.QueueUrl ?? ""), iam.region),
        },
      ];
    case "sns":
      return route.form.get("Action") === "Publish" ? snsPublishCalls(iam, route.form) : [];
    case "lambda": {
      const name = decodeURIComponent(route.functionName);
      const arn = name.startsWith("arn:")
        ? name.split(":").slice(0, 7).join(":")
        : `arn:aws:lambda:${iam.region}:${iam.account}:function:${name}`;
      return [{ action: "lambda:InvokeFunction", resource: arn }];
    }
  }
}
