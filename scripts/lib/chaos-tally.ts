/**
 * Counts, per channel, what became of each event of a chaos run: delivered once, duplicated,
 * in a DLQ with or without a reason, or lost; and the lost replies, ambiguous where the receiver
 * has no idempotency. Deliveries are attributed to events by the execution id or the event's
 * token (both unique per event) found in what the receiver got.
 *
 * Digests (issue 11 grouping: by default 3 messages per 60 s per chat/webhook channel, 1 text
 * per 120 s per SMS channel, then one digest at the window's end) are not one event's delivery:
 * a Slack or webhook digest names many events, an SMS digest none ("37 more pipelines failed in
 * 2 min - see slack-eng"). A digest received is therefore never counted as an event's message;
 * an event counts as delivered in a digest when its ledger slot is `grouped` into a digest whose
 * own ledger slot is `sent` (store/digest.ts, fanout/digest-flush.ts), and the digests the
 * receiver got are counted apart (`digests`) against the digests the ledger says were sent.
 *
 * SNS (SMS, email) has no idempotency for a standard topic's Publish, and its stand-in cannot see
 * a reply that never reached the fan-out. What the fan-out learned is in the ledger: a delivered
 * slot keeps the accepted publish's `MessageId` as `receiptId`. So a publish the stand-in accepted
 * whose MessageId no ledger record holds is one whose answer the fan-out never got (the SDK's
 * request timeout, then its retry or the fan-out's): an ambiguous send, the window where SNS can
 * repeat a text. And a text that names no event (enrichment timed out, so no error summary) is
 * still attributed, through its MessageId, to the event whose slot recorded it.
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
  /**
   * Lost replies on a receiver with no idempotency (a duplicate is possible there), sends the
   * ledger recorded `ambiguous` after a digest listed the notification, and listings in a sent
   * digest of an entry moved there from a digest whose record could not say whether it had it
   * (`mayBeInDigest` on a grouped slot: fanout/grouped-copy.ts).
   */
  ambiguousSends: number;
  /** Every lost reply on this channel's receiver (de-duplicated by the receiver or not). */
  lostReplies: number;
  /** Deliveries no event could be found for (digests excluded: they are counted apart). */
  unattributed: number;
}

/** The digests of one channel (the `digests` fragment of the chaos report). */
export interface DigestTally {
  /** Of the channel's `once`: events delivered as an entry of a digest (none sent on their own). */
  inDigest: number;
  /** Digest messages the receiver accepted. */
  received: number;
  /** Digests the ledger says were sent (their own slot `sent`). */
  sent: number;
  /**
   * Of `sent`: digests recorded `ambiguous` (an earlier attempt got no answer after its request
   * was sent, or its slot was taken over unconfirmed: fanout/digest-flush.ts), each of which the
   * receiver may have got twice. `received` ≤ `sent` + `ambiguous` unless a digest went twice
   * unrecorded.
   */
  ambiguous: number;
  /**
   * Of the channel's `lost`: events whose grouped slot's digest the ledger says was dropped, never
   * sent, because its channel was no longer in the stack config when it was flushed
   * (fanout/digest-flush.ts; the digest's record lists them): a decision recorded, not a loss
   * nobody can explain.
   */
  dropped: number;
}

/** What {@link tallyRun} counts: per channel, the events' fate and the digests. */
export interface RunTally {
  channels: Record<string, ChannelTally>;
  digests: Record<string, DigestTally>;
  /** Per channel, the execution ids of the events counted `lost` (to look them up in the logs). */
  lostExecutions: Record<string, string[]>;
  /** Per channel, the first few unattributed deliveries (their body or text, cut at 400). */
  unattributedSamples: Record<string, string[]>;
}

/** What the ledger says about grouping: per channel, event (execution id) → digest id. */
export interface GroupingLedger {
  /** channel → execution id → the digest id its slot was grouped into. */
  grouped: Map<string, Map<string, string>>;
  /** Digest ids whose own ledger slot is `sent`. */
  sentDigests: Set<string>;
  /** Of `sentDigests`: those recorded `ambiguous` (a possible second send). */
  ambiguousDigests?: Set<string>;
  /**
   * Digests dropped, never sent (their record `abandoned` with `detail.dropped`: a flush for a
   * channel no longer in the stack config, store/digest-drop.ts) → the notification ids listed.
   */
  droppedDigests?: Map<string, Set<string>>;
  /**
   * Receipt ids (`receiptId`: an SNS MessageId, …) of sent delivery records → their execution id;
   * undefined when the ledger was not read.
   */
  receipts?: Map<string, string>;
  /**
   * Per sent digest, the notification ids it listed (its record's `detail.notifications`), when
   * that list is complete (`detail.count` ids at most): a notification marked `grouped` after the
   * flush read its window is in no digest, though its slot says grouped.
   */
  digestMembers?: Map<string, Set<string>>;
  /** channel → execution id → the grouped slot's notification id. */
  groupedIds?: Map<string, Map<string, string>>;
  /**
   * channel → notification id → how many sent digests of that channel listed it (complete lists
   * only). A grouped slot released after its window's flush read it (fanout/grouping.ts: its mark
   * completed past the cutoff and could not be moved) is in that digest though its slot no longer
   * says `grouped`: its copy's send is a second delivery. An entry moved to a later digest after
   * an earlier one listed it (fanout/grouped-copy.ts) is listed by both: a second delivery too.
   */
  listings?: Map<string, Map<string, number>>;
  /**
   * channel → execution id → its delivery slot's notification id, `ambiguous` when sent so, and
   * `mayBeInDigest` when a digest may list it unrecorded (a move from a digest that could not say).
   */
  slots?: Map<string, Map<string, { id: string; ambiguous: boolean; mayBeInDigest?: boolean }>>;
}

/** The channel of a digest id (`digest/<channel>/<window start>`, fanout/grouping.ts). */
function digestChannel(digestId: string): string {
  return digestId.slice("digest/".length, digestId.lastIndexOf("/"));
}

function isDigestId(id: string): boolean {
  return id.startsWith("digest/");
}

/** A digest's own record that says it was dropped, never sent (store/digest-drop.ts). */
function isDroppedDigest(item: Record<string, unknown>): boolean {
  const id = item.notificationId;
  const detail = item.detail as { dropped?: unknown } | undefined;
  return (
    typeof id === "string" &&
    isDigestId(id) &&
    item.status === "abandoned" &&
    detail?.dropped === true
  );
}

/** No grouping at all (a run with grouping off, or no ledger read). */
export const NO_GROUPING: GroupingLedger = { grouped: new Map(), sentDigests: new Set() };

/**
 * Reads the grouping state from the ledger's items (a Scan's items, as stored): `grouped`
 * delivery records (`digestId`, `channel`, `executionId`) and the digests' own records
 * (`notificationId` = the digest id, `status` `sent`).
 */
export function groupingLedger(items: Array<Record<string, unknown>>): GroupingLedger {
  const ledger: GroupingLedger = {
    grouped: new Map(),
    sentDigests: new Set(),
    ambiguousDigests: new Set(),
    droppedDigests: new Map(),
    digestMembers: new Map(),
    groupedIds: new Map(),
    receipts: new Map(),
    listings: new Map(),
    slots: new Map(),
  };
  for (const item of items) {
    const id = item.notificationId;
    if (String(item.pk).startsWith("DELIVERY#") && typeof id === "string" && !isDigestId(id)) {
      const byExecution = ledger.slots?.get(String(item.channel)) ?? new Map();
      const maybe = item.mayBeInDigest === true && { mayBeInDigest: true };
      byExecution.set(String(item.executionId), {
        id,
        ambiguous: item.ambiguous === true,
        ...maybe,
      });
      ledger.slots?.set(String(item.channel), byExecution);
    }
    if (item.status === "sent" && typeof item.receiptId === "string" && item.receiptId !== "-") {
      ledger.receipts?.set(item.receiptId, String(item.executionId ?? ""));
    }
    if (isDroppedDigest(item)) {
      const listed = (item.detail as { notifications?: unknown }).notifications;
      const ids = Array.isArray(listed) ? listed.map(String) : [];
      ledger.droppedDigests?.set(String(item.notificationId), new Set(ids));
    }
    if (item.status === "grouped" && typeof item.digestId === "string") {
      const channel = String(item.channel);
      const byExecution = ledger.grouped.get(channel) ?? new Map<string, string>();
      byExecution.set(String(item.executionId), item.digestId);
      ledger.grouped.set(channel, byExecution);
      const ids = ledger.groupedIds?.get(channel) ?? new Map<string, string>();
      ids.set(String(item.executionId), String(item.notificationId));
      ledger.groupedIds?.set(channel, ids);
    } else if (
      item.status === "sent" &&
      typeof item.notificationId === "string" &&
      isDigestId(item.notificationId)
    ) {
      ledger.sentDigests.add(item.notificationId);
      if (item.ambiguous === true) ledger.ambiguousDigests?.add(item.notificationId);
      const detail = item.detail as { count?: unknown; notifications?: unknown } | undefined;
      const listed = Array.isArray(detail?.notifications) ? detail.notifications.map(String) : [];
      if (typeof detail?.count === "number" && listed.length >= detail.count) {
        ledger.digestMembers?.set(item.notificationId, new Set(listed));
        const channel = digestChannel(item.notificationId);
        const times = ledger.listings?.get(channel) ?? new Map<string, number>();
        for (const member of new Set(listed)) times.set(member, (times.get(member) ?? 0) + 1);
        ledger.listings?.set(channel, times);
      }
    }
  }
  return ledger;
}

/**
 * Whether a received message is a digest: a webhook body `type: "digest"` (channels/webhook.ts),
 * a Slack digest's window line "… · 37 notifications, 2 pipelines" (channels/slack-digest.ts),
 * an SMS digest's "- see <channel>" (channels/sms.ts `renderDigest`).
 */
export function isDigest(type: string, body: unknown): boolean {
  if (type === "webhook") return (body as { type?: unknown } | null)?.type === "digest";
  const text = typeof body === "string" ? body : JSON.stringify(body);
  if (type === "sms") return / - see .+$/.test(text);
  return /\d+ notifications?, \d+ pipelines?/.test(text);
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

/**
 * The part of a receiver's request that names its own event. A PagerDuty trigger's `dedup_key`
 * names the execution that opened the pipeline's incident (channels/pagerduty.ts: a later failure
 * joins the open incident with its key), which is another event whenever the pipeline failed
 * before: matched first, it credited every later trigger of the incident to the opener, and their
 * own events read as lost (the clean pass of 2026-12-01: 14 of 30 PagerDuty triggers). Its own
 * execution is in `payload` (summary, `custom_details`).
 */
function ownText(body: unknown, isPagerDuty: boolean): unknown {
  if (!isPagerDuty || !body || typeof body !== "object") return body;
  const { dedup_key: _opener, ...own } = body as Record<string, unknown>;
  return own;
}

/** What one channel received: per-event accepted counts, lost replies, unattributed. */
interface Received {
  counts: number[];
  lostReplies: number[];
  unattributed: number;
  /** The first few unattributed deliveries' text (to see what they were). */
  unattributedSamples: string[];
  digests: number;
}

/** How many unattributed deliveries a channel keeps the text of ({@link RunTally}). */
const SAMPLES = 3;

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
    unattributedSamples: [],
    digests: 0,
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
    if (!isPagerDuty && isDigest(channel.type, attempt.body)) {
      got.digests += 1;
      continue;
    }
    const at = eventOf(JSON.stringify(ownText(attempt.body, isPagerDuty)), index);
    if (at === undefined) {
      got.unattributed += 1;
      if (got.unattributedSamples.length < SAMPLES)
        got.unattributedSamples.push(JSON.stringify(attempt.body).slice(0, 400));
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

/**
 * What an SNS topic's subscribers got, per event: by the marker in the text, else by the
 * publish's MessageId kept as a sent record's `receiptId`. A publish whose MessageId no record
 * holds is a lost reply (see the file's comment), counted when the ledger was read.
 */
function receivedOverSns(
  all: AllStandins,
  type: string,
  topicArn: string | undefined,
  index: Map<string, number>,
  events: number,
  receipts: Map<string, string> | undefined,
): Received {
  const got: Received = {
    counts: new Array<number>(events).fill(0),
    lostReplies: new Array<number>(events).fill(0),
    unattributed: 0,
    unattributedSamples: [],
    digests: 0,
  };
  for (const p of all.aws.state.sns.published) {
    if (p.topicArn !== topicArn) continue;
    if (isDigest(type, p.message)) {
      got.digests += 1;
      continue;
    }
    const messageId = (p as { messageId?: string }).messageId;
    const byReceipt = messageId === undefined ? undefined : receipts?.get(messageId);
    const at =
      eventOf(p.message, index) ?? (byReceipt === undefined ? undefined : index.get(byReceipt));
    if (at === undefined) {
      got.unattributed += 1;
      if (got.unattributedSamples.length < SAMPLES)
        got.unattributedSamples.push(`${messageId ?? "-"}: ${p.message.slice(0, 400)}`);
      continue;
    }
    got.counts[at] += 1;
    if (messageId !== undefined && receipts !== undefined && !receipts.has(messageId)) {
      got.lostReplies[at] += 1;
    }
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
  grouping: GroupingLedger = NO_GROUPING,
): Record<string, ChannelTally> {
  return tallyRun(all, route, topics, sent, grouping).channels;
}

/**
 * Tallies every channel of the route over the events sent, with the digests: an event whose
 * slot the ledger says was grouped into a digest that was sent counts as delivered once.
 */
export function tallyRun(
  all: AllStandins,
  route: RouteChannel[],
  topics: Record<string, string>,
  sent: EventSent[],
  grouping: GroupingLedger = NO_GROUPING,
): RunTally {
  const index = new Map<string, number>();
  sent.forEach((e, i) => {
    index.set(e.executionId, i);
    index.set(e.token, i);
  });
  const dlq = deadLettered(all);
  const result: RunTally = {
    channels: {},
    digests: {},
    lostExecutions: {},
    unattributedSamples: {},
  };
  for (const channel of route) {
    const got =
      channel.type === "sms" || channel.type === "email"
        ? receivedOverSns(
            all,
            channel.type,
            topics[channel.name],
            index,
            sent.length,
            grouping.receipts,
          )
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
    const grouped = grouping.grouped.get(channel.name);
    // The digests of this run's events only (the ledger also holds earlier passes').
    const digestIds = new Set(
      sent.map((e) => grouped?.get(e.executionId)).filter((d) => d !== undefined),
    );
    const lost: string[] = [];
    const digests: DigestTally = {
      inDigest: 0,
      received: got.digests,
      sent: [...digestIds].filter((d) => grouping.sentDigests.has(d)).length,
      ambiguous: [...digestIds].filter((d) => grouping.ambiguousDigests?.has(d)).length,
      dropped: 0,
    };
    sent.forEach((event, i) => {
      const slot = grouping.slots?.get(channel.name)?.get(event.executionId);
      const viaDigest = digestDeliveries(grouping, channel.name, event.executionId, grouped);
      // Listed by a sent digest, then released and delivered again: the ledger's ambiguous send
      // is the recorded possible duplicate (README "Exactly once"; recorded `ambiguous` on any
      // receiver: no idempotency key matches a digest's entry).
      const released = grouped?.get(event.executionId) === undefined && viaDigest > 0;
      if (released && slot?.ambiguous) tally.ambiguousSends += 1;
      // Still grouped, moved from a digest that could not say whether it had it: its listing in
      // the digest sent is a possible second one (fanout/grouped-copy.ts), recorded as such.
      if (!released && viaDigest > 0 && slot?.mayBeInDigest) tally.ambiguousSends += 1;
      if (viaDigest && got.counts[i] === 0) digests.inDigest += 1;
      const n = got.counts[i] + viaDigest;
      tally.lostReplies += got.lostReplies[i];
      if (!IDEMPOTENT.has(channel.type)) tally.ambiguousSends += got.lostReplies[i];
      if (n === 1) tally.once += 1;
      else if (n > 1) tally.duplicates += n - 1;
      else if (namedIn(dlq.get(event.executionId), channel.name)) tally.dlqWithReason += 1;
      else if (event.message.state === "dlq") tally.dlqWithoutReason += 1;
      else {
        tally.lost += 1;
        lost.push(event.executionId);
        const digest = grouped?.get(event.executionId);
        if (digest !== undefined && grouping.droppedDigests?.has(digest)) digests.dropped += 1;
      }
    });
    result.lostExecutions[channel.name] = lost;
    result.unattributedSamples[channel.name] = got.unattributedSamples;
    result.channels[channel.name] = tally;
    result.digests[channel.name] = digests;
  }
  return result;
}

/**
 * How many sent digests of `channel` delivered the event `executionId` as an entry: each sent
 * digest whose complete list names its notification (an entry moved, or released and sent on its
 * own, after a digest listed it is in more than one delivery), plus its slot's own digest when
 * sent with no complete list to check (cut at 10,000 ids, or none read). `grouped`: the channel's
 * grouped slots, execution id → digest id.
 */
function digestDeliveries(
  grouping: GroupingLedger,
  channel: string,
  executionId: string,
  grouped: Map<string, string> | undefined,
): number {
  const digest = grouped?.get(executionId);
  const sentDigest = digest !== undefined && grouping.sentDigests.has(digest);
  const members = digest === undefined ? undefined : grouping.digestMembers?.get(digest);
  const id =
    grouping.slots?.get(channel)?.get(executionId)?.id ??
    grouping.groupedIds?.get(channel)?.get(executionId);
  const unchecked = sentDigest && (members === undefined || id === undefined) ? 1 : 0;
  if (id === undefined || grouping.listings === undefined) return unchecked;
  return (grouping.listings.get(channel)?.get(id) ?? 0) + unchecked;
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
