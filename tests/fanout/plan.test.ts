/**
 * The fan-out's decisions, without DynamoDB or receivers: rule lookup, which events are told,
 * which channels they go to, collapsing, Slack rejections, quiet hours and how a record settles.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseEventBridgeEvent, type CodePipelineEvent } from "../../handlers/events";
import {
  applyDowntime,
  applySlackRejection,
  claimsOutcome,
  collapsesInto,
  deliveriesFor,
  mayBeSlackRejection,
  noteRolledBackFailure,
  notifiesTier,
  outcomeAttempt,
  planRecord,
  resolveDelivery,
  resolvingChannels,
  settleRecord,
  type RecordPlan,
} from "../../handlers/fanout/plan";
import type { ChannelConfig, Notification, RuntimeConfig } from "../../handlers/types";

const PIPELINE = "main-app-production-v3";

function config(edit: (c: RuntimeConfig) => void = () => {}): RuntimeConfig {
  const c: RuntimeConfig = {
    project: "deploy-notifier",
    stack: "test",
    pipelines: [
      {
        match: { prefix: "main-app-" },
        tier: "staging",
        states: ["FAILED"],
      },
      {
        match: { name: PIPELINE },
        tier: "prod",
        states: ["FAILED", "SUCCEEDED"],
        approvals: { channel: "slack-approvals", approvers: ["U012ABC"] },
      },
    ],
    channels: {
      "slack-eng": { type: "slack", mode: "webhook" } as ChannelConfig,
      "slack-approvals": { type: "slack", mode: "bot" } as ChannelConfig,
      "pagerduty-oncall": { type: "pagerduty" } as ChannelConfig,
    },
    routing: {
      prod: { channels: ["pagerduty-oncall", "slack-eng", "not-configured"], severity: "critical" },
      staging: { channels: ["slack-eng"], severity: "warning" },
    },
    downtime: [],
    auditRetentionDays: 30,
  };
  edit(c);
  return c;
}

/** A CodePipeline fixture event (tests/events/codepipeline/<name>.json), parsed, with overrides. */
function parsed(name: string, detail: Record<string, unknown> = {}): CodePipelineEvent {
  const file = path.join(__dirname, "..", "events", "codepipeline", `${name}.json`);
  const ev = JSON.parse(fs.readFileSync(file, "utf8"));
  const result = parseEventBridgeEvent(
    JSON.stringify({ ...ev, detail: { ...ev.detail, ...detail } }),
  );
  if (!result.ok) throw new Error(`fixture ${name} does not parse: ${result.reason}`);
  return result.event;
}

function notify(plan: RecordPlan) {
  if (plan.kind !== "notify") throw new Error(`expected notify, got ${JSON.stringify(plan)}`);
  return plan;
}

describe("planRecord", () => {
  it("ignores a pipeline no rule matches, saying why", () => {
    const plan = planRecord(parsed("pipeline-failed", { pipeline: "other-app" }), config());
    expect(plan).toEqual({ kind: "ignore", logMessage: "ignored: pipeline not configured" });
  });

  it("takes the exact rule over a matching prefix", () => {
    const plan = notify(planRecord(parsed("pipeline-failed"), config()));
    expect(plan.rule.tier).toBe("prod");
    expect(plan.notification).toMatchObject({ tier: "prod", severity: "critical" });
  });

  it("falls back to warning severity for a tier without routing", () => {
    const plan = notify(
      planRecord(
        parsed("pipeline-failed"),
        config((c) => delete c.routing.prod),
      ),
    );
    expect(plan.notification.severity).toBe("warning");
  });

  it("tells failures at stage level but not other stage or action states", () => {
    expect(planRecord(parsed("stage-failed"), config()).kind).toBe("notify");
    const started = planRecord(parsed("action-started"), config());
    expect(started).toEqual({ kind: "ignore", notificationId: expect.any(String) });
    expect(planRecord(parsed("stage-succeeded"), config()).kind).toBe("ignore");
  });

  it("tells an approval request with its approvers, only where approvals are configured", () => {
    const plan = notify(planRecord(parsed("action-approval-started"), config()));
    expect(plan.notification.kind).toBe("approval-request");
    expect(plan.notification.approval).toEqual({ approvers: ["U012ABC"] });
    const without = planRecord(
      parsed("action-approval-started"),
      config((c) => delete c.pipelines[1].approvals),
    );
    expect(without).toEqual({ kind: "ignore" });
  });
});

describe("deliveriesFor", () => {
  const c = config();
  const rule = c.pipelines[1];
  const of = (name: string) => notify(planRecord(parsed(name), c)).notification;

  it("sends a prod failure to every configured channel of the tier, PagerDuty included", () => {
    expect(deliveriesFor(of("pipeline-failed"), rule, c)).toEqual([
      { channel: "pagerduty-oncall", slot: "pagerduty-oncall" },
      { channel: "slack-eng", slot: "slack-eng" },
    ]);
  });

  it("never pages for a success or a rejection", () => {
    expect(deliveriesFor(of("pipeline-succeeded"), rule, c)).toEqual([
      { channel: "slack-eng", slot: "slack-eng" },
    ]);
    const rejected = of("pipeline-failed");
    applySlackRejection(rejected, { by: "Jane Doe (U012ABC)" });
    expect(deliveriesFor(rejected, rule, c)).toEqual([{ channel: "slack-eng", slot: "slack-eng" }]);
  });

  it("sends nothing but pages for a state the rule does not notify", () => {
    const staging = config((x) => (x.pipelines[1].states = ["SUCCEEDED"]));
    expect(deliveriesFor(of("pipeline-failed"), staging.pipelines[1], staging)).toEqual([
      { channel: "pagerduty-oncall", slot: "pagerduty-oncall" },
    ]);
  });

  it("sends an approval request to the approval channel alone", () => {
    expect(deliveriesFor(of("action-approval-started"), rule, c)).toEqual([
      { channel: "slack-approvals", slot: "slack-approvals" },
    ]);
  });

  it("asks the PagerDuty channels for open incidents on a success only", () => {
    expect(resolvingChannels(of("pipeline-succeeded"), rule, c)).toEqual(["pagerduty-oncall"]);
    expect(resolvingChannels(of("pipeline-failed"), rule, c)).toEqual([]);
    expect(resolveDelivery("pagerduty-oncall", "k1")).toEqual({
      channel: "pagerduty-oncall",
      slot: "pagerduty-oncall/resolve/k1",
      resolveDedupKey: "k1",
    });
  });
});

describe("collapsing and Slack rejections", () => {
  const c = config();
  const of = (name: string) => notify(planRecord(parsed(name), c)).notification;

  it("claims the outcome for every FAILED event, and checks Slack for failures", () => {
    expect(claimsOutcome(of("stage-failed"))).toBe(true);
    expect(claimsOutcome(of("pipeline-succeeded"))).toBe(false);
    expect(mayBeSlackRejection(of("pipeline-failed"))).toBe(true);
    expect(mayBeSlackRejection(of("pipeline-succeeded"))).toBe(false);
  });

  it("collapses into another owner, not into itself", () => {
    const n = of("pipeline-failed");
    expect(collapsesInto(n, n.id)).toBeUndefined();
    expect(collapsesInto(n, "earlier")).toBe("earlier");
  });

  it("turns a failure into a rejection, keeping what the event already named", () => {
    const n: Notification = { ...of("stage-failed"), stage: "Approve" };
    applySlackRejection(n, { by: "Jane Doe (U012ABC)", stage: "Approve", action: "Manual" });
    expect(n).toMatchObject({
      kind: "rejection",
      decidedBy: "Jane Doe (U012ABC)",
      stage: "Approve",
    });
    expect(n.action).toBe("Manual");
    const untouched = of("pipeline-failed");
    applySlackRejection(untouched, undefined);
    expect(untouched.kind).toBe("failure");
  });

  // Issue 10, item 1: after a rejection in Slack and a RetryStageExecution (same execution id,
  // pipeline-execution-attempt 2: REFERENCE.md, CodePipeline's lifecycle), another stage that
  // fails is a failure of its own. It used to be turned into the old rejection, which hid it.
  it("leaves a failure of another stage alone: a later attempt's failure is a failure", () => {
    const n: Notification = { ...of("stage-failed"), stage: "Deploy", attempt: 2 };
    applySlackRejection(n, { by: "Jane Doe (U012ABC)", stage: "Approve", action: "Manual" });
    expect(n.kind).toBe("failure");
    expect(n.decidedBy).toBeUndefined();
  });
});

describe("applyDowntime", () => {
  const deliveries = [
    { channel: "slack-eng", slot: "slack-eng" },
    resolveDelivery("pagerduty-oncall", "k1"),
  ];
  const window = {
    name: "freeze",
    kind: "once" as const,
    from: "2024-11-18T00:00:00Z",
    to: "2024-11-19T00:00:00Z",
    allowCritical: false,
  };

  it("holds back all but PagerDuty resolves while a window is active, by the event's time", () => {
    const c = config((x) => (x.downtime = [window]));
    const n = notify(planRecord(parsed("pipeline-succeeded"), c)).notification;
    const decision = applyDowntime(c, n, deliveries);
    expect(decision.window?.name).toBe("freeze");
    expect(decision.toSend).toEqual([deliveries[1]]);
    expect(decision.suppressed).toEqual([deliveries[0]]);
  });

  it("sends everything outside a window", () => {
    const c = config((x) => (x.downtime = [{ ...window, to: "2024-11-18T01:00:00Z" }]));
    const n = notify(planRecord(parsed("pipeline-succeeded"), c)).notification;
    expect(applyDowntime(c, n, deliveries)).toEqual({ toSend: deliveries, suppressed: [] });
  });
});

describe("settleRecord", () => {
  it("is done when nothing failed", () => {
    expect(settleRecord(["sent", "deduplicated"], 1, 4)).toBe("done");
    expect(settleRecord([], 1, 4)).toBe("done");
  });

  it("retries a retryable failure until the last receive, then dead-letters", () => {
    expect(settleRecord(["sent", "failed"], 3, 4)).toBe("retry");
    expect(settleRecord(["sent", "failed"], 4, 4)).toBe("dead-letter");
  });

  it("dead-letters at once when every failure is permanent", () => {
    expect(settleRecord(["abandoned", "sent"], 1, 4)).toBe("dead-letter");
    expect(settleRecord(["abandoned", "failed"], 1, 4)).toBe("retry");
  });
});

describe("CodePipeline's lifecycle (issue 10)", () => {
  // The on-call phone is a pager too: prod routes to PagerDuty, SMS and Slack.
  const c = config((x) => {
    x.channels["sms-oncall"] = { type: "sms", phoneNumbers: ["+15555550100"] } as ChannelConfig;
    x.routing.prod.channels = ["pagerduty-oncall", "sms-oncall", "slack-eng"];
  });
  const rule = c.pipelines[1];
  const of = (name: string, detail: Record<string, unknown> = {}) =>
    notify(planRecord(parsed(name, detail), c)).notification;
  const channels = (n: Notification) => deliveriesFor(n, rule, c).map((d) => d.channel);

  it("pages PagerDuty and SMS for a failure, and neither for a rejection or an expired approval", () => {
    expect(channels(of("pipeline-failed"))).toEqual([
      "pagerduty-oncall",
      "sms-oncall",
      "slack-eng",
    ]);
    // action-approval-failed: "Rejected by …" (user guide, "Manage approval actions").
    expect(channels(of("action-approval-failed"))).toEqual(["slack-eng"]);
    // No execution-result: the approval timed out (7 days by default; REFERENCE.md).
    const expired = of("action-approval-expired");
    expect(expired.kind).toBe("approval-expired");
    expect(channels(expired)).toEqual(["slack-eng"]);
    // The approvers are known to the message (the expiry names whom nobody heard from).
    expect(expired.approval).toEqual({ approvers: ["U012ABC"] });
  });

  it("keeps `states` for the non-paging channels: an expiry is a FAILED state", () => {
    const quiet = config((x) => (x.pipelines[1].states = ["SUCCEEDED"]));
    // The rule routes every approval run's end (its request is rewritten: reminders/ended.ts);
    // one of a pipeline whose `states` leave FAILED out is told to nobody, nor claims an outcome.
    const plan = planRecord(parsed("action-approval-expired"), quiet);
    expect(plan).toMatchObject({ kind: "ignore" });
  });

  it("SMS gets failures only: no success, superseded or stopped reaches the on-call phone", () => {
    const all = config((x) => {
      x.channels["sms-oncall"] = { type: "sms", phoneNumbers: ["+15555550100"] } as ChannelConfig;
      x.routing.prod.channels = ["sms-oncall", "slack-eng"];
      x.pipelines[1].states = ["FAILED", "SUCCEEDED", "SUPERSEDED", "STOPPED"];
    });
    for (const name of ["pipeline-succeeded", "pipeline-superseded", "pipeline-stopped"]) {
      const n = notify(planRecord(parsed(name, { pipeline: PIPELINE }), all)).notification;
      expect(deliveriesFor(n, all.pipelines[1], all).map((d) => d.channel)).toEqual(["slack-eng"]);
    }
  });

  it("claims the outcome of its own attempt (pipeline-execution-attempt; 1 when absent)", () => {
    expect(outcomeAttempt(of("action-codebuild-failed", { pipeline: PIPELINE }))).toBe(1);
    expect(
      outcomeAttempt(
        of("action-codebuild-failed", { pipeline: PIPELINE, "pipeline-execution-attempt": 2 }),
      ),
    ).toBe(2);
    expect(outcomeAttempt(of("pipeline-failed", { "pipeline-execution-attempt": "3.0" }))).toBe(3);
  });

  it("tells the tier about a rollback's outcome even when its `states` leave successes out", () => {
    const failedOnly = config((x) => (x.pipelines[1].states = ["FAILED"]));
    // ExecutionTrigger.triggerType AutomatedRollback (API reference, ExecutionTrigger).
    const n = notify(
      planRecord(parsed("pipeline-succeeded-automated-rollback"), failedOnly),
    ).notification;
    expect(n.rollback).toEqual({ trigger: "AutomatedRollback" });
    expect(notifiesTier(n, failedOnly.pipelines[1])).toBe(true);
    expect(deliveriesFor(n, failedOnly.pipelines[1], failedOnly)).toEqual([
      { channel: "slack-eng", slot: "slack-eng" },
    ]);
    const plain = notify(planRecord(parsed("pipeline-succeeded"), failedOnly)).notification;
    expect(deliveriesFor(plain, failedOnly.pipelines[1], failedOnly)).toEqual([]);
  });

  it("names the failed execution a rollback undid from the one incident its success resolves", () => {
    const n = notify(planRecord(parsed("pipeline-succeeded-automated-rollback"), c)).notification;
    const failed = "3f2b8c1e-7d4a-4e9b-9c61-2a5d8e0f4b17";
    const other = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
    const resolve = (id: string, p = PIPELINE) =>
      resolveDelivery("pagerduty-oncall", `deploy-notifier/${p}/${id}`);
    expect(
      noteRolledBackFailure({ ...n, rollback: { ...n.rollback! } }, [
        resolve(failed),
        resolve(other),
      ]),
    ).toBeUndefined();
    expect(noteRolledBackFailure(n, [])).toBeUndefined();
    expect(noteRolledBackFailure(n, [resolve(failed), resolve(failed)])).toBe(failed);
    expect(n.rollback).toEqual({ trigger: "AutomatedRollback", failedExecutionId: failed });
    const plain = notify(planRecord(parsed("pipeline-succeeded"), c)).notification;
    expect(noteRolledBackFailure(plain, [resolve(failed)])).toBeUndefined();
    expect(plain.rollback).toBeUndefined();
  });
});
