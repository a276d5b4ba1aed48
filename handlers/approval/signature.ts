/**
 * Verification of Slack request signatures (api.slack.com, "Verifying requests from Slack").
 *
 * Slack signs `v0:{X-Slack-Request-Timestamp}:{raw body}` with the app's signing secret
 * (HMAC-SHA256, hex) and sends `X-Slack-Signature: v0=<hex>`. The raw bytes are verified, never a
 * re-serialized body, and the comparison runs in constant time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * How far the request timestamp may be from our clock, in seconds, in either direction. Slack's
 * Python SDK rejects both directions (Bolt JS only stale ones): a timestamp from the future would
 * otherwise stretch the replay window.
 */
export const SLACK_SIGNATURE_MAX_SKEW_SECONDS = 300;

/** Version prefix of the only signature scheme Slack uses today. */
const SIGNATURE_VERSION = "v0";

/** What `verifySlackSignature` needs: the header values as received, and the raw body. */
export interface SlackSignatureInput {
  signingSecret: string;
  /** `X-Slack-Request-Timestamp` (epoch seconds, as sent), undefined when the header is missing. */
  timestamp: string | undefined;
  /** `X-Slack-Signature` (`v0=<hex>`), undefined when the header is missing. */
  signature: string | undefined;
  /** The body exactly as received (after base64 decoding, if the transport encoded it). */
  rawBody: string | Buffer;
  /** Our clock; defaults to the current time. */
  now?: Date;
}

/**
 * Outcome of a verification. `reason` is for logs only (it never contains the secret or the
 * signature) and must not be returned to the caller.
 */
export type SlackSignatureResult = { ok: true } | { ok: false; reason: string };

/** Computes the `v0=<hex>` signature Slack would send for this timestamp and body. */
export function computeSlackSignature(
  signingSecret: string,
  timestamp: string,
  rawBody: string | Buffer,
): string {
  const hmac = createHmac("sha256", signingSecret);
  hmac.update(`${SIGNATURE_VERSION}:${timestamp}:`);
  hmac.update(rawBody);
  return `${SIGNATURE_VERSION}=${hmac.digest("hex")}`;
}

/**
 * Verifies a Slack request signature: both headers present, a numeric timestamp within
 * {@link SLACK_SIGNATURE_MAX_SKEW_SECONDS} of `now` in either direction, the `v0=` scheme, and an
 * HMAC that matches in constant time.
 */
export function verifySlackSignature(input: SlackSignatureInput): SlackSignatureResult {
  const { signingSecret, timestamp, signature, rawBody } = input;
  if (!signingSecret) return { ok: false, reason: "no signing secret configured" };
  if (timestamp === undefined || timestamp === "") {
    return { ok: false, reason: "missing x-slack-request-timestamp header" };
  }
  if (signature === undefined || signature === "") {
    return { ok: false, reason: "missing x-slack-signature header" };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: "x-slack-request-timestamp is not a number" };
  }
  const nowSeconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const skew = nowSeconds - Number(timestamp);
  if (Math.abs(skew) > SLACK_SIGNATURE_MAX_SKEW_SECONDS) {
    return {
      ok: false,
      reason: `timestamp ${skew > 0 ? "stale" : "in the future"} by ${Math.abs(skew)} s`,
    };
  }
  if (!signature.startsWith(`${SIGNATURE_VERSION}=`)) {
    return { ok: false, reason: "x-slack-signature has an unknown version prefix" };
  }
  const expected = Buffer.from(computeSlackSignature(signingSecret, timestamp, rawBody), "utf8");
  const received = Buffer.from(signature, "utf8");
  // timingSafeEqual throws on different lengths; the length of a valid signature is public.
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
    return { ok: false, reason: "signature mismatch" };
  }
  return { ok: true };
}
