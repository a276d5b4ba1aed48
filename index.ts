/**
 * deploy-notifier: CodePipeline events → the right people, on the right channels, once.
 *
 * The composition root: load and validate the stack config, declare the resources, export the
 * outputs. Handler code lives in handlers/ (plain TypeScript, serialized into the Lambda archives).
 */
import { loadConfig } from "./config";
import { createApprovalHandler } from "./handlers/approval";
import { createFanoutHandler } from "./handlers/fanout";
import { slackManifest } from "./config/slack-manifest";
import { archiveExcludes } from "./infra/archives";
import { declareNotifier } from "./infra/notifier";
import { SETTINGS } from "./infra/settings";

const config = loadConfig();
const runtime = config.runtime;
// The handlers capture their (non-secret) config as JSON text: the closure serializer copes with
// a string of any size at once, whereas 500 pipeline objects would take it seconds.
const fanoutConfig = JSON.stringify(runtime);
const approvalConfig = JSON.stringify({
  project: runtime.project,
  stack: runtime.stack,
  pipelines: runtime.pipelines,
  // Approvals are refused outside the configured (account, region) pairs, as events are.
  sources: runtime.sources,
  auditRetentionDays: runtime.auditRetentionDays,
  // A claim whose work has not settled within the function's timeout (+ margin) was lost.
  workTimeoutSeconds: SETTINGS.approvalTimeoutSeconds,
});

const notifier = declareNotifier({
  config,
  fanout: () => createFanoutHandler(JSON.parse(fanoutConfig)),
  approval: () => createApprovalHandler(JSON.parse(approvalConfig)),
  excludePackages: archiveExcludes(),
});

/** Paste into the Slack app's "Interactivity & Shortcuts" request URL. */
export const slackInteractivityUrl = notifier.outputs.slackInteractivityUrl;
/** The public grants @pulumi/aws adds to the approval function, undeclared (README "Security"). */
export const slackInteractivityImplicitGrants = notifier.outputs.slackInteractivityImplicitGrants;
/** The Slack app manifest for this stack (`npm run slack-manifest -- --stack <name>` prints it). */
export const slackAppManifest = notifier.outputs.slackInteractivityUrl.apply((url) =>
  slackManifest({ runtime, interactivityUrl: url, rejectReasonModal: !!config.slackApp?.botToken }),
);
export const auditTableName = notifier.outputs.auditTableName;
export const eventsQueueUrl = notifier.outputs.eventsQueueUrl;
export const deadLetterQueueUrl = notifier.outputs.deadLetterQueueUrl;
export const opsTopicArn = notifier.outputs.opsTopicArn;
export const eventRuleName = notifier.outputs.eventRuleName;
export const fanoutFunctionName = notifier.outputs.fanoutFunctionName;
export const approvalFunctionName = notifier.outputs.approvalFunctionName;
