/**
 * Generic JSON webhook (secret `url`, optional secret `bearerToken`).
 *
 * ## Payload (version "1")
 *
 * `POST <url>` with `Content-Type: application/json; charset=utf-8`,
 * `Authorization: Bearer <bearerToken>` when one is configured, and
 * `Idempotency-Key: "<notification.id>:<channel name>"` — a Structured Field String as the IETF
 * draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header,
 * section 2) specifies it, the same for every retry and redelivery of one notification to one
 * channel, so a receiver that honours it processes a repeat once and answers it with the first
 * answer (the body's `notification.id` carries the notification id too):
 *
 * ```json
 * {
 *   "version": "1",
 *   "notification": { "id": "…", "kind": "failure", "pipeline": "…", "executionId": "…", … },
 *   "sentAt": "2024-05-01T12:00:00.000Z"
 * }
 * ```
 *
 * `notification` is the whole `Notification` (handlers/types.ts), which holds nothing secret:
 * `kind` is one of failure, success, rejection, approval-request, approval-expired, superseded,
 * canceled, stopped, status; `attempt` (a retried stage's `pipeline-execution-attempt`),
 * `actionExecutionId`, `rollback` and `executionMode` say where the execution is in CodePipeline's
 * lifecycle; `summary`, `revision.message`, `revision.author` and `approval.customData` are
 * untrusted text from the pipeline and must be escaped by the receiver. Fields may be added
 * within version "1"; a breaking change bumps `version`. Any 2xx is success; 408, 429 (with
 * `Retry-After`) and 5xx are retried; other statuses are not.
 *
 * ## Digest payload (version "1", issue 11 grouping)
 *
 * When notifications for the channel are grouped, one POST carries them all, told apart from a
 * single notification by `type: "digest"` (a single notification's body has no `type`), with
 * `Idempotency-Key: "<digest.id>:<channel name>"`:
 *
 * ```json
 * {
 *   "version": "1",
 *   "type": "digest",
 *   "title": "37 pipelines failed in the last 2 minutes",
 *   "digest": { "id": "…", "channel": "…", "windowStart": "…", "windowEnd": "…", "count": 37,
 *               "pipelines": 37, "severity": "critical",
 *               "entries": [{ "notificationId": "…", "kind": "failure", "pipeline": "…",
 *                             "account": "…", "region": "…", "executionId": "…", "stage": "…",
 *                             "time": "…", "consoleUrl": "…", "summary": "…" }] },
 *   "sentAt": "2024-05-01T12:00:00.000Z"
 * }
 * ```
 *
 * `digest` is the whole `Digest` (handlers/types.ts), entries oldest first; `count` may exceed
 * `entries.length` when the grouping kept only some of them. `summary` is untrusted text.
 */
import type { ChannelConfigOf, Digest, Notification } from "../types";
import { deliverHttp, requireSecret } from "./common";
import { digestTitle, sortedEntries } from "./digest";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

/** Webhook channel settings (URL and token are secrets). */
export type WebhookConfig = ChannelConfigOf<"webhook">;

/** The documented webhook body (see the module comment). */
export interface WebhookPayload {
  version: "1";
  notification: Notification;
  sentAt: string;
}

/** The webhook body for `n`; `opts.now` fixes `sentAt` (default: now). */
export function formatWebhook(
  n: Notification,
  _config?: WebhookConfig,
  opts: { now?: Date } = {},
): WebhookPayload {
  return { version: "1", notification: n, sentAt: (opts.now ?? new Date()).toISOString() };
}

/**
 * The `Idempotency-Key` header value for `n` sent to channel instance `channel`: an sf-string
 * (quotes; `\` and `"` escaped, RFC 8941 section 3.3.3).
 */
export function webhookIdempotencyKey(n: Notification, channel: string): string {
  return sfString(`${n.id}:${channel}`);
}

/** Posts the payload. */
export async function sendWebhook(
  n: Notification,
  ctx: ChannelContext<WebhookConfig>,
): Promise<DeliveryReceipt> {
  return postWebhook(ctx, formatWebhook(n, ctx.config), webhookIdempotencyKey(n, ctx.name));
}

/**
 * POSTs `body` to the channel's URL with its `Idempotency-Key` (an sf-string), the bearer token
 * when the secret has one, and our user agent. HTTP errors are thrown as DeliveryErrors
 * (common.ts `deliverHttp`).
 */
async function postWebhook(
  ctx: ChannelContext<WebhookConfig>,
  body: unknown,
  idempotencyKey: string,
): Promise<DeliveryReceipt> {
  const url = requireSecret("webhook", ctx, "url");
  const token = ctx.secret.bearerToken;
  const headers: Record<string, string> = {
    "idempotency-key": idempotencyKey,
    "user-agent": "deploy-notifier",
    ...(token && { authorization: `Bearer ${token}` }),
  };
  const res = await deliverHttp("webhook", ctx, url, body, headers);
  return { channel: ctx.name, type: "webhook", status: res.status };
}

/** The documented digest body (see the module comment). */
export interface WebhookDigestPayload {
  version: "1";
  type: "digest";
  /** The title sentence, e.g. "37 pipelines failed in the last 2 minutes". */
  title: string;
  digest: Digest;
  sentAt: string;
}

/** The digest body for `d`; `opts.now` fixes `sentAt` (default: now). */
export function formatWebhookDigest(
  d: Digest,
  _config?: WebhookConfig,
  opts: { now?: Date } = {},
): WebhookDigestPayload {
  const digest: Digest = { ...d, entries: sortedEntries(d) };
  const sentAt = (opts.now ?? new Date()).toISOString();
  return { version: "1", type: "digest", title: digestTitle(d), digest, sentAt };
}

/** Posts the digest body, with the digest's own `Idempotency-Key`. */
export async function sendWebhookDigest(
  d: Digest,
  ctx: ChannelContext<WebhookConfig>,
): Promise<DeliveryReceipt> {
  return postWebhook(ctx, formatWebhookDigest(d, ctx.config), sfString(`${d.id}:${ctx.name}`));
}

/** An RFC 8941 sf-string: quotes, with `\` and `"` escaped (section 3.3.3). */
function sfString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The generic webhook channel driver. */
export const webhookDriver: ChannelDriver<WebhookConfig> = {
  type: "webhook",
  format: formatWebhook,
  send: sendWebhook,
  formatDigest: formatWebhookDigest,
  sendDigest: sendWebhookDigest,
};
