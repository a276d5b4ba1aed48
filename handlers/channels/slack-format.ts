/**
 * Slack's pure formatter: a notification → a Block Kit message (`slack.ts` sends it).
 *
 * Every piece of text that did not come from us goes through escapeSlackText, so `<!channel>`,
 * `<@U…>` or `<https://x|label>` in a summary or commit message stays inert. Approval requests
 * carry Approve / Reject buttons whose `action_id`s and value are the contract in
 * contracts/slack-approval.ts, which the approval handler parses.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock } from "@slack/types";
import {
  APPROVE_ACTION_ID,
  encodeApprovalButtonValue,
  REJECT_ACTION_ID,
  type ApprovalButtonValue,
} from "../contracts/slack-approval";
import { isHome } from "../contracts/pipeline-id";
import { cut } from "../events/fields";
import { escapeSlackText, slackTime } from "../slack-text";
import type { ChannelConfigOf, Notification } from "../types";
import { isHttpUrl } from "../url";
import { accountRegion, headline, oneLine, whereOf, type Fitter } from "./common";
import { fitHeadline } from "./headline";
import {
  MIN_SCALE,
  SHRINK,
  SLACK_LIMITS,
  blockTextChars,
  scaledCap,
  scaledFitter,
} from "./slack-limits";
import { lifecycleFacts } from "./lifecycle";

/**
 * Slack channel settings (config/schema.ts). `apiUrl` (non-secret, default https://slack.com/api) lets tests and the
 * sandbox point bot mode at a local server.
 */
export type SlackConfig = ChannelConfigOf<"slack">;

export { SLACK_LIMITS, blockTextChars } from "./slack-limits";

/** The message body sent to Slack. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
  unfurl_links: false;
  unfurl_media: false;
  /** Bot mode only. */
  channel?: string;
}

/** The emoji that starts a message of each kind. */
export const KIND_EMOJI: Record<Notification["kind"], string> = {
  failure: ":red_circle:",
  rejection: ":no_entry:",
  success: ":large_green_circle:",
  "approval-request": ":raised_hand:",
  "approval-expired": ":hourglass:",
  superseded: ":fast_forward:",
  canceled: ":no_entry_sign:",
  stopped: ":octagonal_sign:",
  status: ":information_source:",
};

const esc = escapeSlackText;

/**
 * An http(s) URL that fits a button (Block Kit button `url`: a JSON string of at most 3000
 * characters, docs.slack.dev reference/block-kit/block-elements/button-element, where `|` is
 * harmless) and an mrkdwn link through {@link linkTarget}: no whitespace, `<` or `>`.
 */
export function isLinkable(url: string | undefined): url is string {
  return isHttpUrl(url) && url.length <= SLACK_LIMITS.buttonUrl && !/[\s<>]/.test(url);
}

/**
 * A linkable URL as the target of an mrkdwn `<url|label>`: `&` as `&amp;` (Slack's escaping) and
 * `|`, which would end the URL there, percent-encoded as `%7C` (RFC 3986 does not allow it bare).
 */
export function linkTarget(url: string): string {
  return url.replace(/&/g, "&amp;").replace(/\|/g, "%7C");
}

/** `<url|label>` for a safe http(s) URL, else the label alone. `label` must be escaped already. */
export function link(url: string | undefined, label: string): string {
  return isLinkable(url) ? `<${linkTarget(url)}|${label}>` : label;
}

function mrkdwn(text: string): { type: "mrkdwn"; text: string } {
  return { type: "mrkdwn", text };
}

function linkButton(actionId: string, text: string, url: string): Button {
  return { type: "button", action_id: actionId, text: { type: "plain_text", text }, url };
}

type Fit = Fitter;

/**
 * The header: the headline cut to Slack's 150 characters (header block) or to the scaled cap, its
 * names shortened and never what it says happened (headline.ts `fitHeadline`).
 */
function headerBlock(n: Notification, f: Fit, emoji: string, scale: number): KnownBlock {
  // plain_text is never parsed for mentions or links: no escaping, or "&amp;" would show.
  const max = scaledCap(SLACK_LIMITS.headerText, scale);
  const text = fitHeadline(f, "header", n, max, { prefix: `${emoji} ` });
  return { type: "header", text: { type: "plain_text", emoji: true, text } };
}

function fieldsBlock(n: Notification, f: Fit): KnownBlock {
  const where = whereOf(n);
  const fields = [
    `*Pipeline*\n${esc(n.pipeline)}`,
    ...(where ? [`*Stage / action*\n${esc(where)}`] : []),
    `*State*\n${esc(String(n.state))}`,
    `*Execution*\n${link(n.consoleUrl, `\`${esc(n.executionId)}\``)}`,
    `*Account / region*\n${esc(accountRegion(n))}`,
    `*Time*\n${slackTime(n.time)}`,
    `*Tier*\n${esc(n.tier)}`,
    ...(n.kind === "rejection" && n.decidedBy ? [`*Rejected by*\n${esc(n.decidedBy)}`] : []),
    ...lifecycleFacts(n).map((fact) => `*${fact.title}*\n${esc(fact.value)}`),
  ]
    .slice(0, SLACK_LIMITS.fields)
    .map((text) => mrkdwn(f.fit("fields", text, SLACK_LIMITS.fieldText)));
  return { type: "section", fields };
}

function summaryBlock(n: Notification, f: Fit): KnownBlock | undefined {
  if (!n.summary) return undefined;
  const title =
    n.kind === "failure" ? "*Error*" : n.kind === "rejection" ? "*Reason*" : "*Summary*";
  const code = n.errorCode ? ` \`${esc(n.errorCode)}\`` : "";
  const head = `${title}${code}\n`;
  const body = f.fit("summary", esc(n.summary), SLACK_LIMITS.sectionText - head.length);
  return { type: "section", text: mrkdwn(head + body) };
}

function revisionBlock(n: Notification, f: Fit): KnownBlock | undefined {
  const rev = n.revision;
  if (!rev || !(rev.id || rev.message || rev.author)) return undefined;
  const id = rev.id ? link(rev.url, `\`${esc(cut(rev.id, 12))}\``) : "";
  const by = rev.author ? ` by ${esc(oneLine(rev.author))}` : "";
  const head = `*Revision* ${id}${by}`.replace(/ {2,}/g, " ");
  const msg = rev.message ? `\n${esc(rev.message)}` : "";
  return { type: "section", text: mrkdwn(f.fit("revision", head + msg, SLACK_LIMITS.sectionText)) };
}

function approvalBlock(n: Notification, f: Fit): KnownBlock | undefined {
  if (n.kind !== "approval-request" || !n.approval) return undefined;
  const a = n.approval;
  const lines: string[] = [];
  if (a.approvers.length > 0) {
    // Ids come from stack config; anything not shaped like a user id is shown as text.
    const who = a.approvers.map((u) => (/^[UW][A-Z0-9]{2,}$/.test(u) ? `<@${u}>` : esc(u)));
    lines.push(`*Approvers* ${who.join(", ")}`);
  }
  if (a.expiresAt) lines.push(`*Expires* ${slackTime(a.expiresAt)}`);
  if (a.reviewUrl) lines.push(`*Review* ${link(a.reviewUrl, esc(a.reviewUrl.split("?")[0]))}`);
  if (a.customData) lines.push(`*Details*\n${esc(a.customData)}`);
  if (lines.length === 0) return undefined;
  return {
    type: "section",
    text: mrkdwn(f.fit("approval", lines.join("\n"), SLACK_LIMITS.sectionText)),
  };
}

function contextBlock(n: Notification, f: Fit): KnownBlock | undefined {
  const context: ContextBlock["elements"] = [];
  if (n.trigger) {
    context.push(
      mrkdwn(f.fit("trigger", `Triggered by ${esc(n.trigger)}`, SLACK_LIMITS.contextText)),
    );
  }
  for (const note of n.notes ?? []) {
    context.push(mrkdwn(f.fit("notes", `:warning: ${esc(note)}`, SLACK_LIMITS.contextText)));
  }
  if (context.length > SLACK_LIMITS.contextElements) f.truncated.push("notes");
  if (context.length === 0) return undefined;
  return { type: "context", elements: context.slice(0, SLACK_LIMITS.contextElements) };
}

/** Approve / Reject with the approval's button value; throws when the value cannot fit. */
function decisionButtons(n: Notification): Button[] {
  const decided: ApprovalButtonValue = {
    pipeline: n.pipeline,
    stage: n.stage ?? "",
    action: n.action ?? "",
    executionId: n.executionId,
    // The run this request was posted for: its buttons decide that run only (issue 10, item 2).
    ...(n.actionExecutionId && { actionExecutionId: n.actionExecutionId }),
    // Where the pipeline lives (issue 14), outside the home account/region only: none = home.
    ...(!isHome(n) && { account: n.account, region: n.region }),
    // The attempt it was asked in: a rejection is never read into a later attempt's failure.
    ...(n.attempt !== undefined && { attempt: n.attempt }),
  };
  const value = encodeApprovalButtonValue(decided);
  if (value.length > SLACK_LIMITS.buttonValue) {
    // Cutting would make the decision point at the wrong action: refuse instead.
    throw new Error(
      `slack: approval button value is ${value.length} chars, over ${SLACK_LIMITS.buttonValue}`,
    );
  }
  const button = (action_id: string, text: string, style: "primary" | "danger"): Button => ({
    type: "button",
    action_id,
    style,
    text: { type: "plain_text", text },
    value,
  });
  return [
    button(APPROVE_ACTION_ID, "Approve", "primary"),
    button(REJECT_ACTION_ID, "Reject", "danger"),
  ];
}

function actionsBlock(n: Notification): ActionsBlock | undefined {
  const buttons: Button[] = [];
  if (n.kind === "approval-request") {
    buttons.push(...decisionButtons(n));
    if (isLinkable(n.approval?.reviewUrl)) {
      buttons.push(linkButton("deploy-notifier.link.review", "Review", n.approval.reviewUrl));
    }
  }
  if (isLinkable(n.consoleUrl))
    buttons.push(linkButton("deploy-notifier.link.execution", "View execution", n.consoleUrl));
  if (isLinkable(n.externalUrl))
    buttons.push(linkButton("deploy-notifier.link.logs", "View logs", n.externalUrl));
  if (buttons.length === 0) return undefined;
  return { type: "actions", elements: buttons.slice(0, SLACK_LIMITS.actionsElements) };
}

/**
 * Builds the message and lists the fields that had to be cut. Each text keeps its Block Kit
 * limit, and all of them together `SLACK_LIMITS.blocksText` ({@link blockTextChars}): a message
 * over it is built again with every cap scaled down ({@link SHRINK}), as long as that helps.
 */
export function renderSlack(
  n: Notification,
  config: SlackConfig,
): { message: SlackMessage; truncated: string[] } {
  let built = buildSlack(n, config, 1);
  for (let scale = SHRINK; scale >= MIN_SCALE; scale *= SHRINK) {
    if (blockTextChars(built.message.blocks) <= SLACK_LIMITS.blocksText) break;
    built = buildSlack(n, config, scale);
  }
  return built;
}

function buildSlack(
  n: Notification,
  config: SlackConfig,
  scale: number,
): { message: SlackMessage; truncated: string[] } {
  const f = scaledFitter(scale);
  const emoji = KIND_EMOJI[n.kind] ?? KIND_EMOJI.status;
  const blocks = [
    headerBlock(n, f, emoji, scale),
    fieldsBlock(n, f),
    summaryBlock(n, f),
    revisionBlock(n, f),
    approvalBlock(n, f),
    contextBlock(n, f),
    actionsBlock(n),
  ].filter((b): b is KnownBlock => b !== undefined);

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
