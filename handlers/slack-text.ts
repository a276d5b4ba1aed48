import { utcMinute } from "./time-text";

/**
 * Slack mrkdwn escaping (api.slack.com, "Formatting text for app surfaces"): `&`, `<` and `>`
 * in any text that did not come from us, so that `<!channel>`, `<@U…>` or `<https://x|label>` in
 * a commit message or build summary stays inert.
 */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Cuts `text` to at most `max` characters, marking the cut visibly with `mark` ("…", or "..."
 * where "…" cannot be sent: GSM-7 SMS), and reports whether it cut. Never splits a surrogate
 * pair or an escape entity like `&amp;`.
 */
export function truncateText(
  text: string,
  max: number,
  mark = "…",
): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  let cut = Math.max(0, max - mark.length);
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  const amp = text.lastIndexOf("&", cut - 1);
  if (amp >= 0 && amp > cut - 6 && text.indexOf(";", amp) >= cut) cut = amp;
  return { text: text.slice(0, cut) + mark, truncated: true };
}

/**
 * {@link truncateText} for a "/"-separated name whose last segment says who it is: the resource
 * of a caller's ARN (IAM User Guide, "IAM identifiers": `assumed-role/<role>/<session name>`,
 * `user/<path>/<name>`). The middle is cut, never the last segment: "assumed-role/Deploy…/jane";
 * when the first and last segments alone do not fit, "…/" and the last segment, cut at its end
 * if it must be ("…/jane.doe@exa…"). A name without two segments is cut at its end. `mark` as
 * in {@link truncateText}.
 */
export function truncatePath(
  text: string,
  max: number,
  mark = "…",
): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const first = text.indexOf("/");
  const last = text.lastIndexOf("/");
  if (first < 0 || max < mark.length + 2) return truncateText(text, max, mark);
  const head = text.slice(0, first);
  const tail = text.slice(last + 1);
  const middleRoom = max - head.length - tail.length - 2;
  if (first < last && middleRoom >= mark.length) {
    const middle = truncateText(text.slice(first + 1, last), middleRoom, mark).text;
    return { text: `${head}/${middle}/${tail}`, truncated: true };
  }
  const rest = truncateText(tail, max - mark.length - 1, mark).text;
  return { text: `${mark}/${rest}`, truncated: true };
}

/**
 * A piece of a {@link fitLine} line: kept whole (a string), or cut to fit (`{ cut }`) at its end,
 * or with `path` in its middle ({@link truncatePath}: who decided, as a caller's ARN says it).
 */
export type LinePiece = string | { cut: string; path?: boolean };

/**
 * A line of at most `max` characters from `pieces`, in order: a string is kept whole (the words
 * that say what happened: a verb, a time, a status suffix such as "(execution stopping)"); a
 * `{ cut }` piece (a pipeline name, who decided) is cut with "…" ({@link truncateText}) so that the
 * line fits. The room left by the whole pieces is shared among the cut pieces, the shorter ones
 * kept whole first. When the whole pieces leave less than one character per cut piece, the line
 * itself is cut at its end. For Slack's header block: plain_text of at most 150 characters
 * (https://docs.slack.dev/reference/block-kit/blocks/header-block).
 */
export function fitLine(pieces: readonly LinePiece[], max: number): string {
  const whole = (p: LinePiece) => (typeof p === "string" ? p : p.cut);
  const line = pieces.map(whole).join("");
  if (line.length <= max) return line;
  const cuts = pieces.flatMap((p, i) => (typeof p === "string" ? [] : [{ i, len: p.cut.length }]));
  const fixed = pieces.reduce((n, p) => n + (typeof p === "string" ? p.length : 0), 0);
  let left = max - fixed;
  if (left < cuts.length) return truncateText(line, max).text;
  const room = new Map<number, number>();
  cuts.sort((a, b) => a.len - b.len);
  cuts.forEach((c, k) => {
    const given = Math.min(c.len, Math.floor(left / (cuts.length - k)));
    room.set(c.i, given);
    left -= given;
  });
  const fitted = pieces.map((p, i) =>
    typeof p === "string"
      ? p
      : (p.path ? truncatePath : truncateText)(p.cut, room.get(i) ?? 0).text,
  );
  return fitted.join("");
}

/**
 * {@link truncateText} for Slack mrkdwn: also never cuts inside `<…>` (a link `<url|label>`, a
 * mention or a date). Every `<` in mrkdwn this product builds is its own (user text is escaped
 * first, {@link escapeSlackText}), so an unclosed one before the cut opens such a span: the span
 * is left out whole rather than shown as raw text (api.slack.com, "Formatting text for app
 * surfaces": links and mentions are `<…>`).
 */
export function truncateMrkdwn(text: string, max: number): { text: string; truncated: boolean } {
  const out = truncateText(text, max);
  if (!out.truncated) return out;
  const kept = out.text.slice(0, -1);
  const open = kept.lastIndexOf("<");
  if (open < 0 || kept.indexOf(">", open) >= 0) return out;
  return { text: `${kept.slice(0, open)}…`, truncated: true };
}

/**
 * "2026-12-01 14:02 UTC" for an ISO instant: the one way a time reads for people in Slack text
 * (plain text, where `<!date>` is not parsed — a header block, a modal's error — and the fallback
 * of {@link slackTime}). An unparsable value is returned escaped. Audit records keep ISO.
 */
export function humanTime(iso: string): string {
  return utcMinute(iso) ?? escapeSlackText(iso);
}

/**
 * Slack's date formatting for an ISO instant, for mrkdwn (docs.slack.dev, "Formatting text for
 * app surfaces", date formatting: `<!date^timestamp^token_string|fallback_text>`, timestamp in
 * Unix seconds): `{date_num} {time}` shows "2026-12-01 15:02" in the reader's own time zone and
 * clock preference; a client that cannot render it shows the fallback, {@link humanTime}
 * ("2026-12-01 14:02 UTC"), the same form. An unparsable value is returned escaped.
 */
export function slackTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return escapeSlackText(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_num} {time}|${humanTime(iso)}>`;
}

/**
 * A span of two ISO instants in mrkdwn, the end without its date when both fall on one UTC day:
 * "<!date…|2026-12-01 15:00 UTC> – <!date^…^{time}|15:02 UTC>" (the date once, as a reader says
 * it; a grouping window lasts minutes). Across midnight, or with a value that does not parse,
 * both ends are written whole ({@link slackTime}).
 */
export function slackTimeSpan(startIso: string, endIso: string): string {
  const start = utcMinute(startIso);
  const end = utcMinute(endIso);
  if (start === undefined || end === undefined || start.slice(0, 10) !== end.slice(0, 10)) {
    return `${slackTime(startIso)} – ${slackTime(endIso)}`;
  }
  const seconds = Math.floor(Date.parse(endIso) / 1000);
  return `${slackTime(startIso)} – <!date^${seconds}^{time}|${end.slice(11)}>`;
}
