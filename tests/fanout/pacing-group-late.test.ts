/**
 * Red team of the group commit of send-slot reservations (issue 12; fanout/pace.ts
 * `reserveInGroup`): one pacing call serves K requests, and its slots are reckoned from the
 * call's start. When its reply comes late (the SDK repeats a request after its request timeout,
 * 5 s: handlers/aws.ts; or backs off under throttling), every slot already past is sent at once:
 * one late reply turned a batch's Slack messages into a burst over the receiver's bucket.
 * Against real dynalite; the lateness is the test's clock moved while the call's reply is on
 * its way back (never waited for).
 */
import { ddb } from "../../handlers/aws";
import { SLACK_RATE_LIMIT } from "../../handlers/contracts/rate-limits";
import { paceDelivery } from "../../handlers/fanout/pace";

import { bucketRefusals } from "../support/token-bucket";
import { usePaceTable } from "../support/pace-table";

const TABLE = "pacing-group-late-test";
usePaceTable(TABLE);

it("a group's pacing call answered 5 s late: no more Slack messages at once than the receiver's burst, and none earlier than the GCRA's slots", async () => {
  const clock = { offset: 0 };
  const now = () => Date.now() + clock.offset;
  const t0 = now();
  // The pacing call is applied; its reply comes back 5 s later (the SDK's request timeout).
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  let late = false;
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const out = await send(cmd, ...rest);
    if (!late && String(cmd.input?.Key?.pk ?? "").startsWith("PACE#")) {
      late = true;
      clock.offset += 5000;
    }
    return out;
  }) as any);
  const deadline = t0 + 60_000;

  // A batch's 10 Slack messages of 10 pipelines to one channel, at one moment: one group.
  // Each send's time: its decision's moment plus its wait (decisions of two calls' replies
  // are made at two moments: a slot given up after the late reply is reserved again).
  const sends = await Promise.all(
    Array.from({ length: 10 }, () =>
      paceDelivery("slack-late", "slack", deadline, undefined, now).then((d) =>
        d.kind === "send" ? { at: now() + d.waitMs, waitMs: d.waitMs } : { at: NaN, waitMs: NaN },
      ),
    ),
  );

  expect(late).toBe(true);
  const atOnce = sends.filter((s) => s.waitMs === 0).length;
  const times = sends.map((s) => s.at).sort((a, b) => a - b);
  // Slack: 1 per second, bursts of 3 (contracts/rate-limits.ts); the fan-out paces with 2.
  expect(atOnce).toBeLessThanOrEqual(SLACK_RATE_LIMIT.burst - 1);
  // No 429 from Slack's bucket, and 1 s apart past the burst (T = 1000 ms) from the reply on,
  // but for a slot sent at the reply that its call's lag (< T / 2) brought closer to the next.
  expect(bucketRefusals(times, "slack")).toBe(0);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  expect(gaps.slice(atOnce).every((g) => g >= 990)).toBe(true);
  expect(gaps.slice(atOnce - 1).every((g) => g >= 500)).toBe(true);
});
