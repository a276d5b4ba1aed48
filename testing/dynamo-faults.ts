/**
 * DynamoDB misbehaving the way DynamoDB does, in the proxy in front of dynalite (testing/dynamo.ts):
 * a configurable fraction of data-plane calls (all, or some operations) is answered with a
 * throttling error, deterministically under a seed, and every call is counted per operation so a
 * benchmark can price what the code really does.
 *
 * The error is DynamoDB's (developer guide, "Error handling with DynamoDB", "Error messages and
 * codes"; API reference, "Common Errors"): HTTP 400, awsJson 1.0 body
 * `{ "__type": "com.amazonaws.dynamodb.v20120810#<Code>", "message": … }`, code
 * `ProvisionedThroughputExceededException` ("The level of configured provisioned throughput for
 * the table was exceeded…", retryable: "The AWS SDKs for DynamoDB automatically retry requests
 * that receive this exception") or `ThrottlingException` ("Rate of requests exceeds the allowed
 * throughput", retryable). A throttled request consumes no capacity and is not billed.
 *
 * And late replies ({@link DynamoLateReply}): a request DynamoDB applies whose answer reaches the
 * caller late, or after it gave up — which a client that times out or aborts cannot tell from a
 * request that never arrived (ARCHITECTURE.md, "replies lost after a request was accepted"; the
 * developer guide's "Error handling with DynamoDB" tells 400s, problems with the request, from
 * 5xx; only an answer says what became of a write, which is why TransactWriteItems has an
 * idempotency `ClientRequestToken`).
 */
import type { ServerResponse } from "node:http";
import { seededRandom } from "./random";

/** The throttling exceptions DynamoDB answers (both HTTP 400, both retryable). */
export const DYNAMODB_THROTTLE_CODES = [
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
] as const;
/** One of {@link DYNAMODB_THROTTLE_CODES}. */
export type DynamoThrottleCode = (typeof DYNAMODB_THROTTLE_CODES)[number];

/** DynamoDB's messages for the two codes ("Error messages and codes"). */
const MESSAGES: Record<DynamoThrottleCode, string> = {
  ProvisionedThroughputExceededException:
    "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
  ThrottlingException: "Rate of requests exceeds the allowed throughput.",
};

/**
 * The data-plane operations throttling applies to by default (the control plane, e.g.
 * CreateTable, has its own limits and is never throttled here, so test setup is not disturbed).
 */
export const DYNAMODB_DATA_OPERATIONS = [
  "GetItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "Query",
  "Scan",
  "BatchGetItem",
  "BatchWriteItem",
  "TransactGetItems",
  "TransactWriteItems",
] as const;

/** Operations that write (billed in write request units). */
const WRITES = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchWriteItem",
  "TransactWriteItems",
]);

/** Throttling settings of {@link DynamoFaults.setThrottling}. */
export interface DynamoThrottling {
  /** Fraction of matching calls answered with a throttling error, 0..1. */
  fraction: number;
  /** Only these operations (e.g. `["UpdateItem"]`); default {@link DYNAMODB_DATA_OPERATIONS}. */
  operations?: readonly string[];
  /** Which exception; "mixed" alternates at random between both. Default the provisioned one. */
  code?: DynamoThrottleCode | "mixed";
  /** Seed of the random choice (default 1): the same seed throttles the same calls. */
  seed?: number;
}

/** Calls seen for one operation. */
export interface DynamoOperationCount {
  /** Every request, throttled or not. */
  calls: number;
  /** Of which answered with a throttling error (not billed). */
  throttled: number;
  /**
   * Request units billed for the calls that got through, by DynamoDB's rules (developer guide,
   * "Read/write capacity mode": a write is ceil(size / 1 KB) WRU of the larger of the item
   * before and after it, a failed conditional write included; "Global secondary indexes",
   * provisioned throughput considerations: each write that puts, updates or removes an item of
   * the index is one more write of the projected item, ALL here). A single-item write's table
   * units are dynalite's `ConsumedCapacity` (see {@link DynamoFaults.bill}); batch and
   * transaction writes count 1 per call plus 1 when they name the index key. Reads are counted
   * as 1 RRU per call (an upper bound: an eventually consistent read of up to 4 KB is 0.5).
   */
  units: number;
}

/**
 * A late reply ({@link DynamoFaults.setLateReply}): the next matching request is applied by
 * dynalite at once and its answer held back `delayMs` (sent only if the caller is still
 * waiting then: an aborted or timed-out client never sees it); with `applied: false` it is held
 * and then dropped (the connection reset) without reaching dynalite — a request lost on its way
 * in, which the caller cannot tell from the first.
 */
export interface DynamoLateReply {
  /** The operation, e.g. `PutItem`. */
  operation: string;
  /** Only requests whose JSON body contains this text (e.g. a key prefix `APPROVAL#`). */
  match?: string;
  /** How long the answer is held, ms of real time. */
  delayMs: number;
  /** Whether the request is applied (default true). */
  applied?: boolean;
  /** How many matching requests get it (default 1); then it clears itself. */
  times?: number;
}

/** The throttling injection and call counting of one DynamoDB proxy. */
export interface DynamoFaults {
  /** Starts (or with null stops) throttling. */
  setThrottling(throttling: DynamoThrottling | null): void;
  /** Starts (or with null stops) late replies. */
  setLateReply(late: DynamoLateReply | null): void;
  /**
   * Takes one use of the late reply for a request (`body`: its JSON text) that got through
   * throttling, if it matches: what to do with it; undefined for an ordinary request.
   */
  takeLateReply(operation: string, body: string): { delayMs: number; applied: boolean } | undefined;
  /** Calls per operation since the last {@link DynamoFaults.resetCounts}. */
  readonly counts: Record<string, DynamoOperationCount>;
  resetCounts(): void;
  /**
   * Counts one call and decides its fate: the throttling error to answer, or undefined to let
   * it through. `body` is the request's JSON text (for the GSI write estimate).
   */
  decide(operation: string, body: string): DynamoThrottleCode | undefined;
  /**
   * Bills a single-item write (PutItem, UpdateItem, DeleteItem) that got through: `tableUnits`
   * as dynalite computed them (1 when its answer had none, e.g. a failed condition), plus as
   * many index units when the write names the index key or touches an item already in the
   * index. `input` is the request's JSON.
   */
  bill(operation: string, input: Record<string, any>, tableUnits: number): void;
}

/** The single-item writes whose table units come from dynalite's ConsumedCapacity. */
export const SINGLE_ITEM_WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem"]);

/** Validates a {@link DynamoThrottling}; the error names the setting. */
function checkThrottling(t: DynamoThrottling): void {
  if (!(t.fraction >= 0 && t.fraction <= 1)) {
    throw new Error(`dynamo throttling: fraction must be within 0..1, got ${t.fraction}`);
  }
  const code = t.code ?? DYNAMODB_THROTTLE_CODES[0];
  if (code !== "mixed" && !DYNAMODB_THROTTLE_CODES.includes(code)) {
    throw new Error(`dynamo throttling: code ${String(code)} is not a DynamoDB throttling error`);
  }
}

/**
 * A new counter and throttle, off until {@link DynamoFaults.setThrottling}. `gsiKey` is the
 * attribute that puts an item into the GSI (e.g. `gsi1pk`).
 */
export function createDynamoFaults(gsiKey: string): DynamoFaults {
  const counts: Record<string, DynamoOperationCount> = {};
  // Keys of the items in the index (a write naming the index key put them there).
  const indexed = new Set<string>();
  const namesIndexKey = (body: string) => new RegExp(`\\b${gsiKey}\\b`).test(body);
  let throttling: (DynamoThrottling & { random: () => number }) | undefined;
  let late: (DynamoLateReply & { left: number }) | undefined;
  return {
    counts,
    setLateReply(l) {
      if (l !== null && !(l.delayMs >= 0)) {
        throw new Error(`dynamo late reply: delayMs must be >= 0, got ${l.delayMs}`);
      }
      late = l === null ? undefined : { ...l, left: l.times ?? 1 };
    },
    takeLateReply(operation, body) {
      if (!late || late.operation !== operation) return undefined;
      if (late.match !== undefined && !body.includes(late.match)) return undefined;
      const use = { delayMs: late.delayMs, applied: late.applied ?? true };
      if (--late.left <= 0) late = undefined;
      return use;
    },
    setThrottling(t) {
      if (t === null) {
        throttling = undefined;
        return;
      }
      checkThrottling(t);
      throttling = { ...t, random: seededRandom(t.seed ?? 1) };
    },
    resetCounts() {
      for (const key of Object.keys(counts)) delete counts[key];
    },
    decide(operation, body) {
      const count = (counts[operation] ??= { calls: 0, throttled: 0, units: 0 });
      count.calls += 1;
      const ops = throttling?.operations ?? DYNAMODB_DATA_OPERATIONS;
      if (throttling && ops.includes(operation) && throttling.random() < throttling.fraction) {
        count.throttled += 1;
        const code = throttling.code ?? DYNAMODB_THROTTLE_CODES[0];
        if (code !== "mixed") return code;
        return DYNAMODB_THROTTLE_CODES[throttling.random() < 0.5 ? 0 : 1];
      }
      if (SINGLE_ITEM_WRITES.has(operation)) return undefined; // billed by bill()
      count.units += 1 + (WRITES.has(operation) && namesIndexKey(body) ? 1 : 0);
      return undefined;
    },
    bill(operation, input, tableUnits) {
      const count = (counts[operation] ??= { calls: 0, throttled: 0, units: 0 });
      const key = JSON.stringify(input.Key ?? pick(input.Item, ["pk", "sk"]));
      const names = namesIndexKey(JSON.stringify(input));
      const inIndex = indexed.has(key) || (names && operation !== "DeleteItem");
      if (names && operation !== "DeleteItem") indexed.add(key);
      if (operation === "DeleteItem") indexed.delete(key);
      count.units += tableUnits * (inIndex || (names && operation === "DeleteItem") ? 2 : 1);
    },
  };
}

/** The `names` attributes of `item` (a marshalled item), or undefined. */
function pick(item: Record<string, unknown> | undefined, names: string[]) {
  if (!item) return undefined;
  return Object.fromEntries(names.map((n) => [n, item[n]]));
}

/** Answers a throttling error exactly as DynamoDB does (HTTP 400, awsJson 1.0 error body). */
export function sendThrottled(res: ServerResponse, code: DynamoThrottleCode): void {
  const body = JSON.stringify({
    __type: `com.amazonaws.dynamodb.v20120810#${code}`,
    message: MESSAGES[code],
  });
  res.writeHead(400, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": `THROTTLED${Date.now().toString(36).toUpperCase()}`,
  });
  res.end(body);
}
