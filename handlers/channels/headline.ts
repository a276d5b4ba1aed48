/**
 * What a notification says happened, in one line (every medium's title or header): the words of
 * the kind kept whole, the names (pipeline, stage/action, who decided) the parts a line cut to
 * fit may shorten (slack-text.ts `fitLine`).
 */
import { fitLine, type LinePiece } from "../slack-text";
import type { Notification } from "../types";
import type { Fitter } from "./common";
import { approvalTimeoutWords, retryAttempt, rollbackWords } from "./lifecycle";
import { originOf } from "./origin";

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
 * named with its account and region when messages name them (origin.ts `pipelineLabel`).
 */
export function headline(n: Notification): string {
  return headlinePieces(n)
    .map((p) => (typeof p === "string" ? p : p.cut))
    .join("");
}

/** How a medium writes its title: what leads it (Slack's emoji) and its Markdown escaping. */
export interface TitleForm {
  /** Kept whole before the headline, e.g. ":x: ". Default "". */
  prefix?: string;
  /** The medium's escaping of text that did not come from us (markdown.ts). Default: none. */
  escape?: (text: string) => string;
}

/**
 * {@link headline} as a medium's title of at most `max` characters (UTF-16 code units, never
 * fewer than the characters a medium counts), cut as `fitLine` cuts: the names are shortened (who
 * decided in its middle, an ARN's session name kept: slack-text.ts `truncatePath`), never the
 * words that say what happened, nor a suffix such as "(attempt 2)". `form.escape` is applied
 * after the cut, so that no cut splits an escape pair and what is measured is what is sent; when
 * escaping makes the line longer than `max`, the names are cut by as much more. Records `field`
 * in `f` when the title is not the whole headline.
 */
export function fitHeadline(
  f: Fitter,
  field: string,
  n: Notification,
  max: number,
  form: TitleForm = {},
): string {
  const { prefix = "", escape = (text: string) => text } = form;
  const pieces = [prefix, ...headlinePieces(n)];
  let room = max;
  let line = escape(fitLine(pieces, room));
  // Each pass shortens the room by the escapes' excess; at 1 the line is "…" (fitLine).
  while (line.length > max && room > 1) {
    room = Math.max(1, room - (line.length - max));
    line = escape(fitLine(pieces, room));
  }
  if (line !== escape(prefix + headline(n)) && !f.truncated.includes(field))
    f.truncated.push(field);
  return line;
}

/**
 * {@link headline} in `fitLine` pieces: the names are `{ cut }`, the words strings. The pipeline
 * and where it lives (origin.ts `pipelineLabel`), and the stage and action ({@link whereOf}), are
 * cut each on its own, so that a long pipeline name leaves its account and region, and a long
 * stage its action: "payments_check… (payments-prod, eu-west-1) at Approve_Prod…/ManualApproval".
 */
function headlinePieces(n: Notification): LinePiece[] {
  const origin = originOf(n);
  const p: LinePiece[] = [{ cut: n.pipeline }, ...(origin ? [" (", { cut: origin }, ")"] : [])];
  const where: LinePiece[] =
    n.stage && n.action
      ? [{ cut: n.stage }, "/", { cut: n.action }]
      : whereCut(n.stage ?? n.action);
  const at: LinePiece[] = where.length > 0 ? [" at ", ...where] : [];
  const rollback = rollbackWords(n, true);
  switch (n.kind) {
    case "failure": {
      if (rollback) return [...p, `: ${rollback} — the rollback failed`, ...at];
      const attempt = retryAttempt(n);
      return [...p, attempt ? ` failed again (attempt ${attempt})` : " failed", ...at];
    }
    case "rejection":
      return [...p, ": Rejected by ", { cut: n.decidedBy ?? "an approver", path: true }, ...at];
    case "success":
      return [...p, rollback ? `: ${rollback} (succeeded)` : " succeeded"];
    case "approval-request": {
      const attempt = retryAttempt(n);
      return [...p, ": approval needed", ...at, ...(attempt ? [` (attempt ${attempt})`] : [])];
    }
    case "approval-expired":
      return [...p, `: approval expired — no decision in ${approvalTimeoutWords(n)}`, ...at];
    case "superseded":
      return [...p, ": superseded — replaced by a newer execution"];
    case "canceled":
      return [...p, " canceled", ...at];
    case "stopped":
      return [...p, n.state === "STOPPING" ? " stopping" : " stopped", ...at];
    case "status":
      return [...p, `: ${String(n.state).toLowerCase()}`, ...at];
    default: {
      const never: never = n.kind;
      return [...p, `: ${String(never)}`];
    }
  }
}

/** A stage's or an action's name as a piece to cut; none when there is no name. */
function whereCut(name: string | undefined): LinePiece[] {
  return name ? [{ cut: name }] : [];
}
