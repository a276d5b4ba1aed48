/**
 * SMS through the channel's SNS topic (SMS subscriptions). One segment, always: at most
 * {@link SMS_MAX_CHARS} characters of the GSM-7 basic character set, most important words first.
 * One character outside GSM-7 (an emoji, a curly quote) would switch the whole message to UCS-2
 * and its 70-character segments, each billed.
 */
import { truncatePath } from "../slack-text";
import type { ChannelConfigOf, Digest, Notification } from "../types";
import { kindWord, pipelineLabel, publishSns, reportTruncation } from "./common";
import { digestWhat, reportDigestCut, windowWords } from "./digest";
import { digestGroups, fitGroups, type DigestGroup } from "./digest-groups";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

/** SMS channel settings (the phone numbers are subscribed to the topic by the program). */
export type SmsConfig = ChannelConfigOf<"sms">;

/**
 * The product promise: 140 characters. One SMS segment is 140 bytes = 160 GSM-7 characters
 * (https://docs.aws.amazon.com/sns/latest/dg/sms_publish-to-phone.html); 140 leaves room for a
 * carrier prefix.
 */
export const SMS_MAX_CHARS = 140;

/** GSM 03.38 basic character set (3GPP TS 23.038 §6.2.1), without the escape to the extension table. */
const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡" +
  "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/** Look-alikes outside the basic set (extension-table characters count double: replace them too). */
const TRANSLITERATIONS: Record<string, string> = {
  "\u2018": "'",
  "\u2019": "'",
  "\u201a": "'",
  "\u201b": "'",
  "\u2032": "'",
  "`": "'",
  "\u00b4": "'",
  "\u201c": '"',
  "\u201d": '"',
  "\u201e": '"',
  "\u201f": '"',
  "\u2033": '"',
  "\u00ab": '"',
  "\u00bb": '"',
  "\u2010": "-",
  "\u2011": "-",
  "\u2012": "-",
  "\u2013": "-",
  "\u2014": "-",
  "\u2015": "-",
  "\u2212": "-",
  "\u2026": "...",
  "\u2022": "*",
  "\u00b7": "*",
  "[": "(",
  "]": ")",
  "{": "(",
  "}": ")",
  "\\": "/",
  "|": "/",
  "~": "-",
  "^": "",
  "\u20ac": "EUR",
  "\u0153": "oe",
  "\u0152": "OE",
  "\u0142": "l",
  "\u0141": "L",
  "\u0111": "d",
  "\u0110": "D",
  "\u00f0": "d",
  "\u00d0": "D",
  "\u00fe": "th",
  "\u00de": "Th",
  "\u0131": "i",
};

/** True when every character of `text` is in the GSM-7 basic character set. */
export function isGsm7(text: string): boolean {
  for (const ch of text) if (!GSM7_BASIC.includes(ch)) return false;
  return true;
}

/**
 * Rewrites `text` into the GSM-7 basic character set on one line: curly quotes become straight,
 * dashes "-", "…" "...", accented letters outside the set their base letter (NFD), all
 * whitespace one space; anything else (emoji, non-Latin scripts) is dropped.
 */
export function toGsm7(text: string): string {
  let out = "";
  for (const ch of text) {
    if (/\s/.test(ch)) {
      out += " ";
    } else if (Object.hasOwn(TRANSLITERATIONS, ch)) {
      out += TRANSLITERATIONS[ch];
    } else if (GSM7_BASIC.includes(ch)) {
      out += ch;
    } else {
      const base = ch.normalize("NFD").replace(/\p{M}/gu, "");
      if (base !== "" && isGsm7(base)) out += base;
    }
  }
  // Dropped words (non-Latin scripts) leave runs of separators apart behind ("Fehler: ,"): keep
  // one. Adjacent ones are the text's own ("arn:aws:sts::123456789012:…") and stay.
  return out
    .replace(/([;,:])(?:\s+[;,:])+/g, "$1")
    .replace(/ {2,}/g, " ")
    .trim();
}

function render(n: Notification): { message: string; truncated: string[] } {
  // Most important first: what happened and the pipeline, the stage, the action, who decided,
  // then the summary, word by word.
  const units = wordsOf(`${kindWord(n)} ${pipelineLabel(n)}`);
  if (n.stage) units.push(` @${toGsm7(n.stage)}`);
  if (n.action) units.push(`${n.stage ? "/" : " @"}${toGsm7(n.action)}`);
  const by: SmsUnit[] =
    n.kind === "rejection" && n.decidedBy ? [{ lead: " by ", path: toGsm7(n.decidedBy) }] : [];
  const summary = wordsOf(n.summary ?? "");
  if (summary.length > 0) summary[0] = `: ${summary[0]}`;
  return fitSms([...units, ...by, ...summary]);
}

/**
 * A unit of {@link fitSms}: a word or a name (a string, shown whole or not at all), or who
 * decided, after `lead`, which may be shown with its middle cut when it does not fit whole.
 */
type SmsUnit = string | { lead: string; path: string };

/**
 * `path` (who decided: a caller's ARN, `assumed-role/<role>/<session name>`) in at most `room`
 * characters with its middle cut, "..." for "…" (not GSM-7), the last segment whole: the
 * session name says who (slack-text.ts `truncatePath`, IAM User Guide "IAM identifiers").
 * Undefined when that does not fit, or `path` has no "/": then it is left out, not shown as a
 * fragment of itself.
 */
function shortPath(path: string, room: number): string | undefined {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return undefined;
  const short = truncatePath(path, room, "...").text;
  return short.length <= room && short.endsWith(path.slice(slash)) ? short : undefined;
}

/** The words of `text` in GSM-7, each after the first led by its space: units for {@link fitSms}. */
function wordsOf(text: string): string[] {
  const words = toGsm7(text)
    .split(" ")
    .filter((w) => w !== "");
  return words.map((w, i) => (i === 0 ? w : ` ${w}`));
}

/**
 * GSM-7 `units` (words, names: each with its leading separator) joined and, when longer than
 * {@link SMS_MAX_CHARS}, cut between two units so that no word or name is shown as a fragment of
 * itself ("ResourceNo..."): the units that fit before "..." ("…" is not GSM-7), without the
 * separator the cut leaves dangling (": ", "/"). A unit that does not fit is left out whole, with
 * every unit after it, so that the text still reads in order; who decided is shown with its
 * middle cut instead when that fits ({@link shortPath}).
 */
function fitSms(units: readonly SmsUnit[]): { message: string; truncated: string[] } {
  const whole = units.map((u) => (typeof u === "string" ? u : u.lead + u.path));
  const text = whole.join("");
  if (text.length <= SMS_MAX_CHARS) return { message: text, truncated: [] };
  let kept = "";
  for (const [i, unit] of units.entries()) {
    const room = SMS_MAX_CHARS - 3 - kept.length;
    if (whole[i].length <= room) {
      kept += whole[i];
      continue;
    }
    if (typeof unit !== "string") {
      const short = shortPath(unit.path, room - unit.lead.length);
      if (short !== undefined) kept += unit.lead + short;
    }
    break;
  }
  return { message: `${kept.replace(/[\s:;,/-]+$/, "")}...`, truncated: ["message"] };
}

/** Publishes `message` to the channel's topic as a transactional SMS. */
function publishText(
  ctx: ChannelContext<SmsConfig>,
  message: string,
  wasCut: boolean,
): Promise<DeliveryReceipt> {
  return publishSns(
    "sms",
    ctx,
    {
      Message: message,
      // Transactional: higher delivery priority (https://docs.aws.amazon.com/sns/latest/dg/sms_publish-to-topic.html).
      MessageAttributes: {
        "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" },
      },
    },
    wasCut,
  );
}

/** The SMS text for `n` (pure): `{ message }`, ≤ 140 GSM-7 characters. */
export function formatSms(n: Notification, _config?: SmsConfig): { message: string } {
  return { message: render(n).message };
}

/** Publishes the SMS to the channel's topic, as a transactional message. */
export async function sendSms(
  n: Notification,
  ctx: ChannelContext<SmsConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = render(n);
  return publishText(ctx, message, reportTruncation(ctx, "sms", n, truncated));
}

/**
 * The one text of a digest (issue 11: a storm texts once, then "N more"), at most
 * {@link SMS_MAX_CHARS} GSM-7 characters: "57 more failures in 20 pipelines in 2 min: svc-02 x3,
 * svc-07 x3, +18 more pipelines - see slack-oncall": each pipeline once with its count
 * (digest-groups.ts, "x" for "×", which GSM-7 lacks), failing and latest first, as many as fit
 * before " - see …" (`d.seeChannel`, the channel instance where the full list is; without one,
 * "see the console"), and how many pipelines are not named. A name two groups share (one name in
 * two accounts or regions) says where each is: "svc (payments-prod, us-east-1)".
 */
function renderDigest(d: Digest): { message: string; truncated: string[] } {
  const what = toGsm7(`${digestWhat(d, true)} in ${windowWords(d, true)}`);
  // toGsm7 trims: the separating space is added after.
  const see = ` ${toGsm7(`- see ${d.seeChannel ?? "the console"}`)}`;
  const moreText = (hidden: number) =>
    `, +${hidden} more ${hidden === 1 ? "pipeline" : "pipelines"}`;
  const groups = digestGroups(d);
  const named: Record<string, number> = {};
  for (const g of groups) named[g.latest.pipeline] = (named[g.latest.pipeline] ?? 0) + 1;
  // One name in two accounts or regions: each says which ("svc (payments-prod, eu-west-1)").
  const nameOf = (g: DigestGroup) =>
    named[g.latest.pipeline] > 1 ? `${g.latest.pipeline} (${g.where})` : g.latest.pipeline;
  const { shown, hidden } = fitGroups(
    d,
    groups,
    (g) => toGsm7(`${nameOf(g)}${g.entries.length > 1 ? ` x${g.entries.length}` : ""}`),
    (name) => name.length + 2, // ": " before the first, ", " before the others
    (used, _count, hiddenPipelines) =>
      what.length +
        used +
        (hiddenPipelines > 0 ? moreText(hiddenPipelines).length : 0) +
        see.length <=
      SMS_MAX_CHARS,
    0,
  );
  const list = shown.length > 0 ? `: ${shown.join(", ")}${hidden > 0 ? moreText(hidden) : ""}` : "";
  return fitSms(wordsOf(`${what}${list}${see}`));
}

/** The SMS text of digest `d` (pure): `{ message }`, ≤ 140 GSM-7 characters. */
export function formatSmsDigest(d: Digest, _config?: SmsConfig): { message: string } {
  return { message: renderDigest(d).message };
}

/** Publishes the digest's one text to the channel's topic, as a transactional message. */
export async function sendSmsDigest(
  d: Digest,
  ctx: ChannelContext<SmsConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = renderDigest(d);
  return publishText(ctx, message, reportDigestCut(ctx, "sms", d, truncated));
}

/** The SMS channel driver. */
export const smsDriver: ChannelDriver<SmsConfig> = {
  type: "sms",
  format: formatSms,
  send: sendSms,
  formatDigest: formatSmsDigest,
  sendDigest: sendSmsDigest,
};
