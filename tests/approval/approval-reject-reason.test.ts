/**
 * "Reject with a reason": with a bot token, a Reject click opens a modal (views.open on the Slack
 * Web API stand-in) and the modal's view_submission decides, with the reason in the CodePipeline
 * summary, the Slack message and the audit trail.
 */
import submissionFixture from "../events/slack/view-submission-reject-reason.json";
import {
  createApprovalHandler,
  type ApprovalHandler,
  type ApprovalResponse as FunctionUrlResponse,
} from "../../handlers/approval";
import {
  normalizeReason,
  parseRejectReasonMetadata,
  rejectReasonMetadata,
} from "../../handlers/approval/interaction";
import { approvalSummary, REJECT_REASON_MAX_CHARS } from "../../handlers/approval/messages";
import {
  ACTION,
  APPROVER_1,
  APPROVER_2,
  OUTSIDER,
  PIPELINE,
  SECRET_ARN,
  SIGNING_SECRET,
  STAGE,
  auditItems,
  captureLogs,
  claimOf,
  clickPayload,
  config,
  cpCalls,
  formBody,
  pendingApproval,
  postsTo,
  resetHarness,
  responseUrl,
  signedEvent,
  startHarness,
  type Harness,
} from "./harness";

/** A second Slack app secret, with a bot token: secrets are cached per ARN for a cold start. */
const BOT_SECRET_ARN = `${SECRET_ARN}-with-bot`;
const BOT_TOKEN = "xoxb-0000000000-test-bot-token-secret";
const TRIGGER_ID = "7000000000.1000000000.abcdef0123456789abcdef0123456789";

let h: Harness;
let handler: ApprovalHandler;
beforeAll(async () => {
  h = await startHarness();
  // The self-invoked work runs in the harness handler; only the request path needs the API URL.
  handler = createApprovalHandler({ ...config, slackApiUrl: h.all.receivers.slackApiUrl });
});
afterAll(async () => {
  await h.all.close();
});
beforeEach(() => {
  resetHarness(h);
  h.all.aws.state.secrets[BOT_SECRET_ARN] = JSON.stringify({
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
  });
  process.env.SLACK_APP_SECRET_ARN = BOT_SECRET_ARN;
});

type User = typeof APPROVER_1;

/** Clicks a button as `user`; returns the HTTP answer and the response_url id. */
async function click(
  user: User,
  executionId: string,
  actionId = "deploy-notifier.reject",
): Promise<{ res: FunctionUrlResponse; responseId: string; url: string }> {
  const { id, url } = responseUrl(h);
  const payload = clickPayload({ user, executionId, responseUrl: url, actionId });
  const res = (await handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
  return { res, responseId: id, url };
}

/** The views.open requests that reached the stand-in, whatever it answered. */
function viewsOpenCalls() {
  return h.all.receivers.attemptsOf("slack-api", "views.open");
}

/** The view of the n-th views.open request. */
function openedView(n = 0): Record<string, unknown> {
  return (viewsOpenCalls()[n].body as { view: Record<string, unknown> }).view;
}

/** Submits the reject-reason modal as `user`, the way Slack posts a view_submission. */
async function submit(
  user: User,
  privateMetadata: string,
  reason: string,
): Promise<FunctionUrlResponse> {
  const payload = {
    ...submissionFixture,
    user: { ...user, team_id: "T0TEAM" },
    view: {
      ...submissionFixture.view,
      private_metadata: privateMetadata,
      state: { values: { reason: { reason: { type: "plain_text_input", value: reason } } } },
    },
  };
  return (await handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
}

/** A pending approval whose Reject button `user` clicked: the modal is open. */
async function openModal(user: User = APPROVER_2) {
  const { executionId, token } = pendingApproval(h);
  const clicked = await click(user, executionId);
  await h.all.aws.idle();
  const metadata = String(openedView().private_metadata);
  return { executionId, token, metadata, ...clicked };
}

function approvalStatus(): string | undefined {
  return h.all.aws.state.codepipeline.pipelines[PIPELINE].stages
    .find((s) => s.name === STAGE)!
    .actions.find((a) => a.name === ACTION)!.status;
}

function modalErrors(res: FunctionUrlResponse): unknown {
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toBe("application/json");
  return JSON.parse(res.body);
}

describe("a Reject click with a bot token", () => {
  it("opens the reason modal with the click's trigger_id, and decides nothing yet", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    // Act
    const { res, responseId, url } = await click(APPROVER_2, executionId);
    await h.all.aws.idle();
    // Assess
    expect(res).toMatchObject({ statusCode: 200, body: "" });
    const [call] = viewsOpenCalls();
    expect(viewsOpenCalls()).toHaveLength(1);
    expect(call.outcome).toBe("delivered");
    expect(call.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect((call.body as { trigger_id: string }).trigger_id).toBe(TRIGGER_ID);
    const view = openedView();
    expect(view).toMatchObject({
      type: "modal",
      callback_id: "deploy-notifier.reject-reason",
      title: { type: "plain_text", text: "Reject deployment" },
      submit: { type: "plain_text", text: "Reject" },
      close: { type: "plain_text", text: "Cancel" },
    });
    const blocks = view.blocks as Record<string, unknown>[];
    expect(blocks).toContainEqual(
      expect.objectContaining({
        type: "input",
        block_id: "reason",
        element: expect.objectContaining({
          type: "plain_text_input",
          action_id: "reason",
          multiline: true,
          max_length: 500,
        }),
      }),
    );
    expect(JSON.stringify(blocks)).toContain(`*${PIPELINE}* · stage *${STAGE}*`);
    expect(JSON.parse(String(view.private_metadata))).toMatchObject({
      pipeline: PIPELINE,
      stage: STAGE,
      action: ACTION,
      executionId,
      responseUrl: url,
      channel: "C0DEPLOYS",
      messageTs: "1718000000.000100",
    });
    expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
    expect(h.all.aws.state.lambda.invocations).toEqual([]);
    expect(await claimOf(h, executionId)).toBeUndefined();
    expect(postsTo(h, responseId)).toEqual([]);
    expect((await auditItems(h, executionId)).map((a) => [a.action, a.result])).toEqual([
      ["approval-click", "reason requested"],
    ]);
  });

  it("a non-approver gets the usual denial and no modal", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    // Act
    const { responseId } = await click(OUTSIDER, executionId);
    await h.all.aws.idle();
    // Assess
    expect(viewsOpenCalls()).toEqual([]);
    expect(postsTo(h, responseId)).toEqual([
      expect.objectContaining({ text: "You are not an approver for payments-prod." }),
    ]);
  });

  it("after someone decided, tells the clicker who and opens no modal", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    await click(APPROVER_1, executionId, "deploy-notifier.approve");
    await h.all.aws.idle();
    // Act
    const { responseId } = await click(APPROVER_2, executionId);
    await h.all.aws.idle();
    // Assess
    expect(viewsOpenCalls()).toEqual([]);
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(postsTo(h, responseId)[0].text).toMatch(
      /^Already approved by <@U0APPROVER1> at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>\.$/,
    );
  });
});

describe("submitting the reason", () => {
  it("rejects once with the reason in the summary, the message (escaped) and the audit", async () => {
    // Prepare
    const { executionId, token, metadata, responseId } = await openModal(APPROVER_2);
    const reason = "Smoke tests fail <!channel> & <@U0OTHER>";
    // Act
    const res = await submit(APPROVER_2, metadata, reason);
    await h.all.aws.idle();
    // Assess
    expect(res).toMatchObject({ statusCode: 200, body: "" });
    expect(cpCalls(h, "PutApprovalResult").map((c) => c.input)).toEqual([
      {
        pipelineName: PIPELINE,
        stageName: STAGE,
        actionName: ACTION,
        result: {
          status: "Rejected",
          summary: `Rejected by Raj Patel (U0APPROVER2) via Slack: ${reason}`,
        },
        token,
      },
    ]);
    expect(approvalStatus()).toBe("Failed");
    const [update] = postsTo(h, responseId);
    expect(update.replace_original).toBe(true);
    const blocks = update.blocks as { type: string; elements?: { text?: string }[] }[];
    // The original request (carried in private_metadata) is kept, minus its buttons.
    expect(blocks.map((b) => b.type)).toEqual(["section", "context"]);
    expect(blocks[1].elements?.[0].text).toMatch(
      /^❌ Rejected by <@U0APPROVER2> at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>: Smoke tests fail &lt;!channel&gt; &amp; &lt;@U0OTHER&gt;$/,
    );
    expect(JSON.stringify(update)).not.toContain("<!channel>");
    expect(await auditItems(h, executionId)).toContainEqual(
      expect.objectContaining({
        action: "approval-decided",
        actor: "Raj Patel (U0APPROVER2)",
        result: "Rejected",
        detail: expect.objectContaining({ decision: "Rejected", reason }),
      }),
    );
  });

  it("refuses a non-approver with a modal error and decides nothing", async () => {
    // Prepare
    const { executionId, metadata, responseId } = await openModal(APPROVER_2);
    // Act
    const res = await submit(OUTSIDER, metadata, "I do not like it");
    await h.all.aws.idle();
    // Assess
    expect(modalErrors(res)).toEqual({
      response_action: "errors",
      errors: { reason: "You are not an approver for payments-prod." },
    });
    expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
    expect(h.all.aws.state.lambda.invocations).toEqual([]);
    expect(await claimOf(h, executionId)).toBeUndefined();
    expect(postsTo(h, responseId)).toEqual([]);
    expect(await auditItems(h, executionId)).toContainEqual(
      expect.objectContaining({ action: "approval-denied", actor: "Mallory (U0OUTSIDER)" }),
    );
  });

  it("after someone else approved, answers with a modal error naming them", async () => {
    // Prepare
    const { executionId, metadata } = await openModal(APPROVER_2);
    await click(APPROVER_1, executionId, "deploy-notifier.approve");
    await h.all.aws.idle();
    // Act
    const res = await submit(APPROVER_2, metadata, "Too risky on a Friday");
    await h.all.aws.idle();
    // Assess
    expect(modalErrors(res)).toEqual({
      response_action: "errors",
      errors: {
        reason: expect.stringMatching(
          /^Already approved by Jane Doe \(U0APPROVER1\) at \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/,
        ),
      },
    });
    expect(cpCalls(h, "PutApprovalResult").map((c) => c.input.result)).toEqual([
      { status: "Approved", summary: "Approved by Jane Doe (U0APPROVER1) via Slack" },
    ]);
    expect(await claimOf(h, executionId)).toMatchObject({ user: { id: APPROVER_1.id } });
  });

  it.each([
    ["not JSON", "not json"],
    ["no response_url", JSON.stringify({ pipeline: PIPELINE, stage: STAGE, action: ACTION })],
  ])("refuses forged private_metadata (%s) and decides nothing", async (_name, forged) => {
    // Prepare
    const { executionId } = pendingApproval(h);
    const metadata = forged.includes("{")
      ? JSON.stringify({ ...JSON.parse(forged), executionId })
      : forged;
    // Act
    const res = await submit(APPROVER_2, metadata, "reason");
    await h.all.aws.idle();
    // Assess
    expect(modalErrors(res)).toMatchObject({ response_action: "errors" });
    expect(h.all.aws.state.lambda.invocations).toEqual([]);
    expect(await claimOf(h, executionId)).toBeUndefined();
  });

  it("a blank reason keeps the modal open", async () => {
    // Prepare
    const { executionId, metadata } = await openModal(APPROVER_2);
    // Act
    const res = await submit(APPROVER_2, metadata, "   \n ");
    // Assess
    expect(modalErrors(res)).toEqual({
      response_action: "errors",
      errors: { reason: "Please give a reason." },
    });
    expect(await claimOf(h, executionId)).toBeUndefined();
  });

  it("an unsigned submission gets the opaque 401", async () => {
    // Prepare
    const { executionId, metadata } = await openModal(APPROVER_2);
    const payload = {
      ...submissionFixture,
      view: { ...submissionFixture.view, private_metadata: metadata },
    };
    // Act
    const res = (await handler(
      signedEvent(formBody(payload), { secret: "not-the-secret" }),
    )) as FunctionUrlResponse;
    await h.all.aws.idle();
    // Assess
    expect(res).toMatchObject({ statusCode: 401, body: "unauthorized" });
    expect(await claimOf(h, executionId)).toBeUndefined();
  });
});

describe("falling back to an immediate reject", () => {
  it.each([
    [
      "views.open answers ok:false",
      { status: 200, body: { ok: false, error: "expired_trigger_id" } },
    ],
    [
      "views.open never answers (timed out within the click's budget)",
      { kind: "timeout" as const },
    ],
  ])("%s → rejected at once without a reason, no token in logs", async (_name, fault) => {
    // Prepare
    const { lines, restore } = captureLogs();
    h.all.receivers.setFault("slack-api", { ...fault, times: 1 });
    const { executionId } = pendingApproval(h);
    // Act
    const { res, responseId } = await click(APPROVER_2, executionId);
    await h.all.aws.idle();
    restore();
    // Assess
    expect(res).toMatchObject({ statusCode: 200, body: "" });
    expect(viewsOpenCalls()).toHaveLength(1);
    expect(cpCalls(h, "PutApprovalResult").map((c) => c.input.result)).toEqual([
      { status: "Rejected", summary: "Rejected by Raj Patel (U0APPROVER2) via Slack" },
    ]);
    expect(JSON.stringify(postsTo(h, responseId)[0].blocks)).toMatch(
      /❌ Rejected by <@U0APPROVER2> at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>"/,
    );
    const claimed = (await auditItems(h, executionId)).find((a) => a.result === "claimed");
    expect(claimed?.detail).toMatchObject({ reasonPrompt: expect.stringMatching(/^failed: /) });
    expect(lines.join("\n")).toContain("reject reason modal failed");
    expect(lines.join("\n")).not.toContain(BOT_TOKEN);
  });

  it("without a bot token, a Reject click rejects at once (no modal)", async () => {
    // Prepare
    process.env.SLACK_APP_SECRET_ARN = SECRET_ARN;
    const { executionId } = pendingApproval(h);
    // Act
    await click(APPROVER_2, executionId);
    await h.all.aws.idle();
    // Assess
    expect({
      viewsOpen: viewsOpenCalls().length,
      puts: cpCalls(h, "PutApprovalResult").length,
    }).toEqual({
      viewsOpen: 0,
      puts: 1,
    });
  });
});

describe("reason limits", () => {
  it("caps the summary at CodePipeline's 512 characters, marking the cut", () => {
    // Prepare
    const user = { id: "U0APPROVER2", name: "R".repeat(80) };
    const reason = normalizeReason(`  ${"x".repeat(REJECT_REASON_MAX_CHARS + 50)}  `)!;
    // Act
    const summary = approvalSummary("Rejected", user, reason);
    // Assess
    expect(reason).toHaveLength(REJECT_REASON_MAX_CHARS);
    expect(summary).toHaveLength(512);
    expect(summary.startsWith(`Rejected by ${user.name} (U0APPROVER2) via Slack: xxx`)).toBe(true);
    expect(summary.endsWith("x…")).toBe(true);
  });

  it("keeps private_metadata within 3000 characters by dropping the message blocks", () => {
    // Prepare
    const big = { type: "section", text: { type: "mrkdwn", text: "y".repeat(2900) } };
    const meta = {
      pipeline: PIPELINE,
      stage: STAGE,
      action: ACTION,
      executionId: "e-1",
      responseUrl: "https://hooks.slack.com/actions/T/1/x",
      message: { text: "Approval needed", blocks: [big] },
    };
    // Act
    const json = rejectReasonMetadata(meta)!;
    // Assess
    expect(json.length).toBeLessThanOrEqual(3000);
    expect(parseRejectReasonMetadata(json)).toEqual({
      ...meta,
      message: { text: "Approval needed", blocks: undefined },
    });
  });
});
