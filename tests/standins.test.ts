/**
 * The local stand-ins, driven by the real SDK v3 clients (configured only through the
 * `AWS_ENDPOINT_URL_<SERVICE>` variables or the `endpoint` option) and by `fetch`.
 */
import {
  ApprovalAlreadyCompletedException,
  CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  InvalidApprovalTokenException,
  ListActionExecutionsCommand,
  PipelineNotFoundException,
  PutApprovalResultCommand,
  StageNotFoundException,
  ValidationException,
  type PutApprovalResultCommandInput,
} from "@aws-sdk/client-codepipeline";
import { DescribeTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import {
  InvokeCommand,
  LambdaClient,
  ResourceNotFoundException as LambdaNotFound,
} from "@aws-sdk/client-lambda";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { InvalidParameterException, PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import {
  createAuditTable,
  startAll,
  startAwsStandins,
  startDynalite,
  startReceivers,
  type AwsStandins,
  type Delivery,
  type Dynalite,
  type Receivers,
} from "../testing";

/** A PagerDuty routing key has exactly 32 characters. */
const ROUTING_KEY = "0123456789abcdef0123456789abcdef";

/** fetch's errors come from Node's realm, not jest's: read them without `instanceof Error`. */
function errorField(err: unknown, field: "name" | "message"): string {
  return typeof err === "object" && err !== null && field in err
    ? String((err as Record<string, unknown>)[field])
    : String(err);
}

describe("AWS stand-ins with the real SDK clients", () => {
  let aws: AwsStandins;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    aws = await startAwsStandins();
    // Only the standard variables point the clients here: no endpoint option below.
    Object.assign(process.env, aws.env);
  });
  afterAll(async () => {
    await aws.close();
    process.env = savedEnv;
  });
  beforeEach(() => aws.reset());

  describe("Secrets Manager", () => {
    it("reads a secret by name or ARN and counts the reads", async () => {
      // Prepare
      const arn =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:deploy-notifier/slack-AbC123";
      aws.state.secrets[arn] = '{"signingSecret":"s3cr3t"}';
      const client = new SecretsManagerClient({});

      // Act
      const byArn = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      const byName = await client.send(
        new GetSecretValueCommand({ SecretId: "deploy-notifier/slack" }),
      );

      // Assess
      expect(byArn.SecretString).toBe('{"signingSecret":"s3cr3t"}');
      expect(byName.ARN).toBe(arn);
      expect(aws.state.secretReads).toBe(2);
      expect(aws.state.secretReadsById[arn]).toBe(1);
    });

    it("answers ResourceNotFoundException for an unknown secret", async () => {
      // Prepare
      const client = new SecretsManagerClient({});

      // Act
      const read = client.send(new GetSecretValueCommand({ SecretId: "missing" }));

      // Assess
      await expect(read).rejects.toBeInstanceOf(ResourceNotFoundException);
      expect(aws.state.secretReads).toBe(0);
    });
  });

  describe("SNS", () => {
    it("records a published SMS with its attributes", async () => {
      // Prepare
      const client = new SNSClient({});

      // Act
      const out = await client.send(
        new PublishCommand({
          PhoneNumber: "+15555550100",
          Message: "deploy failed: api-prod",
          MessageAttributes: {
            "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" },
          },
        }),
      );

      // Assess
      expect(aws.state.sns.published).toEqual([
        expect.objectContaining({
          phoneNumber: "+15555550100",
          topicArn: undefined,
          message: "deploy failed: api-prod",
          messageId: out.MessageId,
          messageAttributes: {
            "AWS.SNS.SMS.SMSType": { dataType: "String", stringValue: "Transactional" },
          },
        }),
      ]);
    });

    it("records a topic publish with its subject", async () => {
      // Prepare
      const client = new SNSClient({});
      const topicArn = "arn:aws:sns:us-east-1:123456789012:ops";

      // Act
      await client.send(
        new PublishCommand({ TopicArn: topicArn, Subject: "DLQ", Message: "1 message" }),
      );

      // Assess
      expect(aws.state.sns.published[0]).toMatchObject({
        topicArn,
        subject: "DLQ",
        message: "1 message",
      });
    });

    it("fails with an injected fault as a named exception, then recovers", async () => {
      // Prepare
      aws.faults.sns = { code: "InvalidParameter", message: "Invalid phone number", times: 1 };
      const client = new SNSClient({});
      const publish = () => client.send(new PublishCommand({ PhoneNumber: "+1", Message: "x" }));

      // Act
      const first = publish();
      await expect(first).rejects.toBeInstanceOf(InvalidParameterException);
      const second = await publish();

      // Assess
      await expect(first).rejects.toThrow("Invalid phone number");
      expect(second.MessageId).toBeDefined();
      expect(aws.state.sns.published).toHaveLength(1);
    });

    it("retries a throttled publish (retryable fault) and records it once", async () => {
      // Prepare
      aws.faults.sns = { code: "Throttling", status: 400, times: 1 };
      const client = new SNSClient({ maxAttempts: 2 });

      // Act
      const out = await client.send(new PublishCommand({ TopicArn: "arn:t", Message: "x" }));

      // Assess
      expect(out.$metadata.attempts).toBe(2);
      expect(aws.state.sns.published).toHaveLength(1);
    });
  });

  describe("CodePipeline", () => {
    // Execution ids of the documented pattern (API_PipelineExecution.html: a lower-case UUID):
    // the stand-in refuses any other with ValidationException, as CodePipeline does.
    const EXEC_1 = "5d1f0b7a-3c2e-4a9b-8f61-0c7e2d9a4b13";
    const EXEC_9 = "9a3c7e51-0b2d-4f8e-a6c4-1d5e9f2b7c08";
    const EXEC_10 = "c0e4a8f2-6b1d-4e3a-9c57-2f8d0b6a1e94";
    const approval = {
      pipeline: "api-prod",
      stage: "Prod",
      action: "Approve",
      executionId: EXEC_1,
    };
    const approve = (token: string, overrides: Partial<PutApprovalResultCommandInput> = {}) =>
      new PutApprovalResultCommand({
        pipelineName: approval.pipeline,
        stageName: approval.stage,
        actionName: approval.action,
        token,
        result: { status: "Approved", summary: "Approved by Jane (U1)" },
        ...overrides,
      });

    it("shows a pending approval's token in GetPipelineState", async () => {
      // Prepare
      const token = aws.addPendingApproval(approval);
      const client = new CodePipelineClient({});

      // Act
      const state = await client.send(new GetPipelineStateCommand({ name: "api-prod" }));

      // Assess
      const stage = state.stageStates?.find((s) => s.stageName === "Prod");
      expect(stage?.latestExecution).toEqual({
        pipelineExecutionId: EXEC_1,
        status: "InProgress",
      });
      expect(stage?.actionStates?.[0]?.latestExecution).toMatchObject({
        status: "InProgress",
        token,
      });
      expect(stage?.actionStates?.[0]?.latestExecution?.lastStatusChange).toBeInstanceOf(Date);
      expect(aws.state.codepipeline.calls).toEqual([
        expect.objectContaining({ operation: "GetPipelineState", input: { name: "api-prod" } }),
      ]);
    });

    it("approves once, then answers ApprovalAlreadyCompletedException", async () => {
      // Prepare
      const token = aws.addPendingApproval(approval);
      const client = new CodePipelineClient({});

      // Act
      const first = await client.send(approve(token));
      const second = client.send(approve(token));

      // Assess
      expect(first.approvedAt).toBeInstanceOf(Date);
      await expect(second).rejects.toBeInstanceOf(ApprovalAlreadyCompletedException);
      const action = aws.state.codepipeline.pipelines["api-prod"].stages[0].actions[0];
      expect(action).toMatchObject({ status: "Succeeded", summary: "Approved by Jane (U1)" });
      const state = await client.send(new GetPipelineStateCommand({ name: "api-prod" }));
      expect(state.stageStates?.[0]?.actionStates?.[0]?.latestExecution?.token).toBeUndefined();
    });

    it("rejects a wrong token, a malformed one, an unknown stage and an unknown pipeline with named exceptions", async () => {
      // Prepare
      const token = aws.addPendingApproval(approval);
      const client = new CodePipelineClient({});

      // Act (each call awaited on its own: a rejection left pending would be reported unhandled)
      const wrongToken = await client
        .send(approve("00000000-0000-4000-8000-000000000000"))
        .catch((e: unknown) => e);
      // Not even of the token's documented pattern: refused before any lookup.
      const malformed = await client.send(approve("not-the-token")).catch((e: unknown) => e);
      const unknownStage = await client
        .send(approve(token, { stageName: "Nope" }))
        .catch((e: unknown) => e);
      const unknownPipeline = await client
        .send(approve(token, { pipelineName: "nope" }))
        .catch((e: unknown) => e);

      // Assess
      expect(wrongToken).toBeInstanceOf(InvalidApprovalTokenException);
      expect(malformed).toBeInstanceOf(ValidationException);
      expect(unknownStage).toBeInstanceOf(StageNotFoundException);
      expect(unknownPipeline).toBeInstanceOf(PipelineNotFoundException);
      expect(aws.state.codepipeline.pipelines["api-prod"].stages[0].actions[0].status).toBe(
        "InProgress",
      );
    });

    it("fails the action and the execution on a rejection", async () => {
      // Prepare
      const token = aws.addPendingApproval(approval);
      const client = new CodePipelineClient({});

      // Act
      await client.send(
        approve(token, { result: { status: "Rejected", summary: "Rejected by Bob" } }),
      );
      const execution = await client.send(
        new GetPipelineExecutionCommand({
          pipelineName: "api-prod",
          pipelineExecutionId: EXEC_1,
        }),
      );

      // Assess
      expect(execution.pipelineExecution?.status).toBe("Failed");
      const state = await client.send(new GetPipelineStateCommand({ name: "api-prod" }));
      expect(state.stageStates?.[0]?.actionStates?.[0]?.latestExecution).toMatchObject({
        status: "Failed",
        summary: "Rejected by Bob",
      });
    });

    it("describes a failed execution through GetPipelineExecution and ListActionExecutions", async () => {
      // Prepare
      aws.addFailedExecution({
        pipeline: "api-prod",
        executionId: EXEC_9,
        stage: "Build",
        action: "Compile",
        category: "Build",
        provider: "CodeBuild",
        errorCode: "JobFailed",
        summary: "Build terminated with state: FAILED",
        externalExecutionUrl: "https://console.aws.amazon.com/codebuild/run/1",
        revision: { name: "Source", revisionId: "abc123", revisionSummary: "fix: thing" },
        trigger: { triggerType: "Webhook", triggerDetail: "arn:aws:codestar-connections:x" },
      });
      aws.addPendingApproval({ ...approval, executionId: EXEC_10 });
      const client = new CodePipelineClient({});

      // Act
      const execution = await client.send(
        new GetPipelineExecutionCommand({
          pipelineName: "api-prod",
          pipelineExecutionId: EXEC_9,
        }),
      );
      const actions = await client.send(
        new ListActionExecutionsCommand({
          pipelineName: "api-prod",
          filter: { pipelineExecutionId: EXEC_9 },
        }),
      );

      // Assess
      expect(execution.pipelineExecution).toMatchObject({
        status: "Failed",
        artifactRevisions: [
          { name: "Source", revisionId: "abc123", revisionSummary: "fix: thing" },
        ],
        trigger: { triggerType: "Webhook" },
      });
      expect(actions.actionExecutionDetails).toHaveLength(1);
      expect(actions.actionExecutionDetails?.[0]).toMatchObject({
        stageName: "Build",
        actionName: "Compile",
        status: "Failed",
        input: { actionTypeId: { category: "Build", provider: "CodeBuild" } },
        output: {
          executionResult: {
            externalExecutionSummary: "Build terminated with state: FAILED",
            externalExecutionUrl: "https://console.aws.amazon.com/codebuild/run/1",
            errorDetails: { code: "JobFailed" },
          },
        },
      });
    });

    it("holds an operation for its injected delay, so a bounded client gives up", async () => {
      // Prepare
      aws.addPendingApproval(approval);
      aws.delays.codepipeline.GetPipelineState = 30_000;
      const client = new CodePipelineClient({
        maxAttempts: 1,
        // requestTimeout alone only logs a warning in @smithy/node-http-handler 4.x.
        requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
      });

      // Act
      const read = client.send(new GetPipelineStateCommand({ name: "api-prod" }));

      // Assess
      await expect(read).rejects.toThrow(/timed? ?out/i);
      expect(aws.state.codepipeline.calls.map((c) => c.operation)).toEqual(["GetPipelineState"]);
    });
  });

  describe("Lambda", () => {
    it("runs the registered function for an async (Event) invoke", async () => {
      // Prepare
      const seen: unknown[] = [];
      aws.registerFunction("approval", async (event) => {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(event);
        return "done";
      });
      const client = new LambdaClient({});

      // Act
      const out = await client.send(
        new InvokeCommand({
          FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:approval",
          InvocationType: "Event",
          Payload: JSON.stringify({ decision: "approve" }),
        }),
      );
      await aws.idle();

      // Assess
      expect(out.StatusCode).toBe(202);
      expect(seen).toEqual([{ decision: "approve" }]);
      expect(aws.state.lambda.invocations).toEqual([
        expect.objectContaining({
          functionName: "approval",
          invocationType: "Event",
          done: true,
          result: "done",
        }),
      ]);
    });

    it("refuses an Event payload over 256 KB with RequestTooLargeException (413) and runs nothing", async () => {
      const seen: unknown[] = [];
      aws.registerFunction("approval", async (event) => void seen.push(event));
      const client = new LambdaClient({ maxAttempts: 1 });
      const payload = JSON.stringify({ text: "x".repeat(262_144) });

      const call = client.send(
        new InvokeCommand({ FunctionName: "approval", InvocationType: "Event", Payload: payload }),
      );

      await expect(call).rejects.toMatchObject({
        name: "RequestTooLargeException",
        $metadata: expect.objectContaining({ httpStatusCode: 413 }),
      });
      await aws.idle();
      expect(seen).toEqual([]);
      client.destroy();
    });

    it("returns the result of a RequestResponse invoke, and the error of a failing function", async () => {
      // Prepare
      aws.registerFunction("echo", async (event) => ({ echoed: event }));
      aws.registerFunction("broken", async () => {
        throw new Error("boom");
      });
      const client = new LambdaClient({});

      // Act
      const ok = await client.send(new InvokeCommand({ FunctionName: "echo", Payload: '{"a":1}' }));
      const failed = await client.send(
        new InvokeCommand({ FunctionName: "broken", Payload: "{}" }),
      );
      const missing = client.send(new InvokeCommand({ FunctionName: "missing" }));

      // Assess
      expect(JSON.parse(Buffer.from(ok.Payload ?? []).toString())).toEqual({ echoed: { a: 1 } });
      expect(failed.FunctionError).toBe("Unhandled");
      expect(JSON.parse(Buffer.from(failed.Payload ?? []).toString())).toMatchObject({
        errorMessage: "boom",
      });
      await expect(missing).rejects.toBeInstanceOf(LambdaNotFound);
    });

    it("answers a DryRun without running the function, and fails with an injected fault", async () => {
      // Prepare
      const seen: unknown[] = [];
      aws.registerFunction("approval", async (event) => seen.push(event));
      aws.faults.lambda = { code: "TooManyRequestsException", status: 429, times: 1 };
      const client = new LambdaClient({ maxAttempts: 1 });

      // Act
      const throttled = client.send(new InvokeCommand({ FunctionName: "approval" }));
      await expect(throttled).rejects.toMatchObject({ name: "TooManyRequestsException" });
      const dryRun = await client.send(
        new InvokeCommand({ FunctionName: "approval", InvocationType: "DryRun" }),
      );

      // Assess
      expect(dryRun.StatusCode).toBe(204);
      expect(seen).toEqual([]);
      expect(aws.faults.lambda).toBeNull();
      expect(aws.state.lambda.invocations).toEqual([
        expect.objectContaining({ functionName: "approval", invocationType: "DryRun", done: true }),
      ]);
      client.destroy();
    });
  });

  describe("SQS", () => {
    it("records a SendMessage with its string attributes and answers the body's MD5", async () => {
      // Prepare
      // The queue URL names AWS; the endpoint variable (not the URL's host) must win, as in the fan-out.
      const client = new SQSClient({ useQueueUrlAsEndpoint: false });
      const queueUrl = "https://sqs.us-east-1.amazonaws.com/123456789012/fanout-dlq";

      // Act: the SDK checks MD5OfMessageBody against the body it sent.
      const out = await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: '{"detail":{}}',
          MessageAttributes: { reason: { DataType: "String", StringValue: "channel_not_found" } },
        }),
      );

      // Assess
      expect(out.MessageId).toBe(aws.state.sqs.sent[0]?.messageId);
      expect(aws.state.sqs.sent).toEqual([
        expect.objectContaining({
          queueUrl,
          body: '{"detail":{}}',
          attributes: { reason: "channel_not_found" },
        }),
      ]);
      client.destroy();
    });

    it.each([
      ["a control character in the body", { MessageBody: "a\u0000b" }, "InvalidMessageContents"],
      ["an empty body", { MessageBody: "" }, "MissingParameter"],
      [
        "a control character in a String attribute",
        { MessageAttributes: { reason: { DataType: "String", StringValue: "\u001b[31m" } } },
        "InvalidMessageContents",
      ],
      [
        "an empty String attribute",
        { MessageAttributes: { reason: { DataType: "String", StringValue: "" } } },
        "InvalidParameterValue",
      ],
      [
        "11 attributes",
        {
          MessageAttributes: Object.fromEntries(
            Array.from({ length: 11 }, (_, i) => [
              `a${i}`,
              { DataType: "String", StringValue: "x" },
            ]),
          ),
        },
        "InvalidParameterValue",
      ],
      [
        "a body that fits the queue's 262,144 bytes only without its attributes",
        {
          MessageBody: "é".repeat(131_000),
          MessageAttributes: { reason: { DataType: "String", StringValue: "x".repeat(140) } },
        },
        "InvalidParameterValue",
      ],
    ])(
      "refuses %s as SQS does (SendMessage, MessageAttributeValue)",
      async (_what, patch, code) => {
        const client = new SQSClient({ useQueueUrlAsEndpoint: false, maxAttempts: 1 });
        const call = client.send(
          new SendMessageCommand({
            QueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/fanout-dlq",
            MessageBody: "{}",
            ...patch,
          }),
        );
        await expect(call).rejects.toMatchObject({ name: code });
        expect(aws.state.sqs.sent).toEqual([]);
        client.destroy();
      },
    );
  });

  it("answers a 400 naming an operation it does not stand in for", async () => {
    // Prepare: DynamoDB is dynalite's job, not this server's.
    const client = new DynamoDBClient({ endpoint: aws.url, maxAttempts: 1 });

    // Act
    const call = client.send(new ListTablesCommand({}));

    // Assess
    await expect(call).rejects.toThrow("no stand-in for DynamoDB_20120810.ListTables");
    client.destroy();
  });
});

describe("dynalite", () => {
  let dynamo: Dynalite;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(() => dynamo.close());

  it("creates the audit table as declared and answers a query on the byExecution index", async () => {
    // Prepare
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    });
    const doc = DynamoDBDocumentClient.from(client);
    await createAuditTable(dynamo.endpoint, "audit");

    // Act
    await doc.send(
      new PutCommand({
        TableName: "audit",
        Item: {
          pk: "PIPELINE#api-prod",
          sk: "2025-01-01T00:00:00.000Z#1",
          gsi1pk: "EXEC#exec-1",
          gsi1sk: "2025-01-01T00:00:00.000Z",
          action: "sent",
          expiresAt: 1_900_000_000,
        },
      }),
    );
    const found = await doc.send(
      new QueryCommand({
        TableName: "audit",
        IndexName: "byExecution",
        KeyConditionExpression: "gsi1pk = :e",
        ExpressionAttributeValues: { ":e": "EXEC#exec-1" },
      }),
    );
    const { Table } = await client.send(new DescribeTableCommand({ TableName: "audit" }));

    // Assess
    expect(found.Items).toEqual([
      expect.objectContaining({ pk: "PIPELINE#api-prod", action: "sent" }),
    ]);
    expect(Table?.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(Table?.GlobalSecondaryIndexes?.[0]).toMatchObject({
      IndexName: "byExecution",
      Projection: { ProjectionType: "ALL" },
    });
    client.destroy();
  });
});

describe("channel receivers", () => {
  let receivers: Receivers;
  beforeAll(async () => {
    receivers = await startReceivers();
  });
  afterAll(() => receivers.close());
  beforeEach(() => receivers.reset());

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("answers a Slack webhook like Slack and records the delivery", async () => {
    // Prepare
    const seen: Delivery[] = [];
    const stop = receivers.onDelivery((d) => seen.push(d));

    // Act
    const ok = await post(receivers.urlFor("slack", "slack-eng"), { text: "deployed" });
    const empty = await post(receivers.urlFor("slack", "slack-eng"), { username: "x" });
    stop();

    // Assess
    expect([ok.status, await ok.text()]).toEqual([200, "ok"]);
    expect([empty.status, await empty.text()]).toEqual([400, "no_text"]);
    expect(receivers.byReceiver("slack", "slack-eng")).toEqual([
      expect.objectContaining({ receiver: "slack", name: "slack-eng", body: { text: "deployed" } }),
    ]);
    expect(seen).toHaveLength(1);
    expect(receivers.attemptsOf("slack").map((a) => a.outcome)).toEqual(["delivered", "rejected"]);
  });

  it("requires a bot or user token on the Slack Web API and updates posted messages", async () => {
    // Prepare
    const auth = { authorization: "Bearer xoxb-test" };

    // Act
    const unauthed = await (
      await post(`${receivers.slackApiUrl}/chat.postMessage`, { channel: "C1", text: "x" })
    ).json();
    const wrongSecret = await (
      await post(
        `${receivers.slackApiUrl}/chat.postMessage`,
        { channel: "C1", text: "x" },
        { authorization: "Bearer 8f742231b10e8888abcd99yyyzzz85a5" },
      )
    ).json();
    const posted = await (
      await post(
        `${receivers.slackApiUrl}/chat.postMessage`,
        { channel: "C1", text: "Approve?" },
        auth,
      )
    ).json();
    const updated = await (
      await post(
        `${receivers.slackApiUrl}/chat.update`,
        { channel: "C1", ts: posted.ts, text: "Approved" },
        auth,
      )
    ).json();

    // Assess
    expect(unauthed).toEqual({ ok: false, error: "not_authed" });
    // A signing secret sent as the token is no bot (xoxb-) or user (xoxp-) token.
    expect(wrongSecret).toEqual({ ok: false, error: "invalid_auth" });
    expect(posted).toMatchObject({ ok: true, channel: "C1" });
    expect(updated).toMatchObject({ ok: true, ts: posted.ts });
    expect(receivers.slackMessages[`C1:${posted.ts}`]).toMatchObject({
      text: "Approved",
      updates: 1,
    });
    expect(receivers.byReceiver("slack-api").map((d) => d.name)).toEqual([
      "chat.postMessage",
      "chat.update",
    ]);
  });

  it("records a Slack response_url reply", async () => {
    // Act
    const res = await post(receivers.urlFor("slack-response", "r1"), {
      replace_original: true,
      text: "Approved",
    });

    // Assess
    expect(await res.text()).toBe("ok");
    expect(receivers.byReceiver("slack-response", "r1")[0].body).toEqual({
      replace_original: true,
      text: "Approved",
    });
  });

  it("models PagerDuty incidents: trigger dedups, resolve closes, the same key opens a new one", async () => {
    // Prepare
    const event = (event_action: string) => ({
      routing_key: ROUTING_KEY,
      event_action,
      dedup_key: "api-prod/exec-1",
      payload: { summary: "api-prod failed", source: "codepipeline", severity: "critical" },
    });

    // Act
    const first = await post(receivers.pagerdutyEndpoint, event("trigger"));
    await post(receivers.pagerdutyEndpoint, event("trigger"));
    await post(receivers.pagerdutyEndpoint, event("acknowledge"));
    const acknowledged = receivers.incidents.map((i) => i.status);
    await post(receivers.pagerdutyEndpoint, event("resolve"));
    await post(receivers.pagerdutyEndpoint, event("trigger"));

    // Assess
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({
      status: "success",
      message: "Event processed",
      dedup_key: "api-prod/exec-1",
    });
    expect(acknowledged).toEqual(["acknowledged"]);
    expect(receivers.incidents.map((i) => [i.status, i.triggers])).toEqual([
      ["resolved", 2],
      ["triggered", 1],
    ]);
  });

  it("answers 400 to an invalid PagerDuty event", async () => {
    // Act
    const noKey = await post(receivers.pagerdutyEndpoint, { event_action: "trigger", payload: {} });
    const badSeverity = await post(receivers.pagerdutyEndpoint, {
      routing_key: ROUTING_KEY,
      event_action: "trigger",
      payload: { summary: "s", source: "x", severity: "urgent" },
    });
    const badAction = await post(receivers.pagerdutyEndpoint, {
      routing_key: ROUTING_KEY,
      event_action: "page",
    });

    // Assess
    expect([noKey.status, badSeverity.status, badAction.status]).toEqual([400, 400, 400]);
    expect(await badSeverity.json()).toMatchObject({ status: "invalid event" });
    expect(receivers.incidents).toEqual([]);
    expect(receivers.byReceiver("pagerduty")).toEqual([]);
  });

  it("accepts Adaptive Card messages on Teams only, and answers Discord, webhooks and health", async () => {
    // Prepare
    const card = {
      type: "message",
      attachments: [
        {
          contentType: "application/vnd.microsoft.card.adaptive",
          content: { type: "AdaptiveCard", version: "1.4", body: [] },
        },
      ],
    };

    // Act
    const teams = await post(receivers.urlFor("teams", "teams-ops"), card);
    const legacy = await post(receivers.urlFor("teams", "teams-ops"), {
      "@type": "MessageCard",
      text: "x",
    });
    const discord = await post(receivers.urlFor("discord", "dev"), { content: "deployed" });
    const discordEmpty = await post(receivers.urlFor("discord", "dev"), {});
    const webhook = await post(receivers.urlFor("webhook", "audit-sink"), { kind: "failure" });
    const health = await fetch(`${receivers.url}/health`);

    // Assess
    expect([teams.status, legacy.status]).toEqual([202, 400]);
    expect([discord.status, discordEmpty.status]).toEqual([204, 400]);
    expect(webhook.status).toBe(200);
    expect(health.status).toBe(200);
    expect(receivers.deliveries.map((d) => `${d.receiver}/${d.name}`)).toEqual([
      "teams/teams-ops",
      "discord/dev",
      "webhook/audit-sink",
    ]);
  });

  it("opens a Slack modal only with a trigger_id and a title of at most 24 characters", async () => {
    // Prepare
    const auth = { authorization: "Bearer xoxb-test" };
    const view = (title: string) => ({
      type: "modal",
      title: { type: "plain_text", text: title },
      blocks: [],
    });
    const open = async (body: unknown) =>
      (await post(`${receivers.slackApiUrl}/views.open`, body, auth)).json();

    // Act
    const opened = await open({ trigger_id: "1.2.abc", view: view("Reject deployment") });
    const noTrigger = await open({ view: view("Reject deployment") });
    const longTitle = await open({ trigger_id: "1.2.abc", view: view("x".repeat(25)) });

    // Assess
    expect(opened).toMatchObject({ ok: true, view: { type: "modal" } });
    expect(opened.view.id).toMatch(/^V\d{10}$/);
    expect(noTrigger).toEqual({ ok: false, error: "invalid_trigger_id" });
    expect(longTitle).toEqual({ ok: false, error: "invalid_arguments" });
    expect(receivers.attemptsOf("slack-api").map((a) => a.outcome)).toEqual([
      "delivered",
      "rejected",
      "rejected",
    ]);
  });

  it("accepts a PagerDuty change event without opening an incident", async () => {
    // Act
    const res = await post(receivers.urlFor("pagerduty", "change"), {
      routing_key: ROUTING_KEY,
      payload: { summary: "deployed main-app", source: "deploy-notifier" },
    });

    // Assess
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: "success" });
    expect(receivers.incidents).toEqual([]);
    expect(receivers.byReceiver("pagerduty", "change")).toHaveLength(1);
  });

  it("fails N times with the injected status and Retry-After, then recovers", async () => {
    // Prepare
    receivers.setFault("slack", { status: 429, retryAfter: 7, body: "rate_limited", times: 3 });
    const url = receivers.urlFor("slack", "slack-eng");

    // Act
    const answers: Array<[number, string | null]> = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(url, { text: "deployed" });
      answers.push([res.status, res.headers.get("retry-after")]);
      await res.text();
    }

    // Assess
    expect(answers).toEqual([
      [429, "7"],
      [429, "7"],
      [429, "7"],
      [200, null],
    ]);
    expect(receivers.attemptsOf("slack", "slack-eng")).toHaveLength(4);
    expect(receivers.byReceiver("slack", "slack-eng")).toHaveLength(1);
  });

  it("holds a request open on a timeout fault and destroys the socket on a reset fault", async () => {
    // Prepare
    const url = receivers.urlFor("webhook", "w");

    // Act
    receivers.setFault("webhook", { kind: "timeout", times: 1 });
    const timedOut = post(url, {}).then(
      () => "answered",
      (err: unknown) => errorField(err, "name"),
    );
    const timeoutOutcome = await Promise.race([
      timedOut,
      fetch(url, { method: "POST", body: "{}", signal: AbortSignal.timeout(300) }).then(
        () => "second answered",
        (err: unknown) => errorField(err, "name"),
      ),
    ]);
    receivers.setFault("webhook", { kind: "reset", times: 1 });
    const reset = await post(url, {}).then(
      () => "answered",
      (err: unknown) => errorField(err, "message"),
    );
    const recovered = await post(url, {});

    // Assess: the held request never answered; the next one (after times: 1) did.
    expect(timeoutOutcome).toBe("second answered");
    expect(reset).toBe("fetch failed");
    expect(recovered.status).toBe(200);
    expect(receivers.attemptsOf("webhook").map((a) => a.outcome)).toEqual([
      "timeout",
      "delivered",
      "reset",
      "delivered",
    ]);
  });
});

describe("close()", () => {
  it("ends a request held by a timeout fault, so nothing keeps the process alive", async () => {
    // Prepare
    const receivers = await startReceivers();
    receivers.setFault("slack", { kind: "timeout" });
    const held = fetch(receivers.urlFor("slack", "s"), { method: "POST", body: "{}" }).then(
      () => "answered",
      () => "ended",
    );
    while (receivers.attempts.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    // Act
    await receivers.close();

    // Assess
    expect(await held).toBe("ended");
  });

  it("startAll starts every stand-in with one env and closes them all", async () => {
    // Prepare
    const all = await startAll();
    await createAuditTable(all.dynamo.endpoint, "audit");
    const client = new DynamoDBClient({
      endpoint: all.env.AWS_ENDPOINT_URL_DYNAMODB,
      region: all.env.AWS_REGION,
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
      maxAttempts: 1,
    });

    // Act
    const tables = await client.send(new ListTablesCommand({}));
    await all.close();
    const afterClose = client.send(new ListTablesCommand({}));
    afterClose.catch(() => undefined); // asserted below; never an unhandled rejection meanwhile

    // Assess
    expect(tables.TableNames).toEqual(["audit"]);
    expect(Object.keys(all.env).sort()).toEqual([
      "AWS_ACCESS_KEY_ID",
      "AWS_ENDPOINT_URL_CODEPIPELINE",
      "AWS_ENDPOINT_URL_DYNAMODB",
      "AWS_ENDPOINT_URL_LAMBDA",
      "AWS_ENDPOINT_URL_SECRETS_MANAGER",
      "AWS_ENDPOINT_URL_SNS",
      "AWS_ENDPOINT_URL_SQS",
      // Issue 14: the Lambdas assume roles in source accounts through the local STS.
      "AWS_ENDPOINT_URL_STS",
      "AWS_REGION",
      "AWS_SECRET_ACCESS_KEY",
    ]);
    await expect(afterClose).rejects.toThrow();
    client.destroy();
  });
});
