/**
 * The fan-out's own dead-lettering: an event no retry can deliver is parked with the reasons,
 * whatever failed — a channel (record.ts `settle`) or a dependency such as DynamoDB or Secrets
 * Manager on the record's last receive ({@link failureOf}, handler.ts). SQS's native redrive
 * (`maxReceiveCount`) then never has to move a message, which would carry no reason.
 */
import type * as Sqs from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { sqs } from "../aws";
import { FAILING_SERVICES, type FailingService } from "../contracts/metrics";
import { ENV, type ChannelSecrets, type Notification } from "../types";
import { redactAndCut } from "../redact";
import { emitDeadLettered } from "./metrics";
import { fittedAttributes } from "./requeue";
import type { ChannelStatus } from "./plan";

/** Longest `reason` attribute written (characters): a longer list of reasons is cut. */
const MAX_REASON_CHARS = 4000;

/**
 * 1 delivery + 3 retries: the fan-out's last receive (infra/settings.ts `fanoutLastReceive`, one
 * less than the queue's maxReceiveCount), as record.ts.
 */
const DEFAULT_MAX_RECEIVES = 4;

/**
 * The fan-out's last receive (`MAX_RECEIVE_COUNT`, set from infra/settings.ts
 * `fanoutLastReceive`; the events queue's `maxReceiveCount` is one more), else 4.
 * A value that is not a whole number >= 1 is ignored (the default applies).
 */
export function maxReceives(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[ENV.maxReceiveCount]);
  return Number.isInteger(n) && n >= 1 ? n : DEFAULT_MAX_RECEIVES;
}

/**
 * Whether this is the record's last receive by the fan-out (`ApproximateReceiveCount` >=
 * {@link maxReceives}): one that fails now is dead-lettered by the fan-out with its reason.
 */
export function isLastReceive(record: SQSRecord): boolean {
  return Number(record.attributes?.ApproximateReceiveCount ?? "1") >= maxReceives();
}

/**
 * Whether this receive comes after the fan-out's last one: the events queue's `maxReceiveCount`
 * is one higher than `MAX_RECEIVE_COUNT` (infra/settings.ts), so SQS only delivers a message
 * again after the fan-out's last receive when that receive ended without a result — the
 * function crashed or timed out (or its own dead-lettering failed). Such a record is
 * dead-lettered at once with {@link NO_RESULT_REASON}, not processed again.
 */
export function isBeyondLastReceive(record: SQSRecord): boolean {
  return Number(record.attributes?.ApproximateReceiveCount ?? "1") > maxReceives();
}

/** The DLQ reason of a record received after the fan-out's last receive. */
export const NO_RESULT_REASON =
  "the previous receive ended without a result (function crashed or timed out)";

/** The property a wrapper sets on an error to say which dependency threw it. */
const SERVICE_TAG = "deployNotifierService";

/**
 * Marks `err` as thrown by `service` (for errors no SDK exception class names, such as a refused
 * connection) and returns it; an error already marked keeps its first mark.
 */
export function tagService(err: unknown, service: FailingService): unknown {
  if (typeof err === "object" && err !== null && !(SERVICE_TAG in err)) {
    Object.defineProperty(err, SERVICE_TAG, { value: service, enumerable: false });
  }
  return err;
}

/** The SDK's service exception base classes by name, and how the reason names the service. */
const SERVICE_EXCEPTIONS: Readonly<Record<string, FailingService>> = {
  DynamoDBServiceException: FAILING_SERVICES.dynamodb,
  SecretsManagerServiceException: FAILING_SERVICES.secretsManager,
};

/** What a failing dependency is called in a reason, and under which `Service` it is counted. */
export interface Failure {
  /** The dependency (a {@link FAILING_SERVICES} value) the error is counted under. */
  service: FailingService;
  /** `<service>: <error name>: <message>`, redacted, then cut to the attribute's limit. */
  reason: string;
}

/**
 * Which dependency `err` came from and the DLQ reason for it. The service is the wrapper's mark
 * ({@link tagService}), else the AWS SDK v3 exception's base class (every modeled and unmodeled
 * error of a client extends `<Service>ServiceException`, e.g. DynamoDB's
 * `ProvisionedThroughputExceededException` extends `DynamoDBServiceException`), else another
 * SDK client's name (`SQS`, `SNS`…, counted as `other`), else `other`. Secret values in the
 * message are redacted before the reason is cut.
 */
export function failureOf(err: unknown, secrets: readonly string[] = []): Failure {
  const tagged = (err as Record<string, unknown> | null)?.[SERVICE_TAG] as
    FailingService | undefined;
  let sdkName: string | undefined;
  for (let p: unknown = err; p !== null && typeof p === "object"; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: string } }).constructor?.name ?? "";
    if (SERVICE_EXCEPTIONS[name] !== undefined || /^\w+ServiceException$/.test(name)) {
      sdkName = name;
      break;
    }
  }
  const service =
    tagged ?? (sdkName ? SERVICE_EXCEPTIONS[sdkName] : undefined) ?? FAILING_SERVICES.other;
  const label =
    service !== FAILING_SERVICES.other
      ? service
      : sdkName
        ? sdkName.replace(/ServiceException$/, "")
        : "fan-out";
  const e = err instanceof Error ? err : undefined;
  const detail = e
    ? e.name && e.name !== "Error"
      ? `${e.name}: ${e.message}`
      : e.message
    : String(err);
  const reason = redactAndCut(`${label}: ${detail}`, secrets, MAX_REASON_CHARS);
  return { service, reason };
}

/** Every secret value of the channel secrets, for {@link failureOf}'s redaction. */
export function secretValues(secrets: ChannelSecrets | undefined): string[] {
  return Object.values(secrets ?? {}).flatMap((s) => Object.values(s ?? {}));
}

/**
 * Sends the record's body to the DLQ (`DEAD_LETTER_QUEUE_URL`) with the failed channels and their
 * reasons, the notification id and the receive count as message attributes, so nothing is lost
 * silently. False when no DLQ is configured (then SQS's own redrive policy has the last word);
 * SQS errors are thrown.
 */
export async function deadLetter(
  record: SQSRecord,
  n: Pick<Notification, "id"> | undefined,
  outcomes: Array<{ channel: string; status: ChannelStatus; reason?: string }>,
): Promise<boolean> {
  const url = process.env[ENV.deadLetterQueueUrl];
  if (!url) return false;
  const failed = outcomes.filter((o) => o.status === "failed" || o.status === "abandoned");
  const reasons = failed.map((o) => `${o.channel}: ${o.reason ?? o.status}`).join("; ");
  // Already redacted; redactAndCut still cuts the one way (never inside a surrogate pair).
  const reason = redactAndCut(reasons, [], MAX_REASON_CHARS);
  return send(url, record, {
    reason,
    failedChannels: failed.map((o) => o.channel).join(","),
    notificationId: n?.id ?? "",
  });
}

/**
 * Sends the record's body to the DLQ with `failure`'s reason and `failedService` attributes (a
 * dependency failed on the record's last receive, not a channel). False when no DLQ is
 * configured; SQS errors are thrown (then the record fails back to SQS, whose redrive has the
 * last word).
 */
export async function deadLetterFailure(record: SQSRecord, failure: Failure): Promise<boolean> {
  const url = process.env[ENV.deadLetterQueueUrl];
  if (!url) return false;
  return send(url, record, { reason: failure.reason, failedService: failure.service });
}

/**
 * SendMessage to the DLQ with `attributes` and the receive count (no DynamoDB involved), then
 * one `DeadLettered` count. SQS errors are thrown.
 */
async function send(
  url: string,
  record: SQSRecord,
  attributes: Record<string, string>,
): Promise<boolean> {
  // Required here, not at the top: only an event that cannot be delivered needs SQS (aws.ts).
  const { SendMessageCommand } = require("@aws-sdk/client-sqs") as typeof Sqs;
  // Reasons quote receivers' error text: sqsAttribute keeps it within what SQS accepts, and a
  // body that fills the queue's message size leaves the reason what room is left (the
  // attributes count toward it), rather than SQS refusing the message and its reason.
  const all = { ...attributes, receiveCount: record.attributes?.ApproximateReceiveCount ?? "1" };
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: record.body,
      MessageAttributes: fittedAttributes(record.body, all, "reason"),
    }),
  );
  emitDeadLettered({ messageId: record.messageId, failedService: attributes.failedService });
  return true;
}
