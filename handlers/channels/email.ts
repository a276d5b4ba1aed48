/**
 * Email through the channel's SNS topic (email subscriptions): a short ASCII subject and a
 * plain-text body with every detail and link.
 */
import type { ChannelConfigOf, Digest, Notification } from "../types";
import {
  accountRegion,
  fitter,
  type Fitter,
  headline,
  kindWord,
  oneLine,
  pipelineLabel,
  publishSns,
  reportTruncation,
  whereOf,
} from "./common";
import { digestTitle, reportDigestCut, windowSpan } from "./digest";
import {
  digestGroups,
  earlierParts,
  fitGroups,
  groupHead,
  morePipelines,
  otherExecutions,
  utcClock,
  type DigestGroup,
  type GroupDetail,
  type GroupMarkup,
} from "./digest-groups";
import { lifecycleFacts } from "./lifecycle";
import { utcMinute } from "../time-text";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

/** Email channel settings (the addresses are subscribed to the topic by the program). */
export type EmailConfig = ChannelConfigOf<"email">;

/** Limits (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). */
export const EMAIL_LIMITS = {
  /** SNS `Subject`: ASCII, no line breaks, under 100 characters. */
  subject: 99,
  /** SNS messages are at most 256 KB; the summary is kept well below, for readability. */
  summary: 20000,
  text: 2000,
} as const;

/** Printable ASCII on one line: accents dropped via NFD, anything else removed. */
function toAsciiLine(text: string): string {
  return oneLine(
    text
      .normalize("NFD")
      .replace(/[\u2018\u2019]/g, "'")
      .replace(/[\u201c\u201d]/g, '"')
      .replace(/[\u2013\u2014]/g, "-"),
  )
    .replace(/\u2026/g, "...")
    .replace(/[^\x20-\x7e]/g, "")
    .replace(/ {2,}/g, " ")
    .trim();
}

function render(n: Notification): { subject: string; message: string; truncated: string[] } {
  const f = fitter();
  const where = whereOf(n);
  let subject = toAsciiLine(
    `[deploy-notifier] ${kindWord(n)} ${pipelineLabel(n)}${where ? ` ${where}` : ""}`,
  );
  if (subject.length > EMAIL_LIMITS.subject) {
    subject = `${subject.slice(0, EMAIL_LIMITS.subject - 3)}...`;
    f.truncated.push("subject");
  }
  // Times as people read them everywhere ("2024-05-01 12:34 UTC"); one that does not parse as is.
  const at = (iso: string | undefined) => iso && (utcMinute(iso) ?? iso);
  const line = (label: string, value: string | undefined): string[] =>
    value ? [`${label}: ${f.fit(label, oneLine(value), EMAIL_LIMITS.text)}`] : [];
  const rev = n.revision;
  const lines = [
    headline(n),
    "",
    ...line("Pipeline", n.pipeline),
    ...line("Stage / action", where),
    ...line("State", String(n.state)),
    ...line("Execution", n.executionId),
    ...line("Account / region", accountRegion(n)),
    ...line("Time", at(n.time)),
    ...line("Tier", n.tier),
    ...line("Error code", n.errorCode),
    ...line("Decided by", n.decidedBy),
    ...line("Trigger", n.trigger),
    ...line("Revision", rev?.id),
    ...line("Author", rev?.author),
    ...line("Commit message", rev?.message),
    ...line("Commit", rev?.url),
    ...lifecycleFacts(n).flatMap((fact) => line(fact.title, fact.value)),
  ];
  if (n.kind === "approval-request" && n.approval) {
    lines.push(
      ...line("Approvers", n.approval.approvers.join(", ")),
      ...line("Expires", at(n.approval.expiresAt)),
      ...line("Review", n.approval.reviewUrl),
      ...line("Details", n.approval.customData),
    );
  }
  if (n.summary) lines.push("", "Summary:", f.fit("summary", n.summary, EMAIL_LIMITS.summary));
  for (const note of n.notes ?? [])
    lines.push("", `Note: ${f.fit("notes", note, EMAIL_LIMITS.text)}`);
  lines.push("", `Execution: ${n.consoleUrl}`);
  if (n.externalUrl) lines.push(`Logs: ${n.externalUrl}`);
  return { subject, message: lines.join("\n"), truncated: f.truncated };
}

/** The email for `n` (pure): `{ subject, message }`. */
export function formatEmail(
  n: Notification,
  _config?: EmailConfig,
): { subject: string; message: string } {
  const { subject, message } = render(n);
  return { subject, message };
}

/** Publishes the email to the channel's topic. */
export async function sendEmail(
  n: Notification,
  ctx: ChannelContext<EmailConfig>,
): Promise<DeliveryReceipt> {
  const { subject, message, truncated } = render(n);
  const wasCut = reportTruncation(ctx, "email", n, truncated);
  return publishSns("email", ctx, { Subject: subject, Message: message }, wasCut);
}

/**
 * A digest's email body is kept well below SNS's 256 KB message limit
 * (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html): entries stop at this many bytes.
 */
export const EMAIL_DIGEST_BODY_BYTES = 200 * 1024;

/**
 * One pipeline's block: "- svc-02 ×3 | where | stage | last <time>", then with `detail` 1 the
 * latest's summary, its console link, and with 2 the other executions' links (`earlier:`).
 */
function groupText(g: DigestGroup, detail: GroupDetail, f: Fitter): string {
  const e = g.latest;
  const line = groupHead(g, EMAIL_MARKUP);
  const { links, more } = otherExecutions(g);
  return [
    `- ${f.fit("entries", oneLine(line.join(" | ")), EMAIL_LIMITS.text)}`,
    ...(detail >= 1 && e.summary
      ? [`  ${f.fit("summary", oneLine(e.summary), EMAIL_LIMITS.text)}`]
      : []),
    `  ${e.consoleUrl}`,
    ...(detail >= 2
      ? earlierParts(links).map((label, i) => `  earlier ${EMAIL_MARKUP.earlier(links[i], label)}`)
      : []),
    ...(detail >= 2 && more > 0 ? [`  and ${more} earlier`] : []),
  ].join("\n");
}

/** A group's line in plain text (the caller cuts it to one line). */
const EMAIL_MARKUP: GroupMarkup = {
  name: (e) => e.pipeline,
  text: (s) => s,
  time: utcClock,
  earlier: (e, l) => `${l.label}: ${e.consoleUrl}`,
};

function renderDigest(d: Digest): { subject: string; message: string; truncated: string[] } {
  const f = fitter();
  let subject = toAsciiLine(`[deploy-notifier] ${digestTitle(d)}`);
  if (subject.length > EMAIL_LIMITS.subject) {
    subject = `${subject.slice(0, EMAIL_LIMITS.subject - 3)}...`;
    f.truncated.push("subject");
  }
  const head = [digestTitle(d), `Window: ${windowSpan(d)}`, ""].join("\n");
  const frame = Buffer.byteLength(head) + 64;
  const { shown, hidden, detailCut } = fitGroups(
    d,
    digestGroups(d),
    (g, detail) => groupText(g, detail, f),
    (block) => Buffer.byteLength(block) + 1,
    (bytes) => frame + bytes <= EMAIL_DIGEST_BODY_BYTES,
  );
  if (hidden > 0) f.truncated.push("entries");
  if (detailCut) f.truncated.push("detail");
  const body = [head, ...shown, ...(hidden > 0 ? ["", morePipelines(hidden)] : [])].join("\n");
  return { subject, message: body, truncated: f.truncated };
}

/**
 * The digest email for `d` (pure): `{ subject, message }`, plain text, one block per pipeline
 * (digest-groups.ts), "and N more pipelines" when the body's bytes cut the list.
 */
export function formatEmailDigest(
  d: Digest,
  _config?: EmailConfig,
): { subject: string; message: string } {
  const { subject, message } = renderDigest(d);
  return { subject, message };
}

/** Publishes the digest email to the channel's topic. */
export async function sendEmailDigest(
  d: Digest,
  ctx: ChannelContext<EmailConfig>,
): Promise<DeliveryReceipt> {
  const { subject, message, truncated } = renderDigest(d);
  const wasCut = reportDigestCut(ctx, "email", d, truncated);
  return publishSns("email", ctx, { Subject: subject, Message: message }, wasCut);
}

/** The email channel driver. */
export const emailDriver: ChannelDriver<EmailConfig> = {
  type: "email",
  format: formatEmail,
  send: sendEmail,
  formatDigest: formatEmailDigest,
  sendDigest: sendEmailDigest,
};
