import type {
  ApprovalResponse as FunctionUrlResponse,
  ApprovalWorkEvent,
} from "../../handlers/approval";
import {
  ACTION,
  APPROVER_1,
  APPROVER_2,
  FUNCTION_NAME,
  PIPELINE,
  STAGE,
  auditItems,
  claimOf,
  clickPayload,
  cpCalls,
  formBody,
  onPutApprovalResult,
  pendingApproval,
  postsTo,
  resetHarness,
  responseUrl,
  signedEvent,
  startHarness,
  type Harness,
} from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.all.close();
});
beforeEach(() => resetHarness(h));

type User = typeof APPROVER_1;

/** Clicks a button as `user`; returns the HTTP answer and the response_url id. */
async function click(
  user: User,
  executionId: string,
  actionId = "deploy-notifier.approve",
): Promise<{ res: FunctionUrlResponse; responseId: string }> {
  const { id, url } = responseUrl(h);
  const payload = clickPayload({ user, executionId, responseUrl: url, actionId });
  const res = (await h.handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
  return { res, responseId: id };
}

function approvalModel() {
  return h.all.aws.state.codepipeline.pipelines[PIPELINE].stages
    .find((s) => s.name === STAGE)!
    .actions.find((a) => a.name === ACTION)!;
}

const HHMM = /at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>/;

describe("deciding an approval", () => {
  it("approves: 200 at once, PutApprovalResult with the current token, buttons replaced, audited", async () => {
    // Prepare
    const { executionId, token } = pendingApproval(h);
    // Act
    const { res, responseId } = await click(APPROVER_1, executionId);
    await h.all.aws.idle();
    // Assess
    expect(res).toMatchObject({ statusCode: 200, body: "" });
    const invocation = h.all.aws.state.lambda.invocations[0];
    expect(invocation).toMatchObject({ functionName: FUNCTION_NAME, invocationType: "Event" });
    expect((invocation.event as ApprovalWorkEvent)["deploy-notifier"]).toBe("approval-work");
    expect(cpCalls(h, "PutApprovalResult").map((c) => c.input)).toEqual([
      {
        pipelineName: PIPELINE,
        stageName: STAGE,
        actionName: ACTION,
        result: { status: "Approved", summary: "Approved by Jane Doe (U0APPROVER1) via Slack" },
        token,
      },
    ]);
    expect(approvalModel().status).toBe("Succeeded");
    const [update] = postsTo(h, responseId);
    expect(update.replace_original).toBe(true);
    const blocks = update.blocks as { type: string; elements?: { text?: string }[] }[];
    expect(blocks.map((b) => b.type)).toEqual(["section", "context"]);
    expect(blocks[1].elements?.[0].text).toMatch(
      /^✅ Approved by <@U0APPROVER1> at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>$/,
    );
    const audit = await auditItems(h, executionId);
    expect(audit.map((a) => [a.action, a.result])).toEqual(
      expect.arrayContaining([
        ["approval-click", "claimed"],
        ["approval-decided", "Approved"],
      ]),
    );
    expect(audit.find((a) => a.action === "approval-decided")).toMatchObject({
      pipeline: PIPELINE,
      executionId,
      actor: "Jane Doe (U0APPROVER1)",
      detail: { stage: STAGE, action: ACTION, decision: "Approved", at: expect.any(String) },
    });
  });

  it("rejects: summary and message say who rejected", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    // Act
    const { responseId } = await click(APPROVER_2, executionId, "deploy-notifier.reject");
    await h.all.aws.idle();
    // Assess
    expect(cpCalls(h, "PutApprovalResult")[0].input.result).toEqual({
      status: "Rejected",
      summary: "Rejected by Raj Patel (U0APPROVER2) via Slack",
    });
    expect(approvalModel().status).toBe("Failed");
    expect(JSON.stringify(postsTo(h, responseId)[0].blocks)).toMatch(
      /❌ Rejected by <@U0APPROVER2> at/,
    );
  });
});

describe("first click wins", () => {
  it("a double click calls PutApprovalResult once and tells the second click who decided", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    await click(APPROVER_1, executionId);
    await h.all.aws.idle();
    // Act
    const second = await click(APPROVER_1, executionId);
    await h.all.aws.idle();
    // Assess
    expect(second.res.statusCode).toBe(200);
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(h.all.aws.state.lambda.invocations).toHaveLength(1);
    const [told] = postsTo(h, second.responseId);
    expect(told).toMatchObject({ response_type: "ephemeral", replace_original: false });
    expect(told.text).toMatch(
      /^Already approved by <@U0APPROVER1> at <!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>\.$/,
    );
  });

  it("two approvers clicking at once: exactly one decision, the loser is told who won", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    // Act
    const [a, b] = await Promise.all([
      click(APPROVER_1, executionId, "deploy-notifier.approve"),
      click(APPROVER_2, executionId, "deploy-notifier.reject"),
    ]);
    await h.all.aws.idle();
    // Assess
    expect([a.res.statusCode, b.res.statusCode]).toEqual([200, 200]);
    const puts = cpCalls(h, "PutApprovalResult");
    expect(puts).toHaveLength(1);
    const winnerApproved = (puts[0].input.result as { status: string }).status === "Approved";
    const [winner, loser] = winnerApproved ? [a, b] : [b, a];
    const winnerId = winnerApproved ? APPROVER_1.id : APPROVER_2.id;
    expect(postsTo(h, winner.responseId)[0].replace_original).toBe(true);
    expect(postsTo(h, loser.responseId)).toEqual([
      expect.objectContaining({
        response_type: "ephemeral",
        text: expect.stringContaining(`by <@${winnerId}> at`),
      }),
    ]);
    const loserAudit = (await auditItems(h, executionId)).find(
      (item) => item.action === "approval-click" && item.result !== "claimed",
    );
    // Being decided (the winner's work still running) or decided, by the winner.
    expect(loserAudit?.result).toMatch(
      new RegExp(`^already (being )?decided by .*\\(${winnerId}\\)`),
    );
    expect(await claimOf(h, executionId)).toMatchObject({ user: { id: winnerId } });
  });
});

describe("CodePipeline outcomes", () => {
  it.each([
    ["ApprovalAlreadyCompletedException", "already decided in CodePipeline"],
    ["InvalidApprovalTokenException", "this approval has expired or was already handled"],
    ["ActionNotFoundException", "action not found"],
  ])("%s → the buttons are replaced by the reason, audited, claim kept", async (code, reason) => {
    // Prepare
    const { executionId } = pendingApproval(h);
    h.all.aws.faults.codepipeline = { code, operation: "PutApprovalResult" };
    // Act
    const { responseId } = await click(APPROVER_1, executionId);
    await h.all.aws.idle();
    // Assess
    const [update] = postsTo(h, responseId);
    expect(update.replace_original).toBe(true);
    expect(JSON.stringify(update.blocks)).toContain(
      `Could not approve: ${reason} (<@U0APPROVER1> at`,
    );
    expect(JSON.stringify(update.blocks)).not.toContain("deploy-notifier.approve");
    expect(await auditItems(h, executionId)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "approval-error", result: reason }),
      ]),
    );
    // Settled as final: a later click is told, never taken over as lost work (issue 10 item 4).
    expect(await claimOf(h, executionId)).toMatchObject({ status: "final", outcome: reason });
  });

  it.each([
    ["approve", "Approved", /✅ Approved by <@U0APPROVER1> at/],
    ["reject", "Rejected", /❌ Rejected by <@U0APPROVER1> at/],
  ])(
    "PutApprovalResult applied but its reply lost (%s): the SDK's retry meets ApprovalAlreadyCompletedException, and it is our decision",
    async (button, decision, line) => {
      // Prepare: CodePipeline applies the first call, then the connection is reset (testing/aws
      // core.ts `lostReply`); the SDK retries it (a reset is transient: maxAttempts 2).
      const { executionId } = pendingApproval(h);
      h.all.aws.faults.codepipeline = {
        code: "-",
        operation: "PutApprovalResult",
        lostReply: true,
        times: 1,
      };
      // Act
      const { responseId } = await click(APPROVER_1, executionId, `deploy-notifier.${button}`);
      await h.all.aws.idle();
      // Assess: one decision in CodePipeline (the retry's answer was the exception), and the
      // clicker, the message and the audit trail say it was theirs, not "already decided".
      expect(cpCalls(h, "PutApprovalResult")).toHaveLength(2);
      expect(approvalModel().status).toBe(decision === "Approved" ? "Succeeded" : "Failed");
      const [update] = postsTo(h, responseId);
      expect(JSON.stringify(update.blocks)).toMatch(line);
      expect(JSON.stringify(update.blocks)).not.toContain("Could not");
      const audit = await auditItems(h, executionId);
      expect(audit.map((a) => [a.action, a.result])).toEqual(
        expect.arrayContaining([["approval-decided", decision]]),
      );
      expect(audit.map((a) => a.action)).not.toContain("approval-error");
      expect(await claimOf(h, executionId)).toMatchObject({ status: "decided" });
    },
  );

  it("ApprovalAlreadyCompletedException because someone else decided first (another summary): still reported as not ours", async () => {
    // Prepare: between the work's lookup and its PutApprovalResult, the run is approved in the
    // console; CodePipeline then answers ApprovalAlreadyCompletedException.
    const { executionId } = pendingApproval(h);
    h.all.aws.faults.codepipeline = {
      code: "ApprovalAlreadyCompletedException",
      operation: "PutApprovalResult",
    };
    onPutApprovalResult(h, 1, () =>
      Object.assign(approvalModel(), { status: "Succeeded", summary: "Approved in the console" }),
    );
    // Act
    const { responseId } = await click(APPROVER_1, executionId);
    await h.all.aws.idle();
    // Assess: the clicker is told who decided (the run's summary), the buttons go.
    const posts = postsTo(h, responseId);
    expect(posts[0].text).toMatch(
      /^Already approved in CodePipeline .*: Approved in the console\. Nothing to do: the execution goes on\.$/,
    );
    expect(JSON.stringify(posts[1].blocks)).toContain("✅ Already approved in CodePipeline");
    expect(await claimOf(h, executionId)).toMatchObject({ status: "final" });
  });

  it("an expired approval (no longer InProgress) is reported without calling PutApprovalResult", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    approvalModel().status = "Failed"; // what CodePipeline does when an approval times out
    // Act
    const { responseId } = await click(APPROVER_1, executionId);
    await h.all.aws.idle();
    // Assess
    expect(cpCalls(h, "GetPipelineState")).toHaveLength(1);
    expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
    expect(postsTo(h, responseId)[0].text).toMatch(/ › ManualApproval expired — no decision in /);
  });

  it("a button of an older execution is no longer pending", async () => {
    // Prepare
    const { executionId: old } = pendingApproval(h);
    pendingApproval(h); // a newer execution now waits at the same approval
    // Act
    const { responseId } = await click(APPROVER_1, old);
    await h.all.aws.idle();
    // Assess
    expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
    expect(JSON.stringify(postsTo(h, responseId)[0].blocks)).toContain("no longer pending");
  });

  it("a transient CodePipeline error keeps the buttons and releases the claim for a retry", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    h.all.aws.faults.codepipeline = {
      code: "InternalServiceError",
      status: 500,
      operation: "GetPipelineState",
    };
    // Act
    const first = await click(APPROVER_1, executionId);
    await h.all.aws.idle();
    h.all.aws.faults.codepipeline = null;
    const retry = await click(APPROVER_2, executionId);
    await h.all.aws.idle();
    // Assess
    expect(postsTo(h, first.responseId)).toEqual([
      expect.objectContaining({ response_type: "ephemeral", replace_original: false }),
    ]);
    expect(String(postsTo(h, first.responseId)[0].text)).toContain("nothing was decided");
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(postsTo(h, retry.responseId)[0].replace_original).toBe(true);
    expect(await claimOf(h, executionId)).toMatchObject({ user: { id: APPROVER_2.id } });
  });

  it("answers Slack before CodePipeline is called when CodePipeline is slow, and updates the message afterwards", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    h.all.aws.delays.codepipeline = { GetPipelineState: 3500, PutApprovalResult: 3500 };
    // Act
    const { res, responseId } = await click(APPROVER_1, executionId);
    const answeredAt = new Date();
    const pendingAtAnswer = {
      puts: cpCalls(h, "PutApprovalResult").length,
      workDone: h.all.aws.state.lambda.invocations.map((i) => i.done),
      posts: postsTo(h, responseId).length,
    };
    await h.all.aws.idle();
    // Assess
    expect(res.statusCode).toBe(200);
    expect(pendingAtAnswer).toEqual({ puts: 0, workDone: [false], posts: 0 });
    const [put] = cpCalls(h, "PutApprovalResult");
    expect(put.at.getTime()).toBeGreaterThanOrEqual(answeredAt.getTime());
    expect(postsTo(h, responseId)[0]).toMatchObject({ replace_original: true });
    expect(JSON.stringify(postsTo(h, responseId)[0].blocks)).toMatch(HHMM);
  });
});
