/**
 * Red team (issue 14 review): a decision is bound to the whole approval it was asked for —
 * pipeline, execution, stage, action and run. A button value is only as good as whoever posted
 * it: anyone holding one of the app's incoming-webhook URLs or its bot token can post a message
 * with a `deploy-notifier.approve` button carrying any value, and Slack signs the click on it like
 * any other. The value's run (`actionExecutionId`) must therefore belong to the value's execution:
 * GetPipelineState reports the stage's current pipeline execution
 * (`stageStates[].latestExecution.pipelineExecutionId`, API reference, GetPipelineState /
 * StageExecution) next to the action's run, so a run of ANOTHER execution is refused, not decided
 * under a claim and an audit record that name the wrong execution.
 */
import { randomUUID } from "node:crypto";
import type { ApprovalResponse as FunctionUrlResponse } from "../../handlers/approval";
import {
  ACTION,
  APPROVER_1,
  FUNCTION_NAME,
  PIPELINE,
  STAGE,
  auditItems,
  clickPayload,
  cpCalls,
  formBody,
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

async function click(executionId: string, run: string): Promise<FunctionUrlResponse> {
  const { url } = responseUrl(h);
  const payload = clickPayload({
    user: APPROVER_1,
    executionId,
    responseUrl: url,
    actionExecutionId: run,
  });
  const res = (await h.handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
  await h.all.aws.idle();
  return res;
}

describe("a button's run must belong to the button's execution", () => {
  it("a value naming execution E1 with the pending run of execution E2 decides nothing (no PutApprovalResult)", async () => {
    const real = randomUUID();
    const run = `run-${randomUUID()}`;
    h.all.aws.addPendingApproval({
      pipeline: PIPELINE,
      stage: STAGE,
      action: ACTION,
      executionId: real,
      actionExecutionId: run,
    });
    const forged = randomUUID();

    await click(forged, run);

    expect(cpCalls(h, "PutApprovalResult")).toEqual([]);
    const records = await auditItems(h, forged);
    expect(records.map((r) => r.action)).not.toContain("approval-decided");
  });

  it("the genuine value (same run, its own execution) still decides", async () => {
    const real = randomUUID();
    const run = `run-${randomUUID()}`;
    h.all.aws.addPendingApproval({
      pipeline: PIPELINE,
      stage: STAGE,
      action: ACTION,
      executionId: real,
      actionExecutionId: run,
    });

    await click(real, run);

    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
  });
});
