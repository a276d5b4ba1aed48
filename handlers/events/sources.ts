/**
 * Which accounts and regions the fan-out takes events from (issue 14): the notifier's own account
 * and region (`HOME_ACCOUNT`, `AWS_REGION`: contracts/pipeline-id.ts `isHome`), and each
 * configured source account in each of its regions (config key `sources`). Anything else is
 * refused before routing: the central bus's policy admits only the configured accounts, but a
 * policy edited by hand, an organization-wide `aws:PrincipalOrgID` grant or a forwarding rule
 * left behind in a removed account would otherwise reach channels and keys nobody configured.
 * A refusal is audited as rejected input with its reason, counted, and never retried (retrying
 * cannot make an account configured).
 *
 * Also what messages say about where a pipeline lives: its account's alias when configured, and
 * whether to name the account at all (channels/common.ts `originOf`; set on the notification by fanout/plan.ts).
 */
import { isHome, pipelineKeyOf } from "../contracts/pipeline-id";
import type { RuntimeConfig, SourceAccount } from "../types";
import type { CodePipelineEvent, ParseResult } from "./model";

/** A refused event's account, or words for a missing one. */
function accountWords(account: string): string {
  return account === "" ? "(missing)" : account;
}

/**
 * Why an event from `account` / `region` is not admitted, or undefined when it is: the home
 * account and region, or a configured source account in one of its `regions`. The reason names
 * the config key, e.g. `account 999999999999 is not a configured source (config key sources)`.
 */
export function sourceRefusal(
  ev: Pick<CodePipelineEvent, "account" | "region">,
  sources: SourceAccount[] | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (isHome(ev, env)) return undefined;
  const list = sources ?? [];
  const index = list.findIndex((s) => s.account === ev.account);
  if (index < 0) {
    return `account ${accountWords(ev.account)} is not a configured source (config key sources)`;
  }
  if (list[index].regions.includes(ev.region)) return undefined;
  return (
    `region ${ev.region} of account ${ev.account} is not a configured source region` +
    ` (config key sources[${index}].regions)`
  );
}

/**
 * `parsed` unchanged, unless it is an event from an account or region that is not admitted
 * ({@link sourceRefusal}): then a failed result of kind `unconfigured-source` that keeps the
 * event's identifiers for its audit record (`pipeline` is its {@link pipelineKeyOf}, so the
 * refusal is filed under the pipeline's ARN, never under a same-named home pipeline).
 */
export function admitSource(
  parsed: ParseResult,
  config: Pick<RuntimeConfig, "sources">,
  env: NodeJS.ProcessEnv = process.env,
): ParseResult {
  if (!parsed.ok) return parsed;
  const ev = parsed.event;
  const reason = sourceRefusal(ev, config.sources, env);
  if (reason === undefined) return parsed;
  return {
    ok: false,
    kind: "unconfigured-source",
    reason,
    pipeline: pipelineKeyOf(ev, env),
    executionId: ev.executionId,
    eventId: ev.id,
    account: ev.account,
    region: ev.region,
  };
}

/**
 * What messages say about where a pipeline lives: `showOrigin` when they must name the account
 * and region — the pipeline is not in the notifier's own account and region, or the stack has
 * sources (then every message names its account, home included, so that two same-named
 * pipelines are never mistaken for one) — and the account's configured alias.
 */
export function originFields(
  ev: Pick<CodePipelineEvent, "account" | "region">,
  config: Pick<RuntimeConfig, "sources">,
  env: NodeJS.ProcessEnv = process.env,
): { showOrigin?: true; accountAlias?: string } {
  const sources = config.sources ?? [];
  const alias = sources.find((s) => s.account === ev.account)?.alias;
  const show = sources.length > 0 || !isHome(ev, env);
  return { ...(show && { showOrigin: true as const }), ...(alias && { accountAlias: alias }) };
}
