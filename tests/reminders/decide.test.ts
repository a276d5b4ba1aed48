/**
 * The scan's decisions, pure: how a run listed by ListActionExecutions stands, and what a scan
 * does with a request at a given time. Right values: CodePipeline ends an approval nobody answered
 * within its timeout as a FAILED action with no summary, while a decision by PutApprovalResult
 * always carries its `summary` (API_PutApprovalResult.html: `result.summary` is required); a run
 * `Abandoned` was superseded or stopped (API_ActionExecutionDetail.html, `status`).
 */
import type { ActionExecutionDetail } from "@aws-sdk/client-codepipeline";
import { parseConfig } from "../../config";
import {
  decideStep,
  findRun,
  needsLookUp,
  runStatus,
  UNKNOWN_GRACE_MS,
} from "../../handlers/reminders/decide";
import { durationWords, expiredMessage, reminderMessage } from "../../handlers/reminders/messages";
import { pendingOf } from "../../handlers/reminders/record";
import { STEP_LEASE_MS, type StoredPending } from "../../handlers/store/pending";
import type { Notification } from "../../handlers/types";
import { placeholderSecrets, readStackConfig } from "../../testing";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const EXPIRES = "2026-12-07T12:00:00.000Z";
const at = (msBeforeExpiry: number) => new Date(Date.parse(EXPIRES) - msBeforeExpiry);

const pending: StoredPending = {
  pk: "PENDING#APPROVAL",
  sk: `${EXPIRES}#p#e#Approve#Go#run-2`,
  pipeline: "p",
  executionId: "e",
  stage: "Approve",
  action: "Go",
  actionExecutionId: "run-2",
  approvers: ["U012ABCDEF"],
  requestedAt: "2026-11-30T12:00:00.000Z",
  approvalExpiresAt: EXPIRES,
  channel: "slack-releases",
  consoleUrl: "https://console.example/e",
};

describe("runStatus (ListActionExecutions)", () => {
  const run = (status: string, summary?: string, updatedBy?: string): ActionExecutionDetail =>
    ({
      status,
      lastUpdateTime: new Date(EXPIRES),
      updatedBy,
      output: { executionResult: { externalExecutionSummary: summary } },
    }) as ActionExecutionDetail;
  const REVIEWER = "arn:aws:sts::123456789012:assumed-role/Deployers/jane";

  it.each([
    ["InProgress", undefined, undefined, "pending"],
    ["Failed", undefined, undefined, "expired"],
    ["Failed", "", undefined, "expired"],
    ["Failed", "Rejected by Jane Doe (U012ABC) via Slack", REVIEWER, "ended"],
    // A rejection with an empty summary (API_ApprovalResult.html: "Minimum length of 0"): its
    // caller is named, a timeout has none.
    ["Failed", "", REVIEWER, "ended"],
    ["Succeeded", "Approved by Jane Doe", REVIEWER, "ended"],
    ["Abandoned", undefined, undefined, "ended"],
  ])("%s with summary %j by %s is %s", (status, summary, by, kind) => {
    expect(runStatus(run(status, summary, by)).kind).toBe(kind);
  });

  it("is unknown when CodePipeline does not list the run", () => {
    expect(runStatus(undefined)).toEqual({ kind: "unknown" });
  });

  it("finds the request's own run by action execution id, not a newer run of the action", () => {
    const details = [
      { actionExecutionId: "run-3", stageName: "Approve", actionName: "Go", status: "InProgress" },
      { actionExecutionId: "run-2", stageName: "Approve", actionName: "Go", status: "Failed" },
    ] as ActionExecutionDetail[];
    expect(findRun(pending, details)?.actionExecutionId).toBe("run-2");
    const { actionExecutionId: _, ...old } = pending;
    const newest = [
      { ...details[1], startTime: new Date(1) },
      { ...details[0], startTime: new Date(2) },
    ] as ActionExecutionDetail[];
    expect(findRun(old, newest)?.actionExecutionId).toBe("run-3");
  });
});

describe("decideStep", () => {
  const lead = 24 * HOUR;
  it.each([
    ["pending, inside the lead window", {}, { kind: "pending" }, at(12 * HOUR), "remind"],
    ["pending, before the lead window", {}, { kind: "pending" }, at(25 * HOUR), "wait"],
    ["pending, already reminded", { remindedAt: "x" }, { kind: "pending" }, at(HOUR), "wait"],
    ["pending after the expected expiry", {}, { kind: "pending" }, at(-HOUR), "wait"],
    ["expired by CodePipeline", {}, { kind: "expired" }, at(-HOUR), "expire"],
    ["expired, already claimed", { expiredAt: "x" }, { kind: "expired" }, at(-HOUR), "wait"],
    ["decided elsewhere", {}, { kind: "ended", status: "Succeeded" }, at(HOUR), "forget"],
    ["unknown, within the grace", {}, { kind: "unknown" }, at(-HOUR), "wait"],
    ["unknown, past the grace", {}, { kind: "unknown" }, at(-UNKNOWN_GRACE_MS), "forget"],
  ] as const)("%s → %s", (_, extra, status, now, step) => {
    expect(decideStep({ ...pending, ...extra }, status, now, lead)).toBe(step);
  });

  it("never reminds with a lead of 0 (reminderBeforeHours: 0)", () => {
    expect(decideStep(pending, { kind: "pending" }, at(HOUR), 0)).toBe("wait");
  });

  it("asks CodePipeline only when a reminder or an expiry may be due", () => {
    expect(needsLookUp(pending, at(25 * HOUR), 24 * HOUR)).toBe(false);
    expect(needsLookUp(pending, at(23 * HOUR), 24 * HOUR)).toBe(true);
    expect(needsLookUp({ ...pending, remindedAt: "x" }, at(HOUR), 24 * HOUR)).toBe(false);
    expect(needsLookUp({ ...pending, remindedAt: "x" }, at(0), 24 * HOUR)).toBe(true);
    expect(needsLookUp({ ...pending, expiredAt: "x" }, at(-HOUR), 24 * HOUR)).toBe(false);
  });

  it("takes a claim older than the lease that never settled as free, a settled one never", () => {
    // A claim has no live owner after the lease: no Lambda invocation runs longer than 900 s
    // (Lambda developer guide, "Configure Lambda function timeout").
    expect(STEP_LEASE_MS).toBeGreaterThan(900_000);
    const now = at(HOUR);
    const claimedAt = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const claim = { remindClaimId: "c-1" };
    const fresh = { ...pending, ...claim, remindedAt: claimedAt(STEP_LEASE_MS - 60_000) };
    const stale = { ...pending, ...claim, remindedAt: claimedAt(STEP_LEASE_MS + 60_000) };
    const settled = { ...stale, remindSettledAt: claimedAt(STEP_LEASE_MS) };
    // Written before claims carried an id (an older version, which kept every claim): taken.
    const older = { ...pending, remindedAt: claimedAt(STEP_LEASE_MS + 60_000) };
    expect(decideStep(older, { kind: "pending" }, now, 24 * HOUR)).toBe("wait");
    expect(decideStep(fresh, { kind: "pending" }, now, 24 * HOUR)).toBe("wait");
    expect(decideStep(stale, { kind: "pending" }, now, 24 * HOUR)).toBe("remind");
    expect(decideStep(settled, { kind: "pending" }, now, 24 * HOUR)).toBe("wait");
    expect(needsLookUp(stale, now, 24 * HOUR)).toBe(true);
    expect(needsLookUp(settled, now, 24 * HOUR)).toBe(false);
    const staleExpiry = {
      ...pending,
      expireClaimId: "c-2",
      expiredAt: claimedAt(STEP_LEASE_MS + 60_000),
    };
    expect(decideStep(staleExpiry, { kind: "expired" }, at(-HOUR), 24 * HOUR)).toBe("expire");
  });
});

describe("the messages", () => {
  it("mention every approver and say the expiry in UTC", () => {
    const m = reminderMessage({ ...pending, approvers: ["U012ABCDEF", "W034GHIJKL"] }, true);
    expect(m.text).toBe(
      "<@U012ABCDEF> <@W034GHIJKL> reminder: approval of p › Approve › Go is still waiting for a decision; it expires <!date^1796644800^{date_num} {time}|2026-12-07 12:00 UTC>.",
    );
  });

  it("say how long nobody decided, and carry no buttons", () => {
    const m = expiredMessage(pending);
    expect(m.text).toBe("Approval of p › Approve › Go expired — no decision in 7 days.");
    expect(m.blocks.map((b) => b.type)).toEqual(["section", "context"]);
    expect(expiredMessage(pending, new Date("2026-11-30T14:00:00Z")).text).toContain(
      "no decision in 2 hours",
    );
    // Ended as soon as requested (the sandbox's expiry, a skewed clock): not "0 minutes".
    expect(expiredMessage(pending, new Date(pending.requestedAt)).text).toBe(
      "Approval of p › Approve › Go expired — no decision in time.",
    );
  });

  it.each([
    [7 * DAY, "7 days"],
    [DAY, "1 day"],
    [90 * 60_000, "2 hours"],
    [HOUR, "1 hour"],
    [5 * 60_000, "5 minutes"],
  ])("durationWords(%d) = %s", (ms, words) => {
    expect(durationWords(ms)).toBe(words);
  });
});

describe("what the fan-out records of a posted request", () => {
  const n = {
    kind: "approval-request",
    pipeline: "p",
    executionId: "e",
    stage: "Approve",
    action: "Go",
    actionExecutionId: "run-2",
    time: "2026-11-30T12:00:00Z",
    consoleUrl: "https://console.example/e",
    approval: { approvers: ["U012ABCDEF"], expiresAt: EXPIRES },
  } as Notification;
  const config = (mode: "bot" | "webhook") =>
    ({
      channels: { "slack-releases": { type: "slack", mode, channel: "C0123456789" } },
    }) as any;

  it("keeps the message's channel id and ts in bot mode (chat.update needs both)", () => {
    expect(pendingOf(config("bot"), n, "slack-releases", { id: "1700000000.000100" })).toEqual({
      pipeline: "p",
      executionId: "e",
      stage: "Approve",
      action: "Go",
      actionExecutionId: "run-2",
      approvers: ["U012ABCDEF"],
      requestedAt: "2026-11-30T12:00:00.000Z",
      approvalExpiresAt: EXPIRES,
      channel: "slack-releases",
      slackChannelId: "C0123456789",
      messageTs: "1700000000.000100",
      consoleUrl: "https://console.example/e",
    });
  });

  it("keeps neither with a webhook, and nothing for other notifications", () => {
    const item = pendingOf(config("webhook"), n, "slack-releases", {});
    expect(item?.messageTs).toBeUndefined();
    expect(item?.slackChannelId).toBeUndefined();
    expect(pendingOf(config("bot"), { ...n, kind: "failure" }, "slack-releases", {})).toBe(
      undefined,
    );
  });
});

describe("config: reminderBeforeHours", () => {
  const withHours = (hours: unknown) => {
    const { raw } = readStackConfig("prod");
    const pipelines = (raw.pipelines as any[]).map((p, i) =>
      i === 0 ? { ...p, approvals: { ...p.approvals, reminderBeforeHours: hours } } : p,
    );
    return () =>
      parseConfig(
        { ...raw, pipelines, secrets: placeholderSecrets(raw) },
        { stack: "prod", secretKeys: ["secrets"] },
      );
  };

  it("reaches the runtime config", () => {
    expect(withHours(48)().runtime.pipelines[0].approvals?.reminderBeforeHours).toBe(48);
  });

  it.each([168, -1, "24h"])("refuses %p, naming the key", (hours) => {
    expect(withHours(hours)).toThrow(
      /deploy-notifier:pipelines\[0\]\.approvals\.reminderBeforeHours: must be a number of hours from 0/,
    );
  });
});
