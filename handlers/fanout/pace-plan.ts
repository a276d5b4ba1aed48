/**
 * What a batch's plan says its pacing will need (issue 12, fewer pacing calls): the deliveries
 * per channel that reserve a send slot without a grouping allowance, for the invocation's slot
 * pool (fanout/pace-pool.ts). Pure: the plan's decisions (plan.ts), no I/O.
 */
import type { SQSRecord } from "aws-lambda";
import { pipelineKeyOf } from "../contracts/pipeline-id";
import type { CodePipelineEvent } from "../events";
import type { RuntimeConfig } from "../types";
import { slotsOf } from "./deferral";
import { groupable, groupingRule } from "./grouping";
import { applyDowntime, claimsOutcome, deliveriesFor, outcomeAttempt, planRecord } from "./plan";

/** One parsed record of a batch. */
export interface PlannedRecord {
  record: SQSRecord;
  ev: CodePipelineEvent;
}

/**
 * The deliveries per channel that `records` (one batch) will pace without a grouping allowance
 * (fanout/deliver.ts: PagerDuty, a channel without a grouping rule, a kind never grouped), by
 * the plan alone (plan.ts, before any I/O): the channels each notification goes to outside quiet
 * hours, the FAILED events of one attempt counted once (they collapse into one message), and not
 * those whose deferred copy carries its slot. Not counted (found only later): PagerDuty resolves,
 * retries of grouped deliveries, digest flushes.
 */
export function expectedPacing(
  config: RuntimeConfig,
  records: readonly PlannedRecord[],
): Record<string, number> {
  const counts: Record<string, number> = {};
  const outcomes = new Set<string>();
  for (const { record, ev } of records) {
    const plan = planRecord(ev, config);
    if (plan.kind !== "notify") continue;
    const n = plan.notification;
    if (claimsOutcome(n)) {
      const outcome = `${pipelineKeyOf(n)}#${n.executionId}#${outcomeAttempt(n)}`;
      if (outcomes.has(outcome)) continue;
      outcomes.add(outcome);
    }
    const carried = slotsOf(record);
    const { toSend } = applyDowntime(config, n, deliveriesFor(n, plan.rule, config));
    for (const d of toSend) {
      if (carried[d.channel] !== undefined) continue;
      if (groupable(n, d) && groupingRule(config, d.channel)) continue;
      counts[d.channel] = (counts[d.channel] ?? 0) + 1;
    }
  }
  return counts;
}
