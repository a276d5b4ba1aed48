/**
 * What grouping costs in DynamoDB calls (issue 12 counts them): the decision is folded into the
 * channel's pacing UpdateItem (store/pacing.ts) and the grouped slot's mark is the write that
 * would have marked it sent (store/digest.ts), so a grouped notification costs no more than an
 * individual one: claim + 1 pacing call (refused; the item DynamoDB returns with the refusal shows
 * the window spent) + mark, and one write once the container knows the window is spent
 * (fanout/group-first.ts). The digest costs one Query
 * of the index per flush, plus its own claim, pacing and mark. Real fan-out against dynalite;
 * every request of the handler's document client is counted (the figures are printed for the
 * report: `npx jest tests/fanout/grouping-calls.test.ts`). The clock (`Date.now` of this process,
 * where the fan-out, the stand-ins and dynalite run) is moved to the next window's start and past
 * its flush's due time, never waited for and never run back, as grouping.test.ts does.
 */
import { randomUUID } from "node:crypto";
import { ddb } from "../../handlers/aws";
import { isDigestFlush } from "../../handlers/contracts/digest-flush";
import { forgetPaceMemo } from "../../handlers/store/pacing";
import { event, record, type FanoutWorld } from "../support/fanout";
import { EVENTS_QUEUE_URL, useSlackGroupingWorld } from "../support/grouping";

const SCALE = 6;
const WINDOW_MS = (60 * 1000) / SCALE;

let world: FanoutWorld;
useSlackGroupingWorld({ prefix: "calls-", scale: SCALE }, (w) => (world = w));
afterEach(() => jest.restoreAllMocks());

/**
 * This clock's offset from the real one (ms). `Date.now` is replaced for the file, not spied on:
 * the test restores its DynamoDB spies with `jest.restoreAllMocks()`.
 */
const clock = { offset: 0 };
const originalNow = Date.now;
beforeAll(() => {
  Date.now = () => originalNow.call(Date) + clock.offset;
});
afterAll(() => {
  Date.now = originalNow;
});

/** Lets `ms` pass on this clock: moves it forward at once. */
function wait(ms: number): void {
  if (ms > 0) clock.offset += ms;
}

interface Call {
  what: string;
  channel: string;
}

/** The kind of one DynamoDB request, and the channel it is about (when one). */
function describeCall(command: string, input: any): Call {
  const pk = String(
    input.Key?.pk ?? input.Item?.pk ?? input.ExpressionAttributeValues?.[":pk"] ?? "",
  );
  const sk = String(input.Key?.sk ?? "");
  const expr = String(input.UpdateExpression ?? "");
  const channel = pk.startsWith("PACE#")
    ? pk.slice(5)
    : pk.startsWith("DIGEST#")
      ? pk.split("#")[1]
      : (sk.split("#").pop() ?? "");
  const what = pk.startsWith("DIGEST#")
    ? "digest-query"
    : pk.startsWith("PACE#")
      ? "pace"
      : pk.startsWith("DELIVERY#")
        ? expr.includes(":sending")
          ? "claim"
          : expr.includes("digestId")
            ? "mark-grouped"
            : expr.includes(":sent")
              ? "mark-sent"
              : command === "GetCommand"
                ? "delivery-read"
                : "mark-failed"
        : `${pk.split("#")[0]}`;
  return { what, channel };
}

function recordCalls(): Call[] {
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const calls: Call[] = [];
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    calls.push(describeCall(cmd.constructor.name, cmd.input));
    return send(cmd, ...rest);
  }) as any);
  return calls;
}

const tally = (calls: Call[]) =>
  calls.reduce<Record<string, number>>((t, c) => ({ ...t, [c.what]: (t[c.what] ?? 0) + 1 }), {});

function failure(name: string) {
  return event(
    "pipeline-failed",
    { pipeline: name, "execution-id": randomUUID() },
    { id: randomUUID() },
  );
}

it("a grouped notification costs no more DynamoDB calls than a busy individual one; a digest costs one Query per flush", async () => {
  const start = (Math.floor(Date.now() / WINDOW_MS) + 1) * WINDOW_MS;
  wait(start + 30 - Date.now());
  const perEvent: Array<Record<string, number>> = [];
  const slackCalls: Array<Record<string, number>> = [];
  for (let i = 0; i < 5; i++) {
    // The 4th runs as a cold container would (another one, or this one restarted): it knows
    // nothing of the window (store/pacing.ts memo).
    if (i === 3) forgetPaceMemo();
    const calls = recordCalls();
    await world.invoke([record(failure(`calls-${i}`), `c-${i}`)]);
    jest.restoreAllMocks();
    perEvent.push(tally(calls));
    slackCalls.push(tally(calls.filter((c) => c.channel === "slack-eng")));
  }
  expect(Date.now()).toBeLessThan(start + WINDOW_MS);
  // Individual (the first 3 of the window): claim, 1 or 2 pacing calls, mark-sent.
  for (const c of slackCalls.slice(0, 3)) {
    expect(c.claim).toBe(1);
    expect(c["mark-sent"]).toBe(1);
    expect(c.pace).toBeGreaterThanOrEqual(1);
    expect(c.pace).toBeLessThanOrEqual(2);
  }
  // Grouped in a container that has not seen the window spent (4th): claim, ONE pacing call
  // (refused: no send slot), mark-grouped. The refusal carries the pace item
  // (ReturnValuesOnConditionCheckFailure: ALL_OLD; API reference, UpdateItem), whose window count
  // is at its maximum: spent after one call, as in AWS. (This was 2 while the local DynamoDB
  // ignored the parameter: the busy form had to be refused too; testing/dynamo-return-on-condition.ts
  // now answers it.)
  expect(slackCalls[3]).toEqual({ claim: 1, pace: 1, "mark-grouped": 1 });
  // In a warm container that has (5th, the invocation after): ONE write, the claim and the grouped
  // mark together (fanout/group-first.ts), no pacing call.
  expect(slackCalls[4]).toEqual({ "mark-grouped": 1 });
  const flush = world.standins.aws.state.sqs.sent.find(
    (m) => m.queueUrl === EVENTS_QUEUE_URL && isDigestFlush(m.body),
  )!;
  wait(start + WINDOW_MS + 5000 / SCALE + 20 - Date.now());
  const calls = recordCalls();
  await world.invoke([record(flush.body, "flush")]);
  jest.restoreAllMocks();
  const digest = tally(calls);
  expect(digest["digest-query"]).toBe(1);
  expect(digest.claim).toBe(1);
  expect(digest["mark-sent"]).toBe(1);
  const total = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);
  console.log(
    [
      `per event (3 channels), individual: ${perEvent.slice(0, 3).map(total).join(", ")} ${JSON.stringify(perEvent[0])}`,
      `per event, Slack grouped: ${perEvent.slice(3).map(total).join(", ")} ${JSON.stringify(perEvent[3])}`,
      `Slack per notification, individual: ${slackCalls.slice(0, 3).map(total).join(", ")}; grouped: ${slackCalls.slice(3).map(total).join(", ")}`,
      `per digest flush: ${total(digest)} ${JSON.stringify(digest)}`,
    ].join("\n"),
  );
});
