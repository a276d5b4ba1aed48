/**
 * Where a pipeline lives, in the words of every medium (issue 14): a pipeline is (account,
 * region, name), so messages name its account (the alias from config `sources[].alias`, else the
 * id) and region when it is not in the notifier's own account and region, or whenever the stack
 * has sources (`Notification.showOrigin`, set by fanout/plan.ts). A console link opens the right
 * region (events/normalize.ts `consoleUrl`) but cannot switch accounts: the console shows the
 * account the reader is signed in to, so the message names the account to switch to.
 * Re-exported by common.ts.
 */
import type { Notification } from "../types";

/**
 * The pipeline's account in words: its alias with the id (`payments-prod (111122223333)`) when
 * config `sources[].alias` names it, else the id. The id stays: it is what the console's account
 * switcher asks for.
 */
export function accountWords(n: Pick<Notification, "account" | "accountAlias">): string {
  return n.accountAlias ? `${n.accountAlias} (${n.account})` : n.account;
}

/** The "Account / region" field of the rich formats: `payments-prod (111122223333) / eu-west-1`. */
export function accountRegion(
  n: Pick<Notification, "account" | "accountAlias" | "region">,
): string {
  return `${accountWords(n)} / ${n.region}`;
}

/**
 * Where the pipeline lives, for the one-line texts (issue 14): `payments-prod, eu-west-1` (the
 * alias, else the account id, and the region) when messages name it (`n.showOrigin`: the pipeline
 * is not in the notifier's own account and region, or the stack has sources); else undefined. A
 * console link opens the right region but cannot switch accounts: this is how a reader knows
 * which account to sign in to.
 */
export function originOf(
  n: Pick<Notification, "account" | "accountAlias" | "region" | "showOrigin">,
): string | undefined {
  if (!n.showOrigin) return undefined;
  return `${n.accountAlias || n.account || "unknown account"}, ${n.region}`;
}

/** The pipeline's name, with {@link originOf} when messages name it: `deploy-api (payments-prod, eu-west-1)`. */
export function pipelineLabel(n: Notification): string {
  const origin = originOf(n);
  return origin ? `${n.pipeline} (${origin})` : n.pipeline;
}
