/**
 * A decision claim whose answer does not come back within the click's budget (budget.ts: the
 * DynamoDB calls on Slack's 3 s path end by 1.8 s, aborted), although DynamoDB applied it: the
 * aborted client only stopped waiting (testing/dynamo-faults.ts `DynamoLateReply`). The claim
 * item then says `claimed` with no work invoked. Whether it was applied is unknown to the click,
 * so the click hands the question to the asynchronous work, which settles it off the 3 s path.
 */
import submissionFixture from "../events/slack/view-submission-reject-reason.json";
import type { ApprovalResponse } from "../../handlers/approval";
import { ACK_BUDGET_MS } from "../../handlers/approval/budget";
import {
  APPROVER_1,
  APPROVER_2,
  FUNCTION_NAME,
  SECRET_ARN,
  SIGNING_SECRET,
  auditItems,
  claimOf,
  clickAs,
  cpCalls,
  formBody,
  pendingApproval,
  postsTo,
  signedEvent,
  useHarness,
  type Harness,
} from "./harness";

/** Past the click's store budget (1.8 s) and its answer (2.5 s): the click never sees the reply. */
const LATE_MS = 3000;

let h: Harness;
useHarness((x) => (h = x));
afterEach(() => {
  h.all.dynamo.faults.setLateReply(null);
  h.all.aws.delays.lambda = {};
  h.all.aws.faults.lambda = null;
  process.env.SLACK_APP_SECRET_ARN = SECRET_ARN;
  jest.restoreAllMocks();
});

/** What the clicker is told while the work settles the claim. */
const RECORDING =
  "⏳ Your click is being recorded (AWS was slow to answer); " +
  "the message updates once CodePipeline has the decision.";
/** What the clicker is told when nothing will record the click. */
const NOT_RECORDED =
  "⚠️ Could not record your click in time (the decision store was too slow to answer); " +
  "nothing was decided. Please try again.";

/**
 * Lambda refuses the work's invoke (Invoke API reference, Errors: TooManyRequestsException, HTTP
 * 429, "The request throughput limit was exceeded"), until {@link invokeBack}. The SDK retries a
 * 429; the click's budget may abort that retry, so the last error is either.
 */
function invokeRefused(): void {
  h.all.aws.faults.lambda = { code: "TooManyRequestsException", status: 429 };
}
function invokeBack(): void {
  h.all.aws.faults.lambda = null;
}

/** How the click's audit names the invoke that failed. */
const INVOKE_FAILED = "the work could not be started: (TooManyRequestsException|AbortError)";

/** Resolves once `check` holds (polled every 10 ms, at most 5 s). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

/** The next decision claim (PutItem of an APPROVAL# item) is answered `LATE_MS` late. */
function claimAnsweredLate(applied = true): void {
  h.all.dynamo.faults.setLateReply({
    operation: "PutItem",
    match: '"APPROVAL#',
    delayMs: LATE_MS,
    applied,
  });
}

/** The text of every post to one response_url. */
function texts(responseId: string): string[] {
  return postsTo(h, responseId).map((p) => String(p.text));
}

/** The [action, result] of the audit records of one execution. */
async function auditOf(executionId: string): Promise<string[][]> {
  return (await auditItems(h, executionId)).map((a) => [String(a.action), String(a.result)]);
}

/**
 * "In time" below is the click's budget (budget.ts; its bounds inside Slack's 3 s are
 * approval-ack-budget.test's): the tests observe that the click did not wait for the late answer
 * (what it told the clicker), never a duration.
 */
test("the late answer comes after the click's answer budget, so the click never sees it", () => {
  expect(LATE_MS).toBeGreaterThan(ACK_BUDGET_MS);
});

describe("a claim DynamoDB applied whose answer came after the click's budget", () => {
  it("is decided once, and the approver's second click is told it was approved", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    claimAnsweredLate();
    // Act: the click, then (after its answer) the same approver clicks again.
    const first = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    const second = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    // Assess: the click answered without the claim's reply (it stopped waiting at its store
    // budget and said so), within Slack's 3 s by its budget, not by how fast this machine is.
    expect(first.res.statusCode).toBe(200);
    expect(texts(first.responseId)).toContain(RECORDING);
    const puts = cpCalls(h, "PutApprovalResult");
    expect(puts.map((c) => c.input.result)).toEqual([
      { status: "Approved", summary: "Approved by Jane Doe (U0APPROVER1) via Slack" },
    ]);
    expect(await claimOf(h, executionId)).toMatchObject({
      status: "decided",
      user: { id: APPROVER_1.id },
    });
    expect(texts(first.responseId).join("\n")).not.toContain("nothing was decided");
    expect(texts(second.responseId)).toEqual([
      expect.stringMatching(
        /^Already approved by <@U0APPROVER1> at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>\.$/,
      ),
    ]);
  });

  it("is settled by the work when the click's answer came first: told 'being recorded', decided once, audited", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    claimAnsweredLate();
    // Act
    const click = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    // Assess
    expect(texts(click.responseId)[0]).toBe(RECORDING);
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(await auditOf(executionId)).toEqual(
      expect.arrayContaining([
        ["approval-click", "claimed (DynamoDB's answer came after the click's budget: AbortError)"],
        ["approval-decided", "Approved"],
      ]),
    );
    expect((await auditOf(executionId)).map(([action]) => action)).not.toContain("approval-error");
  });

  it("the work could not be invoked: 'nothing was decided', audited, and the same approver's retry decides once", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    claimAnsweredLate();
    invokeRefused();
    // Act
    const first = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    invokeBack();
    const orphan = await claimOf(h, executionId);
    const retry = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    // Assess
    expect(orphan).toMatchObject({ status: "claimed", user: { id: APPROVER_1.id } });
    expect(texts(first.responseId)).toEqual([NOT_RECORDED]);
    expect(texts(retry.responseId).join("\n")).not.toContain("Already being approved");
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(await claimOf(h, executionId)).toMatchObject({
      status: "decided",
      at: expect.not.stringMatching(String(orphan?.at)),
    });
    expect(await auditOf(executionId)).toEqual(
      expect.arrayContaining([
        [
          "approval-error",
          expect.stringMatching(
            new RegExp(
              `^click not recorded in time \\(AbortError; ${INVOKE_FAILED}\\); nothing was decided$`,
            ),
          ),
        ],
        [
          "approval-click",
          `claimed: replaced the clicker's own claim of ${orphan?.at}, whose work had not started`,
        ],
        ["approval-decided", "Approved"],
      ]),
    );
  });

  it("another approver's retry is still refused while the left-behind claim holds the request", async () => {
    // Prepare: the first approver's claim is left behind, as above.
    const { executionId } = pendingApproval(h);
    claimAnsweredLate();
    invokeRefused();
    await clickAs(h, { user: APPROVER_1, executionId });
    invokeBack();
    // Act: someone else, and the first approver with the other decision.
    const other = await clickAs(h, { user: APPROVER_2, executionId });
    const changed = await clickAs(h, {
      user: APPROVER_1,
      executionId,
      actionId: "deploy-notifier.reject",
    });
    await h.all.aws.idle();
    // Assess: first click wins; only the same decision by the same person replaces the claim.
    expect(texts(other.responseId)[0]).toMatch(/^Already being approved by <@U0APPROVER1>/);
    expect(texts(changed.responseId)[0]).toMatch(/^Already being approved by <@U0APPROVER1>/);
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(0);
  });
});

describe("a work's invoke Lambda queued but answered after the click's budget", () => {
  afterEach(() => {
    h.all.aws.delays.lambda = {};
  });

  it("is answered in time with 'being recorded', keeps the claim, and the queued work decides once", async () => {
    // Prepare: Lambda queues the event at once and answers 202 after 4 s (past Slack's 3 s).
    const { executionId } = pendingApproval(h);
    h.all.aws.delays.lambda = { Invoke: 4000 };
    // Act
    const click = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    // Assess: answered without the invoke's answer (its budget ended the wait), not timed.
    // The queued work may update the message before the click's ephemeral goes out.
    expect(texts(click.responseId)).toContain(RECORDING);
    expect(texts(click.responseId).join("\n")).toMatch(/Approved by <@U0APPROVER1>/);
    expect(
      cpCalls(h, "PutApprovalResult").map((c) => (c.input.result as { status?: string }).status),
    ).toEqual(["Approved"]);
    expect(await claimOf(h, executionId)).toMatchObject({ status: "decided" });
    const audit = await auditOf(executionId);
    expect(audit).toContainEqual([
      "approval-error",
      expect.stringMatching(
        /^the work's invoke was not answered in time: \w+; the decision goes ahead only if Lambda queued it/,
      ),
    ]);
    expect(audit.map(([action]) => action)).toContain("approval-decided");
  });
});

describe("a claim whose answer did not come in time and that DynamoDB never applied", () => {
  it("is claimed by the work itself and decided once", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    claimAnsweredLate(false);
    // Act
    const click = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    // Assess
    expect(texts(click.responseId)[0]).toBe(RECORDING);
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(await claimOf(h, executionId)).toMatchObject({
      status: "decided",
      user: { id: APPROVER_1.id },
    });
    expect(await auditOf(executionId)).toContainEqual([
      "approval-click",
      "claimed by the work after AbortError: the click's own claim had not been applied",
    ]);
  });

  it("when another approver claimed meanwhile: their decision only, and the clicker is told who holds it", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    claimAnsweredLate(false);
    // "Meanwhile" by events, not by how fast this machine is: Raj clicks once Jane's claim has
    // reached DynamoDB (the late reply taken), and Jane's work settles her claim once Raj's work
    // has decided (on time, her work starts at her store budget's end, 1.8 s in).
    const taken = jest.spyOn(h.all.dynamo.faults, "takeLateReply");
    let rajDecided = () => {};
    const rajDone = new Promise<void>((r) => (rajDecided = r));
    const workOf = (event: unknown, user: { id: string }) =>
      (event as Record<string, unknown>)["deploy-notifier"] !== undefined &&
      JSON.stringify(event).includes(user.id);
    h.all.aws.registerFunction(FUNCTION_NAME, async (event) => {
      if (workOf(event, APPROVER_1)) await rajDone;
      try {
        return await h.handler(event as never);
      } finally {
        if (workOf(event, APPROVER_2)) rajDecided();
      }
    });
    let responseId: string;
    try {
      // Act: Raj rejects while Jane's claim is on its way.
      const jane = clickAs(h, { user: APPROVER_1, executionId });
      await until(() => taken.mock.results.some((r) => r.value !== undefined));
      await clickAs(h, { user: APPROVER_2, executionId, actionId: "deploy-notifier.reject" });
      ({ responseId } = await jane);
      await h.all.aws.idle();
    } finally {
      h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
    }
    // Assess
    expect(cpCalls(h, "PutApprovalResult").map((c) => c.input.result)).toEqual([
      { status: "Rejected", summary: "Rejected by Raj Patel (U0APPROVER2) via Slack" },
    ]);
    const [recording, told] = texts(responseId);
    expect(recording).toBe(RECORDING);
    expect(told).toMatch(
      /^Already (being )?rejected by <@U0APPROVER2> at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>/,
    );
    const janes = (await auditItems(h, executionId)).filter(
      (a) => a.actor === "Jane Doe (U0APPROVER1)",
    );
    expect(janes.map((a) => [a.action, a.result])).toEqual([
      [
        "approval-click",
        expect.stringMatching(/^already decided by Raj Patel \(U0APPROVER2\) \(Rejected/),
      ],
    ]);
  });
});

describe("a work that started deciding", () => {
  it("keeps its claim: the same approver's second click does not replace it, and the decision is sent once", async () => {
    // Prepare: the work's run lookup is slow, so the second click comes while it decides.
    const { executionId } = pendingApproval(h);
    h.all.aws.delays.codepipeline.GetPipelineState = 1500;
    // Act
    await clickAs(h, { user: APPROVER_1, executionId });
    await until(() => cpCalls(h, "GetPipelineState").length > 0);
    const second = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    // Assess
    expect(texts(second.responseId)[0]).toMatch(/^Already being approved by <@U0APPROVER1>/);
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(h.all.aws.state.lambda.invocations).toHaveLength(1);
  });
});

describe("the reject-reason modal's submission whose claim is answered late", () => {
  const BOT_ARN = `${SECRET_ARN}-late-claim`;

  /** Opens the modal as Raj (a bot token: views.open) and returns its metadata and response_url. */
  async function openModal(executionId: string) {
    h.all.aws.state.secrets[BOT_ARN] = JSON.stringify({
      signingSecret: SIGNING_SECRET,
      botToken: "xoxb-0000000000-late-claim",
    });
    process.env.SLACK_APP_SECRET_ARN = BOT_ARN;
    const { responseId } = await clickAs(h, {
      user: APPROVER_2,
      executionId,
      actionId: "deploy-notifier.reject",
    });
    const [opened] = h.all.receivers.attemptsOf("slack-api", "views.open");
    const view = (opened.body as { view: { private_metadata: string } }).view;
    return { responseId, metadata: view.private_metadata };
  }

  /** Submits the modal as Raj with `reason`. */
  async function submit(metadata: string, reason: string): Promise<ApprovalResponse> {
    const payload = {
      ...submissionFixture,
      view: {
        ...submissionFixture.view,
        private_metadata: metadata,
        state: { values: { reason: { reason: { type: "plain_text_input", value: reason } } } },
      },
    };
    return (await h.handler(signedEvent(formBody(payload)))) as ApprovalResponse;
  }

  it("closes the modal, tells the submitter it is being recorded, and rejects once with the reason", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    const { responseId, metadata } = await openModal(executionId);
    claimAnsweredLate();
    // Act
    const res = await submit(metadata, "Smoke tests fail");
    await h.all.aws.idle();
    // Assess
    expect(res).toMatchObject({ statusCode: 200, body: "" });
    expect(texts(responseId)[0]).toBe(
      "⏳ Your rejection is being recorded (AWS was slow to answer); " +
        "the message updates once CodePipeline has the decision.",
    );
    expect(cpCalls(h, "PutApprovalResult").map((c) => c.input.result)).toEqual([
      {
        status: "Rejected",
        summary: "Rejected by Raj Patel (U0APPROVER2) via Slack: Smoke tests fail",
      },
    ]);
  });

  it("the work could not be invoked: the modal says nothing was decided, it is audited, and resubmitting rejects once", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    const { metadata } = await openModal(executionId);
    claimAnsweredLate();
    invokeRefused();
    // Act
    const first = await submit(metadata, "Smoke tests fail");
    invokeBack();
    const again = await submit(metadata, "Smoke tests fail");
    await h.all.aws.idle();
    // Assess
    expect(JSON.parse(first.body)).toEqual({
      response_action: "errors",
      errors: {
        reason: "Could not record your rejection in time; nothing was decided. Please try again.",
      },
    });
    expect(again).toMatchObject({ statusCode: 200, body: "" });
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(await auditOf(executionId)).toContainEqual([
      "approval-error",
      expect.stringMatching(
        new RegExp(
          `^rejection not recorded in time \\(AbortError; ${INVOKE_FAILED}\\); nothing was decided$`,
        ),
      ),
    ]);
  });
});

describe("an unconfirmed claim whose settling work Lambda queued but answered late", () => {
  it("never tells the approver 'nothing was decided' when the queued work then decides", async () => {
    // Prepare: DynamoDB applies the claim but answers after the click's budget, and Lambda
    // queues the settling work at once but answers its 202 after 4 s (delays.lambda.Invoke), as
    // in the README's own case for the started path ("Lambda may have queued the work").
    const { executionId } = pendingApproval(h);
    claimAnsweredLate(true);
    h.all.aws.delays.lambda = { Invoke: 4000 };
    // Act
    const click = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    // Assess: CodePipeline got the approval...
    const puts = cpCalls(h, "PutApprovalResult");
    expect(puts.map((c) => (c.input.result as { status: string }).status)).toEqual(["Approved"]);
    expect(await claimOf(h, executionId)).toMatchObject({ status: "decided" });
    // ...so the approver must not be told that nothing was decided (README "Slack's 3 s":
    // 'nothing was decided' only "when not even the work can be started"; here it was started).
    expect(texts(click.responseId).join("\n")).not.toContain("nothing was decided");
    const audit = (await auditItems(h, executionId)).map((a) => `${a.action}: ${a.result}`);
    expect(audit.join("\n")).not.toMatch(
      /approval-error: click not recorded in time.*nothing was decided/,
    );
  });
});

describe("the approver's retry after an orphaned own claim, answered late again", () => {
  it("replaces the clicker's own orphaned claim (README: 'their next click with the same decision replaces the claim left behind')", async () => {
    // Prepare: first click: claim applied, reply late, and Lambda refuses the settling work
    // (429): the approver is told truthfully "nothing was decided. Please try again." and the
    // claim is left behind with no work.
    const { executionId } = pendingApproval(h);
    claimAnsweredLate(true);
    h.all.aws.faults.lambda = { code: "TooManyRequestsException", status: 429 };
    const first = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    h.all.aws.faults.lambda = null;
    expect(texts(first.responseId).join("\n")).toContain("nothing was decided");
    // Act: DynamoDB is still slow: the retry's claim is answered late too.
    claimAnsweredLate(true);
    const retry = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();
    // Assess: the retry decides once, and the approver is not told that a decision of theirs is
    // "being approved" when no work is deciding it.
    expect(texts(retry.responseId).join("\n")).not.toMatch(/Already being approved/);
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(await claimOf(h, executionId)).toMatchObject({ status: "decided" });
  });
});

describe("the same work event delivered twice by Lambda", () => {
  it("sends the decision to CodePipeline at most once", async () => {
    // Lambda's asynchronous invocation may deliver one event more than once (Lambda developer
    // guide, "Asynchronous invocation": "your function may receive the same event multiple
    // times"). The work's start mark (markWorkStarted) is meant to make a decision go out once.
    const { executionId } = pendingApproval(h);
    // Both deliveries read the pending run before either decides (CodePipeline's API takes time).
    h.all.aws.delays.codepipeline.GetPipelineState = 300;
    h.all.aws.registerFunction(FUNCTION_NAME, async (event) => {
      const isWork = (event as Record<string, unknown>)["deploy-notifier"] !== undefined;
      if (!isWork) return h.handler(event as never);
      const [a] = await Promise.all([h.handler(event as never), h.handler(event as never)]);
      return a;
    });
    try {
      await clickAs(h, { user: APPROVER_1, executionId });
      await h.all.aws.idle();
    } finally {
      h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
      h.all.aws.delays.codepipeline = {};
    }
    const decided = (await auditItems(h, executionId)).filter(
      (a) => a.action === "approval-decided",
    );
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(decided).toHaveLength(1);
  });
});
