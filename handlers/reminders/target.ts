/**
 * What the reminder scan (scan.ts) and the rewrite of an ended request (ended.ts) share about one
 * pending request: the Slack channel instance it was posted to, with its secret, and the fields
 * of every audit record about it.
 */
import type { Logger } from "../channels/types";
import { approvalAuditPipeline } from "../contracts/slack-approval";
import type { Invocation } from "../fanout/invocation";
import type { AuditRecord } from "../store/audit";
import type { StoredPending } from "../store/pending";
import type { ChannelSecrets } from "../types";
import type { SlackTarget } from "./slack";

/** The channel instance of `p` with its secret, or undefined when it is no Slack channel now. */
export async function targetOf(inv: Invocation, p: StoredPending, log: Logger) {
  const config = inv.config.channels[p.channel];
  if (!config || config.type !== "slack") return undefined;
  const secrets: ChannelSecrets = await inv.secrets();
  const target: SlackTarget = {
    name: p.channel,
    config,
    secret: secrets[p.channel] ?? {},
    deadline: inv.deadline,
    log,
  };
  return target;
}

/** Audit fields of every record about `p`: its pipeline's key, account and region (issue 14). */
export function auditBase(
  p: StoredPending,
): Pick<AuditRecord, "pipeline" | "account" | "region" | "executionId" | "channel"> {
  return {
    ...approvalAuditPipeline(p),
    executionId: p.executionId,
    channel: p.channel,
  };
}

/** What an audit record says about the run of `p`. */
export function runDetail(p: StoredPending): Record<string, unknown> {
  return {
    stage: p.stage,
    action: p.action,
    actionExecutionId: p.actionExecutionId,
    expiresAt: p.approvalExpiresAt,
  };
}
