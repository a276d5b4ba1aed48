/**
 * A PutApprovalResult that CodePipeline applied but whose reply was lost (testing/aws core.ts
 * `lostReply`: a reset after the call was applied; the SDK retries it), on the paths where the
 * claimed run is no longer the one GetPipelineState shows: PARALLEL mode with a newer execution
 * waiting (the run is read through ListActionExecutions, as the PutApprovalResult API reference
 * says for PARALLEL), and a stage retried before the SDK's retry (its token is gone:
 * InvalidApprovalTokenException). Both are the clicker's decision (found by this session's red
 * team: the clicker was told "Could not approve/reject").
 */
import { retryStageExecution, setExecutionMode } from "../../testing/aws/codepipeline";
import {
  APPROVER_1,
  PIPELINE,
  STAGE,
  auditItems,
  claimOf,
  cpCalls,
  onPutApprovalResult,
  pendingRun,
  postsTo,
  type Harness,
  clickAs,
  useHarness,
} from "./harness";

let h: Harness;
useHarness((started) => (h = started));

/**
 * CodePipeline applies the next PutApprovalResult, then the connection is reset (testing/aws
 * core.ts `lostReply`); the SDK retries it (a reset is transient: maxAttempts 2).
 */
function loseFirstPutApprovalResultReply(): void {
  h.all.aws.faults.codepipeline = {
    code: "-",
    operation: "PutApprovalResult",
    lostReply: true,
    times: 1,
  };
}

async function click(executionId: string, run: string, actionId = "deploy-notifier.approve") {
  const clicked = await clickAs(h, { user: APPROVER_1, executionId, run, actionId });
  await h.all.aws.idle();
  return clicked;
}

it("PARALLEL mode, older execution's run: lost reply of an applied PutApprovalResult is still our decision", async () => {
  setExecutionMode(h.all.aws.state, PIPELINE, "PARALLEL");
  const older = pendingRun(h.all.aws);
  pendingRun(h.all.aws); // a newer execution waits at the same approval: GetPipelineState shows it
  loseFirstPutApprovalResultReply();
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
  const first = pendingRun(h.all.aws);
  loseFirstPutApprovalResultReply();
  // The rejection fails the stage; an automatic (or very quick) stage retry starts a new run
  // before the SDK retries the PutApprovalResult whose reply was lost.
  onPutApprovalResult(h, 2, () =>
    retryStageExecution(h.all.aws.state, {
      pipelineName: PIPELINE,
      stageName: STAGE,
      pipelineExecutionId: first.executionId,
      retryMode: "FAILED_ACTIONS",
    }),
  );
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
  const first = pendingRun(h.all.aws);
  loseFirstPutApprovalResultReply();
  onPutApprovalResult(h, 2, () => {
    h.all.aws.faults.codepipeline = {
      code: "InternalServiceError",
      status: 500,
      operation: "GetPipelineState",
    };
  });
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
