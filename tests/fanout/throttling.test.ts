/**
 * DynamoDB throttling alone never causes a second send (issue 12: the chaos bench measured SMS
 * duplicates although SNS is never faulted). The real fan-out against dynalite, throttled by the
 * DynamoDB proxy (testing/dynamo-faults.ts: HTTP 400 `ProvisionedThroughputExceededException`,
 * which the SDK retries by itself, 3 attempts; a throttled request is not applied — DynamoDB
 * developer guide, "Error handling with DynamoDB"), targeted at exactly the calls that matter:
 * one channel's mark-sent, one channel's claim. SMS goes through the SNS stand-in (testing/aws).
 */
import { randomUUID } from "node:crypto";
import { type DynamoThrottleCode } from "../../testing/dynamo-faults";
import {
  addDeployFailure,
  event,
  record,
  startFanoutWorld,
  type FanoutWorld,
} from "../support/fanout";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());
afterEach(() => {
  world.standins.receivers.setFault("slack", null);
  jest.restoreAllMocks();
  restoreDecide?.();
  restoreDecide = undefined;
});

/** The handler keeps 3 s of the Lambda's remaining time as its margin (fanout/handler.ts). */
const MARGIN_MS = 3000;

let restoreDecide: (() => void) | undefined;

/**
 * Throttles, in the DynamoDB proxy, the requests `pick` chooses (given the operation and the
 * request's JSON text), as DynamoDB answers a throttle; everything else goes through.
 */
function throttleWhere(pick: (operation: string, body: string) => boolean): { count: number } {
  const faults = world.standins.dynamo.faults;
  const decide = faults.decide.bind(faults);
  const seen = { count: 0 };
  faults.decide = (operation, body): DynamoThrottleCode | undefined => {
    if (pick(operation, body)) {
      seen.count++;
      return "ProvisionedThroughputExceededException";
    }
    return decide(operation, body);
  };
  restoreDecide = () => {
    faults.decide = decide;
  };
  return seen;
}

/** A prod action failure of main-app-production-v3: PagerDuty, Slack and SMS. */
function prodFailure() {
  const executionId = randomUUID();
  addDeployFailure(world.standins.aws, executionId);
  const ev = event(
    "action-codebuild-failed",
    {
      pipeline: "main-app-production-v3",
      stage: "Deploy",
      action: "DeployECS",
      "execution-id": executionId,
    },
    { id: randomUUID() },
  );
  return { ev, executionId };
}

/**
 * The SDK's backoff for a throttle is full jitter (`Math.random() * base * 2^i`, base 500 ms for a throttle:
 * @smithy/core DefaultRetryBackoffStrategy, THROTTLING_RETRY_DELAY_BASE): fixed at the middle, 3 throttled attempts of
 * one call take 500 + 1000 ms, so each test's timing is the same on every run.
 */
beforeEach(() => {
  jest.spyOn(Math, "random").mockReturnValue(0.5);
});

/**
 * The test's clock: real time, or stopped at `at` (ms since the epoch) while it is set, so that an
 * invocation's deadline is passed where the test says, not wherever this machine's load puts it.
 * `offset` (ms) carries on from where a stopped clock was, never back.
 */
const clock: { offset: number; at?: number } = { offset: 0 };
const realNow = Date.now.bind(Date);
beforeEach(() => {
  clock.at = undefined;
  jest.spyOn(Date, "now").mockImplementation(() => clock.at ?? realNow() + clock.offset);
});
/** Lets the stopped clock run again from where it stands. */
function runClock(): void {
  if (clock.at !== undefined) clock.offset = Math.max(clock.offset, clock.at - realNow());
  clock.at = undefined;
}

const isClaim = (op: string, body: string) => op === "UpdateItem" && body.includes('":sending"');
const isMarkSent = (op: string, body: string) => op === "UpdateItem" && body.includes('":sent"');
const smsPublished = () => world.standins.aws.state.sns.published.length;

describe("DynamoDB throttling never sends twice (issue 12)", () => {
  it("a mark-sent throttled through the SDK's 3 attempts at the deadline is retried in the margin: the redelivery sends no second SMS", async () => {
    // Slack answers 503 for the whole first receive (retryable: the record is redelivered), and
    // the SMS mark-sent is throttled 3 times: one SDK call used up, just after the deadline.
    // The clock stands still from the invocation's start (its deadline 500 ms later) until the
    // third throttled attempt, which moves it just past the deadline: under load the invocation
    // may take longer than 500 ms to reach the SMS at all, and would then send nothing.
    const { ev } = prodFailure();
    world.standins.receivers.setFault("slack", { status: 503 });
    const deadline = (clock.at = Date.now()) + 500;
    let marks = 0;
    const throttled = throttleWhere((op, body) => {
      if (!(isMarkSent(op, body) && body.includes("#sms-oncall") && marks < 3)) return false;
      if (++marks === 3) clock.at = deadline + 1;
      return true;
    });

    const first = await world.invoke([record(ev, "m-1")], MARGIN_MS + 500);
    runClock();
    restoreDecide?.();
    world.standins.receivers.setFault("slack", null);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(throttled.count).toBe(3);
    expect(smsPublished()).toBe(1);

    // SQS redelivers after the visibility timeout (the first invocation is over by then).
    const second = await world.invoke([record(ev, "m-1", 2)]);

    expect(second.batchItemFailures).toEqual([]);
    expect(smsPublished()).toBe(1);
    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(1);
    expect(world.standins.receivers.byReceiver("pagerduty")).toHaveLength(1);
  }, 30_000);

  it("a batch that overruns its deadline behind a throttled claim claims nothing more: an overlapping redelivery sends each message once", async () => {
    // Two events of one pipeline in one batch. Records run concurrently since issue 11 (no
    // head-of-line blocking, handler.ts), but per pipeline and channel they keep batch order
    // (order.ts): the second event's PagerDuty delivery waits behind the first one's. That claim
    // is throttled through all 3 SDK attempts (it throws after the SDK's backoff), which takes the
    // invocation past its deadline before the second event's PagerDuty turn comes.
    // The clock stands still from the invocation's start (its deadline 300 ms later) until that
    // claim's third throttled attempt moves it just past the deadline: under load the invocation
    // passed a real 300 ms deadline before it made any claim.
    const a = prodFailure();
    const b = prodFailure();
    const deadline = (clock.at = Date.now()) + 300;
    let claims = 0;
    throttleWhere((op, body) => {
      const mine =
        isClaim(op, body) && body.includes(a.executionId) && body.includes("#pagerduty-oncall");
      if (!mine || claims >= 3) return false;
      if (++claims === 3) clock.at = deadline + 1;
      return true;
    });
    // SQS makes the second message visible again while the first invocation overruns (its
    // visibility timeout is the function timeout): a second fan-out receives it concurrently,
    // started just after the first invocation's first claim.
    let overlapping: Promise<unknown> | undefined;
    // Claims of the second event's PagerDuty slot before the redeliveries below: only the
    // overlapping fan-out's (the first invocation reaches that turn past its deadline).
    let bPagerClaims = 0;
    const faults = world.standins.dynamo.faults;
    const decide = faults.decide;
    faults.decide = (operation, body) => {
      if (
        isClaim(operation, body) &&
        body.includes(b.executionId) &&
        body.includes("#pagerduty-oncall")
      ) {
        bPagerClaims++;
      }
      if (!overlapping && isClaim(operation, body)) {
        // Just after the first invocation's first claim is written (the proxy forwards it now):
        // of either event, since on a loaded machine its short deadline can pass before it
        // reaches the second event's claims at all.
        overlapping = new Promise((r) => setTimeout(r, 200)).then(() =>
          world.invoke([record(b.ev, "m-b", 2)]),
        );
      }
      return decide(operation, body);
    };

    const first = await world.invoke([record(a.ev, "m-a"), record(b.ev, "m-b")], MARGIN_MS + 300);
    await overlapping;
    runClock();
    restoreDecide?.();
    const claimsBeforeRedelivery = bPagerClaims;

    // The redeliveries: the first event's PagerDuty slot, the second event entirely.
    const again = await world.invoke([record(a.ev, "m-a", 2), record(b.ev, "m-b", 2)]);
    expect(again.batchItemFailures).toEqual([]);
    // One SMS per event (SNS never failed: a second one could only come from the overrun).
    expect(smsPublished()).toBe(2);
    // Past the deadline the first invocation claimed and sent nothing more: the second event's
    // PagerDuty turn came after it and was left unclaimed; the overlapping fan-out made the only
    // claim of that slot before the redeliveries (a claim by the first would make it 2).
    expect(overlapping).toBeDefined();
    expect(claimsBeforeRedelivery).toBe(1);
    expect(first.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["m-a", "m-b"]);
    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(2);
    expect(world.standins.receivers.byReceiver("pagerduty")).toHaveLength(2);
  }, 30_000);
});
