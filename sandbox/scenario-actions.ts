/**
 * What a scenario step does besides sending events: people acting on what they received (a click
 * on the Approve or Reject button of an approval request posted in an earlier step, signed as
 * Slack signs it and sent to the approval function's URL, as the page does), and CodePipeline
 * acting on its own (a stage retried, time passing so that an approval expires), through the
 * CodePipeline stand-in, which emits the events of what it did.
 *
 * A run remembers, per step `id`, the Slack messages with Approve / Reject buttons the step
 * posted and the approval tokens CodePipeline issued during it, so that a later step can click
 * "the request of step `request`" and check that CodePipeline was called with "the token of the
 * run requested in step `retry-request`".
 */
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from "../handlers/contracts/slack-approval";

/**
 * A click on a button of the approval request posted in the step whose `id` is `on` (its last
 * message with Approve / Reject buttons), as the Slack user `as` (default: the first approver of
 * the stack, `U012ABCDEF` in the built-in stacks).
 */
export interface ClickAction {
  click: "approve" | "reject";
  on: string;
  as?: string;
}

/**
 * `RetryStageExecution` on the CodePipeline stand-in (API reference: the same execution id, a
 * higher `pipeline-execution-attempt`, the failed actions (or all) run again, an approval with a
 * new token); it emits the events of the retry itself. `executionId` may be `$exec:<name>`.
 */
export interface RetryStageAction {
  retryStage: {
    pipeline: string;
    executionId: string;
    stage: string;
    /** Default `FAILED_ACTIONS`. */
    retryMode?: "FAILED_ACTIONS" | "ALL_ACTIONS";
  };
}

/**
 * Time passes for CodePipeline: every pending approval whose timeout (7 days by default) ends
 * within `days` fails as CodePipeline fails it, and the stand-in emits those events.
 */
export interface AdvanceClockAction {
  advanceClock: { days: number };
}

/**
 * Someone decides the pending approval run of `executionId` in the CodePipeline console (or the
 * CLI): `PutApprovalResult` with that run's token, as their own IAM identity `by` (an ARN, e.g.
 * `arn:aws:sts::<account>:assumed-role/<role>/<session>`), which CodePipeline records as the
 * run's `lastUpdatedBy` / `updatedBy`. Not a Slack click: the request keeps its buttons. The
 * stand-in emits the decision's events. `executionId` may be `$exec:<name>`.
 */
export interface DecideInConsoleAction {
  decideInConsole: {
    pipeline: string;
    executionId: string;
    stage: string;
    action: string;
    status: "Approved" | "Rejected";
    /** The reviewer's comment (PutApprovalResult `result.summary`, at most 512 characters). */
    summary: string;
    by: string;
  };
}

/** One thing a step does before its events are sent. */
export type ScenarioAction =
  ClickAction | RetryStageAction | AdvanceClockAction | DecideInConsoleAction;

/** Whether an action is a click. */
export function isClick(action: ScenarioAction): action is ClickAction {
  return "click" in action;
}

/** What an action does, in a few words (problem lines). */
export function describeAction(action: ScenarioAction): string {
  if (isClick(action)) return `${action.click} on "${action.on}"`;
  if ("retryStage" in action)
    return `retry of ${action.retryStage.pipeline}/${action.retryStage.stage}`;
  if ("decideInConsole" in action) {
    const d = action.decideInConsole;
    return `${d.status} in the console by ${d.by} (${d.pipeline}/${d.stage}/${d.action})`;
  }
  return `${action.advanceClock.days} days later`;
}

/**
 * Why a `do` entry is not a valid action (`ids`: the ids of the earlier steps), or undefined.
 */
export function actionProblem(action: unknown, ids: Set<string>): string | undefined {
  const a = (action ?? {}) as Record<string, unknown>;
  if ("click" in a) {
    return (a.click === "approve" || a.click === "reject") && ids.has(String(a.on))
      ? undefined
      : '{"click": "approve" | "reject", "on": <the id of an earlier step>}';
  }
  if ("retryStage" in a) {
    const r = (a.retryStage ?? {}) as Record<string, unknown>;
    const ok =
      ["pipeline", "executionId", "stage"].every((k) => typeof r[k] === "string") &&
      (r.retryMode === undefined ||
        r.retryMode === "FAILED_ACTIONS" ||
        r.retryMode === "ALL_ACTIONS");
    return ok ? undefined : '{"retryStage": {"pipeline", "executionId", "stage", "retryMode"?}}';
  }
  if ("advanceClock" in a) {
    const days = (a.advanceClock as { days?: unknown } | undefined)?.days;
    return typeof days === "number" && days > 0
      ? undefined
      : '{"advanceClock": {"days": <number > 0>}}';
  }
  if ("decideInConsole" in a) {
    const d = (a.decideInConsole ?? {}) as Record<string, unknown>;
    const ok =
      ["pipeline", "executionId", "stage", "action", "summary", "by"].every(
        (k) => typeof d[k] === "string",
      ) &&
      (d.status === "Approved" || d.status === "Rejected") &&
      /^arn:aws[a-z-]*:(iam|sts)::\d{12}:/.test(String(d.by));
    return ok
      ? undefined
      : '{"decideInConsole": {"pipeline", "executionId", "stage", "action", "status": "Approved" | "Rejected", "summary", "by": <an IAM or STS ARN>}}';
  }
  return 'one of {"click": …}, {"retryStage": …}, {"advanceClock": …}, {"decideInConsole": …}';
}

/** A Slack message as the scenario sees it (sandbox/views.ts `slackMessages`). */
export interface ScenarioSlackMessage {
  id: string;
  channel: string;
  /** ISO 8601. */
  at: string;
  /** The message as it reads now (after `response_url` replacements). */
  payload: unknown;
  /** The message as it was posted. */
  original: unknown;
  /** Ephemeral replies, each for the user it is visible to. */
  ephemerals: Array<{ at: string; text: string; for?: string }>;
}

/** An approval token CodePipeline issued (one per run of an approval action). */
export interface IssuedToken {
  pipeline: string;
  stage: string;
  action: string;
  token: string;
}

/** What a scenario run remembers across its steps. */
export interface ScenarioRun {
  /** `$exec:<name>` → the run's random id. */
  ids: Record<string, string>;
  /** Step id → ids of the Slack messages with Approve / Reject buttons it posted. */
  requests: Record<string, string[]>;
  /** Step id → approval tokens issued during the step. */
  tokens: Record<string, IssuedToken[]>;
  /** Every token seen so far (to tell the new ones of a step). */
  seenTokens: Set<string>;
}

/** An empty run. */
export function newRun(): ScenarioRun {
  return { ids: {}, requests: {}, tokens: {}, seenTokens: new Set() };
}

/** The user a click is made as when the action names none. */
export const DEFAULT_CLICKER = "U012ABCDEF";

/** The `action_id` of the button a click action presses. */
export function actionIdOf(action: ClickAction): string {
  return action.click === "approve" ? APPROVE_ACTION_ID : REJECT_ACTION_ID;
}

/** Whether a Block Kit payload has an actions block with a button of `actionId`. */
export function hasButton(payload: unknown, actionId: string = APPROVE_ACTION_ID): boolean {
  const blocks = (payload as { blocks?: unknown[] } | undefined)?.blocks;
  return (
    Array.isArray(blocks) &&
    blocks.some((b) => {
      const block = b as { type?: string; elements?: Array<{ action_id?: string }> };
      return (
        block.type === "actions" && (block.elements ?? []).some((e) => e.action_id === actionId)
      );
    })
  );
}

/**
 * The text a person reads in a delivered payload: every string in it (Slack blocks, PagerDuty
 * summary and custom details, an SMS text), joined, with mrkdwn emphasis (`*`, `` ` ``) removed
 * and whitespace collapsed, lower-cased for matching.
 */
export function readableText(payload: unknown): string {
  const parts: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === "string") parts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) Object.values(value).forEach(walk);
  };
  walk(payload);
  return parts.join("\n").replace(/[*`]/g, "").replace(/\s+/g, " ").toLowerCase();
}

/** Whether `payload` reads `text` (case-insensitive, mrkdwn emphasis ignored). */
export function says(payload: unknown, text: string): boolean {
  return readableText(payload).includes(readableText(text));
}

/**
 * The message a click action presses: the last request with buttons posted in step `on`.
 * @throws when the run has no step `on` or it posted no approval request.
 */
export function requestMessageId(run: ScenarioRun, action: ClickAction): string {
  const posted = run.requests[action.on];
  if (!posted) throw new Error(`scenario: no earlier step with id "${action.on}"`);
  const id = posted.at(-1);
  if (!id) throw new Error(`scenario: step "${action.on}" posted no message with Approve / Reject`);
  return id;
}

/** Records what a step with `id` posted and which approval tokens were issued during it. */
export function rememberStep(
  run: ScenarioRun,
  id: string | undefined,
  posted: ScenarioSlackMessage[],
  tokens: IssuedToken[],
): void {
  const fresh = tokens.filter((t) => !run.seenTokens.has(t.token));
  for (const t of tokens) run.seenTokens.add(t.token);
  if (!id) return;
  run.requests[id] = posted.filter((m) => hasButton(m.original)).map((m) => m.id);
  run.tokens[id] = fresh;
}
