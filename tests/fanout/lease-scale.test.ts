/**
 * A delivery claim's lease outlasts the invocation that holds it, on AWS's clock and under the
 * local world's scaled clocks (red team, round 8). On AWS the function stops 3 s after the
 * handler's deadline (its margin) and the lease lasts 5 s after it. The local Lambda lets an
 * invocation overrun its scaled timeout by up to 5 s of real time (testing/lambda.ts
 * `killAfterMs`: the machine does not get faster with the scale); with the lease scaled to 100 ms
 * at the sandbox's 1/50, a concurrent receive of the same event could take a slot that a
 * still-running invocation was sending, a duplicate AWS would not make.
 */
import { DEADLINE_MARGIN_MS } from "../../handlers/fanout/handler";
import { claimLease } from "../../handlers/fanout/invocation";
import { scaledMs, TIME_SCALE_ENV } from "../../handlers/http";
import { SETTINGS } from "../../infra/settings";
import { killAfterMs } from "../../testing/lambda";

const before = process.env[TIME_SCALE_ENV];
afterEach(() => {
  if (before === undefined) delete process.env[TIME_SCALE_ENV];
  else process.env[TIME_SCALE_ENV] = String(before);
});

// 1: AWS; 3: the chaos bench; 50: the sandbox (sandbox/wiring.ts DEFAULT_TIME_SCALE).
it.each([1, 3, 50])(
  "at time scale %i the lease ends after the local Lambda has certainly stopped the invocation",
  (scale) => {
    process.env[TIME_SCALE_ENV] = String(scale);
    const timeoutMs = (SETTINGS.fanoutTimeoutSeconds * 1000) / scale;
    const start = 1_000_000;
    const deadline = start + timeoutMs - scaledMs(DEADLINE_MARGIN_MS);
    const stopped = start + killAfterMs(timeoutMs, scale);

    expect(claimLease({ deadline })).toBeGreaterThan(stopped);
  },
);

it("on AWS's clock the lease is the deadline plus 5 s, as before", () => {
  delete process.env[TIME_SCALE_ENV];
  expect(claimLease({ deadline: 1_000_000 })).toBe(1_005_000);
});
