/** Which pipeline rule from stack config applies to a pipeline. */
import type { PipelineRule } from "./types";

/**
 * The configured rule of a pipeline: an exact name match wins over prefixes, and the longest
 * matching prefix wins over shorter ones, so `prod-` can be refined by `prod-payments-`.
 */
export function findPipelineRule(
  pipelines: PipelineRule[],
  pipeline: string,
): PipelineRule | undefined {
  const exact = pipelines.find((rule) => "name" in rule.match && rule.match.name === pipeline);
  if (exact) return exact;
  let best: { rule: PipelineRule; length: number } | undefined;
  for (const rule of pipelines) {
    if ("prefix" in rule.match && pipeline.startsWith(rule.match.prefix)) {
      if (!best || rule.match.prefix.length > best.length) {
        best = { rule, length: rule.match.prefix.length };
      }
    }
  }
  return best?.rule;
}
