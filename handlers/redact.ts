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
  const forms = secrets
    .filter((s): s is string => typeof s === "string" && s.length >= 4)
    .flatMap(secretForms)
    // Longest first, so a form that contains another is removed whole.
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) out = out.split(form).join("[redacted]");
  return out.replace(URL_PATTERN, (_m, scheme: string, host: string, rest: string) =>
    rest.length > 0 ? `${scheme}${host}/[redacted]` : `${scheme}${host}`,
  );
}
