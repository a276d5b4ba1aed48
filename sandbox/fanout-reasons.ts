/**
 * Why the fan-out reported queue messages failed, from its own log lines: SQS's partial batch
 * response names only the failed messages (`batchItemFailures[].itemIdentifier`, Lambda
 * developer guide, "Handling errors for an SQS event source"), so the reason is in what the
 * fan-out logged for them: `record done` with `status: "retry"` and its channels' reasons
 * (handlers/fanout/handler.ts, deliver.ts `ChannelOutcome`), or `record failed` with `error`
 * (a record that threw). Each line is one JSON object (handlers/telemetry.ts).
 */

/** At most this many characters of a reason go on a terminal line (the rest is cut with "…"). */
export const REASON_MAX_CHARS = 240;

/** One channel's outcome as the fan-out logs it in `record done`. */
interface LoggedChannel {
  channel?: unknown;
  status?: unknown;
  reason?: unknown;
}

/** `text` on one line (whitespace runs as one space), cut to `max` characters with "…". */
export function oneLine(text: string, max = REASON_MAX_CHARS): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** `reason`, prefixed with `channel` unless it names it already ("slack slack-eng: …"). */
function withChannel(channel: unknown, reason: string): string {
  return typeof channel === "string" && channel && !reason.includes(channel)
    ? `${channel}: ${reason}`
    : reason;
}

/** The reason of one logged line for its message, if it reports a failure with one. */
function reasonOf(line: Record<string, unknown>): string | undefined {
  if (line.message === "record failed" && typeof line.error === "string") return line.error;
  // At ERROR level: what is left when the log level hides `record done` (INFO).
  if (line.message === "delivery failed" && typeof line.error === "string")
    return withChannel(line.channel, line.error);
  if (line.message !== "record done" || line.status !== "retry") return undefined;
  const channels = Array.isArray(line.channels) ? (line.channels as LoggedChannel[]) : [];
  const reasons = channels
    .filter((c) => c.status !== "sent" && typeof c.reason === "string" && c.reason !== "")
    .map((c) => withChannel(c.channel, String(c.reason)));
  return reasons.length > 0 ? reasons.join("; ") : undefined;
}

/**
 * The reasons the fan-out's log `text` (JSON lines; others are skipped) gives for the messages
 * `ids`, by message id, each on one line ({@link oneLine}): its `record done` line's, else its
 * `delivery failed` lines' joined. A message the log says nothing about is absent.
 */
export function fanoutFailureReasons(text: string, ids: Iterable<string>): Map<string, string> {
  const wanted = new Set(ids);
  const done = new Map<string, string>();
  const failed: Record<string, string[]> = {};
  for (const raw of text.split("\n")) {
    if (!raw.startsWith("{")) continue;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      continue;
    }
    const id = line.messageId;
    if (typeof id !== "string" || !wanted.has(id)) continue;
    const reason = reasonOf(line);
    if (!reason) continue;
    if (line.message === "delivery failed") (failed[id] ??= []).push(reason);
    else done.set(id, reason);
  }
  const reasons = new Map<string, string>();
  for (const id of wanted) {
    const reason = done.get(id) ?? failed[id]?.join("; ");
    if (reason) reasons.set(id, oneLine(reason));
  }
  return reasons;
}
