/**
 * The send step of a digest flush (fanout/digest-flush.ts), once its slot is claimed: paced like
 * any send, sent through the channel's driver (digest-send.ts: shortened once after a size
 * refusal), marked `sent` with its list, or given back (`failed`) and re-queued after a rate
 * limit, or marked failed and thrown for flush-retry.ts.
 */
import { sns } from "../aws";
import { snsPublisher } from "../channels/sns-publisher";
import { CHANNEL_DRIVERS } from "../channels/registry";
import type { ChannelContext, Logger } from "../channels/types";
import {
  digestFlushBody,
  MAX_RECEIPT_CHARS,
  type DigestFlush,
  type DigestSentMark,
} from "../contracts/digest-flush";
import { isDeliveryError, redact, scaledMs, timeScale } from "../http";
import type { DeliveryRef } from "../store/ledger";
import { markFailed, markSent } from "../store/marks";
import type { Digest } from "../types";
import { isRateLimited } from "./deliver";
import { digestDetail } from "./digest-build";
import { sendDigestOrShort, type DigestSent } from "./digest-send";
import { describe, markDeadline, type Invocation } from "./invocation";
import { emitDigestOutcome } from "./metrics";
import { paceDelivery } from "./pace";
import { requeue } from "./requeue";

/** Puts `f` back on the queue after `delayMs` (this clock). SQS errors are thrown. */
export async function requeueFlush(f: DigestFlush, delayMs: number): Promise<void> {
  await requeue({ body: digestFlushBody(f), delaySeconds: (delayMs * timeScale()) / 1000 });
}

/** Paces, builds and sends the claimed digest of `f`, and records it. Store errors are thrown. */
export async function sendClaimed(
  inv: Invocation,
  f: DigestFlush,
  ref: DeliveryRef,
  found: { unconfirmed: boolean; digest: Digest; calls: number },
  log: Logger,
): Promise<boolean> {
  const { digest, calls } = found;
  const channelConfig = inv.config.channels[f.channel];
  const pace = await paceDelivery(f.channel, channelConfig.type, inv.deadline);
  if (pace.kind === "defer") return release(inv, f, ref, pace.reason, pace.delayMs, log);
  if (pace.kind === "send" && pace.waitMs > 0) await new Promise((r) => setTimeout(r, pace.waitMs));
  const secrets = await inv.secrets();
  const driver = CHANNEL_DRIVERS[channelConfig.type];
  const ctx: ChannelContext = {
    name: f.channel,
    config: channelConfig,
    secret: secrets[f.channel] ?? {},
    deadline: inv.deadline,
    sns: snsPublisher(sns()),
    topicArn: inv.topics[f.channel],
    log,
  };
  let sent: DigestSent;
  // An attempt unanswered after its request went out: the digest may repeat it (deliver.ts).
  const seen = { arrived: false };
  try {
    sent = await sendDigestOrShort(driver, digest, ctx, seen, log);
  } catch (err: unknown) {
    const reason = redact(describe(err), Object.values(secrets[f.channel] ?? {}));
    const mayHaveArrived = seen.arrived || (isDeliveryError(err) && err.mayHaveArrived === true);
    if (isRateLimited(err)) {
      const delayMs = scaledMs(Math.max(err.retryAfterMs ?? 0, 1000));
      return release(inv, f, ref, reason, delayMs, log, mayHaveArrived);
    }
    const permanent = isDeliveryError(err) ? !err.retryable : false;
    emitDigestOutcome(f.channel, { status: "failed" }, { notificationId: ref.notificationId });
    await markFailed(ref, reason, permanent, markDeadline(inv), { mayHaveArrived });
    log.error("digest delivery failed", { channel: f.channel, permanent, error: reason });
    // A retryable failure is retried like any failed flush (flush-retry.ts), never by SQS's
    // redrive; a permanent one is dead-lettered with its reason at once, as a single
    // notification's would be (record.ts): no retry can fix it. The slot is released either way.
    throw Object.assign(new Error(reason), {
      name: "DigestDeliveryFailed",
      released: true,
      permanent,
    });
  }
  const { receipt, shortened } = sent;
  const ambiguous = found.unconfirmed || seen.arrived;
  emitDigestOutcome(
    f.channel,
    { status: "sent", ambiguous },
    { notificationId: ref.notificationId },
  );
  const detail = digestDetail(digest, shortened);
  const mark = { action: "sent" as const, receiptId: receipt.id, ambiguous, detail };
  await markSent(ref, mark, markDeadline(inv)).catch((err: unknown) => {
    // Sent, but the record still says `sending`, with no flush left to say otherwise (issue 12):
    // the flush's copy (flush-retry.ts) finishes the mark with this receipt, never sends again.
    log.error("bookkeeping after digest failed", { error: describe(err) });
    const receiptId = (receipt.id ?? "-").slice(0, MAX_RECEIPT_CHARS);
    const sent: DigestSentMark = { claimId: ref.claimId as string, receiptId, ambiguous };
    // The store's own error (its service says where, flush-retry.ts), told it was sent.
    const error = err instanceof Error ? err : new Error(describe(err));
    throw Object.assign(error, { released: true, sent: { ...sent, shortened } });
  });
  log.info("digest sent", {
    channel: f.channel,
    count: digest.count,
    shortened,
    queryCalls: calls,
  });
  return true;
}

/**
 * Gives the digest's slot back (saying so when an attempt may have arrived) and re-queues its
 * flush after `delayMs` (a rate limit).
 */
async function release(
  inv: Invocation,
  f: DigestFlush,
  ref: DeliveryRef,
  reason: string,
  delayMs: number,
  log: Logger,
  mayHaveArrived = false,
): Promise<boolean> {
  await markFailed(ref, `deferred: ${reason}`, false, markDeadline(inv), { mayHaveArrived });
  try {
    await requeueFlush(f, delayMs);
  } catch (err: unknown) {
    log.error("digest flush requeue failed: retried instead", { error: describe(err) });
    return false;
  }
  log.warn("digest deferred", { channel: f.channel, delayMs, reason });
  return true;
}
