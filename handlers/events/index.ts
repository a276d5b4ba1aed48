/**
 * Event intake, from the body of one SQS record to a `Notification`:
 * `parse.ts` (EventBridge envelope → validated {@link CodePipelineEvent}; `fields.ts` and
 * `detail.ts` are its readers), `classify.ts` (what the event means), `revision.ts` (trigger and
 * source revision) and `normalize.ts` (→ Notification). Everything is pure and never throws.
 */
export {
  CODEPIPELINE_DETAIL_TYPES,
  CODEPIPELINE_SOURCE,
  DETAIL_TYPE,
} from "../contracts/codepipeline";
export { MAX_URL_CHARS, safeHttpUrl } from "../url";
export {
  callerName,
  classify,
  failedApprovalKind,
  isApprovalAction,
  isRejectionSummary,
  rejectedBy,
} from "./classify";
export { MAX_ID_CHARS, MAX_TEXT_CHARS, type CodePipelineEvent, type ParseResult } from "./model";
export { consoleUrl, normalize, notificationId, rollbackOf } from "./normalize";
export { parseEventBridgeEvent } from "./parse";
export { admitSource, originFields, sourceRefusal } from "./sources";
export { commitMessageOf, describeTrigger, revisionOf } from "./revision";
