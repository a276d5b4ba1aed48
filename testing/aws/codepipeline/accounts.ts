/**
 * CodePipeline is a regional service of each account: a pipeline exists in one (account, region),
 * and `GetPipelineState` of a name answers from the caller's account in the endpoint's region
 * only (CodePipeline user guide, "Resources and operations": `arn:aws:codepipeline:<region>:
 * <account>:<pipeline>`). The stand-in keeps one set of pipelines per (account, region):
 * - the home one (the stand-ins' account `STANDIN_ACCOUNT` and region) is
 *   `state.codepipeline.pipelines`, as before, so every single-account test and the sandbox's
 *   default stack are unchanged;
 * - any other one is `state.codepipeline.scopes["<account>:<region>"]`.
 * {@link codePipelineScope} gives a view of the state in which `codepipeline.pipelines`,
 * `.account` and `.region` are that scope's; every model helper (addPendingApproval,
 * startExecution, …) works on such a view, and the events it emits name that account and region.
 */
import { STANDIN_ACCOUNT, type AwsState } from "../core";
import type { ModelPipeline } from "./model";

/** Where a pipeline lives. */
export interface CodePipelineScope {
  account: string;
  region: string;
}

/** The key of a non-home scope in `state.codepipeline.scopes`. */
export function scopeKey(scope: CodePipelineScope): string {
  return `${scope.account}:${scope.region}`;
}

/** The home scope of a state: the stand-ins' account and region. */
export function homeScope(state: AwsState): CodePipelineScope {
  return { account: STANDIN_ACCOUNT, region: state.codepipeline.region ?? "us-east-1" };
}

/** The state a view was made from (itself when it is not a view). */
export function rootState(state: AwsState): AwsState {
  return (state as { root?: AwsState }).root ?? state;
}

/**
 * The state as seen from `scope`: the same object for the home scope, else a view whose
 * `codepipeline.pipelines` are that scope's (created empty) and whose `codepipeline.account` /
 * `.region` name it. Calls, the outbox and the event listeners stay shared with the root.
 */
export function codePipelineScope(state: AwsState, scope: CodePipelineScope): AwsState {
  const root = rootState(state);
  const home = homeScope(root);
  if (scope.account === home.account && scope.region === home.region) return root;
  const scopes = (root.codepipeline.scopes ??= {});
  const pipelines = (scopes[scopeKey(scope)] ??= {} as Record<string, ModelPipeline>);
  root.codepipeline.outbox ??= [];
  const view: AwsState = {
    ...root,
    codepipeline: { ...root.codepipeline, pipelines, account: scope.account, region: scope.region },
  };
  Object.defineProperty(view, "root", { value: root, enumerable: false });
  return view;
}

/** Every scope that has pipelines, the home one first. */
export function scopesOf(state: AwsState): Array<CodePipelineScope & { state: AwsState }> {
  const root = rootState(state);
  const others = Object.keys(root.codepipeline.scopes ?? {}).map((key) => {
    const [account, region] = key.split(":");
    return { account, region, state: codePipelineScope(root, { account, region }) };
  });
  return [{ ...homeScope(root), state: root }, ...others];
}
