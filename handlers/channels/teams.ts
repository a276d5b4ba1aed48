/**
 * Microsoft Teams through a Workflows webhook, which accepts Adaptive Cards only (the Office 365
 * connectors are retired). The Workflows URL carries a signature: it is a secret.
 * Teams renders Markdown in TextBlocks and facts: every text that did not come from us goes
 * through escapeTeamsMarkdown, and the only links are the `Action.OpenUrl` buttons built here.
 */
import type { ChannelConfigOf, Digest, Notification } from "../types";
import {
  accountRegion,
  deliverHttp,
  fitter,
  reportTruncation,
  requireSecret,
  whereOf,
} from "./common";
import { reportDigestCut } from "./digest";
import { fitHeadline } from "./headline";
import { lifecycleFacts } from "./lifecycle";
import { adaptiveCardMessage, cardBytes, TEAMS_CARD_BUDGET_BYTES } from "./adaptive-card";
import { renderTeamsDigest } from "./teams-digest";
import { cut } from "../events/fields";
import { isHttpUrl } from "../url";
import { utcMinute } from "../time-text";
import { escapeTeamsMarkdown as esc, fitEscaped } from "./markdown";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

/** Teams channel settings (the webhook URL is secret `webhookUrl`). */
export type TeamsConfig = ChannelConfigOf<"teams">;

/** Payload limits. */
export const TEAMS_LIMITS = {
  /**
   * Teams rejects messages over 28 KB
   * (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages),
   * measured on its "message properties", larger than the body (adaptive-card.ts `cardBytes`).
   */
  payloadBytes: 28 * 1024,
  /**
   * What every card is built to, in `cardBytes` (adaptive-card.ts `TEAMS_CARD_BUDGET_BYTES`,
   * 20 KB, and why): the summary is cut first, then the other texts, so the card always fits.
   */
  cardBytes: TEAMS_CARD_BUDGET_BYTES,
  /** A readable card; the full text stays in the logs behind "View logs". */
  summary: 4000,
  /**
   * Every other text, the title too (cut to fit by headline.ts `fitHeadline`: its names, never
   * what happened). Ours, not Teams': no length is documented for a TextBlock's `text` or a
   * fact (https://adaptivecards.io/explorer/TextBlock.html: "text", a string, no maximum), only
   * the 28 KB of the message; while a card is over `cardBytes` this shrinks to 100 characters
   * (`renderTeams`).
   */
  text: 1000,
} as const;

/** An Adaptive Card element (only the shapes used here). */
export type AdaptiveElement =
  | {
      type: "TextBlock";
      text: string;
      wrap: true;
      size?: "Large" | "Medium";
      weight?: "Bolder";
      color?: string;
      isSubtle?: boolean;
    }
  | { type: "FactSet"; facts: { title: string; value: string }[] };

/** The Workflows webhook message. */
export interface TeamsMessage {
  type: "message";
  attachments: [
    {
      contentType: "application/vnd.microsoft.card.adaptive";
      content: {
        $schema: "http://adaptivecards.io/schemas/adaptive-card.json";
        type: "AdaptiveCard";
        version: "1.4";
        body: AdaptiveElement[];
        actions: { type: "Action.OpenUrl"; title: string; url: string }[];
      };
    },
  ];
}

const KIND_COLOR: Record<Notification["kind"], string> = {
  failure: "Attention",
  rejection: "Warning",
  success: "Good",
  "approval-request": "Accent",
  "approval-expired": "Warning",
  superseded: "Default",
  canceled: "Warning",
  stopped: "Warning",
  status: "Default",
};

/** An http(s) URL without whitespace (a Markdown link or an `Action.OpenUrl` target). */
function isLinkable(url: string | undefined): url is string {
  return isHttpUrl(url) && !/\s/.test(url);
}

/** How many characters (before escaping) the card's texts keep: the summary, and every other. */
interface TextMax {
  summary: number;
  text: number;
}

function build(n: Notification, max: TextMax): { message: TeamsMessage; truncated: string[] } {
  const f = fitter();
  const where = whereOf(n);
  const facts = [
    { title: "Pipeline", value: n.pipeline },
    ...(where ? [{ title: "Stage / action", value: where }] : []),
    { title: "State", value: String(n.state) },
    { title: "Execution", value: n.executionId },
    { title: "Account / region", value: accountRegion(n) },
    { title: "Time", value: utcMinute(n.time) ?? n.time },
    { title: "Tier", value: n.tier },
    ...(n.errorCode ? [{ title: "Error code", value: n.errorCode }] : []),
    ...(n.decidedBy ? [{ title: "Decided by", value: n.decidedBy }] : []),
    ...(n.trigger ? [{ title: "Trigger", value: n.trigger }] : []),
    ...lifecycleFacts(n),
  ].map((fact) => ({
    title: fact.title,
    value: fitEscaped(f, fact.title, esc(fact.value), max.text),
  }));

  const body: AdaptiveElement[] = [
    {
      type: "TextBlock",
      text: fitHeadline(f, "title", n, max.text, { escape: esc }),
      wrap: true,
      size: "Large",
      weight: "Bolder",
      color: KIND_COLOR[n.kind] ?? "Default",
    },
    { type: "FactSet", facts },
  ];
  if (n.summary)
    body.push({
      type: "TextBlock",
      text: fitEscaped(f, "summary", esc(n.summary), max.summary),
      wrap: true,
    });
  const rev = n.revision;
  if (rev && (rev.id || rev.message || rev.author)) {
    const line = [
      rev.id ? `Revision ${cut(rev.id, 12)}` : "Revision",
      rev.author ? `by ${rev.author}` : "",
    ]
      .filter(Boolean)
      .join(" ");
    body.push({
      type: "TextBlock",
      text: fitEscaped(
        f,
        "revision",
        esc(rev.message ? `${line}: ${rev.message}` : line),
        max.text,
      ),
      wrap: true,
      isSubtle: true,
    });
  }
  if (n.kind === "approval-request" && n.approval) {
    const a = n.approval;
    const lines = [
      "Approve or reject in Slack or the CodePipeline console.",
      ...(a.expiresAt ? [`Expires ${utcMinute(a.expiresAt) ?? a.expiresAt}.`] : []),
      ...(a.customData ? [a.customData] : []),
    ];
    body.push({
      type: "TextBlock",
      text: fitEscaped(f, "approval", lines.map(esc).join("\n\n"), max.summary),
      wrap: true,
    });
  }
  for (const note of n.notes ?? []) {
    body.push({
      type: "TextBlock",
      text: fitEscaped(f, "notes", esc(note), max.text),
      wrap: true,
      isSubtle: true,
    });
  }
  const actions = [
    ...(isLinkable(n.consoleUrl)
      ? [{ type: "Action.OpenUrl" as const, title: "View execution", url: n.consoleUrl }]
      : []),
    ...(isLinkable(n.externalUrl)
      ? [{ type: "Action.OpenUrl" as const, title: "View logs", url: n.externalUrl }]
      : []),
    ...(isLinkable(n.approval?.reviewUrl)
      ? [{ type: "Action.OpenUrl" as const, title: "Review", url: n.approval.reviewUrl }]
      : []),
  ];
  return { message: adaptiveCardMessage(body, actions), truncated: f.truncated };
}

/** The shortest a text is cut to while the card is too big. */
const MIN_TEXT_CHARS = 100;

/**
 * Builds the card within `TEAMS_LIMITS.cardBytes` (adaptive-card.ts `cardBytes`): the summary is
 * cut further first, then every other text (facts, title, revision, notes), each to at least
 * {@link MIN_TEXT_CHARS}.
 */
export function renderTeams(n: Notification): { message: TeamsMessage; truncated: string[] } {
  const max: TextMax = { summary: TEAMS_LIMITS.summary, text: TEAMS_LIMITS.text };
  for (;;) {
    const out = build(n, max);
    const over = cardBytes(out.message) - TEAMS_LIMITS.cardBytes;
    const key = max.summary > MIN_TEXT_CHARS ? "summary" : "text";
    if (over <= 0 || max[key] <= MIN_TEXT_CHARS) return out;
    // A character can weigh 6 bytes (a \uXXXX escape); `text` is shared by many fields.
    const step = key === "summary" ? Math.ceil(over / 2) : Math.ceil(over / 30);
    max[key] = Math.max(MIN_TEXT_CHARS, max[key] - step - 100);
  }
}

/** The Workflows webhook message for `n` (pure). */
export function formatTeams(n: Notification, _config?: TeamsConfig): TeamsMessage {
  return renderTeams(n).message;
}

/** Posts the card; Workflows answers 202 (or 200). */
export async function sendTeams(
  n: Notification,
  ctx: ChannelContext<TeamsConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = renderTeams(n);
  return postTeams(ctx, message, reportTruncation(ctx, "teams", n, truncated));
}

/** Posts a card to the channel's Workflows URL; `wasCut` marks the receipt `truncated`. */
async function postTeams(
  ctx: ChannelContext<TeamsConfig>,
  message: TeamsMessage,
  wasCut: boolean,
): Promise<DeliveryReceipt> {
  const url = requireSecret("teams", ctx, "webhookUrl");
  const res = await deliverHttp("teams", ctx, url, message);
  return {
    channel: ctx.name,
    type: "teams",
    status: res.status,
    ...(wasCut && { truncated: true }),
  };
}

/** The Teams channel driver. */
export const teamsDriver: ChannelDriver<TeamsConfig> = {
  type: "teams",
  format: formatTeams,
  send: sendTeams,
  formatDigest: formatTeamsDigest,
  sendDigest: sendTeamsDigest,
};

/** The digest card for `d` (pure). */
export function formatTeamsDigest(d: Digest, _config?: TeamsConfig): TeamsMessage {
  return renderTeamsDigest(d, TEAMS_LIMITS).message;
}

/** Posts the digest card. */
export async function sendTeamsDigest(
  d: Digest,
  ctx: ChannelContext<TeamsConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = renderTeamsDigest(d, TEAMS_LIMITS);
  return postTeams(ctx, message, reportDigestCut(ctx, "teams", d, truncated));
}
