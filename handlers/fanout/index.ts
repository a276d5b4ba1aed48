/**
 * The fan-out Lambda: an SQS batch of CodePipeline events → the right notification on every
 * channel its tier asks for, exactly once per channel.
 *
 * - handler.ts: the batch loop and partial batch failures;
 * - record.ts: one event end to end; plan.ts: its decisions, pure;
 * - deliver.ts: one channel (ledger claim → send with retries → mark → audit);
 * - dead-letter.ts, metrics.ts, invocation.ts: the DLQ, the EMF metrics, the shared context.
 *
 * A record fails (and SQS redelivers it) only when a channel failed in a way a retry can fix;
 * then only that channel is tried again. On the last attempt, or when every failure is
 * permanent, the event goes to the DLQ with the reasons.
 */
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { RuntimeConfig } from "../types";
import { handleBatch } from "./handler";

export type { ChannelOutcome } from "./deliver";
export type { RecordOutcome } from "./record";

/**
 * Creates the fan-out handler for a stack's runtime config, captured at deploy time by
 * `aws.lambda.CallbackFunction` (secrets and resource names come from the environment).
 */
export function createFanoutHandler(
  config: RuntimeConfig,
): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return (event, context) => handleBatch(config, event, context);
}
