/**
 * The fan-out Lambda: an SQS batch of CodePipeline events → notifications on every channel.
 * (Placeholder until the delivery engine lands: accepts every record.)
 */
import type { RuntimeConfig } from "./types";

/** SQS batch response with partial failures (ReportBatchItemFailures). */
export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/** Creates the fan-out handler for a stack's runtime config. */
export function createFanoutHandler(config: RuntimeConfig) {
  return async (event: { Records?: Array<{ messageId: string; body: string }> }): Promise<BatchResponse> => {
    const records = event.Records ?? [];
    console.log(JSON.stringify({ message: "batch", records: records.length, stack: config.stack }));
    return { batchItemFailures: [] };
  };
}
