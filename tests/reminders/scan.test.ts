/**
 * Approval reminders and expiry (issue 10), in process against real local receivers, the AWS
 * stand-ins and dynalite: the fan-out records a posted approval request; the schedule rule's scan
 * message (handlers/contracts/reminder-scan.ts) makes it remind the approvers once, within the
 * lead window, and mark the request expired when CodePipeline expired it.
 *
 * Right values from the services' documentation:
 * - CodePipeline: an approval with no answer within its timeout (7 days by default) ends as a
 *   FAILED approval action with no summary (user guide, "Manage approval actions"; REFERENCE.md);
 *   ListActionExecutions lists every run of an execution (API_ListActionExecutions.html).
 * - Slack: a reply goes in a thread by `thread_ts` = the parent's `ts`
 *   (https://api.slack.com/methods/chat.postMessage); chat.update names the message by `channel`
 *   and `ts` and answers `message_not_found` otherwise (https://api.slack.com/methods/chat.update);
 *   an incoming webhook can only post new messages.
 * - DynamoDB: `ProvisionedThroughputExceededException` and `ThrottlingException` are retryable
 *   and the SDK retries them (developer guide, "Error handling with DynamoDB"; handlers/aws.ts:
 *   3 attempts per call); a refused condition returns the item that refused it with
 *   `ReturnValuesOnConditionCheckFailure: ALL_OLD` (API reference, UpdateItem).
 * - Lambda: no invocation runs longer than 900 s (developer guide, "Configure Lambda function
 *   timeout"), so a claim older than the lease (store/pending.ts STEP_LEASE_MS) has no live owner.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../../handlers/aws";
import { REMINDER_SCAN_INPUT } from "../../handlers/contracts/reminder-scan";
import { DEADLINE_MARGIN_MS } from "../../handlers/fanout/handler";
import { scaledMs, TIME_SCALE_ENV } from "../../handlers/http";
import { PENDING_APPROVALS_PARTITION } from "../../handlers/store/keys";
import * as pendingStore from "../../handlers/store/pending";
import { STEP_LEASE_MS } from "../../handlers/store/pending";
import { expireApprovals, putApprovalResult } from "../../testing/aws/codepipeline";
import {
  pendingApprovalStarted,
  record,
  TABLE,
  setReleasesMode,
  startReleasesBotWorld,
  throttleCalls,
  type FanoutWorld,
} from "../support/fanout";

const PIPELINE = "main-app-production-v3";
const CHANNEL_ID = "C0123456789";
const DAY = 86_400_000;
const HOUR = 3_600_000;

let world: FanoutWorld;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  // Both secrets, so that a test can switch the channel between webhook and bot mode.
  world = await startReleasesBotWorld(CHANNEL_ID);
  doc = world.doc;
}, 60_000);
afterAll(() => world.close());
beforeEach(async () => {
  world.reset();
  // Each test's request post starts with the channel's burst (as useFanoutWorld's tests do), not
  // paced behind the posts of the tests before it (up to 0.7 s of waiting each).
  await world.forgetPacing();
  setMode("bot");
  approvals().reminderBeforeHours = undefined;
});
afterEach(() => {
  jest.restoreAllMocks();
  removers.splice(0).forEach((remove) => remove());
});

/** The approvals channel's runtime config (the handler reads it per invocation). */
const setMode = (mode: "bot" | "webhook") => setReleasesMode(world, mode);
function approvals() {
  const rule = world.config.runtime.pipelines.find(
    (p) => "name" in p.match && p.match.name === PIPELINE,
  );
  return rule!.approvals!;
}

const r = () => world.standins.receivers;
const apiCalls = (method: string) => r().byReceiver("slack-api", method);
const webhookPosts = () => r().byReceiver("slack", "slack-releases");

/**
 * A pending approval run in CodePipeline that started `ago` ms before now (7-day timeout), and
 * its STARTED event through the fan-out (which posts the request and records it as pending).
 */
async function requestPosted(ago: number) {
  const { executionId, actionExecutionId, at, started } = pendingApprovalStarted(
    world.standins.aws,
    PIPELINE,
    ago,
  );
  expect(await world.drain([started])).toEqual([]);
  return { executionId, actionExecutionId, at };
}

/** One scan message, as the schedule rule sends it to the events queue. */
function scanRecord() {
  return record(REMINDER_SCAN_INPUT, `scan-${randomUUID()}`);
}
async function scan() {
  expect(await world.invoke([scanRecord()])).toEqual({ batchItemFailures: [] });
}

/**
 * AWS time / local time of {@link shortScan} (http.ts `scaledMs`, as `npm start` runs the
 * fan-out): its 12 AWS seconds, whose DynamoDB writes a test refuses until the deadline (9 s in,
 * `DEADLINE_MARGIN_MS` before the end), last 6 s here instead of 12. The scans around it run at
 * scale 1, so a claim's lease is judged as before (`ageClaim`). Not faster: the scan claims
 * nothing later than its `SCAN_MARGIN_MS` (5 AWS s) before the deadline, 2 s in here, 1 s at scale
 * 4, which a scan beside two other test files on 2 cores once missed.
 */
const SHORT_SCAN_SCALE = 2;

/** One scan in a 12 s invocation (AWS time) on a clock {@link SHORT_SCAN_SCALE} times faster. */
async function shortScan() {
  const before = process.env[TIME_SCALE_ENV];
  process.env[TIME_SCALE_ENV] = String(SHORT_SCAN_SCALE);
  try {
    return await world.invoke([scanRecord()], 12_000 / SHORT_SCAN_SCALE);
  } finally {
    if (before === undefined) delete process.env[TIME_SCALE_ENV];
    else process.env[TIME_SCALE_ENV] = before;
  }
}

async function pendingItems(executionId: string) {
  const out = await doc.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": PENDING_APPROVALS_PARTITION },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).filter((i) => i.executionId === executionId);
}

const reminders = () =>
  apiCalls("chat.postMessage").filter((d: any) => /reminder/.test(String(d.body.text)));

describe("a pending request in bot mode", () => {
  it("is recorded with the message's channel id and ts once posted", async () => {
    const { executionId, actionExecutionId } = await requestPosted(HOUR);
    const [posted] = apiCalls("chat.postMessage");
    const [item] = await pendingItems(executionId);
    expect(item).toMatchObject({
      pipeline: PIPELINE,
      stage: "Approve",
      action: "ManualApproval",
      actionExecutionId,
      approvers: ["U012ABCDEF", "U034GHIJKL"],
      channel: "slack-releases",
      slackChannelId: CHANNEL_ID,
      messageTs: (posted.body as any).ts ?? expect.any(String),
    });
    const ts = Object.values(r().slackMessages).find((m) => m.channel === CHANNEL_ID)?.ts;
    expect(item.messageTs).toBe(ts);
  });

  it("gets one reminder in the request's thread (thread_ts = the request's ts), to its approvers", async () => {
    // 6.5 days into a 7-day timeout: inside the default 24 h lead window.
    const { executionId, at } = await requestPosted(6.5 * DAY);
    const [item] = await pendingItems(executionId);

    await scan();
    await scan();

    expect(reminders()).toHaveLength(1);
    const body = reminders()[0].body as any;
    expect(body.channel).toBe(CHANNEL_ID);
    expect(body.thread_ts).toBe(item.messageTs);
    expect(body.text).toContain("<@U012ABCDEF> <@U034GHIJKL>");
    const expires = new Date(at.getTime() + 7 * DAY).toISOString();
    // Slack's date formatting, the one human form as its fallback (docs.slack.dev,
    // "Formatting text for app surfaces": <!date^timestamp^token_string|fallback_text>).
    const epoch = Math.floor(Date.parse(expires) / 1000);
    const minute = `${expires.slice(0, 16).replace("T", " ")} UTC`;
    expect(body.text).toContain(`expires <!date^${epoch}^{date_num} {time}|${minute}>`);
    // Links the request's execution in the CodePipeline console.
    expect(JSON.stringify(body.blocks)).toContain(
      `/codepipeline/pipelines/${PIPELINE}/executions/${executionId}/`,
    );
    const audited = await world.audit((a) => a.action === "approval-reminder");
    expect(audited.filter((a) => a.executionId === executionId)).toEqual([
      expect.objectContaining({
        result: "sent in the request's thread",
        channel: "slack-releases",
      }),
    ]);
  });

  it("gets no reminder before the lead window opens, and one once a longer lead includes it", async () => {
    // Expires in 2 days: outside the default 24 h lead.
    await requestPosted(5 * DAY);
    await scan();
    expect(reminders()).toHaveLength(0);

    approvals().reminderBeforeHours = 72;
    await scan();
    expect(reminders()).toHaveLength(1);
  });

  it("gets one reminder from concurrent scans (a conditional claim per request)", async () => {
    await requestPosted(6.5 * DAY);
    await Promise.all([
      world.invoke([scanRecord(), scanRecord()]),
      world.invoke([scanRecord()]),
      world.invoke([scanRecord()]),
    ]);
    expect(reminders()).toHaveLength(1);
  });

  it("gets no reminder when it was decided elsewhere, and is forgotten", async () => {
    const { executionId } = await requestPosted(6.5 * DAY);
    const token = world.standins.aws.state.codepipeline.pipelines[PIPELINE].stages
      .flatMap((s) => s.actions)
      .find((a) => a.name === "ManualApproval")?.token;
    putApprovalResult(world.standins.aws.state, {
      pipelineName: PIPELINE,
      stageName: "Approve",
      actionName: "ManualApproval",
      token,
      result: { status: "Approved", summary: "Approved in the console" },
    });

    await scan();

    expect(reminders()).toHaveLength(0);
    expect(await pendingItems(executionId)).toEqual([]);
  });

  it("is updated to expired in place when CodePipeline expires it (chat.update, buttons gone)", async () => {
    const { executionId } = await requestPosted(7 * DAY + HOUR);
    expireApprovals(world.standins.aws.state);
    const [item] = await pendingItems(executionId);

    await scan();
    await scan();

    const updates = apiCalls("chat.update");
    expect(updates).toHaveLength(1);
    const body = updates[0].body as any;
    expect({ channel: body.channel, ts: body.ts }).toEqual({
      channel: CHANNEL_ID,
      ts: item.messageTs,
    });
    expect(body.text).toContain("expired — no decision in 7 days");
    const message = r().slackMessages[`${CHANNEL_ID}:${item.messageTs}`];
    expect(message.updates).toBe(1);
    expect(JSON.stringify(message.blocks)).not.toContain('"actions"');
    expect(reminders()).toHaveLength(0);
    expect(await pendingItems(executionId)).toEqual([]);
    const audited = await world.audit((a) => a.action === "approval-expired");
    expect(audited.filter((a) => a.executionId === executionId)).toEqual([
      expect.objectContaining({ result: "request message updated" }),
    ]);
  });

  it("says so anew and audits message-not-updated when Slack answers message_not_found", async () => {
    const { executionId } = await requestPosted(7 * DAY + HOUR);
    expireApprovals(world.standins.aws.state);
    const [item] = await pendingItems(executionId);
    delete r().slackMessages[`${CHANNEL_ID}:${item.messageTs}`];

    await scan();

    const notUpdated = await world.audit((a) => a.action === "message-not-updated");
    expect(notUpdated.filter((a) => a.executionId === executionId)).toEqual([
      expect.objectContaining({ result: expect.stringContaining("message_not_found") }),
    ]);
    const expired = apiCalls("chat.postMessage").filter((d: any) =>
      /expired — no decision/.test(String(d.body.text)),
    );
    expect(expired).toHaveLength(1);
    expect((expired[0].body as any).thread_ts).toBeUndefined();
    expect(await pendingItems(executionId)).toEqual([]);
  });
});

describe("a pending request posted by webhook", () => {
  beforeEach(() => setMode("webhook"));

  it("gets its one reminder as a new message (a webhook cannot reply in a thread)", async () => {
    const { executionId } = await requestPosted(6.5 * DAY);
    const [item] = await pendingItems(executionId);
    expect(item.messageTs).toBeUndefined();

    await scan();
    await scan();

    const posted = webhookPosts().filter((d: any) => /reminder/.test(String(d.body.text)));
    expect(posted).toHaveLength(1);
    expect((posted[0].body as any).thread_ts).toBeUndefined();
    expect((posted[0].body as any).text).toContain("<@U012ABCDEF> <@U034GHIJKL>");
    expect(apiCalls("chat.postMessage")).toHaveLength(0);
  });

  it("is announced expired in a new message (a webhook cannot update), and forgotten", async () => {
    const { executionId } = await requestPosted(7 * DAY + HOUR);
    expireApprovals(world.standins.aws.state);

    await scan();

    const expired = webhookPosts().filter((d: any) =>
      /expired — no decision in 7 days/.test(String(d.body.text)),
    );
    expect(expired).toHaveLength(1);
    expect(apiCalls("chat.update")).toHaveLength(0);
    expect(await pendingItems(executionId)).toEqual([]);
  });
});

describe("the scan message", () => {
  it("is not audited as malformed input", async () => {
    await scan();
    expect(await world.audit((a) => a.action === "rejected-input")).toEqual([]);
  });
});

/**
 * Loses the reply of the next `times` UpdateItem calls that claim `step` after DynamoDB applied
 * them (a client-side timeout or reset: the SDK retries it, handlers/aws.ts). Returns how many.
 */
function loseClaimReply(step: "remindedAt" | "expiredAt", times: number): () => number {
  let lost = 0;
  const client = ddb();
  const name = `lose-claim-reply-${randomUUID()}`;
  client.middlewareStack.addRelativeTo(
    (next: any, context: any) => async (args: any) => {
      const result = await next(args);
      const input = args.input ?? {};
      const claims = /^SET /.test(String(input.UpdateExpression));
      if (context.commandName === "UpdateItemCommand" && claims && lost < times) {
        if (JSON.stringify(input.ExpressionAttributeNames ?? {}).includes(`"${step}"`)) {
          lost++;
          throw Object.assign(new Error("socket hang up"), {
            name: "TimeoutError",
            code: "ECONNRESET",
          });
        }
      }
      return result;
    },
    // After the retry middleware: each attempt is applied, then its answer is lost.
    { relation: "after", toMiddleware: "retryMiddleware", name, override: true },
  );
  removers.push(() => client.middlewareStack.remove(name));
  return () => lost;
}
const removers: Array<() => void> = [];

/** Moves the reminder claim of `item` back in time past the lease, as if that time had passed. */
async function ageClaim(item: Record<string, any>) {
  const old = new Date(Date.now() - scaledMs(STEP_LEASE_MS) - 60_000).toISOString();
  await doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { pk: item.pk, sk: item.sk },
      UpdateExpression: "SET remindedAt = :old",
      ExpressionAttributeValues: { ":old": old },
    }),
  );
}

describe("a reminder whose Slack post failed for now (503) while DynamoDB throttles", () => {
  /** A request in its lead window, posted; then Slack answers 503 to every call. */
  async function postedThenSlackDown() {
    const posted = await requestPosted(6.5 * DAY);
    r().setFault("slack-api", { status: 503, times: 50 });
    return posted;
  }

  it("gives its claim back after the throttled give-back (3 SDK attempts) and audits the failure; the next scan reminds", async () => {
    const { executionId } = await postedThenSlackDown();
    const throttled = throttleCalls(
      world,
      "UpdateItem",
      "REMOVE",
      3,
      "ProvisionedThroughputExceededException",
    );
    await scan();
    expect(throttled()).toBe(3);
    expect(reminders()).toHaveLength(0);
    const [item] = await pendingItems(executionId);
    expect(item.remindedAt).toBeUndefined();
    const failed = await world.audit((a) => a.action === "failed");
    expect(failed.filter((a) => a.executionId === executionId)).toEqual([
      expect.objectContaining({
        result: expect.stringContaining("reminder not sent"),
        detail: expect.objectContaining({ retryable: true, givenBack: true }),
      }),
    ]);

    r().setFault("slack-api", null);
    jest.restoreAllMocks();
    await scan();
    await scan();
    expect(reminders()).toHaveLength(1);
  });

  it("leaves a claim it could not give back for the invocation's whole time to a scan after the lease, which reminds once", async () => {
    const { executionId } = await postedThenSlackDown();
    throttleCalls(world, "UpdateItem", "REMOVE", 1000, "ThrottlingException");
    // A short invocation: the give-back is retried until its deadline, then given up.
    expect(await shortScan()).toEqual({ batchItemFailures: [] });
    const failed = await world.audit((a) => a.action === "failed");
    expect(failed.filter((a) => a.executionId === executionId)).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ givenBack: false }) }),
    ]);
    r().setFault("slack-api", null);
    jest.restoreAllMocks();

    await scan(); // within the lease: still the failed invocation's claim
    expect(reminders()).toHaveLength(0);
    const [item] = await pendingItems(executionId);
    await ageClaim(item);
    await scan();
    expect(reminders()).toHaveLength(1);

    // Sent and settled: however old its claim gets, never sent again.
    const [sent] = await pendingItems(executionId);
    expect(sent.remindSettledAt).toEqual(expect.any(String));
    await ageClaim(sent);
    await scan();
    expect(reminders()).toHaveLength(1);
  }, 30_000);

  it("gives its claim back in the handler's margin when DynamoDB throttles the give-back until the deadline: the next scan's reminder is no possible duplicate", async () => {
    // Prepare: the give-back (REMOVE) is throttled until 1 s after the scan's deadline (a
    // 12 s invocation: its deadline is 9 s in, DEADLINE_MARGIN_MS before the end), then passes.
    const { executionId } = await postedThenSlackDown();
    const faults = world.standins.dynamo.faults;
    const decide = faults.decide.bind(faults);
    const until = Date.now() + 12_000 - DEADLINE_MARGIN_MS + 1000;
    let throttled = 0;
    jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
      const verdict = decide(op, body);
      if (op !== "UpdateItem" || !body.includes("REMOVE") || Date.now() >= until) return verdict;
      throttled++;
      return "ThrottlingException";
    });

    // Act: the post fails without arriving (503); the give-back lands in the margin.
    expect(await world.invoke([scanRecord()], 12_000)).toEqual({ batchItemFailures: [] });
    expect(throttled).toBeGreaterThan(3);
    jest.restoreAllMocks();
    r().setFault("slack-api", null);
    // A claim still held (not given back) is repeated only after its lease: let it pass.
    const [item] = await pendingItems(executionId);
    if (item.remindedAt !== undefined) await ageClaim(item);
    await scan();

    // Assess: one reminder, not flagged: nothing was posted before it.
    expect(reminders()).toHaveLength(1);
    const audited = (await world.audit((a) => a.action === "approval-reminder")).filter(
      (a) => a.executionId === executionId,
    );
    expect(audited).toEqual([
      expect.objectContaining({ detail: expect.not.objectContaining({ possibleDuplicate: true }) }),
    ]);
    const failed = await world.audit((a) => a.action === "failed");
    expect(failed.filter((a) => a.executionId === executionId)).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ givenBack: true }) }),
    ]);
  }, 30_000);

  it("a claim written before claims carried an id (an older version's, unsettled) stays taken after the lease: no second reminder after an upgrade", async () => {
    const { executionId } = await requestPosted(6.5 * DAY);
    const [item] = await pendingItems(executionId);
    // What the previous version left for a request it reminded: `remindedAt` alone.
    await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: item.pk, sk: item.sk },
        UpdateExpression: "SET remindedAt = :at",
        ExpressionAttributeValues: { ":at": new Date().toISOString() },
      }),
    );
    await ageClaim(item);

    await scan();

    expect(reminders()).toHaveLength(0);
  });

  it("control: without the throttling, the later scan does send the reminder", async () => {
    await postedThenSlackDown();
    await scan();
    expect(reminders()).toHaveLength(0);
    r().setFault("slack-api", null);
    await scan();
    expect(reminders()).toHaveLength(1);
  });
});

describe("a reminder whose sent mark DynamoDB refused until the scan's end (an outage, not throttling)", () => {
  it("is sent again by a scan after the claim's lease, and that repeat is audited as a possible duplicate; the first one is not", async () => {
    // Prepare: the request is in its lead window; every settle ("SET #settled") is throttled.
    const { executionId } = await requestPosted(6.5 * DAY);
    const throttled = throttleCalls(
      world,
      "UpdateItem",
      "SET #settled",
      1000,
      "ThrottlingException",
    );

    // Act: a short scan posts the reminder, then cannot record it as sent before its deadline.
    expect(await shortScan()).toEqual({ batchItemFailures: [] });
    expect(throttled()).toBeGreaterThan(3);
    jest.restoreAllMocks();
    await scan(); // within the lease: still the first scan's claim
    const [item] = await pendingItems(executionId);
    expect(item.remindSettledAt).toBeUndefined();
    await ageClaim(item);
    const [aged] = await pendingItems(executionId);
    await scan();

    // Assess: Slack got the reminder twice (the store cannot tell that the first went out), and
    // the audit trail says which one may be the repeat, as a delivery's `ambiguous` does.
    expect(reminders()).toHaveLength(2);
    const audited = (await world.audit((a) => a.action === "approval-reminder")).filter(
      (a) => a.executionId === executionId,
    );
    expect(audited).toHaveLength(2);
    const [first, second] = audited.sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    expect(first.detail.possibleDuplicate).toBeUndefined();
    expect(first.result).toBe("sent in the request's thread");
    const why = `an earlier scan claimed it at ${aged.remindedAt} and never recorded the outcome`;
    expect(second.detail).toMatchObject({ possibleDuplicate: true, why });
    expect(second.result).toBe(`sent in the request's thread; possibly a duplicate: ${why}`);
    // Recorded as sent now: never sent again.
    const [settled] = await pendingItems(executionId);
    expect(settled.remindSettledAt).toEqual(expect.any(String));
    await ageClaim(settled);
    await scan();
    expect(reminders()).toHaveLength(2);
  }, 30_000);
});

describe("an expiry notice posted anew whose outcome DynamoDB refused to record until the scan's end", () => {
  it("is posted again after the claim's lease, audited as a possible duplicate", async () => {
    // Prepare: webhook mode (the notice is a new message); settling and forgetting the request
    // are throttled for the first scan's whole time.
    setMode("webhook");
    const { executionId } = await requestPosted(7 * DAY + HOUR);
    expireApprovals(world.standins.aws.state);
    const faults = world.standins.dynamo.faults;
    const decide = faults.decide.bind(faults);
    jest
      .spyOn(faults, "decide")
      .mockImplementation((op: string, body: string) =>
        op === "DeleteItem" || (op === "UpdateItem" && body.includes("SET #settled"))
          ? "ThrottlingException"
          : decide(op, body),
      );
    expect(await shortScan()).toEqual({ batchItemFailures: [] });
    jest.restoreAllMocks();

    // Act: a scan after the lease.
    const [item] = await pendingItems(executionId);
    const old = new Date(Date.now() - scaledMs(STEP_LEASE_MS) - 60_000).toISOString();
    await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: item.pk, sk: item.sk },
        UpdateExpression: "SET expiredAt = :old",
        ExpressionAttributeValues: { ":old": old },
      }),
    );
    await scan();

    // Assess
    const notices = webhookPosts().filter((d: any) =>
      /expired — no decision/.test(String(d.body.text)),
    );
    expect(notices).toHaveLength(2);
    const audited = (await world.audit((a) => a.action === "approval-expired")).filter(
      (a) => a.executionId === executionId,
    );
    expect(audited.map((a) => a.detail.possibleDuplicate)).toEqual(
      expect.arrayContaining([undefined, true]),
    );
    expect(await pendingItems(executionId)).toEqual([]);
  }, 30_000);
});

describe("a reminder whose Slack answer was lost (Slack posted it, the reply never came)", () => {
  it("is posted again by the scan's retry, and the audit record says it may be a duplicate", async () => {
    const { executionId } = await requestPosted(6.5 * DAY);
    r().setFault("slack-api", { kind: "lost-reply", times: 1 });
    await scan();
    expect(reminders()).toHaveLength(2);
    const [audited] = (await world.audit((a) => a.action === "approval-reminder")).filter(
      (a) => a.executionId === executionId,
    );
    expect(audited.detail).toMatchObject({
      possibleDuplicate: true,
      why: "an earlier attempt of this post got no answer",
    });
  });

  it("is given back marked as possibly delivered when every attempt's answer was lost, and the next scan's reminder says so", async () => {
    const { executionId } = await requestPosted(6.5 * DAY);
    r().setFault("slack-api", { kind: "lost-reply", times: 3 });
    await scan();
    const [item] = await pendingItems(executionId);
    expect(item.remindedAt).toBeUndefined();
    expect(item.remindMayHaveArrivedAt).toEqual(expect.any(String));
    r().setFault("slack-api", null);
    await scan();
    const [audited] = (await world.audit((a) => a.action === "approval-reminder")).filter(
      (a) => a.executionId === executionId,
    );
    expect(audited.detail).toMatchObject({
      possibleDuplicate: true,
      why: `an earlier post at ${item.remindMayHaveArrivedAt} got no answer`,
    });
  });
});

describe("a one-time step claim that DynamoDB applied but whose reply was lost", () => {
  it("is the scan's own (its id came back with the refusal): the reminder is sent once", async () => {
    const { executionId } = await requestPosted(6.5 * DAY);
    const lost = loseClaimReply("remindedAt", 1);
    await scan();
    expect(lost()).toBe(1);
    expect(reminders()).toHaveLength(1);
    await scan();
    expect(reminders()).toHaveLength(1);
    const audited = await world.audit((a) => a.action === "approval-reminder");
    expect(audited.filter((a) => a.executionId === executionId)).toHaveLength(1);
  });

  it("is the scan's own for the expiry too: the request is updated to expired and forgotten", async () => {
    const { executionId } = await requestPosted(7 * DAY + HOUR);
    expireApprovals(world.standins.aws.state);
    const lost = loseClaimReply("expiredAt", 1);
    await scan();
    expect(lost()).toBe(1);
    expect(apiCalls("chat.update")).toHaveLength(1);
    expect(await pendingItems(executionId)).toEqual([]);
  });
});

describe("two scans at once (EventBridge Scheduler may invoke a schedule's target more than once)", () => {
  /** What the later scan read: the request as it was before the other scan claimed it. */
  async function readBeforeTheOtherScan() {
    return pendingStore.pendingUntil(new Date(Date.now() + 8 * DAY));
  }

  it("a scan that read the request before the other scan gave its claim back after lost answers flags its own reminder", async () => {
    // Prepare: scan B reads the request; scan A then claims it, every Slack answer is lost, and
    // A gives the claim back marked as possibly delivered.
    const { executionId } = await requestPosted(6.5 * DAY);
    const readByB = await readBeforeTheOtherScan();
    r().setFault("slack-api", { kind: "lost-reply", times: 3 });
    await scan();
    r().setFault("slack-api", null);
    const [item] = await pendingItems(executionId);
    expect(item.remindMayHaveArrivedAt).toEqual(expect.any(String));
    const postedByA = reminders().length;

    // Act: scan B goes on with what it read, and claims the step A gave back.
    jest.spyOn(pendingStore, "pendingUntil").mockResolvedValueOnce(readByB);
    await scan();

    // Assess: A's posts reached Slack (their answers were lost), so B's is a possible duplicate.
    expect(postedByA).toBeGreaterThan(0);
    expect(reminders()).toHaveLength(postedByA + 1);
    const [audited] = (await world.audit((a) => a.action === "approval-reminder")).filter(
      (a) => a.executionId === executionId,
    );
    expect(audited.detail).toMatchObject({
      possibleDuplicate: true,
      why: `an earlier post at ${item.remindMayHaveArrivedAt} got no answer`,
    });
  });

  it("the same for an expiry notice posted anew (webhook mode)", async () => {
    setMode("webhook");
    const { executionId } = await requestPosted(7 * DAY + HOUR);
    expireApprovals(world.standins.aws.state);
    const readByB = await readBeforeTheOtherScan();
    r().setFault("slack", { kind: "lost-reply", times: 3 });
    await scan();
    r().setFault("slack", null);
    const [item] = await pendingItems(executionId);
    expect(item.expireMayHaveArrivedAt).toEqual(expect.any(String));

    jest.spyOn(pendingStore, "pendingUntil").mockResolvedValueOnce(readByB);
    await scan();

    const [audited] = (await world.audit((a) => a.action === "approval-expired")).filter(
      (a) => a.executionId === executionId,
    );
    expect(audited.detail).toMatchObject({
      possibleDuplicate: true,
      why: `an earlier post at ${item.expireMayHaveArrivedAt} got no answer`,
    });
    expect(await pendingItems(executionId)).toEqual([]);
  });
});

describe("an expiry notice posted anew whose Slack answer was lost", () => {
  it("is posted again by the scan's retry, and the audit record says it may be a duplicate", async () => {
    setMode("webhook");
    const { executionId } = await requestPosted(7 * DAY + HOUR);
    expireApprovals(world.standins.aws.state);
    r().setFault("slack", { kind: "lost-reply", times: 1 });
    await scan();
    const notices = webhookPosts().filter((d: any) =>
      /expired — no decision/.test(String(d.body.text)),
    );
    expect(notices).toHaveLength(2);
    const [audited] = (await world.audit((a) => a.action === "approval-expired")).filter(
      (a) => a.executionId === executionId,
    );
    expect(audited.detail).toMatchObject({
      possibleDuplicate: true,
      why: "an earlier attempt of this post got no answer",
    });
    expect(audited.result).toMatch(/; possibly a duplicate: /);
  });
});

describe("a request whose execution or pipeline CodePipeline no longer knows", () => {
  it("is forgotten a day after its expiry when ListActionExecutions answers PipelineExecutionNotFoundException", async () => {
    const { executionId } = await requestPosted(7 * DAY + 2 * DAY);
    // CodePipeline has no such execution (history gone, a pipeline recreated under the name).
    const model = world.standins.aws.state.codepipeline.pipelines[PIPELINE];
    delete model.executions[executionId];
    for (const stage of model.stages)
      for (const action of stage.actions) Object.assign(action, { runs: [], status: undefined });

    await scan();

    expect(await pendingItems(executionId)).toEqual([]);
  });

  it("is forgotten a day after its expiry when the pipeline was deleted (PipelineNotFoundException)", async () => {
    const { executionId } = await requestPosted(7 * DAY + 2 * DAY);
    delete world.standins.aws.state.codepipeline.pipelines[PIPELINE];

    await scan();

    expect(await pendingItems(executionId)).toEqual([]);
  });
});
