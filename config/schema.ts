/**
 * The stack config schema: the user-facing contract of `Pulumi.<stack>.yaml`.
 *
 * Validation runs at `pulumi preview` time (deploy time) and costs the Lambda archives nothing:
 * zod never ships to a handler. Every problem is reported at once, each naming its config key.
 */
import { z } from "zod";
import { PIPELINE_STATES, SEVERITIES } from "../handlers/types";
import { checkHttpUrl } from "../handlers/url";
import {
  MAX_INDIVIDUAL,
  MAX_WINDOW_SECONDS,
  MIN_WINDOW_SECONDS,
} from "../handlers/contracts/grouping";

/** CodePipeline pipeline names: 1–100 of `A-Za-z0-9.@-_` (CodePipeline API reference). */
const PIPELINE_NAME = /^[A-Za-z0-9.@\-_]{1,100}$/;
/** Channel instance names become parts of resource names: keep them DNS-label-like. */
const CHANNEL_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** Slack user ids (U…, or W… on Enterprise Grid). */
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
/**
 * Slack conversation ids: C… public, G… private, D… direct; upper-case letters and digits, 8–16
 * characters (Slack Web API OpenAPI spec `defs_channel` `^[CGD][A-Z0-9]{8}$`, since grown to 10–11
 * characters; AWS API reference "SlackChannel": length 8–16, pattern `[CGD][A-Z0-9]+`).
 * `chat.postMessage` answers `channel_not_found` for anything else.
 */
const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{7,15}$/;
/**
 * E.164 phone numbers, as SNS SMS requires them: a plus sign, the country code, at most 15 digits
 * in all (Amazon SNS developer guide, "Publishing SMS messages to a mobile phone": "Phone numbers
 * that follow this format can have a maximum of 15 digits along with the + prefix").
 */
const E164 = /^\+[1-9][0-9]{6,14}$/;
/**
 * Discord webhook names (the `username` we send with each message): 1–80 characters, and never
 * containing "clyde" or "discord", case-insensitive (Discord developer docs, Webhook resource,
 * "Create Webhook": "A webhook name is valid if it does not contain the substrings clyde or
 * discord (case-insensitive)" and "webhook names can be up to 80 characters"). Discord answers
 * 400 to an Execute Webhook whose `username` breaks these rules.
 */
export const DISCORD_USERNAME_MAX = 80;
const DISCORD_RESERVED = ["clyde", "discord"] as const;

/**
 * https URLs, or http on the loopback interface (the local sandbox's receivers). Undefined when
 * `value` is fine, else the problem.
 */
export function urlProblem(value: string): string | undefined {
  const checked = checkHttpUrl(value);
  if (!checked.ok) return checked.problem === "scheme" ? "must be an https URL" : "must be a URL";
  const url = checked.url;
  if (url.protocol === "https:") return undefined;
  if (url.hostname === "127.0.0.1" || url.hostname === "localhost") return undefined;
  return "must be an https URL";
}

/** A URL setting: https (or loopback http for the sandbox). */
const httpsUrl = z.string().superRefine((v, ctx) => {
  const problem = urlProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** Problems of a Discord `username`, or undefined. */
export function discordUsernameProblem(name: string): string | undefined {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > DISCORD_USERNAME_MAX) {
    return `must be 1-${DISCORD_USERNAME_MAX} characters (Discord's webhook name limit)`;
  }
  const reserved = DISCORD_RESERVED.find((w) => trimmed.toLowerCase().includes(w));
  return reserved
    ? `must not contain "${reserved}" (Discord refuses webhook names containing "clyde" or "discord")`
    : undefined;
}
/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

const pipelineName = z
  .string()
  .regex(PIPELINE_NAME, "must be 1-100 characters of A-Z a-z 0-9 . @ - _ (a CodePipeline name)");

/**
 * Email addresses for SNS email subscriptions and the ops topic: SNS needs a deliverable address
 * (Amazon SNS API reference, `Subscribe`: for the `email` protocol the endpoint is "an email
 * address"); the address must receive and confirm the subscription message.
 */
const email = z.email("must be an email address");

const REMINDER_HOURS_PROBLEM =
  "must be a number of hours from 0 (no reminder) to below 168 (an approval times out after 7 days)";

const approvals = z.strictObject({
  channel: z.string().min(1, "must name a slack channel instance"),
  approvers: z
    .array(z.string().regex(SLACK_USER_ID, "must be a Slack user id like U012ABCDEF"))
    .min(1, "must list at least one approver"),
  /**
   * One reminder to the approvers this many hours before a pending request expires (0: none).
   * Below 168: CodePipeline's default approval timeout is 7 days (user guide, "Manage approval
   * actions"), so a longer lead would remind at once.
   */
  reminderBeforeHours: z
    .unknown()
    // A custom check, not z.number(): zod reports a wrong type without the input, which the
    // config loader would word as "is required" for a value that is there ("24h").
    .superRefine((v, ctx) => {
      const ok = typeof v === "number" && Number.isFinite(v) && v >= 0 && v < 168;
      if (v !== undefined && !ok) ctx.addIssue({ code: "custom", message: REMINDER_HOURS_PROBLEM });
    })
    .transform((v) => v as number | undefined)
    .optional(),
});

/** 12-digit AWS account ids (IAM user guide, "Your AWS account ID and its alias"). */
export const ACCOUNT_ID = /^[0-9]{12}$/;
/**
 * AWS region codes: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`
 * (AWS general reference, "Regions and endpoints").
 */
export const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$/;
/**
 * IAM role ARNs, optionally with a path: `arn:<partition>:iam::<account>:role/<path/><name>`
 * (IAM user guide, "IAM identifiers": role names are 1-64 of `[\w+=,.@-]`).
 */
export const ROLE_ARN =
  /^arn:aws(-cn|-us-gov)?:iam::([0-9]{12}):role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** AWS Organizations ids: `o-` and 10-32 lower-case letters or digits (Organizations API, `Organization.Id`). */
export const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

const accountId = z.string().regex(ACCOUNT_ID, "must be 12 digits (an AWS account id)");
const regionCode = z.string().regex(REGION, "must be an AWS region code like eu-west-1");

/**
 * One source account (issue 14): whose CodePipeline events the central bus admits, from which
 * regions, shown as `alias` in messages, and the role `pulumi up` assumes there to declare the
 * forwarding (absent: the account's team deploys infra/forwarding.ts itself).
 */
export const sourceSchema = z.strictObject({
  account: accountId,
  regions: z.array(regionCode).min(1, "must list at least one region"),
  alias: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, "must be 1-64 of A-Z a-z 0-9 space . _ -")
    .optional(),
  deployRoleArn: z
    .string()
    .regex(ROLE_ARN, "must be an IAM role ARN like arn:aws:iam::111122223333:role/deployer")
    .optional(),
});

/** One pipeline entry: an exact name or a name prefix, optionally in one account / region. */
export const pipelineSchema = z
  .strictObject({
    name: pipelineName.optional(),
    prefix: pipelineName.optional(),
    account: accountId.optional(),
    region: regionCode.optional(),
    tier: z.string().min(1, "must name a tier from deploy-notifier:routing"),
    states: z
      .array(z.enum(PIPELINE_STATES, { error: `must be one of ${PIPELINE_STATES.join(", ")}` }))
      .min(1, "must list at least one state")
      .default(["FAILED"]),
    approvals: approvals.optional(),
  })
  .superRefine((p, ctx) => {
    if ((p.name === undefined) === (p.prefix === undefined)) {
      ctx.addIssue({ code: "custom", message: "set exactly one of name or prefix" });
    }
  });

/**
 * Slack channel instance. `webhook` posts to an incoming webhook (secret `webhookUrl`); `bot`
 * posts with `chat.postMessage` (secret `botToken`) to `channel`.
 */
const slackChannel = z
  .strictObject({
    type: z.literal("slack"),
    mode: z.enum(["webhook", "bot"]).default("webhook"),
    /** Channel id for bot mode (C…). */
    channel: z
      .string()
      .refine((v) => !v.startsWith("#"), "must be the channel id (C…), not its name")
      .regex(SLACK_CHANNEL_ID, "must be a Slack channel id like C012ABCDEF")
      .optional(),
    /** Slack Web API base URL for bot mode (default https://slack.com/api). */
    apiUrl: httpsUrl.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.mode === "bot" && !c.channel) {
      ctx.addIssue({ code: "custom", path: ["channel"], message: "is required when mode is bot" });
    }
  });

const pagerdutyChannel = z.strictObject({
  type: z.literal("pagerduty"),
  source: z.string().optional(),
  /** Events API v2 enqueue URL; EU accounts use https://events.eu.pagerduty.com/v2/enqueue. */
  endpoint: httpsUrl.optional(),
});

const smsChannel = z.strictObject({
  type: z.literal("sms"),
  phoneNumbers: z
    .array(z.string().regex(E164, "must be an E.164 phone number like +15555550100"))
    .min(1, "must list at least one phone number"),
});

const emailChannel = z.strictObject({
  type: z.literal("email"),
  addresses: z.array(email).min(1, "must list at least one address"),
});

/**
 * A channel instance, by type. Secret settings are not here: see `deploy-notifier:secrets`.
 *
 * The one definition of a channel's settings: `ChannelConfig` below (and through it the runtime
 * types in handlers/types.ts and the drivers' configs) is inferred from this schema.
 */
export const channelSchema = z.discriminatedUnion(
  "type",
  [
    slackChannel,
    pagerdutyChannel,
    smsChannel,
    z.strictObject({ type: z.literal("teams") }),
    z.strictObject({
      type: z.literal("discord"),
      username: z
        .string()
        .superRefine((v, ctx) => {
          const problem = discordUsernameProblem(v);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        })
        .optional(),
    }),
    z.strictObject({ type: z.literal("webhook") }),
    emailChannel,
  ],
  { error: "type must be one of slack, pagerduty, sms, teams, discord, webhook, email" },
);

/**
 * Non-secret settings of a channel instance as the handlers receive them (schema output: defaults
 * applied). Handlers import it type-only (through handlers/types.ts), so zod never ships.
 */
export type ChannelConfig = z.infer<typeof channelSchema>;

const tierRoute = z.union([
  z.array(z.string()),
  z.strictObject({
    channels: z.array(z.string()),
    severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(", ")}` }).optional(),
  }),
]);

const windowWords = `must be a whole number of seconds from ${MIN_WINDOW_SECONDS} to ${MAX_WINDOW_SECONDS}`;
const individualWords = `must be a whole number from 1 to ${MAX_INDIVIDUAL}`;

/** One grouping rule (issue 11) of config key `grouping`: any field left out keeps the default. */
export const groupingRuleSchema = z.strictObject({
  /** false: never grouped. */
  enabled: z.boolean().optional(),
  /** Length of a grouping window, seconds. */
  windowSeconds: z
    .number({ error: windowWords })
    .int(windowWords)
    .min(MIN_WINDOW_SECONDS, windowWords)
    .max(MAX_WINDOW_SECONDS, windowWords)
    .optional(),
  /** Notifications sent on their own per window; the rest go in the window's digest. */
  maxIndividual: z
    .number({ error: individualWords })
    .int(individualWords)
    .min(1, individualWords)
    .max(MAX_INDIVIDUAL, individualWords)
    .optional(),
});

/** Config key `grouping` (issue 11): per tier and/or per channel, over each type's defaults. */
export const groupingSchema = z.strictObject({
  /** false: nothing is grouped. */
  enabled: z.boolean().default(true),
  tiers: z.record(z.string(), groupingRuleSchema).default({}),
  channels: z.record(z.string(), groupingRuleSchema).default({}),
});

/** A downtime window as written in stack config (checked further by `validateWindow`). */
export const downtimeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, "must be a short name"),
  timeZone: z.string().optional(),
  days: z.array(z.string()).optional(),
  start: z.string().optional(),
  end: z.string().optional(),
  cron: z.string().optional(),
  durationMinutes: z.number().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  pipelines: z.array(z.string().min(1)).optional(),
  allowCritical: z.boolean().default(false),
});

/** Secret settings: `{ "<channel>": { "<field>": "<value>" }, "slackApp": { … } }`. */
export const secretsSchema = z.record(z.string(), z.record(z.string(), z.string()));

/** The whole stack config, keys without the `deploy-notifier:` namespace. */
export const stackConfigSchema = z.strictObject({
  pipelines: z.array(pipelineSchema).min(1, "must list at least one pipeline"),
  channels: z.record(
    z
      .string()
      .regex(CHANNEL_NAME, "channel names are 1-40 of a-z 0-9 -, starting with a letter or digit"),
    channelSchema,
  ),
  routing: z.record(z.string().min(1), tierRoute),
  downtime: z.array(downtimeSchema).default([]),
  opsEmail: email,
  auditRetentionDays: z
    .number({ error: "must be a whole number of days from 1 to 3650" })
    .int("must be a whole number of days from 1 to 3650")
    .min(1, "must be a whole number of days from 1 to 3650")
    .max(3650, "must be a whole number of days from 1 to 3650")
    .default(90),
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      message: `must be one of ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .default(30),
  tags: z.record(z.string(), z.string()).default({}),
  secrets: secretsSchema.default({}),
  /** Source accounts forwarding CodePipeline events to the central bus (issue 14). */
  sources: z.array(sourceSchema).default([]),
  /** Grouping into digests (issue 11); absent: each channel type's default. */
  grouping: groupingSchema.optional(),
  /** Admit the whole AWS Organization on the central bus (`aws:PrincipalOrgID`), not each account. */
  organizationId: z
    .string()
    .regex(ORGANIZATION_ID, "must be an AWS Organizations id like o-a1b2c3d4e5")
    .optional(),
});

/** The stack config as zod parsed it, before cross-field checks. */
export type RawStackConfig = z.infer<typeof stackConfigSchema>;
