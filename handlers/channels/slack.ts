/**
 * Slack: a Block Kit message, posted to an incoming webhook (`mode: "webhook"`, secret
 * `webhookUrl`) or with `chat.postMessage` (`mode: "bot"`, secret `botToken`, config `channel`).
 *
 * Every piece of text that did not come from us goes through escapeSlackText, so `<!channel>`,
 * `<@U…>` or `<https://x|label>` in a summary or commit message stays inert. Approval requests
 * carry Approve / Reject buttons whose `action_id`s the approval handler listens for.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock } from "@slack/types";
import { deliveryError } from "../http";
import { escapeSlackText } from "../slack-text";
import type { Notification, SlackChannelConfig } from "../types";
import {
  deliverHttp,
  fitter,
  headline,
  oneLine,
  reportTruncation,
  requireSecret,
  whereOf,
} from "./common";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

/**
 * Slack channel settings. `apiUrl` (non-secret, default https://slack.com/api) lets tests and the
 * sandbox point bot mode at a local server.
 */
export type SlackConfig = SlackChannelConfig & { apiUrl?: string };

/** Block Kit limits (https://api.slack.com/reference/block-kit/blocks, …/block-elements#button). */
export const SLACK_LIMITS = {
  /** https://api.slack.com/reference/block-kit/blocks */
  blocks: 50,
  /** https://api.slack.com/reference/block-kit/blocks#section */
  sectionText: 3000,
  /** https://api.slack.com/reference/block-kit/blocks#section (each of `fields`) */
  fieldText: 2000,
  /** https://api.slack.com/reference/block-kit/blocks#section (at most 10 `fields`) */
  fields: 10,
  /** https://api.slack.com/reference/block-kit/blocks#header */
  headerText: 150,
  /** https://api.slack.com/reference/block-kit/blocks#context (at most 10 elements) */
  contextElements: 10,
  /** https://api.slack.com/reference/block-kit/composition-objects#text */
  contextText: 3000,
  /** https://api.slack.com/reference/block-kit/block-elements#button */
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  /** https://api.slack.com/reference/block-kit/blocks#actions */
  actionsElements: 25,
  /**
   * Top-level `text` is the notification and screen-reader fallback
   * (https://api.slack.com/methods/chat.postMessage#text_usage): one short line.
   */
  fallbackText: 300,
} as const;

/** `action_id` of the Approve button; the approval handler matches it exactly. */
export const APPROVE_ACTION_ID = "deploy-notifier.approve";
/** `action_id` of the Reject button; the approval handler matches it exactly. */
export const REJECT_ACTION_ID = "deploy-notifier.reject";

/** The `value` of the Approve / Reject buttons (JSON): what is being decided, nothing secret. */
export interface ApprovalButtonValue {
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
}

/** The message body sent to Slack. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
  unfurl_links: false;
  unfurl_media: false;
  /** Bot mode only. */
  channel?: string;
}

const DEFAULT_API_URL = "https://slack.com/api";

const KIND_EMOJI: Record<Notification["kind"], string> = {
  failure: ":red_circle:",
  rejection: ":no_entry:",
  success: ":large_green_circle:",
  "approval-request": ":raised_hand:",
  superseded: ":fast_forward:",
  canceled: ":no_entry_sign:",
  stopped: ":octagonal_sign:",
  status: ":information_source:",
};

const esc = escapeSlackText;

function isLinkable(url: string | undefined): url is string {
  return (
    typeof url === "string" &&
    url.length <= SLACK_LIMITS.buttonUrl &&
    /^https?:\/\/[^\s<>|]+$/.test(url)
  );
}

/** `<url|label>` for a safe http(s) URL, else the label alone. `label` must be escaped already. */
function link(url: string | undefined, label: string): string {
  return isLinkable(url) ? `<${url.replace(/&/g, "&amp;")}|${label}>` : label;
}

/** Slack renders `<!date^…>` in the reader's time zone; the ISO text is the fallback. */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return esc(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${esc(iso)}>`;
}

function mrkdwn(text: string): { type: "mrkdwn"; text: string } {
  return { type: "mrkdwn", text };
}

function linkButton(actionId: string, text: string, url: string): Button {
  return { type: "button", action_id: actionId, text: { type: "plain_text", text }, url };
}

/** Builds the message and lists the fields that had to be cut. */
export function renderSlack(
  n: Notification,
  config: SlackConfig,
): { message: SlackMessage; truncated: string[] } {
  const f = fitter();
  const emoji = KIND_EMOJI[n.kind] ?? KIND_EMOJI.status;
  const where = whereOf(n);
  const blocks: KnownBlock[] = [];

  // plain_text is never parsed for mentions or links: no escaping, or "&amp;" would show.
  blocks.push({
    type: "header",
    text: {
      type: "plain_text",
      emoji: true,
      text: f.fit("header", `${emoji} ${headline(n)}`, SLACK_LIMITS.headerText),
    },
  });

  const fields = [
    `*Pipeline*\n${esc(n.pipeline)}`,
    ...(where ? [`*Stage / action*\n${esc(where)}`] : []),
    `*State*\n${esc(String(n.state))}`,
    `*Execution*\n${link(n.consoleUrl, `\`${esc(n.executionId)}\``)}`,
    `*Account / region*\n${esc(n.account)} / ${esc(n.region)}`,
    `*Time*\n${slackDate(n.time)}`,
    `*Tier*\n${esc(n.tier)}`,
    ...(n.kind === "rejection" && n.decidedBy ? [`*Rejected by*\n${esc(n.decidedBy)}`] : []),
  ]
    .slice(0, SLACK_LIMITS.fields)
    .map((text) => mrkdwn(f.fit("fields", text, SLACK_LIMITS.fieldText)));
  blocks.push({ type: "section", fields });

  if (n.summary) {
    const title =
      n.kind === "failure" ? "*Error*" : n.kind === "rejection" ? "*Reason*" : "*Summary*";
    const code = n.errorCode ? ` \`${esc(n.errorCode)}\`` : "";
    const head = `${title}${code}\n`;
    const body = f.fit("summary", esc(n.summary), SLACK_LIMITS.sectionText - head.length);
    blocks.push({ type: "section", text: mrkdwn(head + body) });
  }

  const rev = n.revision;
  if (rev && (rev.id || rev.message || rev.author)) {
    const id = rev.id ? link(rev.url, `\`${esc(rev.id.slice(0, 12))}\``) : "";
    const by = rev.author ? ` by ${esc(oneLine(rev.author))}` : "";
    const head = `*Revision* ${id}${by}`.replace(/ {2,}/g, " ");
    const msg = rev.message ? `\n${esc(rev.message)}` : "";
    blocks.push({
      type: "section",
      text: mrkdwn(f.fit("revision", head + msg, SLACK_LIMITS.sectionText)),
    });
  }

  if (n.kind === "approval-request" && n.approval) {
    const a = n.approval;
    const lines: string[] = [];
    if (a.approvers.length > 0) {
      // Ids come from stack config; anything not shaped like a user id is shown as text.
      const who = a.approvers.map((u) => (/^[UW][A-Z0-9]{2,}$/.test(u) ? `<@${u}>` : esc(u)));
      lines.push(`*Approvers* ${who.join(", ")}`);
    }
    if (a.expiresAt) lines.push(`*Expires* ${slackDate(a.expiresAt)}`);
    if (a.reviewUrl) lines.push(`*Review* ${link(a.reviewUrl, esc(a.reviewUrl.split("?")[0]))}`);
    if (a.customData) lines.push(`*Details*\n${esc(a.customData)}`);
    if (lines.length > 0) {
      blocks.push({
        type: "section",
        text: mrkdwn(f.fit("approval", lines.join("\n"), SLACK_LIMITS.sectionText)),
      });
    }
  }

  const context: ContextBlock["elements"] = [];
  if (n.trigger)
    context.push(
      mrkdwn(f.fit("trigger", `Triggered by ${esc(n.trigger)}`, SLACK_LIMITS.contextText)),
    );
  for (const note of n.notes ?? []) {
    context.push(mrkdwn(f.fit("notes", `:warning: ${esc(note)}`, SLACK_LIMITS.contextText)));
  }
  if (context.length > SLACK_LIMITS.contextElements) f.truncated.push("notes");
  if (context.length > 0)
    blocks.push({ type: "context", elements: context.slice(0, SLACK_LIMITS.contextElements) });

  const buttons: Button[] = [];
  if (n.kind === "approval-request") {
    const decided: ApprovalButtonValue = {
      pipeline: n.pipeline,
      stage: n.stage ?? "",
      action: n.action ?? "",
      executionId: n.executionId,
    };
    const value = JSON.stringify(decided);
    if (value.length > SLACK_LIMITS.buttonValue) {
      // Cutting would make the decision point at the wrong action: refuse instead.
      throw new Error(
        `slack: approval button value is ${value.length} chars, over ${SLACK_LIMITS.buttonValue}`,
      );
    }
    buttons.push(
      {
        type: "button",
        action_id: APPROVE_ACTION_ID,
        style: "primary",
        text: { type: "plain_text", text: "Approve" },
        value,
      },
      {
        type: "button",
        action_id: REJECT_ACTION_ID,
        style: "danger",
        text: { type: "plain_text", text: "Reject" },
        value,
      },
    );
    if (isLinkable(n.approval?.reviewUrl)) {
      buttons.push(linkButton("deploy-notifier.link.review", "Review", n.approval.reviewUrl));
    }
  }
  if (isLinkable(n.consoleUrl))
    buttons.push(linkButton("deploy-notifier.link.execution", "View execution", n.consoleUrl));
  if (isLinkable(n.externalUrl))
    buttons.push(linkButton("deploy-notifier.link.logs", "View logs", n.externalUrl));
  if (buttons.length > 0) {
    const actions: ActionsBlock = {
      type: "actions",
      elements: buttons.slice(0, SLACK_LIMITS.actionsElements),
    };
    blocks.push(actions);
  }

  if (blocks.length > SLACK_LIMITS.blocks) f.truncated.push("blocks");
  const fallback = `${emoji} ${esc(oneLine(headline(n)))}${n.summary ? `: ${esc(oneLine(n.summary))}` : ""}`;
  const message: SlackMessage = {
    text: f.fit("text", fallback, SLACK_LIMITS.fallbackText),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
    unfurl_links: false,
    unfurl_media: false,
    ...(config.mode === "bot" && config.channel !== undefined && { channel: config.channel }),
  };
  return { message, truncated: f.truncated };
}

/** The Slack message for `n` (pure). */
export function formatSlack(n: Notification, config: SlackConfig): SlackMessage {
  return renderSlack(n, config).message;
}

/** Posts `n` to Slack by webhook or bot token; the receipt's `id` is the message `ts` in bot mode. */
export async function sendSlack(
  n: Notification,
  ctx: ChannelContext<SlackConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = renderSlack(n, ctx.config);
  const wasCut = reportTruncation(ctx, "slack", n, truncated);
  if (ctx.config.mode === "bot") {
    const token = requireSecret("slack", ctx, "botToken");
    if (!ctx.config.channel) {
      throw deliveryError(ctx.name, `slack ${ctx.name}: bot mode needs a channel id`, {
        retryable: false,
      });
    }
    const base = (ctx.config.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
    const res = await deliverHttp("slack", ctx, `${base}/chat.postMessage`, message, {
      authorization: `Bearer ${token}`,
    });
    let ts: string | undefined;
    try {
      const parsed = JSON.parse(res.body) as { ts?: unknown };
      ts = typeof parsed.ts === "string" ? parsed.ts : undefined;
    } catch {
      ts = undefined; // delivered (status says so); the ts is only a convenience
    }
    return {
      channel: ctx.name,
      type: "slack",
      status: res.status,
      ...(ts && { id: ts }),
      ...(wasCut && { truncated: true }),
    };
  }
  const url = requireSecret("slack", ctx, "webhookUrl");
  const res = await deliverHttp("slack", ctx, url, message);
  return {
    channel: ctx.name,
    type: "slack",
    status: res.status,
    ...(wasCut && { truncated: true }),
  };
}

/** The Slack channel driver. */
export const slackDriver: ChannelDriver<SlackConfig> = {
  type: "slack",
  format: formatSlack,
  send: sendSlack,
};
