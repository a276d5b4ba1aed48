/**
 * No head-of-line blocking (issue 11): the records of a batch run concurrently, and only what
 * must stay in order waits — per (pipeline, channel). A Slack that never answers holds Slack
 * messages of later events of the same pipeline (ordered), never another event's page.
 *
 * Times are the receivers' own: each request's `at` is taken when the receiver reads it
 * (testing/receivers), before any latency it adds. They are compared with the fan-out's per-call
 * HTTP timeout (`DEFAULT_TIMEOUT_MS`, the longest one Slack request can take before the client
 * gives up), never with a wall-clock constant of this machine.
 */
import { randomUUID } from "node:crypto";
import { DEFAULT_TIMEOUT_MS } from "../../handlers/channels/types";
import type { Attempt } from "../../testing/receivers/core";
import { event, record, startFanoutWorld, type FanoutWorld } from "../support/fanout";

/** How long the PagerDuty receiver takes to answer (ms): a fast, healthy Events API. */
const PD_LATENCY_MS = 100;
/** The Slack request timeout of the fan-out (5 s per call: handlers/channels/types.ts). */
const SLACK_TIMEOUT_MS = DEFAULT_TIMEOUT_MS;

let world: FanoutWorld;

beforeAll(async () => {
  // Successes of main-app notify the tier too, so a success reaches Slack after its failure.
  world = await startFanoutWorld((raw) => {
    const pipelines = raw.pipelines as Array<Record<string, unknown>>;
    const main = pipelines.find((p) => p.name === "main-app-production-v3");
    if (main) main.states = ["FAILED", "SUCCEEDED"];
  });
});
afterAll(() => world.close());
beforeEach(() => world.reset());

/** A pipeline-level event of `pipeline` in `state`, with its own execution. */
function pipelineEvent(pipeline: string, state: "FAILED" | "SUCCEEDED") {
  const executionId = randomUUID();
  const fixture = state === "FAILED" ? "pipeline-failed" : "pipeline-succeeded";
  const ev = event(fixture, { pipeline, "execution-id": executionId }, { id: randomUUID() });
  return { ev, executionId };
}

/** The receiver's requests that are about `executionId` (its id is in every message). */
function about(attempts: Attempt[], executionId: string): Attempt[] {
  return attempts.filter((a) => JSON.stringify(a.body).includes(executionId));
}

/** The time of the first of `attempts` (epoch ms), failing clearly when there is none. */
function firstAt(attempts: Attempt[], what: string): number {
  if (attempts.length === 0) throw new Error(`no request for ${what}`);
  return Math.min(...attempts.map((a) => a.at.getTime()));
}

test("a hanging Slack holds no page: every page of the batch reaches PagerDuty before Slack's first timeout, not after Slack gave up", async () => {
  world.standins.receivers.setFault("slack", { kind: "timeout" });
  world.standins.receivers.setLatency("pagerduty", PD_LATENCY_MS);
  const first = pipelineEvent("main-app-production-v3", "FAILED");
  const second = pipelineEvent("main-app-production-v3", "FAILED");
  const other = pipelineEvent("api-gateway-prod-cluster", "FAILED");
  // 15 s left: Slack's first attempt times out at 5 s, its retries run into the deadline (12 s).
  const out = await world.withLogLevel("ERROR", () =>
    world.invoke(
      [record(first.ev, "m-1"), record(second.ev, "m-2"), record(other.ev, "m-3")],
      15_000,
    ),
  );

  // Slack's first timeout: the client gives up on main-app's first Slack request (which hangs)
  // SLACK_TIMEOUT_MS after the receiver read it. What waited for Slack came after that instant.
  const slack = world.standins.receivers.attemptsOf("slack");
  const firstSlackAt = firstAt(
    about(slack, first.executionId),
    "the first failure's Slack message",
  );
  const pages = world.standins.receivers.attemptsOf("pagerduty");
  for (const [what, e] of Object.entries({ first, second, other })) {
    const pageAt = firstAt(about(pages, e.executionId), `the ${what} failure's page`);
    // The second failure of main-app waits for the first one's page (PD latency), not for Slack:
    // before Slack's first timeout (with the records one after another it came after the
    // first record's Slack gave up, at the deadline, 12 s). Counted from the hanging request,
    // not from the invocation's start, which a loaded machine's process start delays.
    expect(pageAt).toBeLessThan(firstSlackAt + SLACK_TIMEOUT_MS);
  }
  // Per (pipeline, channel) the batch order holds: the second failure's Slack message is not
  // sent while the first one's is still hanging (at most after the client gave up on it).
  for (const a of about(slack, second.executionId)) {
    expect(a.at.getTime() - firstSlackAt).toBeGreaterThanOrEqual(SLACK_TIMEOUT_MS - 50);
  }
  // Another pipeline's Slack message does not wait for main-app's.
  const otherSlackAt = firstAt(about(slack, other.executionId), "the other pipeline's Slack");
  expect(otherSlackAt).toBeLessThan(firstSlackAt + SLACK_TIMEOUT_MS);
  // Slack failed for all three: each is redelivered by SQS (only Slack is tried again).
  expect(out.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["m-1", "m-2", "m-3"]);
});

test("a success after a failure of the same pipeline reaches each channel after that failure did (in one batch)", async () => {
  // Slow receivers: a success that did not wait would reach each channel while the failure's
  // request is still being answered.
  const latencyMs = 300;
  world.standins.receivers.setLatency("pagerduty", latencyMs);
  world.standins.receivers.setLatency("slack", latencyMs);
  const failure = pipelineEvent("main-app-production-v3", "FAILED");
  const success = pipelineEvent("main-app-production-v3", "SUCCEEDED");
  const out = await world.withLogLevel("WARN", () =>
    world.invoke([record(failure.ev, "m-f"), record(success.ev, "m-s")], 30_000),
  );
  expect(out.batchItemFailures).toEqual([]);

  const slack = world.standins.receivers.attemptsOf("slack");
  const failedAt = firstAt(about(slack, failure.executionId), "the failure's Slack message");
  const recoveredAt = firstAt(about(slack, success.executionId), "the success's Slack message");
  // After the failure's message was answered, i.e. at least the receiver's latency later.
  expect(recoveredAt - failedAt).toBeGreaterThanOrEqual(latencyMs - 5);

  // PagerDuty: the success resolves the incident the failure opened — which it can only find
  // once the trigger was sent and recorded (Events API v2: resolve by the trigger's dedup_key).
  const pd = world.standins.receivers.attemptsOf("pagerduty");
  const trigger = pd.find((a) => (a.body as any)?.event_action === "trigger");
  const resolve = pd.find((a) => (a.body as any)?.event_action === "resolve");
  expect(trigger).toBeDefined();
  expect(resolve).toBeDefined();
  expect((resolve?.body as any).dedup_key).toBe((trigger?.body as any).dedup_key);
  expect(resolve!.at.getTime() - trigger!.at.getTime()).toBeGreaterThanOrEqual(latencyMs - 5);
});
