/**
 * What the work tells Slack and the audit trail once CodePipeline answered (work.ts): the claim
 * settled (`decided` / `final`) and the message updated, or — nothing decided for a reason that
 * may pass — the claim released (retried until the work's deadline) and the clicker told when
 * they can try again: at once, or, when DynamoDB would not release it, once the claim goes stale.
 */
import { escapeSlackText } from "../slack-text";
import { settleDecision } from "../store/approvals";
import {
  audit,
  claimDetail,
  claimRecord,
  releaseClaim,
  releaseWords,
  retryText,
  SUPERSEDED_TEXT,
} from "./decision";
import {
  decidedEnding,
  decisionLine,
  ephemeral,
  mentionOf,
  REPLACED,
  REPLACED_NEXT,
  replacedEnding,
  replaceButtons,
  slackTime,
} from "./messages";
import { postToResponseUrl, WORK_POST_TIMEOUT_MS } from "./slack-api";
import type {
  ApprovalClaim,
  ApprovalRuntime,
  ApprovalWorkEvent,
  ApprovalWorkOutcome,
} from "./types";
import { AUDIT, endedEnding, endedLine, endedReason, MRKDWN, nextStep, PLAIN } from "./ended";
import { updateRequestMessage } from "./update";
import { errorName } from "./util";

/**
 * Records how the claim settled (`auditOutcome`: the outcome as the click's audit record says it,
 * when that differs); a failure is logged (the decision itself is done).
 */
async function settle(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  status: "decided" | "final",
  outcome: string,
  auditOutcome?: string,
): Promise<void> {
  try {
    const days = rt.config.auditRetentionDays;
    const ours = await settleDecision(claim, days, { status, outcome, auditOutcome });
    if (!ours) rt.log.warn("approval claim was taken over before it settled", { status });
  } catch (err: unknown) {
    rt.log.error("approval claim settle failed", { status, error: errorName(err) });
  }
}

/** The refusal of a request whose run was replaced: clicker told, message updated, audited. */
async function reportSuperseded(rt: ApprovalRuntime, work: ApprovalWorkEvent): Promise<void> {
  const { claim } = work;
  await settle(rt, claim, "final", "superseded");
  await postToResponseUrl(
    rt.log,
    work.responseUrl,
    ephemeral(SUPERSEDED_TEXT),
    WORK_POST_TIMEOUT_MS,
  );
  await updateRequestMessage(
    rt,
    work,
    replaceButtons(
      work.message,
      `⏭️ ${REPLACED[0].toUpperCase()}${REPLACED.slice(1)}; ${REPLACED_NEXT} (clicked by ${mentionOf(claim.user.id)} at ${slackTime(claim.at)}).`,
      replacedEnding(claim),
    ),
  );
  await audit(rt, {
    action: "approval-superseded",
    ...claimRecord(claim),
    // "refused: " is what scripts/audit.ts and readers key on; the rest is messages.ts REPLACED.
    result: `refused: the request was ${REPLACED}`,
    detail: claimDetail(claim),
  });
}

/**
 * The claimed run can no longer be decided and CodePipeline says why (decided by someone else,
 * expired, its execution stopped / superseded / cancelled): the claim settles `final`, the
 * clicker is told why and what to do next (ended.ts `nextStep`), the message is rewritten as a decision through Slack rewrites it (its
 * buttons gone, header and State saying how it ended), and the click's `approval-click` record
 * says "not decided: <reason>" with ISO times (no error of ours: scripts/audit.ts shows "click
 * not decided"). Slack gets the reason in mrkdwn (Slack's `<!date>`), the claim's outcome in
 * plain text (ended.ts `MRKDWN`, `PLAIN`, `AUDIT`).
 */
async function reportEnded(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  result: Extract<ApprovalWorkOutcome, { outcome: "ended" }>,
): Promise<void> {
  const { claim } = work;
  const { end } = result;
  // The clicker, a later clicker (decision.ts alreadyClaimedText) and the channel (the State
  // field) learn what to do next.
  const next = nextStep(claim, end);
  const sentence = (reason: string) => reason.replace(/\.?$/, ".");
  const audited = endedReason(claim, end, AUDIT);
  await settle(rt, claim, "final", `${sentence(endedReason(claim, end, PLAIN))} ${next}`, audited);
  const slack = endedReason(claim, end, MRKDWN);
  const told = `${sentence(slack)} ${escapeSlackText(next)}`;
  await postToResponseUrl(rt.log, work.responseUrl, ephemeral(told), WORK_POST_TIMEOUT_MS);
  await updateRequestMessage(
    rt,
    work,
    replaceButtons(
      work.message,
      endedLine(claim, end, slack),
      endedEnding(claim, end, slack, next),
    ),
  );
  await audit(rt, {
    action: "approval-click",
    ...claimRecord(claim),
    result: `not decided: ${audited}`,
    detail: claimDetail(claim),
  });
}

/**
 * Nothing was decided and trying again may work: the buttons stay, the claim is released (until
 * `deadline`), and the clicker is told what happened and when to try again; the audit says
 * "claim released", or "claim not released: <error>" when DynamoDB would not release it (then
 * a click is refused until the claim goes stale, and the clicker is told how long that is).
 */
async function reportNothingDecided(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  result: Exclude<ApprovalWorkOutcome, { outcome: "decided" | "ended" }>,
  deadline: number,
): Promise<void> {
  const { claim } = work;
  const release = await releaseClaim(rt, claim, deadline);
  const verb = claim.decision === "Approved" ? "approve" : "reject";
  const noun = claim.decision === "Approved" ? "approval" : "rejection";
  const text = result.mayHaveDecided
    ? `⚠️ CodePipeline did not confirm whether your ${noun} was taken; check the pipeline before trying again.${release.released ? "" : ` ${retryText(release)}`}`
    : `⚠️ Could not ${verb} now (CodePipeline did not answer); nothing was decided. ${retryText(release)}`;
  await postToResponseUrl(rt.log, work.responseUrl, ephemeral(text), WORK_POST_TIMEOUT_MS);
  await audit(rt, {
    action: "approval-error",
    ...claimRecord(claim),
    result: `${result.reason}; ${releaseWords(release)}`,
    detail: claimDetail(claim),
  });
}

/**
 * Tells Slack and the audit trail what came of the decision; releases the claim if it may pass,
 * retrying until `deadline` (epoch ms: the work's, less the time the posts after it need).
 */
export async function report(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  result: ApprovalWorkOutcome,
  reason: string | undefined,
  deadline: number,
): Promise<void> {
  const { claim } = work;
  const named = claimRecord(claim);
  const detail = claimDetail(claim);
  const verb = claim.decision === "Approved" ? "approve" : "reject";
  switch (result.outcome) {
    case "decided":
      await settle(rt, claim, "decided", claim.decision);
      await updateRequestMessage(
        rt,
        work,
        replaceButtons(
          work.message,
          decisionLine(claim.decision, claim.user.id, claim.at, reason),
          decidedEnding(claim, result.stopping),
        ),
      );
      await audit(rt, { action: "approval-decided", ...named, result: claim.decision, detail });
      break;
    case "superseded":
      await reportSuperseded(rt, work);
      break;
    case "ended":
      await reportEnded(rt, work, result);
      break;
    case "final-error":
      await settle(rt, claim, "final", result.reason);
      await updateRequestMessage(
        rt,
        work,
        replaceButtons(
          work.message,
          `⚠️ Could not ${verb}: ${escapeSlackText(result.reason)} (${mentionOf(claim.user.id)} at ${slackTime(claim.at)}).`,
        ),
      );
      await audit(rt, { action: "approval-error", ...named, result: result.reason, detail });
      break;
    case "transient-error":
    case "invalid":
      await reportNothingDecided(rt, work, result, deadline);
      break;
    default: {
      const unreachable: never = result;
      throw new Error(`approval: unhandled outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
