/**
 * What a storm looks like per channel (issue 11), for the page and `GET /api/traffic`: the
 * messages a person sees (digests among them), the requests the fan-out made, how many the
 * receiver answered 429 (`Retry-After`) and the most in any one second of AWS time, the deferrals
 * (delayed copies the fan-out sent to the events queue instead of failing: handlers/fanout/
 * deferral.ts), the PagerDuty incidents opened (testing/receivers `pagerdutyCounts`) and the DLQ.
 */
import { DEFERRAL_ATTRIBUTES } from "../handlers/fanout/deferral";
import { pagerdutyCounts, smsRateStats, type PagerDutyCounts } from "../testing";
import type { World } from "./wiring";

/** One channel instance's traffic. */
export interface ChannelTraffic {
  channel: string;
  type: string;
  /** Messages the receiver accepted (what a person sees), digests included. */
  messages: number;
  /** Of those, digests ("37 pipelines failed in the last 2 minutes", SMS "N more … - see …"). */
  digests: number;
  /** Requests that reached the receiver (accepted, refused, faulted). */
  attempts: number;
  /** Requests answered 429 (SNS: `Throttling`). */
  http429: number;
  /** The most requests in any one second of AWS time (sandbox time × the time scale). */
  maxPerSecond: number;
  /** Times an event was requeued with a delay for this channel instead of failing. */
  deferrals: number;
}

/** Everything {@link trafficView} reports. */
export interface TrafficView {
  channels: ChannelTraffic[];
  /** PagerDuty incidents: opened, open, resolved, alerts (triggers), added to an open one. */
  pagerduty: PagerDutyCounts;
  /** Queue messages in the redrive DLQ plus the fan-out's own DLQ sends. */
  dlq: number;
  /** AWS time / sandbox time. */
  timeScale: number;
}

/** Whether a payload is a digest (digest.ts `digestTitle`, sms.ts `renderDigest`). */
export function isDigest(payload: unknown): boolean {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload ?? "");
  return /\b\d+ (?:more )?(?:pipelines?|failures?|notifications?)\b[^"]*? in (?:the last )?\d/.test(
    text,
  );
}

/** The channels named in a deferred copy's `deferredFor` ("slack-eng: HTTP 429; sms-oncall: …"). */
export function deferredChannels(deferredFor: string | undefined): string[] {
  if (!deferredFor) return [];
  return deferredFor
    .split("; ")
    .map((part) => part.split(":")[0].trim())
    .filter(Boolean);
}

/** The most values in one AWS second among instants `atMs` (epoch ms, real time). */
function maxPerAwsSecond(atMs: number[], originMs: number, scale: number): number {
  const perSecond: Record<number, number> = {};
  for (const at of atMs) {
    const second = Math.floor(((at - originMs) * scale) / 1000);
    perSecond[second] = (perSecond[second] ?? 0) + 1;
  }
  return Math.max(0, ...Object.values(perSecond));
}

/**
 * Per channel instance of the stack: messages, digests, attempts, 429s, rate, deferrals; `dlq`
 * is views.ts `dlqCount`.
 */
export function trafficView(world: World, dlq: number): TrafficView {
  const { receivers, aws } = world.standins;
  const scale = world.times.scale;
  const origin = world.startedAtMs;
  const eventsQueueUrl = world.declared.archives.fanout.environment.EVENTS_QUEUE_URL;
  const deferrals: Record<string, number> = {};
  for (const m of aws.state.sqs.sent) {
    if (eventsQueueUrl && m.queueUrl !== eventsQueueUrl) continue;
    for (const c of deferredChannels(m.attributes[DEFERRAL_ATTRIBUTES.deferredFor]))
      deferrals[c] = (deferrals[c] ?? 0) + 1;
  }
  const sms = smsRateStats(aws.state);
  const channels = Object.entries(world.runtime.channels).map(([channel, c]): ChannelTraffic => {
    const base = { channel, type: c.type, deferrals: deferrals[channel] ?? 0 };
    if (c.type === "sms" || c.type === "email") {
      const published = aws.state.sns.published.filter(
        (p) => world.channels.ofTopic(p.topicArn) === channel,
      );
      // SNS limits SMS per account: the account's figures, on each SMS channel.
      const limited = c.type === "sms" ? sms : [];
      return {
        ...base,
        messages: published.length,
        digests: published.filter((p) => isDigest(p.message)).length,
        attempts: limited.reduce((n, s) => n + s.attempts, 0) || published.length,
        http429: limited.reduce((n, s) => n + s.http429, 0),
        maxPerSecond:
          Math.max(0, ...limited.map((s) => s.maxPerSecond)) ||
          maxPerAwsSecond(
            published.map((p) => p.at.getTime()),
            origin,
            scale,
          ),
      };
    }
    const attempts = receivers.attempts.filter(
      (a) => a.receiver !== "slack-response" && world.channels.ofDelivery(a) === channel,
    );
    const accepted = attempts.filter((a) => a.outcome === "delivered");
    return {
      ...base,
      messages: accepted.length,
      digests: accepted.filter((a) => isDigest(a.body)).length,
      attempts: attempts.length,
      http429: attempts.filter((a) => a.status === 429).length,
      maxPerSecond: maxPerAwsSecond(
        attempts.map((a) => a.at.getTime()),
        origin,
        scale,
      ),
    };
  });
  return {
    channels,
    pagerduty: pagerdutyCounts(receivers.incidents),
    dlq,
    timeScale: scale,
  };
}
