/**
 * Who may decide an approval from Slack: a pipeline in an admitted (account, region) — the
 * notifier's own, or a configured source account in one of its regions, the same rule the fan-out
 * applies to events (events/sources.ts `sourceRefusal`) — matching a configured rule with Slack
 * approvals, one of its approvers, and — for a pipeline in another account (issue 14) — a role
 * the notifier can assume there, without which nothing could be decided.
 */
import { sourceAccessProblem } from "../aws";
import { approvalPipelineRef } from "../contracts/slack-approval";
import { sourceRefusal } from "../events/sources";
import { findPipelineRule } from "../routing";
import { escapeSlackText } from "../slack-text";
import type { PipelineRule, SourceAccount } from "../types";
import type { ApprovalClaim } from "./types";

/** Why a click may not decide. */
export type DenialReason =
  "unconfigured-source" | "not-configured" | "not-an-approver" | "no-source-access";

/** Whether a user may decide an approval, and if not, why (shown to them, and audited). */
export type Authorization =
  { allowed: true } | { allowed: false; reason: DenialReason; message: string; detail?: string };

/**
 * Decides whether `userId` may approve or reject the pipeline of `target` (a name: the home
 * account's; or a button value with its account and region): the pipeline's account and region
 * must be admitted by `sources` (config key `sources`; absent or empty: the home account and
 * region only, as for the fan-out's events) — a button is signed by Slack but its value is ours to
 * check, and a rule whose match names no region would otherwise admit any region of a configured
 * account — the pipeline must match a configured rule with Slack approvals, the user must be one
 * of its approvers, and a pipeline in another account needs the role to assume there
 * (`SOURCE_ROLES`, issue 14), else nothing could be decided. `message` is safe mrkdwn; `detail`
 * (audited) is the reason, naming the config key.
 */
export function authorizeApprover(
  pipelines: PipelineRule[],
  target: string | Pick<ApprovalClaim, "pipeline" | "account" | "region">,
  userId: string,
  sources?: SourceAccount[],
): Authorization {
  const ref = approvalPipelineRef(typeof target === "string" ? { pipeline: target } : target);
  const pipeline = ref.name;
  const refused = sourceRefusal(ref, sources);
  if (refused) {
    return {
      allowed: false,
      reason: "unconfigured-source",
      message: `${escapeSlackText(pipeline)} runs in account ${escapeSlackText(ref.account)}, region ${escapeSlackText(ref.region)}, which this notifier does not take approvals from; nothing was decided.`,
      detail: refused,
    };
  }
  const rule = findPipelineRule(pipelines, {
    pipeline,
    account: ref.account || undefined,
    region: ref.region || undefined,
  });
  const name = escapeSlackText(pipeline);
  if (!rule?.approvals) {
    return {
      allowed: false,
      reason: "not-configured",
      message: `${name} is not configured for Slack approvals.`,
    };
  }
  if (!rule.approvals.approvers.includes(userId)) {
    return {
      allowed: false,
      reason: "not-an-approver",
      message: `You are not an approver for ${name}.`,
    };
  }
  const problem = sourceAccessProblem(ref);
  if (problem) {
    return {
      allowed: false,
      reason: "no-source-access",
      message: `The notifier has no access to account ${escapeSlackText(ref.account)}, where ${name} runs; nothing was decided.`,
      detail: problem,
    };
  }
  return { allowed: true };
}
