/**
 * A posted approval request whose run ends without a click in Slack is rewritten in place, once
 * (handlers/reminders/ended.ts), in process against the Slack Web API stand-in, the CodePipeline
 * stand-in (whose events are the ones its API calls emit, testing/aws/codepipeline/outbox.ts) and
 * dynalite, through the fan-out's handler.
 *
 * Right values from the services' documentation:
 * - CodePipeline: PutApprovalResult ends the run (Approved: the Action SUCCEEDED event;
 *   Rejected: Action FAILED, then Stage and Pipeline FAILED), its caller is the run's `updatedBy`
 *   (API_ActionExecutionDetail.html); StopPipelineExecution with `abandon` leaves the run
 *   Abandoned (Action ABANDONED) and the execution Stopped (user guide, "Stop a pipeline
 *   execution"); RetryStageExecution starts a new run of the failed approval with a new action
 *   execution id (API_RetryStageExecution.html). EventBridge may deliver an event more than once
 *   (REFERENCE.md, Amazon EventBridge).
 * - Slack: chat.update names the message by `channel` and `ts` and replaces its blocks with the
 *   ones given (https://api.slack.com/methods/chat.update); an incoming webhook can only post.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { REMINDER_SCAN_INPUT } from "../../handlers/contracts/reminder-scan";
import { claimDecision, settleDecision } from "../../handlers/store/approvals";
import { PENDING_APPROVALS_PARTITION } from "../../handlers/store/keys";
import {
  codePipelineOutbox,
  putApprovalResult,
  retryStageExecution,
  stopExecution,
} from "../../testing";
import {
  event,
  pendingApprovalStarted,
  record,
  TABLE,
  setReleasesMode,
  startReleasesBotWorld,
  type FanoutWorld,
} from "../support/fanout";

const PIPELINE = "main-app-production-v3";
const CHANNEL_ID = "C0123456789";
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Who PutApprovalResult's caller is in the stand-in (its `updatedBy`). */
const CONSOLE_CALLER = "role/approver";

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
  // paced behind the posts of the tests before it (up to 0.8 s of waiting each).
  await world.forgetPacing();
  setMode("bot");
});

const setMode = (mode: "bot" | "webhook") => setReleasesMode(world, mode);

const r = () => world.standins.receivers;
const state = () => world.standins.aws.state;
const updates = () => r().byReceiver("slack-api", "chat.update");

/** A request posted (bot or webhook mode) for a run that started `ago` ms ago. */
async function requestPosted(ago = HOUR) {
  const posted = pendingApprovalStarted(world.standins.aws, PIPELINE, ago);
  expect(await world.drain([posted.started])).toEqual([]);
  const [item] = await pendingItems(posted.executionId);
  return { ...posted, item };
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

/** The token of the action's latest run in the stand-in. */
function tokenOf(): string | undefined {
  return state()
    .codepipeline.pipelines[PIPELINE].stages.flatMap((s) => s.actions)
    .find((a) => a.name === "ManualApproval")?.token;
}

/** What CodePipeline emits while `act` runs. */
function emittedBy(act: () => void) {
  const before = codePipelineOutbox(state()).length;
  act();
  return codePipelineOutbox(state()).slice(before);
}

/** PutApprovalResult in the console (its caller: the stand-in's role/approver). */
function decideInConsole(status: "Approved" | "Rejected", summary: string) {
  return emittedBy(() =>
    putApprovalResult(state(), {
      pipelineName: PIPELINE,
      stageName: "Approve",
      actionName: "ManualApproval",
      token: tokenOf(),
      result: { status, summary },
    }),
  );
}

/** RetryStageExecution of the Approve stage's failed actions, and what CodePipeline emits. */
function retryOf(executionId: string) {
  return emittedBy(() =>
    retryStageExecution(state(), {
      pipelineName: PIPELINE,
      stageName: "Approve",
      pipelineExecutionId: executionId,
      retryMode: "FAILED_ACTIONS",
    }),
  );
}

const messageOf = (ts: string) => r().slackMessages[`${CHANNEL_ID}:${ts}`];
const blocksText = (ts: string) => JSON.stringify(messageOf(ts).blocks);
const endedAudit = async (executionId: string) =>
  (await world.audit((a) => a.action === "approval-ended")).filter(
    (a) => a.executionId === executionId,
  );

describe("a request in bot mode whose run ends outside Slack", () => {
  it("decided in the console: rewritten without buttons, naming who approved", async () => {
    const { executionId, item } = await requestPosted();
    expect(blocksText(item.messageTs)).toContain('"actions"');

    expect(await world.drain(decideInConsole("Approved", "LGTM from the console"))).toEqual([]);

    expect(updates()).toHaveLength(1);
    const body = updates()[0].body as any;
    expect({ channel: body.channel, ts: body.ts }).toEqual({
      channel: CHANNEL_ID,
      ts: item.messageTs,
    });
    const message = messageOf(item.messageTs);
    expect(message.updates).toBe(1);
    expect(blocksText(item.messageTs)).not.toContain('"actions"');
    // The click path's words (handlers/approval/ended.ts endedEnding): header and Decision field.
    const header = (message.blocks as any[])[0].text.text;
    expect(header).toMatch(
      new RegExp(
        `^✅ ${PIPELINE}: approved in CodePipeline by ${CONSOLE_CALLER} at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC$`,
      ),
    );
    expect(blocksText(item.messageTs)).toContain(
      "*Decision*\\n✅ Approved in CodePipeline by role/approver at <!date^",
    );
    expect(body.text).toContain("LGTM from the console");
    expect(await pendingItems(executionId)).toEqual([]);
    expect(await endedAudit(executionId)).toEqual([
      expect.objectContaining({
        channel: "slack-releases",
        result: expect.stringMatching(
          /^request message updated: Already approved in CodePipeline by role\/approver at \d{4}-\d\d-\d\dT.*: LGTM from the console$/,
        ),
      }),
    ]);
  });

  it("rejected in the console: rewritten as rejected, with what to do next", async () => {
    const { item } = await requestPosted();

    expect(await world.drain(decideInConsole("Rejected", "wrong build"))).toEqual([]);

    expect(updates()).toHaveLength(1);
    const text = blocksText(item.messageTs);
    expect((messageOf(item.messageTs).blocks as any[])[0].text.text).toContain(
      `❌ ${PIPELINE}: rejected in CodePipeline by ${CONSOLE_CALLER}`,
    );
    expect(text).toContain(
      'retry stage Approve in CodePipeline (\\"Retry failed actions\\"); it asks again.',
    );
    expect(text).not.toContain('"actions"');
  });

  it("rejected in the console with a comment that speaks of expiry: rewritten and told as rejected, not expired", async () => {
    // The run names its caller (`updatedBy`, API_ActionExecutionDetail.html): someone decided it;
    // CodePipeline documents no caller for a timeout (events/classify.ts failedApprovalKind). The
    // Action FAILED event names none (its execution-result: url, summary, id, error-code; user
    // guide, "Monitoring CodePipeline events"): enrichment asks ListActionExecutions.
    const { executionId, item } = await requestPosted();

    expect(await world.drain(decideInConsole("Rejected", "cert expired, do not ship"))).toEqual([]);

    const told = r()
      .deliveries.filter((d) => d.receiver === "slack")
      .map((d) => String((d.body as { text?: unknown }).text));
    expect(told).toEqual([
      `:no_entry: ${PIPELINE}: Rejected by ${CONSOLE_CALLER} at Approve/ManualApproval: cert expired, do not ship`,
    ]);

    expect(updates()).toHaveLength(1);
    expect((messageOf(item.messageTs).blocks as any[])[0].text.text).toContain(
      `❌ ${PIPELINE}: rejected in CodePipeline by ${CONSOLE_CALLER}`,
    );
    expect(await endedAudit(executionId)).toEqual([
      expect.objectContaining({
        result: expect.stringMatching(
          /^request message updated: Already rejected in CodePipeline by role\/approver at .*: cert expired, do not ship$/,
        ),
      }),
    ]);
  });

  it("its execution stopped (stop and abandon): rewritten with the stop and its reason, once for all its events", async () => {
    const { executionId, item } = await requestPosted();
    // The reason whoever stopped it wrote (StopPipelineExecution `reason`), which CodePipeline
    // returns only through ListPipelineExecutions' stopTrigger.reason
    // (API_StopExecutionTrigger.html), escaped for mrkdwn.
    const events = emittedBy(() =>
      stopExecution(state(), PIPELINE, executionId, new Date(), {
        abandon: true,
        reason: "bad build <!here>",
      }),
    );
    // Pipeline and Stage STOPPING, Action ABANDONED, Stage and Pipeline STOPPED.
    expect(events.map((e) => e.detail.state)).toContain("ABANDONED");

    expect(await world.drain(events)).toEqual([]);

    expect(updates()).toHaveLength(1);
    const message = messageOf(item.messageTs);
    expect((message.blocks as any[])[0].text.text).toBe(`🚫 ${PIPELINE}: ended without a decision`);
    expect(blocksText(item.messageTs)).toMatch(
      new RegExp(
        `Approval of ${PIPELINE} › Approve › ManualApproval ended at <!date\\^\\d+\\^[^>]*>: execution ${executionId.slice(0, 8)} was stopped \\(reason: bad build &lt;!here&gt;\\)`,
      ),
    );
    // Said once: the State field, with no context line repeating it.
    expect(blocksText(item.messageTs).split("was stopped (reason:")).toHaveLength(2);
    expect((await endedAudit(executionId))[0].result).toContain("(reason: bad build <!here>)");
    expect(blocksText(item.messageTs)).toContain("retry stage Approve in CodePipeline");
    expect(blocksText(item.messageTs)).not.toContain('"actions"');
    expect(await endedAudit(executionId)).toHaveLength(1);
  });

  it("its stage retried after a rejection whose events were lost, as a reply in its execution's thread: marked replaced", async () => {
    // #releases also hears the tier's STARTED: the execution's thread parent is that message, and
    // the request a reply in its thread (channels/slack-thread.ts).
    const rule = world.config.runtime.pipelines.find(
      (p) => "name" in p.match && p.match.name === PIPELINE,
    )!;
    const routing = world.config.runtime.routing.critical!;
    const saved = { states: [...rule.states], channels: [...routing.channels] };
    rule.states.push("STARTED");
    routing.channels.push("slack-releases");
    try {
      const posted = pendingApprovalStarted(world.standins.aws, PIPELINE, HOUR);
      const { executionId } = posted;
      const started = event(
        "pipeline-started",
        { pipeline: PIPELINE, "execution-id": executionId },
        { id: randomUUID() },
      );
      expect(await world.drain([started])).toEqual([]);
      expect(await world.drain([posted.started])).toEqual([]);
      const [item] = await pendingItems(executionId);
      expect(messageOf(item.messageTs).threadTs).toBeDefined();
      decideInConsole("Rejected", "wrong build"); // its events never reach the fan-out

      expect(await world.drain(retryOf(executionId))).toEqual([]);

      const old = messageOf(item.messageTs);
      expect(old.updates).toBe(1);
      expect((old.blocks as any[])[0].text.text).toBe(
        `⏭️ ${PIPELINE}: replaced by a newer action execution (the stage was retried)`,
      );
      expect(blocksText(item.messageTs)).toContain("use the newest message");
      expect(blocksText(item.messageTs).split("use the newest message")).toHaveLength(2);
      expect(blocksText(item.messageTs)).not.toContain('"actions"');
      const items = await pendingItems(executionId);
      expect(items).toHaveLength(1);
      expect(items[0].actionExecutionId).not.toBe(item.actionExecutionId);
      expect(blocksText(items[0].messageTs)).toContain('"actions"');
      expect(await endedAudit(executionId)).toEqual([
        expect.objectContaining({
          result:
            "request message updated: the request was replaced by a newer action execution (the stage was retried)",
        }),
      ]);
    } finally {
      rule.states.splice(0, rule.states.length, ...saved.states);
      routing.channels.splice(0, routing.channels.length, ...saved.channels);
    }
  });

  it("its stage retried, the request being its execution's thread parent: the thread shows the newer request there, no second rewrite", async () => {
    const { executionId, item } = await requestPosted();
    decideInConsole("Rejected", "wrong build"); // its events never reach the fan-out

    expect(await world.drain(retryOf(executionId))).toEqual([]);

    // The parent is updated once, by the newer request posted in its thread (slack-thread.ts
    // parentMessage): its headline, no buttons.
    const parent = messageOf(item.messageTs);
    expect(parent.updates).toBe(1);
    expect(parent.text).toContain("approval needed at Approve/ManualApproval (attempt 2)");
    expect(blocksText(item.messageTs)).not.toContain("deploy-notifier.approve");
    const [newer] = await pendingItems(executionId);
    expect(messageOf(newer.messageTs).threadTs).toBe(item.messageTs);
    expect(blocksText(newer.messageTs)).toContain('"actions"');
    expect(await endedAudit(executionId)).toEqual([
      expect.objectContaining({ result: expect.stringMatching(/^left to its thread: /) }),
    ]);
  });

  it("rejected, then its stage retried: rewritten once, as rejected (the retry finds it done)", async () => {
    const { executionId, item } = await requestPosted();
    expect(await world.drain(decideInConsole("Rejected", "wrong build"))).toEqual([]);
    expect((messageOf(item.messageTs).blocks as any[])[0].text.text).toContain(
      "rejected in CodePipeline",
    );

    expect(await world.drain(retryOf(executionId))).toEqual([]);

    const ours = updates().filter((u: any) => /rejected in CodePipeline/.test(String(u.body.text)));
    expect(ours).toHaveLength(1);
    expect(await endedAudit(executionId)).toHaveLength(1);
  });

  it("an event delivered twice at once and once more later rewrites the request once", async () => {
    const { executionId, item } = await requestPosted();
    const [succeeded] = decideInConsole("Approved", "ok").filter(
      (e) => e["detail-type"] === "CodePipeline Action Execution State Change",
    );

    const batch = [record(succeeded, `m-${randomUUID()}`), record(succeeded, `m-${randomUUID()}`)];
    expect(await world.invoke(batch)).toEqual({ batchItemFailures: [] });
    expect(await world.drain([succeeded])).toEqual([]);

    expect(messageOf(item.messageTs).updates).toBe(1);
    expect(updates()).toHaveLength(1);
    expect(await endedAudit(executionId)).toHaveLength(1);
  });

  it("decided by a Slack click: left to the click, which rewrites it (no second rewrite)", async () => {
    const { executionId, actionExecutionId, item } = await requestPosted();
    const claim = {
      pipeline: PIPELINE,
      stage: "Approve",
      action: "ManualApproval",
      executionId,
      actionExecutionId,
      decision: "Approved" as const,
      user: { id: "U012ABCDEF", name: "Jane Doe" },
      at: new Date().toISOString(),
    };
    expect(await claimDecision(claim, 30)).toEqual({ won: true });
    const events = decideInConsole("Approved", "Approved by Jane Doe (U012ABCDEF) via Slack");
    expect(await settleDecision(claim, 30, { status: "decided", outcome: "Approved" })).toBe(true);

    expect(await world.drain(events)).toEqual([]);

    expect(updates()).toHaveLength(0);
    expect(messageOf(item.messageTs).updates).toBe(0);
    expect(await pendingItems(executionId)).toEqual([]);
    expect(await endedAudit(executionId)).toEqual([]);
  });

  it("whose end event was lost is rewritten by the reminder scan when it finds the run ended", async () => {
    const { executionId, item } = await requestPosted(6.5 * DAY);
    decideInConsole("Approved", "ok"); // its events never reach the fan-out

    expect(await world.invoke([record(REMINDER_SCAN_INPUT, `scan-${randomUUID()}`)])).toEqual({
      batchItemFailures: [],
    });

    expect(messageOf(item.messageTs).updates).toBe(1);
    expect((messageOf(item.messageTs).blocks as any[])[0].text.text).toContain(
      "approved in CodePipeline by role/approver",
    );
    expect(await pendingItems(executionId)).toEqual([]);
  });
});

describe("the cost of looking for ended requests", () => {
  afterEach(() => jest.restoreAllMocks());

  it("a console approval's rewrite: the partition's Query, the click's Query, the end step's claim and settle, the audit, the delete", async () => {
    const { executionId } = await requestPosted();
    const events = decideInConsole("Approved", "ok");
    const faults = world.standins.dynamo.faults;
    const decide = faults.decide.bind(faults);
    const calls: Record<string, number> = {};
    jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
      calls[op] = (calls[op] ?? 0) + 1;
      return decide(op, body);
    });

    expect(await world.drain(events)).toEqual([]);

    jest.restoreAllMocks();
    expect(calls).toEqual({ Query: 2, UpdateItem: 2, PutItem: 1, DeleteItem: 1 });
    expect(updates()).toHaveLength(1);
    expect(await endedAudit(executionId)).toHaveLength(1);
  });

  it("a first attempt's request reads no pending request (only a stage retry's new run can replace one)", async () => {
    const faults = world.standins.dynamo.faults;
    const decide = faults.decide.bind(faults);
    let pendingQueries = 0;
    jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
      if (op === "Query" && body.includes(PENDING_APPROVALS_PARTITION)) pendingQueries++;
      return decide(op, body);
    });
    const posted = pendingApprovalStarted(world.standins.aws, PIPELINE, HOUR);
    expect(await world.drain([posted.started])).toEqual([]);
    expect(r().byReceiver("slack-api", "chat.postMessage")).toHaveLength(1);
    expect(pendingQueries).toBe(0);

    decideInConsole("Rejected", "wrong build"); // its events never reach the fan-out
    expect(await world.drain(retryOf(posted.executionId))).toEqual([]);
    // The retry's run (attempt 2) looks for the run it replaced: one Query of the partition.
    expect(pendingQueries).toBe(1);
  });
});

describe("a request posted through an incoming webhook whose run ends in the console", () => {
  it("is left as it is (a webhook cannot update a message), and the audit trail says so", async () => {
    setMode("webhook");
    const { executionId, item } = await requestPosted();
    expect(item.messageTs).toBeUndefined();
    const posts = () => r().byReceiver("slack", "slack-releases");
    expect(posts()).toHaveLength(1);

    expect(await world.drain(decideInConsole("Approved", "LGTM"))).toEqual([]);

    expect(updates()).toHaveLength(0);
    expect(posts()).toHaveLength(1);
    const notUpdated = (await world.audit((a) => a.action === "message-not-updated")).filter(
      (a) => a.executionId === executionId,
    );
    expect(notUpdated).toEqual([
      expect.objectContaining({
        channel: "slack-releases",
        result: expect.stringContaining("incoming webhook, which can only post new messages"),
      }),
    ]);
    expect(await endedAudit(executionId)).toEqual([
      expect.objectContaining({ result: expect.stringMatching(/^request message not updated: /) }),
    ]);
    expect(await pendingItems(executionId)).toEqual([]);
  });
});
