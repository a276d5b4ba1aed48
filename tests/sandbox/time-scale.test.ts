/**
 * The sandbox's clock keeps AWS's ratios (issue 12; issue 15's `--fault slack=timeout` that took a
 * minute per step): one divisor drives the queue's visibility, the fan-out's function timeout
 * (its `context.getRemainingTimeInMillis()`) and the fan-out's own HTTP timeout, deadline margin
 * and retry backoff (`TIME_SCALE`, handlers/http.ts).
 */
import { DEFAULT_TIMEOUT_MS } from "../../handlers/channels/types";
import { DEADLINE_MARGIN_MS } from "../../handlers/fanout/handler";
import {
  RECEIVER_TIMEOUT_FLOOR_MS,
  receiverTimeoutMs,
  scaledMs,
  TIME_SCALE_ENV,
} from "../../handlers/http";
import { SETTINGS } from "../../infra/settings";
import { startSandbox, type Sandbox } from "../../sandbox/sandbox";
import { timeOutsideWindows } from "../../sandbox/scenario-events";
import { DEFAULT_TIME_SCALE, scaleTimes, type Declared } from "../../sandbox/wiring";

let sandbox: Sandbox;
const lines: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    stack: "staging",
    serve: false,
    faults: ["slack=timeout"],
    log: (l) => lines.push(l),
  });
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
});

describe("one time scale for the queue, the function and its HTTP calls", () => {
  it("keeps the declared ratios: visibility = 6 × function timeout (Lambda developer guide, SQS); the HTTP timeout scaled but with a real-time floor, so 3 attempts still fit in the function timeout as on AWS", () => {
    const { declared, times } = sandbox;
    // Read from the evaluated program and the handler's constants, not restated here.
    const declaredVisibilityMs = declared.declaredVisibilitySeconds * 1000;
    expect(declaredVisibilityMs).toBe(SETTINGS.visibilityTimeoutSeconds * 1000);
    expect(declared.timeoutsMs.fanout).toBe(SETTINGS.fanoutTimeoutSeconds * 1000);
    expect(times.scale).toBe(DEFAULT_TIME_SCALE);
    expect(times.visibilityTimeoutMs / times.fanoutTimeoutMs).toBe(
      declaredVisibilityMs / declared.timeoutsMs.fanout,
    );
    // The receivers are local and the machine does not get 50 times faster: the HTTP timeout is
    // scaled but never under RECEIVER_TIMEOUT_FLOOR_MS real (handlers/http.ts).
    expect(times.httpTimeoutMs).toBe(
      Math.max(DEFAULT_TIMEOUT_MS / DEFAULT_TIME_SCALE, RECEIVER_TIMEOUT_FLOOR_MS),
    );
    expect(3 * times.httpTimeoutMs + times.deadlineMarginMs).toBeLessThan(times.fanoutTimeoutMs);
    expect(3 * DEFAULT_TIMEOUT_MS + DEADLINE_MARGIN_MS).toBeLessThan(declared.timeoutsMs.fanout);
    expect(times.fanoutTimeoutMs / times.deadlineMarginMs).toBe(
      declared.timeoutsMs.fanout / DEADLINE_MARGIN_MS,
    );
    // The Lambda guide's rule holds on the scaled clock too.
    expect(times.visibilityTimeoutMs).toBeGreaterThanOrEqual(6 * times.fanoutTimeoutMs);
    expect(times.fanoutTimeoutMs).toBe(declared.timeoutsMs.fanout / DEFAULT_TIME_SCALE);
  });

  it("prints the scale and the resulting timings once at start", () => {
    const timeLines = lines.filter((l) => l.startsWith("time: "));
    expect(timeLines).toHaveLength(1);
    const { times } = sandbox;
    expect(timeLines[0]).toContain(`1/${times.scale}`);
    const shown = (ms: number) => (ms >= 1000 ? `→ ${ms / 1000} s` : `→ ${ms} ms`);
    for (const ms of [
      times.fanoutTimeoutMs,
      times.httpTimeoutMs,
      times.deadlineMarginMs,
      times.visibilityTimeoutMs,
    ])
      expect(timeLines[0]).toContain(shown(ms));
  });

  it("refuses a scale below 1, naming timeScale", () => {
    const declared = { timeoutsMs: { fanout: 60_000 }, declaredVisibilitySeconds: 360 } as Declared;
    expect(() => scaleTimes(declared, 0.5)).toThrow(/timeScale 0\.5/);
  });

  it("the handler divides its own durations by TIME_SCALE, and leaves them as they are without it (AWS)", () => {
    const before = process.env[TIME_SCALE_ENV];
    try {
      delete process.env[TIME_SCALE_ENV];
      expect(receiverTimeoutMs()).toBe(DEFAULT_TIMEOUT_MS);
      process.env[TIME_SCALE_ENV] = "not a number";
      expect(receiverTimeoutMs()).toBe(DEFAULT_TIMEOUT_MS);
      process.env[TIME_SCALE_ENV] = String(sandbox.times.scale);
      expect(receiverTimeoutMs()).toBe(sandbox.times.httpTimeoutMs);
      expect(scaledMs(DEADLINE_MARGIN_MS)).toBe(sandbox.times.deadlineMarginMs);
    } finally {
      if (before === undefined) delete process.env[TIME_SCALE_ENV];
      else process.env[TIME_SCALE_ENV] = before;
    }
  });

  it("--fault slack=timeout: each receive times out on the scaled HTTP timeout, and the event reaches the DLQ after the fan-out's last receive (4), the receives a scaled visibility apart", async () => {
    const { declared, times } = sandbox;
    const started = Date.now();
    const [posted] = await sandbox.postEvent({
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      // Staging's nightly window (23:00–01:00 New York, weekdays) would suppress an event of now.
      time: timeOutsideWindows(sandbox.runtime, "main-app-staging-v3").toISOString(),
      detail: {
        pipeline: "main-app-staging-v3",
        "execution-id": "time-scale-1",
        state: "FAILED",
        version: 1,
      },
    });
    expect(posted.messageId).toBeDefined();
    // The fan-out dead-letters a record that fails on its last receive itself, with the reason,
    // and reports it done (handlers/fanout/handler.ts): SQS deletes it.
    const dlqBefore = sandbox.dlqCount();
    expect(await sandbox.queue.settled(posted.messageId!)).toBe("deleted");
    const elapsed = Date.now() - started;
    const message = sandbox.queue.messages.find((m) => m.messageId === posted.messageId)!;
    // 1 delivery + 3 retries: the fan-out's own last receive (its MAX_RECEIVE_COUNT, 4), each
    // after the scaled visibility. The queue's maxReceiveCount is one more (5, issue 12: the
    // extra receive only follows a crash), so it is not the number of receives here.
    const receives = Number(declared.archives.fanout.environment.MAX_RECEIVE_COUNT);
    expect(receives).toBe(declared.maxReceiveCount - 1);
    expect(message.receives).toHaveLength(receives);
    expect(message.receives.slice(0, -1).every((r) => !r.ok)).toBe(true);
    expect(sandbox.dlqCount()).toBe(dlqBefore + 1);
    for (let i = 1; i < message.receives.length; i++) {
      const gap = message.receives[i].at.getTime() - message.receives[i - 1].at.getTime();
      expect(gap).toBeGreaterThanOrEqual(times.visibilityTimeoutMs);
    }
    const slack = sandbox.standins.receivers.outcomes("slack");
    // Every request to Slack timed out. 3 scaled HTTP timeouts and the scaled backoff fit in the
    // scaled function timeout, as 3 × 5 s fit in 60 s on AWS, so a receive makes up to 3 attempts
    // (withRetries' default). What is not scaled (a fresh process's start, the local DynamoDB
    // round trips) costs real time, so on a loaded machine a receive's last attempt can be
    // skipped by the deadline check: the count is not exact. With the HTTP timeout unscaled, the
    // first attempt alone would run into the deadline and each receive would make only one.
    expect(slack.timeout).toBeGreaterThan(receives);
    expect(slack.timeout).toBeLessThanOrEqual(3 * receives);
    expect(slack.delivered).toBe(0);
    // The receives waited the scaled visibility between them. No upper bound on the time: that
    // the HTTP timeout is scaled is shown by the attempts above (unscaled, each receive's first
    // attempt would run into the deadline: one attempt per receive), not by this machine's speed.
    expect(elapsed).toBeGreaterThanOrEqual((receives - 1) * times.visibilityTimeoutMs);
  }, 60_000);
});
