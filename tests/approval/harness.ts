/**
 * Test harness of the approval handler: the stand-ins (AWS, dynalite, receivers), the handler
 * registered as the Lambda function it invokes, and helpers that sign requests like Slack does.
 */
import { randomUUID } from "node:crypto";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createAuditTable, startAll, type AllStandins } from "../../testing";
import {
  createApprovalHandler,
  type ApprovalHandler,
  type ApprovalHandlerConfig,
  type ApprovalResponse,
} from "../../handlers/approval";
import { computeSlackSignature } from "../../handlers/approval/signature";
import payloadFixture from "../events/slack/block-actions-approve.json";

export const SIGNING_SECRET = "test-signing-secret-0123456789abcdef";
export const SECRET_ARN =
  "arn:aws:secretsmanager:us-east-1:123456789012:secret:deploy-notifier/slack-app-AbCdEf";
export const TABLE = "approval-audit";
export const FUNCTION_NAME = "deploy-notifier-approval";
export const PIPELINE = "payments-prod";
export const STAGE = "Approve";
export const ACTION = "ManualApproval";
export const APPROVER_1 = { id: "U0APPROVER1", username: "jane.doe", name: "Jane Doe" };
export const APPROVER_2 = { id: "U0APPROVER2", username: "raj", name: "Raj Patel" };
export const OUTSIDER = { id: "U0OUTSIDER", username: "mallory", name: "Mallory" };

export const config: ApprovalHandlerConfig = {
  project: "deploy-notifier",
  stack: "test",
  auditRetentionDays: 30,
  // What index.ts passes: infra SETTINGS.approvalTimeoutSeconds.
  workTimeoutSeconds: 30,
  pipelines: [
    { match: { prefix: "payments-" }, tier: "standard", states: ["FAILED"] },
    {
      match: { name: PIPELINE },
      tier: "critical",
      states: ["FAILED"],
      approvals: { channel: "slack-deploys", approvers: [APPROVER_1.id, APPROVER_2.id] },
    },
  ],
};

/** Everything a test needs. */
export interface Harness {
  all: AllStandins;
  handler: ApprovalHandler;
  doc: DynamoDBDocumentClient;
}

/** Starts the stand-ins and points the SDK (env variables) at them. */
export async function startHarness(): Promise<Harness> {
  const all = await startAll();
  Object.assign(process.env, all.env, {
    AUDIT_TABLE: TABLE,
    SLACK_APP_SECRET_ARN: SECRET_ARN,
    AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
  });
  await createAuditTable(all.dynamo.endpoint, TABLE);
  // The Web API stand-in answers chat.update (the work's fallback when response_url fails).
  const handler = createApprovalHandler({ ...config, slackApiUrl: all.receivers.slackApiUrl });
  all.aws.registerFunction(FUNCTION_NAME, (event) => handler(event as never));
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: all.dynamo.endpoint }));
  return { all, handler, doc };
}

/**
 * One harness for a test file: started before its tests and handed to `set`, closed after them,
 * and reset ({@link resetHarness}) before each test.
 */
export function useHarness(set: (h: Harness) => void): void {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    set(h);
  });
  afterAll(async () => {
    await h.all.close();
  });
  beforeEach(() => resetHarness(h));
}

/** Clears the stand-ins between tests and stores the Slack app secret. */
export function resetHarness(h: Harness): void {
  h.all.aws.reset();
  h.all.receivers.reset();
  h.all.aws.state.secrets[SECRET_ARN] = JSON.stringify({ signingSecret: SIGNING_SECRET });
}

/** A pending approval with a fresh execution id, so tests never share claims. */
export function pendingApproval(h: Harness): { executionId: string; token: string } {
  const executionId = randomUUID();
  const token = h.all.aws.addPendingApproval({
    pipeline: PIPELINE,
    stage: STAGE,
    action: ACTION,
    executionId,
  });
  return { executionId, token };
}

/**
 * A pending approval (stage {@link STAGE}, action {@link ACTION}) whose run has its own action
 * execution id (buttons posted with a run), in `where.pipeline` (default {@link PIPELINE}) and a
 * fresh execution unless `where.executionId` is given: `{ executionId, run, token }`.
 */
export function pendingRun(
  aws: AllStandins["aws"],
  where: { pipeline?: string; executionId?: string } = {},
): { executionId: string; run: string; token: string } {
  const { pipeline = PIPELINE, executionId = randomUUID() } = where;
  const run = `run-${randomUUID()}`;
  const token = aws.addPendingApproval({
    pipeline,
    stage: STAGE,
    action: ACTION,
    executionId,
    actionExecutionId: run,
  });
  return { executionId, run, token };
}

/**
 * Runs `act` when the CodePipeline stand-in records its `nth` PutApprovalResult call (before it
 * answers it): what happens in CodePipeline between a work's calls. Undone by the stand-ins'
 * reset (a new calls list).
 */
export function onPutApprovalResult(h: Harness, nth: number, act: () => void): void {
  const calls = h.all.aws.state.codepipeline.calls;
  const push = calls.push.bind(calls);
  let puts = 0;
  calls.push = (...items) => {
    if (items.some((c) => c.operation === "PutApprovalResult") && ++puts === nth) act();
    return push(...items);
  };
}

/**
 * Clicks a button of the request of `click.executionId` (and of `click.run`, when the buttons
 * name their run) as `click.user`, signed; resolves with the function URL's answer and the id of
 * the click's `response_url`, without waiting for the asynchronous work.
 */
export async function clickAs(
  h: Harness,
  click: {
    user: typeof APPROVER_1;
    executionId: string;
    run?: string;
    actionId?: string;
    channel?: string;
    messageTs?: string;
  },
): Promise<{ res: ApprovalResponse; responseId: string }> {
  const { id, url } = responseUrl(h);
  const payload = clickPayload({
    user: click.user,
    executionId: click.executionId,
    responseUrl: url,
    actionId: click.actionId,
    actionExecutionId: click.run,
    channel: click.channel,
    messageTs: click.messageTs,
  });
  const res = (await h.handler(signedEvent(formBody(payload)))) as ApprovalResponse;
  return { res, responseId: id };
}

/** The JSON of a block_actions click, built from the fixture. */
export function clickPayload(opts: {
  user: { id: string; username: string; name: string };
  executionId: string;
  actionId?: string;
  pipeline?: string;
  responseUrl: string;
  /** The approval run the request was posted for (absent: a button posted before runs). */
  actionExecutionId?: string;
  /** The message's channel and ts (`container`), e.g. of a message on the Web API stand-in. */
  channel?: string;
  messageTs?: string;
}): Record<string, unknown> {
  const value = JSON.stringify({
    pipeline: opts.pipeline ?? PIPELINE,
    stage: STAGE,
    action: ACTION,
    executionId: opts.executionId,
    actionExecutionId: opts.actionExecutionId,
  });
  const channel = opts.channel ?? payloadFixture.container.channel_id;
  return {
    ...payloadFixture,
    container: {
      ...payloadFixture.container,
      channel_id: channel,
      message_ts: opts.messageTs ?? payloadFixture.container.message_ts,
    },
    channel: { ...payloadFixture.channel, id: channel },
    user: { ...opts.user, team_id: "T0TEAM" },
    response_url: opts.responseUrl,
    actions: [
      {
        ...payloadFixture.actions[0],
        action_id: opts.actionId ?? "deploy-notifier.approve",
        value,
      },
    ],
  };
}

/** The form body Slack posts for an interaction. */
export function formBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A function URL event signed like Slack signs it; `overrides` forge parts of it. */
export function signedEvent(
  body: string,
  opts: {
    timestamp?: number;
    secret?: string;
    contentType?: string;
    headers?: Record<string, string | undefined>;
    base64?: boolean;
  } = {},
): LambdaFunctionURLEvent {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = computeSlackSignature(opts.secret ?? SIGNING_SECRET, timestamp, body);
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/",
    rawQueryString: "",
    headers: {
      "content-type": opts.contentType ?? "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": timestamp,
      "x-slack-signature": signature,
      ...opts.headers,
    },
    body: opts.base64 ? Buffer.from(body, "utf8").toString("base64") : body,
    isBase64Encoded: opts.base64 ?? false,
    requestContext: {
      accountId: "anonymous",
      apiId: "standin",
      domainName: "standin.lambda-url.us-east-1.on.aws",
      domainPrefix: "standin",
      http: {
        method: "POST",
        path: "/",
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "Slackbot",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
  };
}

/** A fresh response_url on the receiver stand-in, and its id. */
export function responseUrl(h: Harness): { id: string; url: string } {
  const id = randomUUID();
  return { id, url: h.all.receivers.urlFor("slack-response", id) };
}

/** Bodies posted to one response_url. */
export function postsTo(h: Harness, id: string): Record<string, unknown>[] {
  return h.all.receivers
    .byReceiver("slack-response", id)
    .map((d) => d.body as Record<string, unknown>);
}

/** Audit items of the pipeline for one execution, read back from dynalite. */
export async function auditItems(
  h: Harness,
  executionId: string,
  pipeline = PIPELINE,
): Promise<Record<string, unknown>[]> {
  const out = await h.doc.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": `PIPELINE#${pipeline}` },
    }),
  );
  return (out.Items ?? []).filter((item) => item.executionId === executionId);
}

/** The decision claim of an execution (of one approval run with `run`), if any. */
export async function claimOf(
  h: Harness,
  executionId: string,
  run?: string,
): Promise<Record<string, unknown> | undefined> {
  const out = await h.doc.send(
    new GetCommand({
      TableName: TABLE,
      Key: {
        pk: `APPROVAL#${PIPELINE}#${executionId}`,
        sk: run ? `${STAGE}#${ACTION}#${run}` : `${STAGE}#${ACTION}`,
      },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

/** Recorded CodePipeline calls of one operation. */
export function cpCalls(h: Harness, operation: string) {
  return h.all.aws.state.codepipeline.calls.filter((c) => c.operation === operation);
}

/**
 * Captures everything the handler logs (the telemetry logger writes JSON lines to stdout; console
 * is captured too) at log level INFO, until `restore()`.
 */
export function captureLogs(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const level = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = "INFO";
  const spies = [
    ...(["log", "warn", "error"] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      }),
    ),
    jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }),
  ];
  return {
    lines,
    restore: () => {
      spies.forEach((spy) => spy.mockRestore());
      if (level === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
      else process.env.POWERTOOLS_LOG_LEVEL = level;
    },
  };
}

/**
 * Makes the DynamoDB stand-in answer ProvisionedThroughputExceededException to the first `times`
 * requests of `operation` whose JSON body contains a marker, counted per marker (`Infinity`:
 * every one); returns the counts so far. Undone by `jest.restoreAllMocks()`.
 */
export function throttleDynamo(
  h: Harness,
  operation: string,
  markers: string[],
  times: number,
): Record<string, number> {
  const faults = h.all.dynamo.faults;
  const decide = faults.decide.bind(faults);
  const counts: Record<string, number> = {};
  jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
    const marker = markers.find((m) => op === operation && body.includes(m));
    const verdict = decide(op, body);
    if (marker === undefined || (counts[marker] ?? 0) >= times) return verdict;
    counts[marker] = (counts[marker] ?? 0) + 1;
    return "ProvisionedThroughputExceededException";
  });
  return counts;
}

/**
 * Runs the asynchronous work with a Lambda context whose `getRemainingTimeInMillis()` starts at
 * `remainingMs` (the work's deadline), until the returned function restores the plain handler.
 */
export function workWithRemainingTime(h: Harness, remainingMs: number): () => void {
  h.all.aws.registerFunction(FUNCTION_NAME, (event) => {
    const end = Date.now() + remainingMs;
    const context = { getRemainingTimeInMillis: () => end - Date.now() };
    return h.handler(event as never, context as never);
  });
  return () => h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
}
