/**
 * Redaction of secrets from anything that reaches an error or a log line: channel webhook URLs
 * carry their credentials in the path or query, and providers echo them back in error bodies.
 */

// scheme://[userinfo@]host[:port] then path/query/fragment; `|` and `>` end Slack-style links.
const URL_PATTERN =
  /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@"'<>|]*@)?([^\s/?#"'<>|]+)([^\s"'<>|]*)/gi;

/**
 * The forms a secret can take in a response body or an error: as is, URL- and JSON-encoded, and,
 * for a secret URL, its path and query and their long parts (a server may echo the request line).
 */
function secretForms(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
  let url: URL | undefined;
  try {
    url = new URL(secret);
  } catch {
    url = undefined; // not a URL: the plain forms are all there is
  }
  if (url) {
    if (url.username) forms.push(url.username);
    if (url.password) forms.push(url.password);
    if (url.pathname.length > 1 || url.search) {
      forms.push(url.pathname + url.search, url.pathname, url.search.slice(1));
    }
    for (const part of [...url.pathname.split("/"), ...url.searchParams.values()]) {
      if (part.length >= 16) forms.push(part, encodeURIComponent(part));
    }
  }
  return forms.filter((f) => f.length >= 4 && f !== "/");
}

/**
 * Removes every secret value (also URL- and JSON-encoded, and a secret URL's path and query) and
 * every URL's credentials, path, query and fragment (keeping scheme and host) from `text`. Apply
 * to anything that goes into an error message or a log line.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  const forms = formsOf(secrets);
  let out = text;
  for (const form of forms) out = out.split(form).join(REDACTED);
  return out.replace(URL_PATTERN, (_m, scheme: string, host: string, rest: string) =>
    rest.length > 0 ? `${scheme}${host}/${REDACTED}` : `${scheme}${host}`,
  );
}

/** What a secret becomes in redacted text. */
const REDACTED = "[redacted]";

/** Shortest secret prefix worth hiding: shorter ones match ordinary words. */
const MIN_SECRET_CHARS = 4;

/** Every form of every secret, longest first, so a form that contains another is removed whole. */
function formsOf(secrets: readonly (string | undefined)[]): string[] {
  return secrets
    .filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_CHARS)
    .flatMap(secretForms)
    .sort((a, b) => b.length - a.length);
}

/**
 * `text` without a trailing beginning of a secret form (at least {@link MIN_SECRET_CHARS} long):
 * text that was cut before it reached us (a capped response body, an SDK message) can end in the
 * first characters of a secret that {@link redact} cannot recognize whole.
 */
function withoutSecretTail(text: string, forms: readonly string[]): string {
  for (const form of forms) {
    for (let k = Math.min(form.length - 1, text.length); k >= MIN_SECRET_CHARS; k--) {
      if (text.endsWith(form.slice(0, k))) return `${text.slice(0, text.length - k)}${REDACTED}`;
    }
  }
  return text;
}

/** Cuts at `max` UTF-16 code units without splitting a surrogate pair (a lone half is not text). */
function cutCodeUnits(text: string, max: number): string {
  let end = Math.max(0, max);
  const code = text.charCodeAt(end - 1);
  if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/**
 * The one way error text is shortened for logs, the audit trail, the ledger and DLQ reasons:
 * redact first ({@link redact}, plus any beginning of a secret that the text already ends in),
 * then collapse whitespace to single spaces, then cut to at most `max` characters (the cut
 * marked with "…", counted in `max`; never inside a surrogate pair). Cutting first would let the
 * beginning of a secret that straddles the cut through, since only whole secrets are recognized:
 * a 32-character key starting 21 characters before a 200-character cut kept its first 21.
 */
export function redactAndCut(
  text: string,
  secrets: readonly (string | undefined)[],
  max: number,
): string {
  const forms = formsOf(secrets);
  const clean = withoutSecretTail(redact(text, secrets), forms).replace(/\s+/g, " ").trim();
  if (clean.length <= max) return clean;
  return `${cutCodeUnits(clean, max - 1)}…`;
}
