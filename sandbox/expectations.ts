/**
 * A scenario step's expectations checked against what the step observed (deliveries per channel
 * and what they say, redeliveries, DLQ entries, duplicates, approval buttons, the PagerDuty
 * incident, audit actions, the click's ephemeral reply, what an earlier approval request reads
 * now, and the PutApprovalResult calls CodePipeline received).
 */
import type { ScenarioHost, ScenarioStep, StepReport } from "./scenario";
import { DEFAULT_CLICKER, hasButton, isClick, says, type ScenarioRun } from "./scenario-actions";
import { isDigest } from "./traffic";

/** Counts items by key. */
export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

/** What a step observed, for checking its expectations. */
export interface StepObservation {
  observed: StepReport["observed"];
  /** Delivery attempts during the step, attributed to channels. */
  deliveries: Array<{ channel: string; delivered: boolean; body: unknown; status?: number }>;
  /** Audit items written during the step. */
  audit: Array<Record<string, unknown>>;
  /** When the step started (epoch ms). */
  started: number;
  /** What earlier steps posted and which tokens they were issued (absent: no references). */
  run?: ScenarioRun;
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);
const quote = (texts: string[]) => texts.map((t) => `"${t}"`).join(", ");

/**
 * How many of `channel`'s deliveries in the step are repeats the fan-out recorded as possible
 * duplicates (README "Exactly once, and the one window where a duplicate is still possible"): a
 * delivery is a repeat when its payload is identical to another delivery's of the step, and it
 * counts only against a delivery record of that channel with `ambiguous: true` whose execution id
 * the payload names (each record serves one repeat). A lone message with an ambiguous record (its
 * first attempt was reset, never taken), or another notification's ambiguous record, excuses
 * nothing.
 */
function flaggedRepeats(seen: StepObservation, channel: string): number {
  const pool = seen.audit
    .filter((a) => a.channel === channel && a.ambiguous === true && a.executionId)
    .map((a) => String(a.executionId));
  const payloads = countBy(
    seen.deliveries.filter((d) => d.channel === channel && d.delivered),
    (d) => JSON.stringify(d.body),
  );
  let repeats = 0;
  for (const [payload, times] of Object.entries(payloads)) {
    for (let extra = 1; extra < times; extra++) {
      const at = pool.findIndex((executionId) => payload.includes(executionId));
      if (at < 0) break;
      pool.splice(at, 1);
      repeats += 1;
    }
  }
  return repeats;
}

/** More deliveries than the step's (non-zero) count, every extra one a recorded repeat. */
function isFlaggedRepeat(got: number, want: number, repeats: number): boolean {
  return want > 0 && got > want && got - want <= repeats;
}

/**
 * What a step saw that the product promises and that is not a failure: a channel delivered more
 * often than the step expects, each extra send a repeat recorded `ambiguous` (a possible
 * duplicate, {@link flaggedRepeats}). The
 * sandbox's scaled clock makes that window real: a receiver's timeout is 300 ms of real time at
 * 1/50 (handlers/http.ts `RECEIVER_TIMEOUT_FLOOR_MS`), which a busy machine can miss. An extra
 * send that is not recorded so stays a problem ({@link checkExpectations}).
 */
export function expectationNotes(step: ScenarioStep, seen: StepObservation): string[] {
  const notes: string[] = [];
  for (const [channel, want] of Object.entries(step.expect.delivered ?? {})) {
    const got = seen.observed.delivered[channel] ?? 0;
    if (!isFlaggedRepeat(got, want, flaggedRepeats(seen, channel))) continue;
    notes.push(
      `${channel}: delivered ${got}, ${want} expected; the fan-out recorded ${got - want} as a possible duplicate ("ambiguous": an earlier attempt's reply or "sent" mark came back too late on this machine), as the README's exactly-once section allows`,
    );
  }
  return notes;
}

/** Deliveries, redeliveries, DLQ, duplicates and suppression. */
function checkCounts(step: ScenarioStep, seen: StepObservation): string[] {
  const { matched, delivered, retried, dlq, suppressed } = seen.observed;
  const problems: string[] = [];
  const expect = step.expect;
  const sent = step.events.filter((e) => !e.emitted).length;
  const wantMatched = expect.matched ?? true;
  if (typeof wantMatched === "number" && matched !== wantMatched)
    problems.push(`expected ${wantMatched} of the events to match the rule, ${matched} did`);
  if (wantMatched === true && matched !== sent)
    problems.push(`expected every event to match the rule, ${matched}/${sent} did`);
  if (wantMatched === false && matched > 0)
    problems.push(`expected no event to match the rule, ${matched} did`);
  for (const [channel, want] of Object.entries(expect.delivered ?? {})) {
    const got = delivered[channel] ?? 0;
    if (got === want || isFlaggedRepeat(got, want, flaggedRepeats(seen, channel))) continue;
    problems.push(`${channel}: expected ${want} delivered, got ${got}`);
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
      seen.deliveries.filter((d) => d.delivered),
      (d) => `${d.channel} ${JSON.stringify(d.body)}`,
    );
    const duplicates = Object.values(payloads).reduce((n, c) => n + c - 1, 0);
    if (duplicates !== expect.duplicates)
      problems.push(`expected ${expect.duplicates} duplicate deliveries, got ${duplicates}`);
  }
  return problems;
}

/** What the messages delivered during the step say (and do not say), per channel. */
function checkTexts(step: ScenarioStep, seen: StepObservation): string[] {
  const problems: string[] = [];
  const bodiesOf = (channel: string) =>
    seen.deliveries.filter((d) => d.delivered && d.channel === channel).map((d) => d.body);
  for (const [channel, want] of Object.entries(step.expect.says ?? {})) {
    const bodies = bodiesOf(channel);
    const missing = list(want).filter((text) => !bodies.some((b) => says(b, text)));
    if (missing.length > 0)
      problems.push(
        `${channel}: expected a message that says ${quote(missing)}, got ${bodies.length === 0 ? "no message" : quote(bodies.map((b) => excerpt(b)))}`,
      );
  }
  for (const [channel, unwanted] of Object.entries(step.expect.saysNot ?? {})) {
    const found = list(unwanted).filter((text) => bodiesOf(channel).some((b) => says(b, text)));
    if (found.length > 0)
      problems.push(`${channel}: expected no message that says ${quote(found)}`);
  }
  return problems;
}

/** The first 160 characters a person reads in a payload. */
function excerpt(body: unknown): string {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/** The click's ephemeral reply, the earlier request's current text, and PutApprovalResult. */
function checkApproval(host: ScenarioHost, step: ScenarioStep, seen: StepObservation): string[] {
  const problems: string[] = [];
  const { expect } = step;
  const messages = host.slackMessages();
  if (expect.reply !== undefined) {
    const clickers = new Set((step.do ?? []).filter(isClick).map((a) => a.as ?? DEFAULT_CLICKER));
    const replies = messages
      .flatMap((m) => m.ephemerals)
      .filter((e) => Date.parse(e.at) >= seen.started && (!e.for || clickers.has(e.for)));
    if (!replies.some((r) => says(r.text, expect.reply as string)))
      problems.push(
        `expected the clicker to be told "${expect.reply}", got ${replies.length === 0 ? "no reply" : quote(replies.map((r) => r.text))}`,
      );
  }
  if (expect.request !== undefined) {
    const { of, says: text, buttons } = expect.request;
    const id = seen.run?.requests[of]?.at(-1);
    const message = messages.find((m) => m.id === id);
    if (!message) problems.push(`expected the approval request of step "${of}", found none`);
    else {
      if (text !== undefined && !says(message.payload, text))
        problems.push(
          `expected the request of step "${of}" to say "${text}", it says ${quote([excerpt(message.payload)])}`,
        );
      if (buttons !== undefined && hasButton(message.payload) !== buttons)
        problems.push(
          `expected the request of step "${of}" ${buttons ? "to keep" : "to have lost"} its Approve / Reject buttons`,
        );
    }
  }
  if (expect.putApprovalResult !== undefined) {
    const { calls: want, status, tokenOf } = expect.putApprovalResult;
    const calls = host
      .codePipelineCallsSince(seen.started)
      .filter((c) => c.operation === "PutApprovalResult");
    if (calls.length !== want)
      problems.push(
        `expected ${want} PutApprovalResult call(s) to CodePipeline, got ${calls.length}`,
      );
    const statuses = calls.map((c) => (c.input.result as { status?: string } | undefined)?.status);
    if (status !== undefined && statuses.some((s) => s !== status))
      problems.push(`expected PutApprovalResult with status ${status}, got ${statuses.join(", ")}`);
    if (tokenOf !== undefined) {
      const tokens = (seen.run?.tokens[tokenOf] ?? []).map((t) => t.token);
      if (tokens.length === 0)
        problems.push(
          `expected step "${tokenOf}" to have been issued an approval token, it was not`,
        );
      else if (calls.some((c) => !tokens.includes(String(c.input.token))))
        problems.push(
          `expected PutApprovalResult with the token of the run requested in step "${tokenOf}"`,
        );
    }
  }
  return problems;
}

/** Approval buttons, the PagerDuty incident and the audit trail. */
function checkState(host: ScenarioHost, step: ScenarioStep, seen: StepObservation): string[] {
  const problems: string[] = [];
  const { expect } = step;
  const { audit, started } = seen;
  if (expect.approvalButtons !== undefined) {
    const messages = host.slackMessagesSince(expect.approvalButtons, started);
    if (!messages.some((m) => hasButton(m))) {
      problems.push(`expected a message with Approve/Reject buttons in ${expect.approvalButtons}`);
    }
  }
  if (expect.incident !== undefined) {
    const { pipeline, status, triggers } = expect.incident;
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
    if (triggers !== undefined && !incidents.every((i) => i.triggers === triggers)) {
      problems.push(
        `expected the ${pipeline} incident to have received ${triggers} trigger(s) (one dedup_key), got ${incidents.map((i) => i.triggers).join(", ") || "none"}`,
      );
    }
  }
  for (const action of expect.audit ?? []) {
    if (!audit.some((a) => a.action === action))
      problems.push(`expected an audit record "${action}"`);
  }
  for (const [action, text] of Object.entries(expect.auditSays ?? {})) {
    const records = audit.filter((a) => a.action === action).map((a) => JSON.stringify(a));
    if (!records.some((r) => r.includes(text)))
      problems.push(`expected an audit record "${action}" that says "${text}"`);
  }
  for (const action of expect.noAudit ?? []) {
    if (audit.some((a) => a.action === action))
      problems.push(`expected no audit record "${action}"`);
  }
  return problems;
}

/**
 * What a storm shows a person (issue 11) and what the central bus refused (issue 14): messages
 * per channel at most, digests per channel, 429s answered, PagerDuty incidents opened.
 */
function checkStorm(host: ScenarioHost, step: ScenarioStep, seen: StepObservation): string[] {
  const problems: string[] = [];
  const { expect } = step;
  const accepted = seen.deliveries.filter((d) => d.delivered);
  if (expect.refused !== undefined && seen.observed.refused !== expect.refused)
    problems.push(
      `expected the central bus to refuse ${expect.refused} event(s), it refused ${seen.observed.refused}`,
    );
  for (const [channel, most] of Object.entries(expect.atMost ?? {})) {
    const got = accepted.filter((d) => d.channel === channel).length;
    if (got > most) problems.push(`${channel}: expected at most ${most} delivered, got ${got}`);
  }
  for (const [channel, want] of Object.entries(expect.digests ?? {})) {
    const got = accepted.filter((d) => d.channel === channel && isDigest(d.body)).length;
    if (got !== want) problems.push(`${channel}: expected ${want} digest(s), got ${got}`);
  }
  if (expect.http429 !== undefined) {
    const limited = seen.deliveries.filter((d) => d.status === 429);
    if (limited.length !== expect.http429) {
      const per = countBy(limited, (d) => d.channel);
      problems.push(
        `expected ${expect.http429} request(s) answered 429, got ${limited.length} (${JSON.stringify(per)})`,
      );
    }
  }
  if (expect.pagesOpened !== undefined) {
    const opened = host.incidents().filter((i) => i.openedAt >= seen.started).length;
    if (opened !== expect.pagesOpened)
      problems.push(`expected ${expect.pagesOpened} PagerDuty incident(s) opened, got ${opened}`);
  }
  return problems;
}

/** One line per expectation of `step` that the observation does not meet. */
export function checkExpectations(
  host: ScenarioHost,
  step: ScenarioStep,
  seen: StepObservation,
): string[] {
  return [
    ...checkCounts(step, seen),
    ...checkTexts(step, seen),
    ...checkApproval(host, step, seen),
    ...checkState(host, step, seen),
    ...checkStorm(host, step, seen),
  ];
}
