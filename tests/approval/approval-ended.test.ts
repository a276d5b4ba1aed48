/**
 * A click on a request that can no longer be decided says why, in the product's words
 * (handlers/approval/ended.ts), against the CodePipeline stand-in over HTTP:
 * - its execution was stopped: StopPipelineExecution with abandon leaves the approval run
 *   `Abandoned` and the execution `Stopped` (user guide, "Stop a pipeline execution": "the action
 *   execution is in an Abandoned state while the pipeline execution is in a Stopped state");
 *   GetPipelineExecution says which (API_PipelineExecution.html `status`);
 * - it expired: the run `Failed` with no summary (REFERENCE.md, CodePipeline's lifecycle), worded
 *   as the reminder's expiry notice (handlers/reminders/messages.ts `approvalEndedText`);
 * - it was decided in the console (someone else's PutApprovalResult): the run `Succeeded` or
 *   `Failed` with the reviewer's summary, who (`lastUpdatedBy` / `updatedBy`, an ARN) and when
 *   (`lastStatusChange` / `lastUpdateTime`) — API_ActionExecution.html,
 *   API_ActionExecutionDetail.html; neither holds an approval result of its own.
 * The message is then rewritten as a decision through Slack rewrites it: no buttons, and its
 * header and State no longer read as pending.
 */
import { randomUUID } from "node:crypto";
import { CodePipelineClient, PutApprovalResultCommand } from "@aws-sdk/client-codepipeline";
import {
  expireApprovals,
  recordEvent,
  setExecutionMode,
  startExecution,
  stopExecution,
} from "../../testing/aws/codepipeline";
import { formatSlack } from "../../handlers/channels/slack-format";
import type { Notification } from "../../handlers/types";
import type { ApprovalResponse } from "../../handlers/approval";
import { approvalSummary } from "../../handlers/approval/messages";
import approvalRequestFixture from "../fixtures/notifications/approval-request.json";
import {
  ACTION,
  APPROVER_1,
  APPROVER_2,
  OUTSIDER,
  PIPELINE,
  STAGE,
  auditItems,
  claimOf,
  clickPayload,
  cpCalls,
  formBody,
  pendingRun,
  postsTo,
  responseUrl,
  signedEvent,
  useHarness,
  type Harness,
} from "./harness";

let h: Harness;
useHarness((started) => (h = started));
let cp: CodePipelineClient;
beforeAll(() => {
  cp = new CodePipelineClient({});
});
afterAll(() => cp.destroy());

/** The request exactly as the fan-out posts it (header, State field, Expires line, buttons). */
const request = formatSlack(approvalRequestFixture as unknown as Notification, {
  type: "slack",
  mode: "webhook",
}) as unknown as { text: string; blocks: Record<string, unknown>[] };

/** Clicks Approve on the request of `run` as `user`, then waits for the work. */
async function click(
  user: typeof APPROVER_1,
  p: { executionId: string; run: string },
): Promise<{ res: ApprovalResponse; responseId: string }> {
  const { id, url } = responseUrl(h);
  const payload = {
    ...clickPayload({
      user,
      executionId: p.executionId,
      actionExecutionId: p.run,
      responseUrl: url,
    }),
    message: request,
  };
  const res = (await h.handler(signedEvent(formBody(payload)))) as ApprovalResponse;
  await h.all.aws.idle();
  return { res, responseId: id };
}

/**
 * Decides the run of `token` outside Slack (a console reviewer's own PutApprovalResult, or a
 * work of ours that stopped before it reported); resolves with when CodePipeline says it did.
 */
async function decideInCodePipeline(
  token: string,
  status: "Approved" | "Rejected",
  summary: string,
): Promise<Date> {
  const { approvedAt } = await cp.send(
    new PutApprovalResultCommand({
      pipelineName: PIPELINE,
      stageName: STAGE,
      actionName: ACTION,
      token,
      result: { status, summary },
    }),
  );
  return approvedAt ?? new Date(0);
}

/** The ephemeral told to the clicker, and the message that replaced the request. */
function answerOf(responseId: string): { told: string; message: string; replaced: unknown } {
  const posts = postsTo(h, responseId);
  const told = posts.find((p) => p.response_type === "ephemeral");
  const replaced = posts.find((p) => p.replace_original === true);
  return { told: String(told?.text), message: JSON.stringify(replaced?.blocks), replaced };
}

/**
 * One human form of a time (the new-user pass found three): `2026-12-01 14:02 UTC` in plain
 * text (a header block, a stored outcome), and in mrkdwn Slack's date formatting with that as
 * its fallback (docs.slack.dev, "Formatting text for app surfaces": `<!date^timestamp^token_string|fallback_text>`,
 * Unix seconds), shown in the reader's time zone; the audit keeps ISO.
 */
/** `text` as it reads inside the JSON of a message's blocks (quotes and newlines escaped). */
const inJson = (text: string) => JSON.stringify(text).slice(1, -1);
const dateMinute = (d: Date) => `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
const slackAt = (d: Date) =>
  `<!date^${Math.floor(d.getTime() / 1000)}^{date_num} {time}|${dateMinute(d)}>`;

const WHAT = `Approval of ${PIPELINE} › ${STAGE} › ${ACTION}`;

/**
 * What the clicker is told to do next (the new-user pass: no answer said it). A rejected or
 * expired approval fails its stage ("the result is the same as an action failing", user guide
 * "Manage approval actions"), and retrying the failed stage triggers the approval again (user
 * guide, "Configuring stage retry": the console's "Retry failed actions", RetryStageExecution);
 * a stopped or cancelled execution cannot go on: "Release change" starts a new one
 * (StartPipelineExecution; user guide, "Start a pipeline manually").
 */
const RETRY = `To release it, retry stage ${STAGE} in CodePipeline ("Retry failed actions"); it asks again.`;
const RELEASE = 'To deploy, start a new execution ("Release change" in CodePipeline).';
// A stopped execution's stage can be retried (user guide, "Stop a pipeline execution": "For a
// pipeline execution in a Stopped state, the actions in the stage where the execution stopped
// can be retried"): the same revision is asked for again, where "Release change" takes the latest.

/**
 * A request with comments (CustomData) nobody answered: its run expired 7 days and a minute
 * later (the stand-in's clock), GetPipelineState still showing the comments as its `summary`.
 */
function expiredWithComments(): { executionId: string; run: string } {
  const executionId = randomUUID();
  const run = `run-${randomUUID()}`;
  h.all.aws.addPendingApproval({
    pipeline: PIPELINE,
    stage: STAGE,
    action: ACTION,
    executionId,
    actionExecutionId: run,
    customData: "Please check the release notes before approving",
  });
  expireApprovals(h.all.aws.state, new Date(Date.now() + 7 * 24 * 3_600_000 + 60_000));
  return { executionId, run };
}

describe("a click on a request whose run ended undecided says why", () => {
  it("its execution was stopped: the execution, when, and the buttons go", async () => {
    // Prepare: the execution is stopped (abandon) while its approval waits.
    const p = pendingRun(h.all.aws);
    const stoppedAt = new Date(Date.now() - 60_000);
    expect(stopExecution(h.all.aws.state, PIPELINE, p.executionId, stoppedAt)).toBe(true);
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess
    const ended = (at: string) =>
      `${WHAT} ended at ${at}: execution ${p.executionId.slice(0, 8)} was stopped.`;
    const reason = ended(slackAt(stoppedAt));
    const told = `${reason} ${RETRY}`;
    const answer = answerOf(responseId);
    expect(answer.told).toBe(told);
    expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
    expect(cpCalls(h, "GetPipelineExecution").map((c) => c.input)).toEqual([
      expect.objectContaining({ pipelineName: PIPELINE, pipelineExecutionId: p.executionId }),
    ]);
    expect(answer.message).not.toContain("deploy-notifier.approve");
    expect(answer.message).toContain(`🚫 ${PIPELINE}: ended without a decision`);
    expect(answer.message).toContain(`*State*\\n🚫 ${reason}`);
    // The channel reads the next step too, not only the clicker.
    expect(answer.message).toContain(inJson(`*State*\n🚫 ${reason}\n➡️ ${RETRY}`));
    expect(answer.message).not.toContain("*Expires*");
    expect(await claimOf(h, p.executionId, p.run)).toMatchObject({
      status: "final",
      outcome: `${ended(dateMinute(stoppedAt))} ${RETRY}`,
    });
    const audit = await auditItems(h, p.executionId);
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: "approval-click",
        result: `not decided: ${ended(stoppedAt.toISOString())}`,
      }),
    );
    expect(audit.map((a) => a.action)).not.toContain("approval-error");
    // A later click is told the same, next step included, once (no doubled period).
    const late = await click(APPROVER_2, p);
    expect(answerOf(late.responseId).told).toBe(
      `This approval can no longer be decided from Slack: ${ended(dateMinute(stoppedAt))} ${RETRY}`,
    );
    // …and audited as a click that decided nothing, never "already decided by" the first clicker.
    const clicks = (await auditItems(h, p.executionId)).filter(
      (a) => a.action === "approval-click",
    );
    expect(clicks.map((a) => a.result)).toEqual([
      "claimed",
      `not decided: ${ended(stoppedAt.toISOString())}`,
      // The first click's own words (the audit keeps ISO 8601 times; README, Production approvals).
      `not decided: ${ended(stoppedAt.toISOString()).replace(/\.$/, "")} (late click)`,
    ]);
  });

  it("its execution was stopped with a reason: the reason whoever stopped it wrote, escaped for Slack", async () => {
    // Prepare: StopPipelineExecution with a reason (at most 200 characters,
    // API_StopPipelineExecution.html); CodePipeline returns it only through
    // ListPipelineExecutions' stopTrigger.reason (API_StopExecutionTrigger.html).
    const p = pendingRun(h.all.aws);
    const stoppedAt = new Date(Date.now() - 60_000);
    const reason = "bad build <@U0OTHER> & redo from main";
    expect(stopExecution(h.all.aws.state, PIPELINE, p.executionId, stoppedAt, { reason })).toBe(
      true,
    );
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess: escaped for mrkdwn (Slack "Formatting text": &, <, > as entities), no mention.
    const id = p.executionId.slice(0, 8);
    expect(answerOf(responseId).told).toBe(
      `${WHAT} ended at ${slackAt(stoppedAt)}: execution ${id} was stopped ` +
        `(reason: bad build &lt;@U0OTHER&gt; &amp; redo from main). ${RETRY}`,
    );
    expect(cpCalls(h, "ListPipelineExecutions").map((c) => c.input)).toEqual([
      expect.objectContaining({ pipelineName: PIPELINE }),
    ]);
  });

  it("a stop reason is found also when 30 newer executions started since the stop (one page of up to 100)", async () => {
    // Prepare: the stopped execution is the 31st latest. ListPipelineExecutions returns up to
    // `maxResults` (1–100, default 100: API_ListPipelineExecutions.html) newest first.
    const p = pendingRun(h.all.aws);
    const stoppedAt = new Date(Date.now() - 60_000);
    stopExecution(h.all.aws.state, PIPELINE, p.executionId, stoppedAt, { reason: "freeze" });
    for (let i = 0; i < 30; i++) startExecution(h.all.aws.state, { pipeline: PIPELINE });
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess: the reason, with one call.
    expect(answerOf(responseId).told).toContain("was stopped (reason: freeze).");
    expect(cpCalls(h, "ListPipelineExecutions")).toHaveLength(1);
  });

  it("a stop reason is escaped once for Slack and kept as written in the stored outcome and the audit", async () => {
    // Prepare: a reason with Slack's control characters and an entity that is text, not markup
    // (Slack "Formatting text for app surfaces": only &, < and > are escaped, once).
    const p = pendingRun(h.all.aws);
    const stoppedAt = new Date(Date.now() - 60_000);
    const reason = "R&D said <!channel> &lt;freeze&gt;";
    stopExecution(h.all.aws.state, PIPELINE, p.executionId, stoppedAt, { reason });
    const inSlack = "R&amp;D said &lt;!channel&gt; &amp;lt;freeze&amp;gt;";
    const ended = (at: string, why: string) =>
      `${WHAT} ended at ${at}: execution ${p.executionId.slice(0, 8)} was stopped (reason: ${why}).`;
    // Act: the first click, then a later one that reads the stored outcome.
    const first = await click(APPROVER_1, p);
    const late = await click(APPROVER_2, p);
    // Assess: mrkdwn gets the entities once; plain text and the audit get what was written.
    expect(answerOf(first.responseId).told).toBe(`${ended(slackAt(stoppedAt), inSlack)} ${RETRY}`);
    expect(await claimOf(h, p.executionId, p.run)).toMatchObject({
      outcome: `${ended(dateMinute(stoppedAt), reason)} ${RETRY}`,
    });
    expect(answerOf(late.responseId).told).toBe(
      `This approval can no longer be decided from Slack: ${ended(dateMinute(stoppedAt), inSlack)} ${RETRY}`,
    );
    const clicks = (await auditItems(h, p.executionId)).filter(
      (a) => a.action === "approval-click",
    );
    expect(clicks.map((a) => a.result)).toContain(
      `not decided: ${ended(stoppedAt.toISOString(), reason)}`,
    );
  });

  it("a stop reason with half an emoji (a lone surrogate) is told, stored and audited as well-formed text", async () => {
    // Prepare: JSON can carry a lone UTF-16 surrogate ("\\ud83d"), which is no Unicode text.
    const p = pendingRun(h.all.aws);
    const stoppedAt = new Date(Date.now() - 60_000);
    stopExecution(h.all.aws.state, PIPELINE, p.executionId, stoppedAt, {
      reason: "bad \ud83d build",
    });
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess
    const ended = (at: string) =>
      `${WHAT} ended at ${at}: execution ${p.executionId.slice(0, 8)} was stopped (reason: bad \ufffd build).`;
    expect(answerOf(responseId).told).toBe(`${ended(slackAt(stoppedAt))} ${RETRY}`);
    expect(await claimOf(h, p.executionId, p.run)).toMatchObject({
      outcome: `${ended(dateMinute(stoppedAt))} ${RETRY}`,
    });
    const clicks = (await auditItems(h, p.executionId)).filter(
      (a) => a.action === "approval-click",
    );
    expect(clicks.map((a) => a.result)).toContain(`not decided: ${ended(stoppedAt.toISOString())}`);
  });

  it("approved while its execution is stopping (stop and wait): decided, and the message says the execution goes no further", async () => {
    // Prepare: StopPipelineExecution without abandon: the waiting approval run goes on and the
    // execution is Stopping until it ends (user guide, "Stop a pipeline execution"); GetPipelineState
    // shows the stage's latestExecution Stopping.
    const p = pendingRun(h.all.aws);
    const stopped = stopExecution(h.all.aws.state, PIPELINE, p.executionId, new Date(), {
      abandon: false,
      reason: "freeze",
    });
    expect(stopped).toBe(true);
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess: CodePipeline took the decision; the request says the release does not go on.
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    const { message } = answerOf(responseId);
    expect(message).toContain("approved by");
    expect(message).toContain("(execution stopping)");
    expect(message).toContain("The execution is stopping: it ends once this approval is decided");
  });

  it("approved while its execution is stopping by a clicker with a long name: the header still ends '(execution stopping)'", async () => {
    // Prepare: as above; the clicker's name is long (a Slack display name may have 80
    // characters), so the header would pass Slack's 150 (header block: plain_text "Maximum
    // length for the text in this field is 150 characters", docs.slack.dev Block Kit reference).
    const p = pendingRun(h.all.aws);
    expect(
      stopExecution(h.all.aws.state, PIPELINE, p.executionId, new Date(), { abandon: false }),
    ).toBe(true);
    const longName = { ...APPROVER_1, name: `Jane ${"Doe".repeat(25)}` };
    // Act
    const { responseId } = await click(longName, p);
    // Assess: the name is cut, never the marker nor the time.
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    const blocks = (answerOf(responseId).replaced as { blocks: any[] }).blocks;
    const header: string = blocks.find((b) => b.type === "header").text.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header).toMatch(
      new RegExp(
        `^✅ ${PIPELINE}: approved by Jane (Doe)+D?o?… at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(execution stopping\\)$`,
      ),
    );
  });

  it("approved while its execution is stopping, the reply lost: still says the execution goes no further", async () => {
    // Prepare: stop and wait, as above; CodePipeline applies the approval and the connection is
    // reset (testing/aws core.ts `lostReply`), so the SDK's retry meets
    // ApprovalAlreadyCompletedException and the run is read back as this click's decision.
    const p = pendingRun(h.all.aws);
    stopExecution(h.all.aws.state, PIPELINE, p.executionId, new Date(), { abandon: false });
    h.all.aws.faults.codepipeline = {
      code: "-",
      operation: "PutApprovalResult",
      lostReply: true,
      times: 1,
    };
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess: decided, and the channel is told the release goes no further, as without the loss.
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(2);
    const { message } = answerOf(responseId);
    expect(message).toContain("approved by");
    expect(message).toContain("(execution stopping)");
    expect(message).toContain("The execution is stopping: it ends once this approval is decided");
  });

  it("PARALLEL mode: approved while its execution is stopping and a newer one waits at the stage: says the execution goes no further", async () => {
    // Prepare: in PARALLEL mode GetPipelineState's stage shows the newer execution, not the
    // claimed one (PutApprovalResult `token`: read it from ListActionExecutions); the claimed
    // execution is stopped and waited for (user guide, "Stop a pipeline execution").
    setExecutionMode(h.all.aws.state, PIPELINE, "PARALLEL");
    const p = pendingRun(h.all.aws);
    pendingRun(h.all.aws);
    stopExecution(h.all.aws.state, PIPELINE, p.executionId, new Date(), { abandon: false });
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    const { message } = answerOf(responseId);
    expect(message).toContain("(execution stopping)");
    expect(message).toContain("The execution is stopping: it ends once this approval is decided");
  });

  it("it expired: the reminder's wording, with how long it waited", async () => {
    // Prepare: nobody answered within the timeout (7 days); CodePipeline failed the run.
    const p = pendingRun(h.all.aws);
    expireApprovals(h.all.aws.state, new Date(Date.now() + 7 * 24 * 3_600_000 + 60_000));
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess
    const reason = `${WHAT} expired — no decision in 7 days.`;
    expect(answerOf(responseId).told).toBe(`${reason} ${RETRY}`);
    expect(answerOf(responseId).message).toContain(inJson(`*State*\n🚫 ${reason}\n➡️ ${RETRY}`));
    expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
  });

  it("it expired while its run shows the request's comments: still expired, not a rejection", async () => {
    // Prepare: a request with comments (CustomData); GetPipelineState shows them as the waiting
    // run's `summary` (user guide, "Approve or reject an approval action in CodePipeline", CLI
    // step 2), and nobody answered within 7 days. Only ListActionExecutions'
    // externalExecutionSummary is a result's summary (none: it expired).
    const { executionId, run } = expiredWithComments();
    // Act
    const { responseId } = await click(APPROVER_1, { executionId, run });
    // Assess
    const reason = `${WHAT} expired — no decision in 7 days.`;
    expect(answerOf(responseId).told).toBe(`${reason} ${RETRY}`);
    expect(answerOf(responseId).message).toContain(`🚫 ${PIPELINE}: ended without a decision`);
    expect(answerOf(responseId).message).not.toContain("rejected");
  });

  it("a run that Failed while ListActionExecutions fails is neither called rejected nor expired", async () => {
    // Prepare: as above, but the listing that holds the run's result is throttled (every try).
    const { executionId, run } = expiredWithComments();
    h.all.aws.faults.codepipeline = {
      code: "ThrottlingException",
      status: 400,
      operation: "ListActionExecutions",
    };
    // Act
    const { responseId } = await click(APPROVER_1, { executionId, run });
    // Assess: the run ended (Failed), how is not known: nothing is claimed about it.
    const { message } = answerOf(responseId);
    expect(message).toContain("this approval is no longer pending");
    expect(message).not.toMatch(/rejected|expired/);
    expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
  });

  it.each([
    ["CANCELED", "was cancelled (the pipeline was updated)", RELEASE],
    ["STOPPED", "was stopped", RETRY],
    [
      "SUPERSEDED",
      "was superseded by a newer execution",
      `The newer execution asks again when it reaches stage ${STAGE}.`,
    ],
  ])(
    "its execution ended %s (CodePipeline's Pipeline event): GetPipelineExecution's status is worded, and what next",
    async (state, happened, next) => {
      // Prepare: CodePipeline ends the execution around the waiting run (API_PipelineExecution
      // `status` Cancelled: "The pipeline's definition was updated before the pipeline execution
      // could be completed"); the stand-in then holds the run Abandoned.
      const p = pendingRun(h.all.aws);
      const endedAt = new Date(Date.now() - 120_000);
      recordEvent(h.all.aws.state, {
        source: "aws.codepipeline",
        "detail-type": "CodePipeline Pipeline Execution State Change",
        time: endedAt.toISOString(),
        detail: { pipeline: PIPELINE, "execution-id": p.executionId, state, version: 1 },
      });
      // Act
      const { responseId } = await click(APPROVER_1, p);
      // Assess
      expect(answerOf(responseId).told).toBe(
        `${WHAT} ended at ${slackAt(endedAt)}: execution ${p.executionId.slice(0, 8)} ${happened}. ${next}`,
      );
      expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
    },
  );

  it("an outsider still learns nothing about it", async () => {
    // Prepare
    const p = pendingRun(h.all.aws);
    stopExecution(h.all.aws.state, PIPELINE, p.executionId);
    const before = h.all.aws.state.codepipeline.calls.length;
    // Act
    const { responseId } = await click(OUTSIDER, p);
    // Assess
    expect(postsTo(h, responseId)).toEqual([
      expect.objectContaining({ text: `You are not an approver for ${PIPELINE}.` }),
    ]);
    expect(h.all.aws.state.codepipeline.calls).toHaveLength(before);
  });
});

describe("a click on a request decided in the console says who decided and when", () => {
  it.each([
    [
      "Approved",
      "approved",
      "✅",
      "Looks good, approved from the console",
      "Nothing to do: the execution goes on.",
    ],
    ["Rejected", "rejected", "❌", "Wrong build", RETRY],
  ] as const)(
    "%s in the console: the answer and the message say so, and what next",
    async (status, verb, icon, summary, next) => {
      // Prepare: someone decides the run in the console (their own PutApprovalResult).
      const p = pendingRun(h.all.aws);
      const at = await decideInCodePipeline(p.token, status, summary);
      // Act
      const { responseId } = await click(APPROVER_1, p);
      // Assess: who (the resource of the caller's ARN, as CodePipeline records it: the
      // stand-in's arn:aws:iam::123456789012:role/approver), when, their summary.
      const by = "role/approver";
      const answer = answerOf(responseId);
      expect(answer.told).toBe(
        `Already ${verb} in CodePipeline by ${by} at ${slackAt(at)}: ${summary}. ${next}`,
      );
      expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
      const Verb = `${verb[0].toUpperCase()}${verb.slice(1)}`;
      expect(answer.replaced).toMatchObject({
        replace_original: true,
        blocks: expect.arrayContaining([
          {
            type: "header",
            text: {
              type: "plain_text",
              emoji: true,
              text: `${icon} ${PIPELINE}: ${verb} in CodePipeline by ${by} at ${dateMinute(at)}`,
            },
          },
        ]),
      });
      expect(answer.message).toContain(
        `*Decision*\\n${icon} ${Verb} in CodePipeline by ${by} at ${slackAt(at)}`,
      );
      expect(answer.message).toContain(inJson(`at ${slackAt(at)}\n➡️ ${next}`));
      expect(answer.message).not.toContain("deploy-notifier.approve");
      expect(answer.message).not.toContain("*Expires*");
    },
  );

  it("rejected in the console with an empty comment: rejected, not expired", async () => {
    // Prepare: ApprovalResult's `summary` is required but may be empty (API_ApprovalResult.html:
    // "Minimum length of 0"): `put-approval-result --result status=Rejected,summary=` leaves a
    // Failed run with no summary, as an expiry does; only its caller (updatedBy) tells them apart.
    const p = pendingRun(h.all.aws);
    const at = await decideInCodePipeline(p.token, "Rejected", "");
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess
    const answer = answerOf(responseId);
    expect(answer.told).toBe(
      `Already rejected in CodePipeline by role/approver at ${slackAt(at)}. ${RETRY}`,
    );
    expect(answer.message).toContain(`❌ ${PIPELINE}: rejected in CodePipeline by role/approver`);
    expect(answer.message).not.toContain("expired");
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
  });

  it("rejected in the console with a comment that speaks of expiry: rejected, not expired", async () => {
    // Prepare: the reviewer's reason mentions an expiry. A run someone decided names its caller
    // (`updatedBy` / `lastUpdatedBy`: the ARN of who called PutApprovalResult,
    // API_ActionExecutionDetail.html, API_ActionExecution.html); CodePipeline documents none for
    // a timeout (user guide, "Approve or reject an approval action in CodePipeline").
    const p = pendingRun(h.all.aws);
    const at = await decideInCodePipeline(p.token, "Rejected", "cert expired, do not ship");
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess
    const answer = answerOf(responseId);
    expect(answer.told).toBe(
      `Already rejected in CodePipeline by role/approver at ${slackAt(at)}: cert expired, do not ship. ${RETRY}`,
    );
    expect(answer.message).toContain(`❌ ${PIPELINE}: rejected in CodePipeline by role/approver`);
    expect(answer.message).not.toContain("ended without a decision");
  });

  it("a console summary with half an emoji (a lone surrogate) is told as well-formed text", async () => {
    // Prepare: the reviewer's summary carries a lone surrogate through a JSON escape.
    const p = pendingRun(h.all.aws);
    const at = await decideInCodePipeline(p.token, "Rejected", "bad \ud83d build");
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess: U+FFFD in its place (String.prototype.toWellFormed, ECMA-262).
    expect(answerOf(responseId).told).toBe(
      `Already rejected in CodePipeline by role/approver at ${slackAt(at)}: bad \ufffd build. ${RETRY}`,
    );
  });

  it("decided by an earlier Slack click whose work stopped before it reported: who clicked, not our role", async () => {
    // Prepare: the run decided with the summary this product writes for a Slack click
    // (messages.ts approvalSummary), as a work that timed out after PutApprovalResult leaves it;
    // CodePipeline's caller is then the approval Lambda's own role (the stand-in: role/approver).
    const p = pendingRun(h.all.aws);
    const summary = approvalSummary("Approved", { id: "U012ABC", name: "Jane Doe" });
    const at = await decideInCodePipeline(p.token, "Approved", summary);
    // Act
    const { responseId } = await click(APPROVER_1, p);
    // Assess: the clicker learns who decided through Slack; the role is not presented as a person.
    const answer = answerOf(responseId);
    expect(answer.told).toBe(
      `Already approved through Slack at ${slackAt(at)}: Approved by Jane Doe (U012ABC) via Slack. Nothing to do: the execution goes on.`,
    );
    expect(answer.message).toContain(`✅ ${PIPELINE}: approved through Slack at ${dateMinute(at)}`);
    expect(answer.message).toContain(`*Decision*\\n✅ Approved through Slack at ${slackAt(at)}`);
    expect(answer.message).not.toContain("role/approver");
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
  });
});
