/**
 * Markdown escaping for the two channels that render Markdown in the text we send: Teams
 * (Adaptive Card TextBlock and FactSet) and Discord (embed title, description and field values).
 * Every piece of text that did not come from us (commit messages, error summaries, pipeline,
 * stage, action and user names, custom data, notes) goes through one of these before it is put
 * into a payload, so that the only links in a message are the ones a driver builds itself. Slack's
 * counterpart is `escapeSlackText` in `../slack-text`.
 *
 * Both escape with a backslash before each character that can start or end Markdown syntax.
 * CommonMark makes any backslash-escaped ASCII punctuation a literal character
 * (https://spec.commonmark.org/0.31.2/#backslash-escapes), and Discord honours the same escape
 * ("slap a backslash directly preceding the expression": https://paradoxv5.github.io/Discord-Markdown,
 * and discord.js `escapeMarkdown`, https://discord.js.org/docs/packages/formatters/main/escapeMarkdown:Function).
 *
 * Bare URLs in user text are left readable and may be turned into links by the client: Discord
 * auto-links them whatever we escape ("a plain link isn't based on Markdown, so \ won't unlink it",
 * same guide), and so may Teams. We accept that: such a link shows its whole target, so it cannot
 * pretend to be one of ours, and defanging it (`hxxps`, zero-width characters) would corrupt the
 * URLs people copy out of error messages. What cannot happen is a masked link (`[label](url)`,
 * `![alt](url)`, `<url>`), emphasis, code, a mention or a list that the sender wrote.
 */
import type { Fitter } from "./common";

/**
 * A list, heading or subtext marker at the start of a line (`- `, `+ `, `# `, `## `, `-# `,
 * `1. `). `*` and `>` are escaped everywhere anyway.
 */
const LINE_START_MARKER = /^([ \t]*)(?:([-+#])|(\d+)\.(?=[ \t]|$))/gm;

/** Escapes the marker's punctuation: `\- `, `\# `, `1\. ` (a backslash before a digit is no escape). */
function escapeLineStarts(text: string): string {
  return text.replace(LINE_START_MARKER, (_m, indent: string, sign?: string, digits?: string) =>
    sign !== undefined ? `${indent}\\${sign}` : `${indent}${digits}\\.`,
  );
}

/**
 * Teams: the Adaptive Card "Markdown (Commonmark subset)" — `**bold**`, `_italic_`, `- ` and
 * `1. ` lists, `[Title](url)` links
 * (https://learn.microsoft.com/en-us/adaptive-cards/authoring-cards/text-features) — which Teams
 * applies to TextBlock text and to `Fact.title` / `Fact.value`
 * (https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-format).
 * Escaped: `\ * _ [ ] ( ) < > ` ~ &` anywhere, and a list or heading marker at a line start.
 * - `(` and `)` as well as the brackets: the shared-model parser of the mobile clients starts a
 *   link at any `[` and ignores a backslash before it; a link there needs `](` side by side, which
 *   an escaped `\(` never is (microsoft/AdaptiveCards, source/shared/cpp/ObjectModel/MarkDownBlockParser.cpp).
 * - `_` always, not only around words: Teams italicised the middle of
 *   `UPDATE_ROLLBACK_COMPLETE` in the security review (issue 13), which CommonMark would not.
 * - `&`, so that `&#91;` can never become a `[` before the Markdown is parsed.
 * - Backticks and `~` are outside the documented subset but rendered by some hosts.
 * Older Teams mobile clients show the backslashes instead of hiding them (microsoft/AdaptiveCards
 * #5590, #7474): uglier, still inert. Escaping continues inside URLs: a URL keeps working where
 * the escapes are honoured, and an unescaped `_` there is exactly what Teams italicises.
 */
export function escapeTeamsMarkdown(text: string): string {
  return escapeLineStarts(text.replace(/[\\`*_~[\]()<>&]/g, "\\$&"));
}

/**
 * Discord: the Markdown of message content, embed descriptions and field values — `*`/`_`
 * emphasis, `__underline__`, `~~strike~~`, `||spoiler||`, code, `>` quotes, `#`/`-#` headings,
 * `-`/`*`/`1.` lists, `[label](url)` masked links, `<url>` — and the mention and tag formats
 * `<@id>`, `<@&id>`, `<#id>`, `</cmd:id>`, `<:emoji:id>`, `<t:…>`, `<id:…>`
 * (https://discord.com/developers/docs/reference#message-formatting).
 * Escaped: `\ * _ ~ | ` [ ] ( ) < > @` anywhere, and a list or heading marker at a line start.
 * The `@` makes `@everyone` / `@here` plain text; whether anybody is notified is decided by
 * `allowed_mentions: { parse: [] }`, which the driver always sends ("suppress all mentions":
 * https://discord.com/developers/docs/resources/message#allowed-mentions-object).
 * A bare `http(s)://` URL is copied unescaped, up to the first character that could open or close
 * syntax: Discord links it as it stands, so an escape inside would end up in the link target
 * (`\_` is a broken URL) — while the characters it stops at are escaped like everywhere else.
 */
export function escapeDiscordMarkdown(text: string): string {
  let out = "";
  let last = 0;
  for (const m of text.matchAll(DISCORD_BARE_URL)) {
    out += escapeDiscordPlain(text.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeDiscordPlain(text.slice(last));
}

/** A bare URL as Discord would link it, minus the characters that can take part in syntax. */
const DISCORD_BARE_URL = /\bhttps?:\/\/[^\s\\`*~|[\]()<>"']+/g;

function escapeDiscordPlain(text: string): string {
  return escapeLineStarts(text.replace(/[\\`*_~|[\]()<>@]/g, "\\$&"));
}

/**
 * Fits already-escaped text to `max` characters like {@link Fitter.fit}, then drops a backslash
 * the cut left dangling before the "…" (half of an escape pair), so the result stays within
 * `max` and never ends in a stray escape.
 */
export function fitEscaped(f: Fitter, field: string, escaped: string, max: number): string {
  const out = f.fit(field, escaped, max);
  if (out === escaped || !out.endsWith("…")) return out;
  const body = out.slice(0, -1);
  const run = body.length - body.replace(/\\+$/, "").length;
  return run % 2 === 1 ? `${body.slice(0, -1)}…` : out;
}
