// Renders the Markdown that Teams and Discord render in what the notifier sends them, as DOM
// nodes, so the sandbox page shows a card or an embed as the client would (it showed `**svc-01**`
// and `[View logs](https://…)` raw). Only the documented subsets:
// - Teams, Adaptive Card TextBlock and Fact title/value: **bold**, _italic_, `- ` and `1. ` lists,
//   [Title](url) (https://learn.microsoft.com/en-us/adaptive-cards/authoring-cards/text-features,
//   https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-format).
// - Discord, embed description and field values: **bold**, *italic* / _italic_, `code`,
//   [label](url) masked links, <t:unix:style> timestamps
//   (https://discord.com/developers/docs/reference#message-formatting).
// Both honour CommonMark's backslash escapes (https://spec.commonmark.org/0.31.2/#backslash-escapes),
// which the notifier puts before every character of user text that could be markup
// (handlers/channels/markdown.ts). Safe by construction: text is only ever set as textContent
// (never innerHTML), and a link is an <a> only for an http(s) URL, else its label as text.

// An escaped ASCII punctuation character is kept out of the patterns as one placeholder: a
// character of Unicode's Supplementary Private Use Area-A (U+F0000–U+FFFFD), each standing for its
// entry in `held`. A character of that range in the text itself is held the same way, so that no
// text is ever read as a placeholder (the placeholders were U+E000 + the character's code, and
// text holding such a character, an icon font's glyph, came out as ASCII: U+E041 as "A").
const ESCAPE_OR_HELD = /\\([!-/:-@[-`{-~])|[\u{F0000}-\u{FFFFD}]/gu;
const PLACEHOLDER = /[\u{F0000}-\u{FFFFD}]/gu;
const CAPACITY = 0xffffd - 0xf0000 + 1;
/** The placeholders of the text being rendered (rendering is synchronous): `escaped` or as typed. */
let held = [];
const hide = (text) => {
  held = [];
  return text.replace(ESCAPE_OR_HELD, (whole, ch) => {
    // Past the capacity (65534: a Discord message has at most 6000 characters, a Teams card
    // 28 KB) the rest is left as typed.
    if (held.length >= CAPACITY) return whole;
    held.push(ch === undefined ? { text: whole } : { text: ch, escaped: true });
    return String.fromCodePoint(0xf0000 + held.length - 1);
  });
};
/** Held characters back as themselves (an escaped one with its backslash, inside code). */
const reveal = (text, keepBackslash = false) =>
  text.replace(PLACEHOLDER, (ch) => {
    const h = held[ch.codePointAt(0) - 0xf0000];
    if (!h) return ch;
    return h.escaped && keepBackslash ? `\\${h.text}` : h.text;
  });

function node(tag, className, text) {
  const n = document.createElement(tag);
  if (className) n.className = className;
  if (text !== undefined) n.textContent = text;
  return n;
}

/** The URL when it is http(s), else undefined. */
export function httpHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** Two digits, as clocks and dates are written ("07"). Shared with blockkit.js. */
export const pad = (n) => String(n).padStart(2, "0");
/** Month and weekday names in English, as the clients write them. Shared with blockkit.js. */
export const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
export const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/**
 * A Discord timestamp's text for a reader in UTC who prefers 24-hour time (the page's way): the
 * documented styles t "16:20", T "16:20:30", d "20/04/2021", D "20 April 2021", f (the default)
 * "20 April 2021 16:20", F "Tuesday, 20 April 2021 16:20"; R (relative) is shown as f. " UTC" is
 * appended when a time is shown.
 */
export function discordTime(seconds, style = "f") {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return undefined;
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  const long = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  const texts = {
    t: `${hm} UTC`,
    T: `${hm}:${pad(d.getUTCSeconds())} UTC`,
    d: `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()}`,
    D: long,
    F: `${DAYS[d.getUTCDay()]}, ${long} ${hm} UTC`,
  };
  return texts[style] ?? `${long} ${hm} UTC`;
}

// One inline token at a time, leftmost first. Emphasis with `_` only at word boundaries
// (CommonMark: UPDATE_ROLLBACK_COMPLETE stays plain); `*` and `**` need no space inside the marks.
const PATTERNS = {
  code: /`([^`\n]+)`/,
  timestamp: /<t:(-?\d{1,13})(?::([tTdDfFR]))?>/,
  link: /\[([^[\]\n]+)\]\(([^()\s]+)\)/,
  label: /\[([^[\]\n]+)\]\(([^()\s]+)\)/,
  bold: /\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*/,
  star: /\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*/,
  under: /(?<![\p{L}\p{N}_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\p{L}\p{N}_])/u,
};

/** The tokens each medium renders (Teams documents no code spans or timestamps). */
const DIALECTS = {
  teams: ["link", "bold", "under"],
  discord: ["code", "timestamp", "link", "bold", "star", "under"],
};

function firstToken(text, kinds) {
  let best;
  for (const kind of kinds) {
    const m = PATTERNS[kind].exec(text);
    if (m && (!best || m.index < best.m.index)) best = { kind, m };
  }
  return best;
}

/** Appends `text` (escapes hidden) to `parent` with its inline markup of `kinds`. */
function inline(text, parent, kinds) {
  let rest = text;
  for (let t = firstToken(rest, kinds); t; t = firstToken(rest, kinds)) {
    const { kind, m } = t;
    if (m.index > 0) parent.append(document.createTextNode(reveal(rest.slice(0, m.index))));
    parent.append(token(kind, m, kinds));
    rest = rest.slice(m.index + m[0].length);
  }
  if (rest) parent.append(document.createTextNode(reveal(rest)));
  return parent;
}

function token(kind, m, kinds) {
  const inner = kinds.filter((k) => k !== "link" && k !== "label");
  switch (kind) {
    case "code":
      return node("code", "", reveal(m[1], true));
    case "timestamp": {
      const text = discordTime(Number(m[1]), m[2]);
      if (text === undefined) return document.createTextNode(reveal(m[0]));
      const t = node("time", "", text);
      t.dateTime = new Date(Number(m[1]) * 1000).toISOString();
      return t;
    }
    case "link": {
      const href = httpHref(reveal(m[2]));
      // A link label may be bold or italic ("[**svc-01**](…)"), never another link.
      const a = href ? node("a") : node("span");
      if (href) Object.assign(a, { href, target: "_blank", rel: "noopener noreferrer" });
      return inline(m[1], a, inner);
    }
    case "label":
      return inline(m[1], node("span"), inner);
    case "bold":
      return inline(m[1], node("strong"), kinds);
    default:
      return inline(m[1], node("em"), kinds);
  }
}

/**
 * Renders one line of Markdown (`dialect` "teams" or "discord") into `parent`, no blocks; with
 * `links` false, links show their label only (an embed's title is a link itself).
 */
export function renderMarkdownInline(text, parent, dialect, links = true) {
  const kinds = DIALECTS[dialect].map((k) => (k === "link" && !links ? "label" : k));
  return inline(hide(String(text ?? "")), parent, kinds);
}

const LIST_ITEM = /^\s*(?:([-*+])|(\d{1,9})\.)\s+(.*)$/;

/**
 * Renders Markdown text of `dialect` into `parent`: lines end in a line break, a blank line starts
 * a paragraph, and in Teams runs of `- ` / `1. ` lines are lists (an escaped `\-` or `1\.` is
 * text). Discord's own lists and headings are not rendered (the notifier never sends them).
 */
export function renderMarkdown(text, parent, dialect) {
  const kinds = DIALECTS[dialect];
  const paragraphs = hide(String(text ?? "")).split(/(?:\r\n|\r|\n)[ \t]*(?:\r\n|\r|\n)+/);
  for (const paragraph of paragraphs) {
    const box = node("div", "md-p");
    let list;
    for (const line of paragraph.split(/\r\n|\r|\n/)) {
      const item = dialect === "teams" ? LIST_ITEM.exec(line) : null;
      if (item) {
        const tag = item[1] ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = node(tag, "md-list");
          if (tag === "ol" && item[2] !== "1") list.start = Number(item[2]);
          box.append(list);
        }
        list.append(inline(item[3], node("li"), kinds));
        continue;
      }
      if (box.lastChild && !list) box.append(node("br"));
      list = undefined;
      inline(line, box, kinds);
    }
    parent.append(box);
  }
  return parent;
}
