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
    const n: Notification = of("stage-failed");
    applySlackRejection(n, { by: "Jane Doe (U012ABC)", stage: "Approve", action: "Manual" });
    expect(n).toMatchObject({
      kind: "rejection",
      decidedBy: "Jane Doe (U012ABC)",
      stage: "Deploy",
    });
    expect(n.action).toBe("Manual");
    const untouched = of("pipeline-failed");
    applySlackRejection(untouched, undefined);
    expect(untouched.kind).toBe("failure");
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
