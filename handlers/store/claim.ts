/**
 * The one conditional write that every claim in the table is made of — the delivery ledger,
 * outcome (collapse) claims, approval decision claims and the Slack replay guard — which, when
 * refused, says who holds the item (`ReturnValuesOnConditionCheckFailure`), without a read.
 */
import {
  PutCommand,
  UpdateCommand,
  type PutCommandInput,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { ddb, ddbOnce } from "../aws";
import { scaledMs } from "../http";
import { backoffDelay } from "../retry";

/** A claim to make: a conditional PutItem or UpdateItem, with its TableName and condition. */
export type ClaimWrite =
  ({ kind: "put" } & PutCommandInput) | ({ kind: "update" } & UpdateCommandInput);

/**
 * What came of a claim. `item` is the item after an update claim when the input asked for
 * `ReturnValues: "ALL_NEW"` (undefined for puts); `existing` is the item that made the condition
 * fail, as DynamoDB returned it with the refusal (undefined when there is none — the condition
 * failed on a missing item — or when the caller did not ask for it).
 */
export type ClaimResult =
  | { claimed: true; item: Record<string, unknown> | undefined }
  | { claimed: false; existing: Record<string, unknown> | undefined };

/** Options of {@link claimOrRead}. */
export interface ClaimOptions {
  /**
   * Ask for the item when the claim fails. Default true; false when the caller only needs to
   * know that it lost (the replay guard).
   */
  read?: boolean;
  /**
   * Epoch ms until which a call DynamoDB refused for a reason a repeat can fix (throttling:
   * `ProvisionedThroughputExceededException`, `ThrottlingException`; a timeout, a 5xx) is tried
   * again, with full-jitter backoff, never waiting past it: an invocation's deadline. Without
   * one, {@link CLAIM_ATTEMPTS} attempts in all.
   */
  deadline?: number;
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * At most this many attempts even with a `deadline` (default: {@link CLAIM_ATTEMPTS} without a
   * deadline, no cap with one).
   */
  attempts?: number;
  /**
   * Aborts the call in flight and stops the retries (the SDK's `abortSignal`): a budget that ran
   * out (the approval click's answer to Slack).
   */
  signal?: AbortSignal;
  /**
   * One SDK attempt per call ({@link ddbOnce}), so that only this module's short backoff runs
   * between attempts: for callers whose `deadline` is seconds away.
   */
  once?: boolean;
  /**
   * Collects the error of every failed call, in order: for a caller that must know whether a
   * write may have been applied although it threw ({@link wasRefused}).
   */
  failures?: unknown[];
}

/** The client a call with `options` uses and what it passes to `send` (the abort signal). */
export function storeClient(options: Pick<ClaimOptions, "signal" | "once"> = {}): {
  client: ReturnType<typeof ddb>;
  send: { abortSignal?: AbortSignal };
} {
  return {
    client: options.once ? ddbOnce() : ddb(),
    send: options.signal ? { abortSignal: options.signal } : {},
  };
}

/**
 * Attempts of one claim call when the caller gives no deadline (the SDK's own 3 attempts are
 * inside each): at 30 % throttling one SDK call fails 2.7 % of the time, five in a row 1.4e-8.
 */
export const CLAIM_ATTEMPTS = 5;
/** First backoff window of a retried claim call, ms of AWS time (full jitter, doubling, ≤ 1 s). */
const CLAIM_BASE_DELAY_MS = 50;
const CLAIM_MAX_DELAY_MS = 1000;
/**
 * With an abort `signal`, no attempt starts less than this before the deadline (when the signal
 * fires), ms: the abort would cut it off in flight, leaving unknown whether a write was applied
 * ({@link wasRefused}) for an attempt that had no time to be answered anyway.
 */
const MIN_ATTEMPT_MS = 50;

/**
 * Errors a repeated call cannot fix: a failed condition (the claim's answer, not a failure), an
 * invalid request, a denial, a missing table (DynamoDB API reference, "Common Errors" and each
 * operation's "Errors"). Everything else — throttling first of all (the developer guide, "Error
 * handling with DynamoDB": `ProvisionedThroughputExceededException` and `ThrottlingException`
 * are retryable, "The AWS SDKs for DynamoDB automatically retry requests that receive this
 * exception"), a timeout, a reset, a 5xx — is retried.
 */
const NOT_RETRYABLE: readonly string[] = [
  "ConditionalCheckFailedException",
  "ValidationException",
  "AccessDeniedException",
  "ResourceNotFoundException",
  "SerializationException",
  "UnrecognizedClientException",
  "ItemCollectionSizeLimitExceededException",
];

/**
 * Whether DynamoDB answered the call that threw `err` with a refusal (an HTTP 4xx: throttling, a
 * failed condition, an invalid request — "a problem with your request", developer guide, "Error
 * handling with DynamoDB"): it changed nothing. False when no answer came (a timeout, the
 * caller's abort, a reset) or a 5xx did: a write may then have been applied, its reply lost
 * (what TransactWriteItems' `ClientRequestToken` exists for).
 */
export function wasRefused(err: unknown): boolean {
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  const status = meta?.httpStatusCode;
  return typeof status === "number" && status >= 400 && status < 500;
}

/** Whether repeating the DynamoDB call that threw `err` may succeed (see NOT_RETRYABLE). */
export function isRetryableStoreError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return !NOT_RETRYABLE.includes(String(name));
}

/**
 * Runs `call` until it resolves, retrying what {@link isRetryableStoreError} allows with
 * full-jitter backoff (windows of 50 ms doubling to 1 s, AWS time: `scaledMs`), until
 * `options.deadline` (no wait may end at or after it) or, without one, for
 * {@link CLAIM_ATTEMPTS} attempts; never more than `options.attempts`. The last error, and any
 * error a repeat cannot fix, is thrown; every error is added to `options.failures` when given.
 */
export async function withStoreRetries<T>(
  call: () => Promise<T>,
  options: Pick<ClaimOptions, "deadline" | "sleep" | "attempts" | "signal" | "failures"> = {},
): Promise<T> {
  const cap = options.attempts ?? (options.deadline === undefined ? CLAIM_ATTEMPTS : Infinity);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err: unknown) {
      options.failures?.push(err);
      if (!isRetryableStoreError(err)) throw err;
      const delay = backoffDelay(attempt, {
        baseDelayMs: scaledMs(CLAIM_BASE_DELAY_MS),
        maxDelayMs: scaledMs(CLAIM_MAX_DELAY_MS),
        random: Math.random,
      });
      if (attempt >= cap || options.signal?.aborted) throw err;
      const reserve = options.signal ? MIN_ATTEMPT_MS : 0;
      if (options.deadline !== undefined && Date.now() + delay + reserve >= options.deadline) {
        throw err;
      }
      await sleep(delay);
    }
  }
}

/** Whether a DynamoDB write failed its condition (someone else claimed the item first). */
export function isConditionFailed(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { name?: unknown }).name === "ConditionalCheckFailedException"
  );
}

/**
 * The item DynamoDB returned with a failed condition (`ReturnValuesOnConditionCheckFailure:
 * ALL_OLD`: the ConditionalCheckFailedException carries `Item`, in DynamoDB's attribute-value
 * form, which the document client does not unmarshall for errors; API reference, PutItem /
 * UpdateItem "ReturnValuesOnConditionCheckFailure"). Undefined when it carries none: no item
 * exists under the key.
 */
function itemOfConditionFailure(err: unknown): Record<string, unknown> | undefined {
  const item = (err as { Item?: unknown }).Item;
  if (typeof item !== "object" || item === null) return undefined;
  return unmarshall(item as Parameters<typeof unmarshall>[0]);
}

/**
 * Makes the conditional write, asking DynamoDB to return the item that made its condition fail
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`: no read, no second round trip, no read
 * capacity; the local DynamoDB answers it too, testing/dynamo-return-on-condition.ts). When the
 * refusal carries no item, none exists: `existing` is undefined. A throttled (or otherwise
 * retryable) write is tried again until `options.deadline` ({@link withStoreRetries}; issue 12:
 * one throttled claim must not send a record back to SQS, and at the last receive into the DLQ).
 * The write is repeated as it was: a repeat of a write that DynamoDB applied but whose reply was
 * lost fails its condition against the caller's own item, which comes back as `existing`
 * (store/ledger.ts `claimDelivery` recognizes its `claimId`; an outcome claim's condition accepts
 * its own id). Errors a repeat cannot fix, and the last error, are thrown.
 */
export async function claimOrRead(
  write: ClaimWrite,
  options: ClaimOptions = {},
): Promise<ClaimResult> {
  const { kind, ...input } = write;
  const returnOld =
    options.read === false ? {} : { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const };
  const { deadline, sleep, signal, failures } = options;
  const retry = { deadline, sleep, signal, failures };
  const { client, send } = storeClient(options);
  try {
    if (kind === "put") {
      await withStoreRetries(
        () => client.send(new PutCommand({ ...(input as PutCommandInput), ...returnOld }), send),
        retry,
      );
      return { claimed: true, item: undefined };
    }
    const out = await withStoreRetries(
      () =>
        client.send(new UpdateCommand({ ...(input as UpdateCommandInput), ...returnOld }), send),
      retry,
    );
    return { claimed: true, item: out.Attributes };
  } catch (err: unknown) {
    if (!isConditionFailed(err)) throw err;
    return {
      claimed: false,
      existing: options.read === false ? undefined : itemOfConditionFailure(err),
    };
  }
}
