import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { CONFIG_KEYS, ConfigError, configAdvice, parseConfig } from "../config";
import { placeholderSecrets, readStackConfig } from "../testing";

const ROOT = path.resolve(__dirname, "..");

/** The prod stack file's config with placeholder secrets, as a base for variations. */
function prodConfig(): Record<string, any> {
  const { raw } = readStackConfig("prod");
  return { ...raw, secrets: placeholderSecrets(raw) };
}

/** The problems parseConfig reports for a config, or [] when it is valid. */
function problemsOf(raw: Record<string, unknown>, secretKeys = ["secrets"]): string[] {
  try {
    parseConfig(raw, { stack: "prod", secretKeys });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("parseConfig", () => {
  it("accepts the prod stack file and derives the routing the product promises", () => {
    const config = parseConfig(prodConfig(), { stack: "prod", secretKeys: ["secrets"] });

    expect(config.runtime.pipelines.map((p) => p.match)).toEqual([
      { name: "main-app-production-v3" },
      { name: "api-gateway-prod-cluster" },
    ]);
    expect(config.runtime.routing.critical).toEqual({
      channels: ["pagerduty-oncall", "slack-eng", "sms-oncall"],
      severity: "critical",
    });
    expect(config.runtime.routing.standard.severity).toBe("warning");
    expect(config.runtime.pipelines[0].approvals).toEqual({
      channel: "slack-releases",
      approvers: ["U012ABCDEF", "U034GHIJKL"],
    });
    expect(config.runtime.downtime[0]).toMatchObject({
      kind: "weekly",
      timeZone: "Europe/Berlin",
      days: ["sun"],
    });
    expect(config.slackApp?.signingSecret).toBeDefined();
    expect(config.opsEmail).toBe("platform-oncall@example.com");
    expect(config.runtime.auditRetentionDays).toBe(365);
  });

  it("accepts the staging stack file: Slack only, nothing pages", () => {
    const { raw } = readStackConfig("staging");
    const config = parseConfig(
      { ...raw, secrets: placeholderSecrets(raw) },
      { stack: "staging", secretKeys: ["secrets"] },
    );

    const types = Object.values(config.runtime.channels).map((c) => c.type);
    expect(new Set(types)).toEqual(new Set(["slack"]));
    expect(config.runtime.pipelines[1].match).toEqual({ prefix: "staging-" });
    expect(config.slackApp).toBeUndefined();
  });

  it("keeps secrets out of the runtime config handed to the Lambdas", () => {
    const raw = prodConfig();
    raw.secrets["slack-eng"].webhookUrl = "https://hooks.slack.com/services/SENTINEL-1234";

    const config = parseConfig(raw, { stack: "prod", secretKeys: ["secrets"] });

    expect(JSON.stringify(config.runtime)).not.toContain("SENTINEL-1234");
    expect(config.channelSecrets["slack-eng"].webhookUrl).toContain("SENTINEL-1234");
  });

  it("reports every problem at once, each naming its config key", () => {
    const raw = prodConfig();
    raw.pipelines[0].tier = "gold";
    raw.pipelines[1].states = ["EXPLODED"];
    raw.routing.critical = ["pagerduty-oncall", "slack-eng", "sms-on-call"];
    raw.channels["sms-oncall"].phoneNumbers = ["555-0100"];
    raw.opsEmail = "platform team";
    raw.pipeline = [];
    delete raw.secrets["pagerduty-oncall"];

    expect(problemsOf(raw)).toEqual([
      "deploy-notifier:pipelines[1].states[0]: must be one of STARTED, SUCCEEDED, RESUMED, FAILED, CANCELED, STOPPED, STOPPING, SUPERSEDED",
      "deploy-notifier:channels.sms-oncall.phoneNumbers[0]: must be an E.164 phone number like +15555550100",
      "deploy-notifier:opsEmail: must be an email address",
      'deploy-notifier:pipeline: unknown config key (did you mean "pipelines"?)',
      'deploy-notifier:routing.critical[2]: unknown channel "sms-on-call" (defined: slack-eng, slack-releases, pagerduty-oncall, sms-oncall)',
      'deploy-notifier:pipelines[0].tier: unknown tier "gold" (routing defines: critical, standard)',
      "deploy-notifier:secrets.pagerduty-oncall.routingKey: is required for pagerduty channel \"pagerduty-oncall\" (pulumi config set --secret --path 'secrets.pagerduty-oncall.routingKey' …)",
    ]);
  });

  it.each([
    [
      "a pipeline with both name and prefix",
      (c: any) => (c.pipelines[1].prefix = "api-"),
      "deploy-notifier:pipelines[1]: set exactly one of name or prefix",
    ],
    [
      "the same pipeline twice",
      (c: any) => c.pipelines.push({ name: "main-app-production-v3", tier: "standard" }),
      "deploy-notifier:pipelines[2]: name main-app-production-v3 is already configured at deploy-notifier:pipelines[0]",
    ],
    [
      "an approver that is not a Slack user id",
      (c: any) => (c.pipelines[0].approvals.approvers = ["jane@example.com"]),
      "deploy-notifier:pipelines[0].approvals.approvers[0]: must be a Slack user id like U012ABCDEF",
    ],
    [
      "approvals posted to a non-Slack channel",
      (c: any) => (c.pipelines[0].approvals.channel = "sms-oncall"),
      'deploy-notifier:pipelines[0].approvals.channel: "sms-oncall" is a sms channel; approvals need a slack channel',
    ],
    [
      "an unknown channel type",
      (c: any) => (c.channels.fax = { type: "fax" }),
      "deploy-notifier:channels.fax.type: type must be one of slack, pagerduty, sms, teams, discord, webhook, email",
    ],
    [
      "a channel name that cannot be part of a resource name",
      (c: any) => (c.channels["Slack_Eng"] = { type: "email", addresses: ["a@example.com"] }),
      "deploy-notifier:channels.Slack_Eng: channel names are 1-40 of a-z 0-9 -, starting with a letter or digit",
    ],
    [
      "a Slack bot channel without a channel id",
      (c: any) => {
        c.channels["slack-eng"] = { type: "slack", mode: "bot" };
        c.secrets["slack-eng"] = { botToken: "xoxb-1" };
      },
      "deploy-notifier:channels.slack-eng.channel: is required when mode is bot",
    ],
    [
      "a webhook URL over plain http",
      (c: any) => (c.secrets["slack-eng"].webhookUrl = "http://hooks.slack.com/services/T/B/x"),
      "deploy-notifier:secrets.slack-eng.webhookUrl: must be an https URL",
    ],
    [
      "a PagerDuty routing key of the wrong length",
      (c: any) => (c.secrets["pagerduty-oncall"].routingKey = "abc"),
      "deploy-notifier:secrets.pagerduty-oncall.routingKey: must be a 32-character PagerDuty integration key",
    ],
    [
      "a secret for a channel that does not exist",
      (c: any) => (c.secrets["slack-eng2"] = { webhookUrl: "https://hooks.slack.com/x" }),
      'deploy-notifier:secrets.slack-eng2: no channel named "slack-eng2"',
    ],
    [
      "approvals without a Slack signing secret",
      (c: any) => delete c.secrets.slackApp,
      "deploy-notifier:secrets.slackApp.signingSecret: is required because a pipeline has Slack approvals (pulumi config set --secret --path 'secrets.slackApp.signingSecret' …)",
    ],
    [
      "a downtime window in a time zone that does not exist",
      (c: any) => (c.downtime[0].timeZone = "Europe/Berln"),
      'deploy-notifier:downtime[0].timeZone: "Europe/Berln" is not an IANA time zone',
    ],
    [
      "a downtime window with two forms",
      (c: any) => (c.downtime[0].cron = "0 2 * * 0"),
      "deploy-notifier:downtime[0]: set exactly one of days/start/end (weekly), cron/durationMinutes, or from/to (one-off)",
    ],
    [
      "a cron downtime window that croner rejects",
      (c: any) =>
        (c.downtime[0] = {
          name: "nightly",
          timeZone: "UTC",
          cron: "0 24 * * *",
          durationMinutes: 60,
        }),
      'deploy-notifier:downtime[0].cron: "0 24 * * *": hour field "24": invalid value for hour',
    ],
    [
      "a cron downtime window longer than 7 days",
      (c: any) =>
        (c.downtime[0] = {
          name: "nightly",
          timeZone: "UTC",
          cron: "0 2 * * *",
          durationMinutes: 10081,
        }),
      "deploy-notifier:downtime[0].durationMinutes: must be a whole number from 1 to 10080 (7 days), got 10081",
    ],
    [
      "two downtime windows with one name",
      (c: any) => c.downtime.push({ ...c.downtime[0] }),
      'deploy-notifier:downtime[1].name: "sunday-maintenance" is used twice',
    ],
    [
      "an unknown Slack app secret field",
      (c: any) => (c.secrets.slackApp.appToken = "xapp-1"),
      "deploy-notifier:secrets.slackApp.appToken: unknown secret field (signingSecret, botToken)",
    ],
    [
      "an unknown secret field for a channel",
      (c: any) => (c.secrets["pagerduty-oncall"].apiKey = "k"),
      "deploy-notifier:secrets.pagerduty-oncall.apiKey: unknown secret field for a pagerduty channel",
    ],
    [
      "an audit retention of zero days",
      (c: any) => (c.auditRetentionDays = 0),
      "deploy-notifier:auditRetentionDays: must be a whole number of days from 1 to 3650",
    ],
    [
      "a log retention CloudWatch does not offer",
      (c: any) => (c.logRetentionDays = 45),
      "deploy-notifier:logRetentionDays: must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
    ],
  ])("rejects %s with a message that names the key", (_what, mutate, message) => {
    const raw = prodConfig();
    mutate(raw);

    expect(problemsOf(raw)).toEqual([message]);
  });

  it("names the exact key of every problem in broken downtime windows, all at once", () => {
    const raw = prodConfig();
    raw.downtime = [
      raw.downtime[0],
      {
        name: "weekend-freeze",
        timeZone: "Mars/Base",
        days: ["sat", "sun", "Funday"],
        start: "25:00",
        end: "06:00",
        pipelines: ["api-gateway-prod-cluster", "api-*-prod"],
      },
      { name: "nightly", timeZone: "UTC", cron: "0 2 * * MON-FRX", durationMinutes: 0 },
      { name: "release-freeze", from: "2026-05-02T00:00:00Z", to: "2026-05-01T22:00:00Z" },
    ];

    expect(problemsOf(raw)).toEqual([
      'deploy-notifier:downtime[1].pipelines[1]: "*" is only allowed at the end (a name prefix), got "api-*-prod"',
      'deploy-notifier:downtime[1].timeZone: "Mars/Base" is not an IANA time zone',
      'deploy-notifier:downtime[1].days[2]: "Funday" is not one of mon, tue, wed, thu, fri, sat, sun',
      'deploy-notifier:downtime[1].start: "25:00" is not a time HH:MM (00:00 to 23:59)',
      'deploy-notifier:downtime[2].cron: "0 2 * * MON-FRX": day-of-week field "MON-FRX": contains illegal characters',
      "deploy-notifier:downtime[2].durationMinutes: must be a whole number from 1 to 10080 (7 days), got 0",
      'deploy-notifier:downtime[3].from: "2026-05-02T00:00:00Z" must be before to "2026-05-01T22:00:00Z"',
    ]);
  });

  it("refuses secrets that were not set with --secret", () => {
    expect(problemsOf(prodConfig(), [])).toEqual([
      "deploy-notifier:secrets: must be set as a secret (pulumi config set --secret --path 'secrets.<channel>.<field>' …)",
    ]);
  });

  it("formats all problems into one message, as pulumi preview shows it", () => {
    const raw = prodConfig();
    raw.opsEmail = "nope";
    raw.auditRetentionDays = -1;

    expect(() => parseConfig(raw, { stack: "prod", secretKeys: ["secrets"] })).toThrow(
      "2 problems in stack config:\n" +
        "  - deploy-notifier:opsEmail: must be an email address\n" +
        "  - deploy-notifier:auditRetentionDays: must be a whole number of days from 1 to 3650",
    );
  });
});

describe("Pulumi.yaml", () => {
  it("describes every config key the program reads", () => {
    const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const described = project.template.config;

    for (const key of CONFIG_KEYS) {
      expect(described[`deploy-notifier:${key}`]?.description).toEqual(expect.any(String));
    }
    expect(described["deploy-notifier:secrets"].secret).toBe(true);
    expect(project.name).toBe("deploy-notifier");
    expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
  });
});

describe("config messages (issue 15)", () => {
  it('suggests the key an unknown top-level key probably meant ("pipeline" → "pipelines")', () => {
    const raw = prodConfig();
    raw.pipeline = raw.pipelines;
    delete raw.pipelines;

    // Only the suggestion: "pipelines: is required" would send the user looking elsewhere.
    expect(problemsOf(raw)).toEqual([
      'deploy-notifier:pipeline: unknown config key (did you mean "pipelines"?)',
    ]);
  });

  it('says "expected a channel object" for a mis-indented channel, not two "is required"', () => {
    const doc = parseYaml(
      ["channels:", "  slack-eng:", "  type: slack", "  slack-releases:", "    type: slack"].join(
        "\n",
      ),
    ) as { channels: unknown };
    const raw = {
      ...prodConfig(),
      channels: { ...prodConfig().channels, ...(doc.channels as object) },
    };

    expect(problemsOf(raw)).toEqual([
      'deploy-notifier:channels.slack-eng: expected a channel object like { type: slack }, got nothing; "type" is at the same indentation as "slack-eng": indent it under "slack-eng"',
    ]);
  });

  it("says which rule wins when a pipeline name is also matched by a prefix (the name)", () => {
    const { raw } = readStackConfig("staging");
    raw.pipelines = [
      { name: "staging-payments", tier: "standard" },
      { prefix: "staging-", tier: "standard" },
      { prefix: "staging-pay", tier: "standard" },
    ];
    const config = parseConfig(
      { ...raw, secrets: placeholderSecrets(raw) },
      { stack: "staging", secretKeys: ["secrets"] },
    );

    expect(configAdvice(config.runtime).notes).toEqual([
      "deploy-notifier:pipelines[0] (name staging-payments) is also matched by deploy-notifier:pipelines[1] (prefix staging-): the exact name wins, tier standard",
      "deploy-notifier:pipelines[0] (name staging-payments) is also matched by deploy-notifier:pipelines[2] (prefix staging-pay): the exact name wins, tier standard",
      "deploy-notifier:pipelines[2] (prefix staging-pay) refines deploy-notifier:pipelines[1] (prefix staging-): the longer prefix wins for its pipelines, tier standard",
    ]);
  });

  it("warns about a channel no tier routes to, but not about an approvals-only channel", () => {
    const raw = prodConfig();
    raw.channels["slack-unused"] = { type: "slack" };
    raw.secrets["slack-unused"] = { webhookUrl: "https://hooks.slack.com/services/T/B/x" };
    const config = parseConfig(raw, { stack: "prod", secretKeys: ["secrets"] });

    // slack-releases is routed by no tier either, but pipelines[0].approvals uses it.
    expect(configAdvice(config.runtime).warnings).toEqual([
      "deploy-notifier:channels.slack-unused: no tier in deploy-notifier:routing sends to this channel and no approval uses it; it will receive nothing",
    ]);
  });

  it("warns about a downtime pipelines entry that matches no configured pipeline (a typo suppresses nothing)", () => {
    const raw = prodConfig();
    // prod's pipelines: main-app-production-v3, api-gateway-prod-cluster (no prefix rules).
    raw.downtime[0].pipelines = [
      "api-gateway-prod-clustr",
      "api-gateway-*",
      "main-app-production-v3",
      "web-*",
    ];
    const config = parseConfig(raw, { stack: "prod", secretKeys: ["secrets"] });

    expect(configAdvice(config.runtime).warnings).toEqual([
      'deploy-notifier:downtime[0].pipelines[0]: "api-gateway-prod-clustr" matches no pipeline in deploy-notifier:pipelines; window sunday-maintenance suppresses nothing for it',
      'deploy-notifier:downtime[0].pipelines[3]: "web-*" matches no pipeline in deploy-notifier:pipelines; window sunday-maintenance suppresses nothing for it',
    ]);
  });

  it("does not warn about a downtime entry that a prefix rule's pipelines can match", () => {
    const { raw } = readStackConfig("staging");
    const [window] = raw.downtime as Record<string, unknown>[];
    raw.downtime = [
      { ...window, pipelines: ["staging-payments", "staging-*", "stag*", "main-app-staging-v3"] },
    ];
    const config = parseConfig(
      { ...raw, secrets: placeholderSecrets(raw) },
      { stack: "staging", secretKeys: ["secrets"] },
    );

    expect(configAdvice(config.runtime).warnings).toEqual([]);
  });

  it("refuses plain-text secrets that an offline reader found in the stack file, naming the key", () => {
    expect(
      problemsOf(prodConfig(), ["secrets"]).length === 0 &&
        (() => {
          try {
            parseConfig(prodConfig(), {
              stack: "prod",
              secretKeys: ["secrets"],
              plainTextSecrets: ["secrets.slack-eng.webhookUrl"],
            });
            return [];
          } catch (err) {
            return (err as ConfigError).problems;
          }
        })(),
    ).toEqual([
      "deploy-notifier:secrets.slack-eng.webhookUrl: is in plain text in the stack file; a secret must be encrypted: pulumi config set --secret --path 'secrets.slack-eng.webhookUrl' …",
    ]);
  });
});

describe("values the receiving service would refuse are refused at preview time", () => {
  /** The problems of the prod config with one channel replaced. */
  function channelProblems(name: string, channel: unknown, secret?: Record<string, string>) {
    const raw = prodConfig();
    raw.channels[name] = channel;
    raw.routing.standard = [...raw.routing.standard, name];
    if (secret) raw.secrets[name] = secret;
    return problemsOf(raw);
  }
  const discordHook = { webhookUrl: "https://discord.com/api/webhooks/1/abc" };

  it("Discord username: 1-80 characters, no clyde or discord in any case (Discord webhook docs)", () => {
    const discord = (username: string) =>
      channelProblems("discord-ops", { type: "discord", username }, discordHook);

    expect(discord("x".repeat(80))).toEqual([]);
    expect(discord("Deploy bot")).toEqual([]);
    expect(discord("x".repeat(81))).toEqual([
      "deploy-notifier:channels.discord-ops.username: must be 1-80 characters (Discord's webhook name limit)",
    ]);
    expect(discord("   ")).toEqual([
      "deploy-notifier:channels.discord-ops.username: must be 1-80 characters (Discord's webhook name limit)",
    ]);
    expect(discord("ClydeBot")).toEqual([
      'deploy-notifier:channels.discord-ops.username: must not contain "clyde" (Discord refuses webhook names containing "clyde" or "discord")',
    ]);
    expect(discord("Deploys via DISCORD")).toEqual([
      'deploy-notifier:channels.discord-ops.username: must not contain "discord" (Discord refuses webhook names containing "clyde" or "discord")',
    ]);
  });

  it("Slack bot channel: a conversation id of 8-16 characters, not a #name", () => {
    const bot = (channel: string) =>
      channelProblems("slack-bot", { type: "slack", mode: "bot", channel }, { botToken: "xoxb-1" });

    expect(bot("C012AB3CD")).toEqual([]);
    expect(bot("C0123456789")).toEqual([]);
    expect(bot("G0123456789ABCDE")).toEqual([]);
    expect(bot("#releases")).toContain(
      "deploy-notifier:channels.slack-bot.channel: must be the channel id (C…), not its name",
    );
    expect(bot("C012AB")).toEqual([
      "deploy-notifier:channels.slack-bot.channel: must be a Slack channel id like C012ABCDEF",
    ]);
    expect(bot("c012ab3cd")).toEqual([
      "deploy-notifier:channels.slack-bot.channel: must be a Slack channel id like C012ABCDEF",
    ]);
  });

  it("SMS: E.164, at most 15 digits after the + (Amazon SNS SMS docs)", () => {
    const sms = (n: string) => channelProblems("sms-2", { type: "sms", phoneNumbers: [n] });

    expect(sms("+" + "1".repeat(15))).toEqual([]);
    expect(sms("+" + "1".repeat(16))).toEqual([
      "deploy-notifier:channels.sms-2.phoneNumbers[0]: must be an E.164 phone number like +15555550100",
    ]);
    expect(sms("15555550100")).toHaveLength(1);
    expect(sms("+0555550100")).toHaveLength(1);
  });

  it("PagerDuty: the routing key is the 32-character integration key", () => {
    const pd = (routingKey: string) =>
      channelProblems("pd-2", { type: "pagerduty" }, { routingKey });

    expect(pd("a".repeat(32))).toEqual([]);
    expect(pd("a".repeat(31))).toEqual([
      "deploy-notifier:secrets.pd-2.routingKey: must be a 32-character PagerDuty integration key",
    ]);
  });

  it("Teams: a Workflows URL on logic.azure.com or api.powerplatform.com; connector URLs are retired", () => {
    const teams = (webhookUrl: string) =>
      channelProblems("teams-ops", { type: "teams" }, { webhookUrl });

    expect(
      teams(
        "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x",
      ),
    ).toEqual([]);
    expect(
      teams(
        "https://default1234.56.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?sig=x",
      ),
    ).toEqual([]);
    expect(teams("https://contoso.webhook.office.com/webhookb2/abc")[0]).toMatch(
      /^deploy-notifier:secrets\.teams-ops\.webhookUrl: is an Office 365 connector URL, which Microsoft retired/,
    );
    expect(teams("https://example.com/hook")).toEqual([
      "deploy-notifier:secrets.teams-ops.webhookUrl: must be a Teams Workflows URL (host *.logic.azure.com or *.api.powerplatform.com), got host example.com",
    ]);
  });

  it("webhook and endpoint URLs must be https (loopback http only for the sandbox)", () => {
    expect(
      channelProblems("hook", { type: "webhook" }, { url: "http://hooks.example.com/x" }),
    ).toEqual(["deploy-notifier:secrets.hook.url: must be an https URL"]);
    expect(
      channelProblems(
        "pd-eu",
        { type: "pagerduty", endpoint: "http://events.eu.pagerduty.com/v2/enqueue" },
        { routingKey: "a".repeat(32) },
      ),
    ).toEqual(["deploy-notifier:channels.pd-eu.endpoint: must be an https URL"]);
    expect(
      channelProblems(
        "pd-local",
        { type: "pagerduty", endpoint: "http://127.0.0.1:9999/v2/enqueue" },
        { routingKey: "a".repeat(32) },
      ),
    ).toEqual([]);
  });

  it("email: a well-formed address", () => {
    expect(channelProblems("mail", { type: "email", addresses: ["ops@example.com"] })).toEqual([]);
    expect(channelProblems("mail", { type: "email", addresses: ["ops at example.com"] })).toEqual([
      "deploy-notifier:channels.mail.addresses[0]: must be an email address",
    ]);
  });
});
