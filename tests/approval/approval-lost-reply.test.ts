/**
 * A PutApprovalResult that CodePipeline applied but whose reply was lost (testing/aws core.ts
 * `lostReply`: a reset after the call was applied; the SDK retries it), on the paths where the
 * claimed run is no longer the one GetPipelineState shows: PARALLEL mode with a newer execution
 * waiting (the run is read through ListActionExecutions, as the PutApprovalResult API reference
 * says for PARALLEL), and a stage retried before the SDK's retry (its token is gone:
 * InvalidApprovalTokenException). Both are the clicker's decision (found by this session's red
 * team: the clicker was told "Could not approve/reject").
 */
import { randomUUID } from "node:crypto";
import type { ApprovalResponse as FunctionUrlResponse } from "../../handlers/approval";
import { retryStageExecution, setExecutionMode } from "../../testing/aws/codepipeline";
import {
  ACTION,
  APPROVER_1,
  FUNCTION_NAME,
  PIPELINE,
  STAGE,
  auditItems,
  claimOf,
  clickPayload,
  cpCalls,
  formBody,
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
beforeEach(() => {
  resetHarness(h);
  h.all.aws.registerFunction(FUNCTION_NAME, (event) => h.handler(event as never));
});

function pendingRun(executionId = randomUUID()) {
  const run = `run-${randomUUID()}`;
  const token = h.all.aws.addPendingApproval({
    pipeline: PIPELINE,
    stage: STAGE,
    action: ACTION,
    executionId,
    actionExecutionId: run,
  });
  return { executionId, run, token };
}

async function click(executionId: string, run: string, actionId = "deploy-notifier.approve") {
  const { id, url } = responseUrl(h);
  const payload = clickPayload({
    user: APPROVER_1,
    executionId,
    responseUrl: url,
    actionId,
    actionExecutionId: run,
  });
  const res = (await h.handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
  await h.all.aws.idle();
  return { res, responseId: id };
}

it("PARALLEL mode, older execution's run: lost reply of an applied PutApprovalResult is still our decision", async () => {
  setExecutionMode(h.all.aws.state, PIPELINE, "PARALLEL");
  const older = pendingRun();
  pendingRun(); // a newer execution waits at the same approval: GetPipelineState shows it
  h.all.aws.faults.codepipeline = {
    code: "-",
    operation: "PutApprovalResult",
    lostReply: true,
    times: 1,
  };
  const { responseId } = await click(older.executionId, older.run);
  // CodePipeline applied our approval (first call), the retry met ApprovalAlreadyCompleted.
  expect(cpCalls(h, "PutApprovalResult")).toHaveLength(2);
  const text = JSON.stringify(postsTo(h, responseId).map((p) => p.blocks ?? p.text));
  const audit = await auditItems(h, older.executionId);
  const claim = await claimOf(h, older.executionId, older.run);
  // What the README promises: reported and audited as decided, not "already decided".
  expect(text).not.toContain("Could not approve");
  expect(audit.map((a) => a.action)).toContain("approval-decided");
  expect(claim).toMatchObject({ status: "decided" });
});

it("a rejection applied (reply lost), then the failed stage retried before the SDK's retry: still our decision", async () => {
  const first = pendingRun();
  h.all.aws.faults.codepipeline = {
    code: "-",
    operation: "PutApprovalResult",
    lostReply: true,
    times: 1,
  };
  // The rejection fails the stage; an automatic (or very quick) stage retry starts a new run
  // before the SDK retries the PutApprovalResult whose reply was lost.
  const calls = h.all.aws.state.codepipeline.calls;
  const push = calls.push.bind(calls);
  let puts = 0;
  calls.push = (...items) => {
    if (items.some((c) => c.operation === "PutApprovalResult") && ++puts === 2) {
      retryStageExecution(h.all.aws.state, {
        pipelineName: PIPELINE,
        stageName: STAGE,
        pipelineExecutionId: first.executionId,
        retryMode: "FAILED_ACTIONS",
      });
    }
    return push(...items);
  };
  const { responseId } = await click(first.executionId, first.run, "deploy-notifier.reject");
  expect(cpCalls(h, "PutApprovalResult")).toHaveLength(2);
  const text = JSON.stringify(postsTo(h, responseId).map((p) => p.blocks ?? p.text));
  const audit = await auditItems(h, first.executionId);
  // The clicker's rejection is what failed the first run: it is theirs.
  expect(text).not.toContain("Could not reject");
  expect(audit.map((a) => a.action)).toContain("approval-decided");
});

it("the reply lost and the run cannot be read back: the clicker is not told 'nothing was decided' nor 'already decided'; the claim is released", async () => {
  // Prepare: the first PutApprovalResult is applied and its reply lost; when the SDK's retry
  // arrives, GetPipelineState starts failing, so the work cannot tell whose decision it was.
  const first = pendingRun();
  h.all.aws.faults.codepipeline = {
    code: "-",
    operation: "PutApprovalResult",
    lostReply: true,
    times: 1,
  };
  const calls = h.all.aws.state.codepipeline.calls;
  const push = calls.push.bind(calls);
  let puts = 0;
  calls.push = (...items) => {
    if (items.some((c) => c.operation === "PutApprovalResult") && ++puts === 2) {
      h.all.aws.faults.codepipeline = {
        code: "InternalServiceError",
        status: 500,
        operation: "GetPipelineState",
      };
    }
    return push(...items);
  };
  // Act
  const { responseId } = await click(first.executionId, first.run);
  // Assess
  expect(cpCalls(h, "PutApprovalResult")).toHaveLength(2);
  const posts = postsTo(h, responseId);
  expect(posts).toEqual([
    expect.objectContaining({
      response_type: "ephemeral",
      text: "⚠️ CodePipeline did not confirm whether your approval was taken; check the pipeline before trying again.",
    }),
  ]);
  const audit = await auditItems(h, first.executionId);
  expect(audit).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        action: "approval-error",
        result: expect.stringMatching(/could not be read back; claim released$/),
      }),
    ]),
  );
  expect(await claimOf(h, first.executionId, first.run)).toBeUndefined();
});
