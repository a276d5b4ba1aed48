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
 *   "byPipeline": [{ "pipeline": "…", "account": "…", "region": "…", "count": 3,
 *                    "executions": 3, "kinds": { "failure": 3 }, "latestNotificationId": "…",
 *                    "latestExecutionId": "…", "latestTime": "…", "consoleUrl": "…" }],
 *   "sentAt": "2024-05-01T12:00:00.000Z"
 * }
 * ```
 *
 * `digest` is the whole `Digest` (handlers/types.ts), every entry, oldest first; `count` may
 * exceed `entries.length` when the grouping kept only some of them. `summary` is untrusted text.
 * `byPipeline` (added within version "1") is the same entries grouped by pipeline (account,
 * region, name), one item per pipeline in the order the other media list them (the latest
 * notification's kind, failures first, then the most recent first; handlers/channels/
 * digest-groups.ts): how many notifications (`count`) and distinct executions it groups, per
 * kind, and its latest notification, execution, time and console link.
 */
import type { ChannelConfigOf, Digest, Notification, NotificationKind } from "../types";
import { deliverHttp, requireSecret } from "./common";
import { digestTitle, sortedEntries } from "./digest";
import { digestGroups, kindCounts, type DigestGroup } from "./digest-groups";
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

/** One pipeline of a digest in the webhook body (`byPipeline`, see the module comment). */
export interface WebhookDigestPipeline {
  pipeline: string;
  account: string;
  region: string;
  /** Notifications of this pipeline in the digest. */
  count: number;
  /** Distinct execution ids among them. */
  executions: number;
  /** Notifications per kind. */
  kinds: Partial<Record<NotificationKind, number>>;
  latestNotificationId: string;
  latestExecutionId: string;
  /** ISO 8601 time of the latest notification. */
  latestTime: string;
  /** Console link of the latest execution. */
  consoleUrl: string;
}

/** The documented digest body (see the module comment). */
export interface WebhookDigestPayload {
  version: "1";
  type: "digest";
  /** The title sentence, e.g. "37 pipelines failed in the last 2 minutes". */
  title: string;
  /** Every entry, oldest first. */
  digest: Digest;
  /** The entries grouped by pipeline, most important first. */
  byPipeline: WebhookDigestPipeline[];
  sentAt: string;
}

function pipelineSummary(g: DigestGroup): WebhookDigestPipeline {
  const e = g.latest;
  return {
    pipeline: e.pipeline,
    account: e.account,
    region: e.region,
    count: g.entries.length,
    executions: g.executions.length,
    kinds: kindCounts(g),
    latestNotificationId: e.notificationId,
    latestExecutionId: e.executionId,
    latestTime: e.time,
    consoleUrl: e.consoleUrl,
  };
}

/** The digest body for `d`; `opts.now` fixes `sentAt` (default: now). */
export function formatWebhookDigest(
  d: Digest,
  _config?: WebhookConfig,
  opts: { now?: Date } = {},
): WebhookDigestPayload {
  const digest: Digest = { ...d, entries: sortedEntries(d) };
  const sentAt = (opts.now ?? new Date()).toISOString();
  const byPipeline = digestGroups(d).map(pipelineSummary);
  return { version: "1", type: "digest", title: digestTitle(d), digest, byPipeline, sentAt };
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
