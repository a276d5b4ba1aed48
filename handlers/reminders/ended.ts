/**
 * A posted approval request whose run ended without a decision in Slack (decided in the
 * CodePipeline console or CLI, its execution stopped, superseded or cancelled, or replaced by a
 * newer run when its stage was retried) is rewritten in place, once: no buttons, and the header,
 * State field and context line say how it ended in the words a click on it is told
 * (handlers/approval/ended.ts `endedReason`, `endedEnding`, `nextStep`; messages.ts `REPLACED`).
 *
 * What triggers it: the fan-out's events (`endRequestsOf`) — the approval action's own end
 * (Action SUCCEEDED, FAILED or ABANDONED: the EventBridge rule routes them for pipelines with
 * approvals, infra/patterns.ts), a new run of the same approval action (STARTED: the stage was
 * retried), and an execution's end when a pipeline's `states` route it — and, for a request whose
 * end event never came (EventBridge delivers CodePipeline's events best effort), the reminder
 * scan when it finds the run ended (scan.ts). An expired run is left to the scan's expiry
 * (scan.ts `expire`), which says it in the expiry notice's words.
 *
 * Exactly once: the rewrite is the request's end step (store/pending-steps.ts `expiredAt`, the
 * step the expiry uses too), claimed with a conditional write before the Slack call; the item is
 * removed after. A request a click rewrites, or rewrote (its decision claim, store/approvals.ts),
 * is left to that click (store/decision-reads.ts `clickHoldsRequest`).
 *
 * Where it can be rewritten: in bot mode (the channel's `botToken`) with `chat.update` of the
 * request's channel id and `ts`, which the pending item keeps (reminders/record.ts). An incoming
 * webhook can only post new messages: such a request keeps its buttons, and the audit record
 * (`message-not-updated`) says so; a click on it is told how it ended.
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import type { Logger } from "../channels/types";
import { listActionRuns } from "../action-runs";
import {
  AUDIT,
  endedEnding,
  endedReason,
  endOf,
  MRKDWN,
  nextStep,
  snapshotOfDetail,
} from "../approval/ended";
import { REPLACED, REPLACED_NEXT, replacedEnding, type RequestEnding } from "../approval/messages";
import { pipelineKey, pipelineKeyOf } from "../contracts/pipeline-id";
import { approvalPipelineRef } from "../contracts/slack-approval";
import { isApprovalAction, type CodePipelineEvent } from "../events";
import { auditQuietly, describe, type Invocation } from "../fanout/invocation";
import { isDeliveryError } from "../http";
import { withRetries } from "../retry";
import { findPipelineRule } from "../routing";
import { clickHoldsRequest, decisionOfRun } from "../store/decision-reads";
import {
  claimStep,
  deletePending,
  pendingOfExecution,
  type StepClaim,
  type StoredPending,
} from "../store/pending";
import { threadStore } from "../store/threads";
import { findRun, runStatus } from "./decide";
import { endedLine, endedRequestMessage } from "./ended-message";
import { canUpdate, updateRequest } from "./slack";
import { releaseQuietly, settleQuietly } from "./steps";
import { auditBase, runDetail, targetOf } from "./target";

type ActionRun = CodePipelineSdk.ActionExecutionDetail;

/**
 * What came of one request: rewritten (or found not rewritable and audited), left to its thread
 * (replaced, and its execution's thread parent: {@link THREADED}), left to a click, left to the
 * expiry, still pending, or taken by another invocation; `later` when a Slack or
 * CodePipeline failure leaves it for a later event or scan.
 */
export type EndResult =
  "ended" | "threaded" | "clicked" | "expired" | "pending" | "taken" | "later";

/** Approval action states that end its run (user guide, "Monitoring CodePipeline events"). */
const RUN_ENDS = ["SUCCEEDED", "FAILED", "ABANDONED"];
/**
 * Pipeline execution states that end a run still waiting without a decision of its own
 * (API_PipelineExecution.html: Stopped, Superseded, Cancelled). A FAILED or SUCCEEDED execution
 * ended after its approval's own end, whose event says it.
 */
const EXECUTION_ENDS = ["STOPPED", "SUPERSEDED", "CANCELED"];

/**
 * Whether `ev` may end a posted request of `p`, its execution's: the same approval action's end
 * (the same run, or a request posted without one), a newer run of it (a retried stage: STARTED
 * with another action execution id), or the execution's end.
 */
export function mayEnd(ev: CodePipelineEvent, p: StoredPending): boolean {
  if (p.executionId !== ev.executionId) return false;
  if (pipelineKey(approvalPipelineRef(p)) !== pipelineKeyOf(ev)) return false;
  if (ev.level === "pipeline") return EXECUTION_ENDS.includes(ev.state);
  if (!isApprovalAction(ev)) return false;
  if (ev.stage !== p.stage || ev.action !== p.action) return false;
  const sameRun =
    !ev.actionExecutionId || !p.actionExecutionId || ev.actionExecutionId === p.actionExecutionId;
  if (ev.state === "STARTED") return !sameRun;
  return RUN_ENDS.includes(ev.state) && sameRun;
}

/**
 * Whether `ev` can end any request at all (before any read). A STARTED replaces an earlier run
 * only in a later attempt: a second run of an action in one execution needs a stage retry, which
 * raises `pipeline-execution-attempt` (API_RetryStageExecution.html; REFERENCE.md), so a first
 * attempt's request costs no read.
 */
function mayEndAny(ev: CodePipelineEvent): boolean {
  if (ev.level === "pipeline") return EXECUTION_ENDS.includes(ev.state);
  if (!isApprovalAction(ev)) return false;
  return ev.state === "STARTED" ? (ev.attempt ?? 1) > 1 : RUN_ENDS.includes(ev.state);
}

/**
 * The fan-out's part for one event: rewrites every posted request of the event's execution that
 * the event may have ended ({@link mayEnd}) and that CodePipeline says ended. Only for pipelines
 * with approvals. Never throws: a failure is logged, and the request is left for a later event
 * or the reminder scan. Resolves with what came of each request.
 */
export async function endRequestsOf(
  inv: Invocation,
  ev: CodePipelineEvent,
  log: Logger,
): Promise<EndResult[]> {
  if (!mayEndAny(ev) || !findPipelineRule(inv.config.pipelines, ev)?.approvals) return [];
  let requests: StoredPending[];
  try {
    requests = (await pendingOfExecution(ev.executionId)).filter((p) => mayEnd(ev, p));
  } catch (err: unknown) {
    log.error("ended request: pending requests not read", { error: describe(err) });
    return ["later"];
  }
  const results: EndResult[] = [];
  // One at a time (an execution has one or two): one request's failure leaves the others be.
  for (const p of requests) {
    results.push(
      await endRequest(inv, p, log).catch((err: unknown) => {
        log.error("ended request: not rewritten", { request: p.sk, error: describe(err) });
        return "later" as const;
      }),
    );
  }
  return results;
}

/** Whether `other` is a later run of the action of `run` (a retried stage). */
function isNewer(other: ActionRun, run: ActionRun): boolean {
  if (other.actionExecutionId === run.actionExecutionId) return false;
  if (other.stageName !== run.stageName || other.actionName !== run.actionName) return false;
  return (other.startTime?.getTime() ?? 0) > (run.startTime?.getTime() ?? 0);
}

/** How the run of `p` ended, as a rewritten request says it; undefined when not known. */
async function endingOf(
  p: StoredPending,
  run: ActionRun,
  runs: ActionRun[],
): Promise<{ ending: RequestEnding; line: string; context: boolean; audit: string } | undefined> {
  if (runs.some((r) => isNewer(r, run))) {
    const replaced = `${REPLACED[0].toUpperCase()}${REPLACED.slice(1)}; ${REPLACED_NEXT}`;
    return {
      ending: replacedEnding(p),
      line: endedLine("⏭️", replaced),
      context: false,
      audit: `the request was ${REPLACED}`,
    };
  }
  const sdk = require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
  const end = await endOf(sdk, p, snapshotOfDetail(run));
  if (!end) return undefined;
  const reason = endedReason(p, end, MRKDWN);
  const icon = end.kind !== "decided" ? "🚫" : end.status === "Succeeded" ? "✅" : "❌";
  return {
    ending: endedEnding(p, end, reason, nextStep(p, end)),
    line: endedLine(icon, reason),
    // The State field says an execution's end word for word; a decision's line adds its summary.
    context: end.kind === "decided",
    audit: endedReason(p, end, AUDIT),
  };
}

/**
 * Rewrites the request `p` if its run ended without a Slack decision (see the module comment):
 * reads the run (ListActionExecutions), leaves an expired run to the scan's expiry and a request
 * a click holds to the click, claims the end step, rewrites the message, settles the claim,
 * audits and removes the item. A failure a later attempt may fix gives the claim back.
 * Throws DynamoDB's and CodePipeline's errors.
 */
export async function endRequest(
  inv: Invocation,
  p: StoredPending,
  log: Logger,
  now: Date = new Date(),
): Promise<EndResult> {
  const runs = await listActionRuns(approvalPipelineRef(p), p.executionId);
  const run = findRun(p, runs);
  if (!run || run.status === "InProgress") return "pending";
  const replaced = runs.some((r) => isNewer(r, run));
  if (!replaced && runStatus(run).kind === "expired") return "expired";
  if (clickHoldsRequest(await decisionOfRun(p), now.getTime())) {
    await deletePending(p, inv.deadline);
    log.info("ended request: left to the click that holds it", { request: p.sk });
    return "clicked";
  }
  const claim = await claimStep(p, "expiredAt", now, inv.deadline);
  if (!claim) return "taken";
  if (replaced && (await isThreadParent(inv, p))) {
    await finish(inv, p, claim, `left to its thread: ${THREADED}`, log);
    return "threaded";
  }
  const said = await endingOf(p, run, runs).catch(() => undefined);
  if (!said) {
    await releaseQuietly(inv, p, claim, log);
    return "later";
  }
  const shown = await showEnded(
    inv,
    p,
    endedRequestMessage(p, said.ending, said.line, said.context),
    log,
  );
  if (shown === undefined) {
    await releaseQuietly(inv, p, claim, log);
    return "later";
  }
  await finish(inv, p, claim, `${shown}: ${said.audit}`, log);
  return "ended";
}

/**
 * What becomes of a replaced request that is its execution's thread parent on its channel (bot
 * mode, channels/slack-thread.ts): the newer request is posted in its thread and the parent is
 * updated to show it, without buttons. A rewrite here would race that update.
 */
const THREADED =
  "the newer request is posted in the thread of this one, which is updated to show it (no buttons)";

/** Whether the request of `p` is the parent of its execution's thread on its channel. */
async function isThreadParent(inv: Invocation, p: StoredPending): Promise<boolean> {
  if (!p.messageTs) return false;
  const ref = {
    channel: p.channel,
    pipeline: pipelineKey(approvalPipelineRef(p)),
    executionId: p.executionId,
  };
  const thread = await threadStore(inv.config.auditRetentionDays).read(ref);
  return thread?.ts === p.messageTs;
}

/** Settles the claim, audits `approval-ended` with `result`, and removes the item. */
async function finish(
  inv: Invocation,
  p: StoredPending,
  claim: StepClaim,
  result: string,
  log: Logger,
): Promise<void> {
  await settleQuietly(inv, p, claim, log);
  const record = {
    ...auditBase(p),
    action: "approval-ended" as const,
    result,
    detail: runDetail(p),
  };
  await auditQuietly(inv, record, log);
  await deletePending(p, inv.deadline);
}

/**
 * Rewrites the request with `message` (chat.update, retried while Slack says a retry can help,
 * within the invocation's deadline). Resolves with what was done: "request message updated", or
 * "request message not updated" after auditing why (a webhook channel; Slack refused for good,
 * e.g. `message_not_found`); undefined when Slack kept failing in a way a later try may fix.
 */
async function showEnded(
  inv: Invocation,
  p: StoredPending,
  message: ReturnType<typeof endedRequestMessage>,
  log: Logger,
): Promise<string | undefined> {
  const target = await targetOf(inv, p, log);
  let why: string;
  if (!target) why = `channel ${p.channel} is no longer a slack channel`;
  else if (!canUpdate(target, p)) {
    why =
      "posted through an incoming webhook, which can only post new messages: its buttons stay " +
      "(a click on it is told how it ended)";
  } else {
    try {
      await withRetries(() => updateRequest(target, p, message), { deadline: inv.deadline });
      return "request message updated";
    } catch (err: unknown) {
      if (isDeliveryError(err) && err.retryable) {
        log.warn("ended request: Slack refused for now", { request: p.sk, error: describe(err) });
        return undefined;
      }
      why = describe(err);
    }
  }
  const detail = { ...runDetail(p), ts: p.messageTs, slackChannel: p.slackChannelId };
  const record = { ...auditBase(p), action: "message-not-updated" as const, result: why, detail };
  await auditQuietly(inv, record, log);
  return "request message not updated";
}
