/**
 * A receiver that keeps answering 429 with a short Retry-After must not push an event through its
 * 12 deferrals within a minute (red-team finding): each copy waits at least 1 s × 2^deferrals, up
 * to SQS's 900 s maximum DelaySeconds (SQS API reference, SendMessage).
 */
import { deferralFloorMs, MAX_DEFERRALS } from "../../handlers/fanout/deferral";

test("the floor doubles per deferral and stops at SQS's 900 s", () => {
  expect([0, 1, 2, 3, 9, 10, 11, 30].map(deferralFloorMs)).toEqual([
    1000, 2000, 4000, 8000, 512_000, 900_000, 900_000, 900_000,
  ]);
});

test("12 deferrals span at least about 47 minutes, whatever the Retry-After", () => {
  let total = 0;
  for (let n = 0; n < MAX_DEFERRALS; n++) total += deferralFloorMs(n);
  expect(total).toBe(1000 * (1023 + 900 + 900));
  expect(total / 60_000).toBeGreaterThan(47);
});
