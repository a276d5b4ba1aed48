/**
 * A FAILED Approval action: rejected or expired (events/classify.ts `failedApprovalKind`). A caller
 * named by CodePipeline (`updatedBy` / `lastUpdatedBy`: "The ARN of the user who …",
 * API_ActionExecutionDetail.html, API_ActionExecution.html) decided it, whatever the comment says;
 * a value there that is no IAM or STS principal's ARN is not taken for one, since what a timeout
 * leaves there is not documented.
 */
import { failedApprovalKind } from "../../handlers/events";

describe("failedApprovalKind", () => {
  const role = "arn:aws:iam::123456789012:role/approver";
  const session = "arn:aws:sts::123456789012:assumed-role/Deployers/jane";

  it.each([
    ["cert expired, do not ship", role, "rejection"],
    ["", session, "rejection"],
    [undefined, "arn:aws-us-gov:iam::123456789012:user/jane", "rejection"],
    ["Wrong build", undefined, "rejection"],
    ["Rejected by @jane", undefined, "rejection"],
    [undefined, undefined, "approval-expired"],
    ["Approval timed out", undefined, "approval-expired"],
    // A caller that names no principal leaves the decision to the summary.
    ["Approval timed out", "codepipeline.amazonaws.com", "approval-expired"],
    [undefined, "codepipeline.amazonaws.com", "approval-expired"],
    ["", "   ", "approval-expired"],
  ] as const)("summary %j, caller %j: %s", (summary, by, kind) => {
    expect(failedApprovalKind(summary, by)).toBe(kind);
  });
});
