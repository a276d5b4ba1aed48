/**
 * A denied call reaches the AWS SDK as AWS answers it, per protocol: the exception name the SDK
 * raises, the HTTP status and AWS's message (testing/iam/enforce.ts cites the sources). The role
 * here is written by hand; the program's real roles are exercised in iam-enforcement.test.ts.
 */
import { CodePipelineClient, GetPipelineStateCommand } from "@aws-sdk/client-codepipeline";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createAuditTable, startAll, type AllStandins, type DeclaredIam } from "../../testing";

const ACCOUNT = "123456789012";
const FN = "caller-fn";
const TABLE = "wire-table";
const TABLE_ARN = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${TABLE}`;
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:ops`;

/** A role that may only put `ALLOWED#` items (ForAllValues:StringLike on LeadingKeys). */
function declared(): DeclaredIam {
  return {
    region: "us-east-1",
    account: ACCOUNT,
    roles: {
      [FN]: {
        functionName: FN,
        roleName: "caller-role",
        roleArn: `arn:aws:iam::${ACCOUNT}:role/caller-role`,
        policies: [
          {
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "OwnItems",
                Effect: "Allow",
                Action: ["dynamodb:PutItem"],
                Resource: [TABLE_ARN],
                Condition: {
                  "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["ALLOWED#*"] },
                },
              },
            ],
          },
        ],
      },
    },
    tables: { [TABLE]: { arn: TABLE_ARN, hashKey: "pk", indexes: {} } },
    resourcePolicies: {},
    topicKeys: {},
  };
}

const denied = (action: string, resource: string, spelled = action) =>
  `User: arn:aws:sts::${ACCOUNT}:assumed-role/caller-role/${FN} is not authorized to perform: ` +
  `${spelled} on resource: ${resource} because no identity-based policy allows the ${spelled} action`;

describe("IAM denials on the wire", () => {
  let standins: AllStandins;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    standins = await startAll();
    await createAuditTable(standins.dynamo.endpoint, TABLE);
    standins.iam.load(declared());
    const env = standins.envFor(FN);
    config = {
      region: "us-east-1",
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: "x" },
      maxAttempts: 1,
    };
  });
  afterAll(async () => {
    await standins?.close();
  });

  /** The SDK error of a call that must fail. */
  async function failure(call: () => Promise<unknown>): Promise<Record<string, any>> {
    try {
      await call();
    } catch (err: unknown) {
      const e = err as Record<string, any>;
      return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
    }
    throw new Error("the call succeeded");
  }

  it("DynamoDB: AccessDeniedException (400), with dynamodb:LeadingKeys from the item", async () => {
    const ddb = new DynamoDBClient({ ...config, endpoint: standins.dynamo.endpoint });
    const put = (pk: string) =>
      ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: pk }, sk: { S: "x" } } }));
    await expect(put("ALLOWED#1")).resolves.toBeDefined();
    expect(await failure(() => put("OTHER#1"))).toEqual({
      name: "AccessDeniedException",
      status: 400,
      message: denied("dynamodb:PutItem", TABLE_ARN),
    });
    ddb.destroy();
  });

  it("SNS: AuthorizationError (403, the SDK's AuthorizationErrorException), SNS:Publish", async () => {
    const sns = new SNSClient({ ...config, endpoint: standins.aws.url });
    expect(
      await failure(() => sns.send(new PublishCommand({ TopicArn: TOPIC, Message: "m" }))),
    ).toEqual({
      // awsQuery code AuthorizationError; SDK v3 names the class AuthorizationErrorException.
      name: "AuthorizationErrorException",
      status: 403,
      message: denied("sns:Publish", TOPIC, "SNS:Publish"),
    });
  });

  it("SQS: AccessDenied (403), the action lower-cased", async () => {
    const sqs = new SQSClient({ ...config, endpoint: standins.aws.url });
    const url = `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/dlq`;
    expect(
      await failure(() => sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "m" }))),
    ).toEqual({
      name: "AccessDenied",
      status: 403,
      message: denied("sqs:SendMessage", `arn:aws:sqs:us-east-1:${ACCOUNT}:dlq`, "sqs:sendmessage"),
    });
  });

  it("Lambda: AccessDeniedException (403); Secrets Manager and CodePipeline: (400)", async () => {
    const lambda = new LambdaClient({ ...config, endpoint: standins.aws.url });
    const fnArn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:other`;
    expect(await failure(() => lambda.send(new InvokeCommand({ FunctionName: "other" })))).toEqual({
      name: "AccessDeniedException",
      status: 403,
      message: denied("lambda:InvokeFunction", fnArn),
    });
    const secrets = new SecretsManagerClient({ ...config, endpoint: standins.aws.url });
    const secretArn = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:s-AbCdEf`;
    expect(
      await failure(() => secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))),
    ).toEqual({
      name: "AccessDeniedException",
      status: 400,
      message: denied("secretsmanager:GetSecretValue", secretArn),
    });
    const cp = new CodePipelineClient({ ...config, endpoint: standins.aws.url });
    expect(await failure(() => cp.send(new GetPipelineStateCommand({ name: "p" })))).toEqual({
      name: "AccessDeniedException",
      status: 400,
      message: denied(
        "codepipeline:GetPipelineState",
        `arn:aws:codepipeline:us-east-1:${ACCOUNT}:p`,
      ),
    });
  });

  it("does not check calls signed with the stand-ins' own key, nor anything once unloaded", async () => {
    const admin = new SNSClient({
      region: "us-east-1",
      endpoint: standins.aws.url,
      credentials: { accessKeyId: "standin", secretAccessKey: "standin" },
    });
    await expect(
      admin.send(new PublishCommand({ TopicArn: TOPIC, Message: "m" })),
    ).resolves.toBeDefined();
    standins.iam.unload();
    const sns = new SNSClient({ ...config, endpoint: standins.aws.url });
    await expect(
      sns.send(new PublishCommand({ TopicArn: TOPIC, Message: "m" })),
    ).resolves.toBeDefined();
    standins.iam.load(declared());
  });
});
