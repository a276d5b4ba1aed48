/**
 * The event path of the sandbox, as AWS runs it: an event (or a PutEvents body) is matched
 * against the rule pattern the program declared; a matched event becomes one SQS message whose
 * body is the whole event; the queue hands batches to the fan-out archive with the declared
 * batch size and redrive policy, and a scaled-down visibility timeout.
 */
import { randomUUID } from "node:crypto";
import {
  createQueue,
  eventBridgeToQueue,
  matchesPattern,
  onCodePipelineEvent,
  recordEvent,
  type QueueMessage,
  type RecordedEvent,
  type SandboxQueue,
} from "../testing";
import { centralBusRefusal } from "./central-bus";
import { fanoutFailureReasons, oneLine } from "./fanout-reasons";
import { ACCOUNT, REGION, type Cleanups, type Log, type World } from "./wiring";

/** What became of one posted event. */
export interface PostedEvent {
  eventId: string;
  detailType: string;
  pipeline: string;
  state: string;
  time: string;
  matched: boolean;
  /** The queue message, when the rule matched. */
  messageId?: string;
  /** Epoch ms. */
  postedAt: number;
  /**
   * Why it never reached the rule: a pipeline outside the notifier's account whose account the
   * central bus policy does not admit (central-bus.ts).
   */
  refused?: string;
  /**
   * Why the CodePipeline stand-in did not record the event (CodePipeline could not have emitted
   * it: testing/aws/codepipeline/record.ts); it is routed all the same, and the notifier decides.
   */
  notRecorded?: string;
  /**
   * Why CodePipeline has not emitted this event yet: its execution waits for a stage another
   * execution is in (QUEUED / SUPERSEDED mode). It is not routed; the stand-in emits the
   * execution's STARTED events when it enters the stage.
   */
  held?: string;
  /**
   * Emitted by the CodePipeline stand-in itself (a decision, retry, expiry or rollback made
   * there), rather than posted to `POST /events`.
   */
  emitted?: boolean;
}

/** The event path of one sandbox. */
export interface EventSource {
  queue: SandboxQueue;
  /** Every posted event, oldest first. */
  posted: PostedEvent[];
  /** Routes an EventBridge event (or a PutEvents `{Entries}` body) like the rule would. */
  postEvent(input: unknown): Promise<PostedEvent[]>;
  /** Calls `listener` each time the queue hands a message to the fan-out; returns an unsubscribe. */
  onReceive(listener: (messageId: string, receiveCount: number) => void): () => void;
  /** Waits until the queue and the asynchronous invocations are idle. */
  settle(): Promise<void>;
}

/** EventBridge's `time`: ISO 8601 to the second. */
function eventTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The EventBridge events of a request body: PutEvents' `{Entries:[…]}` (each `Detail` a JSON
 * string) or one event, given the `id`, `version`, `account`, `region`, `time` and `resources`
 * EventBridge would have stamped when it has none.
 * `Source`, `DetailType` and `Detail` (an event's `source`, `detail-type`, `detail`) are required:
 * EventBridge fails an entry without each of them (API_PutEventsRequestEntry.html, `Source`).
 * @throws when the body is neither, names which of those an entry or the event lacks, or an
 *   entry's `Detail` is not a JSON string.
 */
export function toEvents(input: unknown): Array<Record<string, unknown>> {
  const body = input as { Entries?: unknown };
  if (body && typeof body === "object" && Array.isArray(body.Entries)) {
    return body.Entries.map((entry: Record<string, unknown>, i: number) => {
      requireFields(`Entries[${i}]`, entry, ["Source", "DetailType", "Detail"]);
      if (typeof entry.Detail !== "string")
        throw new Error(`Entries[${i}].Detail must be a JSON string`);
      return {
        version: "0",
        id: randomUUID(),
        "detail-type": entry.DetailType,
        source: entry.Source,
        account: ACCOUNT,
        time: eventTime(entry.Time ? new Date(String(entry.Time)) : new Date()),
        region: REGION,
        resources: Array.isArray(entry.Resources) ? entry.Resources : [],
        detail: JSON.parse(entry.Detail) as unknown,
      };
    });
  }
  if (!input || typeof input !== "object" || Array.isArray(input)) {
    throw new Error("expected an EventBridge event or {Entries:[…]}");
  }
  const event = { ...(input as Record<string, unknown>) };
  requireFields("the event", event, ["source", "detail-type", "detail"]);
  // EventBridge stamps these on every event it delivers; a hand-written event may leave them out.
  event.id ??= randomUUID();
  event.version ??= "0";
  event.account ??= ACCOUNT;
  event.region ??= REGION;
  event.time ??= eventTime(new Date());
  event.resources ??= [];
  return [event];
}

/**
 * Throws, naming `what` and each of `fields` that `value` lacks (absent, null or an empty
 * string), when any is missing: EventBridge fails such an entry ({@link toEvents}).
 */
function requireFields(what: string, value: Record<string, unknown>, fields: string[]): void {
  const missing = fields.filter(
    (f) => value[f] === undefined || value[f] === null || value[f] === "",
  );
  if (missing.length === 0) return;
  throw new Error(
    `${what} lacks ${missing.join(", ")}: EventBridge fails an event without ${fields.join(", ")}`,
  );
}

/**
 * The progress line of a queue message's state change, if it deserves one. A message the fan-out
 * reported failed says why: `reason` (what the fan-out logged for it: fanout-reasons.ts), else
 * the queue's own (an invocation that failed as a whole).
 */
function queueChangeLine(
  message: QueueMessage,
  maxReceiveCount: number,
  visibilityTimeoutMs: number,
  reason?: string,
): string | undefined {
  const short = message.messageId.slice(0, 8);
  if (message.state === "in-flight" && message.receiveCount > 1)
    return `    ↻ queue: message ${short} redelivered (receive ${message.receiveCount}/${maxReceiveCount})`;
  if (message.state === "waiting" && message.receiveCount > 0) {
    // The queue's own error is "reported in batchItemFailures" (testing/queue.ts) unless the
    // whole invocation failed: then it is the reason.
    const error = message.receives.at(-1)?.error ?? "";
    const why = oneLine(
      reason ??
        (error.startsWith("invocation failed")
          ? error
          : "the fan-out logged no reason for it (see the audit trail)"),
    );
    return `    ⚠ fan-out reported message ${short} failed (visible again in ${visibilityTimeoutMs} ms): ${why}`;
  }
  if (message.state === "dlq") {
    const reason = message.receives.at(-1)?.error;
    return `    ⚠ queue: message ${short} moved to the DLQ after ${message.receiveCount} receives${reason ? `: ${reason}` : ""}`;
  }
  return undefined;
}

/** The progress line of a message the fan-out sent to its DLQ (its message attributes). */
export function fanoutDlqLine(attributes: Record<string, string> = {}): string {
  const { notificationId: id, receiveCount: count, reason } = attributes;
  const what = id && id !== "-" ? `notification ${id}` : "a message";
  const receives = count ? ` after ${count} receive${count === "1" ? "" : "s"}` : "";
  return `    ⚠ fan-out sent ${what} to its DLQ${receives}: ${reason || "no reason given"}`;
}

/** The terminal line of a posted (or emitted) event and what became of it. */
function postedLine(entry: PostedEvent): string {
  const level = entry.detailType
    .replace("CodePipeline ", "")
    .replace(" Execution State Change", "");
  const from = entry.emitted ? "CodePipeline emitted " : "";
  const fate = entry.held
    ? ` — not emitted yet by CodePipeline: ${entry.held}`
    : entry.refused
      ? ` — ${entry.refused}`
      : entry.matched
        ? ""
        : " — not matched by the rule, dropped";
  return `  ⇢ event ${from}${entry.pipeline} ${level} ${entry.state}${fate}`;
}

/** The queue in front of the fan-out archive, with the program's declared semantics. */
function startFanoutQueue(
  world: World,
  visibilityTimeoutMs: number,
  log: Log,
): Pick<EventSource, "queue" | "onReceive"> {
  const { declared, fanout } = world;
  const receiveListeners: Array<(id: string, count: number) => void> = [];
  /** Why the fan-out reported each failed message, from its log (until the line is printed). */
  const reasons = new Map<string, string>();
  const queue = createQueue({
    arn: declared.queueArn,
    region: REGION,
    visibilityTimeoutMs,
    timeScale: world.times.scale,
    maxReceiveCount: declared.maxReceiveCount,
    batchSize: declared.batchSize,
    async consume(event) {
      const logged = fanout.logs().length;
      const result = await fanout.invoke<{
        batchItemFailures?: Array<{ itemIdentifier: string }>;
      }>(event);
      if (!result.ok) return { ok: false, error: result.error?.message ?? "failed" };
      const failures = result.value?.batchItemFailures ?? [];
      if (failures.length > 0) {
        // Its log lines were written before it answered; their pipe is read in this turn.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const ids = failures.map((f) => f.itemIdentifier);
        const found = fanoutFailureReasons(fanout.logs().slice(logged), ids);
        for (const [id, reason] of found) reasons.set(id, reason);
      }
      return { ok: true, batchItemFailures: failures };
    },
    onChange(message) {
      if (message.state === "in-flight") {
        for (const listener of [...receiveListeners])
          listener(message.messageId, message.receiveCount);
      }
      const reason = reasons.get(message.messageId);
      if (message.state === "waiting") reasons.delete(message.messageId);
      const line = queueChangeLine(message, declared.maxReceiveCount, visibilityTimeoutMs, reason);
      if (line) log(line);
    },
  });
  // The fan-out's SendMessage to the events queue (issue 11: deferred copies, with DelaySeconds)
  // lands in this queue, as in AWS.
  const eventsQueueUrl = declared.archives.fanout.environment.EVENTS_QUEUE_URL;
  if (eventsQueueUrl) {
    const sqs = world.standins.aws.state.sqs;
    sqs.queues = { ...sqs.queues, [eventsQueueUrl]: (body, o) => void queue.send(body, o) };
  }
  // The fan-out's own DLQ sends (its last receive, with the reason): the message then leaves the
  // events queue as handled, so the queue's lines above never show where it went.
  const dlqUrl = declared.fanoutDlqUrl;
  if (dlqUrl) {
    const sqs = world.standins.aws.state.sqs;
    sqs.queues = { ...sqs.queues, [dlqUrl]: (_body, o) => log(fanoutDlqLine(o.attributes)) };
  }
  return {
    queue,
    onReceive(listener) {
      receiveListeners.push(listener);
      return () => void receiveListeners.splice(receiveListeners.indexOf(listener), 1);
    },
  };
}

/**
 * Starts the queue → fan-out path and returns the event source in front of it. The queue is
 * added to `cleanups`.
 */
export function startEventSource(options: {
  world: World;
  /** The visibility timeout the queue applies, in ms (the declared one, scaled down). */
  visibilityTimeoutMs: number;
  cleanups: Cleanups;
  log: Log;
}): EventSource {
  const { world, log } = options;
  const { queue, onReceive } = startFanoutQueue(world, options.visibilityTimeoutMs, log);
  options.cleanups.add(() => queue.close());
  const posted: PostedEvent[] = [];
  /** While a posted event is recorded: what the stand-in emits meanwhile, routed after it. */
  let recording: Array<Record<string, unknown>> | undefined;

  /**
   * Routes one event like the rule would. A posted event stands for one CodePipeline emitted, so
   * the CodePipeline stand-in first learns the execution (and a pending approval's token) as the
   * real service would know it; an event the stand-in emitted is already known there. What the
   * stand-in emits while it records (a run's end lets a waiting execution in) is routed after the
   * posted event, in the order CodePipeline would have sent them.
   */
  function route(event: Record<string, unknown>, emitted: boolean): PostedEvent {
    const detail = (event.detail ?? {}) as Record<string, unknown>;
    // Another account's event comes through the central bus, if its policy admits that account.
    const account = String(event.account ?? ACCOUNT);
    const refused =
      account === ACCOUNT ? undefined : centralBusRefusal(world.declared.centralBusPolicy, account);
    let recorded: RecordedEvent = {};
    const followers: Array<Record<string, unknown>> = [];
    if (!emitted && !refused) {
      recording = followers;
      try {
        recorded = recordEvent(world.standins.aws.state, event);
      } finally {
        recording = undefined;
      }
    }
    const held = recorded.waiting;
    const matched = !refused && matchesPattern(world.declared.rulePattern, event);
    const entry: PostedEvent = {
      eventId: String(event.id),
      detailType: String(event["detail-type"] ?? ""),
      pipeline: String(detail.pipeline ?? ""),
      state: String(detail.state ?? ""),
      time: String(event.time ?? ""),
      matched,
      postedAt: Date.now(),
      ...(emitted ? { emitted } : {}),
      ...(refused && { refused }),
      ...(recorded.notRecorded && { notRecorded: recorded.notRecorded }),
      ...(held && { held }),
    };
    // EventBridge delivers the whole event as the SQS message body, if the queue's policy lets
    // this rule send (testing/iam/deliveries.ts); else AWS retries and gives up, here at once.
    const denied =
      matched && !held
        ? eventBridgeToQueue(world.standins.iam, world.declared.ruleArn, world.declared.queueArn)
        : undefined;
    if (denied) log(`  ✗ EventBridge could not deliver to the events queue: ${denied.message}`);
    else if (matched && !held) entry.messageId = queue.send(JSON.stringify(event)).messageId;
    posted.push(entry);
    log(postedLine(entry));
    if (recorded.notRecorded)
      log(`    (the CodePipeline stand-in did not record it: ${recorded.notRecorded})`);
    for (const follower of followers) route(follower, true);
    return entry;
  }

  async function postEvent(input: unknown): Promise<PostedEvent[]> {
    return toEvents(input).map((event) => route(event, false));
  }

  // What the CodePipeline stand-in emits (an approval decided from Slack, a retry, an expiry, a
  // rollback) takes the same path as a posted event: rule match → queue → fan-out.
  const unsubscribe = onCodePipelineEvent(world.standins.aws.state, (event) => {
    if (recording) recording.push({ ...event });
    else route({ ...event }, true);
  });
  options.cleanups.add(unsubscribe);

  async function settle(): Promise<void> {
    // Deliveries can start asynchronous work (the approval's self-invocation) and vice versa.
    for (let i = 0; i < 3; i++) {
      await queue.idle();
      await world.standins.aws.idle();
    }
  }

  return { queue, posted, postEvent, onReceive, settle };
}
