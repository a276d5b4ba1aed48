/**
 * The Slack request's time budget: Slack waits 3 s for the answer to a click or a modal
 * submission, then shows the user an error (REFERENCE.md, Slack: "acknowledge within 3 seconds").
 * The handler answers by {@link ACK_BUDGET_MS} after it received the request (the rest is for the
 * cold start and the network); the DynamoDB calls on the path end by {@link STORE_BUDGET_MS} and
 * retry throttling themselves with short backoff (one SDK attempt per call), so that an honest
 * ephemeral can still be posted when they did not get through. Real milliseconds: Slack's clock
 * is not scaled in the sandbox.
 */
import type { StoreBudget } from "../store/approvals";
import { CLICK_POST_TIMEOUT_MS, VIEWS_OPEN_TIMEOUT_MS } from "./slack-api";
import type { AckBudget, ApprovalRuntime } from "./types";

/** From receipt to the answer, ms (under Slack's 3 s). */
export const ACK_BUDGET_MS = 2500;
/** From receipt to the end of the DynamoDB calls on the path, ms (700 ms left to post). */
export const STORE_BUDGET_MS = 1800;
/** The shortest timeout a post on the click path gets, even when the budget is spent, ms. */
const MIN_POST_TIMEOUT_MS = 250;
/**
 * Of the store budget, what a Reject whose modal could not be opened keeps for claiming at once
 * instead (its claim and the work's invoke), ms.
 */
const FALLBACK_RESERVE_MS = 500;

/** How far back a function URL's receipt time is believed, ms (beyond: a clock is off). */
const MAX_RECEIPT_AGE_MS = 30_000;

/**
 * When the request reached the function URL, epoch ms: its `requestContext.timeEpoch`
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html, "Request payload format"),
 * so that a cold start before the handler ran counts against Slack's 3 s; `now` when it is
 * absent, in the future, or older than {@link MAX_RECEIPT_AGE_MS}.
 */
export function receivedAtOf(timeEpoch: unknown, now: number = Date.now()): number {
  if (typeof timeEpoch !== "number" || !Number.isFinite(timeEpoch)) return now;
  if (timeEpoch > now || now - timeEpoch > MAX_RECEIPT_AGE_MS) return now;
  return timeEpoch;
}

/** The budget of a request received at `receivedAt` (epoch ms). */
export function ackBudget(receivedAt: number): AckBudget {
  const storeBy = receivedAt + STORE_BUDGET_MS;
  return {
    answerBy: receivedAt + ACK_BUDGET_MS,
    storeBy,
    signal: AbortSignal.timeout(Math.max(0, storeBy - Date.now())),
  };
}

/** How the request's DynamoDB calls are bounded: by its budget; none in the work. */
export function storeBudgetOf(rt: ApprovalRuntime): StoreBudget {
  if (!rt.ack) return {};
  return { deadline: rt.ack.storeBy, signal: rt.ack.signal, once: true };
}

/** The timeout of a post on the request's path, ms: what is left of the budget, within bounds. */
export function clickPostTimeout(rt: ApprovalRuntime, now: number = Date.now()): number {
  if (!rt.ack) return CLICK_POST_TIMEOUT_MS;
  const left = rt.ack.answerBy - now;
  return Math.max(MIN_POST_TIMEOUT_MS, Math.min(CLICK_POST_TIMEOUT_MS, left));
}

/** The shortest timeout the work's invoke gets when the claim's outcome is unknown, ms. */
const MIN_INVOKE_TIMEOUT_MS = 200;

/**
 * The timeout of the work's invoke after a claim whose outcome the store budget left unknown
 * (start.ts), ms: what is left of the answer budget less one post's shortest timeout (the
 * clicker's ephemeral follows it), at least {@link MIN_INVOKE_TIMEOUT_MS}; undefined without a
 * budget.
 */
export function invokeTimeout(rt: ApprovalRuntime, now: number = Date.now()): number | undefined {
  if (!rt.ack) return undefined;
  return Math.max(MIN_INVOKE_TIMEOUT_MS, rt.ack.answerBy - MIN_POST_TIMEOUT_MS - now);
}

/**
 * The timeout of `views.open` on the click path, ms: {@link VIEWS_OPEN_TIMEOUT_MS}, but ending
 * {@link FALLBACK_RESERVE_MS} before the store budget, so that the fallback (reject at once) can
 * still claim in time.
 */
export function viewsOpenTimeout(rt: ApprovalRuntime, now: number = Date.now()): number {
  if (!rt.ack) return VIEWS_OPEN_TIMEOUT_MS;
  const left = rt.ack.storeBy - FALLBACK_RESERVE_MS - now;
  return Math.max(MIN_POST_TIMEOUT_MS, Math.min(VIEWS_OPEN_TIMEOUT_MS, left));
}

/**
 * Waits for `write` until the request's answer is due (at most `answerBy`, plus nothing);
 * true when it finished in time. The write itself goes on: it is never abandoned, only not waited
 * for past the budget. Without a budget it is simply awaited.
 */
export async function waitWithin(rt: ApprovalRuntime, write: Promise<void>): Promise<boolean> {
  if (!rt.ack) {
    await write;
    return true;
  }
  const { answerBy } = rt.ack;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, answerBy - Date.now()));
  });
  try {
    return await Promise.race([write.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
