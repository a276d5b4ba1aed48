/**
 * Config key `grouping` (issue 11): per tier and/or per channel over each channel type's default;
 * every mistake reported at once, each naming its key; PagerDuty never grouped; the runtime view
 * the fan-out reads (fanout/grouping.ts `groupingRule`). No I/O.
 */
import { ConfigError, parseConfig } from "../../config";
import { DEFAULT_GROUPING, MAX_WINDOW_SECONDS } from "../../handlers/contracts/grouping";
import { MAX_DELAY_SECONDS } from "../../handlers/fanout/requeue";
import {
  FLUSH_GRACE_MS,
  allowanceFor,
  groupingRule,
  seeChannelFor,
} from "../../handlers/fanout/grouping";
import { placeholderSecrets, readStackConfig } from "../../testing";

function prod(grouping?: unknown): Record<string, any> {
  const { raw } = readStackConfig("prod");
  return { ...raw, secrets: placeholderSecrets(raw), ...(grouping !== undefined && { grouping }) };
}

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseConfig(raw, { stack: "prod", secretKeys: ["secrets"] });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("config key grouping", () => {
  it("absent: the runtime config is unchanged and each type's default applies (chat 3 per 60 s, SMS 1 per 120 s, PagerDuty never)", () => {
    const { runtime } = parseConfig(prod(), { stack: "prod", secretKeys: ["secrets"] });
    expect(runtime.grouping).toBeUndefined();
    expect(groupingRule(runtime, "slack-eng")).toEqual({ windowSeconds: 60, maxIndividual: 3 });
    expect(groupingRule(runtime, "sms-oncall")).toEqual({ windowSeconds: 120, maxIndividual: 1 });
    expect(groupingRule(runtime, "pagerduty-oncall")).toBeUndefined();
    // SMS digests point at the first Slack channel of the SMS channel's tier.
    expect(seeChannelFor(runtime, "sms-oncall")).toBe("slack-eng");
  });

  it("tier then channel rules override the defaults field by field; enabled: false turns one channel or everything off", () => {
    const { runtime } = parseConfig(
      prod({
        tiers: { critical: { windowSeconds: 120 } },
        channels: { "slack-eng": { maxIndividual: 5 }, "sms-oncall": { enabled: false } },
      }),
      { stack: "prod", secretKeys: ["secrets"] },
    );
    // slack-eng is in two tiers (critical, standard); only critical has a rule.
    expect(groupingRule(runtime, "slack-eng")).toEqual({ windowSeconds: 120, maxIndividual: 5 });
    expect(groupingRule(runtime, "sms-oncall")).toBeUndefined();
    const off = parseConfig(prod({ enabled: false }), { stack: "prod", secretKeys: ["secrets"] });
    expect(groupingRule(off.runtime, "slack-eng")).toBeUndefined();
  });

  it("reports every mistake at once, each naming its key", () => {
    expect(
      problemsOf(
        prod({
          tiers: { nosuch: { windowSeconds: 60 }, critical: { windowSeconds: 5 } },
          channels: {
            "slack-typo": { maxIndividual: 2 },
            "pagerduty-oncall": { maxIndividual: 2 },
            "slack-eng": { maxIndividual: 0, extra: 1 },
          },
        }),
      ),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^deploy-notifier:grouping\.tiers\.critical\.windowSeconds: must be a whole number of seconds from 10 to 600/,
        ),
        expect.stringMatching(
          /^deploy-notifier:grouping\.channels\.slack-eng\.maxIndividual: must be a whole number from 1 to 100/,
        ),
        expect.stringMatching(/^deploy-notifier:grouping\.channels\.slack-eng.*extra/),
      ]),
    );
    const crossField = problemsOf(
      prod({
        tiers: {
          nosuch: { windowSeconds: 60 },
          critical: { windowSeconds: 90 },
          standard: { windowSeconds: 30 },
        },
        channels: { "slack-typo": { maxIndividual: 2 }, "pagerduty-oncall": { maxIndividual: 2 } },
      }),
    );
    expect(crossField).toEqual([
      expect.stringMatching(/^deploy-notifier:grouping\.tiers\.nosuch: unknown tier "nosuch"/),
      expect.stringMatching(
        /^deploy-notifier:grouping\.channels\.slack-typo: unknown channel "slack-typo"/,
      ),
      expect.stringMatching(
        /^deploy-notifier:grouping\.channels\.pagerduty-oncall: PagerDuty channels are never grouped/,
      ),
      expect.stringMatching(
        /^deploy-notifier:grouping\.tiers: channel "slack-eng" is in tiers critical, standard whose grouping differs/,
      ),
    ]);
  });

  it("the longest window's flush still fits SQS's longest delay (SendMessage DelaySeconds: 0 to 900)", () => {
    expect(MAX_WINDOW_SECONDS + FLUSH_GRACE_MS / 1000).toBeLessThanOrEqual(MAX_DELAY_SECONDS);
    for (const rule of Object.values(DEFAULT_GROUPING)) {
      if (rule) expect(rule.windowSeconds).toBeLessThanOrEqual(MAX_WINDOW_SECONDS);
    }
  });

  it("windows are fixed and aligned: the same window for every invocation at the same time", () => {
    const { runtime } = parseConfig(prod(), { stack: "prod", secretKeys: ["secrets"] });
    const a = allowanceFor(runtime, "slack-eng", 1_000_000_079_999)!;
    // 1_000_000_020_000 is a multiple of 60 000 ms: a window's first millisecond.
    const b = allowanceFor(runtime, "slack-eng", 1_000_000_020_000)!;
    expect(a.windowStart).toBe(b.windowStart);
    expect(allowanceFor(runtime, "slack-eng", 1_000_000_080_000)!.windowStart).toBe(
      b.windowStart + 60_000,
    );
    expect(allowanceFor(runtime, "pagerduty-oncall")).toBeUndefined();
  });
});
