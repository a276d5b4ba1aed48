/** The fan-out's own dead-lettering: an event no retry can deliver is parked with the reasons. */
import type * as Sqs from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { ENV, type Notification } from "../types";
import type { ChannelStatus } from "./plan";

/** Per-cold-start cache (see handlers/README.md rule 3). */
const cache: { sqs?: Sqs.SQSClient } = {};

/** Longest `reason` attribute written (characters): a longer list of reasons is cut. */
const MAX_REASON_CHARS = 4000;

/**
 * Sends the record's body to the DLQ (`DEAD_LETTER_QUEUE_URL`) with the failed channels and their
 * reasons, the notification id and the receive count as message attributes, so nothing is lost
 * silently. False when no DLQ is configured (then SQS's own redrive policy has the last word);
 * SQS errors are thrown.
 */
export async function deadLetter(
  record: SQSRecord,
  n: Notification | undefined,
  outcomes: Array<{ channel: string; status: ChannelStatus; reason?: string }>,
): Promise<boolean> {
  const url = process.env[ENV.deadLetterQueueUrl];
  if (!url) return false;
  // Required here, not at the top: only an event that cannot be delivered needs SQS, and every
  // client loaded at the top of the archive costs each cold start ~10 ms.
  const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs") as typeof Sqs;
  // useQueueUrlAsEndpoint: false — by default the client sends to the queue URL's host, which
  // would bypass the standard endpoint configuration (AWS_ENDPOINT_URL_SQS).
  cache.sqs ??= new SQSClient({
    maxAttempts: 3,
    useQueueUrlAsEndpoint: false,
    requestHandler: {
      connectionTimeout: 2000,
      requestTimeout: 5000,
      throwOnRequestTimeout: true,
    },
  });
  const failed = outcomes.filter((o) => o.status === "failed" || o.status === "abandoned");
  const reasons = failed
    .map((o) => `${o.channel}: ${o.reason ?? o.status}`)
    .join("; ")
    .slice(0, MAX_REASON_CHARS);
  const attr = (v: string) => ({ DataType: "String", StringValue: v || "-" });
  await cache.sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: record.body,
      MessageAttributes: {
        reason: attr(reasons),
        failedChannels: attr(failed.map((o) => o.channel).join(",")),
        notificationId: attr(n?.id ?? ""),
        receiveCount: attr(record.attributes?.ApproximateReceiveCount ?? "1"),
      },
    }),
  );
  return true;
}
