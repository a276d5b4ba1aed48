/**
 * A user's `--fault` explains a step that did not end as expected (`~`, exit status 0: README
 * "Local sandbox"), including a step that only clicks on what an earlier step's fault kept from
 * Slack. Found by a new-user pass: `npm start -- --no-serve --fault slack=timeout` exited 1 on
 * three click steps ("step "retry-request" posted no message with Approve / Reject").
 */
import { executionIdsIn, explainByUserFaults } from "../../sandbox/run";
import type { StepReport } from "../../sandbox/scenario";

/** A failed step that met no failing receiver itself, with `problems`. */
function report(problems: string[]): StepReport {
  return {
    name: "Approve on the new request approves the new run",
    ok: false,
    problems,
    notes: [],
    observed: {
      matched: 0,
      delivered: {},
      failedAttempts: {},
      retried: 0,
      dlq: 0,
      suppressed: [],
      refused: 0,
    },
    ms: 30,
  };
}

const clickOnMissing = report([
  'approve on "retry-request": scenario: step "retry-request" posted no message with Approve / Reject',
  "expected 1 PutApprovalResult call(s) to CodePipeline, got 0",
]);
const userFault = { slack: "slack=timeout" };

describe("explainByUserFaults", () => {
  it("a click on the request that an explained step did not post is explained by the same fault", () => {
    expect(explainByUserFaults(clickOnMissing, userFault, new Set(["retry-request"]))).toBe(
      "slack=timeout",
    );
  });

  it("not when the step it names was not explained (a real failure), nor without a user's fault", () => {
    expect(explainByUserFaults(clickOnMissing, userFault, new Set(["other-step"]))).toBe(undefined);
    expect(explainByUserFaults(clickOnMissing, {}, new Set(["retry-request"]))).toBe(undefined);
  });

  it("a step acting on an execution an explained step left waiting is explained by the same fault", () => {
    // Prepare: under --fault slack=500 nobody could click Reject, so the explained step said the
    // approval still waits (scenario-events.ts notEmittedProblem); the retry of its stage is then
    // refused, and the next execution is held behind it in the stage.
    const release = "1feb181d-d392-4ca6-8b53-4c3573aa3496";
    const rejectStep = report([
      `CodePipeline emitted no Action Execution State Change FAILED event: nobody decided the approval main-app-production-v3 Approve/ManualApproval (execution ${release}), it still waits`,
    ]);
    const retry = report([
      `retry of main-app-production-v3/Approve: StageNotRetryableException: Stage Approve of ${release} cannot be retried: no failed actions`,
    ]);
    const held = report([
      `CodePipeline has not emitted the Action Execution State Change STARTED event: execution ${release} is in stage Approve (SUPERSEDED mode: a stage runs one execution at a time); bd23f442-0288-4002-8730-058986395728 waits and enters when the stage is free`,
    ]);
    const executions = new Set(executionIdsIn(rejectStep.problems));

    // Act / Assess
    expect([...executions]).toEqual([release]);
    expect(explainByUserFaults(retry, { slack: "slack=500" }, new Set(), executions)).toBe(
      "slack=500",
    );
    expect(explainByUserFaults(held, { slack: "slack=500" }, new Set(), executions)).toBe(
      "slack=500",
    );
    // Not an execution no explained step named, nor without a user's fault.
    expect(explainByUserFaults(retry, { slack: "slack=500" }, new Set(), new Set())).toBe(
      undefined,
    );
    expect(explainByUserFaults(retry, {}, new Set(), executions)).toBe(undefined);
  });

  it("a step that met a failing receiver is explained, as before", () => {
    const met = { ...report(["slack-eng: expected 1 delivered, got 0"]) };
    met.observed = { ...met.observed, failedAttempts: { "slack-eng": 3 }, dlq: 1 };
    expect(explainByUserFaults(met, userFault)).toBe("slack=timeout");
  });
});
