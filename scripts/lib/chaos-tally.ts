/**
 * Counts, per channel, what became of each event of a chaos run: delivered once, duplicated,
 * in a DLQ with or without a reason, or lost; and the lost replies, ambiguous where the receiver
 * has no idempotency. Deliveries are attributed to events by the execution id or the event's
 * token (both unique per event) found in what the receiver got.
 */
import {
  localRoutingKey,
  type AllStandins,
  type Attempt,
  type QueueMessage,
  type ReceiverKind,
} from "../../testing";

/** One event the run sent. */
export interface EventSent {
  /** Unique marker in the failed action's error summary (reaches every channel's text). */
  token: string;
  executionId: string;
  /** The events-queue message (its final state says whether SQS's redrive moved it). */
  message: QueueMessage;
}

/** One channel of the route. */
export interface RouteChannel {
  name: string;
  type: string;
}

/** The per-channel figures of the chaos report. */
export interface ChannelTally {
  once: number;
  duplicates: number;
  lost: number;
  dlqWithReason: number;
  dlqWithoutReason: number;
  /** Lost replies on a receiver with no idempotency (a duplicate is possible there). */
  ambiguousSends: number;
  /** Every lost reply on this channel's receiver (de-duplicated by the receiver or not). */
  lostReplies: number;
  /** Deliveries no event could be found for. */
  unattributed: number;
}

/** Receivers that recognize a repeat: PagerDuty (dedup_key), the webhook (Idempotency-Key). */
const IDEMPOTENT: ReadonlySet<string> = new Set(["pagerduty", "webhook"]);

const MARKERS =
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?:chaos|clean|warm)\d{4}/g;

/** Finds the event index a text belongs to, via the first known marker in it. */
function eventOf(text: string, index: Map<string, number>): number | undefined {
  for (const m of text.matchAll(MARKERS)) {
    const at = index.get(m[0]);
    if (at !== undefined) return at;
  }
  return undefined;
}

/** What one channel received: per-event accepted counts, lost replies, unattributed. */
interface Received {
  counts: number[];
  lostReplies: number[];
  unattributed: number;
}

function receivedOverHttp(
  all: AllStandins,
  channel: RouteChannel,
  index: Map<string, number>,
  events: number,
): Received {
  const got: Received = {
    counts: new Array<number>(events).fill(0),
    lostReplies: new Array<number>(events).fill(0),
    unattributed: 0,
  };
  const isPagerDuty = channel.type === "pagerduty";
  const attempts: Attempt[] = isPagerDuty
    ? all.receivers
        .attemptsOf("pagerduty", "enqueue")
        .filter(
          (a) =>
            (a.body as { routing_key?: string }).routing_key ===
            localRoutingKey(`local:${channel.name}`),
        )
    : all.receivers.attemptsOf(channel.type as ReceiverKind, channel.name);
  // PagerDuty: a repeated trigger joins the open incident; count incidents, not triggers.
  const dedupKeys = new Map<number, Set<string>>();
  for (const attempt of attempts) {
    if (attempt.outcome !== "delivered" && attempt.outcome !== "lost-reply") continue;
    const at = eventOf(JSON.stringify(attempt.body), index);
    if (at === undefined) {
      got.unattributed += 1;
      continue;
    }
    if (attempt.outcome === "lost-reply") got.lostReplies[at] += 1;
    if (isPagerDuty) {
      const key = String((attempt.body as { dedup_key?: string }).dedup_key);
      dedupKeys.set(at, (dedupKeys.get(at) ?? new Set()).add(key));
    } else {
      got.counts[at] += 1;
    }
  }
  for (const [at, keys] of dedupKeys) {
    got.counts[at] = all.receivers.incidents.filter((i) => keys.has(i.dedupKey)).length;
  }
  return got;
}

function receivedOverSns(
  all: AllStandins,
  topicArn: string | undefined,
  index: Map<string, number>,
  events: number,
): Received {
  const got: Received = {
    counts: new Array<number>(events).fill(0),
    lostReplies: new Array<number>(events).fill(0),
    unattributed: 0,
  };
  for (const p of all.aws.state.sns.published) {
    if (p.topicArn !== topicArn) continue;
    const at = eventOf(p.message, index);
    if (at === undefined) got.unattributed += 1;
    else got.counts[at] += 1;
  }
  return got;
}

/** Channels named in the reasons of the fan-out's own DLQ messages, per execution id. */
function deadLettered(all: AllStandins): Map<string, Set<string>> {
  const byExecution = new Map<string, Set<string>>();
  for (const m of all.aws.state.sqs.sent) {
    if (m.attributes.reason === undefined) continue;
    // No failedChannels: the event failed as a whole (e.g. its claim), `failedService` says where.
    const failed = m.attributes.failedChannels ?? "";
    let executionId: string;
    try {
      executionId = String((JSON.parse(m.body) as any).detail?.["execution-id"] ?? "");
    } catch {
      continue;
    }
    const set = byExecution.get(executionId) ?? new Set<string>();
    for (const c of failed.split(",")) if (c !== "" && c !== "-") set.add(c);
    byExecution.set(executionId, set);
  }
  return byExecution;
}

/**
 * Whether a DLQ message's failed channels cover `channel`: named, or none named at all (the
 * event failed before any channel, e.g. its outcome claim; the reason says why).
 */
function namedIn(failed: Set<string> | undefined, channel: string): boolean {
  return failed !== undefined && (failed.size === 0 || failed.has(channel));
}

/** Tallies every channel of the route over the events sent. */
export function tallyChannels(
  all: AllStandins,
  route: RouteChannel[],
  topics: Record<string, string>,
  sent: EventSent[],
): Record<string, ChannelTally> {
  const index = new Map<string, number>();
  sent.forEach((e, i) => {
    index.set(e.executionId, i);
    index.set(e.token, i);
  });
  const dlq = deadLettered(all);
  const result: Record<string, ChannelTally> = {};
  for (const channel of route) {
    const got =
      channel.type === "sms" || channel.type === "email"
        ? receivedOverSns(all, topics[channel.name], index, sent.length)
        : receivedOverHttp(all, channel, index, sent.length);
    const tally: ChannelTally = {
      once: 0,
      duplicates: 0,
      lost: 0,
      dlqWithReason: 0,
      dlqWithoutReason: 0,
      ambiguousSends: 0,
      lostReplies: 0,
      unattributed: got.unattributed,
    };
    sent.forEach((event, i) => {
      const n = got.counts[i];
      tally.lostReplies += got.lostReplies[i];
      if (!IDEMPOTENT.has(channel.type)) tally.ambiguousSends += got.lostReplies[i];
      if (n === 1) tally.once += 1;
      else if (n > 1) tally.duplicates += n - 1;
      else if (namedIn(dlq.get(event.executionId), channel.name)) tally.dlqWithReason += 1;
      else if (event.message.state === "dlq") tally.dlqWithoutReason += 1;
      else tally.lost += 1;
    });
    result[channel.name] = tally;
  }
  return result;
}

/**
 * The most frequent reasons of the fan-out's own DLQ messages (ids and numbers blanked so equal
 * reasons group), at most `limit`.
 */
export function dlqReasons(all: AllStandins, limit = 6): Array<{ reason: string; count: number }> {
  const counts = new Map<string, number>();
  for (const m of all.aws.state.sqs.sent) {
    const reason = m.attributes.reason;
    if (reason === undefined) continue;
    const normalized = reason
      .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "<id>")
      .replace(/\d+/g, "<n>")
      .slice(0, 300);
    counts.set(normalized, (counts.get(normalized) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([reason, count]) => ({ reason, count }));
}
