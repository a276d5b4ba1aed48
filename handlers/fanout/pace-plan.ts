/**
 * What a batch's plan says its pacing will need (issue 12, fewer pacing calls): the deliveries
 * per channel that reserve a send slot without a grouping allowance, for the invocation's slot
 * pool (fanout/pace-pool.ts). Pure: the plan's decisions (plan.ts), no I/O.
 */
import type { SQSRecord } from "aws-lambda";
import { pipelineKeyOf } from "../contracts/pipeline-id";
import type { CodePipelineEvent } from "../events";
import type { RuntimeConfig } from "../types";
import { deferralsOf, slotsOf } from "./deferral";
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
 * hours, the FAILED events of one attempt counted once (they collapse into one message); not
 * redeliveries and deferred copies (their deliveries may be sent already: a slot reserved for one
 * is a slot nobody sends in, T more of every later send's wait on a busy channel; pool red team:
 * 3 redelivered pages made 4 slots for 1 send). Not counted (found only later): PagerDuty
 * resolves, retries of grouped deliveries, digest flushes, a redelivery's unsent deliveries.
 * Never throws: a record whose plan throws (an event time a downtime window's cron cannot read)
 * counts nothing here, and fails alone in its own run (record.ts: retried, then dead-lettered
 * with the reason), not the whole batch.
 */
export function expectedPacing(
  config: RuntimeConfig,
  records: readonly PlannedRecord[],
): Record<string, number> {
  const counts: Record<string, number> = {};
  const outcomes = new Set<string>();
  for (const planned of records) {
    let channels: string[];
    try {
      channels = pacedChannels(config, planned, outcomes);
    } catch {
      continue;
    }
    for (const channel of channels) counts[channel] = (counts[channel] ?? 0) + 1;
  }
  return counts;
}

/**
 * The channels one record will pace without an allowance ({@link expectedPacing}); adds its
 * outcome to `outcomes` (an outcome already there counts nothing). Throws what the plan throws.
 */
function pacedChannels(
  config: RuntimeConfig,
  { record, ev }: PlannedRecord,
  outcomes: Set<string>,
): string[] {
  // A redelivery or a copy may find its deliveries already sent (the ledger refuses them, no
  // slot asked for): a slot reserved for it would move the channel's `tat` for no send.
  if (Number(record.attributes?.ApproximateReceiveCount ?? "1") > 1) return [];
  if (deferralsOf(record) > 0) return [];
  const plan = planRecord(ev, config);
  if (plan.kind !== "notify") return [];
  const n = plan.notification;
  const outcome = `${pipelineKeyOf(n)}#${n.executionId}#${outcomeAttempt(n)}`;
  if (claimsOutcome(n) && outcomes.has(outcome)) return [];
  const carried = slotsOf(record);
  const { toSend } = applyDowntime(config, n, deliveriesFor(n, plan.rule, config));
  if (claimsOutcome(n)) outcomes.add(outcome);
  return toSend
    .filter((d) => carried[d.channel] === undefined)
    .filter((d) => !(groupable(n, d) && groupingRule(config, d.channel)))
    .map((d) => d.channel);
}
