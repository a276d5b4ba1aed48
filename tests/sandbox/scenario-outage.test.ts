/**
 * A scenario's approval under a Slack outage (`npm start -- --stack prod --fault slack=500`), in a
 * real sandbox: the request never reaches #releases, so nobody can click Approve, and the approval
 * must stay what CodePipeline has it as: waiting, until its timeout (7 days by default: userguide
 * approvals-approve-or-reject.html). Before, the runner posted the step's scripted Action
 * SUCCEEDED event when the stand-in emitted none, and the CodePipeline stand-in recorded the
 * release as approved by nobody.
 */
import { startSandbox, type Sandbox } from "../../sandbox/sandbox";
import type { Scenario } from "../../sandbox/scenario";
import { codePipelineOutbox } from "../../testing";

jest.setTimeout(240_000);

const APPROVAL = {
  pipeline: "main-app-production-v3",
  stage: "Approve",
  action: "ManualApproval",
  executionId: "$exec:release",
};

const approvalEvent = (state: string) => ({
  detailType: "CodePipeline Action Execution State Change",
  detail: {
    pipeline: APPROVAL.pipeline,
    "execution-id": APPROVAL.executionId,
    stage: APPROVAL.stage,
    action: APPROVAL.action,
    "action-execution-id": "$exec:approval-run-1",
    state,
    type: { owner: "AWS", provider: "Manual", category: "Approval", version: "1" },
    "pipeline-execution-attempt": 1,
  },
});

/** The prod scenario's approval request and its Approve click, as in sandbox/scenarios/prod.json. */
const scenario: Scenario = {
  name: "an approval while Slack is down",
  stack: "prod",
  steps: [
    {
      id: "request",
      name: "approval request",
      setup: { pendingApproval: APPROVAL },
      events: [approvalEvent("STARTED")],
      expect: { delivered: { "slack-releases": 1 }, approvalButtons: "slack-releases" },
    },
    {
      name: "Approve in Slack",
      do: [{ click: "approve", on: "request" }],
      events: [{ ...approvalEvent("SUCCEEDED"), emitted: true }],
      expect: { putApprovalResult: { calls: 1, status: "Approved", tokenOf: "request" } },
    },
    {
      // As prod.json's last step: the release succeeds later (and resolves the incident).
      name: "the release succeeds later",
      setup: {
        execution: {
          pipeline: APPROVAL.pipeline,
          executionId: APPROVAL.executionId,
          status: "Succeeded",
        },
      },
      events: [
        {
          detailType: "CodePipeline Pipeline Execution State Change",
          detail: {
            pipeline: APPROVAL.pipeline,
            "execution-id": APPROVAL.executionId,
            state: "SUCCEEDED",
          },
        },
      ],
      expect: { delivered: { "pagerduty-oncall": 1 } },
    },
  ],
};

describe("a scenario's approval while Slack answers 500", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ stack: "prod", serve: false, faults: ["slack=500"] });
  });
  afterAll(() => sandbox?.close());

  test("is never approved by the script: CodePipeline still waits, and the step says until when", async () => {
    // Act
    const report = await sandbox.runScenario(scenario);

    // Assess: nothing reached CodePipeline, which emitted no SUCCEEDED and holds the run waiting.
    const pipeline = sandbox.standins.aws.state.codepipeline.pipelines[APPROVAL.pipeline];
    const action = pipeline.stages
      .find((s) => s.name === APPROVAL.stage)
      ?.actions.find((a) => a.name === APPROVAL.action);
    const run = action?.runs?.at(-1);
    expect(run?.status).toBe("InProgress");
    expect(run?.decision).toBeUndefined();
    expect(
      codePipelineOutbox(sandbox.standins.aws.state).filter((e) => e.detail.state === "SUCCEEDED"),
    ).toEqual([]);
    expect(sandbox.pendingApprovals()).toBe(1);
    const expires = run?.expiresAt?.toISOString();
    expect(report.steps[1].problems).toContain(
      `CodePipeline emitted no Action Execution State Change SUCCEEDED event: nobody decided the approval ${APPROVAL.pipeline} Approve/ManualApproval (execution ${run?.pipelineExecutionId}), it still waits, and expires at ${expires} if nobody decides (its timeout: 7 days)`,
    );
    // The release cannot succeed while its approval waits (CodePipeline ends no execution while
    // an action of it runs): the last step is not played, its SUCCEEDED never posted.
    const release = pipeline.executions[run!.pipelineExecutionId];
    expect(release.status).toBe("InProgress");
    expect(report.steps[2].problems).toContain(
      `not played: execution ${run!.pipelineExecutionId} still waits for a decision at ` +
        `${APPROVAL.stage}/${APPROVAL.action}: CodePipeline would not end it Succeeded, so its events were not posted`,
    );
    expect(sandbox.standins.receivers.attemptsOf("pagerduty")).toEqual([]);
    // The user's fault explains every step: the run still exits 0 under --fault.
    expect(report.steps.map((s) => s.explainedBy)).toEqual(["slack=500", "slack=500", "slack=500"]);
  });
});
