/**
 * Snapshots of every channel's formatter for every notification fixture: a change in what people
 * see shows up in review.
 */
import { formatPagerDuty, pagerdutyDedupKey } from "../../handlers/channels/pagerduty";
import { CHANNEL_DRIVERS } from "../../handlers/channels/registry";
import { formatWebhook } from "../../handlers/channels/webhook";
import type { ChannelConfig, ChannelType } from "../../handlers/types";
import { CHANNEL_TYPES } from "../../handlers/types";
import { FIXTURE_NAMES, fixture } from "./helpers";

const CONFIGS: Record<Exclude<ChannelType, "pagerduty" | "webhook">, ChannelConfig> = {
  slack: { type: "slack", mode: "webhook" },
  sms: { type: "sms", phoneNumbers: ["+15555550100"] },
  teams: { type: "teams" },
  discord: { type: "discord", username: "deploy-notifier" },
  email: { type: "email", addresses: ["oncall@example.com"] },
};

describe("format() snapshots", () => {
  it("has the fixtures the snapshots promise", () => {
    expect(FIXTURE_NAMES.length).toBeGreaterThanOrEqual(8);
  });

  it("registers one driver per channel type, under its own type", () => {
    for (const type of CHANNEL_TYPES) expect(CHANNEL_DRIVERS[type].type).toBe(type);
  });

  describe.each(FIXTURE_NAMES)("%s", (name) => {
    it.each(Object.keys(CONFIGS) as (keyof typeof CONFIGS)[])("%s", (type) => {
      // Prepare
      const n = fixture(name);
      // Act
      const payload = CHANNEL_DRIVERS[type].format(n, CONFIGS[type]);
      // Assess
      expect(payload).toMatchSnapshot();
      expect(JSON.parse(JSON.stringify(payload))).toEqual(payload);
    });

    it("slack (bot mode)", () => {
      const payload = CHANNEL_DRIVERS.slack.format(fixture(name), {
        type: "slack",
        mode: "bot",
        channel: "C0DEPLOYS",
      });
      expect(payload).toMatchObject({ channel: "C0DEPLOYS" });
    });

    it("webhook", () => {
      const n = fixture(name);
      const payload = formatWebhook(
        n,
        { type: "webhook" },
        { now: new Date("2024-05-01T12:35:00Z") },
      );
      expect(payload).toEqual({
        version: "1",
        notification: n,
        sentAt: "2024-05-01T12:35:00.000Z",
      });
    });

    it("pagerduty", () => {
      // Prepare
      const n = fixture(name);
      // Act
      const run = (): unknown => formatPagerDuty(n, { type: "pagerduty" });
      // Assess: only failures trigger; every other kind is refused with a reason
      if (n.kind === "failure") expect(run()).toMatchSnapshot();
      else expect(run).toThrowErrorMatchingSnapshot();
    });
  });

  it("pagerduty resolves a success with the failing execution's dedup key", () => {
    // Prepare
    const failed = fixture("failure-hostile");
    const key = pagerdutyDedupKey(failed);
    // Act
    const payload = formatPagerDuty(
      fixture("success"),
      { type: "pagerduty" },
      { resolveDedupKey: key },
    );
    // Assess
    expect(payload).toEqual({
      event_action: "resolve",
      dedup_key: "deploy-notifier/main-app-production-v3/3f1c2b7e-9a4d-4e2b-8c6f-1d2e3f4a5b6c",
    });
  });

  it("pagerduty dedup keys stay within 255 chars and distinct for long names", () => {
    // Prepare
    const a = { pipeline: "p".repeat(300), executionId: "exec-a" };
    const b = { pipeline: "p".repeat(300), executionId: "exec-b" };
    // Act
    const [ka, kb] = [pagerdutyDedupKey(a), pagerdutyDedupKey(b)];
    // Assess
    expect(ka.length).toBeLessThanOrEqual(255);
    expect(ka).not.toBe(kb);
    expect(pagerdutyDedupKey(a)).toBe(ka);
  });

  it("pagerduty summary leads with the most important words", () => {
    const payload = formatPagerDuty(fixture("failure-hostile"), { type: "pagerduty" });
    expect(payload).toMatchObject({
      event_action: "trigger",
      payload: {
        summary: expect.stringMatching(/^FAILED main-app-production-v3 Deploy\/DeployECS: /),
      },
    });
  });
});
