/**
 * The one way an instant reads for people in plain text, in every medium: "2026-12-01 14:02 UTC"
 * (minutes, 24-hour, UTC). Slack wraps it in its `<!date>` as the fallback (slack-text.ts
 * `humanTime` / `slackTime`); Teams' facts, email and the Slack header use it as it is. Audit
 * records and machine payloads (webhook, PagerDuty) keep ISO 8601.
 */

/** "2026-12-01 14:02 UTC" for an ISO 8601 instant; undefined when it does not parse. */
export function utcMinute(iso: string): string | undefined {
  const ms = Date.parse(iso);
  return Number.isNaN(ms)
    ? undefined
    : `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
