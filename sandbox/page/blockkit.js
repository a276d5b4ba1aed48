// Renders Slack Block Kit, Slack mrkdwn, Teams Adaptive Cards and Discord embeds as DOM nodes
// (Teams' and Discord's Markdown: markdown.js). Everything that came from a payload is set with
// textContent or validated attributes, never innerHTML: a commit message containing markup stays
// text.

import {
  DAYS,
  discordTime,
  httpHref,
  MONTHS,
  pad,
  renderMarkdown,
  renderMarkdownInline,
} from "./markdown.js";

/** Creates an element with a class and optional text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** "14:02:59 UTC": how the page writes a time (24-hour UTC); an unparsable value is kept. */
export function utcTime(iso) {
  const d = new Date(iso);
  if (iso === undefined || iso === null || Number.isNaN(d.getTime())) return String(iso ?? "");
  return `${d.toISOString().slice(11, 19)} UTC`;
}

/** "2024-06-10 14:02:59 UTC": how the page writes an instant; an unparsable value is kept. */
export function utcDateTime(iso) {
  const d = new Date(iso);
  if (iso === undefined || iso === null || Number.isNaN(d.getTime())) return String(iso ?? "");
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`;
}

function ordinal(n) {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  return `${n}${teen ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th")}`;
}

/**
 * Slack's `<!date>` tokens (docs.slack.dev/messaging/formatting-message-text#date-formatting) for a
 * reader in UTC who prefers 24-hour time; " UTC" follows each time ("15:00:03 UTC · 4f2a9c1e").
 */
export function slackDateFormat(d, format) {
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const now = new Date();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const relative = { [-1]: "yesterday", 0: "today", 1: "tomorrow" }[(day - today) / 86_400_000];
  const month = MONTHS[d.getUTCMonth()];
  const date = `${month} ${ordinal(d.getUTCDate())}, ${d.getUTCFullYear()}`;
  const short = `${month.slice(0, 3)} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
  const long = `${DAYS[d.getUTCDay()]}, ${date}`;
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  const tokens = {
    date_num: d.toISOString().slice(0, 10),
    date_slash: `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()}`,
    date,
    date_short: short,
    date_long: long,
    date_long_full: `${month} ${d.getUTCDate()}, ${d.getUTCFullYear()}`,
    date_pretty: relative ?? date,
    date_short_pretty: relative ?? short,
    date_long_pretty: relative ?? long,
    // " UTC" right after the time, wherever the format puts it ("{time_secs} · 4f2a9c1e").
    time: `${hm} UTC`,
    time_secs: `${hm}:${pad(d.getUTCSeconds())} UTC`,
  };
  const text = format.replace(/\{([a-z_]+)\}/g, (whole, name, offset) => {
    const value = tokens[name] ?? whole;
    // "Today 14:02": a relative day that starts the text is capitalized.
    return offset === 0 && relative && value === relative
      ? value[0].toUpperCase() + value.slice(1)
      : value;
  });
  return text;
}

/** Only http(s) and mailto links become clickable. */
export function safeHref(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:", "mailto:"].includes(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function link(url, label) {
  const href = safeHref(url);
  if (!href) return document.createTextNode(label || url);
  const a = el("a", "", label || url);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

/** The emoji shortcodes the formatters use; others stay as `:name:`. */
const EMOJI = {
  fast_forward: "⏩",
  hourglass: "⌛",
  information_source: "ℹ️",
  large_green_circle: "🟢",
  no_entry: "⛔",
  no_entry_sign: "🚫",
  octagonal_sign: "🛑",
  raised_hand: "✋",
  red_circle: "🔴",
  rotating_light: "🚨",
  warning: "⚠️",
  white_check_mark: "✅",
  x: "❌",
};

/** Slack's three escaped characters back to text (api.slack.com/reference/surfaces/formatting). */
export function unescapeSlack(text) {
  return emoji(text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
}

/** Replaces known `:shortcode:` emoji. */
export function emoji(text) {
  return String(text).replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

// Formatting marks count only at word boundaries, as in Slack: UPDATE_ROLLBACK_COMPLETE stays plain.
const TOKEN =
  /(<[^<>\n]+>)|(`[^`\n]+`)|(?<![\w*])(\*[^*\n]+\*)(?![\w*])|(?<![\w_])(_[^_\n]+_)(?![\w_])|(?<![\w~])(~[^~\n]+~)(?![\w~])/g;

/** Renders Slack mrkdwn (bold, italic, strike, code, links, mentions) into `parent`. */
export function renderMrkdwn(text, parent, ctx = {}) {
  const source = String(text ?? "");
  const blocks = source.split("```");
  blocks.forEach((chunk, i) => {
    if (i % 2 === 1) {
      parent.append(el("pre", "code", unescapeSlack(chunk)));
      return;
    }
    inline(chunk, parent, ctx);
  });
  return parent;
}

function inline(text, parent, ctx) {
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    if (match.index > last)
      parent.append(document.createTextNode(unescapeSlack(text.slice(last, match.index))));
    const [token] = match;
    if (match[1]) parent.append(angle(token.slice(1, -1), ctx));
    else if (match[2]) parent.append(el("code", "", unescapeSlack(token.slice(1, -1))));
    else {
      const tag = match[3] ? "strong" : match[4] ? "em" : "s";
      const node = el(tag);
      inline(token.slice(1, -1), node, ctx);
      parent.append(node);
    }
    last = match.index + token.length;
  }
  if (last < text.length) parent.append(document.createTextNode(unescapeSlack(text.slice(last))));
}

function angle(inner, ctx) {
  // The label is everything after the FIRST "|" (api.slack.com, "Formatting text for app
  // surfaces"): "<url|deploy | prod>" is labelled "deploy | prod".
  const bar = inner.indexOf("|");
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? undefined : inner.slice(bar + 1);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return el("span", "mention", `@${ctx.userName?.(id) ?? label ?? id}`);
  }
  if (target.startsWith("#")) return el("span", "mention", `#${label ?? target.slice(1)}`);
  if (target.startsWith("!date^")) {
    // <!date^epoch^format[^link]|fallback>: Slack shows it in the reader's time zone and 12/24-hour
    // preference; the page's reader reads 24-hour UTC, like every other time on the page.
    // The optional link makes the whole date a link (same page, date formatting).
    const [, epochText, format, url] = target.split("^");
    const epoch = Number(epochText);
    const node = el(
      "time",
      "",
      Number.isFinite(epoch) && format
        ? slackDateFormat(new Date(epoch * 1000), format)
        : (label ?? ""),
    );
    if (Number.isFinite(epoch)) node.dateTime = new Date(epoch * 1000).toISOString();
    const href = url ? safeHref(unescapeSlack(url)) : undefined;
    if (!href) return node;
    const a = link(href, " ");
    a.textContent = "";
    a.append(node);
    return a;
  }
  if (target.startsWith("!"))
    return el("span", "mention", `@${label ?? target.slice(1).split("^")[0]}`);
  const url = unescapeSlack(target);
  if (label === undefined) return link(url);
  // A link label is mrkdwn too (e.g. `<url|`abc123`>` shows code).
  const node = safeHref(url) ? link(url, " ") : el("span");
  node.textContent = "";
  inline(label, node, ctx);
  return node;
}

function textObject(obj, parent, ctx) {
  if (!obj) return parent;
  if (obj.type === "mrkdwn") return renderMrkdwn(obj.text, parent, ctx);
  parent.append(
    document.createTextNode(obj.emoji === false ? String(obj.text ?? "") : emoji(obj.text ?? "")),
  );
  return parent;
}

function button(element, block, ctx) {
  const b = el("button", `sk-button ${element.style ?? ""}`.trim(), element.text?.text ?? "button");
  b.type = "button";
  if (element.action_id) b.dataset.actionId = element.action_id;
  if (element.url) {
    const href = safeHref(element.url);
    b.addEventListener("click", () => href && window.open(href, "_blank", "noopener"));
  } else if (ctx.disabledReason) {
    // An interactive button that no longer decides anything (the page says why).
    b.disabled = true;
    b.title = ctx.disabledReason;
    b.classList.add("ended");
  } else {
    b.addEventListener("click", () => ctx.onButton?.(element, block, b));
  }
  return b;
}

/** Renders Slack blocks (header, section, context, actions, divider, image, fallback). */
export function renderBlocks(blocks, ctx = {}) {
  const root = el("div", "blocks");
  for (const block of blocks ?? []) {
    switch (block.type) {
      case "header":
        root.append(el("div", "sk-header", emoji(block.text?.text ?? "")));
        break;
      case "section": {
        const section = el("div", "sk-section");
        const body = el("div", "sk-section-body");
        if (block.text) body.append(textObject(block.text, el("div", "sk-text"), ctx));
        if (Array.isArray(block.fields) && block.fields.length > 0) {
          const fields = el("div", "sk-fields");
          for (const field of block.fields)
            fields.append(textObject(field, el("div", "sk-field"), ctx));
          body.append(fields);
        }
        section.append(body);
        if (block.accessory?.type === "button") section.append(button(block.accessory, block, ctx));
        root.append(section);
        break;
      }
      case "context": {
        const context = el("div", "sk-context");
        for (const element of block.elements ?? []) {
          if (element.type === "image") context.append(el("span", "", element.alt_text ?? ""));
          else context.append(textObject(element, el("span"), ctx));
        }
        root.append(context);
        break;
      }
      case "actions": {
        const actions = el("div", "sk-actions");
        for (const element of block.elements ?? []) {
          if (element.type === "button") actions.append(button(element, block, ctx));
        }
        root.append(actions);
        break;
      }
      case "divider":
        root.append(el("hr", "sk-divider"));
        break;
      case "image":
        root.append(el("div", "sk-context", `[image: ${block.alt_text ?? ""}]`));
        break;
      default:
        root.append(el("pre", "code", JSON.stringify(block, null, 2)));
    }
  }
  return root;
}

/** Renders a Slack message payload: blocks, or the fallback text, plus legacy attachments. */
export function renderSlackMessage(payload, ctx = {}) {
  const root = el("div", "slack-body");
  if (Array.isArray(payload?.blocks) && payload.blocks.length > 0)
    root.append(renderBlocks(payload.blocks, ctx));
  else root.append(renderMrkdwn(payload?.text ?? "", el("div", "sk-text"), ctx));
  for (const attachment of payload?.attachments ?? []) {
    const box = el("div", "sk-attachment");
    if (attachment.color)
      box.style.borderLeftColor = /^#?[0-9a-f]{3,8}$/i.test(attachment.color)
        ? attachment.color.startsWith("#")
          ? attachment.color
          : `#${attachment.color}`
        : "";
    if (attachment.blocks) box.append(renderBlocks(attachment.blocks, ctx));
    if (attachment.text) box.append(renderMrkdwn(attachment.text, el("div", "sk-text"), ctx));
    root.append(box);
  }
  return root;
}

/** A Teams TextBlock's or Fact's Markdown (markdown.js: the subset Adaptive Cards document). */
function adaptiveText(text, parent) {
  return renderMarkdown(text, parent, "teams");
}

function adaptiveElements(items, parent) {
  for (const item of items ?? []) {
    switch (item.type) {
      case "TextBlock": {
        const cls = [
          "ac-text",
          item.weight === "Bolder" ? "bold" : "",
          item.size ? `size-${String(item.size).toLowerCase()}` : "",
          item.color ? `color-${String(item.color).toLowerCase()}` : "",
          item.isSubtle ? "subtle" : "",
        ].join(" ");
        parent.append(adaptiveText(item.text, el("div", cls)));
        break;
      }
      case "FactSet": {
        const table = el("table", "ac-facts");
        for (const fact of item.facts ?? []) {
          const row = el("tr");
          row.append(
            renderMarkdownInline(fact.title, el("th"), "teams"),
            adaptiveText(fact.value, el("td")),
          );
          table.append(row);
        }
        parent.append(table);
        break;
      }
      case "ColumnSet": {
        const row = el("div", "ac-columns");
        for (const column of item.columns ?? [])
          row.append(adaptiveElements(column.items, el("div", "ac-column")));
        parent.append(row);
        break;
      }
      case "Container":
        parent.append(
          adaptiveElements(
            item.items,
            el("div", `ac-container ${item.style ? `style-${item.style}` : ""}`),
          ),
        );
        break;
      case "ActionSet":
        parent.append(adaptiveActions(item.actions));
        break;
      default:
        parent.append(el("pre", "code", JSON.stringify(item, null, 2)));
    }
  }
  return parent;
}

function adaptiveActions(actions) {
  const row = el("div", "sk-actions");
  for (const action of actions ?? []) {
    if (action.url) {
      const a = link(action.url, action.title);
      a.classList?.add("ac-action");
      row.append(a);
    } else row.append(el("span", "ac-action", action.title ?? action.type));
  }
  return row;
}

/** Renders a Teams Workflows message (Adaptive Card attachments). */
export function renderTeams(payload) {
  const root = el("div", "teams-body");
  for (const attachment of payload?.attachments ?? []) {
    const card = attachment.content ?? {};
    const box = el("div", "ac-card");
    adaptiveElements(card.body, box);
    if (card.actions) box.append(adaptiveActions(card.actions));
    root.append(box);
  }
  return root;
}

/**
 * An embed's footer line as Discord shows it: its text, then the embed's `timestamp` (ISO 8601,
 * "timestamp of embed content", https://discord.com/developers/docs/resources/message#embed-object)
 * after a " • ", in the page's way (discordTime, style f); undefined when it has neither.
 */
function discordFooter(embed) {
  const text = embed.footer?.text ? String(embed.footer.text) : "";
  const ms = Date.parse(embed.timestamp ?? "");
  const when = Number.isNaN(ms) ? undefined : discordTime(Math.floor(ms / 1000));
  if (!text && !when) return undefined;
  // One flex item (.sk-context lays out its children apart): the text and its time on one line.
  const line = el("span", "", text);
  if (when) {
    const time = el("time", "", when);
    time.dateTime = new Date(ms).toISOString();
    line.append(text ? " • " : "", time);
  }
  const footer = el("div", "sk-context");
  footer.append(line);
  return footer;
}

/** Renders a Discord webhook message (content and embeds). */
export function renderDiscord(payload) {
  const root = el("div", "discord-body");
  if (payload?.content) root.append(el("div", "sk-text", payload.content));
  for (const embed of payload?.embeds ?? []) {
    const box = el("div", "sk-attachment");
    if (typeof embed.color === "number")
      box.style.borderLeftColor = `#${embed.color.toString(16).padStart(6, "0")}`;
    // Discord renders Markdown in the title (no links: it is one), description and field values.
    if (embed.title) {
      const href = embed.url ? httpHref(embed.url) : undefined;
      const title = href ? link(href, " ") : el("strong", "discord-title");
      title.textContent = "";
      box.append(renderMarkdownInline(embed.title, title, "discord", false));
    }
    if (embed.description)
      box.append(renderMarkdown(embed.description, el("div", "sk-text"), "discord"));
    if (embed.fields?.length) {
      const fields = el("div", "sk-fields");
      for (const field of embed.fields) {
        const f = el("div", "sk-field");
        f.append(
          renderMarkdownInline(field.name, el("strong"), "discord", false),
          renderMarkdown(field.value, el("div"), "discord"),
        );
        fields.append(f);
      }
      box.append(fields);
    }
    const footer = discordFooter(embed);
    if (footer) box.append(footer);
    root.append(box);
  }
  return root;
}
