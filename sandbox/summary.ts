/**
 * The end-of-scenario summary in the terminal: per channel instance, what was delivered,
 * suppressed by a downtime window and refused by the receiver, then the queue and step totals.
 */
import type { RuntimeConfig } from "../handlers/types";
import type { ScenarioReport } from "./scenario";

/** Per-channel totals for the summary. */
export interface ChannelSummary {
  channel: string;
  type: string;
  delivered: number;
  failedAttempts: number;
  suppressed: number;
}

/**
 * Totals per configured channel from every delivery attempt (attributed to channels) and the
 * audit trail (a `suppressed` item counts for its channel or each channel it lists).
 */
export function summarizeChannels(
  runtime: RuntimeConfig,
  attempts: Array<{ channel: string; delivered: boolean }>,
  audit: Array<Record<string, unknown>>,
): ChannelSummary[] {
  return Object.entries(runtime.channels).map(([name, c]) => ({
    channel: name,
    type: c.type,
    delivered: attempts.filter((a) => a.channel === name && a.delivered).length,
    failedAttempts: attempts.filter((a) => a.channel === name && !a.delivered).length,
    suppressed: audit.filter((a) => {
      if (a.action !== "suppressed") return false;
      const listed = (a.detail as { channels?: unknown } | undefined)?.channels;
      return a.channel === name || (Array.isArray(listed) && listed.includes(name));
    }).length,
  }));
}

/** Renders the end-of-scenario summary table. */
export function formatSummary(
  rows: ChannelSummary[],
  report: ScenarioReport,
  queueInfo: { retried: number; dlq: number },
): string {
  const header = ["channel", "type", "delivered", "suppressed", "failed attempts"];
  const body = rows.map((r) => [
    r.channel,
    r.type,
    String(r.delivered),
    String(r.suppressed),
    String(r.failedAttempts),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  const failed = report.steps.filter((s) => !s.ok);
  return [
    "",
    `summary — ${report.name}`,
    line(header),
    line(widths.map((w) => "─".repeat(w))),
    ...body.map(line),
    `queue: ${queueInfo.retried} redeliveries (retries), ${queueInfo.dlq} in the DLQ`,
    `steps: ${report.steps.length - failed.length}/${report.steps.length} ended as expected${failed.length ? ` — failed: ${failed.map((s) => s.name).join("; ")}` : ""}`,
  ].join("\n");
}
