/**
 * What a notification says happened, in one line (every medium's title or header): the words of
 * the kind kept whole, the names (pipeline, stage/action, who decided) the parts a line cut to
 * fit may shorten (slack-text.ts `fitLine`).
 */
import { fitLine, type LinePiece } from "../slack-text";
import type { Notification } from "../types";
import { approvalTimeoutWords, retryAttempt, rollbackWords } from "./lifecycle";
import { pipelineLabel } from "./origin";

/** "Stage/Action", "Stage", or undefined for pipeline-level notifications. */
export function whereOf(n: Notification): string | undefined {
  if (n.stage && n.action) return `${n.stage}/${n.action}`;
  return n.stage ?? n.action;
}

/**
 * One human sentence saying what happened, in the kind's own words: a rejection is "Rejected
 * by …" and never "failed"; an expired approval is "approval expired — no decision in 7 days";
 * a retried stage that fails again "failed again (attempt 2)"; a rollback says what it rolled
 * back to; superseded/canceled/stopped are reported for what they are (STOPPING is "stopping":
 * stop and wait runs its actions to their end, userguide pipelines-stop.html). The pipeline is
 * named with its account and region when messages name them ({@link pipelineLabel}).
 */
export function headline(n: Notification): string {
  return headlinePieces(n)
    .map((p) => (typeof p === "string" ? p : p.cut))
    .join("");
}

/**
 * {@link headline} cut to at most `max` characters as `fitLine` cuts: the names are shortened
 * (who decided in its middle, an ARN's session name kept: slack-text.ts `truncatePath`), never the
 * words that say what happened, nor a suffix such as "(attempt 2)".
 */
export function fitHeadline(n: Notification, prefix: string, max: number): string {
  return fitLine([prefix, ...headlinePieces(n)], max);
}

/** {@link headline} in `fitLine` pieces: the names are `{ cut }`, the words strings. */
function headlinePieces(n: Notification): LinePiece[] {
  const where = whereOf(n);
  const p = { cut: pipelineLabel(n) };
  const at: LinePiece[] = where ? [" at ", { cut: where }] : [];
  const rollback = rollbackWords(n, true);
  switch (n.kind) {
    case "failure": {
      if (rollback) return [p, `: ${rollback} — the rollback failed`, ...at];
      const attempt = retryAttempt(n);
      return [p, attempt ? ` failed again (attempt ${attempt})` : " failed", ...at];
    }
    case "rejection":
      return [p, ": Rejected by ", { cut: n.decidedBy ?? "an approver", path: true }, ...at];
    case "success":
      return [p, rollback ? `: ${rollback} (succeeded)` : " succeeded"];
    case "approval-request": {
      const attempt = retryAttempt(n);
      return [p, ": approval needed", ...at, ...(attempt ? [` (attempt ${attempt})`] : [])];
    }
    case "approval-expired":
      return [p, `: approval expired — no decision in ${approvalTimeoutWords(n)}`, ...at];
    case "superseded":
      return [p, ": superseded — replaced by a newer execution"];
    case "canceled":
      return [p, " canceled", ...at];
    case "stopped":
      return [p, n.state === "STOPPING" ? " stopping" : " stopped", ...at];
    case "status":
      return [p, `: ${String(n.state).toLowerCase()}`, ...at];
    default: {
      const never: never = n.kind;
      return [p, `: ${String(never)}`];
    }
  }
}
