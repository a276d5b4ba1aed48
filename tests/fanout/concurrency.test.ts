/**
 * The batch loop's concurrency (issue 11, handlers/fanout/order.ts): records run at once up to a
 * bound, and only (pipeline, channel) keeps batch order. Pure tests of the ordering hook; the
 * end-to-end behaviour with a hanging Slack is tests/fanout/head-of-line.test.ts.
 */
import {
  pipelineOrder,
  RECORD_CONCURRENCY,
  runBounded,
  deliverInTurn,
} from "../../handlers/fanout/order";
import { SETTINGS } from "../../infra/settings";

/** Resolves after the promises queued so far have run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

test("the bound covers the declared batch: no record of a batch ever queues behind another's slow channel", () => {
  expect(RECORD_CONCURRENCY).toBeGreaterThanOrEqual(SETTINGS.batchSize);
});

test("a later record waits for an earlier one's channel, not for its other channels", async () => {
  const order = pipelineOrder();
  const first = order.next();
  const second = order.next();
  let slackTurn = false;
  let pageTurn = false;
  void second.turn("slack-eng").then(() => (slackTurn = true));
  void second.turn("pagerduty-oncall").then(() => (pageTurn = true));
  await flush();
  expect([slackTurn, pageTurn]).toEqual([false, false]);
  first.release("pagerduty-oncall"); // the first event's page went; its Slack still hangs
  await flush();
  expect([slackTurn, pageTurn]).toEqual([false, true]);
  first.releaseAll(); // the first record ended
  await flush();
  expect(slackTurn).toBe(true);
});

test("releaseExcept frees the channels a record will not deliver to at once", async () => {
  const order = pipelineOrder();
  const first = order.next();
  const second = order.next();
  const third = order.next();
  const got: string[] = [];
  void third.turn("sms-oncall").then(() => got.push("sms"));
  void third.turn("slack-eng").then(() => got.push("slack"));
  first.releaseExcept(["slack-eng"]); // a success: no SMS
  second.releaseExcept(["slack-eng", "sms-oncall"]);
  await flush();
  expect(got).toEqual([]);
  second.release("sms-oncall");
  await flush();
  expect(got).toEqual(["sms"]);
});

test("the first record of a pipeline never waits; other pipelines have their own order", async () => {
  const a = pipelineOrder();
  const b = pipelineOrder();
  a.next(); // holds everything, never released
  let bTurn = false;
  let aFirstTurn = false;
  void b
    .next()
    .turn("slack-eng")
    .then(() => (bTurn = true));
  await flush();
  expect(bTurn).toBe(true);
  const fresh = pipelineOrder().next();
  void fresh.turn("slack-eng").then(() => (aFirstTurn = true));
  await flush();
  expect(aFirstTurn).toBe(true);
});

test("deliverInTurn: each channel's deliveries start in its turn and the results keep their order", async () => {
  const order = pipelineOrder();
  const first = order.next();
  const second = order.next();
  const started: string[] = [];
  const done = deliverInTurn(
    second,
    [{ channel: "pagerduty-oncall" }, { channel: "slack-eng" }, { channel: "pagerduty-oncall" }],
    async (d) => {
      started.push(d.channel);
      if (d.channel === "slack-eng") throw new Error("slack down");
      return d.channel;
    },
  );
  first.release("pagerduty-oncall");
  await flush();
  expect(started).toEqual(["pagerduty-oncall", "pagerduty-oncall"]);
  first.releaseAll();
  const results = await done;
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
});

test("runBounded: never more than the bound at once, started in order", async () => {
  let running = 0;
  let most = 0;
  const startedOrder: number[] = [];
  const tasks = Array.from({ length: 7 }, (_, i) => async () => {
    startedOrder.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
  });
  await runBounded(tasks, 3);
  expect(most).toBe(3);
  expect(startedOrder).toEqual([0, 1, 2, 3, 4, 5, 6]);
});
