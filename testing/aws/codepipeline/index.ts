/**
 * The CodePipeline stand-in: a model of pipelines, executions (attempts, modes, rollbacks) and
 * action runs (approval tokens, timeouts), the API operations over it, the events it emits, and
 * `recordEvent` for events posted by hand. One module per concern:
 *
 * | module        | what                                                                  |
 * |---------------|-----------------------------------------------------------------------|
 * | model.ts      | types, runs, lookups                                                  |
 * | api.ts        | the awsJson operations (GetPipelineState, ListActionExecutions, …)    |
 * | approvals.ts  | pending approvals, PutApprovalResult, approval timeouts               |
 * | executions.ts | starts, stages in each execution mode, retries, finished executions   |
 * | rollbacks.ts  | RollbackStage and the automated rollback                              |
 * | stops.ts      | StopPipelineExecution (stop and wait, stop and abandon) and its events |
 * | outbox.ts     | the emitted EventBridge events and their listeners                    |
 * | record.ts     | `recordEvent` (an event posted to the sandbox as CodePipeline's own)  |
 * | shape.ts      | whether a posted event has the shape CodePipeline emits               |
 * | view.ts       | the model as JSON for `GET /api/codepipeline`                         |
 * | accounts.ts   | one set of pipelines per (account, region); scope views               |
 *
 * Many accounts and regions (issue 14). The model is keyed by (account, region): the home one
 * (`STANDIN_ACCOUNT`, the stand-ins' region) is `state.codepipeline.pipelines` as before; any other
 * is `state.codepipeline.scopes["<account>:<region>"]`. To create pipelines elsewhere (the
 * sandbox's two-account, two-region stack, tests), take a scope view and pass it to any helper:
 *
 *     const prodEu = standins.aws.scope({ account: "222233334444", region: "eu-west-1" });
 *     // or codePipelineScope(standins.aws.state, { account, region }) from ./accounts
 *     addPendingApproval(prodEu, { pipeline: "deploy-api", stage: "Prod", action: "Approve", executionId });
 *     startExecution(prodEu, { pipeline: "deploy-api" }); reachStage(prodEu, …); finishExecution(prodEu, …);
 *
 * Events such a view emits carry that `account`, `region` and pipeline ARN, and reach the same
 * outbox and `onCodePipelineEvent` listeners as home events (subscribe on the root state).
 * `recordEvent` files a hand-posted event under its own `account` / `region`. API calls are
 * answered from the caller's scope: a local STS session's keys (testing/aws/sts.ts) act in the
 * assumed role's account, every other key in the home account, and the region is the SigV4
 * credential scope's (the SDK client's `region`); with a program's IAM loaded, a session may do
 * only what its role's declared policy allows on `arn:aws:codepipeline:<region>:<account>:<name>`.
 * `scopesOf(state)` lists every scope (home first), e.g. for a per-account view.
 */
export { codePipelineOperations } from "./api";
export {
  codePipelineScope,
  homeScope,
  scopesOf,
  scopeKey,
  type CodePipelineScope,
} from "./accounts";
export {
  addPendingApproval,
  admitPendingApproval,
  expireApprovals,
  putApprovalResult,
  type ExpiredApproval,
  type PendingApprovalInput,
} from "./approvals";
export {
  addFailedExecution,
  finishExecution,
  reachStage,
  retryStageExecution,
  setExecutionMode,
  startExecution,
  type FailedExecutionInput,
  type ReachStageInput,
  type StartExecutionInput,
} from "./executions";
export {
  rollBackAutomatically,
  rollbackStage,
  STANDIN_CALLER_ARN,
  type AutomatedRollbackInput,
} from "./rollbacks";
export {
  DEFAULT_APPROVAL_TIMEOUT_MINUTES,
  ensureAction,
  ensurePipeline,
  type ActionRun,
  type ActionStatus,
  type ApprovalDecision,
  type CodePipelineCall,
  type ExecutionMode,
  type ExecutionStatus,
  type ExecutionType,
  type ModelAction,
  type ModelArtifactRevision,
  type ModelExecution,
  type ModelPipeline,
  type ModelStage,
  type ModelTrigger,
} from "./model";
export {
  codePipelineOutbox,
  onCodePipelineEvent,
  type CodePipelineEvent,
  type CodePipelineEventListener,
} from "./outbox";
export { recordEvent, type RecordedEvent } from "./record";
export { stopExecution, stopPipelineExecution, type StopOptions } from "./stops";
export { notCodePipelines } from "./shape";
export {
  codePipelineView,
  codePipelineViewOfScopes,
  type ApprovalView,
  type CodePipelineView,
  type ExecutionView,
} from "./view";

/** The `X-Amz-Target` prefix of CodePipeline operations. */
export const CODEPIPELINE_TARGET = "CodePipeline_20150709.";
