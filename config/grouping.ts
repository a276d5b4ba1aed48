/**
 * Config key `grouping` (issue 11): cross-field checks and its runtime view. Rules are given per
 * tier and/or per channel instance; a channel's rule is its type's default
 * (handlers/contracts/grouping.ts `DEFAULT_GROUPING`), then the rule of the tiers it is in, then
 * its own — each field left out keeps the earlier value. PagerDuty is never grouped.
 *
 * ```yaml
 * deploy-notifier:grouping:
 *   tiers:
 *     critical: { windowSeconds: 120 }
 *   channels:
 *     slack-eng: { maxIndividual: 5 }
 *     sms-oncall: { enabled: false }
 * ```
 */
import { DEFAULT_GROUPING } from "../handlers/contracts/grouping";
import type { GroupingConfig, GroupingRule } from "../handlers/types";
import type { RawStackConfig } from "./schema";

type Rule = { enabled?: boolean; windowSeconds?: number; maxIndividual?: number };
type KeyOf = (...path: Array<string | number>) => string;

/** The `grouping` value of a raw config that failed the schema, as far as it can be read. */
export function lenientGrouping(raw: unknown): RawStackConfig["grouping"] {
  const obj = (v: unknown): Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  if (raw === undefined) return undefined;
  const g = obj(raw);
  const rules = (v: unknown) =>
    Object.fromEntries(Object.entries(obj(v)).map(([k, r]) => [k, obj(r) as Rule]));
  return { enabled: g.enabled !== false, tiers: rules(g.tiers), channels: rules(g.channels) };
}

/**
 * Checks `c.grouping` against the channels and tiers (pushing one problem per mistake, each
 * naming its key) and resolves it per channel instance. Undefined when the key is absent (the
 * handler applies the types' defaults, and the runtime config stays as it was).
 */
export function groupingOf(
  c: RawStackConfig,
  problems: string[],
  key: KeyOf,
): GroupingConfig | undefined {
  const g = c.grouping;
  if (!g) return undefined;
  const tiers = Object.keys(c.routing);
  for (const tier of Object.keys(g.tiers)) {
    if (!c.routing[tier]) {
      problems.push(
        `${key("grouping", "tiers", tier)}: unknown tier "${tier}" (routing defines: ${tiers.join(", ") || "none"})`,
      );
    }
  }
  for (const [name, rule] of Object.entries(g.channels)) {
    const type = c.channels[name]?.type;
    if (!type) {
      problems.push(
        `${key("grouping", "channels", name)}: unknown channel "${name}" (defined: ${Object.keys(c.channels).join(", ") || "none"})`,
      );
    } else if (type === "pagerduty" && rule.enabled !== false) {
      problems.push(
        `${key("grouping", "channels", name)}: PagerDuty channels are never grouped (one open incident per pipeline already bounds its pages)`,
      );
    }
  }
  const channels: Record<string, GroupingRule | false> = {};
  for (const [name, channel] of Object.entries(c.channels)) {
    const type = channel?.type as keyof typeof DEFAULT_GROUPING;
    const base = DEFAULT_GROUPING[type];
    if (!base) continue;
    const tierRules = tiers.filter(
      (t) => routeChannels(c, t).includes(name) && g.tiers[t] !== undefined,
    );
    const distinct = new Set(tierRules.map((t) => JSON.stringify(g.tiers[t])));
    if (distinct.size > 1 && g.channels[name] === undefined) {
      problems.push(
        `${key("grouping", "tiers")}: channel "${name}" is in tiers ${tierRules.join(", ")} whose grouping differs; one channel has one window: set ${key("grouping", "channels", name)}`,
      );
    }
    const merged: Rule = { ...base, ...g.tiers[tierRules[0]], ...g.channels[name] };
    if (merged.enabled === false) channels[name] = false;
    else if (g.channels[name] !== undefined || tierRules.length > 0) {
      channels[name] = {
        windowSeconds: merged.windowSeconds ?? base.windowSeconds,
        maxIndividual: merged.maxIndividual ?? base.maxIndividual,
      };
    }
  }
  return { enabled: g.enabled !== false, channels };
}

/** The channel names of tier `tier` (either routing form). */
function routeChannels(c: RawStackConfig, tier: string): string[] {
  const route = c.routing[tier];
  return Array.isArray(route) ? route : (route?.channels ?? []);
}
