/**
 * What the tests, `npm run preview`, `npm run bench` and the local sandbox (`npm start`) share:
 * the offline program evaluator, the Lambda runner for archives, the SQS and EventBridge models,
 * and the local stand-ins for AWS and for the channel receivers. Import from here, not from the
 * individual modules.
 */
export * from "./standins";
export * from "./aws";
export {
  codePipelineOutbox,
  codePipelineView,
  codePipelineViewOfScopes,
  expireApprovals,
  finishExecution,
  onCodePipelineEvent,
  putApprovalResult,
  reachStage,
  recordEvent,
  type RecordedEvent,
  retryStageExecution,
  rollBackAutomatically,
  rollbackStage,
  setExecutionMode,
  startExecution,
  stopExecution,
} from "./aws/codepipeline";
export * from "./dynamo";
export * from "./receivers";
export * from "./http";
export * from "./fresh-process";
export * from "./program";
export * from "./lambda";
export * from "./world";
export * from "./queue";
export * from "./eventbridge";
export * from "./iam/evaluate";
export * from "./iam/declared";
export * from "./iam/enforce";
export * from "./iam/requests";
export * from "./iam/deliveries";
