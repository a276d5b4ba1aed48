/**
 * PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
 * a `trigger` for failures, a `resolve` of the pipeline's open incident for a later success.
 * Nothing else ever reaches a pager: a rejection is a decision, not an incident.
 *
 * One open incident per pipeline (issue 11, store/incidents.ts): the first failure opens it with
 * its own key ({@link pagerdutyDedupKey}); every later failure of the pipeline while it is open is
 * a trigger with THE SAME `dedup_key` (ctx.dedupKey), which PagerDuty appends to the open
 * incident's alert log instead of paging again ("Subsequent alerts with a matching dedup_key
 * deduplicate into the same incident", support.pagerduty.com/docs/event-management). Each such
 * trigger carries its own execution, summary and links in `custom_details` and `links`.
 */
import { createHash } from "node:crypto";
import { pipelineKeyOf } from "../contracts/pipeline-id";
import { cut } from "../events/fields";
import { deliveryError } from "../http";
import type { ChannelConfigOf, Notification } from "../types";
import {
  deliverHttp,
  fitter,
  kindWord,
  oneLine,
  pipelineLabel,
  reportTruncation,
  requireSecret,
  whereOf,
} from "./common";
import { lifecycleFacts } from "./lifecycle";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

/**
 * PagerDuty channel settings (config/schema.ts). `endpoint` (non-secret) defaults to the US service; EU accounts use
 * https://events.eu.pagerduty.com/v2/enqueue. `source` overrides `payload.source` (default: the
 * pipeline name).
 */
export type PagerDutyConfig = ChannelConfigOf<"pagerduty">;

/** Default Events API v2 endpoint. */
export const PAGERDUTY_ENDPOINT = "https://events.pagerduty.com/v2/enqueue";

/** Field limits (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export const PAGERDUTY_LIMITS = {
  dedupKey: 255,
  summary: 1024,
} as const;

/** A trigger event, minus `routing_key` (a secret, added by `send`). */
export interface PagerDutyTrigger {
  event_action: "trigger";
  dedup_key: string;
  payload: {
    summary: string;
    source: string;
    severity: Notification["severity"];
    timestamp: string;
    component?: string;
    group: string;
    class?: string;
    custom_details: Record<string, string>;
  };
  links: { href: string; text: string }[];
  client: "deploy-notifier";
  client_url: string;
}

/**
 * A resolve event, minus `routing_key`. Events API v2 documents `routing_key`, `event_action` and
 * `dedup_key` for it; `payload`, `client` and `client_url` describe a trigger (PagerDuty's Events
 * API v2 OpenAPI, `client`: "only used for trigger events"), so a resolve caused by a rollback
 * cannot say so here: the audit record and the tier's other channels say it (fanout/deliver.ts).
 */
export interface PagerDutyResolve {
  event_action: "resolve";
  dedup_key: string;
}

/** Options of {@link formatPagerDuty}. */
export interface PagerDutyFormatOptions {
  /**
   * For a `success`: the dedup key of the open incident to resolve (the failing execution's
   * `pagerdutyDedupKey`, kept by the engine). Without it a success is refused.
   */
  resolveDedupKey?: string;
  /**
   * For a `failure`: the dedup key of the pipeline's open incident (store/incidents.ts
   * `claimIncident`), so the trigger is added to it. Absent: {@link pagerdutyDedupKey}.
   */
  dedupKey?: string;
}

/**
 * `deploy-notifier/<pipeline key>/<executionId>`: the key of the incident a failure opens when
 * none of its pipeline is open; later failures reuse the open incident's key (store/incidents.ts).
 * The pipeline key is `pipelineKeyOf(n)` (contracts/pipeline-id.ts: the bare name at home, else
 * the pipeline's ARN), so two same-named pipelines in two accounts never share an incident; with
 * no account/region given, the bare name. Over 255 characters, the end is replaced by a hash of
 * the whole key, so two long keys never collide.
 */
export function pagerdutyDedupKey(
  n: Pick<Notification, "pipeline" | "executionId"> &
    Partial<Pick<Notification, "account" | "region">>,
): string {
  const pipeline =
    n.account !== undefined && n.region !== undefined
      ? pipelineKeyOf({ account: n.account, region: n.region, pipeline: n.pipeline })
      : n.pipeline;
  const key = `deploy-notifier/${pipeline}/${n.executionId}`;
  if (key.length <= PAGERDUTY_LIMITS.dedupKey) return key;
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 16);
  // Cut without leaving half a surrogate pair (an emoji in the execution id): not text (issue 12).
  return `${cut(key, PAGERDUTY_LIMITS.dedupKey - hash.length - 1)}#${hash}`;
}

function render(
  n: Notification,
  config: PagerDutyConfig,
  opts: PagerDutyFormatOptions,
): { event: PagerDutyTrigger | PagerDutyResolve; truncated: string[] } {
  if (n.kind === "success") {
    if (!opts.resolveDedupKey) {
      throw new Error(
        `pagerduty: a success only resolves an open incident, and no dedup key was given`,
      );
    }
    return { event: { event_action: "resolve", dedup_key: opts.resolveDedupKey }, truncated: [] };
  }
  if (n.kind !== "failure") {
    throw new Error(`pagerduty: never triggers for a ${n.kind} (only failures page)`);
  }
  const f = fitter();
  const where = whereOf(n);
  // Most important words first: a phone shows the start of the summary.
  const summary = f.fit(
    "summary",
    oneLine(
      `${kindWord(n)} ${pipelineLabel(n)}${where ? ` ${where}` : ""}${n.summary ? `: ${n.summary}` : ""}`,
    ),
    PAGERDUTY_LIMITS.summary,
  );
  const details: Record<string, string> = {
    executionId: n.executionId,
    account: n.account,
    region: n.region,
    tier: n.tier,
  };
  if (n.action) details.action = n.action;
  if (n.errorCode) details.errorCode = n.errorCode;
  if (n.revision?.id) details.revision = n.revision.id;
  // Added to an open incident, this trigger's alert-log entry must say which failure it is.
  if (n.summary) details.summary = n.summary;
  details.executionUrl = n.consoleUrl;
  // A retried stage that fails again re-triggers the same incident (same dedup_key): the
  // attempt tells the on-call person this is the retry failing, not a duplicate.
  for (const fact of lifecycleFacts(n)) details[fact.title] = fact.value;
  const links = [{ href: n.consoleUrl, text: "View execution" }];
  if (n.externalUrl) links.push({ href: n.externalUrl, text: "View logs" });
  const event: PagerDutyTrigger = {
    event_action: "trigger",
    dedup_key: opts.dedupKey ?? pagerdutyDedupKey(n),
    payload: {
      summary,
      source: config.source ?? n.pipeline,
      severity: n.severity,
      timestamp: n.time,
      ...(n.stage && { component: n.stage }),
      group: n.pipeline,
      ...(n.errorCode && { class: n.errorCode }),
      custom_details: details,
    },
    links,
    client: "deploy-notifier",
    client_url: n.consoleUrl,
  };
  return { event, truncated: f.truncated };
}

/**
 * The Events API v2 event for `n` without `routing_key` (pure). Failures trigger (with
 * `opts.dedupKey`, the open incident's key, when given); a success resolves
 * `opts.resolveDedupKey`; every other kind throws, since it must never page.
 */
export function formatPagerDuty(
  n: Notification,
  config: PagerDutyConfig,
  opts: PagerDutyFormatOptions = {},
): PagerDutyTrigger | PagerDutyResolve {
  return render(n, config, opts).event;
}

/** Sends the event; the receipt's `id` is the dedup key. 202 success, 400 permanent. */
export async function sendPagerDuty(
  n: Notification,
  ctx: ChannelContext<PagerDutyConfig>,
): Promise<DeliveryReceipt> {
  const routingKey = requireSecret("pagerduty", ctx, "routingKey");
  let rendered: ReturnType<typeof render>;
  try {
    rendered = render(n, ctx.config, {
      resolveDedupKey: ctx.resolveDedupKey,
      dedupKey: ctx.dedupKey,
    });
  } catch (e: unknown) {
    const reason = e instanceof Error ? e.message : String(e);
    throw deliveryError(ctx.name, `pagerduty ${ctx.name}: ${reason}`, { retryable: false });
  }
  const wasCut = reportTruncation(ctx, "pagerduty", n, rendered.truncated);
  const res = await deliverHttp("pagerduty", ctx, ctx.config.endpoint ?? PAGERDUTY_ENDPOINT, {
    routing_key: routingKey,
    ...rendered.event,
  });
  return {
    channel: ctx.name,
    type: "pagerduty",
    status: res.status,
    id: rendered.event.dedup_key,
    ...(wasCut && { truncated: true }),
  };
}

/** The PagerDuty channel driver. */
export const pagerdutyDriver: ChannelDriver<PagerDutyConfig> = {
  type: "pagerduty",
  format: formatPagerDuty,
  send: sendPagerDuty,
};
