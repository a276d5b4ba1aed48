/**
 * Time to the ops alarm (issue 12): from the moment a receiver starts failing (`--fault
 * slack=500`, the page's fault selector, a scenario step's outage) to the moment CloudWatch
 * would put the first alarm-worthy alarm of infra/alarms.ts into ALARM, in AWS time (sandbox time
 * × the time scale).
 *
 * The fan-out's EMF lines (handlers/telemetry.ts `emitMetrics`, names and dimensions from
 * handlers/contracts/metrics.ts) are read from its stdout, as CloudWatch Logs reads them, and
 * summed per one-minute period of AWS time, as the alarms declare (`period: 60`, `Sum`). Two
 * alarms are evaluated, the ones a channel outage trips:
 * - `channel-<name>-failed`: `Failed` with dimension `Channel` ≥ 1 in {@link FAILURES}.datapoints
 *   of the last {@link FAILURES}.minutes periods;
 * - `dlq-sends`: `DeadLettered` (dimension `Component: fanout`) ≥ 1 in one period.
 * The alarm's time is the end of the period that completes its condition (CloudWatch evaluates a
 * period once it is over). Periods are aligned to the sandbox's start, not to the wall clock's
 * minutes, and CloudWatch's ingestion delay of EMF metrics (a minute or two, infra/alarms.ts) is
 * not added: AWS would be up to one period plus that delay later.
 */
import { DIMENSION, METRIC } from "../handlers/contracts/metrics";
import type { RuntimeConfig } from "../handlers/types";
import { FAILURES } from "../infra/alarms";
import type { FaultChange } from "./faults";

/** One metric value the fan-out emitted. */
export interface MetricSample {
  /** Epoch ms (real time) of the EMF document's `_aws.Timestamp`. */
  atMs: number;
  name: string;
  value: number;
  dimensions: Record<string, string>;
}

/** The EMF lines of one Lambda's output, collected. */
export interface MetricLog {
  readonly samples: MetricSample[];
  /** Reads one output line; true when it was (or completed) an EMF document. */
  read(line: string): boolean;
}

/** Most samples kept (a long session's oldest go first); a storm of 1000 events emits ~6000. */
const MAX_SAMPLES = 50_000;

/** A collector of EMF documents from output lines (a line cut across two chunks is rejoined). */
export function createMetricLog(): MetricLog {
  const samples: MetricSample[] = [];
  let partial = "";
  function take(doc: Record<string, any>): boolean {
    const meta = doc?._aws?.CloudWatchMetrics?.[0];
    if (!meta || !Array.isArray(meta.Metrics)) return false;
    const keys: string[] = Array.isArray(meta.Dimensions?.[0]) ? meta.Dimensions[0] : [];
    const dimensions = Object.fromEntries(keys.map((k) => [k, String(doc[k])]));
    const atMs = Number(doc._aws.Timestamp) || Date.now();
    for (const m of meta.Metrics as Array<{ Name: string }>) {
      const value = Number(doc[m.Name]);
      if (Number.isFinite(value)) samples.push({ atMs, name: m.Name, value, dimensions });
    }
    if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
    return true;
  }
  return {
    samples,
    read(line) {
      // EMF documents start with their `_aws` key (telemetry.ts): other log lines are not parsed.
      const text = partial ? partial + line : line;
      if (!text.startsWith('{"_aws"')) return ((partial = ""), false);
      try {
        const doc = JSON.parse(text) as Record<string, unknown>;
        partial = "";
        return take(doc);
      } catch {
        // A chunk boundary cut the line: keep it for the next fragment (bounded).
        partial = text.length < 64_000 ? text : "";
        return false;
      }
    },
  };
}

/**
 * One breaching datapoint of an alarm: a one-minute period whose `Sum` met the threshold (≥ 1).
 * CloudWatch's alarm history lists them in its state change's `stateReasonData`
 * (`evaluatedDatapoints`, each a period's `timestamp` and `value`; DescribeAlarmHistory).
 */
export interface BreachingDatapoint {
  /** The period's start, AWS seconds after the fault started (negative when it began before). */
  periodStartSeconds: number;
  /** The metric's `Sum` in that period. */
  value: number;
}

/** The time to alarm of one fault. */
export interface TimeToAlarm {
  /** The failing receiver (`slack`, `sns`, …) and its fault (`500`, `timeout`). */
  receiver: string;
  fault: string;
  /** The channels of the stack that this receiver serves. */
  channels: string[];
  /** ISO 8601 (real time) when it started failing; when it recovered, if it did. */
  startedAt: string;
  endedAt?: string;
  /** The first delivery failure metric of those channels after the start, AWS seconds after it. */
  firstFailureSeconds?: number;
  /** The first alarm that would fire (`channel-slack-eng-failed`, `dlq-sends`), if any yet. */
  alarm?: string;
  /** AWS seconds from the start of the fault to that alarm. */
  alarmSeconds?: number;
  /**
   * The datapoints that put that alarm into ALARM, oldest first: for `channel-<name>-failed`
   * {@link FAILURES}.datapoints periods within {@link FAILURES}.minutes, for `dlq-sends` one. The
   * alarm's time is the end of the last one's period.
   */
  breachingDatapoints?: BreachingDatapoint[];
  /** The same on the sandbox's own clock, ms. */
  alarmSandboxMs?: number;
  /** The alarm's period is not over yet: it fires when it ends (`alarmSeconds` is then). */
  pending?: boolean;
  /** How the alarm decides (from infra/alarms.ts), for the reader. */
  rule: string;
}

/** The receiver a channel's deliveries go to (sandbox/stacks.ts `stackReceivers`' mapping). */
export function receiverOfChannel(channel: { type: string; mode?: string }): string {
  if (channel.type === "slack") return channel.mode === "bot" ? "slack-api" : "slack";
  if (channel.type === "sms" || channel.type === "email") return "sns";
  return channel.type;
}

/** The AWS-time period (index of 60 s) of a real-time instant. */
function periodOf(atMs: number, originMs: number, scale: number): number {
  return Math.floor(((atMs - originMs) * scale) / 60_000);
}

/** The `Failed` samples of `channels` among `samples`, oldest first as given. */
function failuresOf(samples: readonly MetricSample[], channels: readonly string[]) {
  return samples.filter(
    (s) =>
      s.name === METRIC.failed && s.value > 0 && channels.includes(s.dimensions[DIMENSION.channel]),
  );
}

/** The periods (ascending) in which `of` has samples, each with the samples' `Sum`. */
function sumsPerPeriod(of: readonly MetricSample[], originMs: number, scale: number) {
  const sums = new Map<number, number>();
  for (const s of of) {
    const p = periodOf(s.atMs, originMs, scale);
    sums.set(p, (sums.get(p) ?? 0) + s.value);
  }
  return [...sums]
    .map(([period, value]) => ({ period, value }))
    .sort((a, b) => a.period - b.period);
}

/**
 * The first alarm (and when, epoch ms of real time) that `samples` trip after `fromMs`, for
 * `channels`: the end of the period completing `channel-<name>-failed` or `dlq-sends`, with the
 * breaching datapoints that completed it (`startMs`: epoch ms of real time of a period's start).
 */
export function firstAlarm(
  samples: readonly MetricSample[],
  channels: readonly string[],
  clock: { originMs: number; scale: number; fromMs: number; toMs?: number },
):
  | {
      alarm: string;
      atMs: number;
      firstFailureMs?: number;
      breaching: Array<{ startMs: number; value: number }>;
    }
  | undefined {
  const { originMs, scale, fromMs, toMs = Number.POSITIVE_INFINITY } = clock;
  const periodStartMs = (p: number) => originMs + (p * 60_000) / scale;
  const after = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs && s.value > 0);
  type Candidate = { alarm: string; points: Array<{ period: number; value: number }> };
  const candidates: Candidate[] = [];
  const failures = failuresOf(after, channels);
  for (const channel of channels) {
    const ofChannel = failures.filter((s) => s.dimensions[DIMENSION.channel] === channel);
    const periods = sumsPerPeriod(ofChannel, originMs, scale);
    // Failures in `datapoints` distinct periods within a window of `minutes` periods.
    for (let i = FAILURES.datapoints - 1; i < periods.length; i++) {
      const points = periods.slice(i - FAILURES.datapoints + 1, i + 1);
      if (points[points.length - 1].period - points[0].period < FAILURES.minutes) {
        candidates.push({ alarm: `channel-${channel}-failed`, points });
        break;
      }
    }
  }
  const dead = sumsPerPeriod(
    after.filter((s) => s.name === METRIC.deadLettered),
    originMs,
    scale,
  );
  if (dead[0]) candidates.push({ alarm: "dlq-sends", points: [dead[0]] });
  const endMs = (c: Candidate) => periodStartMs(c.points[c.points.length - 1].period + 1);
  candidates.sort((a, b) => endMs(a) - endMs(b));
  const [first] = candidates;
  if (!first) return undefined;
  return {
    alarm: first.alarm,
    atMs: endMs(first),
    firstFailureMs: failures[0]?.atMs,
    breaching: first.points.map((p) => ({ startMs: periodStartMs(p.period), value: p.value })),
  };
}

/**
 * Time to alarm of every fault that was set (newest first), for the page and `GET /api/alarms`.
 * `originMs`: when the sandbox's clock started (period 0 begins there).
 */
export function timesToAlarm(options: {
  history: readonly FaultChange[];
  samples: readonly MetricSample[];
  runtime: Pick<RuntimeConfig, "channels">;
  originMs: number;
  scale: number;
}): TimeToAlarm[] {
  const { history, samples, runtime, originMs, scale } = options;
  const rule =
    `channel-<name>-failed: Failed ≥ 1 in ${FAILURES.datapoints} of the last ${FAILURES.minutes} one-minute periods; ` +
    "dlq-sends: DeadLettered ≥ 1 in one minute (infra/alarms.ts; CloudWatch's ingestion delay not included)";
  const out: TimeToAlarm[] = [];
  history.forEach((change, i) => {
    if (change.fault === null) return;
    const end = history
      .slice(i + 1)
      .find((c) => c.receiver === change.receiver && c.fault !== change.fault);
    const channels = Object.entries(runtime.channels)
      .filter(([, c]) => receiverOfChannel(c as { type: string }) === change.receiver)
      .map(([name]) => name);
    const aws = (ms: number) => Math.round(((ms - change.atMs) * scale) / 100) / 10;
    const found = firstAlarm(samples, channels, {
      originMs,
      scale,
      fromMs: change.atMs,
      toMs: end?.atMs,
    });
    // The first failure is shown whether or not an alarm fired (yet).
    const firstFailure = failuresOf(samples, channels).find(
      (s) => s.atMs >= change.atMs && s.atMs <= (end?.atMs ?? Number.POSITIVE_INFINITY),
    );
    out.push({
      receiver: change.receiver,
      fault: change.fault,
      channels,
      startedAt: new Date(change.atMs).toISOString(),
      ...(end && { endedAt: new Date(end.atMs).toISOString() }),
      ...(firstFailure && { firstFailureSeconds: aws(firstFailure.atMs) }),
      ...(found && {
        alarm: found.alarm,
        alarmSeconds: aws(found.atMs),
        breachingDatapoints: found.breaching.map((d) => ({
          periodStartSeconds: aws(d.startMs),
          value: d.value,
        })),
        alarmSandboxMs: Math.round(found.atMs - change.atMs),
        ...(found.atMs > Date.now() && { pending: true }),
      }),
      rule,
    });
  });
  return out.reverse();
}
