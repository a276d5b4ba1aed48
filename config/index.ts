/**
 * Stack config: `parseConfig(raw)` (pure, testable) and `loadConfig()` (reads `pulumi.Config` once).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  CHANNEL_SECRET_FIELDS,
  type ChannelConfig,
  type ChannelSecrets,
  type DowntimeWindow,
  type PipelineRule,
  type RuntimeConfig,
  type Severity,
  type SlackAppSecrets,
  type TierRoute,
} from "../handlers/types";
import { validateWindow } from "../handlers/downtime";
import { stackConfigSchema, type RawStackConfig } from "./schema";

export { LOG_RETENTION_DAYS } from "./schema";

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

function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      if (issue.path.length === 0) {
        return issue.keys.map((k) => `${keyOf([k])}: unknown config key`).join("\n  - ");
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
  } as unknown as RawStackConfig;
}

/** https URLs, or http on the loopback interface (the local sandbox). */
function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be a URL";
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && (url.hostname === "127.0.0.1" || url.hostname === "localhost")) {
    return undefined;
  }
  return "must be an https URL";
}

const SECRET_URL_FIELDS = new Set(["webhookUrl", "url"]);

function defaultSeverity(tier: string): Severity {
  return tier === "critical" ? "critical" : "warning";
}

function toWindow(w: RawStackConfig["downtime"][number]): DowntimeWindow {
  const base = { name: w.name, pipelines: w.pipelines, allowCritical: w.allowCritical };
  if (w.cron !== undefined) {
    return {
      ...base,
      kind: "cron",
      timeZone: w.timeZone ?? "UTC",
      cron: w.cron,
      durationMinutes: w.durationMinutes ?? 0,
    };
  }
  if (w.from !== undefined || w.to !== undefined) {
    return { ...base, kind: "once", from: w.from ?? "", to: w.to ?? "" };
  }
  return {
    ...base,
    kind: "weekly",
    timeZone: w.timeZone ?? "UTC",
    days: w.days ?? [],
    start: w.start ?? "",
    end: w.end ?? "",
  };
}

/**
 * Validates a raw stack config (keys without the `deploy-notifier:` namespace, values as parsed
 * from YAML) and returns the program's view of it. Throws a `ConfigError` listing every problem.
 *
 * `secretKeys` lists the keys that Pulumi holds as secrets; `secrets` must be one of them.
 */
export function parseConfig(
  raw: Record<string, unknown>,
  options: { project?: string; stack: string; secretKeys?: string[] } = { stack: "dev" },
): StackConfig {
  const parsed = stackConfigSchema.safeParse(raw);
  // Cross-field checks run even when some values are malformed, so that every problem is
  // reported at once: on a schema failure they read a lenient view of the raw config.
  const problems: string[] = parsed.success ? [] : zodProblems(parsed.error);
  const c: RawStackConfig = parsed.success ? parsed.data : lenient(raw);
  const key = (...path: (string | number)[]) => keyOf(path);

  if (
    options.secretKeys &&
    Object.keys(c.secrets).length > 0 &&
    !options.secretKeys.includes("secrets")
  ) {
    problems.push(
      `${key("secrets")}: must be set as a secret (pulumi config set --secret --path 'secrets.<channel>.<field>' …)`,
    );
  }
  // Routing: every tier's channels exist.
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

  // Pipelines: tiers exist, no duplicates, approval channels are Slack.
  const seen = new Map<string, number>();
  const pipelines: PipelineRule[] = c.pipelines.map((p, i) => {
    if (typeof p.tier === "string" && !c.routing[p.tier]) {
      problems.push(
        `${key("pipelines", i, "tier")}: unknown tier "${p.tier}" (routing defines: ${Object.keys(c.routing).join(", ") || "none"})`,
      );
    }
    const id = p.name !== undefined ? `name ${p.name}` : `prefix ${p.prefix}`;
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
      } else if (ch && ch.type !== "slack") {
        problems.push(
          `${key("pipelines", i, "approvals", "channel")}: "${p.approvals.channel}" is a ${ch.type} channel; approvals need a slack channel`,
        );
      }
    }
    return {
      match: p.name !== undefined ? { name: p.name } : { prefix: p.prefix as string },
      tier: p.tier,
      states: [...new Set(p.states)],
      ...(p.approvals
        ? { approvals: { channel: p.approvals.channel, approvers: p.approvals.approvers } }
        : {}),
    };
  });

  // Secrets: each channel has what its type needs; nothing unknown; URLs are https.
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
      if (!allowed.has(field)) {
        problems.push(
          `${key("secrets", name, field)}: unknown secret field for a ${channel.type} channel`,
        );
      } else if (typeof value !== "string") {
        continue;
      } else if (SECRET_URL_FIELDS.has(field)) {
        const p = urlProblem(value);
        if (p) problems.push(`${key("secrets", name, field)}: ${p}`);
      } else if (
        channel.type === "pagerduty" &&
        field === "routingKey" &&
        !/^[A-Za-z0-9]{32}$/.test(value)
      ) {
        problems.push(
          `${key("secrets", name, field)}: must be a 32-character PagerDuty integration key`,
        );
      }
    }
    if (Object.keys(secret).length > 0) channelSecrets[name] = { ...secret };
  }
  for (const name of Object.keys(c.secrets)) {
    if (name !== SLACK_APP_SECRET_KEY && !c.channels[name]) {
      problems.push(`${key("secrets", name)}: no channel named "${name}"`);
    }
  }

  // Slack app: required for approvals.
  let slackApp: SlackAppSecrets | undefined;
  const app = c.secrets[SLACK_APP_SECRET_KEY];
  if (pipelines.some((p) => p.approvals)) {
    if (!app?.signingSecret) {
      problems.push(
        `${key("secrets", SLACK_APP_SECRET_KEY, "signingSecret")}: is required because a pipeline has Slack approvals (pulumi config set --secret --path 'secrets.slackApp.signingSecret' …)`,
      );
    }
  }
  if (app) {
    for (const field of Object.keys(app)) {
      if (field !== "signingSecret" && field !== "botToken") {
        problems.push(
          `${key("secrets", SLACK_APP_SECRET_KEY, field)}: unknown secret field (signingSecret, botToken)`,
        );
      }
    }
    if (app.signingSecret) slackApp = { signingSecret: app.signingSecret, botToken: app.botToken };
  }

  // Downtime windows.
  const names = new Set<string>();
  const downtime = c.downtime.map((w, i) => {
    if (names.has(w.name))
      problems.push(`${key("downtime", i, "name")}: "${w.name}" is used twice`);
    names.add(w.name);
    const forms = [w.days || w.start || w.end, w.cron, w.from || w.to].filter(Boolean).length;
    if (forms !== 1) {
      problems.push(
        `${key("downtime", i)}: set exactly one of days/start/end (weekly), cron/durationMinutes, or from/to (one-off)`,
      );
      return toWindow(w);
    }
    const window = toWindow(w);
    for (const problem of validateWindow(window))
      problems.push(`${key("downtime", i)}: ${problem}`);
    return window;
  });

  if (problems.length > 0) throw new ConfigError(problems);

  const channels: Record<string, ChannelConfig> = {};
  for (const [name, ch] of Object.entries(c.channels)) channels[name] = ch as ChannelConfig;

  return {
    runtime: {
      project: options.project ?? PROJECT,
      stack: options.stack,
      pipelines,
      channels,
      routing,
      downtime,
      auditRetentionDays: c.auditRetentionDays,
    },
    opsEmail: c.opsEmail,
    logRetentionDays: c.logRetentionDays,
    tags: c.tags,
    channelSecrets,
    slackApp,
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
