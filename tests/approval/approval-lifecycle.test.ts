/**
 * The approval's real lifecycle (issue 10 items 2, 4, 5), in process against the stand-ins:
 * - a decision belongs to one run of the approval action. Each run has its own action execution
 *   id and token; a retried stage re-runs the approval with a new token (REFERENCE.md,
 *   "CodePipeline's lifecycle"; API reference, RetryStageExecution, PutApprovalResult `token`);
 *   in PARALLEL mode the token is `externalExecutionId` in ListActionExecutions (API reference,
 *   PutApprovalResult: "For a pipeline where the execution mode is set to PARALLEL, the token …
 *   is not available. Instead, use the externalExecutionId in the response output from the
 *   ListActionExecutions action");
 * - a claim whose asynchronous work died is taken over after the function's timeout + margin;
 * - Slack's response_url works for 30 minutes and up to 5 uses (REFERENCE.md, "Slack, more"):
 *   then the message is updated with chat.update (https://api.slack.com/methods/chat.update:
 *   bot token, `channel`, `ts`).
 */
import {
  CodePipelineClient,
  GetPipelineStateCommand,
  PutApprovalResultCommand,
  RetryStageExecutionCommand,
} from "@aws-sdk/client-codepipeline";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import submissionFixture from "../events/slack/view-submission-reject-reason.json";
import type { ApprovalResponse as FunctionUrlResponse } from "../../handlers/approval";
import { CLAIM_MARGIN_MS } from "../../handlers/approval/decision";
import { rejectReasonMetadata } from "../../handlers/approval/interaction";
import type { ApprovalClaim } from "../../handlers/approval/types";
import { markWorkStarted } from "../../handlers/store/approvals";
import { expireApprovals, setExecutionMode } from "../../testing/aws/codepipeline";
import {
  ACTION,
  APPROVER_1,
  APPROVER_2,
  FUNCTION_NAME,
  PIPELINE,
  SECRET_ARN,
  SIGNING_SECRET,
  STAGE,
  TABLE,
  auditItems,
  claimOf,
  config,
  cpCalls,
  formBody,
  postsTo,
  resetHarness,
  responseUrl,
  signedEvent,
  startHarness,
  type Harness,
  pendingRun,
  clickAs,
} from "./harness";

let h: Harness;
let cp: CodePipelineClient;
beforeAll(async () => {
  h = await startHarness();
  cp = new CodePipelineClient({});
});
afterAll(async () => {
  cp.destroy();
  await h.all.close();
});
beforeEach(() => {
  resetHarness(h);
  h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
});

type User = typeof APPROVER_1;

/** Clicks a button of the request posted for `run` (undefined: an old button without a run). */
async function click(
  user: User,
  executionId: string,
  run: string | undefined,
  opts: { actionId?: string; channel?: string; messageTs?: string } = {},
): Promise<{ res: FunctionUrlResponse; responseId: string }> {
  const clicked = await clickAs(h, { user, executionId, run, ...opts });
  await h.all.aws.idle();
  return clicked;
}

/** The approval action's latest run as GetPipelineState reports it. */
async function latestRun(): Promise<{ id: string; token?: string; status?: string }> {
  const state = await cp.send(new GetPipelineStateCommand({ name: PIPELINE }));
  const action = state.stageStates
    ?.find((s) => s.stageName === STAGE)
    ?.actionStates?.find((a) => a.actionName === ACTION);
  const latest = action?.latestExecution;
  return { id: String(latest?.actionExecutionId), token: latest?.token, status: latest?.status };
}

/** RetryStageExecution of the approval stage (API_RetryStageExecution.html, FAILED_ACTIONS). */
async function retryStage(executionId: string): Promise<void> {
  await cp.send(
    new RetryStageExecutionCommand({
      pipelineName: PIPELINE,
      stageName: STAGE,
      pipelineExecutionId: executionId,
      retryMode: "FAILED_ACTIONS",
    }),
  );
}

function puts() {
  return cpCalls(h, "PutApprovalResult").map((c) => c.input as Record<string, unknown>);
}

function lastText(responseId: string): string {
  return JSON.stringify(postsTo(h, responseId));
}

describe("a decision belongs to exactly one run of the approval action (issue 10 item 2)", () => {
  it("after a Slack rejection and a stage retry, the new run's request decides with the new token (not 'Already rejected by …')", async () => {
    // Prepare: run 1 rejected from Slack; RetryStageExecution starts run 2 with a new token.
    const { executionId, run: run1, token: token1 } = pendingRun(h.all.aws);
    await click(APPROVER_2, executionId, run1, { actionId: "deploy-notifier.reject" });
    await retryStage(executionId);
    const run2 = await latestRun();
    // Act
    const second = await click(APPROVER_1, executionId, run2.id);
    // Assess
    expect(run2).toMatchObject({ status: "InProgress" });
    expect(run2.id).not.toBe(run1);
    expect(run2.token).not.toBe(token1);
    expect(puts().map((p) => [(p.result as { status: string }).status, p.token])).toEqual([
      ["Rejected", token1],
      ["Approved", run2.token],
    ]);
    expect(lastText(second.responseId)).not.toContain("Already rejected");
    expect(postsTo(h, second.responseId)[0]).toMatchObject({ replace_original: true });
    expect(lastText(second.responseId)).toContain("Approved by <@U0APPROVER1>");
    expect(await claimOf(h, executionId, run2.id)).toMatchObject({
      status: "decided",
      decision: "Approved",
    });
    expect(await claimOf(h, executionId, run1)).toMatchObject({ decision: "Rejected" });
  });

  it("a click on the request of a run that was replaced is refused: ephemeral, message updated, approval-superseded, CodePipeline not called", async () => {
    // Prepare: run 1 rejected in the console, the stage retried: run 2 is pending.
    const { executionId, run: run1, token: token1 } = pendingRun(h.all.aws);
    await cp.send(
      new PutApprovalResultCommand({
        pipelineName: PIPELINE,
        stageName: STAGE,
        actionName: ACTION,
        result: { status: "Rejected", summary: "rejected in the console" },
        token: token1,
      }),
    );
    await retryStage(executionId);
    const run2 = await latestRun();
    const before = puts().length;
    // Act
    const old = await click(APPROVER_1, executionId, run1);
    const again = await click(APPROVER_2, executionId, run1);
    // Assess
    expect(puts()).toHaveLength(before);
    // One wording everywhere (the new-user pass found five): CodePipeline's term for the run a
    // retried stage starts, an action execution (API_ListActionExecutions.html).
    const replaced = "replaced by a newer action execution (the stage was retried)";
    const [told, update] = postsTo(h, old.responseId);
    expect(told).toMatchObject({
      response_type: "ephemeral",
      replace_original: false,
      text: `This request was ${replaced}; use the newest message.`,
    });
    expect(update.replace_original).toBe(true);
    const blocks = JSON.stringify(update.blocks);
    // (The header and State are messages.ts replacedEnding: approval-message.test.ts.)
    expect(blocks).toContain(`⏭️ R${replaced.slice(1)}; use the newest message (clicked by`);
    expect(blocks).not.toContain("deploy-notifier.approve");
    expect(postsTo(h, again.responseId)).toEqual([
      expect.objectContaining({ text: `This request was ${replaced}; use the newest message.` }),
    ]);
    expect(await auditItems(h, executionId)).toContainEqual(
      expect.objectContaining({
        action: "approval-superseded",
        result: `refused: the request was ${replaced}`,
      }),
    );
    // The new run is still decidable from its own message.
    await click(APPROVER_2, executionId, run2.id);
    expect(puts().at(-1)).toMatchObject({ token: run2.token });
  });

  it("a click on an expired request while another execution waits at the approval is told it expired, not that it was replaced (new-user pass, round 10)", async () => {
    // Prepare: execution A's run timed out (CodePipeline fails it with no summary, issue 10 item
    // 3); a later execution B now waits at the stage, so GetPipelineState shows B's run. B is
    // another execution's request, not a newer run of A's.
    const a = pendingRun(h.all.aws);
    expireApprovals(h.all.aws.state, new Date(Date.now() + 8 * 24 * 3_600_000));
    const b = pendingRun(h.all.aws);
    const before = puts().length;
    // Act
    const clicked = await click(APPROVER_1, a.executionId, a.run);
    // Assess
    expect(puts()).toHaveLength(before);
    const posts = postsTo(h, clicked.responseId);
    expect(posts).toEqual([
      expect.objectContaining({
        response_type: "ephemeral",
        text:
          `Approval of ${PIPELINE} › ${STAGE} › ${ACTION} expired — no decision in 8 days. ` +
          `To release it, retry stage ${STAGE} in CodePipeline ("Retry failed actions"); it asks again.`,
      }),
      expect.objectContaining({
        replace_original: true,
        text: expect.stringContaining("expired — no decision in 8 days."),
      }),
    ]);
    expect(JSON.stringify(posts)).not.toMatch(/replaced/i);
    const actions = (await auditItems(h, a.executionId)).map((x) => x.action);
    expect(actions).not.toContain("approval-superseded");
    // B's own request still decides B.
    await click(APPROVER_2, b.executionId, b.run);
    expect(puts().at(-1)).toMatchObject({ token: b.token });
  });

  it("PARALLEL mode: the token of an older execution's run comes from ListActionExecutions' externalExecutionId", async () => {
    // Prepare: two executions wait at the approval at once; GetPipelineState shows the newer.
    setExecutionMode(h.all.aws.state, PIPELINE, "PARALLEL");
    const older = pendingRun(h.all.aws);
    const newer = pendingRun(h.all.aws);
    // Act
    await click(APPROVER_1, older.executionId, older.run);
    // Assess
    const lists = cpCalls(h, "ListActionExecutions").map((c) => c.input);
    expect(lists).toEqual([
      expect.objectContaining({
        pipelineName: PIPELINE,
        filter: { pipelineExecutionId: older.executionId },
      }),
    ]);
    expect(puts()).toEqual([expect.objectContaining({ token: older.token })]);
    expect(puts()[0].token).not.toBe(newer.token);
    const stillPending = await latestRun();
    expect(stillPending).toMatchObject({ id: newer.run, status: "InProgress" });
  });

  it("PARALLEL mode: the latest run, whose token GetPipelineState hides, is decided with ListActionExecutions' externalExecutionId", async () => {
    // Prepare
    setExecutionMode(h.all.aws.state, PIPELINE, "PARALLEL");
    pendingRun(h.all.aws);
    const newer = pendingRun(h.all.aws);
    const shown = await latestRun();
    // Act
    await click(APPROVER_2, newer.executionId, newer.run, { actionId: "deploy-notifier.reject" });
    // Assess
    expect(shown).toMatchObject({ id: newer.run, status: "InProgress", token: undefined });
    expect(puts()).toEqual([
      expect.objectContaining({
        token: newer.token,
        result: expect.objectContaining({ status: "Rejected" }),
      }),
    ]);
  });

  it("PARALLEL mode: a click on the request of an execution CodePipeline does not know (PipelineExecutionNotFoundException) is final, not 'try again'", async () => {
    // Prepare: the pipeline exists; the clicked request's execution is not one of its executions
    // (ListActionExecutions' errors: "an execution ID does not belong to the specified pipeline").
    setExecutionMode(h.all.aws.state, PIPELINE, "PARALLEL");
    pendingRun(h.all.aws);
    const unknown = crypto.randomUUID();
    // Act
    await click(APPROVER_1, unknown, crypto.randomUUID());
    // Assess
    expect(puts()).toEqual([]);
    const errors = (await auditItems(h, unknown)).filter((a) => a.action === "approval-error");
    // Final (as PipelineNotFoundException): the clicker is told why, not to try again, and the
    // claim is not released into a loop of clicks that can never decide.
    expect(errors.map((a) => a.result)).toEqual(["pipeline execution not found"]);
  });

  it("the reject-reason modal carries the run and when its response_url was issued", () => {
    const json = rejectReasonMetadata({
      pipeline: PIPELINE,
      stage: STAGE,
      action: ACTION,
      executionId: "e1",
      actionExecutionId: "run-2",
      responseUrl: "https://hooks.slack.com/actions/T/1/x",
      clickedAt: "2026-11-30T07:00:00.000Z",
    });
    expect(JSON.parse(String(json))).toMatchObject({
      actionExecutionId: "run-2",
      clickedAt: "2026-11-30T07:00:00.000Z",
    });
  });
});

/** Makes the claim look `ms` older, as if that much time passed since the click. */
async function ageClaim(executionId: string, run: string | undefined, ms: number): Promise<void> {
  const claim = await claimOf(h, executionId, run);
  const at = new Date(Date.parse(String(claim?.at)) - ms).toISOString();
  await h.doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { pk: claim?.pk, sk: claim?.sk },
      UpdateExpression: "SET #at = :at",
      ExpressionAttributeNames: { "#at": "at" },
      ExpressionAttributeValues: { ":at": at },
    }),
  );
}

/** The function timeout + margin after which a claim still `claimed` counts as lost, plus 1 s. */
const PAST_BOUND_MS = (config.workTimeoutSeconds ?? 0) * 1000 + CLAIM_MARGIN_MS + 1000;

describe("lost approval work (issue 10 item 4)", () => {
  it("a claim whose work died is taken over after the timeout bound: the work restarts, the clicker is told, CodePipeline decides once", async () => {
    // Prepare: the self-invoke is accepted but the work invocation dies (Lambda timeout).
    const { executionId, run, token } = pendingRun(h.all.aws);
    h.all.aws.registerFunction(FUNCTION_NAME, async () => {
      throw new Error("Task timed out after 30.00 seconds");
    });
    await click(APPROVER_1, executionId, run);
    h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
    // Act: a click within the bound, then one after it.
    const early = await click(APPROVER_2, executionId, run);
    await ageClaim(executionId, run, PAST_BOUND_MS);
    const late = await click(APPROVER_2, executionId, run);
    // Assess
    expect(String(postsTo(h, early.responseId)[0].text)).toMatch(
      /^Already being approved by <@U0APPROVER1> at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>; the message updates/,
    );
    expect(lastText(early.responseId)).not.toContain("Already approved");
    const [told, update] = postsTo(h, late.responseId);
    expect(told).toMatchObject({ response_type: "ephemeral" });
    expect(String(told.text)).toMatch(/^The earlier approval by <@U0APPROVER1> .* did not finish/);
    expect(update.replace_original).toBe(true);
    expect(puts()).toEqual([expect.objectContaining({ token })]);
    expect(await claimOf(h, executionId, run)).toMatchObject({
      status: "decided",
      user: { id: APPROVER_2.id },
      settledAt: expect.any(String),
    });
    expect((await auditItems(h, executionId)).map((a) => a.result)).toContain(
      "claimed: took over a claim whose work did not finish",
    );
  });

  /**
   * Registers as the work a function that (after `before`, given the work's event) approves
   * `token` in CodePipeline, then dies before it reports, as a Lambda timeout does.
   */
  function workApprovesThenDies(token: string, before?: (event: unknown) => Promise<void>): void {
    h.all.aws.registerFunction(FUNCTION_NAME, async (event) => {
      await before?.(event);
      await cp.send(
        new PutApprovalResultCommand({
          pipelineName: PIPELINE,
          stageName: STAGE,
          actionName: ACTION,
          result: { status: "Approved", summary: "Approved by Jane Doe (U0APPROVER1) via Slack" },
          token,
        }),
      );
      throw new Error("Task timed out after 30.00 seconds");
    });
  }

  it("work that died after PutApprovalResult succeeded: the takeover reports it as final, no error loop", async () => {
    // Prepare: the work decided in CodePipeline, then died before it recorded anything.
    const { executionId, run, token } = pendingRun(h.all.aws);
    workApprovesThenDies(token);
    await click(APPROVER_1, executionId, run);
    h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
    await ageClaim(executionId, run, PAST_BOUND_MS);
    // The state read shows the run Succeeded with the lost work's summary; had it still shown
    // InProgress, PutApprovalResult would answer ApprovalAlreadyCompletedException
    // (API_PutApprovalResult.html, Errors): approval-flow.test.ts settles that as final too.
    // Act
    const takeover = await click(APPROVER_2, executionId, run, {
      actionId: "deploy-notifier.reject",
    });
    const third = await click(APPROVER_2, executionId, run);
    // Assess
    expect(await claimOf(h, executionId, run)).toMatchObject({ status: "final" });
    // What CodePipeline holds is reported: the lost work's approval (its PutApprovalResult
    // summary), as through Slack: the caller CodePipeline records is our own role, not a person.
    expect(lastText(takeover.responseId)).toMatch(
      /Already approved through Slack at [^"]*: Approved by Jane Doe \(U0APPROVER1\) via Slack\. Nothing to do: the execution goes on\."/,
    );
    expect(lastText(takeover.responseId)).not.toContain("role/approver");
    expect(puts()).toHaveLength(1); // only the lost work's: nothing decided twice
    expect(h.all.aws.state.lambda.invocations).toHaveLength(2);
    expect(String(postsTo(h, third.responseId)[0].text)).toMatch(
      /^This approval can no longer be decided from Slack: /,
    );
  });
  it("a taken-over claim whose work began deciding: the clicker is not told 'nothing was decided yet'", async () => {
    // Prepare: the work marks the claim as being decided (store/approvals.ts markWorkStarted, as
    // work.ts does before it calls CodePipeline), decides, then dies before it reports.
    const { executionId, run, token } = pendingRun(h.all.aws);
    workApprovesThenDies(token, async (event) => {
      const { claim } = event as { claim: ApprovalClaim };
      await markWorkStarted(claim, 30, new Date(Date.now() + PAST_BOUND_MS).toISOString());
    });
    await click(APPROVER_1, executionId, run);
    h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
    await ageClaim(executionId, run, PAST_BOUND_MS);
    // Act
    const takeover = await click(APPROVER_2, executionId, run);
    // Assess: the earlier work may have reached CodePipeline (here it did): the takeover says
    // so, and the clicker then learns what CodePipeline holds; nothing is decided twice.
    const [told, ...rest] = postsTo(h, takeover.responseId);
    expect(String(told.text)).toMatch(
      /^The earlier approval by <@U0APPROVER1> at <!date[^>]*> did not finish and may have reached CodePipeline: yours is sent only if the request still waits; the message updates either way\.$/,
    );
    expect(JSON.stringify(rest)).toContain("Already approved through Slack");
    expect(puts()).toHaveLength(1);
  });

  it("a Reject with a reason on a lost claim opens the modal, and the submission takes the claim over", async () => {
    // Prepare: a bot token (the reason modal), and an approval whose work died.
    const botArn = `${SECRET_ARN}-lifecycle-modal`;
    h.all.aws.state.secrets[botArn] = JSON.stringify({
      signingSecret: SIGNING_SECRET,
      botToken: "xoxb-0000000000-lifecycle-modal",
    });
    process.env.SLACK_APP_SECRET_ARN = botArn;
    const { executionId, run, token } = pendingRun(h.all.aws);
    h.all.aws.registerFunction(FUNCTION_NAME, async () => {
      throw new Error("Task timed out after 30.00 seconds");
    });
    try {
      await click(APPROVER_1, executionId, run);
      h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
      await ageClaim(executionId, run, PAST_BOUND_MS);
      // Act
      const rejected = await click(APPROVER_2, executionId, run, {
        actionId: "deploy-notifier.reject",
      });
      const [opened] = h.all.receivers.attemptsOf("slack-api", "views.open");
      const view = (opened.body as { view: { private_metadata: string } }).view;
      const payload = {
        ...submissionFixture,
        user: { ...APPROVER_2, team_id: "T0TEAM" },
        view: { ...submissionFixture.view, private_metadata: view.private_metadata },
      };
      const res = (await h.handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
      await h.all.aws.idle();
      // Assess
      // No "already" at the Reject click; after the submission, the takeover is explained.
      const told = postsTo(h, rejected.responseId);
      expect(told[0]).toMatchObject({ response_type: "ephemeral" });
      expect(String(told[0].text)).toMatch(
        /^The earlier approval by <@U0APPROVER1> .* did not finish/,
      );
      expect(told[1]).toMatchObject({ replace_original: true });
      expect(res).toMatchObject({ statusCode: 200, body: "" });
      expect(puts()).toEqual([
        expect.objectContaining({ token, result: expect.objectContaining({ status: "Rejected" }) }),
      ]);
      expect(await claimOf(h, executionId, run)).toMatchObject({
        status: "decided",
        user: { id: APPROVER_2.id },
      });
    } finally {
      process.env.SLACK_APP_SECRET_ARN = SECRET_ARN;
    }
  });
});

describe("an expired response_url (issue 10 item 5)", () => {
  const BOT_SECRET_ARN = `${SECRET_ARN}-lifecycle-bot`;
  const BOT_TOKEN = "xoxb-0000000000-lifecycle-bot-token";

  /** Posts the approval request on the Web API stand-in, as the fan-out's bot mode does. */
  async function postRequest(): Promise<{ channel: string; ts: string }> {
    const res = await fetch(`${h.all.receivers.slackApiUrl}/chat.postMessage`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${BOT_TOKEN}` },
      body: JSON.stringify({ channel: "C0DEPLOYS", text: "Approval needed: payments-prod" }),
    });
    const body = (await res.json()) as { channel: string; ts: string };
    return { channel: body.channel, ts: body.ts };
  }

  afterEach(() => {
    process.env.SLACK_APP_SECRET_ARN = SECRET_ARN;
  });

  it("response_url answers 404 expired_url: the message is updated with chat.update (bot token, channel, ts)", async () => {
    // Prepare
    h.all.aws.state.secrets[BOT_SECRET_ARN] = JSON.stringify({
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
    });
    process.env.SLACK_APP_SECRET_ARN = BOT_SECRET_ARN;
    const message = await postRequest();
    const { executionId, run } = pendingRun(h.all.aws);
    h.all.receivers.setFault("slack-response", { status: 404, body: "expired_url" });
    // Act
    await click(APPROVER_1, executionId, run, { channel: message.channel, messageTs: message.ts });
    // Assess
    const updated = h.all.receivers.slackMessages[`${message.channel}:${message.ts}`];
    expect(updated.updates).toBe(1);
    expect(updated.text).toContain("Approved by <@U0APPROVER1>");
    expect(h.all.receivers.attemptsOf("slack-api", "chat.update")[0].headers).toMatchObject({
      authorization: `Bearer ${BOT_TOKEN}`,
    });
    const audit = (await auditItems(h, executionId)).map((a) => a.action);
    expect(audit).toContain("approval-decided");
    expect(audit).not.toContain("message-not-updated");
  });

  it("a reason submitted more than 30 minutes after the Reject click: response_url is not used, chat.update is", async () => {
    // Prepare
    h.all.aws.state.secrets[BOT_SECRET_ARN] = JSON.stringify({
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
    });
    process.env.SLACK_APP_SECRET_ARN = BOT_SECRET_ARN;
    const message = await postRequest();
    const { executionId, run, token } = pendingRun(h.all.aws);
    const { id, url } = responseUrl(h);
    const metadata = rejectReasonMetadata({
      pipeline: PIPELINE,
      stage: STAGE,
      action: ACTION,
      executionId,
      actionExecutionId: run,
      responseUrl: url,
      clickedAt: new Date(Date.now() - 31 * 60_000).toISOString(),
      channel: message.channel,
      messageTs: message.ts,
    });
    const payload = {
      ...submissionFixture,
      user: { ...APPROVER_2, team_id: "T0TEAM" },
      view: { ...submissionFixture.view, private_metadata: metadata },
    };
    // Act
    const res = (await h.handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
    await h.all.aws.idle();
    // Assess
    expect(res).toMatchObject({ statusCode: 200, body: "" });
    expect(puts()).toEqual([expect.objectContaining({ token })]);
    expect(h.all.receivers.attemptsOf("slack-response", id)).toEqual([]);
    const updated = h.all.receivers.slackMessages[`${message.channel}:${message.ts}`];
    expect(updated.text).toContain("Rejected by <@U0APPROVER2>");
    expect(updated.text).toContain("Failing smoke tests in eu-west-1");
  });

  it("neither response_url nor chat.update works (no bot token): message-not-updated is audited", async () => {
    // Prepare
    const { executionId, run } = pendingRun(h.all.aws);
    h.all.receivers.setFault("slack-response", { status: 404, body: "expired_url" });
    // Act
    await click(APPROVER_1, executionId, run);
    // Assess
    expect(puts()).toHaveLength(1);
    const record = (await auditItems(h, executionId)).find(
      (a) => a.action === "message-not-updated",
    );
    expect(record?.result).toBe("response_url: HTTP 404 expired_url; chat.update: no bot token");
  });
});
