/**
 * What a batch's plan says its pacing without a grouping allowance will need (fanout/pace-plan.ts
 * `expectedPacing`), the count an invocation's slot pool reserves ahead (fanout/pace-pool.ts).
 * The prod stack's config: critical → PagerDuty (never grouped), Slack and SMS (grouped by
 * default, so their failures reserve with an allowance, one at a time); approvals of
 * main-app-production-v3 in slack-releases; quiet hours for api-gateway-prod-cluster on Sundays
 * 02:00–04:00 Berlin. No I/O.
 */
import { parseConfig } from "../../config";
import { expectedPacing } from "../../handlers/fanout/pace-plan";
import { parseEventBridgeEvent, type CodePipelineEvent } from "../../handlers/events";
import { placeholderSecrets, readStackConfig } from "../../testing";
import { event, record } from "../support/fanout";

const { raw } = readStackConfig("prod");
const { runtime } = parseConfig(
  { ...raw, secrets: placeholderSecrets(raw) },
  { stack: "prod", secretKeys: ["secrets"] },
);

/** A parsed record of fixture `name` with `detail` overrides (and `top` ones), as handler.ts has it. */
function planned(
  name: string,
  detail: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
  attributes: Record<string, string> = {},
) {
  const body = event(name, detail, top);
  const r = record(body, `m-${name}-${Object.keys(attributes).length}`);
  r.messageAttributes = Object.fromEntries(
    Object.entries(attributes).map(([k, v]) => [k, { stringValue: v, dataType: "String" }]),
  );
  const parsed = parseEventBridgeEvent(r.body);
  if (!parsed.ok) throw new Error(`fixture ${name}: ${parsed.reason}`);
  return { record: r, ev: parsed.event as CodePipelineEvent };
}

describe("expectedPacing", () => {
  it("counts each attempt's failure once, on the channels paced without an allowance only", () => {
    const records = [
      // One execution's stage and pipeline FAILED: one message (they collapse), one page.
      planned("stage-failed"),
      planned("pipeline-failed"),
      // The same execution's second attempt fails again: a message of its own.
      planned("pipeline-failed", { "pipeline-execution-attempt": 2 }),
      // Another pipeline's failure.
      planned("action-codebuild-failed"),
      // An approval request: never grouped, so slack-releases paces without an allowance.
      planned("action-approval-started"),
      // A success pages no one and the critical tier tells only failures.
      planned("pipeline-succeeded"),
    ];
    expect(expectedPacing(runtime, records)).toEqual({
      "pagerduty-oncall": 3,
      "slack-releases": 1,
    });
  });

  it("leaves out a copy carrying its slot, quiet hours, and a pipeline no rule matches", () => {
    const records = [
      planned(
        "action-codebuild-failed",
        { "execution-id": "copy" },
        {},
        {
          paced: JSON.stringify({ "pagerduty-oncall": Date.now() }),
        },
      ),
      // Sunday 02:30 in Berlin (CET, UTC+1): api-gateway-prod-cluster's quiet hours.
      planned(
        "action-codebuild-failed",
        { "execution-id": "quiet" },
        {
          time: "2024-11-17T01:30:00Z",
        },
      ),
      planned("pipeline-failed", { pipeline: "not-configured" }),
    ];
    expect(expectedPacing(runtime, records)).toEqual({});
  });

  it("leaves out a redelivery and a deferred copy: their deliveries may be sent already", () => {
    const redelivered = planned("action-codebuild-failed", { "execution-id": "again" });
    redelivered.record.attributes.ApproximateReceiveCount = "2";
    // A copy deferred by a 429 (no slot carried), its other channels sent before.
    const copy = planned(
      "action-codebuild-failed",
      { "execution-id": "copy" },
      {},
      {
        deferrals: "1",
        deferredFor: "pagerduty-oncall: HTTP 429",
      },
    );
    const first = planned("action-codebuild-failed", { "execution-id": "first" });
    expect(expectedPacing(runtime, [redelivered, copy, first])).toEqual({ "pagerduty-oncall": 1 });
  });
});
