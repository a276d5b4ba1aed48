/**
 * Discord through a channel webhook (secret `webhookUrl`): one embed, and
 * `allowed_mentions: { parse: [] }` so that `@everyone` or `<@id>` in a summary pings nobody.
 * Discord renders Markdown in the embed: every text that did not come from us goes through
 * escapeDiscordMarkdown, and the only masked links are the ones built here from checked URLs.
 */
import type { ChannelConfigOf, Digest, Notification } from "../types";
import {
  accountRegion,
  deliverHttp,
  fitter,
  oneLine,
  reportTruncation,
  requireSecret,
  whereOf,
} from "./common";
import { reportDigestCut } from "./digest";
import { fitHeadline } from "./headline";
import {
  discordTime,
  renderDiscordDigest,
  type DiscordDigestFrame,
  type DiscordDigestMessage,
} from "./discord-digest";
import { DESCRIPTION_FLOOR, DISCORD_LIMITS, fitFields, type DiscordField } from "./discord-embed";
import { lifecycleFacts } from "./lifecycle";
import { cut } from "../events/fields";
import { isHttpUrl } from "../url";
import { escapeDiscordMarkdown as esc, fitEscaped } from "./markdown";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

/** Discord channel settings. */
export type DiscordConfig = ChannelConfigOf<"discord">;

export { DISCORD_LIMITS, type DiscordField } from "./discord-embed";

/** The webhook message body. */
export interface DiscordMessage {
  username?: string;
  embeds: [
    {
      title: string;
      url?: string;
      description?: string;
      color: number;
      fields: DiscordField[];
      footer: { text: string };
      timestamp?: string;
    },
  ];
  allowed_mentions: { parse: [] };
}

const KIND_COLOR: Record<Notification["kind"], number> = {
  failure: 0xd93f0b,
  rejection: 0xe99a00,
  success: 0x2eb67d,
  "approval-request": 0x1d9bd1,
  // Amber like a rejection: a decision nobody made, not an outage.
  "approval-expired": 0xe99a00,
  superseded: 0x9e9e9e,
  canceled: 0xe99a00,
  stopped: 0xe99a00,
  status: 0x9e9e9e,
};

const FOOTER = "deploy-notifier";

/** An http(s) URL that cannot break a Markdown link `[label](url)` (no space or parenthesis). */
function isLinkable(url: string | undefined): url is string {
  return isHttpUrl(url) && !/[\s()]/.test(url);
}

/** Builds the message and lists the fields that had to be cut. */
export function renderDiscord(
  n: Notification,
  config: DiscordConfig,
): { message: DiscordMessage; truncated: string[] } {
  const f = fitter();
  const where = whereOf(n);
  const rev = n.revision;
  const expires = n.kind === "approval-request" ? n.approval?.expiresAt : undefined;
  // [name, value, inline, markup]: values are user text, escaped below, unless `markup`.
  const userText: [string, string | undefined, boolean, boolean?][] = [
    ["Pipeline", n.pipeline, true],
    ["Stage / action", where, true],
    ["State", String(n.state), true],
    ["Execution", n.executionId, false],
    ["Account / region", accountRegion(n), true],
    ["Tier", n.tier, true],
    ["Error code", n.errorCode, true],
    ["Decided by", n.decidedBy, true],
    [
      "Revision",
      rev && (rev.id || rev.message || rev.author)
        ? [
            rev.id && cut(rev.id, 12),
            rev.author ? `by ${oneLine(rev.author)}` : undefined,
            rev.message,
          ]
            .filter(Boolean)
            .join(" — ")
        : undefined,
      false,
    ],
    ["Trigger", n.trigger, false],
    ...lifecycleFacts(n).map((fact): [string, string, boolean] => [fact.title, fact.value, false]),
    [
      "Approvers",
      n.kind === "approval-request" ? n.approval?.approvers.join(", ") || undefined : undefined,
      false,
    ],
    ["Expires", expires === undefined ? undefined : discordTime(expires), true, true],
    ["Details", n.kind === "approval-request" ? n.approval?.customData : undefined, false],
  ];
  const raw: [string, string | undefined, boolean][] = [
    ...userText.map(([name, value, inline, markup]): [string, string | undefined, boolean] => [
      name,
      value === undefined || markup ? value : esc(value),
      inline,
    ]),
    [
      "Review",
      isLinkable(n.approval?.reviewUrl) ? `[Open review](${n.approval.reviewUrl})` : undefined,
      true,
    ],
    ["Logs", isLinkable(n.externalUrl) ? `[View logs](${n.externalUrl})` : undefined, true],
    ...(n.notes ?? []).map((note): [string, string, boolean] => ["Note", esc(note), false]),
  ];
  const present = raw.filter(
    (x): x is [string, string, boolean] => typeof x[1] === "string" && x[1] !== "",
  );
  if (present.length > DISCORD_LIMITS.fields) f.truncated.push("fields");
  // Its names cut, never what happened (headline.ts): ": approval needed", "(attempt 2)" stay.
  const title = fitHeadline(f, "title", n, DISCORD_LIMITS.title, { escape: esc });
  const summary = n.summary ? esc(n.summary) : undefined;
  // The summary keeps up to DESCRIPTION_FLOOR characters of the total; the fields share the rest.
  const fieldBudget =
    DISCORD_LIMITS.total -
    title.length -
    FOOTER.length -
    Math.min(summary?.length ?? 0, DESCRIPTION_FLOOR);
  const fields = fitFields(f, present.slice(0, DISCORD_LIMITS.fields), fieldBudget);
  const used =
    title.length +
    FOOTER.length +
    fields.reduce((sum, x) => sum + x.name.length + x.value.length, 0);
  const budget = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.total - used);
  const description = summary && budget > 1 ? fitEscaped(f, "summary", summary, budget) : undefined;
  if (summary && budget <= 1) f.truncated.push("summary");
  const timestamp = Number.isNaN(Date.parse(n.time)) ? undefined : new Date(n.time).toISOString();
  const message: DiscordMessage = {
    ...(config.username && { username: cut(config.username, DISCORD_LIMITS.username) }),
    embeds: [
      {
        title,
        ...(isLinkable(n.consoleUrl) && { url: n.consoleUrl }),
        ...(description !== undefined && { description }),
        color: KIND_COLOR[n.kind] ?? KIND_COLOR.status,
        fields,
        footer: { text: FOOTER },
        ...(timestamp && { timestamp }),
      },
    ],
    allowed_mentions: { parse: [] },
  };
  return { message, truncated: f.truncated };
}

/** The webhook message for `n` (pure). */
export function formatDiscord(n: Notification, config: DiscordConfig): DiscordMessage {
  return renderDiscord(n, config).message;
}

/**
 * Posts the message with `?wait=true`, so Discord answers 200 with the message (its id goes in
 * the receipt) rather than 204; 429 carries `retry_after` (seconds) in the body and a header.
 */
export async function sendDiscord(
  n: Notification,
  ctx: ChannelContext<DiscordConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = renderDiscord(n, ctx.config);
  const wasCut = reportTruncation(ctx, "discord", n, truncated);
  return postDiscord(ctx, message, wasCut);
}

/** Posts `message` to the webhook with `?wait=true`; the receipt carries the message id. */
async function postDiscord(
  ctx: ChannelContext<DiscordConfig>,
  message: DiscordMessage | DiscordDigestMessage,
  wasCut: boolean,
): Promise<DeliveryReceipt> {
  const webhookUrl = requireSecret("discord", ctx, "webhookUrl");
  let url: string;
  try {
    const u = new URL(webhookUrl);
    u.searchParams.set("wait", "true");
    url = u.toString();
  } catch {
    url = webhookUrl; // postJson rejects the unusable URL with a redacted, permanent error
  }
  const res = await deliverHttp("discord", ctx, url, message);
  let id: string | undefined;
  try {
    const parsed = JSON.parse(res.body) as { id?: unknown };
    id = typeof parsed.id === "string" ? parsed.id : undefined;
  } catch {
    id = undefined; // 204 or a non-JSON body: delivered all the same
  }
  return {
    channel: ctx.name,
    type: "discord",
    status: res.status,
    ...(id && { id }),
    ...(wasCut && { truncated: true }),
  };
}

/** The Discord channel driver. */
export const discordDriver: ChannelDriver<DiscordConfig> = {
  type: "discord",
  format: formatDiscord,
  send: sendDiscord,
  formatDigest: formatDiscordDigest,
  sendDigest: sendDiscordDigest,
};

/** What the digest shares with a single notification's message. */
const DIGEST_FRAME: DiscordDigestFrame = {
  limits: DISCORD_LIMITS,
  footer: FOOTER,
  urgentColor: KIND_COLOR.failure,
  calmColor: KIND_COLOR.status,
};

/** The digest message for `d` (pure). */
export function formatDiscordDigest(d: Digest, config: DiscordConfig): DiscordDigestMessage {
  return renderDiscordDigest(d, config, DIGEST_FRAME).message;
}

/** Posts the digest (`?wait=true`, like {@link sendDiscord}). */
export async function sendDiscordDigest(
  d: Digest,
  ctx: ChannelContext<DiscordConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = renderDiscordDigest(d, ctx.config, DIGEST_FRAME);
  const wasCut = reportDigestCut(ctx, "discord", d, truncated);
  return postDiscord(ctx, message, wasCut);
}
