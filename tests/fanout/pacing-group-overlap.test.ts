/**
 * Red team of 2cace35 (fanout/pace.ts `reserveInGroup`: a group's slots move by as long as its
 * call took). The shift is not written to the channel's bucket (`tat`): the next reservation,
 * by this container's next group or by any other invocation, is reckoned from the unshifted
 * slots, and the shifted ones land on its slots. Against real dynalite; the lateness is the
 * test's clock moved while the applied call's reply is on its way back (never waited for).
 */
import { ddb } from "../../handlers/aws";
import { paceDelivery } from "../../handlers/fanout/pace";

import { bucketRefusals } from "../support/token-bucket";
import { usePaceTable } from "../support/pace-table";

const TABLE = "pacing-group-overlap-test";
usePaceTable(TABLE);

it("a group answered 5 s late, then the next group of the channel: every send fits Slack's bucket (no 429)", async () => {
  const clock = { offset: 0 };
  const now = () => Date.now() + clock.offset;
  const t0 = now();
  const deadline = t0 + 120_000;
  const sends: Array<Promise<number>> = [];
  // Each send's time: its decision's moment plus its wait (the clock moves only once, before).
  const send = () =>
    paceDelivery("slack-overlap", "slack", deadline, undefined, now).then((d) =>
      d.kind === "send" ? now() + d.waitMs : NaN,
    );
  // The first pacing call is applied; its reply comes back 5 s later (the SDK's request timeout),
  // and 5 more messages of the channel queue behind it meanwhile (the next group).
  const client = ddb();
  const real = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  let late = false;
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const first = !late && String(cmd.input?.Key?.pk ?? "").startsWith("PACE#");
    if (first) late = true;
    const out = await real(cmd, ...rest);
    if (first) {
      for (let i = 0; i < 5; i++) sends.push(send());
      clock.offset += 5000;
    }
    return out;
  }) as any);

  // A batch's 10 Slack messages of 10 pipelines to one channel, at one moment: one group.
  for (let i = 0; i < 10; i++) sends.push(send());
  await new Promise((r) => setImmediate(r));
  const firstGroup = await Promise.all(sends.slice());
  const all = await Promise.all(sends);

  expect(late).toBe(true);
  expect(firstGroup.length).toBe(10);
  expect(all.length).toBe(15);
  expect(all.every(Number.isFinite)).toBe(true);
  // Slack: 1 per second, bursts of 3 (contracts/rate-limits.ts); nothing else sent to it.
  expect(bucketRefusals(all, "slack")).toBe(0);
});
