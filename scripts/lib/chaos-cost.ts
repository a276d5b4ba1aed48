/**
 * What one million events cost in AWS, from measured counts (the chaos bench's clean pass) and
 * list prices (us-east-1):
 * - DynamoDB on demand (since November 2024; ../shared/REFERENCE.md "DynamoDB"): $0.625 per million
 *   write request units, $0.125 per million read request units; a write up to 1 KB is 1 WRU, each
 *   GSI write another; a failed conditional write is billed, a throttled request is not. Reads
 *   are counted as 1 RRU per call (an upper bound: an eventually consistent GetItem is 0.5).
 * - AWS Lambda (aws.amazon.com/lambda/pricing, x86): $0.20 per million requests and
 *   $0.0000166667 per GB-second, duration billed per 1 ms.
 * - Amazon SQS standard queue (aws.amazon.com/sqs/pricing): $0.40 per million requests; per event
 *   one SendMessage (EventBridge's delivery) and per batch one ReceiveMessage and one
 *   DeleteMessageBatch (the event source mapping).
 * Not included: channel costs (SMS messages), CloudWatch Logs ingestion, Secrets Manager (one
 * read per cold start), the free tiers.
 */
import type { DynamoOperationCount } from "../../testing";

/** USD per million units. */
export const PRICES = {
  ddbWriteUnit: 0.625,
  ddbReadUnit: 0.125,
  lambdaRequest: 0.2,
  lambdaGbSecond: 0.0000166667 * 1e6,
  sqsRequest: 0.4,
} as const;

const WRITE_OPERATIONS = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchWriteItem",
  "TransactWriteItems",
]);

/** What the clean pass measured. */
export interface CostInputs {
  events: number;
  /** Notifications delivered (event × channel). */
  notifications: number;
  counts: Record<string, DynamoOperationCount>;
  /** Handler time of each fan-out invocation (ms). */
  invocationMs: number[];
  memoryMb: number;
}

/** The `cost` fragment of the chaos report. */
export interface ChaosCost {
  /** DynamoDB calls that got through, per notification (clean pass). */
  ddbCallsPerNotification: number;
  /** Write request units per event (clean pass). */
  ddbWritesPerEvent: number;
  ddbReadsPerEvent: number;
  /** DynamoDB + Lambda + SQS, USD per million events (clean pass). */
  usdPerMillionEvents: number;
  usdPerMillionEventsBreakdown: { dynamodb: number; lambda: number; sqs: number };
  /** Under chaos: calls per event (SDK retries included) and the share throttled. */
  chaosDdbCallsPerEvent: number;
  chaosThrottledShare: number;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function sum(counts: Record<string, DynamoOperationCount>, pick: (op: string) => boolean) {
  let calls = 0;
  let units = 0;
  let throttled = 0;
  for (const [op, c] of Object.entries(counts)) {
    if (!pick(op)) continue;
    calls += c.calls - c.throttled;
    units += c.units;
    throttled += c.throttled;
  }
  return { calls, units, throttled };
}

/** Prices the clean pass and summarizes the chaos run's DynamoDB traffic. */
export function chaosCost(
  clean: CostInputs,
  chaos: { events: number; counts: Record<string, DynamoOperationCount> },
): ChaosCost {
  const events = Math.max(1, clean.events);
  const all = sum(clean.counts, () => true);
  const writes = sum(clean.counts, (op) => WRITE_OPERATIONS.has(op));
  const reads = sum(clean.counts, (op) => !WRITE_OPERATIONS.has(op));
  const wruPerEvent = writes.units / events;
  const rruPerEvent = reads.units / events;
  const dynamodb = wruPerEvent * PRICES.ddbWriteUnit + rruPerEvent * PRICES.ddbReadUnit;
  const invocationsPerEvent = clean.invocationMs.length / events;
  const gbSeconds = clean.invocationMs.reduce(
    (t, ms) => t + (Math.ceil(ms) / 1000) * (clean.memoryMb / 1024),
    0,
  );
  const lambda =
    invocationsPerEvent * PRICES.lambdaRequest + (gbSeconds / events) * PRICES.lambdaGbSecond;
  const sqs = (1 + 2 * invocationsPerEvent) * PRICES.sqsRequest;
  const underChaos = sum(chaos.counts, () => true);
  const chaosCalls = underChaos.calls + underChaos.throttled;
  return {
    ddbCallsPerNotification: round(all.calls / Math.max(1, clean.notifications)),
    ddbWritesPerEvent: round(wruPerEvent),
    ddbReadsPerEvent: round(rruPerEvent),
    usdPerMillionEvents: round(dynamodb + lambda + sqs),
    usdPerMillionEventsBreakdown: {
      dynamodb: round(dynamodb),
      lambda: round(lambda),
      sqs: round(sqs),
    },
    chaosDdbCallsPerEvent: round(chaosCalls / Math.max(1, chaos.events)),
    chaosThrottledShare: round(underChaos.throttled / Math.max(1, chaosCalls), 3),
  };
}
