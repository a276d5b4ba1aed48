/**
 * The chaos bench's targets (scripts/lib/chaos-targets.ts): a run over a limit is a FAIL in the
 * report's `targets` and in its printed table. The DynamoDB figure is computed as the bench does,
 * from the local DynamoDB's per-operation counts (every request, throttled ones included) through
 * chaos-cost.ts: the reverted slot pool's run made 41.7 calls per event and passed every check.
 */
import { chaosCost, type CostInputs } from "../../scripts/lib/chaos-cost";
import { CHAOS_TARGETS, chaosTargetRows, chaosTargets } from "../../scripts/lib/chaos-targets";
import type { ChannelTally } from "../../scripts/lib/chaos-tally";

const EVENTS = 1000;

const clean: CostInputs = {
  events: 30,
  notifications: 120,
  counts: { UpdateItem: { calls: 60, throttled: 0, units: 120 } },
  invocationMs: [120, 130],
  memoryMb: 256,
};

/** A channel where every event arrived exactly once. */
const once = (overrides: Partial<ChannelTally> = {}): ChannelTally => ({
  once: EVENTS,
  duplicates: 0,
  lost: 0,
  dlqWithReason: 0,
  dlqWithoutReason: 0,
  ambiguousSends: 0,
  lostReplies: 0,
  unattributed: 0,
  ...overrides,
});

/** The cost fragment of a chaos run that made `calls` DynamoDB requests, 30 % of them throttled. */
function costOf(calls: number) {
  const throttled = Math.round(calls * 0.3);
  return chaosCost(clean, {
    events: EVENTS,
    counts: {
      UpdateItem: { calls: calls - 5000, throttled: throttled - 1500, units: 0 },
      GetItem: { calls: 5000, throttled: 1500, units: 0 },
    },
  });
}

describe("chaos targets", () => {
  const channels = { "slack-eng": once(), "pagerduty-oncall": once() };

  it("passes at the measured 17.9 DynamoDB calls per event and at the 22 limit", () => {
    for (const calls of [17_900, 22_000]) {
      // Act
      const targets = chaosTargets({ channels, cost: costOf(calls) });

      // Assess
      expect(targets.chaosDdbCallsPerEvent).toEqual({
        value: calls / EVENTS,
        max: 22,
        pass: true,
      });
    }
  });

  it("fails a run over 22 DynamoDB calls per event (the slot pool's 41.7), in JSON and table", () => {
    for (const calls of [22_010, 41_700]) {
      // Act
      const targets = chaosTargets({ channels, cost: costOf(calls) });
      const row = chaosTargetRows(targets).find((r) => r[0].startsWith("DynamoDB calls"));

      // Assess
      expect(targets.chaosDdbCallsPerEvent).toEqual({
        value: calls / EVENTS,
        max: CHAOS_TARGETS.ddbCallsPerEvent,
        pass: false,
      });
      expect(row).toEqual([
        "DynamoDB calls per event under faults",
        String(calls / EVENTS),
        "<= 22",
        "FAIL",
      ]);
      // The other targets are judged on their own figures.
      expect(targets.lost.pass && targets.dlqWithoutReason.pass).toBe(true);
    }
  });

  it("fails lost, dlq without reason and duplicates beyond the ambiguous sends", () => {
    // Arrange: Slack's one duplicate is its one ambiguous send (allowed); PagerDuty de-duplicates.
    const bad = {
      "slack-eng": once({ duplicates: 1, ambiguousSends: 1, lost: 1 }),
      "pagerduty-oncall": once({ duplicates: 2, dlqWithoutReason: 1 }),
    };

    // Act
    const targets = chaosTargets({ channels: bad, cost: costOf(17_400) });

    // Assess
    expect(targets.lost).toEqual({ value: 1, max: 0, pass: false });
    expect(targets.dlqWithoutReason).toEqual({ value: 1, max: 0, pass: false });
    expect(targets.duplicatesBeyondAmbiguous).toEqual({ value: 2, max: 0, pass: false });
    expect(targets.chaosDdbCallsPerEvent.pass).toBe(true);
    expect(chaosTargetRows(targets).map((r) => r[3])).toEqual(["FAIL", "FAIL", "FAIL", "PASS"]);
  });
});
