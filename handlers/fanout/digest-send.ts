/**
 * Sending one digest (fanout/digest-flush.ts): the driver's `sendDigest`, or for a driver without
 * one the digest as one plain-text notification, retried within the invocation like any send
 * (retry.ts). A digest the receiver refuses for its size (http-response.ts `isSizeRefusal`: Slack
 * `msg_blocks_too_long`, `msg_too_long`, `invalid_blocks`, HTTP 413, Discord 50035) is sent once
 * more as a {@link shortDigest}: the counts and the first pipelines, which every medium's limits
 * take. Any other failure, and a refusal of the short one, is the caller's to record.
 */
import { digestTitle, entryWhere, sortedEntries } from "../channels/digest";
import { digestGroups, groupCount } from "../channels/digest-groups";
import type { ChannelContext, ChannelDriver, DeliveryReceipt, Logger } from "../channels/types";
import { isDeliveryError } from "../http";
import { isSizeRefusal } from "../http-response";
import { withRetries } from "../retry";
import type { Digest, Notification } from "../types";

/**
 * Pipelines a {@link shortDigest} lists (its title and "and N more pipelines" still count every
 * one).
 */
export const SHORT_DIGEST_PIPELINES = 5;

/**
 * `d` with only the entries of its first {@link SHORT_DIGEST_PIPELINES} pipelines (in the order
 * every medium shows them, digest-groups.ts) and its counts unchanged: the title says how many,
 * the list shows the first pipelines, each with its count, "and N more pipelines" the rest.
 */
export function shortDigest(d: Digest): Digest {
  const first = digestGroups(d).slice(0, SHORT_DIGEST_PIPELINES);
  return { ...d, entries: sortedEntries({ ...d, entries: first.flatMap((g) => g.entries) }) };
}

/** How a digest went out: its receipt, and whether it had to be shortened. */
export interface DigestSent {
  receipt: DeliveryReceipt;
  shortened: boolean;
}

/**
 * Sends `digest` on `ctx`'s channel until `deadline`; on a size refusal, sends its
 * {@link shortDigest} instead (the refused one never posted). `seen.arrived` is set when an
 * attempt may have reached the receiver unanswered. Throws the last attempt's error (a short
 * digest's error says so in its message).
 */
export async function sendDigestOrShort(
  driver: ChannelDriver,
  digest: Digest,
  ctx: ChannelContext,
  seen: { arrived: boolean },
  log: Logger,
): Promise<DigestSent> {
  const attempt = (d: Digest) =>
    withRetries(
      () =>
        driver.sendDigest ? driver.sendDigest(d, ctx) : driver.send(digestAsNotification(d), ctx),
      { deadline: ctx.deadline, onRetry: (e) => (seen.arrived ||= e.mayHaveArrived === true) },
    );
  try {
    return { receipt: await attempt(digest), shortened: false };
  } catch (err: unknown) {
    if (!isDeliveryError(err) || err.retryable || !isSizeRefusal(err.message)) throw err;
    log.warn("digest refused for its size: sent again shortened", {
      channel: ctx.name,
      count: digest.count,
      pipelines: SHORT_DIGEST_PIPELINES,
    });
    try {
      return { receipt: await attempt(shortDigest(digest)), shortened: true };
    } catch (short: unknown) {
      if (short instanceof Error) short.message = `shortened digest: ${short.message}`;
      throw short;
    }
  }
}

/**
 * The digest as one plain-text notification, for a driver without `sendDigest`: one line per
 * pipeline with its count and its latest execution's link.
 */
export function digestAsNotification(d: Digest): Notification {
  const first = sortedEntries(d)[0];
  const lines = digestGroups(d).map((g) => {
    const e = g.latest;
    const count = groupCount(g);
    return `${e.pipeline}${count ? ` ${count}` : ""}${entryWhere(e) ? ` (${entryWhere(e)})` : ""}: ${e.consoleUrl}`;
  });
  return {
    id: d.id,
    eventId: d.id,
    kind: "status",
    level: "pipeline",
    pipeline: first?.pipeline ?? d.channel,
    executionId: first?.executionId ?? d.id,
    state: "FAILED",
    summary: [digestTitle(d), ...lines].join("\n"),
    account: first?.account ?? "",
    region: first?.region ?? "",
    time: d.windowEnd,
    consoleUrl: first?.consoleUrl ?? "",
    tier: "",
    severity: d.severity,
  } as Notification;
}
