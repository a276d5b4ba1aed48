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
 * | outbox.ts     | the emitted EventBridge events and their listeners                    |
 * | record.ts     | `recordEvent` (an event posted to the sandbox as CodePipeline's own)  |
 * | view.ts       | the model as JSON for `GET /api/codepipeline`                         |
 */
export { codePipelineOperations } from "./api";
export {
  addPendingApproval,
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
export { recordEvent } from "./record";
export {
  codePipelineView,
  type ApprovalView,
  type CodePipelineView,
  type ExecutionView,
} from "./view";

/** The `X-Amz-Target` prefix of CodePipeline operations. */
export const CODEPIPELINE_TARGET = "CodePipeline_20150709.";
