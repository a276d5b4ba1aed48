/**
 * A pipeline's identity across accounts and regions (issue 14): a pipeline is (account, region,
 * name), so two pipelines with the same name in two accounts are two pipelines. Every store key
 * (handlers/store/keys.ts callers), PagerDuty `dedup_key`, Slack thread and digest entry uses
 * {@link pipelineKey}, never the bare name.
 *
 * The home account and region (the notifier's own: `HOME_ACCOUNT`, `AWS_REGION`) keep the bare
 * name as their key, so a single-account stack's stored items (ledger, incidents, decisions) and
 * its audit trail queries by name stay what they were before issue 14. Any other account or region
 * is keyed by the pipeline's ARN (`arn:<partition>:codepipeline:<region>:<account>:<name>`, the
 * form of CodePipeline's resource ARNs: CodePipeline user guide, "Resources and operations").
 */
import { ENV } from "../types";

/** Where a pipeline lives and what it is called. */
export interface PipelineRef {
  /** 12-digit AWS account id, as in the EventBridge event's `account`. */
  account: string;
  /** AWS region, as in the EventBridge event's `region`. */
  region: string;
  /** The pipeline's name (the event's `detail.pipeline`). */
  name: string;
}

/** The notifier's own account and region, from the Lambda environment (`undefined` when unset). */
export function homeOf(env: NodeJS.ProcessEnv = process.env): {
  account?: string;
  region?: string;
} {
  return { account: env[ENV.homeAccount] || undefined, region: env.AWS_REGION || undefined };
}

/**
 * Whether `ref` is in the notifier's own account and region. An unset `HOME_ACCOUNT` (a stack
 * without sources, tests) makes every account home; an unset `AWS_REGION` every region.
 */
export function isHome(ref: Pick<PipelineRef, "account" | "region">, env = process.env): boolean {
  const home = homeOf(env);
  return (
    (home.account === undefined || home.account === ref.account) &&
    (home.region === undefined || home.region === ref.region)
  );
}

/** The AWS partition of a region: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, else `aws`. */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/** The pipeline's ARN, e.g. `arn:aws:codepipeline:eu-west-1:111122223333:deploy-api`. */
export function pipelineArn(ref: PipelineRef): string {
  return `arn:${partitionOf(ref.region)}:codepipeline:${ref.region}:${ref.account}:${ref.name}`;
}

/**
 * The key that identifies `ref` in stored data and receiver-side dedup keys: the bare name at home
 * ({@link isHome}), else the pipeline's ARN ({@link pipelineArn}).
 */
export function pipelineKey(ref: PipelineRef, env: NodeJS.ProcessEnv = process.env): string {
  return isHome(ref, env) ? ref.name : pipelineArn(ref);
}

/** {@link pipelineKey} of a notification or event (`pipeline` is its name). */
export function pipelineKeyOf(
  n: { account: string; region: string; pipeline: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  return pipelineKey({ account: n.account, region: n.region, name: n.pipeline }, env);
}
