/**
 * Which pipeline rule from stack config applies to a pipeline, which is (account, region, name)
 * since issue 14: a selector may name an account and/or a region, and then matches only there.
 *
 * Precedence: the most specific matching rule wins, compared in this order —
 * 1. the name: an exact `name` beats any `prefix`, and a longer prefix beats a shorter one
 *    (`prod-payments-` refines `prod-`);
 * 2. then the place: a rule with both `account` and `region` beats one with only `account`, which
 *    beats one with only `region`, which beats one with neither;
 * 3. between rules equally specific in both, the first in config order.
 * So `{ name: deploy-api, account: <prod> }` (critical) and `{ name: deploy-api, account:
 * <sandbox> }` (quiet) tier one pipeline name differently per account, a plain `{ name: deploy-api }`
 * still covers every other admitted account, and `{ prefix: team-, account: <sandbox> }` loses to
 * `{ name: team-api }` (the name says more about the pipeline than the place).
 */
import type { PipelineMatch, PipelineRule } from "./types";

/** The pipeline a rule is looked up for: its name, and where it lives when known. */
export interface PipelineLookup {
  pipeline: string;
  /** 12-digit account id; unknown (undefined) matches only rules without `account`. */
  account?: string;
  /** AWS region; unknown (undefined) matches only rules without `region`. */
  region?: string;
}

/**
 * How specifically `match` selects `p`, or undefined when it does not match: compared as a tuple,
 * name first (exact: Infinity, prefix: its length), then place (account 2 + region 1).
 */
export function matchSpecificity(
  match: PipelineMatch,
  p: PipelineLookup,
): [name: number, place: number] | undefined {
  if (match.account !== undefined && match.account !== p.account) return undefined;
  if (match.region !== undefined && match.region !== p.region) return undefined;
  let name: number;
  if ("name" in match) {
    if (match.name !== p.pipeline) return undefined;
    name = Number.POSITIVE_INFINITY;
  } else {
    if (!p.pipeline.startsWith(match.prefix)) return undefined;
    name = match.prefix.length;
  }
  const place = (match.account !== undefined ? 2 : 0) + (match.region !== undefined ? 1 : 0);
  return [name, place];
}

/**
 * The configured rule of a pipeline (see the precedence above). `pipeline` is the name alone
 * (then only rules without `account` / `region` can match: a caller that does not know where the
 * pipeline lives must not get a rule written for one account), or the name with its account and
 * region, e.g. a notification or a parsed event.
 */
export function findPipelineRule(
  pipelines: PipelineRule[],
  pipeline: string | PipelineLookup,
): PipelineRule | undefined {
  const p: PipelineLookup = typeof pipeline === "string" ? { pipeline } : pipeline;
  let best: { rule: PipelineRule; name: number; place: number } | undefined;
  for (const rule of pipelines) {
    const s = matchSpecificity(rule.match, p);
    if (!s) continue;
    const [name, place] = s;
    if (!best || name > best.name || (name === best.name && place > best.place)) {
      best = { rule, name, place };
    }
  }
  return best?.rule;
}
