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

function isApprovalAction(ev: CodePipelineEvent): boolean {
  return ev.level === "action" && ev.actionType?.category?.toLowerCase() === "approval";
}

/**
 * What a FAILED Approval action means, from its result summary: `rejection` when it has one,
 * `approval-expired` when it has none. Every human decision carries a summary, because
 * PutApprovalResult requires `result.summary` (API reference, PutApprovalResult / ApprovalResult):
 * "Rejected by …" from Slack, or the reviewer's own comment from the console ("Wrong build"), which
 * need not say "Rejected". An approval nobody answered within its timeout ends as a FAILED action
 * with no summary, or defensively one that speaks of a timeout (user guide, "Manage approval
 * actions": approvals time out after 7 days by default; REFERENCE.md, CodePipeline's lifecycle). The API side (enrich.ts) decides the same way
 * from ListActionExecutions.
 * `summary` may be empty on a rejection too (API_ApprovalResult.html: `summary` "Minimum length
 * of 0"): where CodePipeline names who ended the run (`by`: ListActionExecutions `updatedBy`,
 * GetPipelineState `lastUpdatedBy`, the caller of PutApprovalResult), it was rejected; a timeout
 * has no caller. Events carry no caller: without `by`, an empty summary still reads as expired.
 */
export function failedApprovalKind(
  summary: string | undefined,
  by?: string,
): "rejection" | "approval-expired" {
  if (isRejectionSummary(summary)) return "rejection";
  if (by !== undefined && by !== "" && !TIMED_OUT.test(summary ?? "")) return "rejection";
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
