/**
 * Shared pieces of the grouping tests that deliver one notification by hand through
 * handlers/fanout/deliver.ts (grouping-first, grouping-first-release, grouping-late-copy), and
 * grouping-late-mark, which groups by hand.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../../handlers/channels/types";
import type { Invocation } from "../../handlers/fanout/invocation";
import type { DeliveryRef } from "../../handlers/store/ledger";
import type { Notification } from "../../handlers/types";
import { startFanoutWorld, type ConfigEdit, type FanoutWorld } from "./fanout";

/** The fan-out's own queue in these tests: digest flushes and deferred copies are queued there. */
export const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";

/**
 * Starts the file's fan-out world with `EVENTS_QUEUE_URL` set (before the handler's SQS client
 * is made), `edit` applied to its raw config, and TIME_SCALE `scale` when given; hands it to
 * `use`, and closes it and restores the environment after the file.
 */
function useWorldOf(
  opts: { scale?: number; edit?: ConfigEdit },
  use: (world: FanoutWorld) => void,
): void {
  const saved = { ...process.env };
  let started: FanoutWorld | undefined;
  beforeAll(async () => {
    process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
    if (opts.scale !== undefined) process.env.TIME_SCALE = String(opts.scale);
    started = await startFanoutWorld(opts.edit);
    use(started);
  });
  afterAll(async () => {
    await started?.close();
    process.env = saved;
  });
}

/** The file's fan-out world ({@link useWorldOf}) of the default config. */
export function useQueuedWorld(use: (world: FanoutWorld) => void): void {
  useWorldOf({}, use);
}

/** Makes critical pipelines named `<prefix>…` fail to the critical tier. */
function criticalPrefix(raw: Parameters<ConfigEdit>[0], prefix: string): void {
  raw.pipelines.push({ prefix, tier: "critical", states: ["FAILED"] });
}

/**
 * The file's fan-out world ({@link useWorldOf}) at TIME_SCALE `scale` in which critical
 * pipelines named `<prefix>…` fail and slack-eng groups (60 s windows, 3 individual messages).
 */
export function useSlackGroupingWorld(
  opts: { prefix: string; scale: number },
  use: (world: FanoutWorld) => void,
): void {
  const edit: ConfigEdit = (raw) => {
    criticalPrefix(raw, opts.prefix);
    raw.grouping = { channels: { "slack-eng": { windowSeconds: 60, maxIndividual: 3 } } };
  };
  useWorldOf({ scale: opts.scale, edit }, use);
}

/**
 * The file's fan-out world ({@link useWorldOf}) at TIME_SCALE `scale` with a webhook channel
 * `hook` that critical pipelines named `<prefix>…` reach (its receiver the world's webhook
 * stand-in), `edit` applied to the rest of the raw config.
 */
export function useHookWorld(
  opts: { hook: string; prefix: string; scale: number; edit?: ConfigEdit },
  use: (world: FanoutWorld) => void,
): void {
  const edit: ConfigEdit = (raw) => {
    criticalPrefix(raw, opts.prefix);
    raw.channels[opts.hook] = { type: "webhook" };
    raw.routing.critical = [...raw.routing.critical, opts.hook];
    raw.secrets[opts.hook] = { url: "http://127.0.0.1:1/placeholder" };
    opts.edit?.(raw);
  };
  useWorldOf({ scale: opts.scale, edit }, (started) => {
    const url = started.standins.receivers.urlFor("webhook", opts.hook);
    started.config.channelSecrets[opts.hook] = { url };
    use(started);
  });
}

/** A logger that says nothing (the tests assert on records and receivers, not on logs). */
export const quietLogger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child: () => quietLogger,
} as unknown as Logger;

/** A fan-out invocation of `world`'s runtime config and secrets until `deadline` (epoch ms). */
export function handInvocation(world: FanoutWorld, deadline: number): Invocation {
  return {
    config: world.config.runtime,
    deadline,
    secrets: async () => world.config.channelSecrets,
    topics: {},
    log: quietLogger as Invocation["log"],
  };
}

/**
 * A critical pipeline-level FAILED notification of a new execution of a pipeline named
 * `<prefix><8 hex>`, at `Date.now()` (so a test's mocked clock), to the second.
 */
export function pipelineFailure(prefix: string): Notification {
  const id = randomUUID().replace(/-/g, "").slice(0, 24);
  return {
    id,
    eventId: randomUUID(),
    kind: "failure",
    level: "pipeline",
    pipeline: `${prefix}${id.slice(0, 8)}`,
    executionId: randomUUID(),
    state: "FAILED",
    account: "123456789012",
    region: "us-east-1",
    time: new Date(Date.now()).toISOString().replace(/\.\d+Z$/, "Z"),
    consoleUrl: "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/x/view",
    tier: "critical",
    severity: "critical",
  } as Notification;
}

/** The ledger reference of `n`'s delivery to `channel` (its slot is the channel), as deliver.ts builds it. */
export function deliveryRefOf(n: Notification, channel: string): DeliveryRef {
  return {
    pipeline: n.pipeline,
    account: n.account,
    region: n.region,
    eventTime: n.time,
    notificationId: n.id,
    slot: channel,
    channel,
    executionId: n.executionId,
    eventId: n.eventId,
  };
}
