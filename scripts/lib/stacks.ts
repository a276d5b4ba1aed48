/**
 * Stack files for the scripts: which stacks exist, reading a stack file from any path, and
 * generated pipeline lists for scale runs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, readStackConfig, readStackFile } from "../../testing";

/** The stacks that have a `Pulumi.<stack>.yaml` in the project root, sorted. */
export function availableStacks(root: string = ROOT): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The stack name a file like `Pulumi.<stack>.yaml` is for, if its name says so. */
export function stackOfFile(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
}

export { readStackFile };

/**
 * A stack file's raw config with the pipelines replaced by `count` generated ones, spread over
 * the stack's tiers (for scale runs: the benchmark and the infra tests).
 */
export function withPipelines(stack: string, count: number): Record<string, unknown> {
  const { raw } = readStackConfig(stack);
  const tiers = Object.keys(raw.routing as Record<string, unknown>);
  const pipelines = Array.from({ length: count }, (_, i) => ({
    name: `service-${String(i).padStart(3, "0")}-${i % 2 ? "api" : "web"}-production`,
    tier: tiers[i % tiers.length],
    states: i % 3 === 0 ? ["FAILED", "SUCCEEDED"] : ["FAILED"],
  }));
  return { ...raw, pipelines };
}
