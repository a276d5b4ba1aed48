/**
 * The local PagerDuty receiver models incidents by `dedup_key` as PagerDuty documents them
 * (support.pagerduty.com/docs/event-management, "Deduplicate Alerts"; Events API v2 OpenAPI,
 * github.com/PagerDuty/api-schema reference/events-v2/openapiv3.json), and counts what the
 * on-call person saw (`pagerdutyCounts`: `opened` is the storm bench's `pages`).
 */
import { pagerduty, pagerdutyCounts, type Incident } from "../../testing/receivers/pagerduty";

const ROUTING_KEY = "R".repeat(32);

function trigger(dedupKey: string, summary = "FAILED api-prod") {
  return {
    routing_key: ROUTING_KEY,
    event_action: "trigger",
    dedup_key: dedupKey,
    payload: { summary, source: "api-prod", severity: "critical" },
  };
}

function resolve(dedupKey: string) {
  return { routing_key: ROUTING_KEY, event_action: "resolve", dedup_key: dedupKey };
}

describe("the PagerDuty receiver's incidents", () => {
  it("a trigger with the key of an open incident is added to it (one incident, two alerts)", () => {
    const incidents: Incident[] = [];

    pagerduty(incidents, "enqueue", trigger("k1"));
    const again = pagerduty(incidents, "enqueue", trigger("k1", "FAILED again"));

    expect(again.status).toBe(202);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ dedupKey: "k1", status: "triggered", triggers: 2 });
    expect(pagerdutyCounts(incidents)).toEqual({
      opened: 1,
      open: 1,
      resolved: 0,
      alerts: 2,
      added: 1,
    });
  });

  it("a trigger after the resolve opens a NEW incident, even with the same key", () => {
    const incidents: Incident[] = [];

    pagerduty(incidents, "enqueue", trigger("k1"));
    pagerduty(incidents, "enqueue", resolve("k1"));
    pagerduty(incidents, "enqueue", trigger("k1"));

    expect(incidents.map((i) => [i.dedupKey, i.status])).toEqual([
      ["k1", "resolved"],
      ["k1", "triggered"],
    ]);
    expect(pagerdutyCounts(incidents)).toMatchObject({ opened: 2, open: 1, resolved: 1 });
  });

  it("a resolve of an unknown key is accepted (202) and changes nothing", () => {
    const incidents: Incident[] = [];
    pagerduty(incidents, "enqueue", trigger("k1"));

    const answer = pagerduty(incidents, "enqueue", resolve("never-triggered"));

    expect(answer.status).toBe(202);
    expect(incidents.map((i) => i.status)).toEqual(["triggered"]);
  });

  it("counts only the keys a caller asks for", () => {
    const incidents: Incident[] = [];
    pagerduty(incidents, "enqueue", trigger("deploy-notifier/a/1"));
    pagerduty(incidents, "enqueue", trigger("deploy-notifier/b/1"));

    expect(pagerdutyCounts(incidents, (k) => k.startsWith("deploy-notifier/a/")).opened).toBe(1);
  });
});
