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
 * Refused SNS publishes of a channel, from the fan-out's audit trail: the SNS stand-in logs only
 * accepted ones. A `retried` item is an attempt that failed and was retried within the
 * invocation, a `failed` item the attempt that ended it.
 */
function snsFailures(audit: Array<Record<string, unknown>>, channel: string): number {
  return audit.filter(
    (a) => a.channel === channel && (a.action === "failed" || a.action === "retried"),
  ).length;
}

/**
 * Totals per configured channel from every delivery attempt (attributed to channels) and the
 * audit trail (a `suppressed` item counts for its channel or each channel it lists; SMS and
 * email failures come from it too).
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
    failedAttempts:
      attempts.filter((a) => a.channel === name && !a.delivered).length +
      (c.type === "sms" || c.type === "email" ? snsFailures(audit, name) : 0),
    suppressed: audit.filter((a) => {
      if (a.action !== "suppressed") return false;
      const listed = (a.detail as { channels?: unknown } | undefined)?.channels;
      return a.channel === name || (Array.isArray(listed) && listed.includes(name));
    }).length,
  }));
}

/**
 * Renders the end-of-scenario summary table. `report` holds the steps played; `total` (default:
 * as many) is how many the scenario has, so a run cut short (Ctrl-C) says how far it got.
 * Without a report (no scenario was played), the steps line says so.
 */
export function formatSummary(
  rows: ChannelSummary[],
  report: ScenarioReport | undefined,
  queueInfo: { retried: number; dlq: number },
  total: number = report?.steps.length ?? 0,
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
  const cut = report !== undefined && report.steps.length < total;
  return [
    "",
    report
      ? `summary — ${report.name}${cut ? ` (interrupted after ${report.steps.length} of ${total} steps)` : ""}`
      : "summary — no scenario played",
    line(header),
    line(widths.map((w) => "─".repeat(w))),
    ...body.map(line),
    `queue: ${queueInfo.retried} redeliveries (retries), ${queueInfo.dlq} in the DLQ`,
    report ? stepsLine(report, total) : "steps: none played",
  ].join("\n");
}

/** "steps: 3/18 ended as expected; …": the steps played, how they ended, and those not played. */
function stepsLine(report: ScenarioReport, total: number): string {
  const failed = report.steps.filter((s) => !s.ok && !s.explainedBy);
  const explained = report.steps.filter((s) => !s.ok && s.explainedBy);
  const ok = report.steps.length - failed.length - explained.length;
  const faults = [...new Set(explained.map((s) => s.explainedBy))].join(", ");
  const notPlayed = total - report.steps.length;
  return (
    `steps: ${ok}/${report.steps.length} ended as expected` +
    (explained.length
      ? `; ${explained.length} did not because of your fault ${faults} (expected)`
      : "") +
    (failed.length ? ` — failed: ${failed.map((s) => s.name).join("; ")}` : "") +
    (notPlayed > 0 ? `; ${notPlayed} not played` : "")
  );
}
