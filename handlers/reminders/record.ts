/**
 * What the fan-out remembers of an approval request it delivered to Slack, for the reminder scan
 * (store/pending.ts): the run, its approvers and expiry, and where the message is.
 */
import type { DeliveryReceipt } from "../channels/types";
import { isHome } from "../contracts/pipeline-id";
import { recordPending, type PendingApproval } from "../store/pending";
import type { Notification, RuntimeConfig } from "../types";

/** CodePipeline's default approval timeout, 7 days (REFERENCE.md, CodePipeline's lifecycle). */
const DEFAULT_APPROVAL_TIMEOUT_MS = 7 * 86_400_000;

/**
 * The pending item of approval request `n` delivered to Slack channel instance `channel`, or
 * undefined when `n` is no approval request of a stage action or `channel` is no Slack channel.
 * In bot mode the message's `ts` is the delivery receipt's id (handlers/channels/slack.ts) and its
 * conversation is the configured channel id (config/schema.ts requires an id, C…/G…/D…, which is
 * what chat.update needs).
 */
export function pendingOf(
  config: RuntimeConfig,
  n: Notification,
  channel: string,
  receipt: Pick<DeliveryReceipt, "id">,
): PendingApproval | undefined {
  const ch = config.channels[channel];
  if (n.kind !== "approval-request" || !n.stage || !n.action || ch?.type !== "slack") {
    return undefined;
  }
  const expires =
    n.approval?.expiresAt ??
    new Date(Date.parse(n.time) + DEFAULT_APPROVAL_TIMEOUT_MS).toISOString();
  const bot = ch.mode === "bot" && !!receipt.id && !!ch.channel;
  return {
    pipeline: n.pipeline,
    executionId: n.executionId,
    stage: n.stage,
    action: n.action,
    ...(n.actionExecutionId && { actionExecutionId: n.actionExecutionId }),
    // Where it lives (issue 14), outside the home account/region only (none = home).
    ...(!isHome(n) && { account: n.account, region: n.region }),
    approvers: [...(n.approval?.approvers ?? [])],
    requestedAt: new Date(Date.parse(n.time)).toISOString(),
    approvalExpiresAt: new Date(Date.parse(expires)).toISOString(),
    channel,
    ...(bot && { slackChannelId: ch.channel, messageTs: receipt.id }),
    consoleUrl: n.consoleUrl,
  };
}

/**
 * Records approval request `n` as pending after its delivery to `channel` (nothing for any other
 * notification). Throws DynamoDB errors; the caller logs them (the message is already sent).
 */
export async function rememberRequest(
  config: RuntimeConfig,
  n: Notification,
  channel: string,
  receipt: Pick<DeliveryReceipt, "id">,
): Promise<void> {
  const pending = pendingOf(config, n, channel, receipt);
  if (pending) await recordPending(pending);
}
