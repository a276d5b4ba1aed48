/**
 * A local SQS queue with a Lambda event source mapping in front of it, with the semantics the
 * infrastructure declares: batches of up to `batchSize` records in the SQS event shape, partial
 * batch responses (`ReportBatchItemFailures`), redelivery of failed records after the visibility
 * timeout with `ApproximateReceiveCount` incremented, and the redrive to the dead-letter queue
 * once a message would be received more than `maxReceiveCount` times (SQS developer guide,
 * "Using dead-letter queues": the move happens when the receive count exceeds the maximum).
 *
 * Batches are handed to the consumer one at a time, so a scenario plays in a stable order (AWS
 * would run up to `maximumConcurrency` batches at once).
 *
 * A message may be sent with `DelaySeconds` (SQS API reference, SendMessage: "Valid values: 0 to
 * 900"; it stays invisible that long, in scaled time) and string message attributes, which the
 * event source mapping passes on as `messageAttributes` — how the fan-out's deferred copies
 * (issue 11, handlers/fanout/requeue.ts) arrive.
 */
import { createHash, randomUUID } from "node:crypto";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { scaledMs } from "../handlers/http";

/** What the consumer (the fan-out Lambda) answered for one batch. */
export type BatchOutcome =
  { ok: true; batchItemFailures: Array<{ itemIdentifier: string }> } | { ok: false; error: string };

/** Where a message is. `deleted` = processed successfully; `dlq` = moved by the redrive policy. */
export type MessageState = "waiting" | "in-flight" | "deleted" | "dlq";

/** One message in the queue, with its history. */
export interface QueueMessage {
  messageId: string;
  body: string;
  sentAt: Date;
  state: MessageState;
  receiveCount: number;
  /** String message attributes sent with it. */
  attributes: Record<string, string>;
  /** When the message becomes visible again (epoch ms). */
  visibleAt: number;
  /** One entry per receive: whether the consumer reported it failed, and why. */
  receives: Array<{ at: Date; ok: boolean; error?: string }>;
  /** When it was deleted or moved to the DLQ. */
  settledAt?: Date;
}

/** Options of {@link createQueue}. */
export interface QueueOptions {
  arn: string;
  region: string;
  /** Visibility timeout as the sandbox applies it (scaled down from the declared one). */
  visibilityTimeoutMs: number;
  /**
   * AWS time / this clock, for `DelaySeconds` (the sandbox's `TIME_SCALE`, which is set on the
   * fan-out's environment, not this process's); absent: handlers/http.ts `scaledMs`.
   */
  timeScale?: number;
  /** From the queue's redrive policy. */
  maxReceiveCount: number;
  /** From the event source mapping. */
  batchSize: number;
  /** Invokes the consumer with one SQS batch event (the shape the event source mapping passes). */
  consume(event: SQSEvent): Promise<BatchOutcome>;
  /** Called whenever a message changes state (progress lines, the page). */
  onChange?(message: QueueMessage): void;
}

/** What SendMessage may add to a body. */
export interface SendOptions {
  /** SQS `DelaySeconds`, AWS seconds, 0–900 (applied scaled: handlers/http.ts `scaledMs`). */
  delaySeconds?: number;
  /** String message attributes. */
  attributes?: Record<string, string>;
}

/** SQS's largest `DelaySeconds` (SendMessage: "Valid values: 0 to 900. Maximum: 15 minutes"). */
export const MAX_DELAY_SECONDS = 900;

/** The running queue. */
export interface SandboxQueue {
  /** Every message ever sent, in order. */
  readonly messages: QueueMessage[];
  /**
   * Sends a message (EventBridge's target delivery, or the fan-out's SendMessage): processing
   * starts at once, or after `delaySeconds` of AWS time (0–900, scaled by `TIME_SCALE`).
   */
  send(body: string, options?: SendOptions): QueueMessage;
  /** Resolves with the final state of a message: `deleted` or `dlq`. */
  settled(messageId: string): Promise<MessageState>;
  /** Resolves when no message is waiting or in flight. */
  idle(): Promise<void>;
  /** Stops processing; pending `settled`/`idle` promises stay unresolved. */
  close(): void;
}

/** Whether a message reached a final state (`deleted` or `dlq`). */
function isSettled(message: QueueMessage): message is QueueMessage & { state: "deleted" | "dlq" } {
  return message.state === "deleted" || message.state === "dlq";
}

/**
 * Resolves with `check()`'s value once it is defined, checking again whenever a message changes
 * (`waiters` are woken, and emptied, on every change).
 */
function waitUntil<T>(waiters: Array<() => void>, check: () => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    const again = (): void => {
      const value = check();
      if (value !== undefined) resolve(value);
      else waiters.push(again);
    };
    again();
  });
}

/** The SQS record of one receive of `message`, as the event source mapping hands it over. */
function toRecord(message: QueueMessage, receivedAt: number, options: QueueOptions): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: `${message.messageId}#${message.receiveCount}`,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt.getTime()),
      SenderId: "AIDAIEVENTBRIDGE",
      ApproximateFirstReceiveTimestamp: String(message.receives[0]?.at.getTime() ?? receivedAt),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.attributes).map(([k, v]) => [
        k,
        { stringValue: v, dataType: "String", stringListValues: [], binaryListValues: [] },
      ]),
    ),
    md5OfBody: createHash("md5").update(message.body).digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: options.arn,
    awsRegion: options.region,
  };
}

/**
 * A message just sent: waiting, visible at once (or after its delay), never received.
 * @throws when `delaySeconds` is not a whole number in 0..900, as SQS refuses it.
 */
function newMessage(body: string, options: SendOptions = {}, timeScale?: number): QueueMessage {
  const delay = options.delaySeconds ?? 0;
  if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
    throw new Error(`queue: DelaySeconds must be a whole number from 0 to 900, not ${delay}`);
  }
  return {
    messageId: randomUUID(),
    body,
    sentAt: new Date(),
    state: "waiting",
    receiveCount: 0,
    attributes: { ...(options.attributes ?? {}) },
    visibleAt: Date.now() + (delay > 0 ? delayMs(delay, timeScale) : 0),
    receives: [],
  };
}

/** `delaySeconds` of AWS time on this clock, ms: divided by `timeScale` when given. */
function delayMs(delaySeconds: number, timeScale?: number): number {
  return timeScale
    ? Math.max(1, Math.round((delaySeconds * 1000) / timeScale))
    : scaledMs(delaySeconds * 1000);
}

/**
 * Why a partial batch response fails the whole batch, or undefined when it names only messages
 * of the batch. Lambda treats a batch as a complete failure when the response has "an empty
 * string itemIdentifier", "a null itemIdentifier", "an itemIdentifier with a bad key name" or
 * "an itemIdentifier value with a message ID that doesn't exist" (Lambda developer guide, "Using
 * Lambda with Amazon SQS", "Implementing partial batch responses", success and failure
 * conditions): a wrong id retries everything, it never deletes the record that failed.
 */
function invalidResponse(batch: QueueMessage[], failures: unknown[]): string | undefined {
  const ids = new Set(batch.map((m) => m.messageId));
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || id === "")
      return `invalid batch response: itemIdentifier ${JSON.stringify(id ?? null)}`;
    if (!ids.has(id)) return `invalid batch response: itemIdentifier ${id} is not in the batch`;
  }
  return undefined;
}

/**
 * The ids that failed: the reported `batchItemFailures`; the whole batch when the invocation
 * failed or its response was invalid ({@link invalidResponse}).
 */
function failedIds(batch: QueueMessage[], outcome: BatchOutcome): Set<string> {
  const whole = !outcome.ok || invalidResponse(batch, outcome.batchItemFailures) !== undefined;
  return new Set(
    whole ? batch.map((m) => m.messageId) : outcome.batchItemFailures.map((f) => f.itemIdentifier),
  );
}

/**
 * Up to `batchSize` visible waiting messages, as the event source mapping receives them; a message
 * already received `maxReceiveCount` times goes to `toDlq` instead (the redrive policy). Also the
 * earliest time (epoch ms) a waiting message becomes visible, or Infinity.
 */
function takeBatch(
  messages: QueueMessage[],
  now: number,
  options: Pick<QueueOptions, "batchSize" | "maxReceiveCount">,
  toDlq: (message: QueueMessage) => void,
): { batch: QueueMessage[]; nextVisible: number } {
  const batch: QueueMessage[] = [];
  let nextVisible = Infinity;
  for (const message of messages) {
    if (batch.length >= options.batchSize) break;
    if (message.state !== "waiting") continue;
    if (message.visibleAt > now) {
      nextVisible = Math.min(nextVisible, message.visibleAt);
      continue;
    }
    if (message.receiveCount >= options.maxReceiveCount) {
      toDlq(message);
      continue;
    }
    batch.push(message);
  }
  return { batch, nextVisible };
}

/** Creates the queue and its poller. */
export function createQueue(options: QueueOptions): SandboxQueue {
  const messages: QueueMessage[] = [];
  const waiters: Array<() => void> = [];
  const timers = new Set<NodeJS.Timeout>();
  const status = { busy: false, closed: false };

  const changed = (message: QueueMessage): void => {
    options.onChange?.(message);
    for (const wake of waiters.splice(0)) wake();
  };

  const settle = (message: QueueMessage, state: "deleted" | "dlq"): void => {
    message.state = state;
    message.settledAt = new Date();
    changed(message);
  };

  const wakeAt = (at: number): void => {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        pump();
      },
      Math.max(0, at - Date.now()),
    );
    timers.add(timer);
  };

  function pump(): void {
    if (status.closed) return;
    // A running batch calls pump() again when it ends.
    if (status.busy) return;
    const { batch, nextVisible } = takeBatch(messages, Date.now(), options, (m) =>
      settle(m, "dlq"),
    );
    if (batch.length === 0) {
      // A timer may fire a millisecond early: never leave a waiting message without a wake-up.
      if (nextVisible !== Infinity) wakeAt(nextVisible + 1);
      return;
    }
    status.busy = true;
    void runBatch(batch).finally(() => {
      status.busy = false;
      pump();
    });
  }

  async function runBatch(batch: QueueMessage[]): Promise<void> {
    const receivedAt = Date.now();
    const records: SQSRecord[] = batch.map((message) => {
      message.receiveCount += 1;
      message.state = "in-flight";
      message.visibleAt = receivedAt + options.visibilityTimeoutMs;
      changed(message);
      return toRecord(message, receivedAt, options);
    });
    let outcome: BatchOutcome;
    try {
      outcome = await options.consume({ Records: records });
    } catch (err: unknown) {
      outcome = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (status.closed) return;
    const failed = failedIds(batch, outcome);
    for (const message of batch) {
      const ok = !failed.has(message.messageId);
      const error = outcome.ok
        ? (invalidResponse(batch, outcome.batchItemFailures) ?? "reported in batchItemFailures")
        : `invocation failed: ${outcome.error}`;
      message.receives.push({ at: new Date(receivedAt), ok, ...(ok ? {} : { error }) });
      if (ok) {
        settle(message, "deleted");
      } else {
        // Back to the queue: visible again once the visibility timeout has passed.
        message.state = "waiting";
        changed(message);
        wakeAt(message.visibleAt);
      }
    }
  }

  return {
    messages,
    send(body: string, sendOptions?: SendOptions): QueueMessage {
      const message = newMessage(body, sendOptions, options.timeScale);
      messages.push(message);
      changed(message);
      // Like the event source mapping's short batching window: gather what arrives together.
      wakeAt(Math.max(Date.now() + 5, message.visibleAt + 1));
      return message;
    },
    settled(messageId: string): Promise<MessageState> {
      const message = messages.find((m) => m.messageId === messageId);
      if (!message) return Promise.reject(new Error(`queue: unknown message ${messageId}`));
      return waitUntil(waiters, () => (isSettled(message) ? message.state : undefined));
    },
    idle(): Promise<void> {
      return waitUntil(waiters, () => (messages.every(isSettled) ? true : undefined)).then(
        () => undefined,
      );
    },
    close(): void {
      status.closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
