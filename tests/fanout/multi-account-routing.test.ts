/**
 * Issue 14: pipeline selectors with `account` / `region` (handlers/routing.ts, its precedence) and
 * what messages say about where a pipeline lives (handlers/channels/common.ts).
 */
import {
  accountRegion,
  accountWords,
  headline,
  originOf,
  pipelineLabel,
} from "../../handlers/channels/common";
import { formatPagerDuty } from "../../handlers/channels/pagerduty";
import { CHANNEL_DRIVERS } from "../../handlers/channels/registry";
import { formatWebhook } from "../../handlers/channels/webhook";
import { findPipelineRule } from "../../handlers/routing";
import type { ChannelConfig, ChannelType, Notification, PipelineRule } from "../../handlers/types";
import { fixture } from "../channels/helpers";

const PROD = "111111111111";
const SANDBOX = "222222222222";

function rule(match: PipelineRule["match"], tier: string): PipelineRule {
  return { match, tier, states: ["FAILED"] };
}

describe("findPipelineRule with account and region selectors", () => {
  const rules = [
    rule({ prefix: "deploy-" }, "standard"),
    rule({ name: "deploy-api" }, "standard-exact"),
    rule({ name: "deploy-api", account: PROD }, "critical"),
    rule({ name: "deploy-api", account: SANDBOX }, "quiet"),
    rule({ name: "deploy-api", account: PROD, region: "eu-west-1" }, "critical-eu"),
    rule({ name: "deploy-api", region: "ap-southeast-2" }, "apac"),
    rule({ prefix: "team-", account: SANDBOX }, "sandbox-team"),
    rule({ name: "team-api" }, "team-api"),
  ];
  const at = (pipeline: string, account: string, region = "us-east-1") =>
    findPipelineRule(rules, { pipeline, account, region })?.tier;

  it("tiers one pipeline name per account: critical in prod, quiet in the sandbox", () => {
    expect(at("deploy-api", PROD)).toBe("critical");
    expect(at("deploy-api", SANDBOX)).toBe("quiet");
  });

  it("prefers account + region over account alone, and account over region alone", () => {
    expect(at("deploy-api", PROD, "eu-west-1")).toBe("critical-eu");
    expect(at("deploy-api", PROD, "ap-southeast-2")).toBe("critical");
    expect(at("deploy-api", "333333333333", "ap-southeast-2")).toBe("apac");
  });

  it("falls back to the rule without a place for any other admitted account", () => {
    expect(at("deploy-api", "333333333333")).toBe("standard-exact");
    expect(at("deploy-web", PROD)).toBe("standard");
  });

  it("ranks the name before the place: an exact name beats an account's prefix", () => {
    expect(at("team-api", SANDBOX)).toBe("team-api");
    expect(at("team-web", SANDBOX)).toBe("sandbox-team");
    expect(at("team-web", PROD)).toBeUndefined();
  });

  it("matches only rules without a place when the caller knows only the name", () => {
    expect(findPipelineRule(rules, "deploy-api")?.tier).toBe("standard-exact");
    expect(findPipelineRule(rules, "team-web")).toBeUndefined();
  });

  it("keeps config order between equally specific rules", () => {
    const twins = [
      rule({ name: "x", account: PROD }, "first"),
      rule({ name: "x", account: PROD }, "second"),
    ];
    expect(
      findPipelineRule(twins, { pipeline: "x", account: PROD, region: "us-east-1" })?.tier,
    ).toBe("first");
  });
});

describe("messages name the account and region", () => {
  const base: Notification = {
    id: "n1",
    eventId: "e1",
    kind: "failure",
    level: "pipeline",
    pipeline: "deploy-api",
    executionId: "x-1",
    state: "FAILED",
    account: PROD,
    region: "eu-west-1",
    time: "2026-11-30T10:00:00Z",
    consoleUrl: "https://eu-west-1.console.aws.amazon.com/",
    tier: "critical",
    severity: "critical",
  };

  it("with the alias (and the id, for the console's account switcher) when configured", () => {
    const n = { ...base, showOrigin: true, accountAlias: "payments-prod" };
    expect(originOf(n)).toBe("payments-prod, eu-west-1");
    expect(pipelineLabel(n)).toBe("deploy-api (payments-prod, eu-west-1)");
    expect(headline({ ...n, stage: "Deploy", action: "ECS" })).toBe(
      "deploy-api (payments-prod, eu-west-1) failed at Deploy/ECS",
    );
    expect(accountWords(n)).toBe(`payments-prod (${PROD})`);
    expect(accountRegion(n)).toBe(`payments-prod (${PROD}) / eu-west-1`);
  });

  it("with the account id when no alias is configured", () => {
    expect(headline({ ...base, kind: "success", state: "SUCCEEDED", showOrigin: true })).toBe(
      `deploy-api (${PROD}, eu-west-1) succeeded`,
    );
  });

  it("not at all for a single-account stack's own pipelines (headlines unchanged)", () => {
    expect(originOf(base)).toBeUndefined();
    expect(headline(base)).toBe("deploy-api failed");
    expect(accountRegion(base)).toBe(`${PROD} / eu-west-1`);
  });
});

describe("every medium names a source account's pipeline", () => {
  const CONFIGS: Record<Exclude<ChannelType, "pagerduty" | "webhook">, ChannelConfig> = {
    slack: { type: "slack", mode: "webhook" },
    sms: { type: "sms", phoneNumbers: ["+15555550100"] },
    teams: { type: "teams" },
    discord: { type: "discord", username: "deploy-notifier" },
    email: { type: "email", addresses: ["oncall@example.com"] },
  };
  // A failure of deploy-api in the prod source account, in eu-west-1, as fanout/plan.ts makes it.
  const n: Notification = {
    ...fixture("failure-revision"),
    pipeline: "deploy-api",
    account: PROD,
    region: "eu-west-1",
    accountAlias: "payments-prod",
    showOrigin: true,
  };

  it.each(Object.keys(CONFIGS) as (keyof typeof CONFIGS)[])("%s", (type) => {
    // Teams and Discord escape Markdown's parentheses: compare without the escapes.
    const text = JSON.stringify(CHANNEL_DRIVERS[type].format(n, CONFIGS[type])).replace(/\\/g, "");
    expect(text).toContain("deploy-api (payments-prod, eu-west-1)");
    // The rich formats' "Account / region" field also gives the id; SMS (140 characters) cannot.
    if (type !== "sms") expect(text).toContain(`payments-prod (${PROD}) / eu-west-1`);
  });

  it("pagerduty (summary and custom details)", () => {
    const event = formatPagerDuty(n, { type: "pagerduty" });
    expect(JSON.stringify(event)).toContain("deploy-api (payments-prod, eu-west-1)");
    expect(event).toMatchObject({
      payload: { custom_details: { account: PROD, region: "eu-west-1" } },
    });
  });

  it("webhook (the notification itself, with the alias)", () => {
    const body = formatWebhook(n, { type: "webhook" });
    expect(body.notification).toMatchObject({
      account: PROD,
      region: "eu-west-1",
      accountAlias: "payments-prod",
    });
  });
});
