/**
 * The contract between the fan-out engine and the channel drivers (after Prometheus
 * Alertmanager's `notify/`): one small interface for every channel type, one module per type,
 * a pure formatter and a sender that resolves with a receipt or throws a {@link DeliveryError}
 * that says whether a retry can help.
 */
import type { ThreadStore } from "../store/threads";
import type { ChannelConfig, ChannelType, Digest, Notification } from "../types";

/** What a successful delivery returns. */
export interface DeliveryReceipt {
  /** Channel instance name, e.g. "slack-eng". */
  channel: string;
  type: ChannelType;
  /** HTTP status of the accepting response (HTTP channels). */
  status?: number;
  /** Provider id of the delivered message: Slack `ts`, PagerDuty dedup key, SNS MessageId, … */
  id?: string;
  /** Some text was cut to fit the medium's limits (the cut is visible as "…"). */
  truncated?: boolean;
}

/**
 * A failed delivery. Made by `deliveryError()` in handlers/http.ts (no classes: see
 * handlers/README.md). Its message and properties never contain a secret.
 */
export interface DeliveryError extends Error {
  name: "DeliveryError";
  /** Channel instance name. */
  channel: string;
  /** A later attempt may succeed (throttling, 5xx, timeout, network); false: give up. */
  retryable: boolean;
  /** The provider asked to wait at least this long before the next attempt. */
  retryAfterMs?: number;
  /** HTTP status of the failing response, when there was one. */
  status?: number;
  /**
   * The request was sent and no answer came (a timeout, or the connection broken after the
   * request was written): the receiver may have taken the message, so a repeat may be a
   * duplicate where the receiver has no idempotency (fanout/deliver.ts records it `ambiguous`).
   */
  mayHaveArrived?: boolean;
}

/** The one SNS call the sms and email channels need; satisfied by `snsPublisher(client)`. */
export interface SnsPublisher {
  publish(input: {
    TopicArn: string;
    Message: string;
    Subject?: string;
    MessageAttributes?: Record<string, { DataType: string; StringValue: string }>;
  }): Promise<{ MessageId?: string }>;
}

/** Structured logger; fields must never carry secrets (drivers redact before logging). */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Everything a driver needs to deliver one notification to one channel instance. */
export interface ChannelContext<C extends ChannelConfig = ChannelConfig> {
  /** Channel instance name from stack config, e.g. "slack-eng". */
  name: string;
  /** Non-secret settings. */
  config: C;
  /** This channel's secret fields (webhookUrl, routingKey, url, bearerToken, botToken). */
  secret: Record<string, string>;
  /** Epoch ms: the call must settle before this (Lambda remaining time minus a margin). */
  deadline: number;
  /** Per HTTP call; default {@link DEFAULT_TIMEOUT_MS}, never beyond `deadline`. */
  timeoutMs?: number;
  /** SNS client for the sms and email channels. */
  sns: SnsPublisher;
  /** sms and email channels: the channel's SNS topic. */
  topicArn?: string;
  /**
   * PagerDuty only: the dedup key of the open incident that a `success` notification resolves
   * (kept by the engine in the ledger). Without it, PagerDuty refuses a success.
   */
  resolveDedupKey?: string;
  /**
   * PagerDuty only: the dedup key of the pipeline's open incident a failure's trigger is added to
   * (store/incidents.ts `claimIncident`, issue 11). Absent: the failure's own key.
   */
  dedupKey?: string;
  /**
   * Slack in bot mode only (issue 11): where each execution's thread is kept
   * (handlers/store/threads.ts). Absent: every notification is a message of its own, as before.
   */
  threads?: ThreadStore;
  log: Logger;
}

/** One channel type: a pure formatter and a sender. */
export interface ChannelDriver<C extends ChannelConfig = ChannelConfig> {
  type: C["type"];
  /**
   * The payload this channel would send: pure and JSON-serializable (sms/email:
   * `{ subject?, message }`). Throws when the channel never carries this kind of notification.
   */
  format(n: Notification, config: C): unknown;
  /** Delivers `n`; resolves with a receipt, or throws a {@link DeliveryError}. */
  send(n: Notification, ctx: ChannelContext<C>): Promise<DeliveryReceipt>;
  /**
   * The payload of a digest (issue 11 grouping): pure, like {@link format}. Absent on channel types
   * that are never grouped into digests (PagerDuty: one open incident per pipeline instead).
   */
  formatDigest?(d: Digest, config: C): unknown;
  /** Delivers a digest; as {@link send}. Present exactly when {@link formatDigest} is. */
  sendDigest?(d: Digest, ctx: ChannelContext<C>): Promise<DeliveryReceipt>;
}

/** Default timeout of one HTTP call, in ms. */
export const DEFAULT_TIMEOUT_MS = 5000;
