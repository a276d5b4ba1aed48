/**
 * Issue 12, latency: the delivery claims run while the enrichment runs, not after it; no message
 * goes out before the enrichment (it says which action failed and why, and whether a FAILED pages
 * at all); a slot claimed early for a channel the enrichment then drops is released — `failed`
 * with the reason, never left `sending` — and a grouped paging channel's send slot (SMS's one
 * text per grouping window) is not spent on it (handlers/fanout/gate.ts, early.ts).
 */
import { randomUUID } from "node:crypto";
import {
  addDeployFailure,
  event,
  record,
  useFanoutWorld,
  type FanoutWorld,
} from "../support/fanout";

let world: FanoutWorld;
// Grouping on, as in a deployed stack (the shared world turns it off): SMS is then a grouped
// paging channel, whose window allowance an early reservation would spend.
useFanoutWorld(
  (w) => (world = w),
  (raw) => {
    raw.grouping = { enabled: true };
  },
);

const PIPELINE = "main-app-production-v3";
const CHANNELS = ["pagerduty-oncall", "slack-eng", "sms-oncall"];
/** The channels that reserve their send slot before the enrichment's verdict (fanout/gate.ts). */
const PACED_EARLY = ["PACE#pagerduty-oncall", "PACE#slack-eng"];

/** The ledger items (delivery records) of one execution, by channel. */
async function ledgerOf(executionId: string): Promise<Record<string, Record<string, any>>> {
  const items = (await world.items()).filter(
    (i) => String(i.pk).startsWith("DELIVERY#PIPELINE#") && i.executionId === executionId,
  );
  return Object.fromEntries(items.map((i) => [String(i.channel), i]));
}

const requests = () => [
  ...world.standins.receivers.byReceiver("pagerduty"),
  ...world.standins.receivers.byReceiver("slack", "slack-eng"),
  ...world.standins.aws.state.sns.published,
];

/** What the table and the receivers hold at one moment of the invocation. */
interface Moment {
  ledger: Record<string, Record<string, any>>;
  /** The `PACE#<channel>` keys written so far (store/pacing.ts). */
  paced: string[];
  /** Requests the receivers (PagerDuty, Slack, SNS) got so far. */
  sent: number;
}

async function momentOf(executionId: string): Promise<Moment> {
  const ledger = await ledgerOf(executionId);
  const paced = (await world.items())
    .filter((i) => String(i.pk).startsWith("PACE#"))
    .map((i) => String(i.pk))
    .sort();
  return { ledger, paced, sent: requests().length };
}

/**
 * Reads the table until every channel's slot is claimed and the early send slots are reserved,
 * or the invocation ended (`done`): the moment to look at, however long this machine takes to
 * get there. Not a timing: it ends on what happened.
 */
async function whenClaimed(executionId: string, done: Promise<unknown>): Promise<Moment> {
  let ended = false;
  void done.finally(() => (ended = true)).catch(() => undefined);
  for (;;) {
    const moment = await momentOf(executionId);
    const claimed = Object.keys(moment.ledger).length === CHANNELS.length;
    if (ended || (claimed && PACED_EARLY.every((k) => moment.paced.includes(k)))) return moment;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the delivery claims and the enrichment", () => {
  it("every channel's slot is claimed while CodePipeline has not answered yet; nothing is sent before it has", async () => {
    const executionId = randomUUID();
    addDeployFailure(world.standins.aws, executionId);
    // CodePipeline takes the enrichment's look-ups and answers none until the test has looked.
    const held = world.standins.aws.hold("codepipeline");
    const ev = event("pipeline-failed", { "execution-id": executionId }, { id: randomUUID() });

    const done = world.invoke([record(ev, "m-early")]);
    let during: Moment;
    let waiting: number;
    try {
      during = await whenClaimed(executionId, done);
      // The enrichment's look-ups that arrived and still wait for their answer (not given up).
      waiting = held.waiting;
    } finally {
      held.release();
    }
    const result = await done;

    expect(result.batchItemFailures).toEqual([]);
    expect(Object.keys(during.ledger).sort()).toEqual(CHANNELS);
    expect(waiting).toBeGreaterThan(0); // the look-ups were under way (received, not answered)
    expect(Object.values(during.ledger).map((i) => i.status)).toEqual([
      "sending",
      "sending",
      "sending",
    ]);
    expect(during.sent).toBe(0);
    // Send slots reserved meanwhile too, except SMS's: a grouped paging channel paces after the
    // verdict (its window's one text is not spent on a FAILED that may turn out a rejection).
    expect(during.paced).toEqual(PACED_EARLY);
    // What went out carries what the enrichment found (the failed action and its error).
    const slack = world.standins.receivers.byReceiver("slack", "slack-eng");
    expect(slack).toHaveLength(1);
    expect(JSON.stringify(slack[0].body)).toContain("DeployECS");
    expect(world.standins.aws.state.sns.published).toHaveLength(1);
    expect(world.standins.receivers.byReceiver("pagerduty")).toHaveLength(1);
    const after = await ledgerOf(executionId);
    expect(Object.values(after).map((i) => i.status)).toEqual(["sent", "sent", "sent"]);
  });
});

describe("a FAILED the enrichment finds to be an expired approval", () => {
  // No decision within the approval's timeout: the Approval action ends Failed with no summary
  // (user guide, "Manage approval actions"), which pages no one (plan.ts deliveriesFor).
  it("releases the early claims of PagerDuty and SMS (failed with the reason, never sending) and spends none of SMS's window", async () => {
    const executionId = randomUUID();
    world.standins.aws.addFailedExecution({
      pipeline: PIPELINE,
      executionId,
      stage: "Approve",
      action: "ManualApproval",
      category: "Approval",
      provider: "Manual",
    } as any);
    world.standins.aws.delays.codepipeline = { ListActionExecutions: 200 };

    const left = await world.drain([
      event("pipeline-failed", { "execution-id": executionId }, { id: randomUUID() }),
    ]);

    expect(left).toEqual([]);
    expect(world.standins.receivers.byReceiver("pagerduty")).toHaveLength(0);
    expect(world.standins.aws.state.sns.published).toHaveLength(0);
    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(1);
    const ledger = await ledgerOf(executionId);
    expect(ledger["slack-eng"].status).toBe("sent");
    for (const channel of ["pagerduty-oncall", "sms-oncall"]) {
      expect({ channel, status: ledger[channel]?.status }).toEqual({ channel, status: "failed" });
      expect(ledger[channel].lastError).toMatch(/^released unsent: not due once enriched/);
      expect(ledger[channel].leaseUntil).toBe(0);
      // Nothing was sent: the claim's attempt is taken back, so a later claim of the slot is not
      // a retry that skips grouping (red-team finding).
      expect(ledger[channel].attempts).toBe(0);
    }
    // SMS's pacing item (store/pacing.ts, PACE#<channel>: its slots and window allowance) was
    // never written; PagerDuty (never grouped) reserved its slot while the enrichment ran.
    const paced = (await world.items()).filter((i) => String(i.pk).startsWith("PACE#"));
    expect(paced.map((i) => String(i.pk)).sort()).toEqual([
      "PACE#pagerduty-oncall",
      "PACE#slack-eng",
    ]);
    // Not reported as a delivery failure: no Failed metric for the released channels.
    const failedMetrics = world.lines.filter((l) => l.Failed !== undefined);
    expect(failedMetrics).toEqual([]);
  });
});
