/**
 * Slack mrkdwn escaping (api.slack.com, "Formatting text for app surfaces"): `&`, `<` and `>`
 * in any text that did not come from us, so that `<!channel>`, `<@U…>` or `<https://x|label>` in
 * a commit message or build summary stays inert.
 */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Cuts `text` to at most `max` characters, marking the cut visibly with "…", and reports whether
 * it cut. Never splits a surrogate pair or an escape entity like `&amp;`.
 */
export function truncateText(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  let cut = Math.max(0, max - 1);
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  const amp = text.lastIndexOf("&", cut - 1);
  if (amp >= 0 && amp > cut - 6 && text.indexOf(";", amp) >= cut) cut = amp;
  return { text: text.slice(0, cut) + "…", truncated: true };
}
