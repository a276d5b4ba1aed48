/**
 * EventBridge rule patterns and IAM resource lists generated from stack config.
 *
 * The number of resources never grows with the number of pipelines: one rule carries every
 * pipeline, and when the exact list would not fit EventBridge's pattern size limit, names are
 * folded into shared prefixes (and, as a last resort, the pipeline filter is dropped). The
 * fan-out Lambda routes precisely either way, so folding only costs a few ignored invocations.
 */
import { CODEPIPELINE_SOURCE, DETAIL_TYPE } from "../handlers/contracts/codepipeline";
import type { PipelineRule, PipelineState, RuntimeConfig } from "../handlers/types";

/** Default EventBridge event pattern size quota, in characters (adjustable to 4096). */
export const EVENT_PATTERN_MAX_CHARS = 2048;

/** An EventBridge string matcher: an exact value or `{ prefix }`. */
export type Matcher = string | { prefix: string };

/** The folded pipeline selectors of one group, and how exact they still are. */
export interface FoldedMatchers {
  /** `undefined` means "no pipeline filter" (every pipeline). */
  matchers: Matcher[] | undefined;
  /** `exact`: names as configured; `prefix-N`: names folded to their first N characters; `all`. */
  precision: string;
}

function matchersOf(rules: PipelineRule[]): Matcher[] {
  const names = rules.flatMap((r) => ("name" in r.match ? [r.match.name] : []));
  const prefixes = rules.flatMap((r) => ("prefix" in r.match ? [r.match.prefix] : []));
  return normalizeMatchers(names, prefixes);
}

/** Sorted, deduplicated, with names and prefixes already covered by a shorter prefix removed. */
function normalizeMatchers(names: string[], prefixes: string[]): Matcher[] {
  const uniquePrefixes = [...new Set(prefixes)]
    .sort((a, b) => a.length - b.length || a.localeCompare(b))
    .filter((p, i, all) => !all.slice(0, i).some((q) => p.startsWith(q)));
  const covered = (s: string) => uniquePrefixes.some((p) => s.startsWith(p));
  const exact = [...new Set(names)].filter((n) => !covered(n)).sort();
  return [...exact, ...uniquePrefixes.sort().map((prefix) => ({ prefix }))];
}

/** Folds exact names into prefixes of `length` characters (names that short stay exact). */
function foldTo(matchers: Matcher[], length: number): Matcher[] {
  const names: string[] = [];
  const prefixes: string[] = [];
  for (const m of matchers) {
    if (typeof m === "string") {
      if (m.length > length) prefixes.push(m.slice(0, length));
      else names.push(m);
    } else prefixes.push(m.prefix.length > length ? m.prefix.slice(0, length) : m.prefix);
  }
  return normalizeMatchers(names, prefixes);
}

/**
 * Finds the most precise matchers for which `render(matchers)` fits `maxChars`: exact names first,
 * then shorter and shorter shared prefixes, then no filter at all.
 */
export function foldToFit(
  matchers: Matcher[],
  render: (m: Matcher[] | undefined) => string,
  maxChars: number,
): FoldedMatchers {
  if (render(matchers).length <= maxChars) return { matchers, precision: "exact" };
  const longest = Math.max(
    0,
    ...matchers.map((m) => (typeof m === "string" ? m.length : m.prefix.length)),
  );
  for (let length = longest - 1; length >= 1; length--) {
    const folded = foldTo(matchers, length);
    if (render(folded).length <= maxChars)
      return { matchers: folded, precision: `prefix-${length}` };
  }
  return { matchers: undefined, precision: "all" };
}

/** One branch of the rule: which pipelines, at which level, in which states. */
interface Branch {
  detailTypes: string[];
  rules: PipelineRule[];
  states: string[];
  extra?: Record<string, unknown>;
}

function branches(config: RuntimeConfig): Branch[] {
  const out: Branch[] = [];
  // Pipeline-level events, grouped by identical state sets so that each group filters exactly.
  const byStates = new Map<string, { states: PipelineState[]; rules: PipelineRule[] }>();
  for (const rule of config.pipelines) {
    const states = [...rule.states];
    // A pipeline routed to PagerDuty must let SUCCEEDED through: it resolves the open incident.
    if (routesToPagerDuty(config, rule) && !states.includes("SUCCEEDED")) states.push("SUCCEEDED");
    states.sort();
    const k = states.join(",");
    const group = byStates.get(k) ?? { states, rules: [] };
    group.rules.push(rule);
    byStates.set(k, group);
  }
  for (const group of byStates.values()) {
    out.push({ detailTypes: [DETAIL_TYPE.pipeline], rules: group.rules, states: group.states });
  }
  // Stage and action FAILED events carry the failing action and its summary: the fan-out folds
  // them with the pipeline FAILED into one message per execution and outcome.
  const failing = config.pipelines.filter((r) => r.states.includes("FAILED"));
  if (failing.length > 0) {
    out.push({
      detailTypes: [DETAIL_TYPE.stage, DETAIL_TYPE.action],
      rules: failing,
      states: ["FAILED"],
    });
  }
  // Manual approvals waiting for a decision, and their runs' ends: a request whose run ended
  // without a Slack decision (the console, a stop, …) is rewritten (handlers/reminders/ended.ts).
  const approving = config.pipelines.filter((r) => r.approvals);
  if (approving.length > 0) {
    out.push({
      detailTypes: [DETAIL_TYPE.action],
      rules: approving,
      states: ["ABANDONED", "FAILED", "STARTED", "SUCCEEDED"],
      extra: { type: { category: ["Approval"] } },
    });
  }
  return out;
}

/** Whether a pipeline's tier sends to a PagerDuty channel. */
export function routesToPagerDuty(config: RuntimeConfig, rule: PipelineRule): boolean {
  const route = config.routing[rule.tier];
  return !!route && route.channels.some((c) => config.channels[c]?.type === "pagerduty");
}

function renderPattern(parts: Array<{ branch: Branch; matchers: Matcher[] | undefined }>): string {
  const or = parts.map(({ branch, matchers }) => ({
    "detail-type": branch.detailTypes,
    detail: {
      ...(matchers ? { pipeline: matchers } : {}),
      state: branch.states,
      ...(branch.extra ?? {}),
    },
  }));
  const pattern =
    or.length === 1
      ? { source: [CODEPIPELINE_SOURCE], ...or[0] }
      : { source: [CODEPIPELINE_SOURCE], $or: or };
  return JSON.stringify(pattern);
}

/** The rule's event pattern, and how precisely each branch selects pipelines. */
export interface RulePattern {
  pattern: string;
  branches: Array<{
    detailTypes: string[];
    states: string[];
    precision: string;
    pipelines: number;
  }>;
}

/**
 * Builds the single event pattern for the stack: `$or` over pipeline-level states per state set,
 * stage/action failures, and approval actions. Branches are folded one at a time, largest first,
 * until the whole pattern fits `maxChars`.
 */
export function buildRulePattern(
  config: RuntimeConfig,
  maxChars: number = EVENT_PATTERN_MAX_CHARS,
): RulePattern {
  const bs = branches(config);
  const parts = bs.map((branch) => ({
    branch,
    matchers: matchersOf(branch.rules) as Matcher[] | undefined,
    precision: "exact",
  }));
  // Too long: fold every branch's names to shared prefixes of the same length, as long as
  // possible, so that precision degrades evenly; as a last resort drop the pipeline filter.
  if (renderPattern(parts).length > maxChars) {
    const exact = parts.map((p) => p.matchers ?? []);
    const longest = Math.max(
      0,
      ...exact.flat().map((m) => (typeof m === "string" ? m.length : m.prefix.length)),
    );
    let fitted = false;
    for (let length = longest - 1; length >= 1 && !fitted; length--) {
      parts.forEach((p, i) => {
        p.matchers = foldTo(exact[i], length);
        p.precision =
          JSON.stringify(p.matchers) === JSON.stringify(exact[i]) ? "exact" : `prefix-${length}`;
      });
      fitted = renderPattern(parts).length <= maxChars;
    }
    if (!fitted) {
      for (const p of parts) {
        p.matchers = undefined;
        p.precision = "all";
      }
    }
  }
  return {
    pattern: renderPattern(parts),
    branches: parts.map((p) => ({
      detailTypes: p.branch.detailTypes,
      states: p.branch.states,
      precision: p.precision,
      pipelines: p.branch.rules.length,
    })),
  };
}

/**
 * CodePipeline ARNs for IAM statements on a set of pipelines (pipeline and its stage/action
 * sub-resources), folded to fit `maxChars` like the rule pattern.
 */
export function pipelineArns(
  rules: PipelineRule[],
  arnPrefix: string,
  maxChars: number,
): { arns: string[]; precision: string } {
  const toArns = (m: Matcher[] | undefined): string[] =>
    m === undefined
      ? [`${arnPrefix}*`]
      : m.flatMap((x) =>
          typeof x === "string"
            ? [`${arnPrefix}${x}`, `${arnPrefix}${x}/*`]
            : [`${arnPrefix}${x.prefix}*`],
        );
  const folded = foldToFit(matchersOf(rules), (m) => JSON.stringify(toArns(m)), maxChars);
  return { arns: toArns(folded.matchers), precision: folded.precision };
}

/**
 * Whether `rule` can select pipelines of `account` in `region`: a selector without `account`
 * (or `region`) matches every account (region) the stack admits (issue 14).
 */
export function ruleAppliesTo(rule: PipelineRule, account: string, region: string): boolean {
  return (
    (rule.match.account === undefined || rule.match.account === account) &&
    (rule.match.region === undefined || rule.match.region === region)
  );
}

/**
 * The config narrowed to the rules that can select pipelines of (`account`, `region`): what a
 * forwarding rule there matches ({@link buildRulePattern} of it) and what that account's
 * source-access role may touch (its pipeline ARNs), by the same selection logic as the intake.
 */
export function configAt(config: RuntimeConfig, account: string, region: string): RuntimeConfig {
  return {
    ...config,
    pipelines: config.pipelines.filter((r) => ruleAppliesTo(r, account, region)),
  };
}

/** A row of the routing table: which pipelines, in which states, reach which channels. */
export interface RoutingRow {
  pipeline: string;
  tier: string;
  severity: string;
  states: string[];
  channels: string[];
  approvals?: string;
}

/** The routing table, for the preview and the README. */
export function routingTable(config: RuntimeConfig): RoutingRow[] {
  return config.pipelines.map((rule) => {
    const route = config.routing[rule.tier];
    const where = [rule.match.account, rule.match.region].filter(Boolean).join("/");
    const name = "name" in rule.match ? rule.match.name : `${rule.match.prefix}*`;
    return {
      pipeline: where ? `${name} @ ${where}` : name,
      tier: rule.tier,
      severity: route?.severity ?? "",
      states: rule.states,
      channels: route?.channels ?? [],
      ...(rule.approvals
        ? { approvals: `${rule.approvals.channel} (${rule.approvals.approvers.join(", ")})` }
        : {}),
    };
  });
}
