/**
 * Stack config: `parseConfig(raw)` (pure, testable) and `loadConfig()` (reads `pulumi.Config` once).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  CHANNEL_SECRET_FIELDS,
  type ChannelConfig,
  type ChannelSecrets,
  type PipelineRule,
  type RuntimeConfig,
  type Severity,
  type SlackAppSecrets,
  type SourceAccount,
  type TierRoute,
} from "../handlers/types";
import { parseHttpUrl } from "../handlers/url";
import { didYouMean, malformedChannels } from "./advice";
import { downtimeWindows } from "./downtime";
import { groupingOf, lenientGrouping } from "./grouping";
import { ACCOUNT_ID, stackConfigSchema, urlProblem, type RawStackConfig } from "./schema";

export { LOG_RETENTION_DAYS } from "./schema";
export { configAdvice, type ConfigAdvice } from "./advice";

/** The config namespace (the Pulumi project name). */
export const PROJECT = "deploy-notifier";

/** Top-level config keys this program reads; `secrets` must be set with `--secret`. */
export const CONFIG_KEYS = [
  "pipelines",
  "channels",
  "routing",
  "downtime",
  "opsEmail",
  "auditRetentionDays",
  "logRetentionDays",
  "tags",
  "secrets",
  "sources",
  "organizationId",
  "grouping",
] as const;

/** The secrets entry that holds the Slack app's settings (not a channel). */
export const SLACK_APP_SECRET_KEY = "slackApp";

/** Everything the program needs, validated. */
export interface StackConfig {
  /** Non-secret settings handed to the handlers. */
  runtime: RuntimeConfig;
  opsEmail: string;
  logRetentionDays: number;
  tags: Record<string, string>;
  /** Secret: goes only into Secrets Manager. */
  channelSecrets: ChannelSecrets;
  /** Secret: present when any pipeline has Slack approvals. */
  slackApp?: SlackAppSecrets;
  /** Source accounts (config `sources`), with the role the deploy assumes there; [] if none. */
  sources: SourceDeploy[];
  /** Admit this AWS Organization on the central bus instead of listing the accounts. */
  organizationId?: string;
}

/** A source account as the program declares it: the runtime's view plus the deploy role. */
export interface SourceDeploy extends SourceAccount {
  /**
   * The role `pulumi up` assumes in the account to declare the forwarding and the source-access
   * role there; absent: the account's team deploys infra/forwarding.ts itself.
   */
  deployRoleArn?: string;
}

/** All problems found in a stack config, each naming its config key. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? "" : "s"} in stack config:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** `deploy-notifier:pipelines[0].tier` from a zod path. */
function keyOf(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return PROJECT;
  let key = `${PROJECT}:`;
  path.forEach((part, i) => {
    if (typeof part === "number") key += `[${part}]`;
    else key += (i === 0 ? "" : ".") + String(part);
  });
  return key;
}

/** A suggestion for an unknown top-level key, e.g. `pipeline` → `pipelines`. */
function suggestion(k: string): string {
  const near = didYouMean(k, CONFIG_KEYS);
  return near ? ` (did you mean "${near}"?)` : ` (known keys: ${CONFIG_KEYS.join(", ")})`;
}

/**
 * Messages for zod's issues, each naming its key. Issues under `skip` (channel entries reported
 * by `malformedChannels`) are dropped, and so is "is required" for a key that an unknown key
 * probably meant (reported as "did you mean").
 */
function zodProblems(error: z.ZodError, skip: Set<string>): string[] {
  const meant = new Set<string>();
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys" && issue.path.length === 0) {
      for (const k of issue.keys) meant.add(didYouMean(k, CONFIG_KEYS) ?? "");
    }
  }
  const kept = error.issues.filter((issue) => {
    const [top, name] = issue.path;
    if (top === "channels" && typeof name === "string" && skip.has(name)) return false;
    const missing = issue.code === "invalid_type" && issue.input === undefined;
    return !(missing && issue.path.length === 1 && meant.has(String(top)));
  });
  return kept.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      if (issue.path.length === 0) {
        return issue.keys
          .map((k) => `${keyOf([k])}: unknown config key${suggestion(k)}`)
          .join("\n  - ");
      }
      return `${keyOf(issue.path)}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys
        .map((k) => `"${k}"`)
        .join(", ")}`;
    }
    if (issue.code === "invalid_key") {
      return `${keyOf(issue.path)}: ${issue.issues.map((i) => i.message).join("; ")}`;
    }
    if (issue.code === "invalid_type" && issue.input === undefined) {
      return `${keyOf(issue.path)}: is required`;
    }
    return `${keyOf(issue.path)}: ${issue.message}`;
  });
}

const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The raw config, shaped like the schema's output where it can be, for cross-field checks. */
function lenient(raw: Record<string, unknown>): RawStackConfig {
  const objects = (v: unknown) => (Array.isArray(v) ? v.filter(isObject) : []);
  const channels = Object.fromEntries(
    Object.entries(isObject(raw.channels) ? raw.channels : {}).filter(
      ([, ch]) => isObject(ch) && typeof ch.type === "string",
    ),
  );
  const secrets = Object.fromEntries(
    Object.entries(isObject(raw.secrets) ? raw.secrets : {}).filter(([, v]) => isObject(v)),
  );
  return {
    pipelines: objects(raw.pipelines).map((p) => ({
      ...p,
      states: Array.isArray(p.states) ? p.states : ["FAILED"],
      approvals: isObject(p.approvals) ? p.approvals : undefined,
    })),
    channels,
    routing: Object.fromEntries(
      Object.entries(isObject(raw.routing) ? raw.routing : {}).map(([tier, route]) => [
        tier,
        Array.isArray(route)
          ? route.filter((c) => typeof c === "string")
          : { channels: isObject(route) && Array.isArray(route.channels) ? route.channels : [] },
      ]),
    ),
    downtime: objects(raw.downtime).map((w) => ({ allowCritical: false, ...w })),
    secrets,
    sources: objects(raw.sources).map((src) => ({
      ...src,
      regions: Array.isArray(src.regions) ? src.regions : [],
    })),
    organizationId: typeof raw.organizationId === "string" ? raw.organizationId : undefined,
    grouping: lenientGrouping(raw.grouping),
  } as unknown as RawStackConfig;
}

/**
 * Teams Workflows webhook hosts. The "Post to a channel when a webhook request is received"
 * workflow gives a URL on Azure Logic Apps (`prod-NN.<region>.logic.azure.com`) or, for newer
 * flows, on the Power Platform API (`<env>.environment.api.powerplatform.com`) (Microsoft Learn,
 * "Create incoming webhooks with Workflows for Microsoft Teams"; Logic Apps REST reference,
 * "Workflows - List Callback Url"). The Office 365 connector URLs (`*.webhook.office.com`) are
 * retired and answer with an error.
 */
const TEAMS_WORKFLOW_HOSTS = [".logic.azure.com", ".api.powerplatform.com"];

function teamsUrlProblem(value: string): string | undefined {
  const url = parseHttpUrl(value);
  if (!url || url.hostname === "127.0.0.1" || url.hostname === "localhost") return undefined;
  const host = url.hostname.toLowerCase();
  if (host.endsWith(".webhook.office.com") || host === "outlook.office.com") {
    return 'is an Office 365 connector URL, which Microsoft retired: create a Workflows webhook (Teams > channel > Workflows > "Post to a channel when a webhook request is received")';
  }
  if (!TEAMS_WORKFLOW_HOSTS.some((h) => host.endsWith(h))) {
    return `must be a Teams Workflows URL (host *${TEAMS_WORKFLOW_HOSTS.join(" or *")}), got host ${host}`;
  }
  return undefined;
}

const SECRET_URL_FIELDS = new Set(["webhookUrl", "url"]);

function defaultSeverity(tier: string): Severity {
  return tier === "critical" ? "critical" : "warning";
}

/** Builds `deploy-notifier:<path>` config keys for problem messages. */
type KeyOf = (...path: (string | number)[]) => string;

/** `secrets` holds credentials: Pulumi must hold it as a secret. */
function secretsKeyProblems(c: RawStackConfig, secretKeys: string[] | undefined, key: KeyOf) {
  if (secretKeys && Object.keys(c.secrets).length > 0 && !secretKeys.includes("secrets")) {
    return [
      `${key("secrets")}: must be set as a secret (pulumi config set --secret --path 'secrets.<channel>.<field>' …)`,
    ];
  }
  return [];
}

/** Routing: every tier's channels exist; duplicates collapse; the severity defaults by tier. */
function routingOf(c: RawStackConfig, problems: string[], key: KeyOf): Record<string, TierRoute> {
  const routing: Record<string, TierRoute> = {};
  for (const [tier, route] of Object.entries(c.routing)) {
    const channels = Array.isArray(route) ? route : route.channels;
    const severity = (!Array.isArray(route) && route.severity) || defaultSeverity(tier);
    channels.forEach((name, i) => {
      if (!c.channels[name]) {
        const path = Array.isArray(route)
          ? key("routing", tier, i)
          : key("routing", tier, "channels", i);
        problems.push(
          `${path}: unknown channel "${name}" (defined: ${Object.keys(c.channels).join(", ") || "none"})`,
        );
      }
    });
    routing[tier] = { channels: [...new Set(channels)], severity };
  }
  return routing;
}

/** Pipelines: tiers exist, no duplicates, approval channels are Slack. */
function pipelinesOf(c: RawStackConfig, problems: string[], key: KeyOf): PipelineRule[] {
  const seen = new Map<string, number>();
  return c.pipelines.map((p, i) => {
    if (typeof p.tier === "string" && !c.routing[p.tier]) {
      problems.push(
        `${key("pipelines", i, "tier")}: unknown tier "${p.tier}" (routing defines: ${Object.keys(c.routing).join(", ") || "none"})`,
      );
    }
    const where = [p.account && `account ${p.account}`, p.region && `region ${p.region}`];
    const id = [p.name !== undefined ? `name ${p.name}` : `prefix ${p.prefix}`, ...where]
      .filter(Boolean)
      .join(" in ");
    const first = seen.get(id);
    if (first !== undefined) {
      problems.push(
        `${key("pipelines", i)}: ${id} is already configured at ${key("pipelines", first)}`,
      );
    } else seen.set(id, i);
    if (p.approvals) {
      const ch = c.channels[p.approvals.channel];
      if (!ch && typeof p.approvals.channel === "string") {
        problems.push(
          `${key("pipelines", i, "approvals", "channel")}: unknown channel "${p.approvals.channel}"`,
        );
      } else if (ch && ch.type !== "slack" && (ch.type as string) !== "malformed") {
        problems.push(
          `${key("pipelines", i, "approvals", "channel")}: "${p.approvals.channel}" is a ${ch.type} channel; approvals need a slack channel`,
        );
      }
    }
    return {
      match: {
        ...(p.name !== undefined ? { name: p.name } : { prefix: p.prefix as string }),
        ...(p.account !== undefined && { account: p.account }),
        ...(p.region !== undefined && { region: p.region }),
      },
      tier: p.tier,
      states: [...new Set(p.states)],
      ...(p.approvals
        ? {
            approvals: {
              channel: p.approvals.channel,
              approvers: p.approvals.approvers,
              ...(p.approvals.reminderBeforeHours !== undefined && {
                reminderBeforeHours: p.approvals.reminderBeforeHours,
              }),
            },
          }
        : {}),
    };
  });
}

/** The problems of one secret field of a channel: unknown, or not the URL / key its type needs. */
function secretFieldProblem(
  channel: ChannelConfig,
  field: string,
  value: unknown,
  allowed: Set<string>,
): string | undefined {
  if (!allowed.has(field)) return `unknown secret field for a ${channel.type} channel`;
  if (typeof value !== "string") return undefined;
  if (SECRET_URL_FIELDS.has(field)) {
    return urlProblem(value) ?? (channel.type === "teams" ? teamsUrlProblem(value) : undefined);
  }
  // PagerDuty Events API v2: `routing_key` is the 32-character integration key of an Events API
  // v2 integration (PagerDuty developer docs, "Send an Alert Event": "routing_key … 32 character
  // Integration Key"); anything else answers 400 "Invalid routing key".
  if (channel.type === "pagerduty" && field === "routingKey" && !/^[A-Za-z0-9]{32}$/.test(value)) {
    return "must be a 32-character PagerDuty integration key";
  }
  return undefined;
}

/** Secrets: each channel has what its type needs; nothing unknown; URLs are https. */
function channelSecretsOf(c: RawStackConfig, problems: string[], key: KeyOf): ChannelSecrets {
  const channelSecrets: ChannelSecrets = {};
  for (const [name, channel] of Object.entries(c.channels)) {
    const secret = c.secrets[name] ?? {};
    const spec = CHANNEL_SECRET_FIELDS[channel.type];
    if (!spec) continue;
    const required =
      channel.type === "slack"
        ? [channel.mode === "bot" ? "botToken" : "webhookUrl"]
        : spec.required;
    const allowed = new Set([...spec.required, ...spec.optional]);
    for (const field of required) {
      if (!secret[field]) {
        problems.push(
          `${key("secrets", name, field)}: is required for ${channel.type} channel "${name}" (pulumi config set --secret --path 'secrets.${name}.${field}' …)`,
        );
      }
    }
    for (const [field, value] of Object.entries(secret)) {
      const problem = secretFieldProblem(channel, field, value, allowed);
      if (problem) problems.push(`${key("secrets", name, field)}: ${problem}`);
    }
    if (Object.keys(secret).length > 0) channelSecrets[name] = { ...secret };
  }
  for (const name of Object.keys(c.secrets)) {
    if (name !== SLACK_APP_SECRET_KEY && !c.channels[name]) {
      problems.push(`${key("secrets", name)}: no channel named "${name}"`);
    }
  }
  return channelSecrets;
}

/** Slack app secrets: required when a pipeline has approvals; only the known fields. */
function slackAppOf(
  c: RawStackConfig,
  pipelines: PipelineRule[],
  problems: string[],
  key: KeyOf,
): SlackAppSecrets | undefined {
  const app = c.secrets[SLACK_APP_SECRET_KEY];
  if (pipelines.some((p) => p.approvals) && !app?.signingSecret) {
    problems.push(
      `${key("secrets", SLACK_APP_SECRET_KEY, "signingSecret")}: is required because a pipeline has Slack approvals (pulumi config set --secret --path 'secrets.slackApp.signingSecret' …)`,
    );
  }
  if (!app) return undefined;
  for (const field of Object.keys(app)) {
    if (field !== "signingSecret" && field !== "botToken") {
      problems.push(
        `${key("secrets", SLACK_APP_SECRET_KEY, field)}: unknown secret field (signingSecret, botToken)`,
      );
    }
  }
  return app.signingSecret
    ? { signingSecret: app.signingSecret, botToken: app.botToken }
    : undefined;
}

/** The account of a role ARN (`arn:aws:iam::<account>:role/…`), or undefined. */
function roleAccount(arn: unknown): string | undefined {
  return typeof arn === "string" ? /^arn:[^:]+:iam::([0-9]{12}):role\//.exec(arn)?.[1] : undefined;
}

/**
 * Sources (issue 14): each account once, each region once per account, each alias once, the
 * deploy role in the account it deploys to, an organization only with sources; pipeline
 * selectors name configured accounts and, with an account, one of its regions.
 */
function sourcesOf(c: RawStackConfig, problems: string[], key: KeyOf): SourceDeploy[] {
  const byAccount = new Map<string, number>();
  const byAlias = new Map<string, number>();
  c.sources.forEach((src, i) => {
    if (typeof src.account !== "string") return;
    const first = byAccount.get(src.account);
    if (first !== undefined) {
      problems.push(
        `${key("sources", i, "account")}: ${src.account} is already configured at ${key("sources", first)}`,
      );
    } else byAccount.set(src.account, i);
    src.regions.forEach((region, j) => {
      if (src.regions.indexOf(region) !== j) {
        problems.push(`${key("sources", i, "regions", j)}: ${region} is listed twice`);
      }
    });
    const roleIn = roleAccount(src.deployRoleArn);
    if (roleIn !== undefined && roleIn !== src.account) {
      problems.push(
        `${key("sources", i, "deployRoleArn")}: is a role in account ${roleIn}, not in ${src.account} (the deploy declares the forwarding in the source account through this role)`,
      );
    }
    if (typeof src.alias === "string") {
      const other = byAlias.get(src.alias);
      if (other !== undefined) {
        problems.push(
          `${key("sources", i, "alias")}: "${src.alias}" is already the alias of ${key("sources", other)}`,
        );
      } else byAlias.set(src.alias, i);
    }
  });
  if (c.organizationId !== undefined && c.sources.length === 0) {
    problems.push(
      `${key("organizationId")}: admits an organization's accounts to the central bus, but no sources are configured (list them under ${key("sources")})`,
    );
  }
  const known = [...byAccount.keys()];
  c.pipelines.forEach((p, i) => {
    // A malformed id is already reported by the schema: once is enough.
    if (typeof p.account !== "string" || !ACCOUNT_ID.test(p.account)) return;
    const at = byAccount.get(p.account);
    if (at === undefined) {
      problems.push(
        `${key("pipelines", i, "account")}: ${p.account} is not a configured source (sources: ${known.join(", ") || "none"})`,
      );
    } else if (typeof p.region === "string" && !c.sources[at].regions.includes(p.region)) {
      problems.push(
        `${key("pipelines", i, "region")}: ${p.region} is not a region of ${key("sources", at)} (regions: ${c.sources[at].regions.join(", ")})`,
      );
    }
  });
  return c.sources.map((src) => ({
    account: src.account,
    regions: [...new Set(src.regions)],
    ...(src.alias !== undefined && { alias: src.alias }),
    ...(src.deployRoleArn !== undefined && { deployRoleArn: src.deployRoleArn }),
  }));
}

/** Options of {@link parseConfig}. */
export interface ParseOptions {
  project?: string;
  stack: string;
  /** The keys that Pulumi holds as secrets; `secrets` must be one of them (deploy time). */
  secretKeys?: string[];
  /**
   * Paths like `secrets.slack-eng.webhookUrl` whose value the stack file holds in plain text
   * (offline readers only: at deploy time Pulumi has already decrypted every value, and only
   * `secretKeys` tells a secret from plain text).
   */
  plainTextSecrets?: string[];
}

/**
 * Validates a raw stack config (keys without the `deploy-notifier:` namespace, values as parsed
 * from YAML) and returns the program's view of it. Throws a `ConfigError` listing every problem.
 *
 * `secretKeys` lists the keys that Pulumi holds as secrets; `secrets` must be one of them.
 */
export function parseConfig(
  raw: Record<string, unknown>,
  options: ParseOptions = { stack: "dev" },
): StackConfig {
  const parsed = stackConfigSchema.safeParse(raw);
  const key: KeyOf = (...path) => keyOf(path);
  // Cross-field checks run even when some values are malformed, so that every problem is
  // reported at once: on a schema failure they read a lenient view of the raw config.
  const malformed = malformedChannels(raw.channels, key);
  const problems: string[] = [
    ...malformed.problems,
    ...(parsed.success ? [] : zodProblems(parsed.error, malformed.names)),
  ];
  const c: RawStackConfig = parsed.success ? parsed.data : lenient(raw);
  for (const name of malformed.names) {
    // A mis-indented channel is still declared: no "unknown channel" noise for its routes.
    c.channels[name] ??= { type: "malformed" } as unknown as RawStackConfig["channels"][string];
  }

  problems.push(...secretsKeyProblems(c, options.secretKeys, key));
  problems.push(
    ...(options.plainTextSecrets ?? []).map(
      (path) =>
        `${keyOf(["secrets", ...path.split(".").slice(1)])}: is in plain text in the stack file; a secret must be encrypted: pulumi config set --secret --path '${path}' …`,
    ),
  );
  const routing = routingOf(c, problems, key);
  const pipelines = pipelinesOf(c, problems, key);
  const channelSecrets = channelSecretsOf(c, problems, key);
  const slackApp = slackAppOf(c, pipelines, problems, key);
  const downtime = downtimeWindows(c.downtime, key);
  problems.push(...downtime.problems);
  const sources = sourcesOf(c, problems, key);
  const grouping = groupingOf(c, problems, key);

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    runtime: {
      project: options.project ?? PROJECT,
      stack: options.stack,
      pipelines,
      channels: { ...c.channels },
      routing,
      downtime: downtime.windows,
      auditRetentionDays: c.auditRetentionDays,
      // Only when configured: without the key the handler applies each type's default (issue 11).
      ...(grouping !== undefined && { grouping }),
      // Only with sources: a single-account stack's runtime config (and archives) stay as they were.
      ...(sources.length > 0 && {
        sources: sources.map(({ account, regions, alias }) => ({
          account,
          regions,
          ...(alias !== undefined && { alias }),
        })),
      }),
    },
    opsEmail: c.opsEmail,
    logRetentionDays: c.logRetentionDays,
    tags: c.tags,
    channelSecrets,
    slackApp,
    sources,
    ...(c.organizationId !== undefined && { organizationId: c.organizationId }),
  };
}

/** A config value as Pulumi stores it (a string), back to what the YAML said. */
function decode(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * Reads the stack config once through Pulumi and validates it. Errors surface at `pulumi preview`
 * as one `RunError` that lists every problem (no stack trace: it is the user's input, not a bug).
 */
export function loadConfig(): StackConfig {
  const project = pulumi.getProject();
  const raw: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
  // Every key in our namespace, so that a typo ("pipeline:") is reported, not ignored.
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(`${project}:`)) continue;
    const k = fullKey.slice(project.length + 1);
    raw[k] = decode(value);
    if (runtime.isConfigSecret?.(fullKey)) secretKeys.push(k);
  }
  try {
    return parseConfig(raw, { project, stack: pulumi.getStack(), secretKeys });
  } catch (err) {
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}
