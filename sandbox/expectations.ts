/**
 * A scenario step's expectations checked against what the step observed (deliveries per channel,
 * redeliveries, DLQ entries, duplicates, approval buttons, the PagerDuty incident, audit actions).
 */
import { APPROVE_ACTION_ID } from "../handlers/contracts/slack-approval";
import type { ScenarioHost, ScenarioStep, StepReport } from "./scenario";

/** Counts items by key. */
export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

function hasApprovalButtons(payload: unknown): boolean {
  const blocks = (payload as { blocks?: unknown[] } | undefined)?.blocks;
  return (
    Array.isArray(blocks) &&
    blocks.some((b) => {
      const block = b as { type?: string; elements?: Array<{ action_id?: string }> };
      return (
        block.type === "actions" &&
        (block.elements ?? []).some((e) => e.action_id === APPROVE_ACTION_ID)
      );
    })
  );
}

/** What a step observed, for checking its expectations. */
export interface StepObservation {
  observed: StepReport["observed"];
  /** Delivery attempts during the step, attributed to channels. */
  deliveries: Array<{ channel: string; delivered: boolean; body: unknown }>;
  /** Audit items written during the step. */
  audit: Array<Record<string, unknown>>;
  /** When the step started (epoch ms). */
  started: number;
}

/** One line per expectation of `step` that the observation does not meet. */
export function checkExpectations(
  host: ScenarioHost,
  step: ScenarioStep,
  seen: StepObservation,
): string[] {
  const { matched, delivered, retried, dlq, suppressed } = seen.observed;
  const { deliveries, audit, started } = seen;
  const problems: string[] = [];
  const expect = step.expect;

  const wantMatched = expect.matched ?? true;
  if (wantMatched && matched !== step.events.length) {
    problems.push(`expected every event to match the rule, ${matched}/${step.events.length} did`);
  }
  if (!wantMatched && matched > 0)
    problems.push(`expected no event to match the rule, ${matched} did`);
  for (const [channel, want] of Object.entries(expect.delivered ?? {})) {
    const got = delivered[channel] ?? 0;
    if (got !== want) problems.push(`${channel}: expected ${want} delivered, got ${got}`);
  }
  if (expect.suppressed !== undefined) {
    if (!suppressed.some((s) => s.includes(expect.suppressed as string))) {
      problems.push(
        `expected an audit record "suppressed" by ${expect.suppressed}, found ${suppressed.length === 0 ? "none" : suppressed.join("; ")}`,
      );
    }
  }
  if (expect.retried !== undefined) {
    const min = typeof expect.retried === "number" ? expect.retried : expect.retried.min;
    const exact = typeof expect.retried === "number";
    if (exact ? retried !== min : retried < min) {
      problems.push(
        `expected ${exact ? "" : "at least "}${min} queue redeliveries, got ${retried}`,
      );
    }
  }
  if (expect.dlq !== undefined && dlq !== expect.dlq)
    problems.push(`expected ${expect.dlq} in the DLQ, got ${dlq}`);
  if (expect.duplicates !== undefined) {
    const payloads = countBy(
      deliveries.filter((d) => d.delivered),
      (d) => `${d.channel} ${JSON.stringify(d.body)}`,
    );
    const duplicates = Object.values(payloads).reduce((n, c) => n + c - 1, 0);
    if (duplicates !== expect.duplicates)
      problems.push(`expected ${expect.duplicates} duplicate deliveries, got ${duplicates}`);
  }
  if (expect.approvalButtons !== undefined) {
    const messages = host.slackMessagesSince(expect.approvalButtons, started);
    if (!messages.some(hasApprovalButtons)) {
      problems.push(`expected a message with Approve/Reject buttons in ${expect.approvalButtons}`);
    }
  }
  if (expect.incident !== undefined) {
    const { pipeline, status } = expect.incident;
    // Only incidents this step opened or changed: a replay finds the earlier run's incidents.
    const incidents = host
      .incidents()
      .filter((i) => i.summary.includes(pipeline) || i.dedupKey.includes(pipeline))
      .filter((i) => i.updatedAt >= started);
    if (incidents.length === 0)
      problems.push(`expected a PagerDuty incident for ${pipeline} during the step, found none`);
    else if (!incidents.every((i) => i.status === status)) {
      problems.push(
        `expected the ${pipeline} incident ${status}, got ${incidents.map((i) => i.status).join(", ")}`,
      );
    }
  }
  for (const action of expect.audit ?? []) {
    if (!audit.some((a) => a.action === action))
      problems.push(`expected an audit record "${action}"`);
  }
  return problems;
}
