/**
 * PagerDuty's pre-send incident claim under DynamoDB throttling (issue 12; handlers/fanout/incident.ts
 * `claimIncidentFor`). The throttling is injected on the wire by the DynamoDB proxy
 * (testing/dynamo-faults.ts), as DynamoDB answers it (developer guide, "Error handling with
 * DynamoDB": HTTP 400 `ProvisionedThroughputExceededException` / `ThrottlingException`, both
 * retryable: "The AWS SDKs for DynamoDB automatically retry requests that receive this
 * exception"), so the SDK's own 3 attempts run first and the product sees the error only after
 * them. Only the incident item's UpdateItem is throttled (its key starts `INCIDENT#`,
 * store/keys.ts `incidentKey`): the ledger's claim and mark go through.
 *
 * Before the fix one throttled claim (after the SDK's retries) made the channel fail: the record
 * went back to SQS, and the chaos bench saw PagerDuty events in the DLQ with "open incident
 * unavailable: Rate of requests exceeds the allowed throughput".
 */
import { randomUUID } from "node:crypto";
import { incidentItem } from "../../handlers/store/incidents";
import { DLQ_URL, event, record, startFanoutWorld, type FanoutWorld } from "../support/fanout";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());
afterEach(() => jest.restoreAllMocks());

const PIPELINE = "main-app-production-v3";
const CHANNEL = "pagerduty-oncall";

function failed(executionId: string) {
  return event(
    "action-codebuild-failed",
    { pipeline: PIPELINE, "execution-id": executionId },
    { id: randomUUID() },
  );
}

function succeeded() {
  return event(
    "pipeline-succeeded",
    { pipeline: PIPELINE, "execution-id": randomUUID() },
    { id: randomUUID() },
  );
}

/**
 * Throttles the next `times` UpdateItem calls on an incident item with `code`, through the
 * proxy's own fault path (the proxy asks `faults.decide` per request); every other call is decided
 * as before. Returns how many were throttled so far.
 */
function throttleIncidentClaims(
  times: number,
  code: "ProvisionedThroughputExceededException" | "ThrottlingException",
): () => number {
  const faults = world.standins.dynamo.faults;
  const decide = faults.decide.bind(faults);
  let throttled = 0;
  jest.spyOn(faults, "decide").mockImplementation((operation: string, body: string) => {
    if (operation === "UpdateItem" && body.includes('"INCIDENT#') && throttled < times) {
      throttled++;
      decide(operation, body); // counted like any call
      return code;
    }
    return decide(operation, body);
  });
  return () => throttled;
}

describe("the incident claim under DynamoDB throttling", () => {
  it.each(["ProvisionedThroughputExceededException", "ThrottlingException"] as const)(
    "a claim throttled past the SDK's 3 attempts (%s) is retried within the deadline: paged once, nothing retried or dead-lettered",
    async (code) => {
      // Prepare: no open incident; then the next 4 incident claims throttled (the SDK gives up
      // after 3, so the product's own retry has to take the 4th and 5th attempt).
      await world.drain([succeeded()]);
      world.reset();
      const throttledSoFar = throttleIncidentClaims(4, code);
      const executionId = randomUUID();
      const ev = failed(executionId);

      // Act: ONE receive of the event (no redelivery to hide a failed channel)
      const out = await world.invoke([record(ev, `m-${randomUUID()}`)]);
      // …and the same event again (SQS is at-least-once): the ledger says sent.
      const again = await world.drain([ev]);

      // Assess
      expect(throttledSoFar()).toBe(4);
      expect(out.batchItemFailures).toEqual([]);
      expect(again).toEqual([]);
      const pages = world.standins.receivers.byReceiver("pagerduty").map((p) => p.body as any);
      expect(pages.map((p) => [p.event_action, p.dedup_key])).toEqual([
        ["trigger", `deploy-notifier/${PIPELINE}/${executionId}`],
      ]);
      expect(world.standins.aws.state.sqs.sent.filter((m) => m.queueUrl === DLQ_URL)).toEqual([]);
      expect(await incidentItem(CHANNEL, PIPELINE)).toMatchObject({
        dedupKey: `deploy-notifier/${PIPELINE}/${executionId}`,
        failures: 1,
      });
    },
    60_000,
  );

  it("a claim still throttled at the deadline fails the channel with its reason (a redelivery retries it)", async () => {
    // Prepare: every incident claim throttled; a receive with little time left (the handler's
    // deadline is the remaining time minus its margin).
    await world.drain([succeeded()]);
    world.reset();
    throttleIncidentClaims(1_000, "ThrottlingException");
    const ev = failed(randomUUID());

    // Act
    const out = await world.invoke([record(ev, `m-${randomUUID()}`)], 8000);

    // Assess: retried, not sent without the incident's key, and the record goes back to SQS.
    expect(out.batchItemFailures).toHaveLength(1);
    expect(world.standins.receivers.byReceiver("pagerduty")).toEqual([]);
  }, 60_000);
});
