/**
 * What an event means for people: its notification kind, and who rejected a manual approval.
 */
import type { NotificationKind } from "../types";
import { cut } from "./fields";
import type { CodePipelineEvent } from "./model";

const REJECTED = /\bRejected\b/;

/**
 * True when an execution summary says a manual approval was rejected ("Rejected by …"). The
 * enrichment step needs this too: pipeline-level FAILED events carry no summary of their own.
 */
export function isRejectionSummary(summary: string | undefined): boolean {
  return summary !== undefined && REJECTED.test(summary);
}

/**
 * Who rejected, from a summary like "Rejected by Jane Doe (U012ABC) via Slack" or
 * "Rejected by arn:aws:sts::123456789012:assumed-role/Deployers/jane". Undefined when it does not
 * say; at most 200 characters.
 */
export function rejectedBy(summary: string | undefined): string | undefined {
  if (summary === undefined) return undefined;
  const at = summary.indexOf("Rejected by ");
  if (at < 0) return undefined;
  let who = summary.slice(at + "Rejected by ".length).split("\n")[0];
  // Stop at " via <tool>" and at sentence punctuation; ARNs contain ":" but never ": ".
  who = who.split(" via ")[0].split(/[.;,]\s|:\s| - | — /)[0];
  who = who.trim().replace(/[.;,]$/, "");
  return who === "" ? undefined : cut(who, 200);
}

/** Whether `ev` is an action-level event of an Approval action (its `action-type` category). */
export function isApprovalAction(ev: CodePipelineEvent): boolean {
  return ev.level === "action" && ev.actionType?.category?.toLowerCase() === "approval";
}

/**
 * What a FAILED Approval action means: `rejection` or `approval-expired`.
 * - With a caller (`by`: ListActionExecutions `updatedBy`, "The ARN of the user who changed the
 *   pipeline execution details", API_ActionExecutionDetail.html; GetPipelineState `lastUpdatedBy`,
 *   "The ARN of the user who last changed the pipeline", API_ActionExecution.html): someone called
 *   PutApprovalResult, so it was rejected, whatever its comment says ("cert expired, do not
 *   ship" is a reviewer's reason, not a timeout). CodePipeline's documentation gives a timeout
 *   no caller: an approval "not received within seven days" only makes the status "Failed"
 *   (user guide, "Approve or reject an approval action in CodePipeline",
 *   https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-approve-or-reject.html;
 *   the timeout is 7 days by default, 5 minutes to 60 days per action: "Quotas in AWS
 *   CodePipeline"), and nothing there names who ended it.
 * - Without a caller (the EventBridge action event carries none: user guide, "Monitoring
 *   CodePipeline events", `execution-result` holds only the external execution's url, summary,
 *   id and `error-code`), the summary decides: "Rejected" is a rejection; none, an empty one or
 *   one that speaks of a timeout reads as expired (REFERENCE.md, CodePipeline's lifecycle: an
 *   expired approval has no "Rejected by" summary); any other comment is a reviewer's
 *   (PutApprovalResult requires `result.summary`, API_ApprovalResult.html, though it may be
 *   empty: "Minimum length of 0"). A console rejection whose comment speaks of expiry is then
 *   read as expired here: the event says nothing else that tells them apart, so the fan-out's
 *   enrichment asks ListActionExecutions for the caller (enrich.ts `lookupsFor`).
 * The API side (enrich.ts, reminders/decide.ts, approval/ended.ts) passes the caller. Only an
 * IAM or STS principal's ARN counts as one ({@link PRINCIPAL_ARN}): what CodePipeline writes there
 * after a timeout is not documented, so a value that names no principal (a service's name, say)
 * leaves the decision to the summary, as when there is no caller.
 */
export function failedApprovalKind(
  summary: string | undefined,
  by?: string,
): "rejection" | "approval-expired" {
  if (isRejectionSummary(summary)) return "rejection";
  if (by !== undefined && PRINCIPAL_ARN.test(by.trim())) return "rejection";
  if (summary === undefined || summary.trim() === "" || TIMED_OUT.test(summary)) {
    return "approval-expired";
  }
  return "rejection";
}

/**
 * The resource part of a caller's ARN ("role/approver", "assumed-role/Deployers/jane"), as the
 * message shows who decided; a value that is no ARN is returned as it is.
 */
export function callerName(arn: string): string {
  return /^arn:[^:]*:[^:]*:[^:]*:[^:]*:.+/.test(arn) ? arn.split(":").slice(5).join(":") : arn;
}

/**
 * The ARN of an IAM or STS principal (IAM User Guide, "IAM identifiers", ARNs:
 * `arn:<partition>:iam::<account>:user|role/…`, `arn:<partition>:sts::<account>:assumed-role/…`):
 * who called PutApprovalResult.
 */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:/;

/** A summary that speaks of a timeout rather than a decision ("Approval timed out", "expired"). */
const TIMED_OUT = /\b(timed?[ -]?out|time-?out|expired?)\b/i;

/**
 * What an event means for people. FAILED is a `failure` unless a manual approval was rejected
 * (a summary saying "Rejected") or expired (an Approval action FAILED without one): neither
 * ever pages.
 */
export function classify(ev: CodePipelineEvent): NotificationKind {
  const summary = ev.result?.externalExecutionSummary;
  switch (ev.state) {
    case "FAILED":
      if (isApprovalAction(ev)) return failedApprovalKind(summary);
      return isRejectionSummary(summary) ? "rejection" : "failure";
    case "SUCCEEDED":
      return "success";
    case "SUPERSEDED":
      return "superseded";
    case "CANCELED":
      return "canceled";
    case "STOPPED":
    case "STOPPING":
      return "stopped";
    case "STARTED":
      return isApprovalAction(ev) ? "approval-request" : "status";
    default:
      // RESUMED, ABANDONED and any state CodePipeline adds later.
      return "status";
  }
}
