/**
 * The one answer to "is this an absolute http(s) URL?", for the event parser, the channel
 * drivers, the HTTP client, the approval Lambda and deploy-time config validation.
 *
 * WHATWG URL parsing (Node's `URL`), not a regular expression: it is what `http.request` itself
 * does with the string, so a URL accepted here is one that can be requested.
 */

/** Longest external link kept; Slack rejects button URLs over 3000 characters. */
export const MAX_URL_CHARS = 3000;

/** What {@link checkHttpUrl} found: the parsed URL, or why the text is not an http(s) URL. */
export type HttpUrlCheck =
  | { ok: true; url: URL }
  | { ok: false; problem: "unparsable" }
  | { ok: false; problem: "scheme"; protocol: string };

/**
 * Parses `raw` as an absolute URL and checks that its scheme is `http:` or `https:`. Never
 * throws. Whitespace around the text is ignored, as `URL` does.
 */
export function checkHttpUrl(raw: string): HttpUrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: "unparsable" };
  }
  return url.protocol === "https:" || url.protocol === "http:"
    ? { ok: true, url }
    : { ok: false, problem: "scheme", protocol: url.protocol };
}

/** `raw` parsed, when it is an absolute http(s) URL; else undefined (see {@link checkHttpUrl}). */
export function parseHttpUrl(raw: string): URL | undefined {
  const checked = checkHttpUrl(raw);
  return checked.ok ? checked.url : undefined;
}

/** True when `raw` is a string holding an absolute http(s) URL (see {@link checkHttpUrl}). */
export function isHttpUrl(raw: unknown): raw is string {
  return typeof raw === "string" && checkHttpUrl(raw).ok;
}

/**
 * Returns the URL when it is an absolute http(s) URL, with any user info removed, and
 * percent-encoded so that `<`, `>` and spaces cannot break a channel's link syntax. Anything else
 * (`javascript:`, `data:`, relative, unparsable, longer than {@link MAX_URL_CHARS}) is dropped.
 */
export function safeHttpUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const url = parseHttpUrl(raw.trim());
  if (url === undefined) return undefined;
  url.username = "";
  url.password = "";
  return url.href.length <= MAX_URL_CHARS ? url.href : undefined;
}
