/**
 * Config messages beyond the schema: "did you mean" for an unknown key, a clearer message for a
 * channel that is not an object (usually mis-indented YAML), and the advice the preview prints
 * for a valid config (warnings that are not errors, and which rule wins where rules overlap).
 */
import type { PipelineMatch, RuntimeConfig } from "../handlers/types";

/** Levenshtein distance between two short strings. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * The known key closest to `unknown` (case-insensitive, at most 2 edits or a plural/singular
 * slip), or undefined when none is close.
 */
export function didYouMean(unknown: string, known: readonly string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const key of known) {
    const d = distance(unknown.toLowerCase(), key.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { key, d };
  }
  return best?.key;
}

/** Settings keys of a channel object: found directly under `channels` they mean mis-indentation. */
const CHANNEL_SETTING_KEYS = new Set([
  "type",
  "mode",
  "channel",
  "apiUrl",
  "source",
  "endpoint",
  "phoneNumbers",
  "addresses",
  "username",
]);

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  return JSON.stringify(value);
}

/**
 * Problems of `channels` entries that are not objects. Returns the messages (each naming its key)
 * and the entry names they cover, so that the schema's own messages for them can be dropped.
 */
export function malformedChannels(
  channels: unknown,
  key: (...path: string[]) => string,
): { problems: string[]; names: Set<string> } {
  const problems: string[] = [];
  const names = new Set<string>();
  if (typeof channels !== "object" || channels === null || Array.isArray(channels)) {
    return { problems, names };
  }
  const entries = Object.entries(channels as Record<string, unknown>);
  const strays = entries.filter(
    ([k, v]) => CHANNEL_SETTING_KEYS.has(k) && (typeof v !== "object" || v === null),
  );
  for (const [name, value] of entries) {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) continue;
    names.add(name);
    if (strays.some(([k]) => k === name)) continue;
    const hint =
      strays.length > 0
        ? `; ${strays.map(([k]) => `"${k}"`).join(", ")} ${strays.length > 1 ? "are" : "is"} at the same indentation as "${name}": indent ${strays.length > 1 ? "them" : "it"} under "${name}"`
        : "";
    problems.push(
      `${key("channels", name)}: expected a channel object like { type: slack }, got ${describe(value)}${hint}`,
    );
  }
  if (strays.length > 0 && problems.length === 0) {
    for (const [k, v] of strays) {
      problems.push(
        `${key("channels", k)}: expected a channel object like { type: slack }, got ${describe(v)} ("${k}" is a channel setting: indent it under its channel's name)`,
      );
    }
  }
  return { problems, names };
}

/** What the preview prints about a valid config: warnings (not errors) and notes. */
export interface ConfigAdvice {
  /** Likely mistakes that do not stop a deploy, each naming its config key. */
  warnings: string[];
  /** How overlapping rules resolve. */
  notes: string[];
}

/**
 * Whether a downtime window's `pipelines` entry (a name, or a prefix ending in `*`:
 * handlers/downtime.ts `appliesToPipeline`) can cover a pipeline that `match` notifies about. The
 * fan-out only notifies about pipelines a rule matches (handlers/routing.ts), so an entry that no
 * rule's pipelines can match suppresses nothing.
 */
function entryMeetsRule(entry: string, match: PipelineMatch): boolean {
  const entryPrefix = entry.endsWith("*") ? entry.slice(0, -1) : undefined;
  if ("name" in match) {
    return entryPrefix === undefined ? match.name === entry : match.name.startsWith(entryPrefix);
  }
  if (entryPrefix === undefined) return entry.startsWith(match.prefix);
  return entryPrefix.startsWith(match.prefix) || match.prefix.startsWith(entryPrefix);
}

/**
 * Warnings for downtime `pipelines` entries that match no configured pipeline, each naming its key
 * (`downtime[i].pipelines[j]`): usually a typo, which leaves the window suppressing nothing for
 * the pipeline meant, so its alerts page during the maintenance.
 */
function unmatchedDowntimeEntries(runtime: RuntimeConfig, project: string): string[] {
  const warnings: string[] = [];
  runtime.downtime.forEach((window, i) => {
    (window.pipelines ?? []).forEach((entry, j) => {
      if (runtime.pipelines.some((rule) => entryMeetsRule(entry, rule.match))) return;
      warnings.push(
        `${project}:downtime[${i}].pipelines[${j}]: "${entry}" matches no pipeline in ${project}:pipelines; window ${window.name} suppresses nothing for it`,
      );
    });
  });
  return warnings;
}

/**
 * Advice on a validated config: channels no tier routes to (and no approval uses) get a warning,
 * as do downtime `pipelines` entries that match no configured pipeline;
 * a pipeline name that a `prefix` rule also matches, or nested prefixes, get a note saying which
 * rule wins. The fan-out resolves overlaps the same way (handlers/routing.ts): an exact name wins
 * over any prefix, and the longest matching prefix wins over shorter ones, so `staging-` can be
 * refined by `staging-payments-` or by one pipeline's name. That is a deliberate way to give one
 * pipeline of a family its own tier, so it is accepted, not refused.
 */
export function configAdvice(runtime: RuntimeConfig, project = "deploy-notifier"): ConfigAdvice {
  const routed = new Set(Object.values(runtime.routing).flatMap((r) => r.channels));
  const approvalChannels = new Set(runtime.pipelines.flatMap((p) => p.approvals?.channel ?? []));
  const warnings = Object.keys(runtime.channels)
    .filter((name) => !routed.has(name) && !approvalChannels.has(name))
    .map(
      (name) =>
        `${project}:channels.${name}: no tier in ${project}:routing sends to this channel and no approval uses it; it will receive nothing`,
    );
  warnings.push(...unmatchedDowntimeEntries(runtime, project));
  const notes: string[] = [];
  runtime.pipelines.forEach((a, i) => {
    runtime.pipelines.forEach((b, j) => {
      if (i === j || !("prefix" in b.match)) return;
      const prefix = b.match.prefix;
      if ("name" in a.match && a.match.name.startsWith(prefix)) {
        notes.push(
          `${project}:pipelines[${i}] (name ${a.match.name}) is also matched by ${project}:pipelines[${j}] (prefix ${prefix}): the exact name wins, tier ${a.tier}`,
        );
      } else if ("prefix" in a.match && a.match.prefix.length > prefix.length) {
        if (a.match.prefix.startsWith(prefix)) {
          notes.push(
            `${project}:pipelines[${i}] (prefix ${a.match.prefix}) refines ${project}:pipelines[${j}] (prefix ${prefix}): the longer prefix wins for its pipelines, tier ${a.tier}`,
          );
        }
      }
    });
  });
  return { warnings, notes };
}
