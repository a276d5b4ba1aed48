/**
 * CodePipeline's lifecycle in the event model and in enrichment (issue 10), without I/O:
 * attempts, approval runs, expired approvals, rollbacks and execution modes, read from the event
 * and from the API answers as AWS documents them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ActionExecutionDetail, PipelineExecution } from "@aws-sdk/client-codepipeline";
import { applyExecution, applyFailedAction } from "../handlers/enrich";
import {
  normalize,
  notificationId,
  parseEventBridgeEvent,
  rollbackOf,
  type CodePipelineEvent,
} from "../handlers/events";
import type { Notification } from "../handlers/types";

const ROUTE = { tier: "critical", severity: "critical" as const };

function parsed(name: string, detail: Record<string, unknown> = {}): CodePipelineEvent {
  const file = path.join(__dirname, "events", "codepipeline", `${name}.json`);
  const ev = JSON.parse(fs.readFileSync(file, "utf8"));
  const result = parseEventBridgeEvent(
    JSON.stringify({ ...ev, detail: { ...ev.detail, ...detail } }),
  );
  if (!result.ok) throw new Error(`${name}: ${result.reason}`);
  return result.event;
}

describe("attempts (pipeline-execution-attempt)", () => {
  // "Monitoring CodePipeline events": events carry pipeline-execution-attempt; a retry keeps the
  // execution id (API reference, RetryStageExecution).
  it("carries the attempt into the notification, and attempt 2 is another notification", () => {
    const first = normalize(parsed("action-codebuild-failed"), ROUTE);
    const again = normalize(
      parsed("action-codebuild-failed", { "pipeline-execution-attempt": 2 }),
      ROUTE,
    );
    expect(first.attempt).toBe(1);
    expect(again.attempt).toBe(2);
    expect(again.id).not.toBe(first.id);
  });
});

describe("approval runs (action-execution-id)", () => {
  // Each run of an approval action has its own action-execution-id and token (REFERENCE.md).
  it("names the run, and two runs of one approval in one attempt are two requests", () => {
    const run1 = parsed("action-approval-started");
    const run2 = parsed("action-approval-started", {
      "action-execution-id": "0f0e0d0c-1111-4222-8333-444455556666",
    });
    const n = normalize(run1, ROUTE);
    expect(n.actionExecutionId).toBe("6c1f0e2d-3a4b-4c5d-9e6f-7a8b9c0d1e2f");
    expect(notificationId(run2)).not.toBe(notificationId(run1));
    // A duplicate of one run (another event id, same run) stays the same request.
    expect(notificationId({ ...run1, id: "dup", time: "2030-01-01T00:00:00Z" })).toBe(
      notificationId(run1),
    );
  });

  it("leaves the ids of other actions' events as they were (no ledger churn)", () => {
    const build = parsed("action-codebuild-failed");
    expect(notificationId(build)).toBe(notificationId({ ...build, actionExecutionId: "other" }));
  });
});

describe("expired approvals", () => {
  it("the issue's small input: Approval FAILED with no execution-result is approval-expired", () => {
    const n = normalize(parsed("action-approval-expired"), ROUTE);
    expect(n.kind).toBe("approval-expired");
    expect(n.decidedBy).toBeUndefined();
  });

  const approvalFailed = (summary?: string): ActionExecutionDetail => ({
    stageName: "Approve",
    actionName: "ManualApproval",
    status: "Failed",
    input: {
      actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" },
    },
    output: { executionResult: { externalExecutionSummary: summary } },
  });
  const pipelineFailed = (): Notification => normalize(parsed("pipeline-failed"), ROUTE);

  it("a pipeline FAILED whose failed action is an Approval without 'Rejected' is an expiry", () => {
    // ListActionExecutions (API reference): the Failed approval's summary is what PutApprovalResult
    // recorded; an expiry records none (user guide, "Manage approval actions").
    const n = pipelineFailed();
    applyFailedAction(n, approvalFailed(undefined));
    expect(n).toMatchObject({
      kind: "approval-expired",
      stage: "Approve",
      action: "ManualApproval",
    });
    expect(n.decidedBy).toBeUndefined();
  });

  it("…and with 'Rejected by …' a rejection, with who decided", () => {
    const n = pipelineFailed();
    applyFailedAction(n, approvalFailed("Rejected by Jane Doe (U012ABC) via Slack: not now"));
    expect(n).toMatchObject({ kind: "rejection", decidedBy: "Jane Doe (U012ABC)" });
  });

  it("a console rejection is a rejection: its summary is the reviewer's comment, not 'Rejected by …'", () => {
    // PutApprovalResult requires result.summary (API reference, ApprovalResult); the console sends
    // the reviewer's comment (user guide, "Approve or reject an approval action in CodePipeline").
    const n = pipelineFailed();
    applyFailedAction(n, approvalFailed("Wrong build, redo from main"));
    expect(n.kind).toBe("rejection");
    const action = normalize(
      parsed("action-approval-expired", {
        "execution-result": { "external-execution-summary": "Wrong build, redo from main" },
      }),
      ROUTE,
    );
    expect(action.kind).toBe("rejection");
  });

  it("a rejection with an empty comment is a rejection by its caller, not an expiry", () => {
    // ApprovalResult.summary is required but may be empty (API_ApprovalResult.html: "Minimum
    // length of 0"); ListActionExecutions names who ended the run (ActionExecutionDetail
    // updatedBy), and a timeout has no caller.
    const n = pipelineFailed();
    applyFailedAction(n, {
      ...approvalFailed(""),
      updatedBy: "arn:aws:sts::123456789012:assumed-role/Deployers/jane",
    });
    expect(n).toMatchObject({ kind: "rejection", decidedBy: "assumed-role/Deployers/jane" });
    const expired = pipelineFailed();
    applyFailedAction(expired, approvalFailed(""));
    expect(expired.kind).toBe("approval-expired");
  });

  it("an expired approval stays expired when the API's error message says something", () => {
    const n = pipelineFailed();
    applyFailedAction(n, {
      ...approvalFailed(undefined),
      output: { executionResult: { errorDetails: { code: "JobFailed", message: "timed out" } } },
    } as ActionExecutionDetail);
    expect(n.kind).toBe("approval-expired");
  });

  it("a build that failed after an earlier Slack rejection is a failure again", () => {
    const n: Notification = { ...pipelineFailed(), kind: "rejection", decidedBy: "Sam (U1)" };
    applyFailedAction(n, {
      stageName: "Build",
      actionName: "BuildAndTest",
      status: "Failed",
      input: {
        actionTypeId: { category: "Build", owner: "AWS", provider: "CodeBuild", version: "1" },
      },
      output: {
        executionResult: { externalExecutionSummary: "Build terminated with state: FAILED" },
      },
    });
    expect(n.kind).toBe("failure");
    expect(n.decidedBy).toBeUndefined();
  });
});

describe("rollbacks", () => {
  it("reads the rollback from the event's execution-trigger (ExecutionTrigger valid values)", () => {
    const n = normalize(parsed("pipeline-succeeded-automated-rollback"), ROUTE);
    expect(n.rollback).toEqual({ trigger: "AutomatedRollback" });
    expect(normalize(parsed("pipeline-succeeded"), ROUTE).rollback).toBeUndefined();
  });

  it("never reads the failed execution from triggerDetail (its content is undocumented)", () => {
    // API reference, ExecutionTrigger: triggerDetail is "detail related to the event"; the user
    // guide shows a caller ARN for ManualRollback and nothing for AutomatedRollback.
    const id = "3f2b8c1e-7d4a-4e9b-9c61-2a5d8e0f4b17";
    expect(rollbackOf({ type: "AutomatedRollback", detail: id })).toEqual({
      trigger: "AutomatedRollback",
    });
    expect(
      rollbackOf({ type: "ManualRollback", detail: "arn:aws:sts::123456789012:assumed-role/R/j" }),
    ).toEqual({ trigger: "ManualRollback" });
    expect(rollbackOf({ type: "StartPipelineExecution", detail: id })).toBeUndefined();
  });

  it("fills the target and mode from GetPipelineExecution, as the user guide's sample shows", () => {
    // User guide, "View rollback status details": get-pipeline-execution output.
    const sample = {
      pipelineName: "MyFirstPipeline",
      pipelineVersion: 6,
      pipelineExecutionId: "2004a94e-8b46-4c34-a695-c8d20EXAMPLE",
      status: "Succeeded",
      artifactRevisions: [
        { name: "SourceArtifact", revisionId: "<ID>", revisionSummary: "Added README.txt" },
      ],
      trigger: {
        triggerType: "ManualRollback",
        triggerDetail: "arn:aws:sts::<account_ID>:assumed-role/<role>",
      },
      executionMode: "SUPERSEDED",
      executionType: "ROLLBACK",
      rollbackMetadata: {
        rollbackTargetPipelineExecutionId: "4f47bed9-6998-476c-a49d-e60beEXAMPLE",
      },
    } as PipelineExecution;
    const n = normalize(parsed("pipeline-succeeded"), ROUTE);
    applyExecution(n, sample);
    expect(n.rollback).toEqual({
      trigger: "ManualRollback",
      targetExecutionId: "4f47bed9-6998-476c-a49d-e60beEXAMPLE",
    });
    expect(n.executionMode).toBe("SUPERSEDED");
    expect(n.trigger).toBe("ManualRollback by arn:aws:sts::<account_ID>:assumed-role/<role>");
  });

  it("keeps what the event said and adds the target when the API has it", () => {
    const n = normalize(parsed("pipeline-succeeded-automated-rollback"), ROUTE);
    applyExecution(n, {
      executionType: "ROLLBACK",
      rollbackMetadata: {
        rollbackTargetPipelineExecutionId: "4f47bed9-6998-476c-a49d-e60be0000001",
      },
    });
    expect(n.rollback).toEqual({
      trigger: "AutomatedRollback",
      targetExecutionId: "4f47bed9-6998-476c-a49d-e60be0000001",
    });
  });

  it("a STANDARD execution is no rollback, whatever else it says", () => {
    const n = normalize(parsed("pipeline-succeeded"), ROUTE);
    applyExecution(n, { executionType: "STANDARD", executionMode: "PARALLEL" });
    expect(n.rollback).toBeUndefined();
    expect(n.executionMode).toBe("PARALLEL");
  });
});
