/**
 * Scaled time keeps AWS's ratios for what the fan-out decides (deadlines, backoff, leases), but a
 * round trip to a local stand-in takes the machine's time, not 1/50 of it: the SDK and enrichment
 * timeouts have a real-time floor (handlers/http.ts `roundTripTimeoutMs`), and none on AWS.
 */
import { roundTripTimeoutMs, scaledMs, TIME_SCALE_ENV } from "../handlers/http";

describe("roundTripTimeoutMs", () => {
  const saved = process.env[TIME_SCALE_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[TIME_SCALE_ENV];
    else process.env[TIME_SCALE_ENV] = saved;
  });

  test("on AWS (no time scale) it is the AWS value itself", () => {
    delete process.env[TIME_SCALE_ENV];
    expect(roundTripTimeoutMs(5000, 2000)).toBe(5000);
  });

  test("at 1/50 a 5 s request timeout is 2 s of real time, not the 100 ms scaledMs gives", () => {
    process.env[TIME_SCALE_ENV] = "50";
    expect(scaledMs(5000)).toBe(100);
    expect(roundTripTimeoutMs(5000, 2000)).toBe(2000);
  });

  test("at a mild scale the scaled value wins when it is above the floor", () => {
    process.env[TIME_SCALE_ENV] = "2";
    expect(roundTripTimeoutMs(5000, 2000)).toBe(2500);
  });

  test("the floor never raises a timeout above its AWS value", () => {
    process.env[TIME_SCALE_ENV] = "50";
    expect(roundTripTimeoutMs(500, 2000)).toBe(500);
  });
});
