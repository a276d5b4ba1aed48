/**
 * withRetries: full-jitter backoff bounds, Retry-After, the deadline, and what is never retried.
 * Time is injected (sleep, now, random): nothing here waits.
 */
import { deliveryError } from "../../handlers/http";
import { backoffDelay, withRetries } from "../../handlers/retry";
import { slackDriver } from "../../handlers/channels/slack";
import { fixture, makeContext, startServer } from "./helpers";

/** A fake clock whose sleep advances time and records each wait. */
function fakeTime(start = 1_000_000): {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  waits: number[];
} {
  const state = { t: start };
  const waits: number[] = [];
  return {
    now: () => state.t,
    sleep: async (ms) => {
      waits.push(ms);
      state.t += ms;
    },
    waits,
  };
}

const retryable = (retryAfterMs?: number) =>
  deliveryError("c", "c: HTTP 503", { retryable: true, status: 503, retryAfterMs });
const permanent = () => deliveryError("c", "c: HTTP 400", { retryable: false, status: 400 });

/** An attempt function failing with `errors` in order, then resolving "done". */
function failing(errors: Error[]): { fn: (n: number) => Promise<string>; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    fn: async (n) => {
      calls.push(n);
      const e = errors[n - 1];
      if (e) throw e;
      return "done";
    },
  };
}

describe("backoffDelay", () => {
  it.each([
    [1, 0, 0],
    [1, 0.999, 199],
    [2, 0.999, 399],
    [3, 0.5, 400],
    [10, 0.999, 4995],
  ])("attempt %i with random %f waits %i ms", (attempt, r, expected) => {
    expect(backoffDelay(attempt, { baseDelayMs: 200, maxDelayMs: 5000, random: () => r })).toBe(
      expected,
    );
  });

  it("waits at least as long as Retry-After asks", () => {
    expect(
      backoffDelay(1, {
        baseDelayMs: 200,
        maxDelayMs: 5000,
        random: () => 0.999,
        retryAfterMs: 7000,
      }),
    ).toBe(7000);
  });
});

describe("withRetries", () => {
  it("retries retryable errors with full-jitter exponential backoff", async () => {
    // Prepare
    const time = fakeTime();
    const attempt = failing([retryable(), retryable()]);
    // Act
    const result = await withRetries(attempt.fn, {
      deadline: time.now() + 60_000,
      sleep: time.sleep,
      now: time.now,
      random: () => 0.999,
    });
    // Assess
    expect(result).toBe("done");
    expect(attempt.calls).toEqual([1, 2, 3]);
    expect(time.waits).toEqual([199, 399]);
  });

  it("keeps every wait within [0, window) for any random value", async () => {
    for (const r of [0, 0.25, 0.5, 0.9999]) {
      const time = fakeTime();
      const attempt = failing([retryable(), retryable(), retryable(), retryable()]);
      await withRetries(attempt.fn, {
        deadline: time.now() + 60_000,
        maxAttempts: 5,
        sleep: time.sleep,
        now: time.now,
        random: () => r,
      });
      time.waits.forEach((w, i) => {
        expect(w).toBeGreaterThanOrEqual(0);
        expect(w).toBeLessThan(Math.min(5000, 200 * 2 ** i));
      });
    }
  });

  it("honours Retry-After", async () => {
    const time = fakeTime();
    const attempt = failing([retryable(3000)]);
    await withRetries(attempt.fn, {
      deadline: time.now() + 60_000,
      sleep: time.sleep,
      now: time.now,
      random: () => 0,
    });
    expect(time.waits).toEqual([3000]);
  });

  it("rethrows at once when the wait would reach the deadline", async () => {
    // Prepare
    const time = fakeTime();
    const err = retryable(5000);
    const attempt = failing([err]);
    // Act
    const outcome = withRetries(attempt.fn, {
      deadline: time.now() + 4000,
      sleep: time.sleep,
      now: time.now,
      random: () => 0,
    });
    // Assess
    await expect(outcome).rejects.toBe(err);
    expect(attempt.calls).toEqual([1]);
    expect(time.waits).toEqual([]);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const time = fakeTime();
    const last = retryable();
    const attempt = failing([retryable(), retryable(), last, retryable()]);
    await expect(
      withRetries(attempt.fn, {
        deadline: time.now() + 60_000,
        sleep: time.sleep,
        now: time.now,
        random: () => 0,
      }),
    ).rejects.toBe(last);
    expect(attempt.calls).toEqual([1, 2, 3]);
  });

  it.each([
    ["a permanent DeliveryError", permanent()],
    ["any other error", new TypeError("bug")],
  ])("never retries %s", async (_name, err) => {
    const time = fakeTime();
    const attempt = failing([err]);
    await expect(
      withRetries(attempt.fn, { deadline: time.now() + 60_000, sleep: time.sleep, now: time.now }),
    ).rejects.toBe(err);
    expect(attempt.calls).toEqual([1]);
    expect(time.waits).toEqual([]);
  });

  it("tells onRetry about each retry", async () => {
    const time = fakeTime();
    const seen: [number, number][] = [];
    await withRetries(failing([retryable(50)]).fn, {
      deadline: time.now() + 60_000,
      sleep: time.sleep,
      now: time.now,
      random: () => 0,
      onRetry: (_e, n, delay) => seen.push([n, delay]),
    });
    expect(seen).toEqual([[1, 50]]);
  });

  it("gets a real delivery through a 503 and a 429 from a local Slack", async () => {
    // Prepare: the server fails twice, then accepts
    const answers = [
      { status: 503, headers: {} },
      { status: 429, headers: { "retry-after": "1" } },
      { status: 200, headers: {} },
    ];
    const server = await startServer((_req, res) => {
      const a = answers.shift() ?? { status: 500, headers: {} };
      res.writeHead(a.status, a.headers);
      res.end(a.status === 200 ? "ok" : "");
    });
    try {
      const time = fakeTime(Date.now());
      const { ctx } = makeContext(
        { type: "slack", mode: "webhook" },
        { webhookUrl: `${server.url}/hook` },
      );
      // Act
      const receipt = await withRetries(() => slackDriver.send(fixture("success"), ctx), {
        deadline: ctx.deadline,
        sleep: time.sleep,
        now: time.now,
        random: () => 0,
      });
      // Assess
      expect(receipt).toMatchObject({ status: 200 });
      expect(server.requests).toHaveLength(3);
      expect(time.waits).toEqual([0, 1000]);
    } finally {
      await server.close();
    }
  });
});
