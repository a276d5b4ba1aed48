/**
 * The reminder scan, run by the fan-out when the schedule rule's message arrives: every pending
 * request whose reminder lead window is open, or whose expiry has passed, is checked against
 * CodePipeline and then reminded once, marked expired, rewritten as ended (decided or ended
 * elsewhere, when no event did it: ended.ts), forgotten, or left for the next scan. Each one-time step is claimed with a conditional write first, so
 * concurrent scans (an overlap, a redelivered scan message) send one reminder and one expiry.
 */
import type { SQSRecord } from "aws-lambda";
import type { Logger } from "../channels/types";
import { describe, auditQuietly, type Invocation } from "../fanout/invocation";
import { isDeliveryError, scaledMs } from "../http";
import { withRetries } from "../retry";
import { approvalPipelineRef } from "../contracts/slack-approval";
import { findPipelineRule } from "../routing";
import {
  claimStep,
  deletePending,
  pendingUntil,
  type StepClaim,
  type StoredPending,
} from "../store/pending";
import { DEFAULT_REMINDER_BEFORE_HOURS, type RuntimeConfig } from "../types";
import { decideStep, lookUpRun, needsLookUp, type RunStatus, type ScanStep } from "./decide";
import { expiredMessage, reminderMessage } from "./messages";
import { canUpdate, postMessage, postReminder, updateRequest, type SlackTarget } from "./slack";
import { releaseQuietly, countRepeat, settleQuietly } from "./steps";
import { auditBase, runDetail, targetOf } from "./target";
import { endRequest } from "./ended";

/**
 * A scan stops starting new requests this long before the invocation's deadline (ms of AWS time,
 * divided by the sandbox's `TIME_SCALE` through `scaledMs`, so its ratio to the deadline holds).
 */
const SCAN_MARGIN_MS = 5000;

/** What a post's attempts whose answer was lost say ({@link lostAnswers}). */
type LostAnswers = { why?: string; onRetry: (e: { mayHaveArrived?: boolean }) => void };

/**
 * Notes, as withRetries' `onRetry`, an attempt of a post whose answer was lost (Slack may have
 * posted it): `why` then says why the post may be a second one.
 */
function lostAnswers(): LostAnswers {
  const lost: LostAnswers = {
    onRetry: (e) => {
      if (e.mayHaveArrived) lost.why = "an earlier attempt of this post got no answer";
    },
  };
  return lost;
}

/** What one scan did, by step, for the log. */
export type ScanCounts = Record<ScanStep | "skipped" | "errors", number>;

/**
 * The reminder lead of `pipeline`'s approvals, in ms (0: no reminder). `pipeline` is a name (the
 * home account's) or a stored request, whose account and region select the rule (issue 14).
 */
export function reminderLeadMs(
  config: RuntimeConfig,
  pipeline: string | Pick<StoredPending, "pipeline" | "account" | "region">,
): number {
  const ref = approvalPipelineRef(typeof pipeline === "string" ? { pipeline } : pipeline);
  const lookup = {
    pipeline: ref.name,
    account: ref.account || undefined,
    region: ref.region || undefined,
  };
  const approvals = findPipelineRule(config.pipelines, lookup)?.approvals;
  if (!approvals) return 0;
  return (approvals.reminderBeforeHours ?? DEFAULT_REMINDER_BEFORE_HOURS) * 3_600_000;
}

/** The longest reminder lead of any pipeline with approvals (ms). */
function longestLeadMs(config: RuntimeConfig): number {
  return Math.max(
    0,
    ...config.pipelines
      .filter((r) => r.approvals)
      .map((r) => (r.approvals?.reminderBeforeHours ?? DEFAULT_REMINDER_BEFORE_HOURS) * 3_600_000),
  );
}

/**
 * Runs one scan at `now`. Throws when the pending requests cannot be read (the scan message is
 * then redelivered); a failure with one request is logged and leaves it for the next scan.
 */
export async function runReminderScan(
  inv: Invocation,
  log: Logger,
  now: Date = new Date(),
): Promise<ScanCounts> {
  const counts: ScanCounts = { remind: 0, expire: 0, forget: 0, wait: 0, skipped: 0, errors: 0 };
  if (!inv.config.pipelines.some((r) => r.approvals)) return counts;
  const due = await pendingUntil(new Date(now.getTime() + longestLeadMs(inv.config)));
  for (const p of due) {
    if (Date.now() >= inv.deadline - scaledMs(SCAN_MARGIN_MS)) {
      counts.skipped += 1;
      continue;
    }
    try {
      counts[await scanOne(inv, p, now, log)] += 1;
    } catch (err: unknown) {
      counts.errors += 1;
      log.error("reminder scan: request failed", { request: p.sk, error: describe(err) });
    }
  }
  return counts;
}

/** Checks one request and carries out its step; resolves with the step taken. */
async function scanOne(
  inv: Invocation,
  p: StoredPending,
  now: Date,
  log: Logger,
): Promise<ScanStep> {
  const leadMs = reminderLeadMs(inv.config, p);
  if (!needsLookUp(p, now, leadMs)) return "wait";
  const status = await lookUpRun(p);
  const step = decideStep(p, status, now, leadMs);
  if (step === "remind") return (await remind(inv, p, now, log)) ? "remind" : "wait";
  if (step === "expire") return (await expire(inv, p, status, now, log)) ? "expire" : "wait";
  // Ended without a Slack decision and no event rewrote it (a lost event): rewritten now.
  if (step === "forget" && status.kind === "ended") {
    const ended = await endRequest(inv, p, log, now);
    return ["ended", "threaded", "clicked"].includes(ended) ? "forget" : "wait";
  }
  if (step === "forget") {
    await deletePending(p, inv.deadline);
    log.info("reminder scan: request ended", { request: p.sk, status: status.kind });
  }
  return step;
}

/**
 * Claims and posts the one reminder of `p`, then settles the claim (no later scan sends it again).
 * A failure a later scan may fix gives the claim back; a permanent one settles it (one reminder
 * at most, never a loop). The "failed" audit record is written either way, and a claim that could
 * not be given back frees itself after its lease (store/pending.ts `STEP_LEASE_MS`). True when
 * it was posted.
 */
async function remind(inv: Invocation, p: StoredPending, now: Date, log: Logger): Promise<boolean> {
  const target = await targetOf(inv, p, log);
  const claim = await claimStep(p, "remindedAt", now, inv.deadline);
  if (!claim) return false;
  const earlier = claim.earlier;
  let where: Awaited<ReturnType<typeof postReminder>>;
  const lost = lostAnswers();
  try {
    if (!target) throw new Error(`channel ${p.channel} is no longer a slack channel`);
    const threaded = target.config.mode === "bot" && !!p.messageTs && !!p.slackChannelId;
    where = await withRetries(() => postReminder(target, p, reminderMessage(p, threaded)), {
      deadline: inv.deadline,
      onRetry: lost.onRetry,
    });
  } catch (err: unknown) {
    const mayHaveArrived =
      !!(earlier ?? lost.why) || (isDeliveryError(err) && !!err.mayHaveArrived);
    await reminderFailed(inv, p, claim, err, log, mayHaveArrived);
    return false;
  }
  await settleQuietly(inv, p, claim, log);
  const sent = where === "thread" ? "sent in the request's thread" : "sent as a new message";
  const why = earlier ?? lost.why;
  const result = why ? `${sent}; possibly a duplicate: ${why}` : sent;
  const detail = { ...runDetail(p), approvers: p.approvers, ...countRepeat(p, why) };
  await auditQuietly(inv, { ...auditBase(p), action: "approval-reminder", result, detail }, log);
  return true;
}

/**
 * After a failed reminder post: gives the claim back when a later scan may succeed (keeping
 * `mayHaveArrived`: this claim's post may have reached Slack), settles it when not, and audits
 * "failed" whatever became of those writes (each failure is logged).
 */
async function reminderFailed(
  inv: Invocation,
  p: StoredPending,
  claim: StepClaim,
  err: unknown,
  log: Logger,
  mayHaveArrived: boolean,
): Promise<void> {
  const retryable = isDeliveryError(err) && err.retryable;
  let givenBack = false;
  if (retryable) givenBack = await releaseQuietly(inv, p, claim, log, mayHaveArrived);
  else await settleQuietly(inv, p, claim, log);
  const result = `reminder not sent: ${describe(err)}`;
  const detail = { ...runDetail(p), retryable, ...(retryable && { givenBack }) };
  await auditQuietly(inv, { ...auditBase(p), action: "failed", result, detail }, log);
}

/**
 * Claims the expiry of `p`, marks its request expired (chat.update in bot mode; else, or when
 * Slack refuses the update for good, a new message), settles the claim, removes the item and
 * audits. A failure a later scan may fix gives the claim back (or, when that fails, leaves it to
 * free itself after its lease). True when done.
 */
async function expire(
  inv: Invocation,
  p: StoredPending,
  status: RunStatus,
  now: Date,
  log: Logger,
): Promise<boolean> {
  const target = await targetOf(inv, p, log);
  const claim = await claimStep(p, "expiredAt", now, inv.deadline);
  if (!claim) return false;
  const earlier = claim.earlier;
  const message = expiredMessage(p, status.kind === "expired" ? status.endedAt : undefined);
  const lost = lostAnswers();
  let result: string;
  try {
    if (!target) throw new Error(`channel ${p.channel} is no longer a slack channel`);
    result = await showExpired(inv, target, p, message, log, lost);
  } catch (err: unknown) {
    if (isDeliveryError(err) && err.retryable) {
      const maybe = !!(earlier ?? lost.why) || !!err.mayHaveArrived;
      await releaseQuietly(inv, p, claim, log, maybe);
      return false;
    }
    result = `not shown: ${describe(err)}`;
  }
  await settleQuietly(inv, p, claim, log);
  // An update in place says the same again; a new message may be a second one.
  const repeat = result.startsWith("posted") ? (earlier ?? lost.why) : undefined;
  if (repeat) result = `${result}; possibly a duplicate: ${repeat}`;
  const detail = { ...runDetail(p), text: message.text, ...countRepeat(p, repeat) };
  await auditQuietly(inv, { ...auditBase(p), action: "approval-expired", result, detail }, log);
  await deletePending(p, inv.deadline);
  return true;
}

/**
 * Updates the request to "expired", or posts the notice anew; resolves with what was done. A new
 * message's attempt whose answer was lost (Slack may have posted it) is noted in `lost`; a repeated
 * update is not a second message.
 */
async function showExpired(
  inv: Invocation,
  target: SlackTarget,
  p: StoredPending,
  message: ReturnType<typeof expiredMessage>,
  log: Logger,
  lost: LostAnswers,
): Promise<string> {
  const retrying = { deadline: inv.deadline, onRetry: lost.onRetry };
  if (!canUpdate(target, p)) {
    await withRetries(() => postMessage(target, p, message), retrying);
    return "posted as a new message (the request cannot be updated: webhook)";
  }
  try {
    await withRetries(() => updateRequest(target, p, message), { deadline: inv.deadline });
    return "request message updated";
  } catch (err: unknown) {
    if (!isDeliveryError(err) || err.retryable) throw err;
    // message_not_found, cant_update_message, edit_window_closed, …: say it anew instead.
    const reason = describe(err);
    const detail = { ...runDetail(p), ts: p.messageTs, slackChannel: p.slackChannelId };
    await auditQuietly(
      inv,
      { ...auditBase(p), action: "message-not-updated", result: reason, detail },
      log,
    );
    await withRetries(() => postMessage(target, p, message), retrying);
    return `posted as a new message (update refused: ${reason})`;
  }
}

/**
 * The fan-out's entry for a scan message: runs the scan, logs what it did, and resolves false
 * (redeliver) only when the pending requests could not be read at all.
 */
export async function scanRecord(inv: Invocation, record: SQSRecord): Promise<boolean> {
  const log = inv.log.child({ messageId: record.messageId, scan: "approval-reminders" });
  try {
    const counts = await runReminderScan(inv, log);
    log.info("reminder scan done", { counts });
    return true;
  } catch (err: unknown) {
    log.error("reminder scan failed", { error: describe(err) });
    return false;
  }
}
